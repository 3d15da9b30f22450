/**
 * Stable image links (/m/…) through the whole server: a real database file, the feed watcher waking
 * a waiting request, the test standing in for a worker through the task store (claim, complete,
 * fail) as a worker process does. The pictures are drawn by the build's own script into a temp folder.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import sharp from 'sharp';
import { dedupeKey, normalizeRequest } from '../../../common/task.js';
import { stableLinkPath, stableLinkRequest } from '../../../common/stableLink.js';
import { createTaskStore } from '../../../db/sqlite/tasks.js';
import { createResultStore } from '../../../db/sqlite/results.js';
import { CREATE_MOSAIC } from '../../../server/routes/mosaics.js';
import { writeStatusImages } from '../../../scripts/status-images.js';
import { cleanup, completeWithResult, liveServer, postJson, request, type LiveServer } from '../../helpers/server.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/processes.js';

test.after.each(cleanup);

const NOW = new Date(2026, 10, 20, 12); // local time: the month is November 2026
const key = (username: string, params: ReturnType<typeof normalizeRequest>['params']) => dedupeKey(CREATE_MOSAIC, username, params);

test('every period form means what the API means, with the same dedupe key', () => {
  const api = (body: Record<string, unknown>) => {
    const r = normalizeRequest({ username: 'Dave', ...body }, NOW);
    return key(r.username, r.params);
  };
  const link = (file: string) => {
    const r = stableLinkRequest('Dave', file, NOW);
    return key(r.username, r.params);
  };
  assert.is(link('month.jpg'), api({ mode: 'month' }));
  assert.is(link('month.jpg'), api({ mode: 'month', month: '2026-11', format: 'jpeg' }));
  assert.is(link('2026-11.jpg'), link('month.jpg'), 'the current month named or not');
  assert.is(link('2026-10.grid.png'), api({ mode: 'month', month: '2026-10', layout: 'grid', format: 'png' }));
  assert.is(link('recent-30.webp'), api({ mode: 'recent', format: 'webp' }));
  assert.is(link('recent-12.jpeg'), api({ mode: 'recent', count: 12 }));
  assert.is(link('2025.review.png'), api({ mode: 'year', year: 2025, layout: 'review', format: 'png' }));
  assert.is(link('all.classic.jpg'), api({ mode: 'all' }));
  for (const file of [
    'month.gif',
    '2026-13.jpg',
    '2027.jpg',
    'recent-0.jpg',
    'recent-51.png',
    'month.review.jpg',
    'everything.png',
    '2026-11',
    '1999.jpg',
  ]) {
    assert.throws(() => stableLinkRequest('Dave', file, NOW), /INVALID_REQUEST|must|look|layout|year|count|month/, file);
  }
  assert.throws(() => stableLinkRequest('no-such!', 'month.jpg', NOW), /username/);
  // And back: a mosaic's parameters give the link that names them.
  for (const file of ['2026-10.grid.png', 'recent-12.jpg', '2025.review.webp', 'all.jpg']) {
    const r = stableLinkRequest('dave', file, NOW);
    assert.is(stableLinkPath('dave', r.params), `/m/dave/${file}`);
  }
});

// Drawn once for the file (the suite's cleanup runs after each test, so not under it).
const pictureDir = tmpDir();
test.after(() => pictureDir.cleanup());
let drawn: Promise<number> | null = null;
async function statusDir(): Promise<string> {
  await (drawn ??= writeStatusImages(pictureDir.dir));
  return pictureDir.dir;
}

async function server(options: Parameters<typeof liveServer>[0] = {}): Promise<LiveServer> {
  return liveServer({ statusDir: await statusDir(), ...options });
}

const queuedFor = (srv: LiveServer) =>
  srv.db.prepare(`SELECT id, status, dedupe_key FROM tasks ORDER BY created_at`).all() as {
    id: string;
    status: string;
    dedupe_key: string;
  }[];

test('no mosaic yet: the request queues one and waits; the finished mosaic is answered with validators', async () => {
  const srv = await server();
  const results = createResultStore(srv.db);
  const image = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#c33' } })
    .png()
    .toBuffer();
  const pending = request(srv.port, '/m/dave/2025-11.grid.png');
  // The request's task appears; finish it as a worker would while the request waits.
  // A month in the past whatever the date the suite runs on (a future one is refused, and none queued).
  const task = await waitFor(() => queuedFor(srv)[0], 10_000, 'the link to queue its mosaic');
  completeWithResult(srv.tasks, results, task.id, Date.now(), image);
  const res = await pending;
  assert.is(res.status, 200);
  assert.ok(res.body.equals(image));
  assert.is(res.headers['cache-control'], 'public, max-age=300');
  assert.is(res.headers['cross-origin-resource-policy'], 'cross-origin', 'embeddable in other sites');
  assert.ok(res.headers.etag && res.headers['last-modified']);
  const again = await request(srv.port, '/m/dave/2025-11.grid.png', { headers: { 'if-none-match': res.headers.etag } });
  assert.is(again.status, 304);
  const since = await request(srv.port, '/m/dave/2025-11.grid.png', { headers: { 'if-modified-since': res.headers['last-modified'] } });
  assert.is(since.status, 304);
  assert.is(queuedFor(srv).length, 1, 'fresh: nothing more queued');
  await srv.close();
});

test('still not made after the wait: a "being made" picture, 202, not cached, Retry-After 5', async () => {
  const srv = await server({ stableLinkWaitMs: 300 });
  for (const [ext, format] of [
    ['png', 'png'],
    ['jpg', 'jpeg'],
    ['webp', 'webp'],
  ] as const) {
    const res = await request(srv.port, `/m/dave/recent-30.${ext}`);
    assert.is(res.status, 202);
    assert.is(res.headers['cache-control'], 'no-store');
    assert.is(res.headers['retry-after'], '5');
    assert.is((await sharp(res.body).metadata()).format, format, 'a real image in the format asked for');
  }
  assert.is(queuedFor(srv).length, 3, 'one task per format');
  await srv.close();
});

test('stale while revalidating: a crowd of 50 gets the old mosaic at once, and exactly one refresh is queued', async () => {
  const srv = await server({ resultFreshSec: 60 });
  // A worker that finished this mosaic two minutes ago.
  const past = createTaskStore(srv.db, { clock: { now: () => Date.now() - 120_000 } });
  const r = normalizeRequest({ username: 'dave', mode: 'all' }, new Date());
  const old = past.enqueue({ action: CREATE_MOSAIC, ...r }).task;
  completeWithResult(past, createResultStore(srv.db), old.id, Date.now() - 120_000, Buffer.from('OLD MOSAIC'));
  const crowd = await Promise.all(Array.from({ length: 50 }, () => request(srv.port, '/m/dave/all.jpg')));
  for (const res of crowd) {
    assert.is(res.status, 200);
    assert.is(res.text, 'OLD MOSAIC');
  }
  const tasks = queuedFor(srv);
  assert.equal(
    tasks.map((t) => t.status),
    ['COMPLETE', 'QUEUED'],
    'one refresh for the crowd',
  );
  assert.is(tasks[1].dedupe_key, tasks[0].dedupe_key);
  await srv.close();
});

test('an error is a picture with its status; a recent one is answered again without a new task', async () => {
  const srv = await server();
  const pending = request(srv.port, '/m/ghost/month.png');
  // A month in the past whatever the date the suite runs on (a future one is refused, and none queued).
  await waitFor(() => queuedFor(srv)[0], 10_000, 'the link to queue its mosaic');
  const [claimed] = srv.tasks.claim('test-worker', 1);
  srv.tasks.fail(claimed.id, claimed.leaseToken, 'USER_NOT_FOUND', 'There is no Letterboxd member called ghost.');
  const res = await pending;
  assert.is(res.status, 404);
  assert.is(res.headers['cache-control'], 'no-store');
  assert.is((await sharp(res.body).metadata()).format, 'png');
  const again = await request(srv.port, '/m/ghost/month.png');
  assert.is(again.status, 404);
  assert.ok(again.body.equals(res.body));
  assert.is(queuedFor(srv).length, 1, 'no new task for a recent error');
  for (const path of ['/m/ghost/someday.png', '/m/no-such!/month.png', '/m/%E0%A4%A/month.png', '/m/ghost/2026-13.png']) {
    const bad = await request(srv.port, path);
    assert.is(bad.status, 400, path);
    assert.is((await sharp(bad.body).metadata()).format, 'png', path);
  }
  await srv.close();
});

test('queuing through a link costs a token from the API limiter, and the per-client queue cap holds', async () => {
  const srv = await server({ rateLimitPerMin: 2, stableLinkWaitMs: 50 });
  assert.is((await request(srv.port, '/m/dave/2024.jpg')).status, 202);
  assert.is((await request(srv.port, '/m/dave/2024.jpg')).status, 202, 'joining the task under way is free');
  assert.is((await request(srv.port, '/m/dave/2023.jpg')).status, 202);
  const limited = await request(srv.port, '/m/dave/2022.jpg');
  assert.is(limited.status, 429);
  assert.ok(Number(limited.headers['retry-after']) >= 1);
  assert.is((await sharp(limited.body).metadata()).format, 'jpeg');
  const api = await postJson(srv.port, '/api/mosaics', { username: 'dave', mode: 'year', year: 2021 });
  assert.is(api.status, 429, 'the same limiter');
  await srv.close();

  const capped = await server({ queuePerClient: 1, stableLinkWaitMs: 50 });
  assert.is((await request(capped.port, '/m/dave/2024.jpg')).status, 202);
  const refused = await request(capped.port, '/m/dave/2023.jpg');
  assert.is(refused.status, 429);
  assert.is(queuedFor(capped).length, 1);
  await capped.close();
});

test.run();
