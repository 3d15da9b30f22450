/**
 * Folder db/: storage, and the only place SQL lives. It owns the schema (numbered migrations per
 * engine), the queue's rules, the change feed, results, imports, the diary archive and what is known
 * per film; it may import common/ (types and pure helpers) and its database drivers, and nothing of
 * server/, worker/ or client/ beyond types. This file is its contract; db/sqlite/ (the default) and
 * db/postgres/ are its two adapters.
 *
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
 * worker does with savepoints. What an action registers for its completing transaction (following a
 * member, keeping a feed read, scheduling the next poll) travels as data (`CompletionWrite`), which
 * each adapter applies inside that transaction.
 *
 * `Storage` is everything the server and worker use; both adapters implement all of it
 * (db/sqlite/index.ts, db/postgres/index.ts), and test/db/conformance/ runs one suite against both.
 * `StorageCore` and the `…Core` interfaces are the engine-neutral base the rest extends.
 */
import type { MosaicListItem, MosaicSummary, RenditionKind, Stage, Task } from '../common/task.js';
import type { ErrorCode } from '../common/errors.js';
import type { ClaimedTask, EnqueueInput, EnqueueOutcome, WithdrawOutcome } from './sqlite/tasks.js';
import type { TaskEvent } from './sqlite/events.js';
import type { NewRendition, NewResult, StoredImage } from './sqlite/results.js';
import type { ArchiveEntry, ArchiveWindow, MemberArchive } from './sqlite/archive.js';
import type { BudgetKeep, Eviction } from './sqlite/budget.js';
import type { LinkState } from './sqlite/stableLinks.js';
import type { MergeOutcome, Segment } from '../common/archive.js';
import type { ExportData, ImportSummary, StoredImport } from './sqlite/imports.js';
import type { PosterUrlEntry, TitleKey, TitlePoster, TitlePosterEntry } from './sqlite/posterKnowledge.js';
import type { RememberedMatch, TmdbMatch } from './sqlite/tmdb.js';

export type { ClaimedTask, EnqueueInput, EnqueueOutcome, WithdrawOutcome, TaskEvent, NewResult, NewRendition, StoredImage };
export type { ArchiveEntry, ArchiveWindow, MemberArchive, BudgetKeep, Eviction, LinkState };
export { LeaseLostError, QueueLimitError } from './sqlite/tasks.js';

/** A background task to schedule (a feed poll): its action and when it is due (ms). */
export interface ScheduledPoll {
  action: string;
  runAt: number;
}

/**
 * A write an action registers for its completing transaction, as data: it commits with the
 * COMPLETE or not at all. The adapter takes "now" from its clock when it applies it.
 */
export type CompletionWrite =
  /** A completed mosaic follows its member (at most `maxMembers` followed) and schedules their first poll. */
  | { kind: 'follow'; username: string; maxMembers: number; poll?: ScheduledPoll }
  /**
   * A feed poll's outcome, applied only while the member is still followed: the read window kept
   * (absent when the read was refused) and the next poll scheduled.
   */
  | { kind: 'keepFeed'; username: string; window?: ArchiveWindow; maxMembers: number; poll: ScheduledPoll };

/** One finished task handed to `completeAndClaim`. */
export interface Completion {
  id: string;
  leaseToken: string;
  /** Stored in the same transaction as the COMPLETE; absent for actions without an image. */
  result?: NewResult;
  /** The task's last progress message (default 'Done'). */
  msg?: string;
  /** Applied in the completing transaction, after the result. */
  writes?: readonly CompletionWrite[];
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
export interface TaskQueueCore {
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
  progress(
    id: string,
    token: string,
    stage: Stage,
    done: number | null,
    total: number | null,
    msg: string,
  ): Promise<{ cancelRequested: boolean }>;
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
  queuedIds(): Promise<string[]>;
  counts(): Promise<{ queued: number; running: number }>;
}

/** The whole queue as the server and worker use it today. */
export interface TaskQueue extends TaskQueueCore {
  /**
   * Queues a background housekeeping task under its own dedupe key (e.g. one result's renditions);
   * the live twin is returned while one is queued or running.
   */
  enqueueKeyed(action: string, username: string, params: Record<string, unknown>, key: string): Promise<EnqueueOutcome>;
  /** A requester's DELETE by cancel token; the last requester out cancels the task. Undefined for an unknown id. */
  withdraw(id: string, cancelToken: string): Promise<WithdrawOutcome | undefined>;
  /** Schedules a background task (a feed poll) at `runAt`; null when one is already live for the action and member. */
  schedule(action: string, username: string, runAt: number): Promise<Task | null>;
  /** Deletes finished background tasks (polls) older than `olderThan`, in small batches. */
  pruneBackground(olderThan: number, batch?: number): Promise<number>;
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
export interface ResultStoreCore {
  image(taskId: string): Promise<StoredImage | undefined>;
  /** The ETag alone, so a 304 never reads the image bytes. */
  etag(taskId: string): Promise<{ etag: string; contentType: string } | undefined>;
  summary(taskId: string): Promise<MosaicSummary | undefined>;
  listByUser(username: string, limit?: number): Promise<MosaicListItem[]>;
  listRecent(limit?: number): Promise<MosaicListItem[]>;
}

/** Results as the server and worker use them today. */
export interface ResultStore extends ResultStoreCore {
  /** The member a result was made for (its task's username). */
  owner(taskId: string): Promise<string | undefined>;
  /** Records a view (a best-effort write: a busy database skips it, the next view records it). */
  markViewed(taskId: string, now: number): Promise<void>;
  renditionEtag(taskId: string, kind: RenditionKind): Promise<{ etag: string; contentType: string } | undefined>;
  rendition(taskId: string, kind: RenditionKind): Promise<StoredImage | undefined>;
  /** Stores an older result's thumbnail and screen copies (the make_renditions task). */
  insertRenditions(taskId: string, list: readonly NewRendition[], now: number): Promise<void>;
  /** Deletes results not viewed since `notViewedSince` (with their tasks), and old failed tasks. */
  prune(notViewedSince: number, batch?: number): Promise<number>;
}

/** RESULTS_MB: one byte budget over results, imports and archives, least recently used out first. */
export interface ResultBudget {
  readonly budgetBytes: number;
  heldBytes(): Promise<number>;
  enforce(keep?: BudgetKeep): Promise<Eviction>;
}

/** What a stable link (`/m/{member}/{period}.{ext}`) needs of one request's dedupe key. */
export interface StableLinks {
  state(dedupeKey: string): Promise<LinkState>;
}

/** The diary archive kept from followed members' feeds. */
export interface DiaryArchive {
  recordWindow(username: string, window: ArchiveWindow, now: number, maxMembers?: number): Promise<MergeOutcome>;
  load(username: string): Promise<{ entries: ArchiveEntry[]; coverage: Segment[] }>;
  isFollowed(username: string): Promise<boolean>;
  follow(username: string, now: number, max: number): Promise<string[]>;
  forget(username: string): Promise<boolean>;
  expire(before: number): Promise<string[]>;
  unpolled(action: string): Promise<{ username: string; polledAt: number | null }[]>;
  summary(username: string): Promise<MemberArchive>;
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

/** The base of the port: the queue, workers, feed, results, imports and poster knowledge. */
export interface StorageCore {
  readonly kind: 'sqlite' | 'postgres';
  tasks: TaskQueueCore;
  workers: WorkerRegistry;
  feed: ChangeFeed;
  results: ResultStoreCore;
  imports: ImportStore;
  posters: PosterKnowledge;
  close(): Promise<void>;
}

/** One storage engine behind the whole port: everything the server and worker use of storage today. */
export interface Storage extends StorageCore {
  tasks: TaskQueue;
  results: ResultStore;
  budget: ResultBudget;
  links: StableLinks;
  archive: DiaryArchive;
}

// ---------------------------------------------------------------------------------------------------
// Added for the server's move onto the port (issue 15, server side). Declared apart, merging into the
// interfaces above, so the additions can be read (and implemented by db/postgres/) in one place.
// ---------------------------------------------------------------------------------------------------

export type { QueueLimits } from './sqlite/tasks.js';
export type { ExportData, ExportFilm, ExportRating, ExportViewing, ImportSummary } from './sqlite/imports.js';

/**
 * What a live subscriber starts from, read in one consistent snapshot (whatever workers commit
 * meanwhile): the task, and either its events after `after` (a replay) or, when they cannot all be
 * given, none with the seq a snapshot of the task is sent at.
 */
export type TaskReplay = { kind: 'replay'; task: Task; events: TaskEvent[] } | { kind: 'snapshot'; task: Task; seq: number };

/**
 * A pull-style change-feed reader for a caller that keeps its own timer (the server's feed watcher,
 * which tests drive by hand): each `pollOnce` returns the events committed since the last pass, in
 * seq order, and costs nothing but the engine's cheap "did anything change" check when nothing did
 * (SQLite's data_version on its own read-only connection); a safety poll reads anyway every
 * `safetyPollMs` (default 1000), `force` at once.
 */
export interface FeedPoller {
  pollOnce(force?: boolean): Promise<TaskEvent[]>;
  cursor(): number;
  close(): Promise<void>;
}

/** The change feed as the server uses it today (the live socket's replays and its feed watcher). */
export interface LiveFeed extends ChangeFeed {
  /**
   * A task and where a subscriber resumes, from one consistent read (null for an unknown task).
   * With `after` given and every event after it still stored (it is not older than the task's first
   * stored event, or nothing of the task was pruned), a replay of those events; otherwise a snapshot at
   * the task's latest seq (or the feed's end when all its events were pruned).
   */
  replay(taskId: string, after?: number): Promise<TaskReplay | null>;
  /** A pull-style reader starting after `after` (default: the current end). */
  poller(options?: { after?: number; safetyPollMs?: number }): Promise<FeedPoller>;
}

export interface ResultStore {
  /** Whether a make_renditions task for this result ended in ERROR since `since` (ms). */
  renditionsFailedSince(taskId: string, since: number): Promise<boolean>;
}

export interface Storage {
  feed: LiveFeed;
  /**
   * Whether `err` means the database is busy right now, not broken (SQLite: locked by another program;
   * PostgreSQL: a serialization failure, deadlock or refused connection): the server retries such a
   * write for a while, then answers 503 with Retry-After; the worker retries a task's final write.
   */
  isBusy(err: unknown): boolean;
}

/** The shapes the worker's sources and posters read and write through the port. */
export type { StoredImport } from './sqlite/imports.js';
export type { PosterSource, PosterUrlEntry, TitleKey, TitlePoster, TitlePosterEntry } from './sqlite/posterKnowledge.js';
export type { RememberedMatch, TmdbMatch } from './sqlite/tmdb.js';
/** The key `knownPostersByTitle` and `titlePosters` answer under, for one title and year. */
export { titleId } from './sqlite/posterKnowledge.js';
