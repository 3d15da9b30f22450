/**
 * Slow-link benchmark (issue 13): node --import tsx bench/slowlink.ts, or npm run bench -- slowlink
 *
 * The seed's pain: a Raspberry Pi on slow basement Wi-Fi. The fake Letterboxd sits behind a shaped
 * link (bench/shapedLink.ts): 2 Mbit/s each way shared by every connection, 60 ms round trip. Its
 * posters are photograph-like and weigh what real ones do (about 40 KB at 600×900), for both sides.
 *
 * - moviemosaic: a cold 30-film `month` mosaic by a real worker process (own empty DATA_DIR, default
 *   settings), from enqueueing to COMPLETE: the feed, posters at the tile size, composing, storing.
 * - the original app's approach, measured in the same run through the same link: the feed, then each
 *   of the month's posters at 500×750, one after another, no cache. Only its downloads are timed (its
 *   composing is not), over one keep-alive connection: both favour it.
 *
 * Target: moviemosaic ≤ 0.25× the original's time. Each side runs three times, alternating, after one
 * unmeasured warm-up of each (the fake renders a poster size once; the link is the same every time).
 */
import { request, Agent } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { currentMonth, type MosaicParams } from '../common/task.js';
import { openDb } from '../db/sqlite/open.js';
import { createTaskStore } from '../db/sqlite/tasks.js';
import { createWorkerStore } from '../db/sqlite/workers.js';
import { createResultStore } from '../db/sqlite/results.js';
import { parseRss } from '../worker/sources/parseRss.js';
import { startFakeLetterboxd, type FakeLetterboxd } from '../test/helpers/fakeLetterboxd.js';
import { spawnTs, waitFor } from '../test/helpers/processes.js';
import { tmpDir } from '../test/helpers/tmp.js';
import { startShapedLink, type ShapedLink } from './shapedLink.js';
import { report, percentile } from './report.js';

const LINK = { megabitsPerSecond: 2, rttMs: 60 };
const MEMBER = 'marathon';
const RUNS = 3;

interface Outcome {
  ms: number;
  bytes: number;
  films: number;
  requests: number;
}

/** The original approach: the feed, then the month's posters at 500×750, one after another. */
async function original(lb: FakeLetterboxd, link: ShapedLink, month: string): Promise<Outcome> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const get = (url: string) =>
    new Promise<Buffer>((resolve, reject) => {
      // Python's requests, which it used, asks for gzip too.
      const req = request(url, { agent, headers: { 'user-agent': 'original-approach', 'accept-encoding': 'gzip, deflate' } }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`${res.statusCode} for ${url}`));
          const body = Buffer.concat(parts);
          resolve(res.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body);
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  link.resetCounters();
  lb.reset();
  const t0 = performance.now();
  const feed = parseRss((await get(`${lb.url}/${MEMBER}/rss/`)).toString('utf8'));
  const entries = feed.entries.filter((e) => e.watchedDate?.startsWith(`${month}-`) && e.posterUrl);
  for (const e of entries) await get(e.posterUrl!.replace(/-0-\d+-0-\d+-crop\.jpg/, '-0-500-0-750-crop.jpg'));
  const ms = performance.now() - t0;
  agent.destroy();
  return { ms, bytes: link.bytesDown(), films: entries.length, requests: lb.requests.length };
}

/** moviemosaic: a real worker process with a cold cache makes the month's mosaic. */
async function moviemosaic(lb: FakeLetterboxd, link: ShapedLink, params: MosaicParams): Promise<Outcome> {
  const dir = tmpDir('mm-bench-slowlink-');
  const db = openDb(join(dir.dir, 'moviemosaic.db'));
  // Letterboxd's own spacing (1 s between page requests) as in production: only the feed is a page.
  const worker = spawnTs('worker/main.ts', { DATA_DIR: dir.dir, LETTERBOXD_URL: lb.url, LETTERBOXD_IMAGE_HOSTS: lb.imageHost });
  try {
    await waitFor(() => createWorkerStore(db).live(0).length > 0, 30_000, `the worker to start\n${worker.output()}`);
    const tasks = createTaskStore(db);
    link.resetCounters();
    lb.reset();
    const t0 = performance.now();
    const id = tasks.enqueue({ action: 'create_mosaic', username: MEMBER, params }).task.id;
    const task = await waitFor(
      () => {
        const t = tasks.get(id)!;
        return ['COMPLETE', 'ERROR', 'CANCELLED'].includes(t.status) && t;
      },
      120_000,
      `the mosaic\n${worker.output()}`,
      2,
    );
    const ms = performance.now() - t0;
    if (task.status !== 'COMPLETE') throw new Error(`the mosaic ended ${task.status} ${task.errorCode}: ${task.errorMsg}`);
    return { ms, bytes: link.bytesDown(), films: createResultStore(db).summary(id)?.films.length ?? 0, requests: lb.requests.length };
  } finally {
    worker.kill('SIGTERM');
    await worker.exited;
    db.close();
    dir.cleanup();
  }
}

const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

export async function benchSlowlink(): Promise<void> {
  const now = new Date();
  const month = currentMonth(now);
  const lb = await startFakeLetterboxd({ now, posterStyle: 'natural', gzip: true });
  const pages = new URL(lb.url);
  const images = new URL(lb.imageBase);
  const link = await startShapedLink(
    [
      { host: pages.hostname, port: Number(pages.port) },
      { host: images.hostname, port: Number(images.port) },
    ],
    LINK,
  );
  lb.advertise({ pages: `http://${link.hosts[0]}`, images: `http://${link.hosts[1]}` });
  const params: MosaicParams = { mode: 'month', month, layout: 'classic', format: 'jpeg' };
  try {
    await original(lb, link, month);
    await moviemosaic(lb, link, params);
    const ours: Outcome[] = [];
    const theirs: Outcome[] = [];
    for (let i = 0; i < RUNS; i++) {
      theirs.push(await original(lb, link, month));
      ours.push(await moviemosaic(lb, link, params));
    }
    const median = (xs: Outcome[], k: 'ms' | 'bytes') =>
      percentile(
        xs.map((x) => x[k]),
        50,
      );
    const link$ = `${LINK.megabitsPerSecond} Mbit/s shared, ${LINK.rttMs} ms round trip`;
    report(
      `original: feed + ${theirs[0].films} posters 500×750 in turn`,
      `${secs(median(theirs, 'ms'))}, ${kib(median(theirs, 'bytes'))}`,
      `${link$} (it averaged ${((median(theirs, 'bytes') * 8) / median(theirs, 'ms') / 1000).toFixed(2)} Mbit/s); ${theirs[0].requests} requests; runs ${theirs.map((o) => secs(o.ms)).join(' / ')}`,
    );
    report(
      `moviemosaic: cold ${ours[0].films}-film month mosaic`,
      `${secs(median(ours, 'ms'))}, ${kib(median(ours, 'bytes'))}`,
      `real worker process, enqueue → COMPLETE; ${ours[0].requests} requests; runs ${ours.map((o) => secs(o.ms)).join(' / ')}`,
    );
    report(
      'slow link: moviemosaic / original',
      `${(median(ours, 'ms') / median(theirs, 'ms')).toFixed(2)}× time, ${(median(ours, 'bytes') / median(theirs, 'bytes')).toFixed(2)}× bytes`,
      'target ≤ 0.25× time',
    );
  } finally {
    await link.close();
    await lb.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchSlowlink();
