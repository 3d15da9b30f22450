/**
 * Folder db/sqlite/: the SQLite engine, synchronous inside (better-sqlite3). It owns the file's
 * pragmas, migrations and write transactions (open.ts, migrations.ts) and one store per concern
 * (tasks/ for the queue, events and feed, results and budget, imports, archive, poster knowledge and
 * poster cache entries, TMDB matches, workers, stable links), each preparing its statements once over
 * a connection it is handed; it may import common/ and db/port.ts's types, never server/ or worker/
 * code. Nothing here opens a file on its own: the two main.ts files (or tests) open it and wire it.
 *
 * The SQLite adapter behind the storage port (db/port.ts): the synchronous stores of this folder,
 * each call wrapped as a Promise, over one write connection. A call runs to completion before its
 * Promise is returned, so SQLite's transactions stay synchronous inside; the change-feed watcher reads
 * on its own read-only connection, because `PRAGMA data_version` moves only for other connections'
 * commits.
 */
import { isSqliteBusy, openDb, savepoint, writeTx, type Db } from './open.js';
import { createTaskStore, type QueueOptions } from './tasks.js';
import { createEventStore, pruneEvents, type TaskEvent } from './events.js';
import { createFeedReader } from './feed.js';
import { createResultStore, pruneResults, type NewResult } from './results.js';
import { createImportStore } from './imports.js';
import { createPosterKnowledge } from './posterKnowledge.js';
import { createTmdbStore } from './tmdb.js';
import { createWorkerStore } from './workers.js';
import { createArchiveStore, pruneBackgroundTasks } from './archive.js';
import { createBudget, type Eviction } from './budget.js';
import { createLinkStore } from './stableLinks.js';
import { systemClock } from '../../common/clock.js';
import type { ClaimedTask, CompletionWrite, FeedPoller, FeedWatch, Storage, TaskReplay } from '../port.js';

export interface SqliteStorageOptions extends QueueOptions {
  /** RESULTS_MB in bytes, enforced when a result is stored (default: no limit). */
  resultsBudgetBytes?: number;
  /** Told what storing a result pushed out of RESULTS_MB (the worker logs it). */
  onEvicted?(eviction: Eviction, taskId: string): void;
  /** How often the change-feed watcher checks `PRAGMA data_version` (ms; default 10). */
  feedIntervalMs?: number;
}

export interface SqliteStorage extends Storage {
  readonly kind: 'sqlite';
  /** The write connection, for what is SQLite's own (checkpoints) and for tests that look under the port. */
  db: Db;
}

/** Runs a synchronous store call now and hands its outcome over as a Promise (a throw becomes a rejection). */
function now$<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => Promise<R> {
  return (...args) => {
    try {
      return Promise.resolve(fn(...args));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  };
}

export function createSqliteStorage(db: Db, options: SqliteStorageOptions = {}): SqliteStorage {
  const clock = options.clock ?? systemClock;
  const tasks = createTaskStore(db, options);
  const events = createEventStore(db);
  const results = createResultStore(db);
  const imports = createImportStore(db);
  const posters = createPosterKnowledge(db);
  const tmdb = createTmdbStore(db);
  const workers = createWorkerStore(db);
  const archive = createArchiveStore(db);
  const budget = createBudget(db, options.resultsBudgetBytes ?? Infinity);
  const links = createLinkStore(db);
  const watches = new Set<FeedWatch>();
  const added = serverAdditions(db, clock, events, tasks, results);

  /** In the completing transaction: the result, and what it pushes out of RESULTS_MB, commit together. */
  function storeResult(taskId: string, result: NewResult): void {
    results.insert(taskId, result, clock.now());
    const evicted = budget.enforce({ result: taskId });
    if (evicted.results || evicted.imports || evicted.archives) options.onEvicted?.(evicted, taskId);
  }

  function applyWrite(w: CompletionWrite): void {
    const now = clock.now();
    if (w.kind === 'follow') {
      archive.follow(w.username, now, w.maxMembers);
      if (w.poll) tasks.schedule(w.poll.action, w.username, w.poll.runAt);
      return;
    }
    // A member no longer followed (stopped, or evicted meanwhile) ends the poll chain here.
    if (!archive.isFollowed(w.username)) return;
    if (w.window) archive.recordWindow(w.username, w.window, now, w.maxMembers);
    tasks.schedule(w.poll.action, w.username, w.poll.runAt);
  }

  const storage: SqliteStorage = {
    kind: 'sqlite',
    db,
    tasks: {
      enqueue: now$(tasks.enqueue),
      enqueueRaw: now$(tasks.enqueueRaw),
      enqueueKeyed: now$(tasks.enqueueKeyed),
      withdraw: now$(tasks.withdraw),
      schedule: now$(tasks.schedule),
      get: now$(tasks.get),
      claim: now$(tasks.claim),
      heartbeat: now$(tasks.heartbeat),
      progress: now$(tasks.progress),
      complete: now$((id: string, token: string, result?: NewResult, msg?: string) =>
        tasks.complete(id, token, result ? () => storeResult(id, result) : undefined, msg),
      ),
      completeAndClaim: now$((completions, workerId: string, claimN: number) => {
        const errors: (Error | undefined)[] = [];
        let claimed: ClaimedTask[] = [];
        writeTx(db, () => {
          errors.length = 0;
          for (const c of completions) {
            try {
              savepoint(db, () => {
                const writes = c.writes ?? [];
                const store =
                  c.result || writes.length
                    ? () => {
                        if (c.result) storeResult(c.id, c.result);
                        for (const w of writes) applyWrite(w);
                      }
                    : undefined;
                tasks.complete(c.id, c.leaseToken, store, c.msg);
              });
              errors.push(undefined);
            } catch (err) {
              if (isSqliteBusy(err)) throw err; // the whole batch is undone; the caller tries again
              errors.push(err instanceof Error ? err : new Error(String(err)));
            }
          }
          claimed = tasks.claim(workerId, claimN);
        });
        return { errors, claimed };
      }),
      fail: now$(tasks.fail),
      retryAfter: now$(tasks.retryAfter),
      release: now$(tasks.release),
      finishCancelled: now$(tasks.finishCancelled),
      cancel: now$(tasks.cancel),
      sweep: now$(tasks.sweep),
      hasRunnable: now$(tasks.hasRunnable),
      isCancelRequested: now$(tasks.isCancelRequested),
      queuedIds: now$(tasks.queuedIds),
      counts: now$(tasks.counts),
      pruneBackground: now$((olderThan: number, batch?: number) => pruneBackgroundTasks(db, olderThan, batch)),
    },
    workers: {
      beat: now$(workers.beat),
      remove: now$(workers.remove),
      removeStale: now$(workers.removeStale),
      live: now$(workers.live),
    },
    feed: {
      listAfter: now$(events.listAfter),
      listTaskAfter: now$(events.listTaskAfter),
      latestForTask: now$(events.latestForTask),
      maxSeq: now$(events.maxSeq),
      async watch(onEvents: (events: TaskEvent[]) => void, watchOptions: { after?: number; safetyPollMs?: number } = {}) {
        // An in-memory database has no file to open twice: its one connection sees its own writes
        // through the safety poll only.
        const readDb = db.memory ? db : openDb(db.name, { readonly: true });
        const reader = createFeedReader(readDb, { ...watchOptions, clock });
        const timer = setInterval(() => {
          const batch = reader.pollOnce();
          if (batch.length) onEvents(batch);
        }, options.feedIntervalMs ?? 10);
        const watch: FeedWatch = {
          cursor: () => reader.cursor(),
          async close() {
            clearInterval(timer);
            watches.delete(watch);
            if (readDb !== db) readDb.close();
          },
        };
        watches.add(watch);
        return watch;
      },
      prune: now$((olderThan: number, batch?: number) => pruneEvents(db, olderThan, batch)),
      replay: added.replay,
      poller: added.poller,
    },
    results: {
      image: now$(results.image),
      etag: now$(results.etag),
      summary: now$(results.summary),
      listByUser: now$(results.listByUser),
      listRecent: now$(results.listRecent),
      owner: now$(results.owner),
      markViewed: now$(results.markViewed),
      renditionEtag: now$(results.renditionEtag),
      rendition: now$(results.rendition),
      insertRenditions: now$(results.insertRenditions),
      prune: now$((notViewedSince: number, batch?: number) => pruneResults(db, notViewedSince, batch)),
      renditionsFailedSince: added.renditionsFailedSince,
    },
    budget: {
      budgetBytes: budget.budgetBytes,
      heldBytes: now$(budget.heldBytes),
      enforce: now$((keep) => writeTx(db, () => budget.enforce(keep))),
    },
    links: { state: now$(links.state) },
    archive: {
      recordWindow: now$(archive.recordWindow),
      load: now$(archive.load),
      isFollowed: now$(archive.isFollowed),
      follow: now$(archive.follow),
      forget: now$(archive.forget),
      expire: now$(archive.expire),
      unpolled: now$(archive.unpolled),
      summary: now$(archive.summary),
    },
    imports: {
      replace: (username, data, at) => imports.replace(username, data, at),
      summary: now$(imports.summary),
      importedAt: now$(imports.importedAt),
      load: now$(imports.load),
    },
    posters: {
      knownPosterUrls: now$(posters.knownPosterUrls),
      rememberPosterUrls: now$(posters.rememberPosterUrls),
      knownPostersByTitle: now$(posters.knownPostersByTitle),
      titlePosters: now$(posters.titlePosters),
      rememberTitlePosters: now$(posters.rememberTitlePosters),
      tmdbMatch: now$(tmdb.match),
      rememberTmdbMatch: now$(tmdb.rememberMatch),
    },
    isBusy: isSqliteBusy,
    async close() {
      for (const w of [...watches]) await w.close();
      for (const p of [...added.pollers]) await p.close();
      db.close();
    },
  };
  return storage;
}

// ---------------------------------------------------------------------------------------------------
// Added for the server's move onto the port (issue 15, server side): consistent replays, a pull-style
// feed reader, and the renditions check.
// ---------------------------------------------------------------------------------------------------

function serverAdditions(
  db: Db,
  clock: { now(): number },
  events: ReturnType<typeof createEventStore>,
  tasks: ReturnType<typeof createTaskStore>,
  results: ReturnType<typeof createResultStore>,
) {
  const pollers = new Set<FeedPoller>();

  /** The replay rule of ChangeFeed.replay, over whatever connection it is handed. */
  function readReplay(taskId: string, after: number | undefined): TaskReplay | null {
    const task = tasks.get(taskId);
    if (!task) return null;
    const latest = events.latestForTask(taskId);
    if (after !== undefined && latest && after <= latest.seq) {
      const first = events.listTaskAfter(taskId, 0, 1)[0];
      // Pruning removes a task's oldest events first: everything after `after` is still there when
      // `after` is not older than the first stored event, or when nothing was pruned at all.
      if (after >= first.seq || first.type === 'created') {
        const replay: TaskEvent[] = [];
        for (let cursor = after; ;) {
          const batch = events.listTaskAfter(taskId, cursor, 1000);
          replay.push(...batch);
          if (batch.length < 1000) break;
          cursor = batch[batch.length - 1].seq;
        }
        return { kind: 'replay', task, events: replay };
      }
    }
    // A task whose events were all pruned still gets a seq that orders it before any later change.
    return { kind: 'snapshot', task, seq: latest?.seq ?? events.maxSeq() };
  }
  // One deferred read transaction: the reads inside see one snapshot, whatever workers commit meanwhile.
  const replayTx = db.transaction(readReplay);

  return {
    pollers,
    replay: now$((taskId: string, after?: number) => replayTx.deferred(taskId, after)),
    renditionsFailedSince: now$(results.renditionsFailedSince),
    async poller(pollerOptions: { after?: number; safetyPollMs?: number } = {}): Promise<FeedPoller> {
      // data_version moves only for other connections' commits: the reader gets its own read-only
      // connection (an in-memory database has one connection only; its safety poll sees its writes).
      const readDb = db.memory ? db : openDb(db.name, { readonly: true });
      const reader = createFeedReader(readDb, { ...pollerOptions, clock });
      const poller: FeedPoller = {
        pollOnce: now$((force?: boolean) => reader.pollOnce(force)),
        cursor: () => reader.cursor(),
        async close() {
          if (!pollers.delete(poller)) return;
          if (readDb !== db) readDb.close();
        },
      };
      pollers.add(poller);
      return poller;
    },
  };
}
