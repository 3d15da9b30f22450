/** Shared wiring for the collection tests: a clock whose sleeps return at once, and the deps bags. */
import type { Clock } from '../../common/clock.js';
import type { Stage } from '../../common/task.js';
import { openDb, type Db } from '../../db/sqlite/open.js';
import { createSqliteStorage, type SqliteStorage } from '../../db/sqlite/index.js';
import { createPosterStore, type PosterStore } from '../../db/sqlite/posters.js';
import { createHttp, type Http, type HttpConfig } from '../../worker/upstreams.js';
import { createPosterCache, type PosterCache } from '../../worker/posters/cache.js';
import type { CollectDeps } from '../../worker/sources/types.js';
import type { FakeLetterboxd } from '../helpers/fakeLetterboxd.js';

/** A clock whose sleeps resolve at once but move `now()` and are recorded, so backoff costs no time. */
export interface InstantClock extends Clock {
  slept: number[];
}

export function instantClock(start = Date.UTC(2026, 10, 15, 12)): InstantClock {
  let now = start;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    async sleep(ms, signal) {
      if (signal?.aborted) throw signal.reason;
      slept.push(ms);
      now += ms;
    },
  };
}

export interface ProgressCall {
  stage: Stage;
  done: number | null;
  total: number | null;
  msg: string;
}

export interface Rig {
  http: Http;
  db: Db;
  store: PosterStore;
  /** The storage port over `db`, as the worker's collection uses it. */
  storage: SqliteStorage;
  cache: PosterCache;
  clock: InstantClock;
  progress: ProgressCall[];
  collectDeps(signal?: AbortSignal): CollectDeps;
  close(): void;
}

/** An HTTP client pointed at the fake, a real migrated database, and a poster cache in `dir`. */
export function rig(lb: FakeLetterboxd, dir: string, config: Partial<HttpConfig> = {}, db: Db = openDb(':memory:')): Rig {
  const clock = instantClock();
  const http = createHttp({ letterboxdUrl: lb.url, imageHosts: [lb.imageHost], spacingMs: 0, ...config }, { clock });
  const store = createPosterStore(db);
  // Collection works through the port, as in the worker; `store` reads under it for the tests.
  const storage = createSqliteStorage(db, { clock });
  const cache = createPosterCache({ dir, store, budgetBytes: 50 * 1024 * 1024, clock });
  const progress: ProgressCall[] = [];
  return {
    http,
    db,
    store,
    storage,
    cache,
    clock,
    progress,
    collectDeps: (signal = new AbortController().signal) => ({
      http,
      posterUrls: storage.posters,
      signal,
      clock,
      progress: (stage, done, total, msg) => progress.push({ stage, done, total, msg }),
    }),
    close() {
      http.close();
      db.close();
    },
  };
}
