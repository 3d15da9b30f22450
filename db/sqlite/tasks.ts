/**
 * The task queue (docs/architecture.md#queue-rules): enqueue with race-safe dedupe, atomic claim with a lease, lease-fenced
 * worker writes, cancel, sweep of expired leases. Every state change appends its `task_events` row in
 * the same transaction, so the change feed never misses or invents a change.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Db } from './open.js';
import { savepoint, writeTx } from './open.js';
import type { MosaicParams, Stage, Task, TaskStatus } from '../../common/task.js';
import { dedupeKey } from '../../common/task.js';
import type { EventType } from '../../common/task.js';
import type { ErrorCode } from '../../common/errors.js';
import { systemClock, type NowClock } from '../../common/clock.js';


/** A worker's write found its lease gone (reclaimed, cancelled-and-finished, or swept): discard the work. */
export class LeaseLostError extends Error {
  constructor(readonly taskId: string) {
    super(`Lease lost on task ${taskId}`);
    this.name = 'LeaseLostError';
  }
}

/** What a claimed task carries into the worker. */
export interface ClaimedTask {
  id: string;
  action: string;
  username: string;
  /** The raw params JSON: the action validates it (a malformed row must fail the task, not the worker). */
  paramsJson: string;
  attempt: number;
  maxAttempts: number;
  delayCount: number;
  leaseToken: string;
  leaseExpiresAt: number;
  /** When the request was made (ms): the moment its "this month" and "the future" were judged. */
  createdAt: number;
}

export interface TaskRow {
  id: string;
  action: string;
  username: string;
  params: string;
  dedupe_key: string;
  status: TaskStatus;
  progress_msg: string;
  stage: Stage;
  progress_done: number | null;
  progress_total: number | null;
  error_code: ErrorCode | null;
  error_msg: string | null;
  attempt: number;
  max_attempts: number;
  delay_count: number;
  run_at: number;
  lease_owner: string | null;
  lease_token: string | null;
  lease_expires_at: number | null;
  cancel_requested_at: number | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  updated_at: number;
  /** The seq of the task's first and latest events (migration 5): its events lie in that range. */
  first_seq: number | null;
  last_seq: number | null;
  /** 1 for background tasks (feed polls, migration 9). */
  background: number;
}

export interface QueueOptions {
  clock?: NowClock;
  leaseMs?: number;
  maxAttempts?: number;
  /** Base of the exponential retry backoff (ms); jitter is applied on top. */
  backoffBaseMs?: number;
  resultFreshMs?: number;
  /** A refresh of a mosaic completed less than this long ago makes no new task (default one minute). */
  refreshEveryMs?: number;
  random?: () => number;
}

export interface EnqueueInput {
  action: string;
  username: string;
  params: MosaicParams;
  refresh?: boolean;
  /**
   * When the request arrived. A refresh still takes a COMPLETE twin that finished after this moment
   * (strictly: a result of the same millisecond may predate the request):
   * it is newer than what was asked for, so a crowd of refreshes at once makes one new mosaic.
   */
  requestedAt?: number;
  /** Complete results finished before this time are stale (e.g. the member imported an export since). */
  staleBefore?: number;
  /** Records the request as one of the task's requesters (a new or a joined live task). */
  requester?: Requester;
  /** Refuses a new task (QueueLimitError) over these caps; joining a live task is always allowed. */
  limits?: QueueLimits;
}

/** Who is asking (the server's clientKey) and the cancel token they were handed. */
export interface Requester {
  clientKey: string;
  cancelToken: string;
}

/** Caps on unfinished tasks of the enqueued action: per client (QUEUE_PER_CLIENT) and queued in all (QUEUE_MAX). */
export interface QueueLimits {
  perClient: number;
  max: number;
}

/** A new task was refused by a QueueLimits cap; nothing was written. */
export class QueueLimitError extends Error {
  constructor(readonly limit: 'client' | 'queue', readonly count: number, readonly cap: number) {
    super(limit === 'client' ? `client has ${count} of ${cap} tasks` : `queue holds ${count} of ${cap} tasks`);
    this.name = 'QueueLimitError';
  }
}

/** What a cancel-token DELETE did; `forbidden`: the token is not one of this task's. */
export type WithdrawOutcome =
  | { kind: 'forbidden' }
  | { kind: 'finished'; task: Task }
  /** The requester's share is withdrawn; others still want the task, which goes on. */
  | { kind: 'left'; task: Task }
  /** The last requester withdrew: the task is cancelled (or its worker asked to stop). */
  | { kind: 'cancelled'; task: Task };

const tokenHash = (token: string) => createHash('sha256').update(token).digest('hex');

export interface EnqueueOutcome {
  task: Task;
  /** true when an existing live task or a fresh complete result was returned instead of a new task. */
  deduped: boolean;
  /**
   * Set when a refresh was refused: the same mosaic was made less than a minute ago (`task` is that
   * one). Milliseconds until it may be refreshed.
   */
  refreshIn?: number;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** `ms` since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ` (Date.toISOString's form), in integer arithmetic. */
const isoSql = (col: string) =>
  `strftime('%Y-%m-%dT%H:%M:%S', ${col} / 1000, 'unixepoch') || printf('.%03dZ', ${col} % 1000)`;

/**
 * The public Task (common/task.ts) of a tasks row, as JSON built by SQLite: the one definition of that
 * shape, used for every event payload and every read. Built inside SQLite because the queue's hot path
 * then never materialises a row in JS: `RETURNING *` into an object measured ~6 µs of a ~12 µs claim.
 * `params` that are not valid JSON read as {} (the action rejects them); `queuePosition` is null (filled
 * in by whoever sends the task).
 */
export const TASK_JSON = `json_object(
  'id', id, 'action', action, 'username', username,
  'params', CASE WHEN json_valid(params) THEN json(params) ELSE json_object() END,
  'status', status, 'stage', stage, 'progressMsg', progress_msg,
  'progress', CASE WHEN progress_done IS NOT NULL AND progress_total IS NOT NULL
                   THEN json_object('done', progress_done, 'total', progress_total) END,
  'queuePosition', NULL, 'errorCode', error_code, 'errorMsg', error_msg,
  'createdAt', ${isoSql('created_at')}, 'updatedAt', ${isoSql('updated_at')},
  'resultUrl', CASE WHEN status = 'COMPLETE' THEN '/api/tasks/' || id || '/result' END)`;

/** What a claim returns of a row. */
interface ClaimRow {
  rowid: number;
  id: string;
  action: string;
  username: string;
  params: string;
  attempt: number;
  max_attempts: number;
  delay_count: number;
  lease_token: string;
  lease_expires_at: number;
  created_at: number;
}

function toClaimed(row: ClaimRow): ClaimedTask {
  return {
    id: row.id,
    action: row.action,
    username: row.username,
    paramsJson: row.params,
    attempt: row.attempt,
    maxAttempts: row.max_attempts,
    delayCount: row.delay_count,
    leaseToken: row.lease_token,
    leaseExpiresAt: row.lease_expires_at,
    createdAt: row.created_at,
  };
}

/** A changed row, as the statements that change one return it: enough to append its event. */
interface Changed {
  rowid: number;
  status: TaskStatus;
}

export type TaskStore = ReturnType<typeof createTaskStore>;

/**
 * The seq the next event will get. Every statement that changes a task sets `last_seq` to it, and
 * appendEvent then writes the event with exactly that seq, in the same transaction (under the write
 * lock, so nothing can take it meanwhile). Pruning never deletes the newest event, so it never goes back.
 * A statement that forgot it would hand appendEvent an old seq: the insert fails loudly on the key.
 */
const NEXT_SEQ = '(SELECT coalesce(max(seq), 0) + 1 FROM task_events)';

/** The event of a change: the row's Task as JSON, under the seq its statement set (NEXT_SEQ). */
const INSERT_EVENT = `
  INSERT INTO task_events (seq, task_id, type, payload, created_at)
  SELECT last_seq, id, ?, ${TASK_JSON}, updated_at FROM tasks WHERE rowid = ?`;

/** Builds the queue's functions over one connection, with statements prepared once. */
export function createTaskStore(db: Db, options: QueueOptions = {}) {
  const clock = options.clock ?? systemClock;
  const leaseMs = options.leaseMs ?? 30_000;
  const maxAttempts = options.maxAttempts ?? 3;
  const backoffBaseMs = options.backoffBaseMs ?? 2_000;
  const resultFreshMs = options.resultFreshMs ?? 600_000;
  const refreshEveryMs = options.refreshEveryMs ?? 60_000;
  const random = options.random ?? Math.random;

  const s = {
    insert: db.prepare<unknown[], Changed>(`
      INSERT INTO tasks (id, action, username, params, dedupe_key, status, live, progress_msg, stage,
                         max_attempts, run_at, created_at, updated_at, first_seq, last_seq, background)
      VALUES (?, ?, ?, ?, ?, 'QUEUED', 1, 'Waiting for a worker', 'queued', ?, ?, ?, ?, ${NEXT_SEQ}, ${NEXT_SEQ}, ?)
      ON CONFLICT (dedupe_key) WHERE live = 1 DO NOTHING
      RETURNING rowid, status`),
    live: db.prepare<[string], string>(`SELECT ${TASK_JSON} FROM tasks WHERE dedupe_key = ? AND live = 1`).pluck(),
    fresh: db.prepare<[string, number], string>(`
      SELECT ${TASK_JSON} FROM tasks WHERE rowid = (
        SELECT t.rowid FROM tasks t JOIN results r ON r.id = t.id
        WHERE t.dedupe_key = ? AND t.status = 'COMPLETE' AND t.finished_at >= ?
        ORDER BY t.finished_at DESC LIMIT 1)`).pluck(),
    lastMade: db.prepare<[string], number>(`
      SELECT max(t.finished_at) FROM tasks t JOIN results r ON r.id = t.id
      WHERE t.dedupe_key = ? AND t.status = 'COMPLETE'`).pluck(),
    get: db.prepare<[string], TaskRow>(`SELECT * FROM tasks WHERE id = ?`),
    task: db.prepare<[string], string>(`SELECT ${TASK_JSON} FROM tasks WHERE id = ?`).pluck(),
    event: db.prepare<[string, number]>(INSERT_EVENT),
    eventTask: db.prepare<[string, number], string>(`${INSERT_EVENT} RETURNING payload`).pluck(),
    // One statement picks and leases the oldest runnable task: two workers can never take one task,
    // because SQLite runs the whole UPDATE under the write lock. (A literal LIMIT 1: a bound
    // "IN (… LIMIT ?)" measured 4× slower. By rowid, which the queued index holds: no detour through
    // the id index, ~2 µs less.)
    claim: db.prepare<unknown[], ClaimRow>(`
      UPDATE tasks
      SET status = 'RUNNING', attempt = attempt + 1, lease_owner = ?, lease_token = lower(hex(randomblob(16))),
          lease_expires_at = ?, started_at = coalesce(started_at, ?), updated_at = max(?, updated_at + 1), last_seq = ${NEXT_SEQ},
          stage = 'collecting', progress_msg = 'Starting', progress_done = NULL, progress_total = NULL
      WHERE rowid = (
        SELECT rowid FROM tasks WHERE status = 'QUEUED' AND run_at <= ? AND background = ?
        ORDER BY run_at, created_at LIMIT 1)
      RETURNING rowid, id, action, username, params, attempt, max_attempts, delay_count, lease_token, lease_expires_at, created_at`),
    heartbeat: db.prepare<unknown[], { cancel_requested_at: number | null }>(`
      UPDATE tasks SET lease_expires_at = ?
      WHERE id = ? AND lease_token = ? AND status = 'RUNNING'
      RETURNING cancel_requested_at`),
    progress: db.prepare<unknown[], { rowid: number; cancel_requested_at: number | null }>(`
      UPDATE tasks SET stage = ?, progress_done = ?, progress_total = ?, progress_msg = ?,
                       lease_expires_at = ?, updated_at = max(?, updated_at + 1), last_seq = ${NEXT_SEQ}
      WHERE id = ? AND lease_token = ? AND status = 'RUNNING'
      RETURNING rowid, cancel_requested_at`),
    complete: db.prepare<unknown[], Changed>(`
      UPDATE tasks SET status = 'COMPLETE', live = NULL, stage = 'done', progress_msg = ?, finished_at = ?, updated_at = max(?, updated_at + 1), last_seq = ${NEXT_SEQ},
                       lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
      WHERE id = ? AND lease_token = ? AND status = 'RUNNING'
      RETURNING rowid, status`),
    finish: db.prepare<unknown[], Changed>(`
      UPDATE tasks SET status = ?, live = NULL, error_code = ?, error_msg = ?, progress_msg = ?, finished_at = ?, updated_at = max(?, updated_at + 1), last_seq = ${NEXT_SEQ},
                       lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
      WHERE id = ? AND lease_token = ? AND status = 'RUNNING'
      RETURNING rowid, status`),
    requeue: db.prepare<unknown[], Changed>(`
      UPDATE tasks SET status = 'QUEUED', stage = 'queued', run_at = ?, attempt = attempt - ?,
                       delay_count = delay_count + ?, progress_msg = ?, progress_done = NULL, progress_total = NULL,
                       error_code = ?, error_msg = ?, updated_at = max(?, updated_at + 1), last_seq = ${NEXT_SEQ},
                       lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
      WHERE id = ? AND lease_token = ? AND status = 'RUNNING'
      RETURNING rowid, status`),
    cancelQueued: db.prepare<unknown[], Changed>(`
      UPDATE tasks SET status = 'CANCELLED', live = NULL, error_code = 'CANCELLED', error_msg = ?, progress_msg = ?,
                       cancel_requested_at = ?, finished_at = ?, updated_at = max(?, updated_at + 1), last_seq = ${NEXT_SEQ}
      WHERE id = ? AND status = 'QUEUED'
      RETURNING rowid, status`),
    cancelRunning: db.prepare<unknown[], Changed>(`
      UPDATE tasks SET cancel_requested_at = ?, progress_msg = 'Cancelling…', updated_at = max(?, updated_at + 1), last_seq = ${NEXT_SEQ}
      WHERE id = ? AND status = 'RUNNING' AND cancel_requested_at IS NULL
      RETURNING rowid, status`),
    expired: db.prepare<[number], TaskRow>(`
      SELECT * FROM tasks WHERE live = 1 AND status = 'RUNNING' AND lease_expires_at < ? ORDER BY lease_expires_at LIMIT 100`),
    sweepOne: db.prepare<unknown[], Changed>(`
      UPDATE tasks SET status = ?, live = ?, stage = ?, run_at = ?, error_code = ?, error_msg = ?, progress_msg = ?,
                       finished_at = ?, updated_at = max(?, updated_at + 1), last_seq = ${NEXT_SEQ}, progress_done = NULL, progress_total = NULL,
                       lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
      WHERE id = ? AND status = 'RUNNING' AND lease_token = ?
      RETURNING rowid, status`),
    expireDeadWorkers: db.prepare(`
      UPDATE tasks SET lease_expires_at = ?
      WHERE live = 1 AND status = 'RUNNING' AND lease_expires_at > ?
        AND lease_owner IN (SELECT id FROM workers WHERE last_seen_at < ?)`),
    position: db.prepare<[number, number, number, number, string], { n: number }>(`
      SELECT count(*) AS n FROM tasks
      WHERE status = 'QUEUED' AND background = 0 AND (run_at < ? OR (run_at = ? AND (created_at < ? OR (created_at = ? AND id < ?))))`),
    queuedIds: db.prepare<[], { id: string }>(
      `SELECT id FROM tasks WHERE status = 'QUEUED' AND background = 0 ORDER BY run_at, created_at, id`,
    ),
    runnable: db.prepare<[number], { one: number }>(
      `SELECT 1 AS one FROM tasks WHERE status = 'QUEUED' AND run_at <= ? LIMIT 1`,
    ),
    cancelRequested: db.prepare<[string], { c: number | null }>(`SELECT cancel_requested_at AS c FROM tasks WHERE id = ?`),
    addRequester: db.prepare<[string, string, string, number]>(`
      INSERT OR IGNORE INTO task_requesters (task_id, token_hash, client_key, created_at) VALUES (?, ?, ?, ?)`),
    // Unfinished tasks of one action this client asked for (created or joined) and has not left.
    clientLive: db.prepare<[string, string], number>(`
      SELECT count(DISTINCT r.task_id) FROM task_requesters r JOIN tasks t ON t.id = r.task_id
      WHERE r.client_key = ? AND r.withdrawn_at IS NULL AND t.live = 1 AND t.action = ?`).pluck(),
    queuedOf: db.prepare<[string], number>(`SELECT count(*) FROM tasks WHERE status = 'QUEUED' AND action = ?`).pluck(),
    share: db.prepare<[string, string], { withdrawn_at: number | null }>(
      `SELECT withdrawn_at FROM task_requesters WHERE task_id = ? AND token_hash = ?`),
    withdraw: db.prepare<[number, string, string]>(
      `UPDATE task_requesters SET withdrawn_at = ? WHERE task_id = ? AND token_hash = ? AND withdrawn_at IS NULL`),
    remaining: db.prepare<[string], number>(
      `SELECT count(*) FROM task_requesters WHERE task_id = ? AND withdrawn_at IS NULL`).pluck(),
    counts: db.prepare<[], { status: string; n: number }>(
      `SELECT status, count(*) AS n FROM tasks WHERE live = 1 AND (background = 0 OR status = 'RUNNING') GROUP BY status`,
    ),
  };

  /** Appends the event of a change just made to `row` (same transaction). */
  function appendEvent(row: { rowid: number }, type: EventType): void {
    s.event.run(type, row.rowid);
  }

  /** Appends the event and returns its Task (for callers that send it on). */
  function appendEventTask(row: { rowid: number }, type: EventType): Task {
    return JSON.parse(s.eventTask.get(type, row.rowid)!) as Task;
  }

  function backoffMs(attempt: number): number {
    // Exponential with "equal jitter": never immediately, never all at once.
    const base = backoffBaseMs * 2 ** Math.max(0, attempt - 1);
    return Math.round(base / 2 + random() * (base / 2));
  }

  function fenced<R>(row: R | undefined, id: string): R {
    if (!row) throw new LeaseLostError(id);
    return row;
  }

  /**
   * Cancels: a queued task ends CANCELLED at once; a running one gets `cancel_requested_at`, which
   * its worker sees on its next heartbeat or progress write. Returns undefined for an unknown id.
   */
  function cancel(id: string): { task: Task; finished: boolean } | undefined {
    return writeTx(db, () => {
      const now = clock.now();
      const msg = 'The mosaic was cancelled.';
      const q = s.cancelQueued.get(msg, msg, now, now, now, id);
      if (q) return { task: appendEventTask(q, 'cancelled'), finished: false };
      const r = s.cancelRunning.get(now, now, id);
      if (r) return { task: appendEventTask(r, 'cancel_requested'), finished: false };
      const json = s.task.get(id);
      if (json === undefined) return undefined;
      const task = JSON.parse(json) as Task;
      // Already running with a cancel pending: same answer again. Finished: the caller says 409.
      return { task, finished: task.status !== 'RUNNING' };
    });
  }

  return {
    /**
     * Adds a task, or returns the live twin / a fresh complete result of the same request. With a
     * `requester`, the request becomes one of the live task's requesters (a finished result has none);
     * with `limits`, a new task over a cap throws QueueLimitError instead.
     */
    enqueue(input: EnqueueInput): EnqueueOutcome {
      const key = dedupeKey(input.action, input.username, input.params);
      return writeTx(db, () => {
        const now = clock.now();
        const freshSince = input.refresh
          ? input.requestedAt === undefined ? undefined : Math.max(input.requestedAt + 1, input.staleBefore ?? 0)
          : Math.max(now - resultFreshMs, input.staleBefore ?? 0);
        if (freshSince !== undefined) {
          const done = s.fresh.get(key, freshSince);
          if (done) return { task: JSON.parse(done) as Task, deduped: true };
        }
        const join = (task: Task): EnqueueOutcome => {
          const r = input.requester;
          if (r) s.addRequester.run(task.id, tokenHash(r.cancelToken), r.clientKey, now);
          return { task, deduped: true };
        };
        if (input.refresh && !s.live.get(key)) {
          // One new mosaic per request per minute: `refresh` skips dedupe, and each result takes disk.
          const made = s.lastMade.get(key);
          if (made != null && made >= (input.staleBefore ?? 0) && now - made < refreshEveryMs) {
            return { task: JSON.parse(s.fresh.get(key, made)!) as Task, deduped: true, refreshIn: made + refreshEveryMs - now };
          }
        }
        if (input.limits) {
          // The caps apply to new tasks only: joining a live twin adds no work.
          const live = s.live.get(key);
          if (live) return join(JSON.parse(live) as Task);
          const mine = input.requester ? s.clientLive.get(input.requester.clientKey, input.action)! : 0;
          if (mine >= input.limits.perClient) throw new QueueLimitError('client', mine, input.limits.perClient);
          const queued = s.queuedOf.get(input.action)!;
          if (queued >= input.limits.max) throw new QueueLimitError('queue', queued, input.limits.max);
        }
        const row = s.insert.get(
          randomUUID(), input.action, input.username, JSON.stringify(input.params), key,
          maxAttempts, now, now, now, 0,
        );
        if (row) {
          const task = appendEventTask(row, 'created');
          join(task);
          return { task, deduped: false };
        }
        const live = s.live.get(key);
        if (!live) throw new Error(`dedupe conflict without a live task for ${key}`);
        return join(JSON.parse(live) as Task);
      });
    },

    /**
     * A requester's DELETE: withdraws the share `cancelToken` names; when no requester is left, the
     * task is cancelled as `cancel` does. Undefined for an unknown id.
     */
    withdraw(id: string, cancelToken: string): WithdrawOutcome | undefined {
      return writeTx(db, (): WithdrawOutcome | undefined => {
        const json = s.task.get(id);
        if (json === undefined) return undefined;
        const hash = tokenHash(cancelToken);
        if (!s.share.get(id, hash)) return { kind: 'forbidden' };
        const task = JSON.parse(json) as Task;
        if (task.status !== 'QUEUED' && task.status !== 'RUNNING') return { kind: 'finished', task };
        s.withdraw.run(clock.now(), id, hash);
        if (s.remaining.get(id)! > 0) return { kind: 'left', task };
        const outcome = cancel(id)!;
        return outcome.finished ? { kind: 'finished', task: outcome.task } : { kind: 'cancelled', task: outcome.task };
      });
    },

    /**
     * Schedules a background task (a feed poll) to run at `runAt`: claimed only when no foreground
     * task is runnable, and left out of queue positions and the queued count. One live task per
     * action and member (dedupe key `action:username`): returns null when one is already queued or running.
     */
    schedule(action: string, username: string, runAt: number): Task | null {
      return writeTx(db, () => {
        const now = clock.now();
        const row = s.insert.get(randomUUID(), action, username, '{}', `${action}:${username}`, maxAttempts, runAt, now, now, 1);
        return row ? appendEventTask(row, 'created') : null;
      });
    },

    /**
     * Queues a background housekeeping task under its own dedupe key (e.g. making one result's
     * renditions): the live twin is returned while one is queued or running, so a crowd of requests
     * queues one task.
     */
    enqueueKeyed(action: string, username: string, params: Record<string, unknown>, key: string): EnqueueOutcome {
      return writeTx(db, () => {
        const now = clock.now();
        // Background: no queue position or queued count shows it, and mosaics are claimed first.
        const row = s.insert.get(randomUUID(), action, username, JSON.stringify(params), `${action}:${key}`, maxAttempts, now, now, now, 1);
        if (row) return { task: appendEventTask(row, 'created'), deduped: false };
        const live = s.live.get(`${action}:${key}`);
        if (!live) throw new Error(`dedupe conflict without a live task for ${action}:${key}`);
        return { task: JSON.parse(live) as Task, deduped: true };
      });
    },

    /** Inserts a raw row (tests: malformed params, unknown actions). */
    enqueueRaw(action: string, username: string, paramsJson: string): Task {
      return writeTx(db, () => {
        const now = clock.now();
        const row = s.insert.get(randomUUID(), action, username, paramsJson, `raw:${randomUUID()}`, maxAttempts, now, now, now, 0)!;
        return appendEventTask(row, 'created');
      });
    },

    get(id: string): Task | undefined {
      const json = s.task.get(id);
      return json === undefined ? undefined : (JSON.parse(json) as Task);
    },

    getRow(id: string): TaskRow | undefined {
      return s.get.get(id);
    },

    /** Atomically leases up to `n` runnable tasks, oldest `run_at` first (one immediate transaction). */
    claim(workerId: string, n: number): ClaimedTask[] {
      if (n <= 0) return [];
      return writeTx(db, () => {
        const now = clock.now();
        const out: ClaimedTask[] = [];
        for (let i = 0; i < n; i++) {
          // Foreground first: a due poll never takes a slot a mosaic is waiting for.
          const row = s.claim.get(workerId, now + leaseMs, now, now, now, 0) ?? s.claim.get(workerId, now + leaseMs, now, now, now, 1);
          if (!row) break;
          appendEvent(row, 'claimed');
          out.push(toClaimed(row));
        }
        return out;
      });
    },

    /**
     * Runs several of these calls in one write transaction (all or none): the worker completes the
     * tasks that finished together and claims the next ones in one commit.
     */
    transaction<T>(fn: () => T): T {
      return writeTx(db, fn);
    },

    /** Inside `transaction`: a part that, when it throws, is undone alone. */
    savepoint<T>(fn: () => T): T {
      return savepoint(db, fn);
    },

    /** Extends the lease. Returns whether a cancel was requested. Throws LeaseLostError. */
    heartbeat(id: string, token: string): { cancelRequested: boolean } {
      const row = fenced(s.heartbeat.get(clock.now() + leaseMs, id, token), id);
      return { cancelRequested: row.cancel_requested_at !== null };
    },

    /** Records progress (and extends the lease). Returns whether a cancel was requested. */
    progress(id: string, token: string, stage: Stage, done: number | null, total: number | null, msg: string) {
      return writeTx(db, () => {
        const now = clock.now();
        const row = fenced(s.progress.get(stage, done, total, msg, now + leaseMs, now, id, token), id);
        appendEvent(row, 'progress');
        return { cancelRequested: row.cancel_requested_at !== null };
      });
    },

    /**
     * Marks the task COMPLETE; `store` (e.g. insert the result row) runs in the same transaction and is
     * rolled back when the lease turns out to be lost.
     */
    complete(id: string, token: string, store?: () => void, msg = 'Done'): void {
      writeTx(db, () => {
        const now = clock.now();
        const row = fenced(s.complete.get(msg, now, now, id, token), id);
        // The event first: it takes the seq the UPDATE reserved, so `store` may change tasks too.
        appendEvent(row, 'completed');
        store?.();
      });
    },

    /**
     * Fails the task. A retryable failure with attempts left goes back to QUEUED after a backoff;
     * otherwise the task ends ERROR with the code.
     */
    fail(id: string, token: string, code: ErrorCode, msg: string, retryable = false): Task {
      return writeTx(db, () => {
        const now = clock.now();
        const cur = fenced(s.get.get(id), id);
        if (retryable && cur.attempt < cur.max_attempts && cur.lease_token === token) {
          const row = fenced(
            s.requeue.get(now + backoffMs(cur.attempt), 0, 0, `Retrying after a problem: ${msg}`, null, null, now, id, token),
            id,
          );
          return appendEventTask(row, 'retry');
        }
        const row = fenced(s.finish.get('ERROR', code, msg, msg, now, now, id, token), id);
        return appendEventTask(row, 'failed');
      });
    },

    /** Puts the task back for `ms` without consuming an attempt (e.g. 429 with Retry-After). */
    retryAfter(id: string, token: string, ms: number, msg: string): Task {
      return writeTx(db, () => {
        const now = clock.now();
        const row = fenced(s.requeue.get(now + ms, 1, 1, msg, null, null, now, id, token), id);
        return appendEventTask(row, 'delayed');
      });
    },

    /** Graceful shutdown: gives the task back at once, without consuming an attempt. */
    release(id: string, token: string): Task {
      return writeTx(db, () => {
        const now = clock.now();
        const row = fenced(s.requeue.get(now, 1, 0, 'Waiting for a worker', null, null, now, id, token), id);
        return appendEventTask(row, 'released');
      });
    },

    /** The worker saw the cancel request and stopped: the task ends CANCELLED. */
    finishCancelled(id: string, token: string): Task {
      return writeTx(db, () => {
        const now = clock.now();
        const msg = 'The mosaic was cancelled.';
        const row = fenced(s.finish.get('CANCELLED', 'CANCELLED', msg, msg, now, now, id, token), id);
        return appendEventTask(row, 'cancelled');
      });
    },

    cancel,

    /**
     * Expired leases go back to QUEUED with backoff while attempts remain (the crashed attempt counts),
     * else end ERROR WORKER_LOST; a pending cancel ends CANCELLED. Leases of workers not seen for
     * `deadWorkerMs` are expired first. Returns the tasks changed.
     */
    sweep(deadWorkerMs = 15_000): Task[] {
      return writeTx(db, () => {
        const now = clock.now();
        s.expireDeadWorkers.run(now - 1, now, now - deadWorkerMs);
        const changed: Task[] = [];
        for (const row of s.expired.all(now)) {
          let next: unknown[];
          if (row.cancel_requested_at !== null) {
            const msg = 'The mosaic was cancelled.';
            next = ['CANCELLED', null, row.stage, row.run_at, 'CANCELLED', msg, msg, now];
          } else if (row.attempt < row.max_attempts) {
            next = ['QUEUED', 1, 'queued', now + backoffMs(row.attempt), null, null,
              'A worker stopped responding; the mosaic will be retried.', null];
          } else {
            const msg = `The worker building this mosaic stopped ${row.attempt} times; giving up. Try again, or try a shorter period.`;
            next = ['ERROR', null, row.stage, row.run_at, 'WORKER_LOST', msg, msg, now];
          }
          const out = s.sweepOne.get(...next, now, row.id, row.lease_token);
          if (out) changed.push(appendEventTask(out, out.status === 'QUEUED' ? 'reclaimed' : out.status === 'ERROR' ? 'lost' : 'cancelled'));
        }
        return changed;
      });
    },

    /** Is any task ready to claim? A plain read: no write lock taken while idle. */
    hasRunnable(): boolean {
      return s.runnable.get(clock.now()) !== undefined;
    },

    /** Has someone asked to cancel this task? (the worker's once-a-second check, a read) */
    isCancelRequested(id: string): boolean {
      return (s.cancelRequested.get(id)?.c ?? null) !== null;
    },

    /** 1-based position among queued tasks (claim order), or null when not queued. */
    queuePosition(id: string): number | null {
      const row = s.get.get(id);
      if (!row || row.status !== 'QUEUED' || row.background) return null;
      return s.position.get(row.run_at, row.run_at, row.created_at, row.created_at, id)!.n + 1;
    },

    /** Ids of all queued tasks in claim order (for pushing queue positions). */
    queuedIds(): string[] {
      return s.queuedIds.all().map((r) => r.id);
    },

    counts(): { queued: number; running: number } {
      const out = { queued: 0, running: 0 };
      for (const r of s.counts.all()) {
        if (r.status === 'QUEUED') out.queued = r.n;
        else if (r.status === 'RUNNING') out.running = r.n;
      }
      return out;
    },
  };
}
