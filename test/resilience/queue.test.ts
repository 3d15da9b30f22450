/**
 * Defects the resilience suites found in the queue and the worker loop, each pinned by a test that
 * failed before its fix (in-process, real SQLite file, no child processes).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { openDb } from '../../db/sqlite/open.js';
import { createTaskStore } from '../../db/sqlite/tasks.js';
import { createSqliteStorage } from '../../db/sqlite/index.js';
import { createWorkerLoop, type Action } from '../../worker/loop.js';
import { AppError } from '../../common/errors.js';
import { silentLogger } from '../../common/log.js';
import { fakeClock } from '../helpers/fakeClock.js';
import { cleanup, tmp, track } from '../helpers/server.js';
import { systemClock } from '../../common/clock.js';
import Database from 'better-sqlite3';

test.after.each(cleanup);

function setup(actions: Record<string, Action>) {
  const t = tmp();
  const db = openDb(join(t.dir, 'q.db'));
  track(() => db.open && db.close());
  const clock = fakeClock();
  const tasks = createTaskStore(db, { clock });
  const storage = createSqliteStorage(db, { clock });
  const loop = createWorkerLoop({
    tasks: storage.tasks,
    isBusy: storage.isBusy,
    actions,
    workerId: 'w1',
    concurrency: 2,
    clock,
    log: silentLogger,
  });
  return { db, clock, tasks, loop };
}

const rateLimited =
  (retryAfterMs: number): Action =>
  async () => {
    throw new AppError(
      'LETTERBOXD_RATE_LIMITED',
      `Letterboxd is rate limiting requests; the task will be tried again in about ${Math.ceil(retryAfterMs / 1000)} s.`,
      {
        retryable: true,
        retryAfterMs,
      },
    );
  };

test('a Retry-After beyond the 10-minute budget ends the task now, not hours (or years) later', async () => {
  const s = setup({ hour: rateLimited(3_600_000), forever: rateLimited(1e12) });
  const hour = s.tasks.enqueueRaw('hour', 'dave', '{}').id;
  const forever = s.tasks.enqueueRaw('forever', 'erin', '{}').id;
  await s.loop.runUntilIdle();
  for (const id of [hour, forever]) {
    const row = s.tasks.getRow(id)!;
    const live = s.db.prepare(`SELECT live FROM tasks WHERE id = ?`).pluck().get(id);
    assert.equal(
      [row.status, row.error_code, live],
      ['ERROR', 'LETTERBOXD_RATE_LIMITED', null],
      'finished at once: a live task would also block every identical request',
    );
    assert.not.match(row.error_msg!, /tried again/, 'the final message promises no retry');
    assert.match(row.error_msg!, /try again/i);
  }
  assert.match(s.tasks.getRow(hour)!.error_msg!, /60 minutes/);
});

test('429s hold a task back at most 10 minutes in all: three 40 s delays, then an honest ERROR', async () => {
  const s = setup({ storm: rateLimited(40_000) });
  const id = s.tasks.enqueueRaw('storm', 'dave', '{}').id;
  const runAts: number[] = [];
  for (let i = 0; i < 10 && s.tasks.getRow(id)!.status !== 'ERROR'; i++) {
    await s.loop.runUntilIdle();
    const row = s.tasks.getRow(id)!;
    if (row.status === 'QUEUED') {
      runAts.push(row.run_at - s.clock.now());
      s.clock.advance(row.run_at - s.clock.now());
    }
  }
  const row = s.tasks.getRow(id)!;
  assert.equal([row.status, row.error_code, row.delay_count, row.attempt], ['ERROR', 'LETTERBOXD_RATE_LIMITED', 3, 1]);
  assert.equal(runAts, [40_000, 40_000, 40_000]);
  assert.not.match(row.error_msg!, /tried again/);
});

test('a finished mosaic is stored even when another program holds the write lock past the busy timeout', async () => {
  const t = tmp();
  const path = join(t.dir, 'q.db');
  const db = openDb(path, { busyTimeoutMs: 50 });
  track(() => db.open && db.close());
  const tasks = createTaskStore(db);
  const storage = createSqliteStorage(db);
  const holder = new Database(path);
  track(() => holder.open && holder.close());
  let release: () => void = () => {};
  const loop = createWorkerLoop({
    tasks: storage.tasks,
    isBusy: storage.isBusy,
    actions: {
      // The mosaic is built; as it is about to be stored, a backup tool takes the lock for a while.
      build: async () => {
        holder.prepare('BEGIN IMMEDIATE').run();
        const held = setTimeout(() => release(), 400);
        release = () => (clearTimeout(held), holder.inTransaction && holder.prepare('COMMIT').run());
        return { image: Buffer.from('mosaic'), contentType: 'image/jpeg', width: 1, height: 1, films: [], partial: false, note: null };
      },
    },
    workerId: 'w1',
    concurrency: 1,
    clock: systemClock,
    log: silentLogger,
  });
  const id = tasks.enqueueRaw('build', 'dave', '{}').id;
  await loop.runUntilIdle();
  release();
  const row = tasks.getRow(id)!;
  assert.equal([row.status, row.attempt], ['COMPLETE', 1], 'stored once the lock was free, without re-running the task');
  assert.is((await storage.results.image(id))!.image.toString(), 'mosaic');
});

test.run();
