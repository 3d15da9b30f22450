/**
 * Feed polls benchmark: `npm run bench -- poll`.
 *
 * 100 followed members whose polls are all due at once, run by one worker loop (WORKER_CONCURRENCY 2)
 * through the real queue, HTTP client and SQLite file against the fake Letterboxd, at the default
 * spacing (LETTERBOXD_SPACING_MS=1000). Reports the requests made (must be 100: one per member) and the
 * wall time, against the least the spacing allows (99 gaps); and how long a mosaic's feed request
 * arriving in the middle of the polls waited for its turn (mosaics go ahead of polls: at most one
 * spacing).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDb } from '../db/sqlite/open.js';
import { createTaskStore } from '../db/sqlite/tasks.js';
import { createSqliteStorage } from '../db/sqlite/index.js';
import { createArchiveStore } from '../db/sqlite/archive.js';
import { createWorkerLoop } from '../worker/loop.js';
import { createHttp } from '../worker/upstreams.js';
import { readFeed } from '../worker/sources/rss.js';
import { createPollAction, POLL_ACTION } from '../worker/pollFeed.js';
import { systemClock } from '../common/clock.js';
import { silentLogger } from '../common/log.js';
import { film, startFakeLetterboxd, viewing, type FakeMember } from '../test/helpers/fakeLetterboxd.js';
import { tmpDir } from '../test/helpers/tmp.js';
import { report } from './report.js';

const MEMBERS = 100;
const SPACING_MS = 1000; // the default LETTERBOXD_SPACING_MS

export async function benchPoll(): Promise<void> {
  const now = new Date();
  const members: FakeMember[] = Array.from({ length: MEMBERS }, (_, m) => ({
    username: `member${m}`,
    displayName: `Member ${m}`,
    diary: Array.from({ length: 20 }, (_, i) => viewing(film(`Film ${m}-${i}`, 2000 + i), new Date(now.getTime() - (i + 1) * 86_400_000))),
    films: [],
    lists: [],
  }));
  members.push({ username: 'visitor', displayName: 'Visitor', diary: [], films: [], lists: [] });
  const lb = await startFakeLetterboxd({ now, members });
  const tmp = tmpDir('mm-bench-poll-');
  const db = openDb(join(tmp.dir, 'moviemosaic.db'));
  const tasks = createTaskStore(db);
  const storage = createSqliteStorage(db);
  const archive = createArchiveStore(db);
  const http = createHttp({ letterboxdUrl: lb.url, imageHosts: [lb.imageHost], spacingMs: SPACING_MS });
  try {
    const t = systemClock.now();
    for (const m of members.slice(0, MEMBERS)) {
      archive.follow(m.username, t, 200);
      tasks.schedule(POLL_ACTION, m.username, t);
    }
    const loop = createWorkerLoop({
      tasks: storage.tasks,
      isBusy: storage.isBusy,
      actions: {
        [POLL_ACTION]: createPollAction({
          readFeed: (u, ctx) => readFeed({ http, ...ctx }, u, true),
          archive: storage.archive,
          clock: systemClock,
          intervalMs: 6 * 3_600_000,
          maxMembers: 200,
        }),
      },
      workerId: 'bench',
      concurrency: 2,
      clock: systemClock,
      log: silentLogger,
    });

    const t0 = performance.now();
    // Halfway through, a mosaic reads a feed: it must not wait behind the remaining polls.
    let mosaicWait = NaN;
    const visitor = new Promise<void>((resolve) =>
      setTimeout(
        async () => {
          const asked = performance.now();
          await http.page('/visitor/rss/', { signal: new AbortController().signal, kind: 'feed' });
          mosaicWait = performance.now() - asked;
          resolve();
        },
        (MEMBERS / 2) * SPACING_MS,
      ),
    );
    await loop.runUntilIdle();
    const wall = performance.now() - t0;
    await visitor;

    const requests = lb.requests.filter((r) => r.path.endsWith('/rss/') && r.path !== '/visitor/rss/').length;
    const kept = db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM archive_entries`).get()!.n;
    const next = db.prepare<[string], { n: number }>(`SELECT count(*) AS n FROM tasks WHERE action = ? AND live = 1`).get(POLL_ACTION)!.n;
    const floor = (MEMBERS - 1) * SPACING_MS;
    report(
      `poll of ${MEMBERS} followed members: feed requests`,
      `${requests}`,
      requests === MEMBERS ? 'one per member' : `EXPECTED ${MEMBERS}`,
    );
    report('  entries kept / next polls scheduled', `${kept} / ${next}`);
    report(
      `  wall time at ${SPACING_MS} ms spacing`,
      `${(wall / 1000).toFixed(1)} s`,
      `${(wall / floor).toFixed(3)}x the spacing's floor of ${(floor / 1000).toFixed(0)} s`,
    );
    report(
      "  a mosaic's feed request during the polls waited",
      `${Math.round(mosaicWait)} ms`,
      `${(mosaicWait / SPACING_MS).toFixed(2)}x one spacing`,
    );
  } finally {
    http.close();
    db.close();
    tmp.cleanup();
    await lb.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchPoll();
