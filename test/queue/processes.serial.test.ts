import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { openDb, type Db } from '../../db/sqlite/open.js';
import { createTaskStore } from '../../db/sqlite/tasks.js';
import { createEventStore } from '../../db/sqlite/events.js';
import { createFeedReader } from '../../db/sqlite/feed.js';
import type { TaskEvent } from '../../db/sqlite/events.js';
import { tmpDir } from '../helpers/tmp.js';
import { spawnTs, waitFor, type Child } from '../helpers/processes.js';

const WORKER = 'test/helpers/testWorker.ts';

function worker(dataDir: string, extra: Record<string, string> = {}): Child {
  return spawnTs(WORKER, { DATA_DIR: dataDir, LEASE_MS: '1500', WORKER_CONCURRENCY: '4', ...extra });
}

function contiguous(db: Db): boolean {
  const r = db.prepare(`SELECT min(seq) AS lo, max(seq) AS hi, count(*) AS n FROM task_events`).get() as {
    lo: number;
    hi: number;
    n: number;
  };
  return r.hi - r.lo + 1 === r.n;
}

test('crash: SIGKILL a worker mid-task; another completes it exactly once, attempt consumed', async () => {
  const t = tmpDir();
  const dbPath = join(t.dir, 'moviemosaic.db');
  const db = openDb(dbPath);
  const tasks = createTaskStore(db);
  const id = tasks.enqueueRaw('steps', 'dave', JSON.stringify({ steps: 40, stepMs: 25 })).id;
  const events = createEventStore(db);
  const w1 = worker(t.dir);
  await waitFor(
    () => events.listTaskAfter(id, 0).some((e) => e.type === 'progress' && e.task.progress!.done >= 3),
    20_000,
    'progress from worker 1',
  );
  w1.kill('SIGKILL');
  await w1.exited;
  const w2 = worker(t.dir);
  const done = await waitFor(() => tasks.getRow(id)!.status === 'COMPLETE' && tasks.getRow(id)!, 30_000, 'completion by worker 2');
  w2.kill('SIGTERM');
  await w2.exited;
  assert.is(done.attempt, 2, 'the crash consumed an attempt');
  const types = events.listTaskAfter(id, 0).map((e) => e.type);
  assert.is(types.filter((x) => x === 'completed').length, 1);
  assert.is(types.filter((x) => x === 'claimed').length, 2);
  assert.ok(types.includes('reclaimed'));
  assert.ok(contiguous(db), 'events contiguous');
  assert.is(db.pragma('integrity_check', { simple: true }), 'ok');
  const result = db.prepare(`SELECT count(*) AS n FROM results WHERE id = ?`).get(id) as { n: number };
  assert.is(result.n, 1);
  db.close();
  t.cleanup();
});

test('poison task that kills its worker ends WORKER_LOST after max attempts', async () => {
  const t = tmpDir();
  const db = openDb(join(t.dir, 'moviemosaic.db'));
  const tasks = createTaskStore(db, { backoffBaseMs: 1 });
  const id = tasks.enqueueRaw('crash', 'dave', '{}').id;
  // Each worker dies on the poison task; the test restarts one until the task ends.
  for (let i = 0; i < 6 && tasks.getRow(id)!.status !== 'ERROR'; i++) {
    db.prepare(`UPDATE tasks SET run_at = 0 WHERE id = ? AND status = 'QUEUED'`).run(id);
    const w = worker(t.dir);
    await Promise.race([w.exited, waitFor(() => tasks.getRow(id)!.status === 'ERROR', 20_000, 'WORKER_LOST')]);
    w.kill('SIGKILL');
    await w.exited;
    // Sweep on behalf of the dead worker (as any live worker would).
    if (tasks.getRow(id)!.status === 'RUNNING') {
      const sweeper = createTaskStore(db, { clock: { now: () => Date.now() + 60_000 } });
      sweeper.sweep();
    }
  }
  const row = tasks.getRow(id)!;
  assert.equal([row.status, row.error_code, row.attempt], ['ERROR', 'WORKER_LOST', 3]);
  db.close();
  t.cleanup();
});

test('several worker processes, 2000 tasks: each completes exactly once', async () => {
  const t = tmpDir();
  const db = openDb(join(t.dir, 'moviemosaic.db'));
  const tasks = createTaskStore(db);
  const insert = db.transaction(() => {
    for (let i = 0; i < 2000; i++) tasks.enqueueRaw(i % 10 === 0 ? 'steps' : 'noop', `u${i}`, JSON.stringify({ steps: 1, stepMs: 1 }));
  });
  insert();
  const workers = [worker(t.dir), worker(t.dir), worker(t.dir)];
  const count = db.prepare(`SELECT count(*) AS n FROM tasks WHERE status = 'COMPLETE'`).pluck();
  await waitFor(() => count.get() === 2000, 60_000, '2000 completions');
  // A worker may still be starting when the others have done all the work: SIGTERM before its handler
  // is installed would kill it. Each registers itself in the same turn it installs the handler.
  const registered = db.prepare(`SELECT count(*) FROM workers`).pluck();
  await waitFor(() => registered.get() === workers.length, 60_000, 'every worker registered');
  for (const w of workers) w.kill('SIGTERM');
  const exits = await Promise.all(workers.map((w) => w.exited));
  for (const e of exits) assert.is(e.code, 0, 'graceful exit');
  const perTask = db
    .prepare(
      `
    SELECT task_id, sum(type = 'completed') AS c, sum(type = 'claimed') AS k FROM task_events GROUP BY task_id
    HAVING c != 1 OR k != 1`,
    )
    .all();
  assert.equal(perTask, [], 'exactly one claim and one completion per task');
  const owners = db.prepare(`SELECT count(DISTINCT json_extract(payload, '$.id')) AS n FROM task_events`).pluck().get();
  assert.is(owners, 2000);
  assert.ok(contiguous(db));
  assert.is(db.pragma('integrity_check', { simple: true }), 'ok');
  db.close();
  t.cleanup();
});

test('dedupe: two processes enqueueing the same requests at once get the same tasks', async () => {
  const t = tmpDir();
  const path = join(t.dir, 'moviemosaic.db');
  openDb(path).close();
  const a = spawnTs('test/helpers/enqueueMany.ts', {}, [path, '300']);
  const b = spawnTs('test/helpers/enqueueMany.ts', {}, [path, '300']);
  await Promise.all([a.exited, b.exited]);
  const idsA = JSON.parse(a.output()) as string[];
  const idsB = JSON.parse(b.output()) as string[];
  assert.equal(idsA, idsB);
  const db = openDb(path);
  assert.is(db.prepare(`SELECT count(*) FROM tasks`).pluck().get(), 300);
  db.close();
  t.cleanup();
});

test('feed: a watcher sees every event another process writes, in order, no gap, across a checkpoint', async () => {
  const t = tmpDir();
  const path = join(t.dir, 'moviemosaic.db');
  openDb(path).close();
  const ro = openDb(path, { readonly: true });
  const reader = createFeedReader(ro, { after: 0 });
  const seen: TaskEvent[] = [];
  const writer = spawnTs('test/helpers/writeEvents.ts', {}, [path, '3000']);
  let exited = false;
  void writer.exited.then(() => (exited = true));
  await waitFor(
    () => {
      seen.push(...reader.pollOnce());
      return exited && seen.length >= 3000;
    },
    60_000,
    '3000 events',
  );
  seen.push(...reader.pollOnce(true));
  assert.is(seen.length, 3000);
  for (let i = 1; i < seen.length; i++) assert.is(seen[i].seq, seen[i - 1].seq + 1);
  ro.close();
  t.cleanup();
});

test.run();
