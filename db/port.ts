/**
 * The storage port: what the server and the worker need of storage, as Promise-returning interfaces,
 * so one SQLite file (the default, synchronous inside) and PostgreSQL (db/postgres/, for several
 * servers and worker hosts) sit behind the same contract. The semantics are today's, as db/sqlite/tasks.ts,
 * db/sqlite/events.ts, db/sqlite/feed.ts, db/sqlite/results.ts, db/sqlite/imports.ts, db/sqlite/posterKnowledge.ts and db/sqlite/tmdb.ts implement
 * them for SQLite; nothing here is new behaviour.
 *
 * Not in the port: the on-disk poster cache's entries (`poster_cache`), which stay local to each
 * worker host beside the cache files; only what is known per film (poster URLs, TMDB matches) is
 * shared.
 *
 * Group commit: the worker completes the tasks that finished together and claims the next ones in
 * one transaction (`TaskQueue.completeAndClaim`); each completion succeeds or fails on its own (a
 * lost lease or a result that could not be stored undoes only that completion), as the SQLite
 * worker does with savepoints.
 */
import type { Stage, Task, MosaicSummary } from '../common/task.js';
import type { ErrorCode } from '../common/errors.js';
import type { ClaimedTask, EnqueueInput, EnqueueOutcome } from './sqlite/tasks.js';
import type { TaskEvent } from './sqlite/events.js';
import type { NewResult, StoredImage } from './sqlite/results.js';
import type { ExportData, ImportSummary, StoredImport } from './sqlite/imports.js';
import type { PosterUrlEntry, TitleKey, TitlePoster, TitlePosterEntry } from './sqlite/posterKnowledge.js';
import type { RememberedMatch, TmdbMatch } from './sqlite/tmdb.js';

export type { ClaimedTask, EnqueueInput, EnqueueOutcome, TaskEvent, NewResult, StoredImage };
export { LeaseLostError } from './sqlite/tasks.js';

/** One finished task handed to `completeAndClaim`. */
export interface Completion {
  id: string;
  leaseToken: string;
  /** Stored in the same transaction as the COMPLETE; absent for actions without an image. */
  result?: NewResult;
  /** The task's last progress message (default 'Done'). */
  msg?: string;
}

export interface CompleteAndClaimOutcome {
  /** Per completion, in order: undefined when it committed, else why not (LeaseLostError, …). */
  errors: (Error | undefined)[];
  /** The tasks claimed for the freed slots, oldest run_at first. */
  claimed: ClaimedTask[];
}

/**
 * The task queue. Every state change appends its event to the change feed in the same transaction;
 * every worker write is fenced by the claim's lease token and throws LeaseLostError when the lease
 * is gone (reclaimed, swept, or the task finished).
 */
export interface TaskQueue {
  /** Adds a task, or returns the live twin / a fresh complete result of the same request (race-safe). */
  enqueue(input: EnqueueInput): Promise<EnqueueOutcome>;
  /** Inserts a raw row without dedupe (tests and benchmarks: malformed params, no-op tasks). */
  enqueueRaw(action: string, username: string, paramsJson: string): Promise<Task>;
  get(id: string): Promise<Task | undefined>;
  /** Leases up to `n` runnable tasks, oldest run_at first; never the same task to two workers. */
  claim(workerId: string, n: number): Promise<ClaimedTask[]>;
  /** Extends the lease; says whether a cancel was requested. */
  heartbeat(id: string, token: string): Promise<{ cancelRequested: boolean }>;
  /** Records progress (and extends the lease); says whether a cancel was requested. */
  progress(id: string, token: string, stage: Stage, done: number | null, total: number | null, msg: string): Promise<{ cancelRequested: boolean }>;
  /** Marks the task COMPLETE, storing its result in the same transaction. */
  complete(id: string, token: string, result?: NewResult, msg?: string): Promise<void>;
  /**
   * Group commit: completes these tasks and claims up to `claimN` runnable ones for `workerId`, in
   * one transaction; each completion stands or falls alone.
   */
  completeAndClaim(completions: readonly Completion[], workerId: string, claimN: number): Promise<CompleteAndClaimOutcome>;
  /** A retryable failure with attempts left goes back to QUEUED after a backoff; else ERROR. */
  fail(id: string, token: string, code: ErrorCode, msg: string, retryable?: boolean): Promise<Task>;
  /** Back to QUEUED for `ms` without consuming an attempt (e.g. 429 with Retry-After). */
  retryAfter(id: string, token: string, ms: number, msg: string): Promise<Task>;
  /** Graceful shutdown: back to QUEUED at once, without consuming an attempt. */
  release(id: string, token: string): Promise<Task>;
  /** The worker saw the cancel request and stopped: CANCELLED. */
  finishCancelled(id: string, token: string): Promise<Task>;
  /** Queued: CANCELLED at once; running: flagged for its worker; undefined for an unknown id. */
  cancel(id: string): Promise<{ task: Task; finished: boolean } | undefined>;
  /** Expired leases back to QUEUED with backoff, or ERROR WORKER_LOST; leases of dead workers expire first. */
  sweep(deadWorkerMs?: number): Promise<Task[]>;
  hasRunnable(): Promise<boolean>;
  isCancelRequested(id: string): Promise<boolean>;
  /** 1-based position among queued tasks in claim order, or null when not queued. */
  queuePosition(id: string): Promise<number | null>;
  queuedIds(): Promise<string[]>;
  counts(): Promise<{ queued: number; running: number }>;
}

/** Live worker processes (for /healthz and early release of a dead worker's leases). */
export interface WorkerRegistry {
  beat(id: string, pid: number, now: number): Promise<void>;
  remove(id: string): Promise<void>;
  removeStale(before: number): Promise<number>;
  live(since: number): Promise<{ id: string; lastSeenAt: string }[]>;
}

/** The change feed: events in `seq` order, never one missed or reordered, whatever the commit order. */
export interface ChangeFeed {
  /** Every event with seq > `after`, oldest first, at most `limit`. */
  listAfter(after: number, limit?: number): Promise<TaskEvent[]>;
  /** One task's events with seq > `after`, oldest first. */
  listTaskAfter(taskId: string, after: number, limit?: number): Promise<TaskEvent[]>;
  latestForTask(taskId: string): Promise<TaskEvent | undefined>;
  maxSeq(): Promise<number>;
  /**
   * Calls `onEvents` with each batch of new events after `after` (default: the current end), in seq
   * order, woken by the engine's own signal (SQLite's data_version, PostgreSQL's NOTIFY) with a slow
   * poll as a safety net. Resolves once watching; `close` stops it.
   */
  watch(onEvents: (events: TaskEvent[]) => void, options?: { after?: number; safetyPollMs?: number }): Promise<FeedWatch>;
  /** Deletes events older than `olderThan` in small batches, always keeping the newest. */
  prune(olderThan: number, batch?: number): Promise<number>;
}

export interface FeedWatch {
  cursor(): number;
  close(): Promise<void>;
}

/** Mosaic results: stored with the completing transaction (TaskQueue.complete), served with their ETag. */
export interface ResultStore {
  image(taskId: string): Promise<StoredImage | undefined>;
  /** The ETag alone, so a 304 never reads the image bytes. */
  etag(taskId: string): Promise<{ etag: string; contentType: string } | undefined>;
  summary(taskId: string): Promise<MosaicSummary | undefined>;
  listByUser(username: string, limit?: number): Promise<MosaicSummary[]>;
  listRecent(limit?: number): Promise<MosaicSummary[]>;
  /** Keeps results younger than `olderThan` or among a member's newest `keepPerUser`; finished tasks go with them. */
  prune(olderThan: number, keepPerUser?: number, batch?: number): Promise<number>;
}

/** Members' Letterboxd exports: the latest upload per member, replaced whole. */
export interface ImportStore {
  replace(username: string, data: ExportData, now: number): Promise<ImportSummary>;
  summary(username: string): Promise<ImportSummary | null>;
  importedAt(username: string): Promise<number | null>;
  load(username: string): Promise<StoredImport | null>;
}

/** What is known per film: resolved poster URLs (by slug, by title and year) and TMDB matches. */
export interface PosterKnowledge {
  knownPosterUrls(slugs: readonly string[]): Promise<Map<string, string | null>>;
  rememberPosterUrls(entries: readonly PosterUrlEntry[], now: number): Promise<void>;
  knownPostersByTitle(keys: readonly TitleKey[]): Promise<Map<string, TitlePoster>>;
  titlePosters(keys: readonly TitleKey[]): Promise<Map<string, TitlePoster>>;
  rememberTitlePosters(entries: readonly TitlePosterEntry[], now: number): Promise<void>;
  tmdbMatch(titleKey: string, yearKey: number): Promise<RememberedMatch | undefined>;
  rememberTmdbMatch(titleKey: string, yearKey: number, match: TmdbMatch | null, now: number): Promise<void>;
}

/** One storage engine behind the port. */
export interface Storage {
  readonly kind: 'sqlite' | 'postgres';
  tasks: TaskQueue;
  workers: WorkerRegistry;
  feed: ChangeFeed;
  results: ResultStore;
  imports: ImportStore;
  posters: PosterKnowledge;
  close(): Promise<void>;
}
