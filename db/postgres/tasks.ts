/**
 * The task queue on PostgreSQL, with db/sqlite/tasks.ts's semantics: enqueue with race-safe dedupe (a
 * partial unique index), claims that never hand one task to two workers (FOR UPDATE SKIP LOCKED),
 * lease-fenced worker writes, heartbeats, cancel, sweeps of expired leases with retries and
 * backoff, and the group commit that completes finished tasks and claims the next ones in one
 * transaction. Each state change's event is written by the tasks trigger in the same transaction
 * (migrations.ts, mm_task_event): statements here only set event_type and bump event_n.
 *
 * The hot paths (claim, complete, complete-and-claim, progress) are one call each, to a procedure
 * (migrations.ts 3, mm_hot_*) that runs the intent's function, commits, and then sends NOTIFY in a
 * transaction that writes nothing: one round trip, and the commit shares its WAL flush with other
 * workers' commits, which a NOTIFY inside the transaction would prevent (PostgreSQL holds its notify
 * lock through the commit's flush). The same functions serve inside transactions (results, writes).
 */
import { createHash, randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { EventType, Stage, Task } from '../../common/task.js';
import { dedupeKey } from '../../common/task.js';
import type { ErrorCode } from '../../common/errors.js';
import { systemClock } from '../../common/clock.js';
import {
  LeaseLostError,
  QueueLimitError,
  type CancelOutcome,
  type ClaimedColumns,
  type ClaimedTask,
  type EnqueueInput,
  type EnqueueOutcome,
  type QueueLimits,
  type QueueOptions,
  type Requester,
  type TaskRow,
  type WithdrawOutcome,
} from '../sqlite/tasks.js';
import type { NewResult } from '../sqlite/results.js';
import type { CompleteAndClaimOutcome, Completion, CompletionWrite, TaskQueue } from '../port.js';
import { savepoint, withTx } from './connect.js';
import { FEED_CHANNEL } from './migrations.js';

/** The columns a claim hands the worker (mm_claim, migrations.ts 3). */
interface ClaimRow extends ClaimedColumns {
  run_at: number;
  background: boolean;
  ord: number;
}

function toClaimed(rows: ClaimRow[]): ClaimedTask[] {
  // UPDATE … RETURNING keeps no order: hand them out oldest run_at first, as the claim picked them.
  rows.sort((a, b) => Number(a.background) - Number(b.background) || a.run_at - b.run_at || a.created_at - b.created_at || a.ord - b.ord);
  return rows.map((r) => ({
    id: r.id,
    action: r.action,
    username: r.username,
    paramsJson: r.params,
    attempt: r.attempt,
    maxAttempts: r.max_attempts,
    delayCount: r.delay_count,
    leaseToken: r.lease_token,
    leaseExpiresAt: r.lease_expires_at,
    createdAt: Number(r.created_at),
  }));
}

/** Ends a running task ($status, $code, $msg, $now, $type). */
const FINISH = `
  UPDATE tasks t SET status = $1, live = NULL, error_code = $2, error_msg = $3, progress_msg = $3, finished_at = $4,
                     updated_at = greatest($4, t.updated_at + 1), lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,
                     event_type = $5, event_n = t.event_n + 1
  WHERE id = $6 AND lease_token = $7 AND status = 'RUNNING'
  RETURNING mm_task_json(t) AS task`;

/** Back to QUEUED ($runAt, $attemptBack, $delayInc, $msg, $now, $type). */
const REQUEUE = `
  UPDATE tasks t SET status = 'QUEUED', stage = 'queued', run_at = $1, attempt = t.attempt - $2,
                     delay_count = t.delay_count + $3, progress_msg = $4, progress_done = NULL, progress_total = NULL,
                     error_code = NULL, error_msg = NULL, updated_at = greatest($5, t.updated_at + 1),
                     lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,
                     event_type = $6, event_n = t.event_n + 1
  WHERE id = $7 AND lease_token = $8 AND status = 'RUNNING'
  RETURNING mm_task_json(t) AS task`;

/** Inserts a task ($id, $action, $username, $params, $paramsView, $key, $maxAttempts, $runAt, $now, $background). */
const INSERT = `
  INSERT INTO tasks (id, action, username, params, params_view, dedupe_key, status, live, progress_msg, stage,
                     max_attempts, run_at, created_at, updated_at, event_type, background)
  VALUES ($1, $2, $3, $4, $5::json, $6, 'QUEUED', true, 'Waiting for a worker', 'queued', $7, $8, $9, $9, 'created', $10)`;

/** What the public Task shows as params: the text when it is JSON PostgreSQL accepts, else {}. */
function paramsView(raw: string): string {
  try {
    JSON.parse(raw);
    // PostgreSQL's json refuses \u0000 in strings, which JavaScript accepts.
    return raw.includes('\\u0000') ? '{}' : raw;
  } catch {
    return '{}';
  }
}

/** A tasks row as PostgreSQL holds it (db/sqlite/tasks.ts TaskRow, with the event columns instead of the seq range). */
export type PgTaskRow = Omit<TaskRow, 'first_seq' | 'last_seq' | 'background'> & {
  live: boolean | null;
  params_view: unknown;
  event_type: string;
  event_n: number;
  background: boolean;
  ord: number;
};

/** What a completing transaction stores besides the COMPLETE (index.ts wires results, budget and archive). */
export interface CompletionStore {
  storeResult(c: pg.ClientBase, taskId: string, result: NewResult, now: number): Promise<void>;
  applyWrite(c: pg.ClientBase, write: CompletionWrite, now: number): Promise<void>;
}

const tokenHash = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * Every statement here runs as a named prepared statement: parsed and planned once per connection
 * (the complete-and-claim statement alone took ~0.2 ms to plan). Names come from the text itself.
 */
const names = new Map<string, string>();
function prepared(text: string, values: unknown[]): pg.QueryConfig {
  let name = names.get(text);
  if (!name) names.set(text, (name = `mm_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`));
  return { name, text, values };
}

/**
 * Commits a transaction that wrote hot events ('claimed', 'progress', 'completed', which the event
 * trigger does not notify: migrations.ts 3) and then notifies, in one round trip: a NOTIFY inside
 * the transaction would hold PostgreSQL's notify lock through the commit's WAL flush and keep other
 * workers' commits from sharing that flush. The NOTIFY's own transaction writes nothing.
 */
const COMMIT_NOTIFY = `COMMIT; SELECT pg_notify('${FEED_CHANNEL}', '')`;

export type PgTaskQueue = ReturnType<typeof createPgTaskQueue>;

export function createPgTaskQueue(pool: pg.Pool, options: QueueOptions = {}, completion?: CompletionStore) {
  const clock = options.clock ?? systemClock;
  const leaseMs = options.leaseMs ?? 30_000;
  const maxAttempts = options.maxAttempts ?? 3;
  const backoffBaseMs = options.backoffBaseMs ?? 2_000;
  const resultFreshMs = options.resultFreshMs ?? 600_000;
  const random = options.random ?? Math.random;

  const q = <R extends pg.QueryResultRow>(sql: string, args: unknown[] = [], c: pg.ClientBase | pg.Pool = pool) =>
    c.query<R>(prepared(sql, args));
  const one = async <R extends pg.QueryResultRow>(sql: string, args: unknown[], c: pg.ClientBase | pg.Pool = pool) =>
    (await q<R>(sql, args, c)).rows[0] as R | undefined;
  const fenced = <R>(row: R | undefined, id: string): R => {
    if (!row) throw new LeaseLostError(id);
    return row;
  };
  const backoffMs = (attempt: number) => {
    const base = backoffBaseMs * 2 ** Math.max(0, attempt - 1);
    return Math.round(base / 2 + random() * (base / 2));
  };
  const taskOf = (row: { task: Task } | undefined) => row?.task;

  /** Claims up to `n` tasks as their own transaction, notifying after the commit (mm_hot_claim). */
  async function claim(workerId: string, n: number): Promise<ClaimedTask[]> {
    if (n <= 0) return [];
    const now = clock.now();
    const row = await one<{ res: ClaimRow[] }>(`CALL mm_hot_claim($1, $2, $3, $4)`, [workerId, now + leaseMs, now, n]);
    return toClaimed(row!.res);
  }

  /**
   * COMPLETE, fenced by the lease. A result, and the writes the action registered, go in the same
   * transaction (`completion` stores them: results, RESULTS_MB, archive); a lost lease stores nothing.
   */
  async function complete(
    id: string,
    token: string,
    result?: NewResult,
    msg = 'Done',
    c: pg.ClientBase | pg.Pool = pool,
    writes: readonly CompletionWrite[] = [],
  ): Promise<void> {
    if (c === pool) {
      if (!result && writes.length === 0) {
        const out = await completeBare([{ id, leaseToken: token, msg }], '', 0);
        if (out.errors[0]) throw out.errors[0];
        return;
      }
      return withTx(pool, (tx) => complete(id, token, result, msg, tx, writes), COMMIT_NOTIFY);
    }
    const tx = c as pg.ClientBase;
    const row = await one<{ res: { done: string[] } }>(
      `SELECT mm_complete_and_claim(ARRAY[$1], ARRAY[$2], ARRAY[$3], $4, '', 0, 0) AS res`,
      [id, token, msg, clock.now()],
      tx,
    );
    fenced(row!.res.done[0], id);
    if (!result && writes.length === 0) return;
    if (!completion) throw new Error('This task queue was made without a completion store: results and completion writes need one.');
    if (result) await completion.storeResult(tx, id, result, clock.now());
    for (const w of writes) await completion.applyWrite(tx, w, clock.now());
  }

  /** Completions without a result, then the claim, as one transaction in one call (mm_hot_complete_and_claim). */
  async function completeBare(completions: readonly Completion[], workerId: string, claimN: number): Promise<CompleteAndClaimOutcome> {
    const now = clock.now();
    const row = await one<{ res: { done: string[]; claimed: ClaimRow[] } }>(`CALL mm_hot_complete_and_claim($1, $2, $3, $4, $5, $6, $7)`, [
      completions.map((x) => x.id),
      completions.map((x) => x.leaseToken),
      completions.map((x) => x.msg ?? 'Done'),
      now,
      workerId,
      now + leaseMs,
      Math.max(0, claimN),
    ]);
    const done = new Set(row!.res.done);
    return {
      errors: completions.map((x) => (done.has(x.id) ? undefined : new LeaseLostError(x.id))),
      claimed: toClaimed(row!.res.claimed),
    };
  }

  /**
   * Group commit. Completions without a result (and the claim) go in one call (mm_hot_complete_and_claim):
   * one round trip, one commit; a completion whose lease is gone simply matches no row. The claim reads the
   * completions' output, so PostgreSQL runs the completions first and their events precede the
   * claims'. Completions with a result, or a statement that failed, take the general path: one
   * transaction, each completion under its own savepoint, then the claim.
   */
  async function completeAndClaim(completions: readonly Completion[], workerId: string, claimN: number): Promise<CompleteAndClaimOutcome> {
    if (completions.length === 0) return { errors: [], claimed: await claim(workerId, claimN) };
    if (completions.every((x) => !x.result && !x.writes?.length)) {
      try {
        return await completeBare(completions, workerId, claimN);
      } catch {
        // e.g. the connection dropped mid-statement: nothing committed; take the general path.
      }
    }
    const errors: (Error | undefined)[] = [];
    let claimed: ClaimedTask[] = [];
    await withTx(
      pool,
      async (c) => {
        errors.length = 0;
        for (const x of completions) {
          try {
            await savepoint(c, () => complete(x.id, x.leaseToken, x.result, x.msg, c, x.writes));
            errors.push(undefined);
          } catch (err) {
            errors.push(err as Error);
          }
        }
        if (claimN > 0) {
          const now = clock.now();
          const row = await one<{ res: ClaimRow[] }>(`SELECT mm_claim($1, $2, $3, $4) AS res`, [workerId, now + leaseMs, now, claimN], c);
          claimed = toClaimed(row!.res);
        }
      },
      COMMIT_NOTIFY,
    );
    return { errors, claimed };
  }

  const refreshEveryMs = options.refreshEveryMs ?? 60_000;
  const insertArgs = (action: string, username: string, params: string, key: string, runAt: number, now: number, background: boolean) => [
    randomUUID(),
    action,
    username,
    params,
    paramsView(params),
    key,
    maxAttempts,
    runAt,
    now,
    background,
  ];
  const INSERT_NEW = `${INSERT} ON CONFLICT (dedupe_key) WHERE live DO NOTHING RETURNING mm_task_json(tasks) AS task`;
  const liveOf = async (key: string, c: pg.ClientBase | pg.Pool = pool) =>
    taskOf(await one<{ task: Task }>(`SELECT mm_task_json(t) AS task FROM tasks t WHERE dedupe_key = $1 AND live`, [key], c));
  /** The newest complete result of `key` finished at or after `since`. */
  const freshOf = async (key: string, since: number, c: pg.ClientBase) =>
    taskOf(
      await one<{ task: Task }>(
        `
    SELECT mm_task_json(t) AS task FROM tasks t JOIN results r ON r.id = t.id
    WHERE t.dedupe_key = $1 AND t.status = 'COMPLETE' AND t.finished_at >= $2
    ORDER BY t.finished_at DESC LIMIT 1`,
        [key, since],
        c,
      ),
    );

  async function join(c: pg.ClientBase, taskId: string, requester: Requester | undefined, now: number): Promise<void> {
    if (!requester) return;
    await q(
      `INSERT INTO task_requesters (task_id, token_hash, client_key, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING`,
      [taskId, tokenHash(requester.cancelToken), requester.clientKey, now],
      c,
    );
  }

  /** Throws QueueLimitError when a new task of `action` would break a cap; nothing is written. */
  async function checkCaps(c: pg.ClientBase, action: string, requester: Requester | undefined, limits: QueueLimits): Promise<void> {
    const mine = requester
      ? (await one<{ n: number }>(
          `
      SELECT count(DISTINCT r.task_id)::int AS n FROM task_requesters r JOIN tasks t ON t.id = r.task_id
      WHERE r.client_key = $1 AND r.withdrawn_at IS NULL AND t.live AND t.action = $2`,
          [requester.clientKey, action],
          c,
        ))!.n
      : 0;
    if (mine >= limits.perClient) throw new QueueLimitError('client', mine, limits.perClient);
    const queued = (await one<{ n: number }>(`SELECT count(*)::int AS n FROM tasks WHERE status = 'QUEUED' AND action = $1`, [action], c))!
      .n;
    if (queued >= limits.max) throw new QueueLimitError('queue', queued, limits.max);
  }

  /** Inserts a background task under `key`; undefined when a live one holds the key. */
  async function insertBackground(
    c: pg.ClientBase | pg.Pool,
    action: string,
    username: string,
    params: string,
    key: string,
    runAt: number,
  ) {
    return taskOf(await one<{ task: Task }>(INSERT_NEW, insertArgs(action, username, params, key, runAt, clock.now(), true), c));
  }

  /** Queued: CANCELLED at once; running: flagged for its worker (inside the caller's transaction). */
  async function cancelOn(c: pg.ClientBase, id: string): Promise<CancelOutcome | undefined> {
    const now = clock.now();
    const msg = 'The mosaic was cancelled.';
    const queued = await one<{ task: Task }>(
      `
      UPDATE tasks t SET status = 'CANCELLED', live = NULL, error_code = 'CANCELLED', error_msg = $1, progress_msg = $1,
                         cancel_requested_at = $2, finished_at = $2, updated_at = greatest($2, t.updated_at + 1),
                         event_type = 'cancelled', event_n = t.event_n + 1
      WHERE id = $3 AND status = 'QUEUED' RETURNING mm_task_json(t) AS task`,
      [msg, now, id],
      c,
    );
    if (queued) return { task: queued.task, finished: false };
    const running = await one<{ task: Task }>(
      `
      UPDATE tasks t SET cancel_requested_at = $1, progress_msg = 'Cancelling…', updated_at = greatest($1, t.updated_at + 1),
                         event_type = 'cancel_requested', event_n = t.event_n + 1
      WHERE id = $2 AND status = 'RUNNING' AND cancel_requested_at IS NULL RETURNING mm_task_json(t) AS task`,
      [now, id],
      c,
    );
    if (running) return { task: running.task, finished: false };
    const task = taskOf(await one<{ task: Task }>(`SELECT mm_task_json(t) AS task FROM tasks t WHERE id = $1`, [id], c));
    if (!task) return undefined;
    // Already running with a cancel pending: same answer again. Finished: the caller says 409.
    return { task, finished: task.status !== 'RUNNING' };
  }

  const queue = {
    /**
     * Adds a task, or returns the live twin / a fresh complete result of the same request, as
     * db/sqlite/tasks/enqueue.ts does: the refresh rule, requesters and caps included. One
     * transaction; the partial unique index settles races between servers (a conflicting INSERT
     * waits for the racing one, then the live twin is read).
     */
    async enqueue(input: EnqueueInput): Promise<EnqueueOutcome> {
      const key = dedupeKey(input.action, input.username, input.params);
      const paramsJson = JSON.stringify(input.params);
      // A twin may finish between our insert attempt and the read of it: try again (rarely twice).
      for (let i = 0; i < 5; i++) {
        const out = await withTx(pool, async (c): Promise<EnqueueOutcome | undefined> => {
          const now = clock.now();
          const freshSince = input.refresh
            ? input.requestedAt === undefined
              ? undefined
              : Math.max(input.requestedAt + 1, input.staleBefore ?? 0)
            : Math.max(now - resultFreshMs, input.staleBefore ?? 0);
          if (freshSince !== undefined) {
            const done = await freshOf(key, freshSince, c);
            if (done) return { task: done, deduped: true };
          }
          const joined = async (task: Task): Promise<EnqueueOutcome> => {
            await join(c, task.id, input.requester, now);
            return { task, deduped: true };
          };
          if (input.refresh && !(await liveOf(key, c))) {
            // One new mosaic per request per minute: `refresh` skips dedupe, and each result takes space.
            const made =
              (
                await one<{ m: number | null }>(
                  `
              SELECT max(t.finished_at) AS m FROM tasks t JOIN results r ON r.id = t.id
              WHERE t.dedupe_key = $1 AND t.status = 'COMPLETE'`,
                  [key],
                  c,
                )
              )?.m ?? null;
            if (made !== null && made >= (input.staleBefore ?? 0) && now - made < refreshEveryMs) {
              return { task: (await freshOf(key, made, c))!, deduped: true, refreshIn: made + refreshEveryMs - now };
            }
          }
          if (input.limits) {
            // The caps apply to new tasks only: joining a live twin adds no work.
            const live = await liveOf(key, c);
            if (live) return joined(live);
            await checkCaps(c, input.action, input.requester, input.limits);
          }
          const row = await one<{ task: Task }>(INSERT_NEW, insertArgs(input.action, input.username, paramsJson, key, now, now, false), c);
          if (row) {
            await join(c, row.task.id, input.requester, now);
            return { task: row.task, deduped: false };
          }
          const live = await liveOf(key, c);
          return live ? joined(live) : undefined;
        });
        if (out) return out;
      }
      throw new Error(`dedupe conflict without a live task for ${key}`);
    },

    /**
     * Queues a background housekeeping task under its own dedupe key (e.g. one result's renditions):
     * the live twin is returned while one is queued or running.
     */
    async enqueueKeyed(action: string, username: string, params: Record<string, unknown>, key: string): Promise<EnqueueOutcome> {
      const fullKey = `${action}:${key}`;
      for (let i = 0; i < 5; i++) {
        const task = await insertBackground(pool, action, username, JSON.stringify(params), fullKey, clock.now());
        if (task) return { task, deduped: false };
        const live = await liveOf(fullKey);
        if (live) return { task: live, deduped: true };
      }
      throw new Error(`dedupe conflict without a live task for ${fullKey}`);
    },

    /** Schedules a background task (a feed poll) at `runAt`; null when one is already live for the action and member. */
    async schedule(action: string, username: string, runAt: number): Promise<Task | null> {
      return (await insertBackground(pool, action, username, '{}', `${action}:${username}`, runAt)) ?? null;
    },

    /** The same, inside a completing transaction. */
    scheduleOn: (c: pg.ClientBase, action: string, username: string, runAt: number) =>
      insertBackground(c, action, username, '{}', `${action}:${username}`, runAt),

    /** Deletes finished background tasks (polls) older than `olderThan`, in small batches. */
    async pruneBackground(olderThan: number, batch = 500): Promise<number> {
      let total = 0;
      for (;;) {
        const n =
          (
            await pool.query(
              `
          DELETE FROM tasks WHERE id IN (
            SELECT id FROM tasks WHERE background AND live IS NULL AND finished_at < $1 LIMIT $2)`,
              [olderThan, batch],
            )
          ).rowCount ?? 0;
        total += n;
        if (n < batch) return total;
      }
    },

    /** A requester's DELETE by cancel token; the last requester out cancels the task. Undefined for an unknown id. */
    async withdraw(id: string, cancelToken: string): Promise<WithdrawOutcome | undefined> {
      return withTx(pool, async (c): Promise<WithdrawOutcome | undefined> => {
        // The row lock orders withdrawals of one task: the last one out sees nobody left.
        const task = taskOf(await one<{ task: Task }>(`SELECT mm_task_json(t) AS task FROM tasks t WHERE id = $1 FOR UPDATE`, [id], c));
        if (!task) return undefined;
        const hash = tokenHash(cancelToken);
        if (!(await one(`SELECT 1 FROM task_requesters WHERE task_id = $1 AND token_hash = $2`, [id, hash], c)))
          return { kind: 'forbidden' };
        if (task.status !== 'QUEUED' && task.status !== 'RUNNING') return { kind: 'finished', task };
        await q(
          `UPDATE task_requesters SET withdrawn_at = $1 WHERE task_id = $2 AND token_hash = $3 AND withdrawn_at IS NULL`,
          [clock.now(), id, hash],
          c,
        );
        const left = (await one<{ n: number }>(
          `SELECT count(*)::int AS n FROM task_requesters WHERE task_id = $1 AND withdrawn_at IS NULL`,
          [id],
          c,
        ))!.n;
        if (left > 0) return { kind: 'left', task };
        const outcome = (await cancelOn(c, id))!;
        return outcome.finished ? { kind: 'finished', task: outcome.task } : { kind: 'cancelled', task: outcome.task };
      });
    },

    async enqueueRaw(action: string, username: string, paramsJson: string): Promise<Task> {
      const now = clock.now();
      const row = await one<{ task: Task }>(
        `${INSERT} RETURNING mm_task_json(tasks) AS task`,
        insertArgs(action, username, paramsJson, `raw:${randomUUID()}`, now, now, false),
      );
      return row!.task;
    },

    /** Adds `n` raw tasks in one statement (benchmarks). */
    async enqueueRawMany(action: string, usernames: readonly string[], paramsJson: string): Promise<void> {
      const now = clock.now();
      await pool.query(
        `
        INSERT INTO tasks (id, action, username, params, params_view, dedupe_key, status, live, progress_msg, stage,
                           max_attempts, run_at, created_at, updated_at, event_type)
        SELECT gen_random_uuid()::text, $1, u, $2, $3::json, 'raw:' || gen_random_uuid(), 'QUEUED', true,
               'Waiting for a worker', 'queued', $4, $5, $5, $5, 'created'
        FROM unnest($6::text[]) AS u`,
        [action, paramsJson, paramsView(paramsJson), maxAttempts, now, usernames],
      );
    },

    async get(id: string): Promise<Task | undefined> {
      return taskOf(await one<{ task: Task }>(`SELECT mm_task_json(t) AS task FROM tasks t WHERE id = $1`, [id]));
    },

    /** The raw row (tests). */
    async getRow(id: string): Promise<PgTaskRow | undefined> {
      return one<PgTaskRow>(`SELECT * FROM tasks WHERE id = $1`, [id]);
    },

    claim,

    async heartbeat(id: string, token: string): Promise<{ cancelRequested: boolean }> {
      const row = fenced(
        await one<{ c: number | null }>(
          `
        UPDATE tasks SET lease_expires_at = $1 WHERE id = $2 AND lease_token = $3 AND status = 'RUNNING'
        RETURNING cancel_requested_at AS c`,
          [clock.now() + leaseMs, id, token],
        ),
        id,
      );
      return { cancelRequested: row.c !== null };
    },

    async progress(id: string, token: string, stage: Stage, done: number | null, total: number | null, msg: string) {
      const now = clock.now();
      const row = await one<{ hit: boolean | null; cancel_at: number | null }>(`CALL mm_hot_progress($1, $2, $3, $4, $5, $6, $7, $8)`, [
        id,
        token,
        stage,
        done,
        total,
        msg,
        now + leaseMs,
        now,
      ]);
      fenced(row?.hit ?? undefined, id);
      return { cancelRequested: row!.cancel_at !== null };
    },

    complete: (id: string, token: string, result?: NewResult, msg?: string) => complete(id, token, result, msg),

    completeAndClaim,

    async fail(id: string, token: string, code: ErrorCode, msg: string, retryable = false): Promise<Task> {
      return withTx(pool, async (c) => {
        const now = clock.now();
        const cur = fenced(
          await one<{ attempt: number; max_attempts: number }>(
            `SELECT attempt, max_attempts FROM tasks WHERE id = $1 AND lease_token = $2 AND status = 'RUNNING' FOR UPDATE`,
            [id, token],
            c,
          ),
          id,
        );
        if (retryable && cur.attempt < cur.max_attempts) {
          return fenced(
            await one<{ task: Task }>(
              REQUEUE,
              [now + backoffMs(cur.attempt), 0, 0, `Retrying after a problem: ${msg}`, now, 'retry', id, token],
              c,
            ),
            id,
          ).task;
        }
        return fenced(await one<{ task: Task }>(FINISH, ['ERROR', code, msg, now, 'failed', id, token], c), id).task;
      });
    },

    async retryAfter(id: string, token: string, ms: number, msg: string): Promise<Task> {
      const now = clock.now();
      return fenced(await one<{ task: Task }>(REQUEUE, [now + ms, 1, 1, msg, now, 'delayed', id, token]), id).task;
    },

    async release(id: string, token: string): Promise<Task> {
      const now = clock.now();
      return fenced(await one<{ task: Task }>(REQUEUE, [now, 1, 0, 'Waiting for a worker', now, 'released', id, token]), id).task;
    },

    async finishCancelled(id: string, token: string): Promise<Task> {
      const msg = 'The mosaic was cancelled.';
      return fenced(await one<{ task: Task }>(FINISH, ['CANCELLED', 'CANCELLED', msg, clock.now(), 'cancelled', id, token]), id).task;
    },

    async cancel(id: string): Promise<CancelOutcome | undefined> {
      return withTx(pool, (c) => cancelOn(c, id));
    },

    /**
     * Expired leases go back to QUEUED with backoff while attempts remain (the crashed attempt
     * counts), else end ERROR WORKER_LOST; a pending cancel ends CANCELLED. Leases of workers not
     * seen for `deadWorkerMs` expire first. Two sweepers at once skip each other's rows.
     */
    async sweep(deadWorkerMs = 15_000): Promise<Task[]> {
      return withTx(pool, async (c) => {
        const now = clock.now();
        await c.query(
          `
          UPDATE tasks SET lease_expires_at = $1
          WHERE status = 'RUNNING' AND lease_expires_at > $2
            AND lease_owner IN (SELECT id FROM workers WHERE last_seen_at < $3)`,
          [now - 1, now, now - deadWorkerMs],
        );
        const lost = (n: string) =>
          `'The worker building this mosaic stopped ' || ${n} || ' times; giving up. Try again, or try a shorter period.'`;
        const { rows } = await c.query<{ task: Task; type: EventType }>(
          `
          WITH expired AS (
            SELECT id, CASE WHEN cancel_requested_at IS NOT NULL THEN 'cancelled'
                            WHEN attempt < max_attempts THEN 'reclaimed' ELSE 'lost' END AS next
            FROM tasks WHERE status = 'RUNNING' AND lease_expires_at < $1
            ORDER BY lease_expires_at LIMIT 100 FOR UPDATE SKIP LOCKED)
          UPDATE tasks t SET
            status = CASE e.next WHEN 'cancelled' THEN 'CANCELLED' WHEN 'reclaimed' THEN 'QUEUED' ELSE 'ERROR' END,
            live = CASE WHEN e.next = 'reclaimed' THEN true END,
            stage = CASE WHEN e.next = 'reclaimed' THEN 'queued' ELSE t.stage END,
            run_at = CASE WHEN e.next = 'reclaimed' THEN $1 + mm_backoff(t.attempt, $2, coalesce($3::float8, random())) ELSE t.run_at END,
            error_code = CASE e.next WHEN 'cancelled' THEN 'CANCELLED' WHEN 'lost' THEN 'WORKER_LOST' END,
            error_msg = CASE e.next WHEN 'cancelled' THEN 'The mosaic was cancelled.' WHEN 'lost' THEN ${lost('t.attempt')} END,
            progress_msg = CASE e.next WHEN 'cancelled' THEN 'The mosaic was cancelled.' WHEN 'lost' THEN ${lost('t.attempt')}
                                ELSE 'A worker stopped responding; the mosaic will be retried.' END,
            finished_at = CASE WHEN e.next = 'reclaimed' THEN NULL ELSE $1 END,
            updated_at = greatest($1, t.updated_at + 1), progress_done = NULL, progress_total = NULL,
            lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,
            event_type = e.next, event_n = t.event_n + 1
          FROM expired e WHERE t.id = e.id
          RETURNING mm_task_json(t) AS task, e.next AS type`,
          [now, backoffBaseMs, options.random ? random() : null],
        );
        return rows.map((r) => r.task);
      });
    },

    async hasRunnable(): Promise<boolean> {
      return (await one(`SELECT 1 FROM tasks WHERE status = 'QUEUED' AND run_at <= $1 LIMIT 1`, [clock.now()])) !== undefined;
    },

    async isCancelRequested(id: string): Promise<boolean> {
      return ((await one<{ c: number | null }>(`SELECT cancel_requested_at AS c FROM tasks WHERE id = $1`, [id]))?.c ?? null) !== null;
    },

    async queuedIds(): Promise<string[]> {
      return (
        await q<{ id: string }>(`SELECT id FROM tasks WHERE status = 'QUEUED' AND NOT background ORDER BY run_at, created_at, ord`)
      ).rows.map((r) => r.id);
    },

    /** Live tasks; queued background tasks are not counted (a running one holds a worker slot). */
    async counts(): Promise<{ queued: number; running: number }> {
      const out = { queued: 0, running: 0 };
      for (const r of (
        await q<{ status: string; n: number }>(
          `SELECT status, count(*) AS n FROM tasks WHERE live AND (NOT background OR status = 'RUNNING') GROUP BY status`,
        )
      ).rows) {
        if (r.status === 'QUEUED') out.queued = r.n;
        else if (r.status === 'RUNNING') out.running = r.n;
      }
      return out;
    },
  };
  return queue satisfies TaskQueue & Record<string, unknown>;
}
