/**
 * The storage port over SQLite (db/sqlite/index.ts), on a real file built from the real migrations:
 * every method of every store is called at least once through the port (the last test checks it),
 * with the outcomes today's synchronous stores give.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openDb } from '../../../db/sqlite/open.js';
import { createSqliteStorage, type SqliteStorage } from '../../../db/sqlite/index.js';
import { LeaseLostError, QueueLimitError, type Eviction, type TaskEvent } from '../../../db/port.js';
import type { FeedEntry } from '../../../worker/sources/parseRss.js';
import { dedupeKey } from '../../../common/task.js';
import { fakeClock, type FakeClock } from '../../helpers/fakeClock.js';
import { tmpDir } from '../../helpers/tmp.js';
import { month, POLL, recent, result } from '../conformance/subject.js';

/** Every `store.method` called through the port, across all tests. */
const called = new Set<string>();
function recorded(s: SqliteStorage): SqliteStorage {
  const wrap = <T extends object>(obj: T, prefix: string): T =>
    new Proxy(obj, {
      get(target, key, receiver) {
        const v = Reflect.get(target, key, receiver) as unknown;
        if (typeof v === 'function' && typeof key === 'string') {
          return (...args: unknown[]) => {
            called.add(`${prefix}${key}`);
            return (v as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        if (v && typeof v === 'object' && typeof key === 'string' && !prefix && key !== 'db') return wrap(v, `${key}.`);
        return v;
      },
    });
  return wrap(s, '');
}
/** The methods the port's SQLite adapter has: each must be in `called` by the end. */
function methodsOf(s: SqliteStorage): string[] {
  const out: string[] = [];
  for (const [group, value] of Object.entries(s)) {
    if (typeof value === 'function') out.push(group);
    else if (value && typeof value === 'object' && group !== 'db') {
      for (const [name, fn] of Object.entries(value)) if (typeof fn === 'function') out.push(`${group}.${name}`);
    }
  }
  return out.sort();
}

let ctx: { s: SqliteStorage; raw: SqliteStorage; clock: FakeClock; evictions: Eviction[]; cleanup(): Promise<void> };

test.before.each(() => {
  const t = tmpDir();
  const clock = fakeClock();
  const evictions: Eviction[] = [];
  const raw = createSqliteStorage(openDb(join(t.dir, 'port.db')), {
    clock,
    random: () => 0.5,
    leaseMs: 30_000,
    resultsBudgetBytes: 10_000,
    feedIntervalMs: 2,
    onEvicted: (e) => void evictions.push(e),
  });
  ctx = {
    s: recorded(raw),
    raw,
    clock,
    evictions,
    cleanup: async () => {
      await raw.close();
      t.cleanup();
    },
  };
});
test.after.each(() => ctx.cleanup());

const feedEntries = (n: number): FeedEntry[] =>
  Array.from({ length: n }, (_, i) => ({
    viewingId: String(9_000 + i),
    title: `Archived film ${i}`,
    year: 2000 + i,
    rating: 3,
    watchedDate: `2026-11-${String(1 + i).padStart(2, '0')}`,
    rewatch: false,
    liked: false,
    slug: `archived-film-${i}`,
    posterUrl: `https://a.ltrbxd.com/resized/film-poster/${i}.jpg`,
    posterMissing: false,
    tmdbMovieId: null,
    tmdbTvId: null,
    publishedDay: `2026-11-${String(1 + i).padStart(2, '0')}`,
    publishedAt: Date.UTC(2026, 10, 1 + i, 22),
  }));

test('queue: enqueue with requesters and caps, claim, heartbeat, progress, complete with its result; reads agree', async () => {
  const { tasks, results, feed } = ctx.s;
  const limits = { perClient: 2, max: 10 };
  const a = await tasks.enqueue({
    action: 'create_mosaic',
    username: 'dave',
    params: month,
    requester: { clientKey: 'c1', cancelToken: 't1' },
    limits,
  });
  assert.is(a.deduped, false);
  const twin = await tasks.enqueue({
    action: 'create_mosaic',
    username: 'dave',
    params: month,
    requester: { clientKey: 'c2', cancelToken: 't2' },
    limits,
  });
  assert.is(twin.task.id, a.task.id);
  ctx.clock.advance(1); // a later request: behind `a` in the queue (same-millisecond ties go by random id)
  await tasks.enqueue({
    action: 'create_mosaic',
    username: 'dave',
    params: recent,
    requester: { clientKey: 'c1', cancelToken: 't3' },
    limits,
  });
  const over = await tasks
    .enqueue({ action: 'create_mosaic', username: 'eve', params: month, requester: { clientKey: 'c1', cancelToken: 't4' }, limits })
    .then(
      () => null,
      (err: unknown) => err,
    );
  assert.instance(over, QueueLimitError);
  assert.is((await tasks.queuedIds())[0], a.task.id);
  assert.is((await tasks.queuedIds()).length, 2);
  assert.equal(await tasks.counts(), { queued: 2, running: 0 });
  assert.ok(await tasks.hasRunnable());

  const [c] = await tasks.claim('w1', 1);
  assert.is(c.id, a.task.id);
  assert.equal(await tasks.heartbeat(c.id, c.leaseToken), { cancelRequested: false });
  assert.equal(await tasks.progress(c.id, c.leaseToken, 'downloading', 1, 2, 'Downloading posters: 1 of 2'), { cancelRequested: false });
  assert.is(await tasks.isCancelRequested(c.id), false);
  await tasks.complete(c.id, c.leaseToken, result(100), 'Done');
  assert.is((await tasks.get(c.id))!.status, 'COMPLETE');
  assert.is((await results.image(c.id))!.image.length, 100);
  assert.is((await results.summary(c.id))!.films.length, 2);
  assert.equal(
    (await feed.listTaskAfter(c.id, 0)).map((e) => e.type),
    ['created', 'claimed', 'progress', 'completed'],
  );
  const lost = await tasks.complete(c.id, c.leaseToken).then(
    () => null,
    (err: unknown) => err,
  );
  assert.instance(lost, LeaseLostError);
});

test('queue: group commit completes each task alone (a lost lease undoes only its own), applies its writes, claims the next', async () => {
  const { tasks, archive } = ctx.s;
  for (const u of ['ann', 'bob', 'cat']) {
    await tasks.enqueue({ action: 'create_mosaic', username: u, params: month });
    ctx.clock.advance(1);
  }
  const [x, y] = await tasks.claim('w1', 2);
  const runAt = ctx.clock.now() + 3_600_000;
  const out = await tasks.completeAndClaim(
    [
      {
        id: x.id,
        leaseToken: x.leaseToken,
        result: result(50),
        writes: [{ kind: 'follow', username: x.username, maxMembers: 10, poll: { action: POLL, runAt } }],
      },
      { id: y.id, leaseToken: 'not-the-token' },
    ],
    'w1',
    2,
  );
  assert.is(out.errors[0], undefined);
  assert.instance(out.errors[1], LeaseLostError);
  assert.equal(
    out.claimed.map((t) => t.username),
    ['cat'],
  );
  assert.ok(await archive.isFollowed(x.username));
  assert.is((await tasks.get(y.id))!.status, 'RUNNING');

  // A poll's outcome: kept only while the member is followed, with the next poll scheduled.
  ctx.clock.advance(runAt - ctx.clock.now());
  const polls = await tasks.claim('w2', 5);
  const poll = polls.find((t) => t.action === POLL)!;
  assert.is(poll.username, x.username);
  const kept = await tasks.completeAndClaim(
    [
      {
        id: poll.id,
        leaseToken: poll.leaseToken,
        writes: [
          {
            kind: 'keepFeed',
            username: x.username,
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
  assert.is((await archive.load(x.username)).entries.length, 3);
  assert.is((await archive.summary(x.username)).entries, 3);
  const again = await tasks.schedule(POLL, x.username, runAt + 5000);
  assert.is(again, null, 'the next poll is already scheduled');
});

test('queue: fail, retryAfter, release, cancel, withdraw, finishCancelled, sweep, keyed and raw tasks, pruning', async () => {
  const { tasks } = ctx.s;
  const a = await tasks.enqueue({
    action: 'create_mosaic',
    username: 'ann',
    params: month,
    requester: { clientKey: 'c1', cancelToken: 'ta' },
  });
  ctx.clock.advance(1);
  const b = await tasks.enqueueRaw('create_mosaic', 'bob', '{not json');
  let [c] = await tasks.claim('w1', 1);
  assert.is((await tasks.fail(c.id, c.leaseToken, 'LETTERBOXD_UNREACHABLE', 'down', true)).status, 'QUEUED');
  ctx.clock.advance(10_000);
  [c] = await tasks.claim('w1', 1);
  assert.is((await tasks.retryAfter(c.id, c.leaseToken, 1000, 'Letterboxd asked us to wait')).status, 'QUEUED');
  ctx.clock.advance(1_000);
  [c] = await tasks.claim('w1', 1);
  assert.is((await tasks.release(c.id, c.leaseToken)).status, 'QUEUED');
  [c] = await tasks.claim('w1', 1);
  assert.equal(await tasks.withdraw(c.id, 'wrong'), { kind: 'forbidden' });
  const w = await tasks.withdraw(c.id, 'ta');
  assert.is(w!.kind, 'cancelled');
  assert.is(await tasks.isCancelRequested(c.id), true);
  assert.is((await tasks.finishCancelled(c.id, c.leaseToken)).status, 'CANCELLED');
  assert.is((await tasks.cancel(a.task.id))!.finished, true);
  assert.is(await tasks.cancel('no-such-task'), undefined);

  const [d] = await tasks.claim('w1', 1);
  assert.is(d.id, b.id);
  ctx.clock.advance(31_000);
  const swept = await tasks.sweep();
  assert.equal(
    swept.map((t) => t.status),
    ['QUEUED'],
  );
  assert.is(
    (await tasks.fail(d.id, d.leaseToken, 'INTERNAL', 'x').then(
      () => null,
      (e: unknown) => e,
    )) instanceof LeaseLostError,
    true,
  );

  const k1 = await tasks.enqueueKeyed('make_renditions', 'ann', { id: 'r1' }, 'r1');
  const k2 = await tasks.enqueueKeyed('make_renditions', 'ann', { id: 'r1' }, 'r1');
  assert.equal([k1.deduped, k2.deduped, k2.task.id === k1.task.id], [false, true, true]);
  const p = await tasks.schedule(POLL, 'ann', ctx.clock.now());
  const [pc] = (await tasks.claim('w1', 5)).filter((t) => t.id === p!.id);
  await tasks.complete(pc.id, pc.leaseToken);
  ctx.clock.advance(2 * 86_400_000);
  assert.is(await tasks.pruneBackground(ctx.clock.now() - 86_400_000), 1);
  assert.is(await tasks.get(p!.id), undefined);
});

test("feed: reads after a cursor, one task's events, the latest, and a watcher on its own connection sees commits", async () => {
  const { tasks, feed } = ctx.s;
  const before = await feed.maxSeq();
  const seen: TaskEvent[] = [];
  let wake!: () => void;
  const arrived = new Promise<void>((resolve) => (wake = resolve));
  const watch = await feed.watch((events) => {
    seen.push(...events);
    if (seen.some((e) => e.type === 'claimed')) wake();
  });
  const a = await tasks.enqueue({ action: 'create_mosaic', username: 'ann', params: month });
  await tasks.claim('w1', 1);
  await arrived;
  assert.equal(
    seen.map((e) => e.type),
    ['created', 'claimed'],
  );
  assert.is(watch.cursor(), await feed.maxSeq());
  await watch.close();
  assert.equal(
    (await feed.listAfter(before)).map((e) => e.seq),
    seen.map((e) => e.seq),
  );
  assert.is((await feed.latestForTask(a.task.id))!.type, 'claimed');
  ctx.clock.advance(8 * 86_400_000);
  await tasks.enqueue({ action: 'create_mosaic', username: 'bob', params: month });
  assert.is(await feed.prune(ctx.clock.now() - 86_400_000), 2);
});

test('results, budget and stable links: renditions, views, owner, lists, RESULTS_MB, pruning', async () => {
  const { tasks, results, budget, links } = ctx.s;
  const made: string[] = [];
  for (const [u, bytes] of [
    ['ann', 4000],
    ['bob', 4000],
    ['cat', 4000],
  ] as const) {
    const { task } = await tasks.enqueue({ action: 'create_mosaic', username: u, params: month });
    const [c] = await tasks.claim('w', 1);
    await tasks.complete(c.id, c.leaseToken, result(bytes));
    made.push(task.id);
    ctx.clock.advance(1000);
  }
  // 12,000 bytes of images against a 10,000-byte budget: the oldest went when the third was stored.
  assert.is(ctx.evictions.length, 1);
  assert.is(await results.image(made[0]), undefined);
  assert.ok((await budget.heldBytes()) <= budget.budgetBytes);
  assert.is((await budget.enforce()).results, 0);
  assert.is(await results.owner(made[1]), 'bob');
  assert.ok((await results.etag(made[1]))!.etag);
  assert.is((await results.listByUser('bob')).length, 1);
  assert.is((await results.listRecent()).length, 2);
  assert.is(await results.rendition(made[1], 'thumb'), undefined);
  await results.insertRenditions(
    made[1],
    [{ kind: 'thumb', image: Buffer.from('t'), contentType: 'image/jpeg', width: 1, height: 1 }],
    ctx.clock.now(),
  );
  assert.is((await results.rendition(made[1], 'thumb'))!.image.toString(), 't');
  assert.ok(await results.renditionEtag(made[1], 'thumb'));
  const state = await links.state(dedupeKey('create_mosaic', 'bob', month));
  assert.equal(state, { complete: { id: made[1], finishedAt: state.complete!.finishedAt }, error: null, liveId: null });
  ctx.clock.advance(2 * 3_600_000);
  await results.markViewed(made[2], ctx.clock.now());
  assert.is(await results.prune(ctx.clock.now() - 3_600_000), 1, "bob's, not viewed since; cat's was just viewed");
  assert.ok(await results.image(made[2]));
});

test('archive, imports, poster knowledge, TMDB matches and workers through the port', async () => {
  const { archive, imports, posters, workers } = ctx.s;
  const now = ctx.clock.now();
  assert.equal(await archive.follow('ann', now, 1), []);
  assert.equal(await archive.follow('bob', now + 1, 1), ['ann'], 'one member at most: the other is dropped');
  const merged = await archive.recordWindow('bob', { entries: feedEntries(2), completeAfter: null }, now + 2);
  assert.ok(merged);
  assert.equal(await archive.unpolled(POLL), [{ username: 'bob', polledAt: now + 2 }]);
  assert.equal(await archive.expire(now), []);
  assert.is(await archive.forget('bob'), true);
  assert.is(await archive.isFollowed('bob'), false);

  const data = { watched: [{ date: '2026-11-01', name: 'Heat', year: 1995, uri: null }], diary: [], ratings: [] };
  const summary = await imports.replace('ann', data, now);
  assert.is(summary.films, 1);
  assert.equal(await imports.summary('ann'), summary);
  assert.is(await imports.importedAt('ann'), now);
  assert.equal((await imports.load('ann'))!.watched, data.watched);

  await posters.rememberPosterUrls(
    [{ slug: 'heat', posterUrl: 'https://a.ltrbxd.com/heat.jpg', source: 'rss', titleKey: 'heat', year: 1995 }],
    now,
  );
  assert.equal([...(await posters.knownPosterUrls(['heat', 'unknown']))], [['heat', 'https://a.ltrbxd.com/heat.jpg']]);
  assert.is((await posters.knownPostersByTitle([{ titleKey: 'heat', yearKey: 1995 }])).size, 1);
  await posters.rememberTitlePosters([{ titleKey: 'ran', yearKey: 1985, slug: null, posterUrl: null, source: 'none' }], now);
  assert.is((await posters.titlePosters([{ titleKey: 'ran', yearKey: 1985 }])).size, 1);
  await posters.rememberTmdbMatch('heat', 1995, null, now);
  assert.ok(await posters.tmdbMatch('heat', 1995));

  await workers.beat('w1', 123, now);
  assert.equal(
    (await workers.live(now - 1)).map((w) => w.id),
    ['w1'],
  );
  assert.is(await workers.removeStale(now - 1), 0);
  await workers.remove('w1');
  assert.equal(await workers.live(0), []);
});

// ---------------------------------------------------------------------------------------------------
// What the server added to the port (issue 15): replays, the pull-style feed poller, the renditions
// check and the busy test.
// ---------------------------------------------------------------------------------------------------

test('feed.replay: unknown task, snapshot without a cursor, replay after one, snapshot once its early events are pruned', async () => {
  const { tasks, feed } = ctx.s;
  assert.is(await feed.replay('00000000-0000-4000-8000-000000000000', 0), null);
  const { task } = await tasks.enqueue({ action: 'create_mosaic', username: 'ann', params: month });
  const [c] = await tasks.claim('w1', 1);
  await tasks.progress(c.id, c.leaseToken, 'downloading', 1, 2, 'Downloading posters: 1 of 2');
  const seqs = (await feed.listTaskAfter(task.id, 0)).map((e) => e.seq);
  assert.equal(await feed.replay(task.id), { kind: 'snapshot', task: (await tasks.get(task.id))!, seq: seqs[2] });
  const all = await feed.replay(task.id, 0);
  assert.is(all!.kind, 'replay');
  assert.equal(all!.kind === 'replay' && all!.events.map((e) => [e.seq, e.type]), [
    [seqs[0], 'created'],
    [seqs[1], 'claimed'],
    [seqs[2], 'progress'],
  ]);
  const tail = await feed.replay(task.id, seqs[1]);
  assert.equal(tail!.kind === 'replay' && tail!.events.map((e) => e.type), ['progress']);
  // A cursor past the task's latest event: a snapshot at that event (nothing to replay, nothing skipped).
  assert.equal((await feed.replay(task.id, seqs[2] + 5))!.kind, 'snapshot');

  // Its first events pruned: a cursor older than what is stored can only get a snapshot.
  ctx.clock.advance(2 * 86_400_000);
  await tasks.heartbeat(c.id, c.leaseToken);
  await tasks.progress(c.id, c.leaseToken, 'downloading', 2, 2, 'Downloading posters: 2 of 2');
  await tasks.progress(c.id, c.leaseToken, 'building', null, null, 'Building the mosaic');
  assert.ok((await feed.prune(ctx.clock.now() - 86_400_000)) >= 3);
  const stored = await feed.listTaskAfter(task.id, 0);
  assert.equal(
    stored.map((e) => e.type),
    ['progress', 'progress'],
    'created, claimed and the first progress pruned',
  );
  assert.equal(await feed.replay(task.id, seqs[0]), { kind: 'snapshot', task: (await tasks.get(task.id))!, seq: stored[1].seq });
  const kept = await feed.replay(task.id, stored[0].seq);
  assert.equal(kept!.kind === 'replay' && kept!.events.map((e) => e.seq), [stored[1].seq]);
});

test("feed.poller: sees another connection's commits, reads nothing while nothing changed, forced reads, closes", async () => {
  const { feed } = ctx.s;
  const poller = await feed.poller({ safetyPollMs: 60_000 });
  assert.equal(await poller.pollOnce(), [], 'nothing committed yet');
  // The storage's own write connection is "another connection" to the poller's read-only one.
  const { task } = await ctx.s.tasks.enqueue({ action: 'create_mosaic', username: 'ann', params: month });
  const first = await poller.pollOnce();
  assert.equal(
    first.map((e) => [e.taskId, e.type]),
    [[task.id, 'created']],
  );
  assert.is(poller.cursor(), first[0].seq);
  assert.equal(await poller.pollOnce(), [], 'data_version unchanged: no read');
  assert.equal(await poller.pollOnce(true), [], 'forced: read, and nothing new');
  await ctx.s.tasks.claim('w', 1);
  assert.equal(
    (await poller.pollOnce()).map((e) => e.type),
    ['claimed'],
  );
  const from = await feed.poller({ after: 0 });
  assert.equal(
    (await from.pollOnce(true)).map((e) => e.type),
    ['created', 'claimed'],
  );
  await poller.close();
  await from.close();
});

test('results.renditionsFailedSince and isBusy', async () => {
  const { tasks, results } = ctx.s;
  const { task } = await tasks.enqueue({ action: 'create_mosaic', username: 'ann', params: month });
  const [c] = await tasks.claim('w', 1);
  await tasks.complete(c.id, c.leaseToken, result(10));
  assert.is(await results.renditionsFailedSince(task.id, 0), false);
  await tasks.enqueueKeyed('make_renditions', 'ann', { of: task.id }, task.id);
  const [r] = await tasks.claim('w', 1);
  const failedAt = ctx.clock.now();
  await tasks.fail(r.id, r.leaseToken, 'INTERNAL', 'sharp could not read it', false);
  assert.is(await results.renditionsFailedSince(task.id, failedAt), true);
  assert.is(await results.renditionsFailedSince(task.id, failedAt + 1), false, 'only failures since then count');

  // Another program holds the write lock: the write's error is "busy", other errors are not.
  const other = openDb(ctx.raw.db.name);
  other.exec('BEGIN IMMEDIATE');
  ctx.raw.db.pragma('busy_timeout = 0');
  const err = await tasks.enqueue({ action: 'create_mosaic', username: 'bob', params: month }).then(
    () => null,
    (e: unknown) => e,
  );
  other.exec('ROLLBACK');
  other.close();
  assert.ok(err, 'the write was refused');
  assert.is(ctx.s.isBusy(err), true);
  assert.is(ctx.s.isBusy(new Error('SQLITE_CORRUPT: database disk image is malformed')), false);
  assert.is(ctx.s.isBusy(undefined), false);
});

test('isBusy: a write refused because another program holds the lock is busy (the worker retries it); other errors are not', async () => {
  // A second program takes the write lock; a storage on the same file with a short busy timeout is refused.
  const holder = new Database(ctx.raw.db.name);
  const short = createSqliteStorage(openDb(ctx.raw.db.name, { busyTimeoutMs: 20 }));
  try {
    const queued = await short.tasks.enqueueRaw('noop', 'dave', '{}');
    holder.prepare('BEGIN IMMEDIATE').run();
    const refused = await short.tasks.claim('w1', 1).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(refused, 'the claim was refused while the lock was held');
    assert.ok(ctx.s.isBusy(refused));
    holder.prepare('ROLLBACK').run();
    assert.equal(
      (await short.tasks.claim('w1', 1)).map((t) => t.id),
      [queued.id],
      'once the lock is free the same write goes through',
    );
    const lost = await short.tasks.heartbeat(queued.id, 'not-the-token').then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.instance(lost, LeaseLostError);
    assert.not.ok(ctx.s.isBusy(lost));
    assert.not.ok(ctx.s.isBusy(new Error('database is locked, said nobody')));
  } finally {
    if (holder.inTransaction) holder.prepare('ROLLBACK').run();
    holder.close();
    await short.close();
  }
});

test('every method of the port was exercised through the SQLite adapter', () => {
  const missing = methodsOf(ctx.raw).filter((m) => !called.has(m) && m !== 'close');
  assert.equal(missing, []);
});

test.run();
