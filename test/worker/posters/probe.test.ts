/** The poster check: whole images pass with their size, anything cut short or foreign does not. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import sharp from 'sharp';
import { probeImage } from '../../../worker/posters/probe.js';

const create = { width: 60, height: 90, channels: 3 as const, background: { r: 200, g: 30, b: 90 } };

/** A poster with grain, so its JPEG has real entropy-coded data to cut into. */
async function grainy(seed: number): Promise<Buffer> {
  const raw = Buffer.alloc(60 * 90 * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (seed * 31 + i * 7919) % 251;
  return sharp(raw, { raw: { width: 60, height: 90, channels: 3 } })
    .jpeg()
    .toBuffer();
}

test('whole images of each format report their size and format', async () => {
  for (const fmt of ['jpeg', 'png', 'webp', 'gif'] as const) {
    const buf = await sharp({ create })[fmt]().toBuffer();
    assert.equal(await probeImage(buf), { width: 60, height: 90, format: fmt }, fmt);
  }
});

test('cut-off images, garbage and nothing are not images', async () => {
  for (const fmt of ['jpeg', 'png', 'webp', 'gif'] as const) {
    const buf = await sharp({ create })[fmt]().toBuffer();
    assert.is(await probeImage(buf.subarray(0, Math.floor(buf.length * 0.7))), null, fmt);
  }
  assert.is(await probeImage(Buffer.from('<html><title>Just a moment...</title></html>')), null);
  assert.is(await probeImage(Buffer.alloc(0)), null);
});

test('a truncated JPEG probed alongside whole ones is still caught (libvips alone misses ~1 in 200)', async () => {
  const wholes = await Promise.all(Array.from({ length: 20 }, (_, i) => grainy(i)));
  for (let round = 0; round < 5; round++) {
    const results = await Promise.all(wholes.flatMap((w) => [probeImage(w), probeImage(Buffer.from(w.subarray(0, 320)))]));
    results.forEach((r, i) => (i % 2 === 0 ? assert.ok(r, 'whole') : assert.is(r, null, 'truncated')));
  }
});

test.run();
