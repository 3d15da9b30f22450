/**
 * Poster decompression bombs (found by the resilience suite, fixed in worker/imageProbe.ts).
 *
 * `worker/imageProbe.ts` accepts any image sharp can decode up to libvips' default pixel limit
 * (268 M pixels, e.g. 16383×16383) and then decodes it in full; compose decodes it again. Measured on
 * this machine through a real worker process: 8 posters of 31 KB each (16000×16000 PNG, 1-bit grey)
 * took the worker from 127 MB to 3.6 GB RSS and the task 30 s; 8 SVG posters of 122 bytes
 * (`<svg width="16000" height="16000">`) 937 MB → 6 GB and 53 s. On a Pi that is the OOM killer, the
 * task crashing its worker three times (WORKER_LOST), and every other task on that worker lost with it.
 * (A 30000×30000 PNG is refused: it is over libvips' limit.)
 *
 * Suggested fix, in worker/imageProbe.ts: read the header first and refuse a poster whose
 * width × height exceeds what a tile can use (e.g. 2000×3000, the CDN's largest; TMDB's `original` is
 * 2000×3000 too) before decoding, and pass `limitInputPixels` of the same bound to every sharp() that
 * reads a poster (the probe's decode and compose's tile decode); accept only the raster formats posters
 * come in (jpeg, png, webp; maybe gif/avif), not svg, whose renderer is a far larger attack surface.
 *
 * Kept as a regression test:
 * a bomb must be refused from its header, quickly and without growing the process.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { probeImage } from '../../worker/posters/probe.js';
import { pngBomb } from '../helpers/resilience/kit.js';

async function timedProbe(buf: Buffer) {
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const t0 = performance.now();
  const info = await probeImage(buf);
  clearInterval(sampler);
  return { info, ms: performance.now() - t0, growthMb: (peak - rss0) / 1e6 };
}

test('a 31 KB PNG of 16000×16000 is refused at once, without decoding 256 M pixels', async () => {
  const bomb = pngBomb(16_000, 16_000, 1);
  const r = await timedProbe(bomb);
  assert.is(r.info, null, `accepted as ${JSON.stringify(r.info)} after ${r.ms.toFixed(0)} ms, RSS +${r.growthMb.toFixed(0)} MB`);
  assert.ok(r.ms < 500, `${r.ms.toFixed(0)} ms`);
});

test('a 122-byte SVG of 16000×16000 is refused at once', async () => {
  const svg = Buffer.from(
    '<svg xmlns="http://www.w3.org/2000/svg" width="16000" height="16000"><rect width="16000" height="16000" fill="red"/></svg>',
  );
  const r = await timedProbe(svg);
  assert.is(r.info, null, `accepted as ${JSON.stringify(r.info)} after ${r.ms.toFixed(0)} ms, RSS +${r.growthMb.toFixed(0)} MB`);
});

test.run();
