/**
 * Collection benchmark (issue 3): node --import tsx bench/collect.ts
 *
 * Against the fake Letterboxd with 50 ms added to every response, through the real HTTP client,
 * SQLite store and on-disk poster cache (LETTERBOXD_SPACING_MS=0, as in tests and the demo):
 * 1. a 30-film `month` with posters, cold (target ≤ 0.6 s) and warm (target: one request, the feed);
 * 2. bytes per poster at the tile size against the feed's 600×900 original (target ≤ 0.25×);
 * 3. a 1,000-film `all`, cold and warm.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDb } from '../db/sqlite/open.js';
import { createSqliteStorage } from '../db/sqlite/index.js';
import { createPosterStore } from '../db/sqlite/posters.js';
import { createHttp } from '../worker/upstreams.js';
import { createPosterCache } from '../worker/posters/cache.js';
import { fetchPosters } from '../worker/posters/fetch.js';
import { collectFilms } from '../worker/sources/collect.js';
import type { MosaicParams } from '../common/task.js';
import { currentMonth } from '../common/task.js';
import { startFakeLetterboxd, type FakeLetterboxd } from '../test/helpers/fakeLetterboxd.js';
import { tmpDir } from '../test/helpers/tmp.js';
import { report } from './report.js';

const LATENCY_MS = 50;
const TILE_WIDTH = 120;

function world(lb: FakeLetterboxd, dir: string) {
  const db = openDb(join(dir, 'moviemosaic.db'));
  const store = createPosterStore(db);
  const storage = createSqliteStorage(db);
  const http = createHttp({ letterboxdUrl: lb.url, imageHosts: [lb.imageHost], spacingMs: 0 });
  const cache = createPosterCache({ dir: join(dir, 'posters'), store, budgetBytes: 500 * 1024 * 1024 });
  const signal = new AbortController().signal;
  const progress = () => {};
  return {
    /** Collects and downloads, as the pipeline's first two stages do; returns wall time and results. */
    async run(user: string, params: MosaicParams) {
      const t0 = performance.now();
      const collected = await collectFilms({ http, posterUrls: storage.posters, progress, signal }, user, params);
      const posters = await fetchPosters({ http, cache, progress, signal }, collected.films, TILE_WIDTH);
      return { ms: performance.now() - t0, collected, posters };
    },
    http,
    close() {
      http.close();
      db.close();
    },
  };
}

const seconds = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);

export async function benchCollect(): Promise<void> {
  const now = new Date();
  const lb = await startFakeLetterboxd({ now, latencyMs: LATENCY_MS });
  const tmp = tmpDir('mm-bench-collect-');
  const w = world(lb, tmp.dir);
  try {
    const month: MosaicParams = { mode: 'month', month: currentMonth(now), layout: 'classic', format: 'jpeg' };

    const cold = await w.run('marathon', month);
    const coldRequests = lb.requests.length;
    report(
      `month, ${cold.collected.films.length} films + posters, cold`,
      seconds(cold.ms),
      `target ≤ 600 ms; ${coldRequests} requests, ${LATENCY_MS} ms latency each`,
    );

    lb.reset();
    const warm = await w.run('marathon', month);
    report(
      `month, ${warm.collected.films.length} films + posters, warm`,
      seconds(warm.ms),
      `target one request; ${lb.requests.length} request${lb.requests.length === 1 ? '' : 's'}: ${lb.requests.map((r) => r.path).join(' ')}`,
    );

    // Bytes per poster: what we download (tile size) against the feed's own 600×900 URL.
    let tileBytes = 0;
    let originalBytes = 0;
    const signal = new AbortController().signal;
    for (const [i, f] of cold.collected.films.entries()) {
      if (!f.posterUrl || !cold.posters.tiles[i]) continue;
      tileBytes += cold.posters.tiles[i].length;
      originalBytes += (await w.http.image(f.posterUrl, { signal })).body.length;
    }
    const n = cold.posters.tiles.filter(Boolean).length;
    report(
      `bytes per poster, ${TILE_WIDTH}×${TILE_WIDTH * 1.5} vs 600×900`,
      `${(tileBytes / originalBytes).toFixed(3)}×`,
      `target ≤ 0.25×; ${(tileBytes / n / 1024).toFixed(1)} KiB vs ${(originalBytes / n / 1024).toFixed(1)} KiB`,
    );

    lb.reset();
    const all: MosaicParams = { mode: 'all', layout: 'grid', format: 'jpeg' };
    const bigCold = await w.run('bigfan', all);
    const pages = lb.requests.filter((r) => r.server === 'pages').length;
    const images = lb.requests.filter((r) => r.server === 'images').length;
    report(
      `all, ${bigCold.collected.films.length} films + posters, cold`,
      seconds(bigCold.ms),
      `${pages} page requests (14 films pages + lookups), ${images} posters`,
    );

    lb.reset();
    const bigWarm = await w.run('bigfan', all);
    report(
      `all, ${bigWarm.collected.films.length} films + posters, warm`,
      seconds(bigWarm.ms),
      `${lb.requests.length} requests (the films pages)`,
    );
  } finally {
    w.close();
    await lb.close();
    tmp.cleanup();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchCollect();
