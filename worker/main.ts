/**
 * The worker process: the only place its side effects are wired (config from the environment, the
 * database, the HTTP client, signals). `runWorker` is exported so a test entry can run the same
 * process with test actions; started directly, this file runs the production actions.
 *
 * The worker/ folder owns running the queue's actions (common/actions.ts names them): the generic loop
 * (loop.ts, loop/) that claims, heartbeats and finishes tasks, the transport to the outside
 * (http.ts, http/; upstreams.ts builds Letterboxd, posters and TMDB on it), where films come from
 * (sources/), posters (posters/), drawing (compose/) and the actions themselves (createMosaic.ts,
 * pollFeed.ts, makeRenditions.ts). It touches the database only through the storage port
 * (db/port.ts), which this file opens (db/openStorage.ts: SQLite in DATA_DIR, or PostgreSQL by DATABASE_URL) and hands down; SQLite's own care
 * (checkpoints) stays here. The one exception is the poster cache's entries (db/sqlite/posterCache.ts):
 * they describe files on this host's disk, so they stay local to each worker host by design and are
 * wired here, outside the port. It shares nothing with the server but common/ and the database.
 */
import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig, ConfigError, type Config } from '../common/config.js';
import { createLogger, type Logger } from '../common/log.js';
import { systemClock } from '../common/clock.js';
import { checkpointIfDue, openDb, restrictDataDir, WORKER_DB_OPTIONS, type Db } from '../db/sqlite/open.js';
import { openStorage, SQLITE_FILE } from '../db/openStorage.js';
import type { ArchiveWindow, Storage } from '../db/port.js';
import { createWorkerLoop, type Action } from './loop.js';
import { createPosterCacheStore } from '../db/sqlite/posterCache.js';
import { createHttp } from './upstreams.js';
import { createPosterCache, createTmdb, fetchPosters } from './posters/index.js';
import { collectFilms, readFeed } from './sources/index.js';
import { composeMosaic, configureSharp, warmUpText } from './compose/compose.js';
import { createMosaicAction } from './createMosaic.js';
import { makeRenditionsAction } from './makeRenditions.js';
import { makeRenditions } from './compose/renditions.js';
import { ACTIONS } from '../common/actions.js';
import { plannedTileSize } from './compose/layout.js';
import { createPollAction, keepPolls, nextPollAt } from './pollFeed.js';

export interface WorkerWiring {
  config: Readonly<Config>;
  /** Storage through the port: what the actions read and write. */
  storage: Storage;
  /** The SQLite file itself, for what stays local to this host (the poster cache's entries). */
  db: Db;
  log: Logger;
}

export type ActionsFactory = (wiring: WorkerWiring) => Record<string, Action>;

const DAY = 86_400_000;
/** With PostgreSQL as the storage: the local SQLite file that holds this host's poster cache entries. */
const POSTER_CACHE_DB = 'poster-cache.db';

/** The production actions: `create_mosaic` bound to the real HTTP client, poster cache and sharp. */
export const createProductionActions: ActionsFactory = ({ config, storage, db, log }) => {
  configureSharp();
  void warmUpText().catch((err) => log.warn('font warm-up failed', { error: String(err) }));
  const tmdbConfig = config.tmdbApiKey ? { apiUrl: config.tmdbUrl, imageUrl: config.tmdbImageUrl, apiKey: config.tmdbApiKey } : null;
  const http = createHttp(
    {
      letterboxdUrl: config.letterboxdUrl,
      imageHosts: config.imageHosts,
      spacingMs: config.spacingMs,
      userAgent: config.letterboxdUserAgent ?? undefined,
      tmdb: tmdbConfig,
    },
    { clock: systemClock, log },
  );
  const tmdb = tmdbConfig ? createTmdb({ http, store: storage.posters, clock: systemClock, log }) : null;
  if (tmdbConfig) log.info('TMDB is a poster source', { api: tmdbConfig.apiUrl, images: tmdbConfig.imageUrl });
  const { imports, posters: posterUrls } = storage;
  const pollMs = config.feedPollHours * 3_600_000;
  const archive = {
    record: async (username: string, feed: ArchiveWindow) =>
      void (await storage.archive.recordWindow(username, feed, systemClock.now(), config.followMax)),
    load: (username: string) => storage.archive.load(username),
  };
  const cache = createPosterCache({
    dir: join(resolve(config.dataDir), 'posters'),
    // Local to this host by design (the entries describe files on its disk): SQLite, outside the port.
    store: createPosterCacheStore(db),
    budgetBytes: config.posterCacheMb * 1024 * 1024,
  });
  return {
    [ACTIONS.createMosaic]: createMosaicAction({
      tileWidth: config.tileWidth,
      tmdbEnabled: tmdb !== null,
      collect: (username, params, ctx) =>
        collectFilms({ http, posterUrls, imports, archive, tmdb: tmdb?.session() ?? null, clock: systemClock, ...ctx }, username, params),
      fetchPosters: (films, tileWidth, ctx) =>
        fetchPosters({ http, cache, tmdbImageUrl: tmdbConfig?.imageUrl ?? null, ...ctx }, films, tileWidth),
      compose: (request) => composeMosaic(request),
      renditions: makeRenditions,
      plannedTileWidth: (request) => plannedTileSize(request).width,
      // A completed mosaic follows its member: their feed is polled from now on (FEED_POLL_HOURS).
      completed:
        pollMs > 0
          ? (username) => ({
              kind: 'follow',
              username,
              maxMembers: config.followMax,
              poll: { action: ACTIONS.pollFeed, runAt: nextPollAt(systemClock.now(), pollMs) },
            })
          : undefined,
    }),
    [ACTIONS.pollFeed]: createPollAction({
      readFeed: (username, ctx) => readFeed({ http, ...ctx }, username, true),
      archive: storage.archive,
      clock: systemClock,
      intervalMs: pollMs,
      maxMembers: config.followMax,
    }),
    [ACTIONS.makeRenditions]: makeRenditionsAction({
      image: async (id) => (await storage.results.image(id))?.image,
      render: makeRenditions,
      store: (id, list) => storage.results.insertRenditions(id, list, systemClock.now()),
    }),
  };
};

export async function runWorker(makeActions: ActionsFactory, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  process.title = 'moviemosaic-worker';
  let config: Readonly<Config>;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const workerId = `${process.pid}-${randomUUID().slice(0, 8)}`;
  const log = createLogger(config.logLevel, { proc: 'worker', workerId });
  if (!restrictDataDir(resolve(config.dataDir))) {
    log.warn('DATA_DIR could not be made private (0700); other local accounts may read it', { dataDir: config.dataDir });
  }
  const clock = systemClock;
  // DATABASE_URL unset: the SQLite file in DATA_DIR; postgres://…: PostgreSQL (db/openStorage.ts). The
  // completing transaction stores the new result with what it pushes out of RESULTS_MB.
  const dbLabel = config.databaseUrl ? 'postgresql (DATABASE_URL)' : join(resolve(config.dataDir), SQLITE_FILE);
  let storage: Awaited<ReturnType<typeof openStorage>>;
  try {
    storage = await openStorage({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      sqlite: WORKER_DB_OPTIONS,
      resultFreshMs: config.resultFreshSec * 1000,
      leaseMs: config.leaseMs,
      resultsBudgetBytes: config.resultsMb * 1024 * 1024,
      onEvicted: (evicted) => log.info('evicted over RESULTS_MB', { ...evicted }),
      clock,
    });
  } catch (err) {
    console.error(`The database could not be opened (${dbLabel}): ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  }
  // The poster cache's entries describe files on this host's disk, so they stay on this host: in the
  // shared SQLite file when that is the storage, else in a SQLite file of their own beside the cache.
  const db: Db = storage.kind === 'sqlite' ? storage.db : openDb(join(resolve(config.dataDir), POSTER_CACHE_DB), WORKER_DB_OPTIONS);
  const { tasks, workers } = storage;

  const loop = createWorkerLoop({
    tasks,
    isBusy: storage.isBusy,
    actions: makeActions({ config, storage, db, log }),
    workerId,
    concurrency: config.workerConcurrency,
    clock,
    log,
    heartbeatMs: Math.floor(config.leaseMs / 6),
    cancelCheckMs: Math.min(1000, Math.floor(config.leaseMs / 6)),
  });

  // Signal handlers before this worker registers: a test (or a supervisor) that sees the registration may
  // stop it at once, and a SIGTERM with no handler would kill the process instead of stopping it.
  const stopSignal = new AbortController();
  let signals = 0;
  const onSignal = (sig: string) => {
    signals++;
    if (signals === 1) {
      log.info('stopping: no new tasks; finishing or releasing running ones', { signal: sig });
      stopSignal.abort();
    } else {
      log.warn('second signal: exiting now', { signal: sig });
      loop.abortAll();
      process.exit(130);
    }
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));

  await workers.beat(workerId, process.pid, clock.now());
  log.info('worker started', { pid: process.pid, db: dbLabel, concurrency: config.workerConcurrency });

  // Housekeeping: heartbeat this worker, sweep expired leases, prune old events and results, keep the
  // followed members' polls going.
  let lastPrune = 0;
  let lastPollCare = 0;
  const housekeepingMs = Math.min(5000, Math.floor(config.leaseMs / 3));
  const housekeepingOnce = async () => {
    const now = clock.now();
    await workers.beat(workerId, process.pid, now);
    checkpointIfDue(db); // SQLite's own care, not the port's
    for (const t of await tasks.sweep(Math.max(config.leaseMs / 2, 3 * housekeepingMs)))
      log.warn('swept expired lease', { taskId: t.id, status: t.status });
    if (now - lastPollCare > 60_000) {
      lastPollCare = now;
      const kept = await keepPolls({ archive: storage.archive, tasks, clock, intervalMs: config.feedPollHours * 3_600_000 });
      if (kept.expired.length || kept.restarted.length) log.info('feed polls', kept);
    }
    if (now - lastPrune > 3_600_000) {
      lastPrune = now;
      await workers.removeStale(now - DAY);
      const events = await storage.feed.prune(now - 7 * DAY);
      const resultsPruned = (await storage.results.prune(now - 30 * DAY)) + (await tasks.pruneBackground(now - DAY));
      await storage.budget.enforce(); // RESULTS_MB lowered since the last start
      if (events || resultsPruned) log.info('pruned', { events, results: resultsPruned });
    }
  };
  // One round at a time: a round slower than the interval is not overlapped by the next.
  let housekeepingBusy = false;
  const housekeeping = setInterval(() => {
    if (housekeepingBusy) return;
    housekeepingBusy = true;
    housekeepingOnce()
      .catch((err: unknown) => log.error('housekeeping failed', { error: String(err) }))
      .finally(() => (housekeepingBusy = false));
  }, housekeepingMs);

  // Claim loop: a cheap read (no write lock) every 25 ms while idle; claim only when something is runnable.
  while (!stopSignal.signal.aborted) {
    try {
      await loop.runOnce();
    } catch (err) {
      log.error('claim failed', { error: String(err) });
    }
    await clock.sleep(25, stopSignal.signal).catch(() => {});
  }
  await loop.stop(Number(env.WORKER_GRACE_MS ?? 10_000));
  clearInterval(housekeeping);
  await workers.remove(workerId);
  await storage.close();
  if (storage.kind !== 'sqlite') db.close();
  log.info('worker stopped');
  process.exit(0);
}

const isEntry = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isEntry) {
  runWorker(createProductionActions).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
