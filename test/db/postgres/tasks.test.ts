/**
 * The queue on a real PostgreSQL cluster: the semantics of test/db/sqlite/tasks.test.ts (SQLite), ported,
 * plus what only several connections can show (two claimers, dedupe races, SKIP LOCKED).
 */
import * as assert from 'uvu/assert';
import pg from 'pg';
import { openPostgres, type PostgresStorage } from '../../../db/postgres/index.js';
import { PG_MIGRATIONS } from '../../../db/postgres/migrations.js';
import { isPgBusy, withTx } from '../../../db/postgres/connect.js';
import { LeaseLostError } from '../../../db/port.js';
import type { MosaicParams } from '../../../common/task.js';
import { fakeClock, type FakeClock } from '../../helpers/fakeClock.js';
import { pgSuite, startPostgres } from '../../helpers/postgres.js';

const month: MosaicParams = { mode: 'month', month: '2026-11', layout: 'classic', format: 'jpeg' };
const recent: MosaicParams = { mode: 'recent', count: 30, layout: 'grid', format: 'png' };
const img = (s = 'img') => ({
  image: Buffer.from(s),
  contentType: 'image/jpeg',
  width: 1,
  height: 1,
  films: [],
  partial: false,
  note: null,
});

const cluster = await startPostgres('test/db/postgres/tasks.test.ts');
const url = cluster?.createDatabase('queue');
const test = pgSuite('postgres queue', cluster);

let ctx: { s: PostgresStorage; clock: FakeClock };

test.before.each(async () => {
  const clock = fakeClock();
  const s = await openPostgres(url!, { clock, random: () => 0.5 });
  await s.pool.query(`TRUNCATE tasks, task_events, results, workers CASCADE; ALTER SEQUENCE task_events_seq RESTART`);
  ctx = { s, clock };
});
test.after.each(() => ctx.s.close());
test.after(() => cluster?.stop());

const tasks = () => ctx.s.tasks;
const events = async (id: string) => (await ctx.s.feed.listTaskAfter(id, 0)).map((e) => e.type);
const row = async (id: string) => (await tasks().getRow(id))!;
const lost = (e: unknown) => e instanceof LeaseLostError;
async function rejects(p: Promise<unknown>, check: (e: unknown) => boolean, what: string) {
  try {
    await p;
  } catch (err) {
    assert.ok(check(err), `${what}: ${String(err)}`);
    return;
  }
  assert.unreachable(`${what}: did not throw`);
}

test('enqueue → claim → progress → complete, one event per change, with the Task as of the event; result in bytea', async () => {
  const { task, deduped } = await tasks().enqueue({ action: 'create_mosaic', username: 'dave', params: month });
  assert.is(deduped, false);
  assert.equal([task.status, task.stage, task.params], ['QUEUED', 'queued', month]);
  const [c] = await tasks().claim('w1', 5);
  assert.is(c.id, task.id);
  assert.is(c.attempt, 1);
  assert.is((await row(task.id)).status, 'RUNNING');
  ctx.clock.advance(10);
  await tasks().progress(c.id, c.leaseToken, 'downloading', 3, 10, 'Downloading posters: 3 of 10');
  ctx.clock.advance(10);
  const bytes = Buffer.from([0, 1, 2, 255, 0x5c, 0x78]);
  await tasks().complete(c.id, c.leaseToken, { ...img(), image: bytes });
  const done = (await tasks().get(c.id))!;
  assert.is(done.status, 'COMPLETE');
  assert.is(done.resultUrl, `/api/tasks/${c.id}/result`);
  assert.equal(await events(c.id), ['created', 'claimed', 'progress', 'completed']);
  const evs = await ctx.s.feed.listTaskAfter(c.id, 0);
  assert.equal(evs[2].task.progress, { done: 3, total: 10 });
  assert.is(evs[2].task.status, 'RUNNING');
  assert.is(new Set(evs.map((e) => e.task.updatedAt)).size, evs.length, 'updatedAt moves with every event');
  const image = (await ctx.s.results.image(c.id))!;
  assert.ok(image.image.equals(bytes), 'bytes round-trip through bytea');
  assert.equal(await ctx.s.results.etag(c.id), { etag: image.etag, contentType: 'image/jpeg' });
  assert.is((await ctx.s.results.summary(c.id))!.label, 'November 2026');
  assert.is((await ctx.s.results.listByUser('dave')).length, 1);
});

test('dedupe: a live twin is returned; a fresh COMPLETE is returned unless refresh; staleBefore', async () => {
  const a = await tasks().enqueue({ action: 'create_mosaic', username: 'dave', params: month });
  const b = await tasks().enqueue({ action: 'create_mosaic', username: 'dave', params: month });
  assert.equal([b.deduped, b.task.id], [true, a.task.id]);
  const other = await tasks().enqueue({ action: 'create_mosaic', username: 'dave', params: recent });
  assert.is.not(other.task.id, a.task.id);
  const [c] = await tasks().claim('w1', 1);
  await tasks().complete(c.id, c.leaseToken, img());
  const again = await tasks().enqueue({ action: 'create_mosaic', username: 'dave', params: month });
  assert.equal([again.deduped, again.task.status], [true, 'COMPLETE']);
  ctx.clock.advance(60_000); // a refresh within a minute of the last mosaic returns that one
  const refreshed = await tasks().enqueue({ action: 'create_mosaic', username: 'dave', params: month, refresh: true });
  assert.is(refreshed.deduped, false);
  assert.is.not(refreshed.task.id, a.task.id);
  const stale = await tasks().enqueue({ action: 'create_mosaic', username: 'dave', params: recent, staleBefore: ctx.clock.now() + 1 });
  assert.is(stale.task.id, other.task.id, 'the live recent task is still returned');
});

test('dedupe race: 20 concurrent enqueues of one request from separate connections make one task', async () => {
  const stores = await Promise.all(Array.from({ length: 4 }, () => openPostgres(url!, { clock: ctx.clock })));
  try {
    const outs = await Promise.all(
      Array.from({ length: 20 }, (_, i) => stores[i % 4].tasks.enqueue({ action: 'create_mosaic', username: 'race', params: month })),
    );
    assert.is(new Set(outs.map((o) => o.task.id)).size, 1);
    assert.is(outs.filter((o) => !o.deduped).length, 1);
    assert.equal(await events(outs[0].task.id), ['created']);
  } finally {
    await Promise.all(stores.map((s) => s.close()));
  }
});

test('refresh: a twin that finished after the refresh arrived is returned; an older one is not', async () => {
  const finish = async () => {
    const [c] = await tasks().claim('w', 1);
    await tasks().complete(c.id, c.leaseToken, img());
    return c.id;
  };
  await tasks().enqueue({ action: 'create_mosaic', username: 'dave', params: month });
  const old = await finish();
  ctx.clock.advance(61_000); // past the one-refresh-a-minute rule
  const arrivedB = ctx.clock.now();
  const a = await tasks().enqueue({
    action: 'create_mosaic',
    username: 'dave',
    params: month,
    refresh: true,
    requestedAt: ctx.clock.now(),
  });
  assert.is(a.deduped, false, 'refresh ignores the older result');
  ctx.clock.advance(50);
  assert.is(await finish(), a.task.id);
  const b = await tasks().enqueue({ action: 'create_mosaic', username: 'dave', params: month, refresh: true, requestedAt: arrivedB });
  assert.equal([b.deduped, b.task.id], [true, a.task.id]);
  assert.is.not(b.task.id, old);
});

test('claim: oldest run_at first, at most n, never the same task twice, even to 8 claimers at once', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    ids.push((await tasks().enqueue({ action: 'a', username: `u${i}`, params: month })).task.id);
    ctx.clock.advance(1);
  }
  assert.equal(
    (await tasks().claim('w1', 2)).map((t) => t.id),
    ids.slice(0, 2),
  );
  assert.equal(
    (await tasks().claim('w2', 10)).map((t) => t.id),
    ids.slice(2),
  );
  assert.equal(await tasks().claim('w3', 10), []);

  await tasks().enqueueRawMany(
    'a',
    Array.from({ length: 200 }, (_, i) => `m${i}`),
    '{}',
  );
  const claimers = await Promise.all(Array.from({ length: 8 }, () => openPostgres(url!, { clock: ctx.clock })));
  try {
    const got = await Promise.all(
      claimers.map(async (s, i) => {
        const mine: string[] = [];
        for (;;) {
          const batch = await s.tasks.claim(`c${i}`, 3);
          if (!batch.length) return mine;
          mine.push(...batch.map((t) => t.id));
        }
      }),
    );
    const all = got.flat();
    assert.is(all.length, 200);
    assert.is(new Set(all).size, 200, 'no task claimed twice');
  } finally {
    await Promise.all(claimers.map((s) => s.close()));
  }
});

test('queued ids in claim order; counts', async () => {
  const a = (await tasks().enqueue({ action: 'a', username: 'u1', params: month })).task.id;
  ctx.clock.advance(1);
  const b = (await tasks().enqueue({ action: 'a', username: 'u2', params: month })).task.id;
  assert.equal(await tasks().queuedIds(), [a, b]);
  await tasks().claim('w', 1);
  assert.equal(await tasks().queuedIds(), [b]);
  assert.equal(await tasks().counts(), { queued: 1, running: 1 });
  assert.is(await tasks().hasRunnable(), true);
});

test('fencing: a stale worker cannot progress, complete or fail after its lease was swept and reclaimed', async () => {
  const { task } = await tasks().enqueue({ action: 'a', username: 'dave', params: month });
  const [old] = await tasks().claim('w1', 1);
  ctx.clock.advance(31_000);
  const swept = await tasks().sweep();
  assert.is(swept[0].status, 'QUEUED');
  ctx.clock.advance(60_000);
  const [fresh] = await tasks().claim('w2', 1);
  assert.is(fresh.id, task.id);
  assert.is(fresh.attempt, 2, 'the crash consumed an attempt');
  await rejects(tasks().progress(old.id, old.leaseToken, 'building', 1, 1, 'x'), lost, 'progress');
  await rejects(tasks().complete(old.id, old.leaseToken, img('must not store')), lost, 'complete');
  assert.is(await ctx.s.results.image(old.id), undefined, 'a fenced-out complete stores no result');
  await rejects(tasks().fail(old.id, old.leaseToken, 'INTERNAL', 'x'), lost, 'fail');
  await rejects(tasks().heartbeat(old.id, old.leaseToken), lost, 'heartbeat');
  await tasks().complete(fresh.id, fresh.leaseToken);
  assert.is((await tasks().get(fresh.id))!.status, 'COMPLETE');
});

test('a result insert that fails rolls back the COMPLETE and writes no event', async () => {
  await tasks().enqueue({ action: 'a', username: 'dave', params: month });
  const [c] = await tasks().claim('w1', 1);
  // width is NOT NULL: the result's insert fails inside the completing statement.
  await rejects(tasks().complete(c.id, c.leaseToken, { ...img(), width: null as unknown as number }), (e) => !lost(e), 'bad result');
  assert.is((await row(c.id)).status, 'RUNNING');
  assert.equal(await events(c.id), ['created', 'claimed']);
});

test('group commit: completions and the next claims in one transaction, each completion on its own', async () => {
  for (let i = 0; i < 5; i++) {
    await tasks().enqueue({ action: 'a', username: `g${i}`, params: month });
    ctx.clock.advance(1);
  }
  const [a, b, c] = await tasks().claim('w', 3);
  // b's lease is lost (swept and reclaimed by another worker) before the batch commits.
  await ctx.s.pool.query(`UPDATE tasks SET lease_token = 'someone-else' WHERE id = '${b.id}'`);
  const out = await tasks().completeAndClaim(
    [
      { id: a.id, leaseToken: a.leaseToken },
      { id: b.id, leaseToken: b.leaseToken },
    ],
    'w',
    2,
  );
  assert.is(out.errors[0], undefined);
  assert.ok(out.errors[1] instanceof LeaseLostError);
  assert.is(out.claimed.length, 2);
  assert.is((await tasks().get(a.id))!.status, 'COMPLETE');
  assert.is((await tasks().get(b.id))!.status, 'RUNNING');
  const all = await ctx.s.feed.listAfter(0);
  const tail = all.slice(-3).map((e) => e.type);
  assert.equal(tail, ['completed', 'claimed', 'claimed'], 'completions are logged before the claims they make room for');
  // With results (and a bad one): the general path, savepoint per completion.
  const [d, e] = out.claimed;
  const out2 = await tasks().completeAndClaim(
    [
      { id: c.id, leaseToken: c.leaseToken, result: img('c') },
      { id: d.id, leaseToken: d.leaseToken, result: { ...img(), height: null as unknown as number } },
      { id: e.id, leaseToken: e.leaseToken, result: img('e') },
    ],
    'w',
    3,
  );
  assert.equal(
    out2.errors.map((x) => x === undefined),
    [true, false, true],
  );
  assert.equal(out2.claimed, []);
  assert.equal([(await row(c.id)).status, (await row(d.id)).status, (await row(e.id)).status], ['COMPLETE', 'RUNNING', 'COMPLETE']);
  assert.is((await ctx.s.results.image(e.id))!.image.toString(), 'e');
  assert.is(await ctx.s.results.image(d.id), undefined);
});

test('group commit with completion writes: applied in the completing transaction; a lost lease applies none', async () => {
  await tasks().enqueue({ action: 'a', username: 'ann', params: month });
  await tasks().enqueue({ action: 'a', username: 'bob', params: month });
  const [a, b] = await tasks().claim('w', 2);
  ctx.clock.advance(31_000);
  await tasks().sweep(); // b's lease (and a's) expire: both back to QUEUED
  ctx.clock.advance(10_000); // past the retry backoff
  const [a2] = await tasks().claim('w', 1);
  const out = await tasks().completeAndClaim(
    [
      {
        id: a2.id,
        leaseToken: a2.leaseToken,
        writes: [{ kind: 'follow', username: 'ann', maxMembers: 10, poll: { action: 'poll_feed', runAt: 5 } }],
      },
      { id: b.id, leaseToken: b.leaseToken, writes: [{ kind: 'follow', username: 'bob', maxMembers: 10 }] },
    ],
    'w',
    0,
  );
  assert.equal(
    out.errors.map((e) => (e === undefined ? 'ok' : e.name)),
    ['ok', 'LeaseLostError'],
  );
  assert.is(a2.id, a.id);
  assert.is(await ctx.s.archive.isFollowed('ann'), true);
  assert.is(await ctx.s.archive.isFollowed('bob'), false, 'the lost completion wrote nothing');
  assert.equal(
    (await ctx.s.archive.unpolled('poll_feed')).map((m) => m.username),
    [],
    "ann's first poll is scheduled",
  );
});

test('poison task: each crash consumes an attempt; after max attempts it ends WORKER_LOST', async () => {
  const { task } = await tasks().enqueue({ action: 'a', username: 'dave', params: month });
  for (let i = 1; i <= 3; i++) {
    ctx.clock.advance(3_600_000);
    const [c] = await tasks().claim('w', 1);
    assert.is(c.attempt, i);
    ctx.clock.advance(31_000);
    await tasks().sweep();
  }
  const r = await row(task.id);
  assert.equal([r.status, r.error_code, r.live], ['ERROR', 'WORKER_LOST', null]);
  assert.match(r.error_msg!, /stopped 3 times/);
  assert.equal(await events(task.id), ['created', 'claimed', 'reclaimed', 'claimed', 'reclaimed', 'claimed', 'lost']);
});

test('backoff: a reclaimed or retried task waits before it can be claimed again', async () => {
  await tasks().enqueue({ action: 'a', username: 'dave', params: month });
  const [c] = await tasks().claim('w', 1);
  await tasks().fail(c.id, c.leaseToken, 'LETTERBOXD_UNREACHABLE', 'Letterboxd did not answer.', true);
  assert.equal([(await row(c.id)).status, (await row(c.id)).error_code], ['QUEUED', null]);
  assert.equal(await tasks().claim('w', 1), [], 'not before the backoff');
  ctx.clock.advance(1_499);
  assert.equal(await tasks().claim('w', 1), [], 'backoff is 1.5 s at random 0.5');
  ctx.clock.advance(1);
  const [again] = await tasks().claim('w', 1);
  assert.is(again.attempt, 2);
  await tasks().fail(again.id, again.leaseToken, 'USER_NOT_FOUND', 'No member.', false);
  assert.equal([(await row(c.id)).status, (await row(c.id)).error_code], ['ERROR', 'USER_NOT_FOUND']);
  // The sweep's backoff is the same function (1.5 s for a first attempt at random 0.5).
  await tasks().enqueue({ action: 'a', username: 'erin', params: month });
  const [s] = await tasks().claim('w', 1);
  ctx.clock.advance(31_000);
  await tasks().sweep();
  assert.is((await row(s.id)).run_at, ctx.clock.now() + 1_500);
});

test('retryable failures stop at max attempts', async () => {
  const { task } = await tasks().enqueue({ action: 'a', username: 'dave', params: month });
  for (let i = 0; i < 3; i++) {
    ctx.clock.advance(3_600_000);
    const [c] = await tasks().claim('w', 1);
    await tasks().fail(c.id, c.leaseToken, 'LETTERBOXD_UNREACHABLE', 'down', true);
  }
  const r = await row(task.id);
  assert.equal([r.status, r.error_code, r.attempt], ['ERROR', 'LETTERBOXD_UNREACHABLE', 3]);
});

test('retryAfter and release do not consume attempts', async () => {
  await tasks().enqueue({ action: 'a', username: 'dave', params: month });
  const [c] = await tasks().claim('w', 1);
  await tasks().retryAfter(c.id, c.leaseToken, 40_000, 'wait');
  let r = await row(c.id);
  assert.equal([r.status, r.attempt, r.delay_count], ['QUEUED', 0, 1]);
  assert.equal(await tasks().claim('w', 1), []);
  ctx.clock.advance(40_000);
  const [c2] = await tasks().claim('w', 1);
  assert.equal([c2.attempt, c2.delayCount], [1, 1]);
  await tasks().release(c2.id, c2.leaseToken);
  r = await row(c.id);
  assert.equal([r.status, r.attempt], ['QUEUED', 0]);
  assert.equal(await events(c.id), ['created', 'claimed', 'delayed', 'claimed', 'released']);
});

test('cancel: queued ends at once; running is flagged and seen by heartbeat/progress; finished is reported', async () => {
  const q = (await tasks().enqueue({ action: 'a', username: 'u1', params: month })).task;
  const out = (await tasks().cancel(q.id))!;
  assert.equal([out.task.status, out.task.errorCode], ['CANCELLED', 'CANCELLED']);
  assert.is(await tasks().cancel('nope'), undefined);
  await tasks().enqueue({ action: 'a', username: 'u2', params: month });
  const [c] = await tasks().claim('w', 1);
  assert.is((await tasks().heartbeat(c.id, c.leaseToken)).cancelRequested, false);
  const r = (await tasks().cancel(c.id))!;
  assert.equal([r.task.status, r.finished], ['RUNNING', false]);
  assert.is(await tasks().isCancelRequested(c.id), true);
  assert.is((await tasks().heartbeat(c.id, c.leaseToken)).cancelRequested, true);
  assert.is((await tasks().progress(c.id, c.leaseToken, 'building', null, null, 'x')).cancelRequested, true);
  await tasks().finishCancelled(c.id, c.leaseToken);
  assert.is((await row(c.id)).status, 'CANCELLED');
  assert.is((await tasks().cancel(c.id))!.finished, true);
  assert.equal(await events(c.id), ['created', 'claimed', 'cancel_requested', 'progress', 'cancelled'], 'heartbeats write no event');
});

test('cancel racing complete: whichever commits first wins, the other is a clean no-op', async () => {
  await tasks().enqueue({ action: 'a', username: 'u', params: month });
  const [c] = await tasks().claim('w', 1);
  await tasks().cancel(c.id);
  await tasks().complete(c.id, c.leaseToken);
  assert.is((await tasks().get(c.id))!.status, 'COMPLETE', 'a finished mosaic is kept even when a cancel arrived late');
  assert.is((await tasks().cancel(c.id))!.finished, true);
  await rejects(tasks().finishCancelled(c.id, c.leaseToken), lost, 'finishCancelled after complete');
});

test('sweep: a cancel pending on a dead worker ends CANCELLED; dead workers lose leases early', async () => {
  await ctx.s.workers.beat('dead', 1, ctx.clock.now());
  await tasks().enqueue({ action: 'a', username: 'u', params: month });
  const [c] = await tasks().claim('dead', 1);
  await tasks().cancel(c.id);
  ctx.clock.advance(16_000);
  const changed = await tasks().sweep(15_000);
  assert.is(changed.length, 1);
  assert.is((await row(c.id)).status, 'CANCELLED');
  assert.equal(await ctx.s.workers.live(ctx.clock.now() - 60_000), [
    { id: 'dead', lastSeenAt: new Date(ctx.clock.now() - 16_000).toISOString() },
  ]);
});

test('two sweepers at once: each expired lease is reclaimed exactly once', async () => {
  await tasks().enqueueRawMany(
    'a',
    Array.from({ length: 60 }, (_, i) => `s${i}`),
    '{}',
  );
  const claimed = await tasks().claim('w', 60);
  assert.is(claimed.length, 60);
  ctx.clock.advance(31_000);
  const other = await openPostgres(url!, { clock: ctx.clock, random: () => 0.5 });
  try {
    const [a, b] = await Promise.all([tasks().sweep(), other.tasks.sweep()]);
    const again = await tasks().sweep();
    assert.is(a.length + b.length + again.length, 60);
    const reclaimed = (await ctx.s.feed.listAfter(0)).filter((e) => e.type === 'reclaimed').map((e) => e.taskId);
    assert.is(reclaimed.length, 60);
    assert.is(new Set(reclaimed).size, 60, 'no task reclaimed twice');
  } finally {
    await other.close();
  }
});

test('the Task JSON PostgreSQL builds matches the public Task shape in every state', async () => {
  const expected = (r: Awaited<ReturnType<typeof row>>, params: unknown) => ({
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
  const check = async (id: string, params: unknown = paramsOf.get(id)) => {
    paramsOf.set(id, params);
    const r = await row(id);
    assert.equal(await tasks().get(id), expected(r, params));
    assert.equal((await ctx.s.feed.latestForTask(id))!.task, expected(r, params), 'the event payload is the same Task');
  };
  for (const ms of [1_764_366_671_000, 1_764_366_671_999, 1_764_366_671_005, 86_400_000 * 365 * 60 + 123]) {
    ctx.clock.set(ms);
    await check((await tasks().enqueue({ action: 'create_mosaic', username: `u${ms}`, params: month })).task.id, month);
  }
  ctx.clock.set(1_764_366_671_500);
  await check((await tasks().enqueueRaw('create_mosaic', 'dave', '{not json')).id, {});
  await check((await tasks().enqueueRaw('create_mosaic', 'dave', '"just a string"')).id, 'just a string');
  const note = { note: 'Amélie "quoted" \\ back\nslash 🎬' };
  await check((await tasks().enqueueRaw('create_mosaic', 'erin', JSON.stringify(note))).id, note);
  const claimed = await tasks().claim('w1', 10);
  const [a, b, c] = claimed;
  assert.is(a.paramsJson, JSON.stringify(month));
  ctx.clock.advance(1);
  await tasks().progress(a.id, a.leaseToken, 'downloading', 0, 12, 'Downloading posters: 0 of 12');
  await check(a.id);
  await tasks().complete(a.id, a.leaseToken);
  await check(a.id);
  await tasks().fail(b.id, b.leaseToken, 'NO_FILMS', 'No films "logged" in that month.');
  await check(b.id);
  await tasks().cancel(c.id);
  await check(c.id);
  await tasks().finishCancelled(c.id, c.leaseToken);
  await check(c.id);
});

test('pruning removes old events in batches and keeps the newest; results prune with their tasks', async () => {
  for (let i = 0; i < 30; i++) await tasks().enqueue({ action: 'a', username: `u${i}`, params: month });
  ctx.clock.advance(8 * 86_400_000);
  await tasks().enqueue({ action: 'a', username: 'new', params: month });
  assert.is(await ctx.s.feed.prune(ctx.clock.now() - 7 * 86_400_000, 7), 30);
  assert.is((await ctx.s.feed.listAfter(0)).length, 1);
  const max = await ctx.s.feed.maxSeq();
  ctx.clock.advance(30 * 86_400_000);
  assert.is(await ctx.s.feed.prune(ctx.clock.now()), 0, 'the newest event stays');
  await tasks().enqueue({ action: 'a', username: 'later', params: month });
  assert.is(await ctx.s.feed.maxSeq(), max + 1);
});

test('migrating twice at once (two processes starting together) applies each migration once', async () => {
  const fresh = cluster!.createDatabase(`m${Date.now() % 100000}`);
  const both = await Promise.all([openPostgres(fresh), openPostgres(fresh)]);
  const c = new pg.Client(fresh);
  await c.connect();
  const { rows } = await c.query('SELECT version FROM schema_migrations ORDER BY version');
  await c.end();
  await Promise.all(both.map((s) => s.close()));
  assert.equal(
    rows.map((r) => r.version),
    PG_MIGRATIONS.map((m) => m.version),
  );
});

test('a connection frozen inside a transaction is ended by the server, so its row locks cannot hold a cancel forever', async () => {
  const { task } = await tasks().enqueue({ action: 'create_mosaic', username: 'frozen', params: month });
  // Another process's connection takes the task's row lock and then goes quiet (SIGSTOP between statements).
  const frozen = await openPostgres(url!, { clock: ctx.clock, pool: { idleInTransactionMs: 300 } });
  const c = await frozen.pool.connect();
  c.on('error', () => {}); // the server ends this session: expected
  await c.query('BEGIN');
  await c.query('SELECT 1 FROM tasks WHERE id = $1 FOR UPDATE', [task.id]);
  let bound: ReturnType<typeof setTimeout> | undefined;
  const cancelled = await Promise.race([
    tasks().cancel(task.id),
    new Promise<never>((_, reject) => (bound = setTimeout(() => reject(new Error('the cancel still waits after 20 s')), 20_000))),
  ]);
  clearTimeout(bound);
  assert.is(cancelled?.task.status, 'CANCELLED', 'the cancel went through once the frozen session was ended');
  const ended = await c.query('SELECT 1').then(
    () => false,
    () => true,
  );
  assert.ok(ended, 'the frozen session was terminated');
  c.release(true);
  await frozen.close();
});

test('a connection ended under a transaction fails that transaction, not the process: the error says try again, the pool goes on', async () => {
  // A server restart, pg_terminate_backend or the idle-in-transaction timeout ends a session while its
  // client is lent out of the pool, between two statements: node-postgres then emits 'error' on the
  // client, which without a listener ends the process (three workers did so in a test run).
  const { task } = await tasks().enqueue({ action: 'create_mosaic', username: 'ended', params: month });
  const failed = await withTx(ctx.s.pool, async (c) => {
    await c.query('SELECT 1 FROM tasks WHERE id = $1 FOR UPDATE', [task.id]);
    const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const ended = new Promise((resolve) => c.once('end', resolve));
    await ctx.s.pool.query('SELECT pg_terminate_backend($1)', [pid]);
    await ended;
    await c.query('SELECT 1');
  }).then(
    () => null,
    (err: unknown) => err,
  );
  assert.instance(failed, Error);
  assert.ok(isPgBusy(failed), `a lost connection is "try again": ${String(failed)}`);
  // The transaction was rolled back with the session, and the pool lends a working connection.
  assert.is((await tasks().cancel(task.id))?.task.status, 'CANCELLED');
});

test.run();
