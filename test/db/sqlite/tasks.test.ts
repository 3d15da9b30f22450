import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { openDb, type Db } from '../../../db/sqlite/open.js';
import { MIGRATIONS } from '../../../db/sqlite/migrations.js';
import { createTaskStore, LeaseLostError, type TaskStore } from '../../../db/sqlite/tasks.js';
import { createResultStore, MAKE_RENDITIONS, pruneResults } from '../../../db/sqlite/results.js';
import { createEventStore, pruneEvents } from '../../../db/sqlite/events.js';
import { createWorkerStore } from '../../../db/sqlite/workers.js';
import type { MosaicParams } from '../../../common/task.js';
import { fakeClock, type FakeClock } from '../../helpers/fakeClock.js';
import { tmpDir } from '../../helpers/tmp.js';

const month: MosaicParams = { mode: 'month', month: '2026-11', layout: 'classic', format: 'jpeg' };
const recent: MosaicParams = { mode: 'recent', count: 30, layout: 'grid', format: 'png' };

let ctx: { db: Db; tasks: TaskStore; clock: FakeClock; cleanup(): void };

test.before.each(() => {
  const t = tmpDir();
  const db = openDb(join(t.dir, 'q.db'));
  const clock = fakeClock();
  ctx = {
    db,
    clock,
    tasks: createTaskStore(db, { clock, random: () => 0.5 }),
    cleanup: () => {
      db.close();
      t.cleanup();
    },
  };
});
test.after.each(() => ctx.cleanup());

const events = (id: string) =>
  createEventStore(ctx.db)
    .listTaskAfter(id, 0)
    .map((e) => e.type);
const row = (id: string) => ctx.tasks.getRow(id)!;

test('pragmas: WAL, synchronous NORMAL, foreign keys, migrations recorded', () => {
  assert.is(ctx.db.pragma('journal_mode', { simple: true }), 'wal');
  assert.is(ctx.db.pragma('synchronous', { simple: true }), 1);
  assert.is(ctx.db.pragma('foreign_keys', { simple: true }), 1);
  assert.ok((ctx.db.pragma('user_version', { simple: true }) as number) >= 2);
});

test('enqueue → claim → progress → complete, one event per change, with the Task as of the event', () => {
  const { task, deduped } = ctx.tasks.enqueue({ action: 'create_mosaic', username: 'dave', params: month });
  assert.is(deduped, false);
  assert.is(task.status, 'QUEUED');
  assert.is(task.stage, 'queued');
  const [c] = ctx.tasks.claim('w1', 5);
  assert.is(c.id, task.id);
  assert.is(c.attempt, 1);
  assert.is(row(task.id).status, 'RUNNING');
  ctx.clock.advance(10);
  ctx.tasks.progress(c.id, c.leaseToken, 'downloading', 3, 10, 'Downloading posters: 3 of 10');
  ctx.clock.advance(10);
  ctx.tasks.complete(c.id, c.leaseToken, () =>
    createResultStore(ctx.db).insert(
      c.id,
      { image: Buffer.from('img'), contentType: 'image/jpeg', width: 1, height: 1, films: [], partial: false, note: null },
      ctx.clock.now(),
    ),
  );
  const done = ctx.tasks.get(c.id)!;
  assert.is(done.status, 'COMPLETE');
  assert.is(done.resultUrl, `/api/tasks/${c.id}/result`);
  assert.equal(events(c.id), ['created', 'claimed', 'progress', 'completed']);
  const evs = createEventStore(ctx.db).listTaskAfter(c.id, 0);
  assert.is(evs[2].task.progress!.done, 3);
  assert.is(evs[2].task.status, 'RUNNING');
  // updatedAt moves with every event
  const times = evs.map((e) => e.task.updatedAt);
  assert.equal([...new Set(times)].length, times.length);
});

test('dedupe: a live twin is returned; a fresh COMPLETE is returned unless refresh; stale after RESULT_FRESH', () => {
  const a = ctx.tasks.enqueue({ action: 'create_mosaic', username: 'dave', params: month });
  const b = ctx.tasks.enqueue({ action: 'create_mosaic', username: 'dave', params: month });
  assert.is(b.deduped, true);
  assert.is(b.task.id, a.task.id);
  const other = ctx.tasks.enqueue({ action: 'create_mosaic', username: 'dave', params: recent });
  assert.is.not(other.task.id, a.task.id);
  const [c] = ctx.tasks.claim('w1', 1);
  ctx.tasks.complete(c.id, c.leaseToken, () =>
    createResultStore(ctx.db).insert(
      c.id,
      { image: Buffer.from('x'), contentType: 'image/jpeg', width: 1, height: 1, films: [], partial: false, note: null },
      ctx.clock.now(),
    ),
  );
  const again = ctx.tasks.enqueue({ action: 'create_mosaic', username: 'dave', params: month });
  assert.is(again.deduped, true);
  assert.is(again.task.status, 'COMPLETE');
  ctx.clock.advance(60_000); // a refresh within the minute is throttled (below)
  const refreshed = ctx.tasks.enqueue({ action: 'create_mosaic', username: 'dave', params: month, refresh: true });
  assert.is(refreshed.deduped, false);
  assert.is.not(refreshed.task.id, a.task.id);
  // stale: an import after the result makes it stale
  const t2 = createTaskStore(ctx.db, { clock: ctx.clock });
  const stale = t2.enqueue({ action: 'create_mosaic', username: 'dave', params: recent, staleBefore: ctx.clock.now() + 1 });
  assert.is(stale.task.id, other.task.id, 'the live recent task is still returned');
});

test('refresh: a twin that finished after the refresh arrived is returned; an older one is not', () => {
  const store = createResultStore(ctx.db);
  const finish = () => {
    const [c] = ctx.tasks.claim('w', 1);
    ctx.tasks.complete(c.id, c.leaseToken, () =>
      store.insert(
        c.id,
        { image: Buffer.from('x'), contentType: 'image/jpeg', width: 1, height: 1, films: [], partial: false, note: null },
        ctx.clock.now(),
      ),
    );
    return c.id;
  };
  ctx.tasks.enqueue({ action: 'create_mosaic', username: 'dave', params: month });
  const old = finish();
  ctx.clock.advance(60_000); // one refresh a minute
  const arrivedB = ctx.clock.now();
  const a = ctx.tasks.enqueue({ action: 'create_mosaic', username: 'dave', params: month, refresh: true, requestedAt: ctx.clock.now() });
  assert.is(a.deduped, false, 'refresh ignores the older result');
  ctx.clock.advance(50);
  const newer = finish();
  assert.is(newer, a.task.id);
  // B arrived while A was running; by the time B is enqueued, A has finished: B gets A.
  const b = ctx.tasks.enqueue({ action: 'create_mosaic', username: 'dave', params: month, refresh: true, requestedAt: arrivedB });
  assert.equal([b.deduped, b.task.id], [true, a.task.id]);
  assert.is.not(b.task.id, old);
});

test('refresh throttle: a mosaic made less than a minute ago is not made again; a live twin, another request, an import, a minute later are', () => {
  const store = createResultStore(ctx.db);
  /** Completes every queued task; returns the first's id. */
  const finish = () => {
    const claimed = ctx.tasks.claim('w', 10);
    for (const c of claimed) {
      ctx.tasks.complete(c.id, c.leaseToken, () =>
        store.insert(
          c.id,
          { image: Buffer.from('x'), contentType: 'image/jpeg', width: 1, height: 1, films: [], partial: false, note: null },
          ctx.clock.now(),
        ),
      );
    }
    return claimed[0].id;
  };
  const refresh = (extra: { staleBefore?: number; params?: MosaicParams } = {}) =>
    ctx.tasks.enqueue({ action: 'create_mosaic', username: 'dave', params: month, refresh: true, requestedAt: ctx.clock.now(), ...extra });
  ctx.tasks.enqueue({ action: 'create_mosaic', username: 'dave', params: month });
  const first = finish();
  ctx.clock.advance(20_000);
  const throttled = refresh();
  assert.equal([throttled.deduped, throttled.task.id, throttled.refreshIn], [true, first, 40_000], 'made 20 s ago: 40 s to wait');
  assert.is(ctx.db.prepare(`SELECT count(*) FROM tasks`).pluck().get(), 1, 'no new task');
  assert.is(refresh({ params: recent }).refreshIn, undefined, 'another mosaic is not throttled');
  assert.is(refresh({ staleBefore: ctx.clock.now() }).refreshIn, undefined, 'an import since makes the last one stale: a refresh is due');
  assert.ok(refresh().task.status === 'QUEUED' && refresh().refreshIn === undefined, 'a live twin is still returned');
  finish(); // the stale-import refresh
  ctx.clock.advance(60_000);
  const due = refresh();
  assert.equal([due.deduped, due.refreshIn], [false, undefined], 'a minute later: a new task');
});

test('claim: oldest run_at first, at most n, never the same task twice', () => {
  const ids = [];
  for (let i = 0; i < 5; i++) {
    ids.push(ctx.tasks.enqueue({ action: 'a', username: `u${i}`, params: month }).task.id);
    ctx.clock.advance(1);
  }
  const first = ctx.tasks.claim('w1', 2).map((t) => t.id);
  const second = ctx.tasks.claim('w2', 10).map((t) => t.id);
  assert.equal(first, ids.slice(0, 2));
  assert.equal(second, ids.slice(2));
  assert.equal(ctx.tasks.claim('w3', 10), []);
});

test('queued ids in claim order', () => {
  const a = ctx.tasks.enqueue({ action: 'a', username: 'u1', params: month }).task.id;
  ctx.clock.advance(1);
  const b = ctx.tasks.enqueue({ action: 'a', username: 'u2', params: month }).task.id;
  assert.equal(ctx.tasks.queuedIds(), [a, b]);
  ctx.tasks.claim('w', 1);
  assert.equal(ctx.tasks.queuedIds(), [b]);
  assert.equal(ctx.tasks.counts(), { queued: 1, running: 1 });
});

test('fencing: a stale worker cannot progress, complete or fail after its lease was swept and reclaimed', () => {
  const { task } = ctx.tasks.enqueue({ action: 'a', username: 'dave', params: month });
  const [old] = ctx.tasks.claim('w1', 1);
  ctx.clock.advance(31_000);
  const swept = ctx.tasks.sweep();
  assert.is(swept[0].status, 'QUEUED');
  ctx.clock.advance(60_000);
  const [fresh] = ctx.tasks.claim('w2', 1);
  assert.is(fresh.id, task.id);
  assert.is(fresh.attempt, 2, 'the crash consumed an attempt');
  assert.throws(
    () => ctx.tasks.progress(old.id, old.leaseToken, 'building', 1, 1, 'x'),
    (e: unknown) => e instanceof LeaseLostError,
  );
  assert.throws(
    () =>
      ctx.tasks.complete(old.id, old.leaseToken, () => {
        throw new Error('must not store');
      }),
    (e: unknown) => e instanceof LeaseLostError,
  );
  assert.throws(
    () => ctx.tasks.fail(old.id, old.leaseToken, 'INTERNAL', 'x'),
    (e: unknown) => e instanceof LeaseLostError,
  );
  assert.throws(
    () => ctx.tasks.heartbeat(old.id, old.leaseToken),
    (e: unknown) => e instanceof LeaseLostError,
  );
  ctx.tasks.complete(fresh.id, fresh.leaseToken);
  assert.is(ctx.tasks.get(fresh.id)!.status, 'COMPLETE');
});

test('a result insert that fails rolls back the COMPLETE', () => {
  ctx.tasks.enqueue({ action: 'a', username: 'dave', params: month });
  const [c] = ctx.tasks.claim('w1', 1);
  assert.throws(() =>
    ctx.tasks.complete(c.id, c.leaseToken, () => {
      throw new Error('disk full');
    }),
  );
  assert.is(row(c.id).status, 'RUNNING');
  assert.equal(events(c.id), ['created', 'claimed']);
});

test('poison task: each crash consumes an attempt; after max attempts it ends WORKER_LOST', () => {
  const { task } = ctx.tasks.enqueue({ action: 'a', username: 'dave', params: month });
  for (let i = 1; i <= 3; i++) {
    ctx.clock.advance(3_600_000);
    const [c] = ctx.tasks.claim('w', 1);
    assert.is(c.attempt, i);
    ctx.clock.advance(31_000);
    ctx.tasks.sweep();
  }
  const r = row(task.id);
  assert.is(r.status, 'ERROR');
  assert.is(r.error_code, 'WORKER_LOST');
  assert.match(r.error_msg!, /stopped 3 times/);
  assert.equal(events(task.id), ['created', 'claimed', 'reclaimed', 'claimed', 'reclaimed', 'claimed', 'lost']);
});

test('backoff: a reclaimed or retried task waits before it can be claimed again', () => {
  ctx.tasks.enqueue({ action: 'a', username: 'dave', params: month });
  const [c] = ctx.tasks.claim('w', 1);
  ctx.tasks.fail(c.id, c.leaseToken, 'LETTERBOXD_UNREACHABLE', 'Letterboxd did not answer.', true);
  assert.is(row(c.id).status, 'QUEUED');
  assert.is(row(c.id).error_code, null);
  assert.equal(ctx.tasks.claim('w', 1), [], 'not before the backoff');
  ctx.clock.advance(2_000);
  const [again] = ctx.tasks.claim('w', 1);
  assert.is(again.attempt, 2);
  // Non-retryable: ends ERROR at once.
  ctx.tasks.fail(again.id, again.leaseToken, 'USER_NOT_FOUND', 'No member.', false);
  assert.is(row(c.id).status, 'ERROR');
  assert.is(row(c.id).error_code, 'USER_NOT_FOUND');
});

test('retryable failures stop at max attempts', () => {
  ctx.tasks.enqueue({ action: 'a', username: 'dave', params: month });
  for (let i = 0; i < 3; i++) {
    ctx.clock.advance(3_600_000);
    const [c] = ctx.tasks.claim('w', 1);
    ctx.tasks.fail(c.id, c.leaseToken, 'LETTERBOXD_UNREACHABLE', 'down', true);
  }
  const r = ctx.db.prepare(`SELECT status, error_code, attempt FROM tasks`).get() as {
    status: string;
    error_code: string;
    attempt: number;
  };
  assert.equal(r, { status: 'ERROR', error_code: 'LETTERBOXD_UNREACHABLE', attempt: 3 });
});

test('retryAfter and release do not consume attempts', () => {
  ctx.tasks.enqueue({ action: 'a', username: 'dave', params: month });
  const [c] = ctx.tasks.claim('w', 1);
  ctx.tasks.retryAfter(c.id, c.leaseToken, 40_000, 'wait');
  let r = row(c.id);
  assert.is(r.status, 'QUEUED');
  assert.is(r.attempt, 0);
  assert.is(r.delay_count, 1);
  assert.equal(ctx.tasks.claim('w', 1), []);
  ctx.clock.advance(40_000);
  const [c2] = ctx.tasks.claim('w', 1);
  assert.is(c2.attempt, 1);
  assert.is(c2.delayCount, 1);
  ctx.tasks.release(c2.id, c2.leaseToken);
  r = row(c.id);
  assert.is(r.status, 'QUEUED');
  assert.is(r.attempt, 0);
  assert.equal(events(c.id), ['created', 'claimed', 'delayed', 'claimed', 'released']);
});

test('cancel: queued ends at once; running is flagged and seen by heartbeat/progress; finished is reported', () => {
  const q = ctx.tasks.enqueue({ action: 'a', username: 'u1', params: month }).task;
  const out = ctx.tasks.cancel(q.id)!;
  assert.is(out.task.status, 'CANCELLED');
  assert.is(out.task.errorCode, 'CANCELLED');
  assert.is(ctx.tasks.cancel('nope'), undefined);

  ctx.tasks.enqueue({ action: 'a', username: 'u2', params: month });
  const [c] = ctx.tasks.claim('w', 1);
  assert.is(ctx.tasks.heartbeat(c.id, c.leaseToken).cancelRequested, false);
  const r = ctx.tasks.cancel(c.id)!;
  assert.is(r.task.status, 'RUNNING');
  assert.is(r.finished, false);
  assert.is(ctx.tasks.isCancelRequested(c.id), true);
  assert.is(ctx.tasks.heartbeat(c.id, c.leaseToken).cancelRequested, true);
  assert.is(ctx.tasks.progress(c.id, c.leaseToken, 'building', null, null, 'x').cancelRequested, true);
  ctx.tasks.finishCancelled(c.id, c.leaseToken);
  assert.is(row(c.id).status, 'CANCELLED');
  assert.is(ctx.tasks.cancel(c.id)!.finished, true);
});

test('cancel racing complete: whichever commits first wins, the other is a clean no-op', () => {
  ctx.tasks.enqueue({ action: 'a', username: 'u', params: month });
  const [c] = ctx.tasks.claim('w', 1);
  ctx.tasks.cancel(c.id); // flag set while the worker was about to complete
  ctx.tasks.complete(c.id, c.leaseToken);
  assert.is(ctx.tasks.get(c.id)!.status, 'COMPLETE', 'a finished mosaic is kept even when a cancel arrived late');
  assert.is(ctx.tasks.cancel(c.id)!.finished, true);
  assert.throws(
    () => ctx.tasks.finishCancelled(c.id, c.leaseToken),
    (e: unknown) => e instanceof LeaseLostError,
  );
});

test('sweep: a cancel pending on a dead worker ends CANCELLED; dead workers lose leases early', () => {
  const workers = createWorkerStore(ctx.db);
  workers.beat('dead', 1, ctx.clock.now());
  ctx.tasks.enqueue({ action: 'a', username: 'u', params: month });
  const [c] = ctx.tasks.claim('dead', 1);
  ctx.tasks.cancel(c.id);
  ctx.clock.advance(16_000); // lease (30 s) still valid, but the worker has not been seen for 16 s
  const changed = ctx.tasks.sweep(15_000);
  assert.is(changed.length, 1);
  assert.is(row(c.id).status, 'CANCELLED');
});

test('pruning removes old events in batches and keeps new ones', () => {
  for (let i = 0; i < 30; i++) ctx.tasks.enqueue({ action: 'a', username: `u${i}`, params: month });
  ctx.clock.advance(8 * 86_400_000);
  ctx.tasks.enqueue({ action: 'a', username: 'new', params: month });
  const n = pruneEvents(ctx.db, ctx.clock.now() - 7 * 86_400_000, 7);
  assert.is(n, 30);
  assert.is(createEventStore(ctx.db).listAfter(0).length, 1);
});

test('pruning goes by position in the log: a clock that jumped back does not punch holes in it', () => {
  for (let i = 0; i < 3; i++) ctx.tasks.enqueue({ action: 'a', username: `old${i}`, params: month });
  ctx.clock.advance(8 * 86_400_000);
  const young = ctx.tasks.enqueue({ action: 'a', username: 'young', params: month }).task;
  ctx.clock.advance(-8 * 86_400_000); // e.g. a Pi that lost its time
  ctx.tasks.enqueue({ action: 'a', username: 'after-the-jump', params: month });
  ctx.clock.advance(8 * 86_400_000);
  assert.is(pruneEvents(ctx.db, ctx.clock.now() - 7 * 86_400_000), 3);
  assert.equal(
    createEventStore(ctx.db)
      .listAfter(0)
      .map((e) => e.task.username),
    ['young', 'after-the-jump'],
  );
  assert.is(createEventStore(ctx.db).listAfter(0)[0].taskId, young.id);
});

test('pruning keeps the newest event, so seq never goes back even when everything is old', () => {
  for (let i = 0; i < 5; i++) ctx.tasks.enqueue({ action: 'a', username: `u${i}`, params: month });
  const max = createEventStore(ctx.db).maxSeq();
  ctx.clock.advance(30 * 86_400_000);
  assert.is(pruneEvents(ctx.db, ctx.clock.now()), 4);
  ctx.tasks.enqueue({ action: 'a', username: 'later', params: month });
  assert.is(createEventStore(ctx.db).maxSeq(), max + 1);
});

test('the Task JSON SQLite builds matches the public Task shape in every state', () => {
  // Timestamps at millisecond edges; the expectation is built here the plain way, with Date.
  const expected = (r: ReturnType<typeof row>, params: unknown) => ({
    id: r.id,
    action: r.action,
    username: r.username,
    params,
    status: r.status,
    stage: r.stage,
    progressMsg: r.progress_msg,
    progress: r.progress_done !== null && r.progress_total !== null ? { done: r.progress_done, total: r.progress_total } : null,
    queuePosition: null,
    errorCode: r.error_code,
    errorMsg: r.error_msg,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
    resultUrl: r.status === 'COMPLETE' ? `/api/tasks/${r.id}/result` : null,
  });
  const paramsOf = new Map<string, unknown>();
  const check = (id: string, params: unknown = paramsOf.get(id)) => {
    paramsOf.set(id, params);
    assert.equal(ctx.tasks.get(id), expected(row(id), params));
    const latest = createEventStore(ctx.db).latestForTask(id)!;
    assert.equal(latest.task, expected(row(id), params), 'the event payload is the same Task');
  };
  for (const ms of [1_764_366_671_000, 1_764_366_671_999, 1_764_366_671_005, 86_400_000 * 365 * 60 + 123]) {
    ctx.clock.set(ms);
    const t = ctx.tasks.enqueue({ action: 'create_mosaic', username: `u${ms}`, params: month }).task;
    check(t.id, month);
  }
  ctx.clock.set(1_764_366_671_500);
  const bad = ctx.tasks.enqueueRaw('create_mosaic', 'dave', '{not json');
  check(bad.id, {});
  const scalar = ctx.tasks.enqueueRaw('create_mosaic', 'dave', '"just a string"');
  check(scalar.id, 'just a string');
  const titled = ctx.tasks.enqueueRaw('create_mosaic', 'erin', JSON.stringify({ note: 'Amélie "quoted" \\ back\nslash 🎬' }));
  check(titled.id, { note: 'Amélie "quoted" \\ back\nslash 🎬' });
  const claimed = ctx.tasks.claim('w1', 10);
  const [a, b, c] = claimed;
  ctx.clock.advance(1);
  ctx.tasks.progress(a.id, a.leaseToken, 'downloading', 0, 12, 'Downloading posters: 0 of 12');
  check(a.id);
  assert.equal(ctx.tasks.get(a.id)!.progress, { done: 0, total: 12 }, 'progress is an object, not a string');
  ctx.tasks.complete(a.id, a.leaseToken);
  check(a.id);
  ctx.tasks.fail(b.id, b.leaseToken, 'NO_FILMS', 'No films "logged" in that month.');
  check(b.id);
  ctx.tasks.cancel(c.id);
  check(c.id);
  ctx.tasks.finishCancelled(c.id, c.leaseToken);
  check(c.id);
  for (const t of claimed) check(t.id);
});

test("a task's first_seq and last_seq bracket exactly its events, interleaved with other tasks' events", () => {
  const ids = ['a', 'b', 'c'].map((u) => ctx.tasks.enqueue({ action: 'create_mosaic', username: u, params: month }).task.id);
  const claimed = ctx.tasks.claim('w1', 3);
  for (let i = 1; i <= 4; i++) for (const c of claimed) ctx.tasks.progress(c.id, c.leaseToken, 'downloading', i, 4, `Poster ${i} of 4`);
  ctx.tasks.complete(claimed[1].id, claimed[1].leaseToken);
  ctx.tasks.fail(claimed[0].id, claimed[0].leaseToken, 'NO_FILMS', 'none');
  ctx.tasks.cancel(claimed[2].id);
  ctx.tasks.sweep();
  const all = createEventStore(ctx.db).listAfter(0);
  const store = createEventStore(ctx.db);
  for (const id of ids) {
    const mine = all.filter((e) => e.taskId === id);
    assert.is(row(id).first_seq, mine[0].seq, 'first_seq is the created event');
    assert.is(row(id).last_seq, mine[mine.length - 1].seq, 'last_seq is the latest event');
    assert.equal(
      store.listTaskAfter(id, 0).map((e) => e.seq),
      mine.map((e) => e.seq),
    );
    assert.equal(
      store.listTaskAfter(id, mine[3].seq, 2).map((e) => e.seq),
      mine.slice(4, 6).map((e) => e.seq),
    );
    assert.is(store.latestForTask(id)!.seq, mine[mine.length - 1].seq);
  }
  assert.equal(
    all.map((e) => e.seq),
    all.map((_, i) => i + 1),
    'seq stays contiguous',
  );
  assert.equal(store.listTaskAfter('no-such-task', 0), []);
  assert.is(store.latestForTask('no-such-task'), undefined);
});

test('migration 5 fills first_seq and last_seq from the events of a database made before it', () => {
  const t = tmpDir();
  const path = join(t.dir, 'old.db');
  const old = openDb(path, { migrations: MIGRATIONS.filter((m) => m.version < 5) });
  const ins = old.prepare(`INSERT INTO tasks (id, action, username, params, dedupe_key, status, live, run_at, created_at, updated_at)
                           VALUES (?, 'a', 'u', '{}', ?, 'QUEUED', 1, 0, 0, 0)`);
  const ev = old.prepare(`INSERT INTO task_events (task_id, type, payload, created_at) VALUES (?, 'x', '{}', 0)`);
  ins.run('t1', 'k1');
  ins.run('t2', 'k2');
  ins.run('t3', 'k3');
  for (const id of ['t1', 't2', 't1', 't2', 't1']) ev.run(id);
  old.close();
  const db = openDb(path);
  const get = db.prepare<[string], { first_seq: number | null; last_seq: number | null }>(
    `SELECT first_seq, last_seq FROM tasks WHERE id = ?`,
  );
  assert.equal(get.get('t1'), { first_seq: 1, last_seq: 5 });
  assert.equal(get.get('t2'), { first_seq: 2, last_seq: 4 });
  assert.equal(get.get('t3'), { first_seq: null, last_seq: null }, 'no events left: a snapshot, as before');
  assert.equal(
    createEventStore(db)
      .listTaskAfter('t2', 0)
      .map((e) => e.seq),
    [2, 4],
  );
  assert.is((db.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE name = 'task_events_task'`).get() as { n: number }).n, 0);
  db.close();
  t.cleanup();
});

test('renditions: one live make_renditions task per result; it is pruned once finished, and copies go with their result', () => {
  const { tasks, db, clock } = ctx;
  const results = createResultStore(db);
  const mosaic = tasks.enqueue({ action: 'create_mosaic', username: 'dave', params: month }).task;
  const c = tasks.claim('w', 1)[0];
  const copy = { kind: 'thumb' as const, image: Buffer.from('THUMB'), contentType: 'image/webp', width: 320, height: 240 };
  tasks.complete(c.id, c.leaseToken, () =>
    results.insert(
      mosaic.id,
      {
        image: Buffer.from('FULL'),
        contentType: 'image/jpeg',
        width: 1,
        height: 1,
        films: [],
        partial: false,
        note: null,
        renditions: [copy],
      },
      clock.now(),
    ),
  );
  assert.is(results.rendition(mosaic.id, 'thumb')?.image.toString(), 'THUMB');
  assert.is(results.renditionEtag(mosaic.id, 'screen'), undefined);

  const first = tasks.enqueueKeyed(MAKE_RENDITIONS, 'dave', { of: mosaic.id }, mosaic.id);
  const twin = tasks.enqueueKeyed(MAKE_RENDITIONS, 'dave', { of: mosaic.id }, mosaic.id);
  assert.equal([first.deduped, twin.deduped, twin.task.id], [false, true, first.task.id]);
  const job = tasks.claim('w', 1)[0];
  tasks.complete(job.id, job.leaseToken);
  assert.is(tasks.enqueueKeyed(MAKE_RENDITIONS, 'dave', { of: mosaic.id }, mosaic.id).deduped, false, 'a finished one is no twin');
  results.insertRenditions('no-such-result', [copy], clock.now());
  assert.is(db.prepare(`SELECT count(*) FROM renditions`).pluck().get(), 1, 'nothing stored for a result that has gone');

  clock.advance(10_000);
  pruneResults(db, clock.now());
  assert.is(tasks.get(job.id), undefined, 'the finished make_renditions task is pruned');
  assert.is(tasks.get(mosaic.id), undefined, 'the old result is pruned');
  assert.is(db.prepare(`SELECT count(*) FROM renditions`).pluck().get(), 0, 'its copies with it');
  assert.ok(tasks.getRow(tasks.enqueueKeyed(MAKE_RENDITIONS, 'x', { of: 'y' }, 'y').task.id), 'a queued one stays');
});

test.run();
