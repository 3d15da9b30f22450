/**
 * Feed polls through the real queue, worker loop, HTTP client and SQLite file, against the fake
 * Letterboxd, on an injected clock: the schedule, the archive a sequence of polls builds, mosaics
 * ahead of polls, and a worker lost mid-poll.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { openDb, type Db } from '../../db/sqlite/open.js';
import { createTaskStore, type TaskStore } from '../../db/sqlite/tasks.js';
import { createSqliteStorage } from '../../db/sqlite/index.js';
import { createArchiveStore, type ArchiveStore } from '../../db/sqlite/archive.js';
import { createWorkerLoop } from '../../worker/loop.js';
import { createHttp, type Http } from '../../worker/upstreams.js';
import { readFeed, type Feed } from '../../worker/sources/rss.js';
import { createPollAction, keepPolls, POLL_ACTION } from '../../worker/pollFeed.js';
import { silentLogger } from '../../common/log.js';
import { fakeClock, type FakeClock } from '../helpers/fakeClock.js';
import { film, startFakeLetterboxd, viewing, type FakeLetterboxd, type FakeMember } from '../helpers/fakeLetterboxd.js';
import { tmpDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/processes.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 2, 3, 12, 0, 0); // 3 March 2026, noon UTC

/** A member with `n` viewings, one a day at noon UTC up to the day before `until`, logged an hour later. */
function diary(n: number, until: number, titlePrefix: string) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const watched = new Date(until - (n - i) * 24 * HOUR);
    const f = film(`${titlePrefix} ${i + 1}`, 2000 + (i % 20));
    out.push(viewing(f, watched, { publishedAt: new Date(watched.getTime() + HOUR) }));
  }
  return out;
}

interface World {
  lb: FakeLetterboxd;
  db: Db;
  clock: FakeClock;
  tasks: TaskStore;
  archive: ArchiveStore;
  http: Http;
  member: FakeMember;
  makeLoop(db: Db, gate?: Promise<void>): ReturnType<typeof createWorkerLoop>;
  cleanup(): Promise<void>;
}

async function world(): Promise<World> {
  const member: FakeMember = { username: 'ann', displayName: 'Ann', diary: diary(30, T0, 'Early'), films: [], lists: [] };
  const lb = await startFakeLetterboxd({ now: new Date(T0), members: [member] });
  const t = tmpDir();
  const path = join(t.dir, 'm.db');
  const db = openDb(path);
  const clock = fakeClock(T0);
  const tasks = createTaskStore(db, { clock, leaseMs: 10_000, random: () => 0.5 });
  const archive = createArchiveStore(db);
  const http = createHttp({ letterboxdUrl: lb.url, imageHosts: [lb.imageHost], spacingMs: 0 });
  const others: Db[] = [];
  return {
    lb,
    db,
    clock,
    tasks,
    archive,
    http,
    member,
    makeLoop(onDb: Db, gate?: Promise<void>) {
      if (onDb !== db) others.push(onDb);
      // The loop and the action work through the port, as in the worker process.
      const storage = createSqliteStorage(onDb, { clock, leaseMs: 10_000, random: () => 0.5 });
      const read = (username: string, ctx: { progress: never; signal: AbortSignal }): Promise<Feed> =>
        readFeed({ http, ...ctx }, username, true);
      return createWorkerLoop({
        tasks: storage.tasks,
        isBusy: storage.isBusy,
        actions: {
          [POLL_ACTION]: createPollAction({
            readFeed: async (u, ctx) => {
              const feed = await read(u, ctx as never);
              if (gate) await gate; // the feed is read; the worker has not committed yet
              return feed;
            },
            archive: storage.archive,
            clock,
            intervalMs: 6 * HOUR,
            maxMembers: 200,
            random: () => 0.5,
          }),
          noop: async () => {},
        },
        workerId: onDb === db ? 'w1' : 'w2',
        concurrency: 2,
        clock,
        log: silentLogger,
        cancelCheckMs: 10,
      });
    },
    async cleanup() {
      http.close();
      for (const d of others) if (d.open) d.close();
      db.close();
      t.cleanup();
      await lb.close();
    },
  };
}

function livePolls(db: Db): { run_at: number }[] {
  return db.prepare(`SELECT run_at FROM tasks WHERE action = ? AND live = 1`).all(POLL_ACTION) as { run_at: number }[];
}

test('polls run at their time, one request each, and schedule the next; the archive follows the diary', async () => {
  const w = await world();
  const loop = w.makeLoop(w.db);
  w.archive.follow('ann', T0, 200);
  w.tasks.schedule(POLL_ACTION, 'ann', T0 + 6 * HOUR);

  await loop.runUntilIdle();
  assert.is(w.lb.count('/ann/rss/'), 0, 'not due yet');

  w.clock.set(T0 + 6 * HOUR);
  await loop.runUntilIdle();
  assert.is(w.lb.count('/ann/rss/'), 1, 'one request for the poll');
  assert.equal(
    livePolls(w.db).map((p) => p.run_at),
    [T0 + 12 * HOUR],
    'the next poll, 6 hours on (jitter at its middle)',
  );
  let summary = w.archive.summary('ann');
  assert.is(summary.entries, 30);
  assert.ok(summary.wholeDiary, 'a feed of 30 holds the whole diary');

  // Between polls Ann logs 25 more and deletes one of the newest kept entries.
  const deleted = w.member.diary.splice(28, 1)[0];
  w.member.diary.push(...diary(25, T0 + 12 * HOUR, 'Later').map((v, i) => ({ ...v, publishedAt: new Date(T0 + 7 * HOUR + i * 60_000) })));
  w.clock.set(T0 + 12 * HOUR);
  await loop.runUntilIdle();
  assert.is(w.lb.count('/ann/rss/'), 2);
  summary = w.archive.summary('ann');
  assert.is(summary.entries, 29 + 25, 'the deleted entry is gone, the new ones kept');
  assert.not.ok(w.archive.load('ann').entries.some((e) => e.viewingId === String(deleted.viewingId)));
  assert.ok(summary.wholeDiary, 'the windows overlapped: still the whole diary');
  assert.equal(summary.gaps, []);

  // Polls are invisible to people: though one is queued, no queue position (not among the queued ids)
  // and not in the queued count.
  const [poll] = w.db.prepare(`SELECT id FROM tasks WHERE action = ? AND live = 1`).all(POLL_ACTION) as { id: string }[];
  assert.ok(poll, 'the next poll is queued');
  assert.is(w.tasks.counts().queued, 0);
  assert.equal(w.tasks.queuedIds(), []);
  await w.cleanup();
});

test('a poll that misses more than a feed holds marks a gap; history since the new window', async () => {
  const w = await world();
  const loop = w.makeLoop(w.db);
  w.archive.follow('ann', T0, 200);
  w.tasks.schedule(POLL_ACTION, 'ann', T0);
  await loop.runUntilIdle();
  // 60 entries logged before the next poll: the feed's 50 share nothing with the archive.
  w.member.diary.push(...diary(60, T0 + 70 * 24 * HOUR, 'Binge'));
  w.clock.set(T0 + 70 * 24 * HOUR);
  w.tasks.schedule(POLL_ACTION, 'ann', T0); // already live: no second poll
  assert.is(livePolls(w.db).length, 1);
  await loop.runUntilIdle();
  const summary = w.archive.summary('ann');
  assert.not.ok(summary.wholeDiary);
  assert.is(summary.gaps.length, 1);
  assert.is(summary.gaps[0].from, '2026-03-03', 'from the day of the last overlapping read');
  assert.ok(summary.historySince! > summary.gaps[0].to);
  await w.cleanup();
});

test('due mosaics are claimed before due polls', async () => {
  const w = await world();
  w.archive.follow('ann', T0, 200);
  w.tasks.schedule(POLL_ACTION, 'ann', T0 - HOUR);
  const mosaic = w.tasks.enqueueRaw('noop', 'bob', '{}');
  const [first, second] = w.tasks.claim('w1', 1).concat(w.tasks.claim('w1', 1));
  assert.is(first.id, mosaic.id, 'the mosaic, though the poll was due an hour earlier');
  assert.is(second.action, POLL_ACTION);
  await w.cleanup();
});

test('a worker lost mid-poll: another completes it; entries kept once, one poll chain', async () => {
  const w = await world();
  w.archive.follow('ann', T0, 200);
  w.tasks.schedule(POLL_ACTION, 'ann', T0);
  // Worker A, on its own connection, reads the feed but never gets to commit: its connection dies.
  const dbA = openDb(w.db.name);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const loopA = w.makeLoop(dbA, gate);
  assert.is(await loopA.runOnce(), 1);
  await waitFor(() => w.lb.requests.some((r) => r.path === '/ann/rss/' && r.status === 200), 5000, 'worker A to read the feed');
  dbA.close();
  release();
  await waitFor(() => loopA.runningCount() === 0, 5000, 'worker A to drop the task');
  assert.is(w.archive.summary('ann').entries, 0, 'nothing was kept by the lost worker');
  assert.is(w.lb.count('/ann/rss/'), 1);

  // Its lease runs out; the sweep hands the poll back (an attempt spent) and worker B runs it.
  w.clock.advance(11_000);
  assert.is(w.tasks.sweep().length, 1);
  w.clock.advance(60_000);
  const loopB = w.makeLoop(w.db);
  await loopB.runUntilIdle();
  const entries = w.db.prepare(`SELECT viewing_id, count(*) AS n FROM archive_entries GROUP BY viewing_id HAVING n > 1`).all();
  assert.equal(entries, [], 'no entry twice');
  assert.is(w.archive.summary('ann').entries, 30);
  const polls = w.db.prepare(`SELECT status, attempt FROM tasks WHERE action = ? ORDER BY created_at`).all(POLL_ACTION) as {
    status: string;
    attempt: number;
  }[];
  assert.equal(
    polls.map((p) => p.status),
    ['COMPLETE', 'QUEUED'],
    'the lost poll completed once and scheduled one successor',
  );
  assert.is(polls[0].attempt, 2);
  await w.cleanup();
});

test('housekeeping restarts a broken chain, drops members unused for 90 days, and stops with FEED_POLL_HOURS=0', async () => {
  const w = await world();
  w.archive.follow('ann', T0, 200);
  w.archive.follow('bob', T0 - 91 * 24 * HOUR, 200);
  const storage = createSqliteStorage(w.db, { clock: w.clock });
  let kept = await keepPolls({ archive: storage.archive, tasks: storage.tasks, clock: w.clock, intervalMs: 6 * HOUR, random: () => 0.5 });
  assert.equal(kept, { expired: ['bob'], restarted: ['ann'] });
  assert.equal(
    livePolls(w.db).map((p) => p.run_at),
    [T0 + 6 * HOUR],
  );
  kept = await keepPolls({ archive: storage.archive, tasks: storage.tasks, clock: w.clock, intervalMs: 6 * HOUR });
  assert.equal(kept, { expired: [], restarted: [] }, 'a live poll is left alone');
  await w.cleanup();
});

test('following keeps at most the cap, dropping members not followed first, then the least recently used', async () => {
  const w = await world();
  const empty = { entries: [], completeAfter: null };
  w.archive.recordWindow('zed', empty, T0 + 5);
  w.archive.follow('ann', T0, 2);
  w.archive.follow('bob', T0 + 1, 2);
  assert.not.ok(w.archive.summary('zed').entries || w.archive.load('zed').coverage.length, 'zed (not followed) dropped first');
  assert.equal(w.archive.follow('cat', T0 + 2, 2), ['ann']);
  assert.ok(w.archive.isFollowed('bob') && w.archive.isFollowed('cat'));
  // A member whose feed is being kept right now is never the one dropped, followed or not.
  w.archive.recordWindow('dan', empty, T0 + 3, 2);
  assert.ok(w.archive.load('dan').coverage.length === 1 && w.archive.isFollowed('cat') && !w.archive.isFollowed('bob'));
  assert.ok(w.archive.forget('cat'));
  assert.not.ok(w.archive.isFollowed('cat'));
  await w.cleanup();
});

test.run();
