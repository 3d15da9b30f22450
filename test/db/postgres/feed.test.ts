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
 * "seq > cursor" as fast as it can and another watches through NOTIFY. Returns what each saw and
 * what the table holds at the end.
 */
async function scenario(rounds: number) {
  const start = await s.feed.maxSeq();
  const polled: TaskEvent[] = [];
  const watched: TaskEvent[] = [];
  const watch = await s.feed.watch((batch) => watched.push(...batch), { after: start, safetyPollMs: 60_000 });
  let writing = true;
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
  return { polled: polled.map((e) => e.seq), watched: watched.map((e) => e.seq), all: all.map((e) => e.seq), count: all.length };
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

test('the same writers without the feed lock do commit out of order, and the polling reader misses events (the test has teeth)', async () => {
  const { rows } = await s.pool.query<{ def: string }>(`SELECT pg_get_functiondef('mm_task_event'::regproc) AS def`);
  const original = rows[0].def;
  const naive = original.replace(/PERFORM pg_advisory_xact_lock\(\d+\);/, '');
  assert.is.not(naive, original, 'found the lock to take out');
  await s.pool.query(naive);
  try {
    let missed = false;
    // Up to 5 tries: the writers start together, so some seq is drawn before a later-committing one.
    for (let i = 0; i < 5 && !missed; i++) {
      const r = await scenario(1);
      missed = r.polled.length < r.all.length || r.polled.join() !== r.all.join();
    }
    assert.ok(missed, 'without the lock, a reader taking seq > cursor steps over late commits');
  } finally {
    await s.pool.query(original);
  }
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

test.run();
