/**
 * The change feed on a real PostgreSQL cluster: 8 writers whose commits are deliberately delayed
 * (and so would commit out of seq order), readers polling meanwhile, and NOTIFY wake-ups.
 */
import * as assert from 'uvu/assert';
import { openPostgres, type PostgresStorage } from '../../../db/postgres/index.js';
import type { TaskEvent } from '../../../db/sqlite/events.js';
import { pgSuite, startPostgres } from '../../helpers/postgres.js';

const cluster = await startPostgres('test/db/postgres/feed.test.ts');
const url = cluster?.createDatabase('feed');
const test = pgSuite('postgres feed', cluster);

let s: PostgresStorage;
test.before(async () => {
  s = await openPostgres(url!);
  // The delay: at COMMIT, after the event has drawn its seq (this deferred trigger is queued by the
  // event's own insert, so it fires after mm_task_event), a writer named wI-… sleeps (8 - I) × 25 ms
  // before its commit completes. Started together, the writers would commit in reverse seq order.
  await s.pool.query(`
    CREATE FUNCTION test_delay_commit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.payload->>'username' ~ '^w[0-9]' THEN
        PERFORM pg_sleep((8 - substr(NEW.payload->>'username', 2, 1)::int) * 0.025);
      END IF;
      RETURN NULL;
    END $$;
    CREATE CONSTRAINT TRIGGER test_delay_commit AFTER INSERT ON task_events
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_delay_commit();`);
});
test.after(async () => {
  await s?.close();
  cluster?.stop();
});

/**
 * Runs `rounds` rounds of 8 concurrent writers (one connection pool each) while one reader polls
 * the feed as fast as it can, another watches through NOTIFY, and a naive reader polls "seq >
 * cursor" straight from the table (what the feed must not do). Returns what each saw and what the
 * table holds at the end.
 */
async function scenario(rounds: number) {
  const start = await s.feed.maxSeq();
  const polled: TaskEvent[] = [];
  const watched: TaskEvent[] = [];
  const watch = await s.feed.watch((batch) => watched.push(...batch), { after: start, safetyPollMs: 60_000 });
  let writing = true;
  const naive: number[] = [];
  const naiveReader = (async () => {
    let cursor = start;
    while (writing) {
      const { rows } = await s.pool.query<{ seq: number }>(`SELECT seq FROM task_events WHERE seq > $1 ORDER BY seq`, [cursor]);
      if (rows.length) cursor = rows[rows.length - 1].seq;
      naive.push(...rows.map((r) => r.seq));
    }
  })();
  const poller = (async () => {
    let cursor = start;
    while (writing) {
      const batch = await s.feed.listAfter(cursor);
      if (batch.length) cursor = batch[batch.length - 1].seq;
      polled.push(...batch);
    }
  })();
  const writers = await Promise.all(Array.from({ length: 8 }, () => openPostgres(url!)));
  try {
    for (let r = 0; r < rounds; r++) {
      await Promise.all(writers.map((w, i) => w.tasks.enqueueRaw('noop', `w${i + 1}-${r}`, '{}')));
    }
  } finally {
    writing = false;
    await poller;
    await naiveReader;
    await Promise.all(writers.map((w) => w.close()));
  }
  const all = await s.feed.listAfter(start, 10_000);
  // The watcher is woken by the last commit's NOTIFY: wait for that, not for a guessed time.
  await new Promise<void>((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error('the watcher never caught up')), 10_000);
    const check = () => (watch.cursor() >= all[all.length - 1].seq ? (clearTimeout(deadline), resolve()) : setTimeout(check, 5));
    check();
  });
  await watch.close();
  // A last poll, so the poller has read to the end too.
  const tailCursor = polled.length ? polled[polled.length - 1].seq : start;
  polled.push(...(await s.feed.listAfter(tailCursor)));
  return {
    polled: polled.map((e) => e.seq),
    watched: watched.map((e) => e.seq),
    naive,
    all: all.map((e) => e.seq),
    count: all.length,
  };
}

test('8 writers with delayed commits: a reader polling meanwhile, and a NOTIFY watcher, miss and reorder nothing', async () => {
  const r = await scenario(3);
  assert.is(r.count, 24);
  assert.equal(r.polled, r.all, 'the polling reader saw every event, in seq order');
  assert.equal(r.watched, r.all, 'the watcher saw every event, in seq order');
  assert.equal(
    r.all,
    [...r.all].sort((a, b) => a - b),
  );
});

test('the writers do commit out of seq order: a naive "seq > cursor" reader misses events where the feed misses none (the test has teeth)', async () => {
  let missed = false;
  // Up to 5 tries: the writers start together, so some seq is drawn before a later-committing one.
  for (let i = 0; i < 5 && !missed; i++) {
    const r = await scenario(1);
    assert.equal(r.polled, r.all, 'the feed reader saw every event, in seq order');
    assert.equal(r.watched, r.all, 'the watcher saw every event, in seq order');
    missed = r.naive.length < r.all.length;
  }
  assert.ok(missed, 'a reader taking seq > cursor from the table steps over late commits');
});

test('watch: a NOTIFY from a committed change wakes the watcher well before its safety poll', async () => {
  const got: TaskEvent[] = [];
  let wake!: () => void;
  const woken = new Promise<void>((r) => (wake = r));
  const watch = await s.feed.watch(
    (batch) => {
      got.push(...batch);
      wake();
    },
    { safetyPollMs: 60_000 },
  );
  const t = await s.tasks.enqueueRaw('noop', 'notify-me', '{}');
  await woken; // a 60 s safety poll cannot be what woke it within the test's time
  await watch.close();
  assert.equal(
    got.map((e) => [e.taskId, e.type]),
    [[t.id, 'created']],
  );
});

test('watch resumes after a cursor: replay then live, nothing repeated', async () => {
  const a = await s.tasks.enqueueRaw('noop', 'replay-a', '{}');
  const cursor = (await s.feed.latestForTask(a.id))!.seq;
  const b = await s.tasks.enqueueRaw('noop', 'replay-b', '{}');
  const got: TaskEvent[] = [];
  const watch = await s.feed.watch((batch) => got.push(...batch), { after: cursor - 1, safetyPollMs: 60_000 });
  assert.equal(
    got.map((e) => e.taskId),
    [a.id, b.id],
    'replayed from the cursor on start',
  );
  const c = await s.tasks.enqueueRaw('noop', 'replay-c', '{}');
  await new Promise<void>((resolve) => {
    const check = () => (got.length >= 3 ? resolve() : setTimeout(check, 5));
    check();
  });
  await watch.close();
  assert.equal(
    got.map((e) => e.taskId),
    [a.id, b.id, c.id],
  );
});

/** Resolves once `watch` has delivered `seq` (fails after 10 s: the safety polls here are a minute). */
function reached(watch: { cursor(): number }, seq: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`the watcher never reached seq ${seq}`)), 10_000);
    const check = () => (watch.cursor() >= seq ? (clearTimeout(deadline), resolve()) : setImmediate(check));
    check();
  });
}

test('hot events (claims, progress, completions) notify after their commit, outside the transaction: the watcher wakes for the last of a burst', async () => {
  const worker = await openPostgres(url!);
  try {
    for (let i = 0; i < 12; i++) await s.tasks.enqueueRaw('noop', `burst-${i}`, '{}');
    const watch = await s.feed.watch(() => {}, { safetyPollMs: 60_000 });
    try {
      // Twelve claims, a progress write each and twelve completions, each burst all at once: none of
      // them notifies inside its transaction (the trigger leaves hot events to the procedures).
      const claimed = await Promise.all(Array.from({ length: 12 }, () => worker.tasks.claim('burst', 1)));
      const tasks = claimed.flat();
      assert.is(tasks.length, 12);
      await Promise.all(tasks.map((t, i) => worker.tasks.progress(t.id, t.leaseToken, 'downloading', i, 12, 'p')));
      await Promise.all(tasks.map((t) => worker.tasks.complete(t.id, t.leaseToken)));
      const last = (await s.feed.latestForTask(tasks[tasks.length - 1].id))!;
      assert.is(last.type, 'completed', 'no event after the burst but hot ones');
      await reached(watch, await s.feed.maxSeq());
    } finally {
      await watch.close();
    }
  } finally {
    await worker.close();
  }
});

test('a hole that will never fill (a seq drawn and not committed) holds readers only while transactions older than it run', async () => {
  const a = await s.tasks.enqueueRaw('noop', 'hole-a', '{}');
  const before = (await s.feed.latestForTask(a.id))!.seq;
  // Another transaction with an xid stays open over the hole's first sighting.
  const other = await s.pool.connect();
  try {
    await other.query('BEGIN');
    await other.query('SELECT pg_current_xact_id()');
    await s.pool.query(`SELECT nextval('task_events_seq')`); // the hole: drawn, never written
    const b = await s.tasks.enqueueRaw('noop', 'hole-b', '{}');
    assert.equal(await s.feed.listAfter(before), [], 'a transaction that may hold the missing seq is still running');
    assert.is(await s.feed.maxSeq(), before, 'a new reader starts below the hole');
    await other.query('COMMIT');
    const after = await s.feed.listAfter(before);
    assert.equal(
      after.map((e) => e.taskId),
      [b.id],
      'once every transaction running at its sighting has ended, the hole is dead and stepped over',
    );
    assert.is(await s.feed.maxSeq(), after[0].seq);
  } finally {
    other.release();
  }
});

test.run();
