/**
 * Renditions of a result made before they existed, end to end: the real server answers the first
 * request with the full image (uncached) and queues one make_renditions task however many requests
 * arrive; a real worker process makes the copies with sharp; then each copy has its own ETag, a
 * year's cache and 304s, within its size budget.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import sharp from 'sharp';
import { createResultStore } from '../../db/sqlite/results.js';
import { RENDITIONS_RETRY_MS } from '../../server/routes/tasks.js';
import { spawnTs, waitFor } from '../helpers/processes.js';
import { cleanup, completeWithResult, liveServer, request, tracked } from '../helpers/server.js';

test.after.each(cleanup);

/** A photo-like mosaic that does not compress well: noise over a gradient, 2400 × 3600 JPEG. */
async function bigJpeg() {
  const width = 2400;
  const height = 3600;
  const raw = Buffer.alloc(width * height * 3);
  let seed = 7;
  for (let i = 0; i < raw.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    raw[i] = ((i / 3) % width) / 10 + (seed % 160);
  }
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

test('an older result: the full image meanwhile and one queued task, then a worker makes both copies', async () => {
  const s = await liveServer();
  const results = createResultStore(s.db);
  const image = await bigJpeg();
  const { task } = s.tasks.enqueue({ action: 'create_mosaic', username: 'dave', params: { mode: 'all', layout: 'grid', format: 'jpeg' } });
  const early = await request(s.port, `/api/tasks/${task.id}/result/thumb`);
  assert.equal([early.status, early.json.error.code], [409, 'RESULT_NOT_READY']);
  completeWithResult(s.tasks, results, task.id, Date.now(), image);

  const pending = await Promise.all([1, 2, 3].map(() => request(s.port, `/api/tasks/${task.id}/result/thumb?via=list`)));
  pending.push(await request(s.port, `/api/tasks/${task.id}/result/screen`));
  for (const r of pending) {
    assert.is(r.status, 200);
    assert.ok(r.body.equals(image), 'the full image meanwhile');
    assert.is(r.headers['content-type'], 'image/jpeg');
    assert.is(r.headers['cache-control'], 'no-store', 'not kept under the copy’s URL');
    assert.is(r.headers.etag, undefined);
  }
  const queued = s.db.prepare(`SELECT id, username, params, status FROM tasks WHERE action = 'make_renditions'`).all() as {
    id: string;
    username: string;
    params: string;
    status: string;
  }[];
  assert.is(queued.length, 1, 'four requests, one task');
  assert.equal([queued[0].username, JSON.parse(queued[0].params), queued[0].status], ['dave', { of: task.id }, 'QUEUED']);

  const worker = tracked(spawnTs('worker/main.ts', { DATA_DIR: s.dir }));
  await waitFor(() => s.tasks.get(queued[0].id)?.status === 'COMPLETE', 60_000, `make_renditions to complete\n${worker.output()}`);

  for (const [kind, maxBytes, box] of [
    ['thumb', 40 * 1024, [320, 240]],
    ['screen', 100 * 1024, [1080, 1080]],
  ] as const) {
    const res = await request(s.port, `/api/tasks/${task.id}/result/${kind}`);
    assert.is(res.status, 200);
    assert.is(res.headers['content-type'], 'image/webp');
    assert.is(res.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.ok(res.body.length <= maxBytes, `${kind}: ${res.body.length} bytes ≤ ${maxBytes}`);
    const meta = await sharp(res.body).metadata();
    assert.ok(meta.width <= box[0] && meta.height <= box[1], `${kind}: ${meta.width}×${meta.height}`);
    if (kind === 'thumb') assert.equal([meta.width, meta.height], [320, 240]);
    else
      assert.ok(
        meta.height >= 540 && Math.abs(meta.width / meta.height - 2 / 3) < 0.01,
        `the tall mosaic fits 1080 px, in shape: ${meta.width}×${meta.height}`,
      );
    const etag = res.headers.etag!;
    assert.match(etag, /^"[A-Za-z0-9_-]+"$/);
    const full = await request(s.port, `/api/tasks/${task.id}/result`);
    assert.is.not(etag, full.headers.etag, 'each image its own ETag');
    const again = await request(s.port, `/api/tasks/${task.id}/result/${kind}`, { headers: { 'if-none-match': etag } });
    assert.equal([again.status, again.body.length], [304, 0]);
  }
  assert.is(s.db.prepare(`SELECT count(*) FROM tasks WHERE action = 'make_renditions'`).pluck().get(), 1, 'nothing queued once made');
  const other = await request(s.port, `/api/tasks/${task.id}/result/poster`);
  assert.equal([other.status, other.json.error.code], [404, 'TASK_NOT_FOUND']);
  worker.kill('SIGTERM');
  await worker.exited;
  await s.close();
});

test('a result whose copies could not be made: the full image, and no new task for hours, then one again', async () => {
  const s = await liveServer();
  const results = createResultStore(s.db);
  const { task } = s.tasks.enqueue({ action: 'create_mosaic', username: 'dave', params: { mode: 'all', layout: 'grid', format: 'jpeg' } });
  // Bytes sharp cannot read: the worker's make_renditions task ends in ERROR.
  const unreadable = Buffer.from('not an image at all');
  completeWithResult(s.tasks, results, task.id, Date.now(), unreadable);
  const makeTasks = () =>
    s.db.prepare(`SELECT id, status FROM tasks WHERE action = 'make_renditions' ORDER BY created_at`).all() as {
      id: string;
      status: string;
    }[];

  const first = await request(s.port, `/api/tasks/${task.id}/result/screen`);
  assert.equal([first.status, first.headers['cache-control']], [200, 'no-store']);
  assert.ok(first.body.equals(unreadable));
  assert.is(makeTasks().length, 1);
  const worker = tracked(spawnTs('worker/main.ts', { DATA_DIR: s.dir }));
  await waitFor(() => makeTasks()[0].status === 'ERROR', 60_000, `make_renditions to fail\n${worker.output()}`);

  // Cards and pages keep asking: each gets the full image, and nothing is queued again.
  for (const kind of ['thumb', 'screen', 'thumb']) {
    const res = await request(s.port, `/api/tasks/${task.id}/result/${kind}`);
    assert.equal([res.status, res.headers['cache-control']], [200, 'no-store'], kind);
    assert.ok(res.body.equals(unreadable), kind);
  }
  assert.equal(
    makeTasks().map((t) => t.status),
    ['ERROR'],
    'no task queued after the failure',
  );

  // Once the failure is older than the pause, the next request tries again.
  s.db.prepare(`UPDATE tasks SET finished_at = finished_at - ? WHERE action = 'make_renditions'`).run(RENDITIONS_RETRY_MS + 1000);
  const later = await request(s.port, `/api/tasks/${task.id}/result/screen`);
  assert.ok(later.body.equals(unreadable));
  assert.is(makeTasks().length, 2, 'queued again after the pause');
  worker.kill('SIGTERM');
  await worker.exited;
  await s.close();
});

test.run();
