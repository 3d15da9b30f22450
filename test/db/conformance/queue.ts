/** The task queue through the port: every state transition, fencing, cancel races, dedupe, caps, background tasks. */
import * as assert from 'uvu/assert';
import { LeaseLostError, QueueLimitError } from '../../../db/port.js';
import { feedEntries, month, recent, POLL, rejection, result, type Register } from './subject.js';

export const queueConformance: Register = (test, subject) => {
  const types = async (id: string) => (await subject().s.feed.listTaskAfter(id, 0)).map((e) => e.type);

  test('queue: enqueue → claim → heartbeat → progress → complete; one event per change; the result commits with it', async () => {
    const { s, clock } = subject();
    const { task, deduped } = await s.tasks.enqueue({ action: 'create_mosaic', username: 'dave', params: month });
    assert.equal([deduped, task.status, task.stage, task.params, task.queuePosition], [false, 'QUEUED', 'queued', month, null]);
    assert.ok(await s.tasks.hasRunnable());
    const [c] = await s.tasks.claim('w1', 5);
    assert.equal([c.id, c.attempt, c.maxAttempts, c.delayCount, c.username, JSON.parse(c.paramsJson)], [task.id, 1, 3, 0, 'dave', month]);
    assert.is(c.leaseExpiresAt, clock.now() + 30_000);
    assert.is((await s.tasks.get(c.id))!.status, 'RUNNING');
    clock.advance(10);
    assert.equal(await s.tasks.heartbeat(c.id, c.leaseToken), { cancelRequested: false });
    assert.equal(await s.tasks.progress(c.id, c.leaseToken, 'downloading', 3, 10, 'Downloading posters: 3 of 10'), {
      cancelRequested: false,
    });
    const mid = (await s.tasks.get(c.id))!;
    assert.equal([mid.stage, mid.progress, mid.progressMsg], ['downloading', { done: 3, total: 10 }, 'Downloading posters: 3 of 10']);
    clock.advance(10);
    await s.tasks.complete(c.id, c.leaseToken, result(100), 'Done');
    const done = (await s.tasks.get(c.id))!;
    assert.equal([done.status, done.stage, done.progressMsg, done.resultUrl], ['COMPLETE', 'done', 'Done', `/api/tasks/${c.id}/result`]);
    assert.is((await s.results.image(c.id))!.image.length, 100);
    assert.equal(await types(c.id), ['created', 'claimed', 'progress', 'completed'], 'a heartbeat writes no event');
    const last = (await s.feed.latestForTask(c.id))!;
    assert.equal([last.type, last.task.status], ['completed', 'COMPLETE']);
    assert.instance(await rejection(s.tasks.complete(c.id, c.leaseToken), 'complete twice'), LeaseLostError);
    assert.is(await s.tasks.hasRunnable(), false);
  });

  test('queue: retryable failure → QUEUED after a backoff; retryAfter and release keep the attempt; the last attempt fails ERROR', async () => {
    const { s, clock } = subject();
    const { task } = await s.tasks.enqueue({ action: 'create_mosaic', username: 'ann', params: month });
    let [c] = await s.tasks.claim('w', 1);
    const retried = await s.tasks.fail(c.id, c.leaseToken, 'LETTERBOXD_UNREACHABLE', 'down', true);
    assert.equal([retried.status, retried.errorCode], ['QUEUED', null]);
    assert.equal(await s.tasks.claim('w', 1), [], 'not before the backoff');
    clock.advance(1_499);
    assert.equal(await s.tasks.claim('w', 1), [], 'equal jitter: half the base at least (random 0.5: 1.5 s)');
    clock.advance(1);
    [c] = await s.tasks.claim('w', 1);
    assert.equal([c.attempt, c.delayCount], [2, 0]);
    assert.is((await s.tasks.retryAfter(c.id, c.leaseToken, 5_000, 'Letterboxd asked us to wait')).status, 'QUEUED');
    clock.advance(5_000);
    [c] = await s.tasks.claim('w', 1);
    assert.equal([c.attempt, c.delayCount], [2, 1], 'a delay consumes no attempt');
    assert.is((await s.tasks.release(c.id, c.leaseToken)).progressMsg, 'Waiting for a worker');
    [c] = await s.tasks.claim('w', 1);
    assert.is(c.attempt, 2);
    assert.is((await s.tasks.fail(c.id, c.leaseToken, 'LETTERBOXD_UNREACHABLE', 'down again', true)).status, 'QUEUED');
    clock.advance(10_000);
    [c] = await s.tasks.claim('w', 1);
    assert.is(c.attempt, 3);
    const failed = await s.tasks.fail(c.id, c.leaseToken, 'LETTERBOXD_UNREACHABLE', 'still down', true);
    assert.equal([failed.status, failed.errorCode, failed.errorMsg], ['ERROR', 'LETTERBOXD_UNREACHABLE', 'still down']);
    assert.equal(await types(task.id), [
      'created',
      'claimed',
      'retry',
      'claimed',
      'delayed',
      'claimed',
      'released',
      'claimed',
      'retry',
      'claimed',
      'failed',
    ]);
    const fatal = await s.tasks.enqueue({ action: 'create_mosaic', username: 'bob', params: month });
    [c] = await s.tasks.claim('w', 1);
    assert.is((await s.tasks.fail(c.id, c.leaseToken, 'USER_NOT_FOUND', 'no such member')).status, 'ERROR', 'not retryable: ERROR at once');
    assert.is(c.id, fatal.task.id);
  });

  test("fencing: a reclaimed task's old lease fails every write (LeaseLostError); the new holder finishes it", async () => {
    const { s, clock } = subject();
    const { task } = await s.tasks.enqueue({ action: 'create_mosaic', username: 'ann', params: month });
    const [old] = await s.tasks.claim('w1', 1);
    clock.advance(30_001);
    assert.equal(
      (await s.tasks.sweep()).map((t) => [t.id, t.status]),
      [[task.id, 'QUEUED']],
    );
    clock.advance(10_000);
    const [now] = await s.tasks.claim('w2', 1);
    assert.is(now.attempt, 2);
    assert.is.not(now.leaseToken, old.leaseToken);
    for (const [what, p] of [
      ['heartbeat', () => s.tasks.heartbeat(old.id, old.leaseToken)],
      ['progress', () => s.tasks.progress(old.id, old.leaseToken, 'collecting', null, null, 'x')],
      ['complete', () => s.tasks.complete(old.id, old.leaseToken, result(10))],
      ['fail', () => s.tasks.fail(old.id, old.leaseToken, 'INTERNAL', 'x')],
      ['retryAfter', () => s.tasks.retryAfter(old.id, old.leaseToken, 1, 'x')],
      ['release', () => s.tasks.release(old.id, old.leaseToken)],
      ['finishCancelled', () => s.tasks.finishCancelled(old.id, old.leaseToken)],
    ] as const) {
      const err = await rejection(p(), what);
      assert.instance(err, LeaseLostError, what);
      assert.is((err as LeaseLostError).taskId, task.id);
    }
    assert.is(await s.results.image(task.id), undefined, 'the stale complete stored nothing');
    await s.tasks.complete(now.id, now.leaseToken, result(20));
    assert.is((await s.results.image(task.id))!.image.length, 20);
    assert.equal(await types(task.id), ['created', 'claimed', 'reclaimed', 'claimed', 'completed']);
  });

  test("sweep: attempts used up end ERROR WORKER_LOST; a pending cancel ends CANCELLED; a dead worker's lease expires early", async () => {
    const { s, clock } = subject();
    const { task } = await s.tasks.enqueue({ action: 'create_mosaic', username: 'ann', params: month });
    for (let i = 1; i <= 3; i++) {
      const [c] = await s.tasks.claim('w', 1);
      assert.is(c.attempt, i);
      clock.advance(30_001);
      await s.tasks.sweep();
      clock.advance(3_600_000);
    }
    const lost = (await s.tasks.get(task.id))!;
    assert.equal([lost.status, lost.errorCode], ['ERROR', 'WORKER_LOST']);
    assert.equal((await types(task.id)).slice(-2), ['claimed', 'lost']);

    const b = await s.tasks.enqueue({ action: 'create_mosaic', username: 'bob', params: month });
    await s.tasks.claim('w', 1);
    assert.equal((await s.tasks.cancel(b.task.id))!.task.progressMsg, 'Cancelling…');
    clock.advance(30_001);
    assert.equal(
      (await s.tasks.sweep()).map((t) => t.status),
      ['CANCELLED'],
    );

    const c = await s.tasks.enqueue({ action: 'create_mosaic', username: 'cat', params: month });
    await s.workers.beat('dead', 1, clock.now());
    await s.workers.beat('alive', 2, clock.now());
    const [dc] = await s.tasks.claim('dead', 1);
    clock.advance(20_000);
    await s.workers.beat('alive', 2, clock.now());
    assert.equal(await s.tasks.sweep(60_000), [], 'not dead yet by a 60 s rule');
    const swept = await s.tasks.sweep(15_000);
    assert.equal(
      swept.map((t) => [t.id, t.status]),
      [[c.task.id, 'QUEUED']],
      'lease still 10 s from expiry, but its worker is gone',
    );
    assert.is(dc.id, c.task.id);
  });

  test('cancel: queued ends at once; running is flagged, seen by heartbeat/progress/check, finished by the worker; again: same answer', async () => {
    const { s } = subject();
    const q = await s.tasks.enqueue({ action: 'create_mosaic', username: 'ann', params: month });
    const qc = (await s.tasks.cancel(q.task.id))!;
    assert.equal([qc.finished, qc.task.status, qc.task.errorCode], [false, 'CANCELLED', 'CANCELLED']);
    assert.equal((await s.tasks.cancel(q.task.id))!.finished, true, 'finished: the caller says 409');
    assert.is(await s.tasks.cancel('no-such-task'), undefined);

    const r = await s.tasks.enqueue({ action: 'create_mosaic', username: 'bob', params: month });
    const [c] = await s.tasks.claim('w', 1);
    assert.is(await s.tasks.isCancelRequested(c.id), false);
    const rc = (await s.tasks.cancel(r.task.id))!;
    assert.equal([rc.finished, rc.task.status], [false, 'RUNNING']);
    assert.is(await s.tasks.isCancelRequested(c.id), true);
    assert.equal(await s.tasks.heartbeat(c.id, c.leaseToken), { cancelRequested: true });
    assert.equal(await s.tasks.progress(c.id, c.leaseToken, 'downloading', 1, 2, 'x'), { cancelRequested: true });
    const again = (await s.tasks.cancel(r.task.id))!;
    assert.equal([again.finished, again.task.status], [false, 'RUNNING']);
    assert.is((await s.tasks.finishCancelled(c.id, c.leaseToken)).status, 'CANCELLED');
    assert.equal(await types(r.task.id), ['created', 'claimed', 'cancel_requested', 'progress', 'cancelled']);
  });

  test('cancel races: a cancel and a completion at once, from two handles, end COMPLETE or CANCELLED consistently, never both', async () => {
    const { s } = subject();
    const other = await subject().another();
    for (let i = 0; i < 6; i++) {
      const { task } = await s.tasks.enqueue({ action: 'create_mosaic', username: `u${i}`, params: month });
      const [c] = await s.tasks.claim('w', 1);
      const [done, cancel] = await Promise.allSettled([s.tasks.complete(c.id, c.leaseToken, result(10)), other.tasks.cancel(task.id)]);
      assert.is(done.status, 'fulfilled', 'a cancel of a running task only asks: the completion stands');
      assert.is(cancel.status, 'fulfilled');
      const end = (await s.tasks.get(task.id))!;
      assert.is(end.status, 'COMPLETE');
      const t = await types(task.id);
      assert.is(t[t.length - 1] === 'completed' || t[t.length - 1] === 'cancel_requested', true);
      assert.is(t.filter((x) => x === 'completed').length, 1);
      // A queued task cancelled while a worker claims it: either the claim or the cancel wins, never both.
      const q = await s.tasks.enqueue({ action: 'create_mosaic', username: `q${i}`, params: recent });
      const [claimed, cancelled] = await Promise.all([other.tasks.claim('w2', 1), s.tasks.cancel(q.task.id)]);
      const status = (await s.tasks.get(q.task.id))!.status;
      if (claimed.length) assert.equal([status, cancelled!.task.status], ['RUNNING', 'RUNNING']);
      else assert.is(status, 'CANCELLED');
      if (claimed.length) await other.tasks.finishCancelled(claimed[0].id, claimed[0].leaseToken);
    }
  });

  test('dedupe: the live twin, a fresh complete result, one refresh a minute (refreshIn), staleBefore, requestedAt', async () => {
    const { s, clock } = subject();
    const a = await s.tasks.enqueue({ action: 'create_mosaic', username: 'dave', params: month });
    const b = await s.tasks.enqueue({ action: 'create_mosaic', username: 'dave', params: { ...month } });
    assert.equal([b.deduped, b.task.id], [true, a.task.id]);
    const other = await s.tasks.enqueue({ action: 'create_mosaic', username: 'dave', params: recent });
    assert.is.not(other.task.id, a.task.id);
    const [c] = await s.tasks.claim('w', 1);
    await s.tasks.complete(c.id, c.leaseToken, result(10));
    const fresh = await s.tasks.enqueue({ action: 'create_mosaic', username: 'dave', params: month });
    assert.equal([fresh.deduped, fresh.task.id, fresh.task.status], [true, a.task.id, 'COMPLETE']);
    clock.advance(30_000);
    const tooSoon = await s.tasks.enqueue({ action: 'create_mosaic', username: 'dave', params: month, refresh: true });
    assert.equal([tooSoon.deduped, tooSoon.task.id, tooSoon.refreshIn], [true, a.task.id, 30_000]);
    const arrived = clock.now();
    clock.advance(30_000);
    const refreshed = await s.tasks.enqueue({
      action: 'create_mosaic',
      username: 'dave',
      params: month,
      refresh: true,
      requestedAt: clock.now(),
    });
    assert.equal([refreshed.deduped, refreshed.task.status], [false, 'QUEUED']);
    const r = (await s.tasks.claim('w', 5)).find((x) => x.id === refreshed.task.id)!;
    assert.ok(r);
    clock.advance(5);
    await s.tasks.complete(r.id, r.leaseToken, result(10));
    const crowd = await s.tasks.enqueue({ action: 'create_mosaic', username: 'dave', params: month, refresh: true, requestedAt: arrived });
    assert.equal([crowd.deduped, crowd.task.id], [true, refreshed.task.id], 'a refresh that arrived before the new result takes it');
    const stale = await s.tasks.enqueue({ action: 'create_mosaic', username: 'dave', params: month, staleBefore: clock.now() + 1 });
    assert.equal([stale.deduped, stale.task.status], [false, 'QUEUED'], 'results before staleBefore are not fresh');
  });

  test('dedupe races: 16 enqueues of one request from two handles at once make one task, with one created event', async () => {
    const { s } = subject();
    const other = await subject().another();
    const outs = await Promise.all(
      Array.from({ length: 16 }, (_, i) => (i % 2 ? other : s).tasks.enqueue({ action: 'create_mosaic', username: 'race', params: month })),
    );
    assert.is(new Set(outs.map((o) => o.task.id)).size, 1);
    assert.is(outs.filter((o) => !o.deduped).length, 1);
    assert.equal(await types(outs[0].task.id), ['created']);
    const keyed = await Promise.all(
      Array.from({ length: 8 }, (_, i) => (i % 2 ? other : s).tasks.enqueueKeyed('make_renditions', 'race', { id: 'r1' }, 'r1')),
    );
    assert.is(new Set(keyed.map((o) => o.task.id)).size, 1);
    assert.is(keyed.filter((o) => !o.deduped).length, 1);
  });

  test('claims: never one task to two claimers; oldest run_at first, ties in insertion order; queuedIds is claim order', async () => {
    const { s, clock } = subject();
    const other = await subject().another();
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push((await s.tasks.enqueue({ action: 'create_mosaic', username: `u${i}`, params: month })).task.id);
    assert.equal(await s.tasks.queuedIds(), ids, 'same millisecond: insertion order');
    assert.equal(await s.tasks.counts(), { queued: 12, running: 0 });
    const batches = await Promise.all([s.tasks.claim('a', 4), other.tasks.claim('b', 4), s.tasks.claim('c', 4), other.tasks.claim('d', 4)]);
    const claimed = batches.flat().map((c) => c.id);
    assert.is(claimed.length, 12);
    assert.is(new Set(claimed).size, 12);
    assert.equal(await s.tasks.counts(), { queued: 0, running: 12 });
    assert.equal(await s.tasks.claim('e', 4), []);
    clock.advance(1);
    const later = (await s.tasks.enqueue({ action: 'create_mosaic', username: 'later', params: month })).task.id;
    clock.advance(1);
    const last = (await s.tasks.enqueue({ action: 'create_mosaic', username: 'last', params: month })).task.id;
    assert.equal(await s.tasks.queuedIds(), [later, last], 'claim order; the running ones are not queued');
    const one = await s.tasks.claim('f', 1);
    assert.equal(
      one.map((c) => c.id),
      [later],
    );
    const two = await s.tasks.claim('f', 5);
    assert.equal(
      two.map((c) => c.id),
      [last],
    );
  });

  test('requesters and caps: per client and whole queue; joining a live twin is allowed; the last to withdraw cancels', async () => {
    const { s } = subject();
    const limits = { perClient: 2, max: 3 };
    const as = (clientKey: string, cancelToken: string) => ({ requester: { clientKey, cancelToken }, limits });
    const a = await s.tasks.enqueue({ action: 'create_mosaic', username: 'ann', params: month, ...as('c1', 't1') });
    await s.tasks.enqueue({ action: 'create_mosaic', username: 'bob', params: month, ...as('c1', 't2') });
    const over = await rejection(
      s.tasks.enqueue({ action: 'create_mosaic', username: 'cat', params: month, ...as('c1', 't3') }),
      'per client',
    );
    assert.instance(over, QueueLimitError);
    assert.equal([(over as QueueLimitError).limit, (over as QueueLimitError).count, (over as QueueLimitError).cap], ['client', 2, 2]);
    const joined = await s.tasks.enqueue({ action: 'create_mosaic', username: 'ann', params: month, ...as('c2', 't4') });
    assert.equal([joined.deduped, joined.task.id], [true, a.task.id]);
    await s.tasks.enqueue({ action: 'create_mosaic', username: 'dan', params: month, ...as('c3', 't5') });
    const full = await rejection(s.tasks.enqueue({ action: 'create_mosaic', username: 'eve', params: month, ...as('c4', 't6') }), 'queue');
    assert.equal([(full as QueueLimitError).limit, (full as QueueLimitError).count], ['queue', 3]);
    const joinFull = await s.tasks.enqueue({ action: 'create_mosaic', username: 'ann', params: month, ...as('c4', 't7') });
    assert.is(joinFull.task.id, a.task.id, 'a full queue still lets a request join its live twin');
    assert.is(
      await s.tasks.enqueue({ action: 'other_action', username: 'eve', params: month, ...as('c4', 't8') }).then((o) => o.deduped),
      false,
      'the caps count the enqueued action only',
    );

    assert.equal(await s.tasks.withdraw(a.task.id, 'wrong'), { kind: 'forbidden' });
    assert.is(await s.tasks.withdraw('no-such-task', 't1'), undefined);
    assert.is((await s.tasks.withdraw(a.task.id, 't1'))!.kind, 'left');
    assert.is((await s.tasks.withdraw(a.task.id, 't4'))!.kind, 'left');
    const last = (await s.tasks.withdraw(a.task.id, 't7'))!;
    assert.equal([last.kind, last.kind !== 'forbidden' && last.task.status], ['cancelled', 'CANCELLED']);
    assert.is((await s.tasks.withdraw(a.task.id, 't1'))!.kind, 'finished');
    // The withdrawn share no longer counts toward c1's cap.
    assert.is(
      (
        await s.tasks.enqueue({
          action: 'create_mosaic',
          username: 'cat',
          params: month,
          requester: { clientKey: 'c1', cancelToken: 't9' },
          limits: { perClient: 2, max: 10 },
        })
      ).deduped,
      false,
    );
  });

  test('withdraw races: two last requesters withdrawing at once from two handles cancel the task exactly once', async () => {
    const { s } = subject();
    const other = await subject().another();
    for (let i = 0; i < 4; i++) {
      const a = await s.tasks.enqueue({
        action: 'create_mosaic',
        username: `u${i}`,
        params: month,
        requester: { clientKey: 'c1', cancelToken: `x${i}` },
      });
      await s.tasks.enqueue({
        action: 'create_mosaic',
        username: `u${i}`,
        params: month,
        requester: { clientKey: 'c2', cancelToken: `y${i}` },
      });
      if (i % 2) await s.tasks.claim('w', 1);
      const outs = await Promise.all([s.tasks.withdraw(a.task.id, `x${i}`), other.tasks.withdraw(a.task.id, `y${i}`)]);
      assert.equal(outs.map((o) => o!.kind).sort(), ['cancelled', 'left']);
      const t = await types(a.task.id);
      assert.is(t.filter((x) => x === 'cancelled' || x === 'cancel_requested').length, 1);
      if (i % 2) {
        const row = (await s.tasks.get(a.task.id))!;
        assert.is(row.status, 'RUNNING');
        assert.ok(await s.tasks.isCancelRequested(a.task.id));
      }
    }
  });

  test('background tasks: schedule once per member, keyed twins, claimed after mosaics, out of positions and counts, pruned', async () => {
    const { s, clock } = subject();
    const poll = (await s.tasks.schedule(POLL, 'ann', clock.now()))!;
    assert.is(poll.status, 'QUEUED');
    assert.is(await s.tasks.schedule(POLL, 'ann', clock.now() + 5), null, 'one live poll per member');
    const keyed = await s.tasks.enqueueKeyed('make_renditions', 'ann', { id: 'r1' }, 'r1');
    assert.equal([keyed.deduped, JSON.parse(JSON.stringify(keyed.task.params))], [false, { id: 'r1' }]);
    assert.equal((await s.tasks.enqueueKeyed('make_renditions', 'ann', { id: 'r1' }, 'r1')).task.id, keyed.task.id);
    clock.advance(1);
    const m = await s.tasks.enqueue({ action: 'create_mosaic', username: 'bob', params: month });
    assert.equal(await s.tasks.queuedIds(), [m.task.id]);
    assert.equal(await s.tasks.counts(), { queued: 1, running: 0 });
    const [first] = await s.tasks.claim('w', 1);
    assert.is(first.id, m.task.id, 'the mosaic first, though the poll is older');
    const rest = await s.tasks.claim('w', 5);
    assert.equal(
      rest.map((c) => c.id),
      [poll.id, keyed.task.id],
    );
    assert.equal(await s.tasks.counts(), { queued: 0, running: 3 }, 'a running background task holds a worker slot');
    const future = await s.tasks.schedule(POLL, 'cat', clock.now() + 60_000);
    assert.equal(await s.tasks.claim('w', 5), [], 'not before its time');
    for (const c of [first, ...rest]) await s.tasks.complete(c.id, c.leaseToken);
    assert.ok(await s.tasks.schedule(POLL, 'ann', clock.now() + 1), 'a finished poll makes room for the next');
    clock.advance(2 * 86_400_000);
    assert.is(await s.tasks.pruneBackground(clock.now() - 86_400_000), 2, 'finished polls and keyed tasks; live ones stay');
    assert.is(await s.tasks.get(poll.id), undefined);
    assert.ok(await s.tasks.get(future!.id));
    assert.ok(await s.tasks.get(m.task.id), 'foreground tasks are not background-pruned');
  });

  test('raw tasks: malformed params are stored as given and show {}; the worker fails them', async () => {
    const { s } = subject();
    const t = await s.tasks.enqueueRaw('create_mosaic', 'bob', '{not json');
    assert.equal(t.params, {});
    const [c] = await s.tasks.claim('w', 1);
    assert.is(c.paramsJson, '{not json');
    assert.is((await s.tasks.fail(c.id, c.leaseToken, 'INVALID_REQUEST', 'bad params')).status, 'ERROR');
  });

  test('group commit: each completion stands alone; results and writes commit with it; the claim follows', async () => {
    const { s, clock } = subject();
    for (const u of ['ann', 'bob', 'cat', 'dan']) {
      await s.tasks.enqueue({ action: 'create_mosaic', username: u, params: month });
      clock.advance(1);
    }
    const [x, y, z] = await s.tasks.claim('w1', 3);
    const runAt = clock.now() + 3_600_000;
    const out = await s.tasks.completeAndClaim(
      [
        {
          id: x.id,
          leaseToken: x.leaseToken,
          result: result(50),
          writes: [{ kind: 'follow', username: 'ann', maxMembers: 10, poll: { action: POLL, runAt } }],
        },
        {
          id: y.id,
          leaseToken: 'not-the-token',
          result: result(60),
          writes: [{ kind: 'follow', username: 'bob', maxMembers: 10, poll: { action: POLL, runAt } }],
        },
        { id: z.id, leaseToken: z.leaseToken, msg: 'Nothing to do' },
      ],
      'w1',
      2,
    );
    assert.is(out.errors[0], undefined);
    assert.instance(out.errors[1], LeaseLostError);
    assert.is(out.errors[2], undefined);
    assert.equal(
      out.claimed.map((t) => t.username),
      ['dan'],
    );
    assert.is((await s.tasks.get(z.id))!.progressMsg, 'Nothing to do');
    assert.ok(await s.results.image(x.id));
    assert.is(await s.results.image(y.id), undefined);
    assert.is(await s.archive.isFollowed('ann'), true);
    assert.is(await s.archive.isFollowed('bob'), false, 'the lost completion applied none of its writes');
    assert.is((await s.tasks.get(y.id))!.status, 'RUNNING');
    const completed = (await s.feed.listAfter(0))
      .filter((e) => e.type === 'completed' || e.type === 'claimed')
      .map((e) => `${e.type}:${e.task.username}`);
    assert.equal(completed.slice(-3), ['completed:ann', 'completed:cat', 'claimed:dan'], 'completions precede the claim in the feed');

    // A poll's outcome is kept only while the member is followed, with the next poll scheduled.
    clock.advance(runAt - clock.now());
    const polls = (await s.tasks.claim('w2', 5)).filter((t) => t.action === POLL);
    assert.equal(
      polls.map((p) => p.username),
      ['ann'],
    );
    const kept = await s.tasks.completeAndClaim(
      [
        {
          id: polls[0].id,
          leaseToken: polls[0].leaseToken,
          writes: [
            {
              kind: 'keepFeed',
              username: 'ann',
              window: { entries: feedEntries(3), completeAfter: null },
              maxMembers: 10,
              poll: { action: POLL, runAt: runAt + 1000 },
            },
          ],
        },
      ],
      'w2',
      0,
    );
    assert.equal(kept.errors, [undefined]);
    assert.is((await s.archive.load('ann')).entries.length, 3);
    assert.is(await s.tasks.schedule(POLL, 'ann', runAt + 5000), null, 'the next poll is already scheduled');
    // Unfollowed meanwhile: the outcome is dropped and the chain ends.
    clock.advance(1000);
    const [next] = (await s.tasks.claim('w2', 5)).filter((t) => t.action === POLL);
    assert.is(await s.archive.forget('ann'), true);
    const dropped = await s.tasks.completeAndClaim(
      [
        {
          id: next.id,
          leaseToken: next.leaseToken,
          writes: [
            {
              kind: 'keepFeed',
              username: 'ann',
              window: { entries: [], completeAfter: null },
              maxMembers: 10,
              poll: { action: POLL, runAt: runAt + 9000 },
            },
          ],
        },
      ],
      'w2',
      0,
    );
    assert.equal(dropped.errors, [undefined]);
    assert.is(await s.archive.isFollowed('ann'), false);
    assert.equal((await s.archive.load('ann')).entries, []);
    assert.ok(await s.tasks.schedule(POLL, 'ann', runAt + 9000), 'no poll was scheduled for an unfollowed member');
  });
};
