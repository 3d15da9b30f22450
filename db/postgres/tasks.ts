/**
 * The task queue on PostgreSQL, with db/sqlite/tasks.ts's semantics: enqueue with race-safe dedupe (a
 * partial unique index), claims that never hand one task to two workers (FOR UPDATE SKIP LOCKED),
 * lease-fenced worker writes, heartbeats, cancel, sweeps of expired leases with retries and
 * backoff, and the group commit that completes finished tasks and claims the next ones in one
 * transaction. Each state change's event is written by the tasks trigger in the same transaction
 * (migrations.ts, mm_task_event): statements here only set event_type and bump event_n.
 *
 * The hot paths (claim, complete, complete-and-claim, progress) are single statements: one round
 * trip and one commit each.
 */
import { createHash, randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { EventType, Stage, Task } from '../../common/task.js';
import { dedupeKey } from '../../common/task.js';
import type { ErrorCode } from '../../common/errors.js';
import { systemClock } from '../../common/clock.js';
import { LeaseLostError, type ClaimedColumns, type ClaimedTask, type EnqueueInput, type EnqueueOutcome, type QueueOptions, type TaskRow } from '../sqlite/tasks.js';
import type { NewResult } from '../sqlite/results.js';
import type { CompleteAndClaimOutcome, Completion, TaskQueueCore } from '../port.js';
import { savepoint, withTx } from './connect.js';

/** The columns a claim hands the worker. */
const CLAIMED = `t.id, t.action, t.username, t.params, t.attempt, t.max_attempts, t.delay_count, t.lease_token,
                 t.lease_expires_at, t.run_at, t.created_at`;

interface ClaimRow extends ClaimedColumns {
  run_at: number;
}

function toClaimed(rows: ClaimRow[]): ClaimedTask[] {
  // UPDATE … RETURNING keeps no order: hand them out oldest run_at first, as the claim picked them.
  rows.sort((a, b) => a.run_at - b.run_at || a.created_at - b.created_at || (a.id < b.id ? -1 : 1));
  return rows.map((r) => ({
    id: r.id, action: r.action, username: r.username, paramsJson: r.params, attempt: r.attempt,
    maxAttempts: r.max_attempts, delayCount: r.delay_count, leaseToken: r.lease_token, leaseExpiresAt: r.lease_expires_at,
    createdAt: Number(r.created_at),
  }));
}

/** The tasks a claim takes: the oldest runnable, skipping rows another claim holds ($now, $n). */
const PICK = (now: string, n: string) => `
  SELECT id FROM tasks WHERE status = 'QUEUED' AND run_at <= ${now}
  ORDER BY run_at, created_at LIMIT ${n} FOR UPDATE SKIP LOCKED`;

/** The SET list of a claim ($owner, $expires, $now). */
const CLAIM_SET = (owner: string, expires: string, now: string) => `
  status = 'RUNNING', attempt = t.attempt + 1, lease_owner = ${owner},
  lease_token = replace(gen_random_uuid()::text, '-', ''), lease_expires_at = ${expires},
  started_at = coalesce(t.started_at, ${now}), updated_at = greatest(${now}, t.updated_at + 1),
  stage = 'collecting', progress_msg = 'Starting', progress_done = NULL, progress_total = NULL,
  event_type = 'claimed', event_n = t.event_n + 1`;

/** The SET list of a completion ($msg, $now). */
const COMPLETE_SET = (msg: string, now: string) => `
  status = 'COMPLETE', live = NULL, stage = 'done', progress_msg = ${msg}, finished_at = ${now},
  updated_at = greatest(${now}, t.updated_at + 1), lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,
  event_type = 'completed', event_n = t.event_n + 1`;

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

/** Inserts a task ($id, $action, $username, $params, $paramsView, $key, $maxAttempts, $now). */
const INSERT = `
  INSERT INTO tasks (id, action, username, params, params_view, dedupe_key, status, live, progress_msg, stage,
                     max_attempts, run_at, created_at, updated_at, event_type)
  SELECT $1, $2, $3, $4, $5::json, $6, 'QUEUED', true, 'Waiting for a worker', 'queued', $7, $8, $8, $8, 'created'`;

const RESULT_COLUMNS = 'id, result, content_type, width, height, films, partial, note, review, etag, created_at';

function etagOf(image: Buffer): string {
  return `"${createHash('sha256').update(image).digest('base64url').slice(0, 32)}"`;
}

/** A result's values after its task id ($2…$11). */
function resultValues(r: NewResult, now: number): unknown[] {
  return [r.image, r.contentType, r.width, r.height, JSON.stringify(r.films), r.partial, r.note,
    r.review ? JSON.stringify(r.review) : null, etagOf(r.image), now];
}

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
export type PgTaskRow = Omit<TaskRow, 'first_seq' | 'last_seq'> & { live: boolean | null; params_view: unknown; event_type: string; event_n: number };

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

export type PgTaskQueue = ReturnType<typeof createPgTaskQueue>;

export function createPgTaskQueue(pool: pg.Pool, options: QueueOptions = {}) {
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

  async function claim(workerId: string, n: number): Promise<ClaimedTask[]> {
    if (n <= 0) return [];
    const now = clock.now();
    const { rows } = await q<ClaimRow>(`
      UPDATE tasks t SET ${CLAIM_SET('$1', '$2', '$3')}
      FROM (${PICK('$3', '$4')}) c WHERE t.id = c.id
      RETURNING ${CLAIMED}`, [workerId, now + leaseMs, now, n]);
    return toClaimed(rows);
  }

  async function complete(id: string, token: string, result?: NewResult, msg = 'Done', c: pg.ClientBase | pg.Pool = pool): Promise<void> {
    const now = clock.now();
    const done = `UPDATE tasks t SET ${COMPLETE_SET('$1', '$2')} WHERE id = $3 AND lease_token = $4 AND status = 'RUNNING' RETURNING id`;
    if (!result) {
      fenced(await one(done, [msg, now, id, token], c), id);
      return;
    }
    // The result goes in only when the fenced UPDATE matched: a lost lease stores nothing.
    const row = await one<{ n: number }>(`
      WITH done AS (${done}),
      stored AS (INSERT INTO results (${RESULT_COLUMNS})
                 SELECT done.id, $5::bytea, $6, $7, $8, $9, $10, $11, $12, $13, $14 FROM done RETURNING id)
      SELECT count(*)::int AS n FROM stored`, [msg, now, id, token, ...resultValues(result, now)], c);
    fenced(row && row.n === 1 ? row : undefined, id);
  }

  /**
   * Group commit. Completions without a result (and the claim) go in one statement: one round trip,
   * one commit; a completion whose lease is gone simply matches no row. The claim reads the
   * completions' output, so PostgreSQL runs the completions first and their events precede the
   * claims'. Completions with a result, or a statement that failed, take the general path: one
   * transaction, each completion under its own savepoint, then the claim.
   */
  async function completeAndClaim(completions: readonly Completion[], workerId: string, claimN: number): Promise<CompleteAndClaimOutcome> {
    if (completions.some((x) => x.writes?.length)) {
      // Refused rather than dropped: a follow or a kept feed read must never vanish silently.
      throw new Error('The PostgreSQL adapter does not apply completion writes yet (issue 16): complete these tasks on SQLite.');
    }
    if (completions.length === 0) return { errors: [], claimed: await claim(workerId, claimN) };
    if (completions.every((x) => !x.result)) {
      const now = clock.now();
      try {
        const { rows } = await q<ClaimRow & { kind: string }>(`
          WITH done AS (
            UPDATE tasks t SET ${COMPLETE_SET('x.msg', '$4')}
            FROM unnest($1::text[], $2::text[], $3::text[]) AS x(id, token, msg)
            WHERE t.id = x.id AND t.lease_token = x.token AND t.status = 'RUNNING'
            RETURNING t.id),
          claimed AS (
            UPDATE tasks t SET ${CLAIM_SET('$5', '$6', '$4')}
            FROM (SELECT id FROM tasks WHERE status = 'QUEUED' AND run_at <= $4 AND (SELECT count(*) FROM done) >= 0
                  ORDER BY run_at, created_at LIMIT $7 FOR UPDATE SKIP LOCKED) c
            WHERE t.id = c.id
            RETURNING ${CLAIMED})
          SELECT 'done' AS kind, id, NULL AS action, NULL AS username, NULL AS params, NULL::int AS attempt,
                 NULL::int AS max_attempts, NULL::int AS delay_count, NULL AS lease_token, NULL::bigint AS lease_expires_at,
                 NULL::bigint AS run_at, NULL::bigint AS created_at FROM done
          UNION ALL SELECT 'claimed', * FROM claimed`,
        [completions.map((x) => x.id), completions.map((x) => x.leaseToken), completions.map((x) => x.msg ?? 'Done'),
          now, workerId, now + leaseMs, Math.max(0, claimN)]);
        const done = new Set(rows.filter((r) => r.kind === 'done').map((r) => r.id));
        return {
          errors: completions.map((x) => (done.has(x.id) ? undefined : new LeaseLostError(x.id))),
          claimed: toClaimed(rows.filter((r) => r.kind === 'claimed')),
        };
      } catch {
        // e.g. the connection dropped mid-statement: nothing committed; take the general path.
      }
    }
    const errors: (Error | undefined)[] = [];
    let claimed: ClaimedTask[] = [];
    await withTx(pool, async (c) => {
      errors.length = 0;
      for (const x of completions) {
        try {
          await savepoint(c, () => complete(x.id, x.leaseToken, x.result, x.msg, c));
          errors.push(undefined);
        } catch (err) {
          errors.push(err as Error);
        }
      }
      if (claimN > 0) {
        const now = clock.now();
        const { rows } = await c.query<ClaimRow>(`
          UPDATE tasks t SET ${CLAIM_SET('$1', '$2', '$3')} FROM (${PICK('$3', '$4')}) c WHERE t.id = c.id
          RETURNING ${CLAIMED}`, [workerId, now + leaseMs, now, claimN]);
        claimed = toClaimed(rows);
      }
    });
    return { errors, claimed };
  }

  const queue = {
    async enqueue(input: EnqueueInput): Promise<EnqueueOutcome> {
      const key = dedupeKey(input.action, input.username, input.params);
      const paramsJson = JSON.stringify(input.params);
      // A twin may finish between our insert attempt and the read of it: try again (rarely twice).
      for (let i = 0; i < 5; i++) {
        const now = clock.now();
        const freshSince = input.refresh
          ? input.requestedAt === undefined ? null : Math.max(input.requestedAt + 1, input.staleBefore ?? 0)
          : Math.max(now - resultFreshMs, input.staleBefore ?? 0);
        // One statement: a fresh complete twin, else a new task, else nothing (a live twin exists:
        // the partial unique index turned the insert into a no-op, after waiting for a racing insert).
        const { rows } = await q<{ deduped: boolean; task: Task }>(`
          WITH fresh AS (
            SELECT mm_task_json(t) AS task FROM tasks t JOIN results r ON r.id = t.id
            WHERE $9::bigint IS NOT NULL AND t.username = $3 AND t.dedupe_key = $6 AND t.status = 'COMPLETE' AND t.finished_at >= $9
            ORDER BY t.finished_at DESC LIMIT 1),
          ins AS (${INSERT} WHERE NOT EXISTS (SELECT 1 FROM fresh)
                  ON CONFLICT (dedupe_key) WHERE live DO NOTHING
                  RETURNING mm_task_json(tasks) AS task)
          SELECT true AS deduped, task FROM fresh UNION ALL SELECT false, task FROM ins`,
        [randomUUID(), input.action, input.username, paramsJson, paramsView(paramsJson), key, maxAttempts, now, freshSince]);
        if (rows[0]) return { task: rows[0].task, deduped: rows[0].deduped };
        const live = await one<{ task: Task }>(`SELECT mm_task_json(t) AS task FROM tasks t WHERE dedupe_key = $1 AND live`, [key]);
        if (live) return { task: live.task, deduped: true };
      }
      throw new Error(`dedupe conflict without a live task for ${key}`);
    },

    async enqueueRaw(action: string, username: string, paramsJson: string): Promise<Task> {
      const row = await one<{ task: Task }>(`${INSERT} RETURNING mm_task_json(tasks) AS task`,
        [randomUUID(), action, username, paramsJson, paramsView(paramsJson), `raw:${randomUUID()}`, maxAttempts, clock.now()]);
      return row!.task;
    },

    /** Adds `n` raw tasks in one statement (benchmarks). */
    async enqueueRawMany(action: string, usernames: readonly string[], paramsJson: string): Promise<void> {
      const now = clock.now();
      await pool.query(`
        INSERT INTO tasks (id, action, username, params, params_view, dedupe_key, status, live, progress_msg, stage,
                           max_attempts, run_at, created_at, updated_at, event_type)
        SELECT gen_random_uuid()::text, $1, u, $2, $3::json, 'raw:' || gen_random_uuid(), 'QUEUED', true,
               'Waiting for a worker', 'queued', $4, $5, $5, $5, 'created'
        FROM unnest($6::text[]) AS u`, [action, paramsJson, paramsView(paramsJson), maxAttempts, now, usernames]);
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
      const row = fenced(await one<{ c: number | null }>(`
        UPDATE tasks SET lease_expires_at = $1 WHERE id = $2 AND lease_token = $3 AND status = 'RUNNING'
        RETURNING cancel_requested_at AS c`, [clock.now() + leaseMs, id, token]), id);
      return { cancelRequested: row.c !== null };
    },

    async progress(id: string, token: string, stage: Stage, done: number | null, total: number | null, msg: string) {
      const now = clock.now();
      const row = fenced(await one<{ c: number | null }>(`
        UPDATE tasks t SET stage = $1, progress_done = $2, progress_total = $3, progress_msg = $4, lease_expires_at = $5,
                           updated_at = greatest($6, t.updated_at + 1), event_type = 'progress', event_n = t.event_n + 1
        WHERE id = $7 AND lease_token = $8 AND status = 'RUNNING'
        RETURNING cancel_requested_at AS c`, [stage, done, total, msg, now + leaseMs, now, id, token]), id);
      return { cancelRequested: row.c !== null };
    },

    complete: (id: string, token: string, result?: NewResult, msg?: string) => complete(id, token, result, msg),

    completeAndClaim,

    async fail(id: string, token: string, code: ErrorCode, msg: string, retryable = false): Promise<Task> {
      return withTx(pool, async (c) => {
        const now = clock.now();
        const cur = fenced(await one<{ attempt: number; max_attempts: number }>(
          `SELECT attempt, max_attempts FROM tasks WHERE id = $1 AND lease_token = $2 AND status = 'RUNNING' FOR UPDATE`, [id, token], c), id);
        if (retryable && cur.attempt < cur.max_attempts) {
          return fenced(await one<{ task: Task }>(REQUEUE,
            [now + backoffMs(cur.attempt), 0, 0, `Retrying after a problem: ${msg}`, now, 'retry', id, token], c), id).task;
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

    async cancel(id: string): Promise<{ task: Task; finished: boolean } | undefined> {
      return withTx(pool, async (c) => {
        const now = clock.now();
        const msg = 'The mosaic was cancelled.';
        const q = await one<{ task: Task }>(`
          UPDATE tasks t SET status = 'CANCELLED', live = NULL, error_code = 'CANCELLED', error_msg = $1, progress_msg = $1,
                             cancel_requested_at = $2, finished_at = $2, updated_at = greatest($2, t.updated_at + 1),
                             event_type = 'cancelled', event_n = t.event_n + 1
          WHERE id = $3 AND status = 'QUEUED' RETURNING mm_task_json(t) AS task`, [msg, now, id], c);
        if (q) return { task: q.task, finished: false };
        const r = await one<{ task: Task }>(`
          UPDATE tasks t SET cancel_requested_at = $1, progress_msg = 'Cancelling…', updated_at = greatest($1, t.updated_at + 1),
                             event_type = 'cancel_requested', event_n = t.event_n + 1
          WHERE id = $2 AND status = 'RUNNING' AND cancel_requested_at IS NULL RETURNING mm_task_json(t) AS task`, [now, id], c);
        if (r) return { task: r.task, finished: false };
        const task = taskOf(await one<{ task: Task }>(`SELECT mm_task_json(t) AS task FROM tasks t WHERE id = $1`, [id], c));
        if (!task) return undefined;
        // Already running with a cancel pending: same answer again. Finished: the caller says 409.
        return { task, finished: task.status !== 'RUNNING' };
      });
    },

    /**
     * Expired leases go back to QUEUED with backoff while attempts remain (the crashed attempt
     * counts), else end ERROR WORKER_LOST; a pending cancel ends CANCELLED. Leases of workers not
     * seen for `deadWorkerMs` expire first. Two sweepers at once skip each other's rows.
     */
    async sweep(deadWorkerMs = 15_000): Promise<Task[]> {
      return withTx(pool, async (c) => {
        const now = clock.now();
        await c.query(`
          UPDATE tasks SET lease_expires_at = $1
          WHERE status = 'RUNNING' AND lease_expires_at > $2
            AND lease_owner IN (SELECT id FROM workers WHERE last_seen_at < $3)`, [now - 1, now, now - deadWorkerMs]);
        const lost = (n: string) => `'The worker building this mosaic stopped ' || ${n} || ' times; giving up. Try again, or try a shorter period.'`;
        const { rows } = await c.query<{ task: Task; type: EventType }>(`
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
        [now, backoffBaseMs, options.random ? random() : null]);
        return rows.map((r) => r.task);
      });
    },

    async hasRunnable(): Promise<boolean> {
      return (await one(`SELECT 1 FROM tasks WHERE status = 'QUEUED' AND run_at <= $1 LIMIT 1`, [clock.now()])) !== undefined;
    },

    async isCancelRequested(id: string): Promise<boolean> {
      return ((await one<{ c: number | null }>(`SELECT cancel_requested_at AS c FROM tasks WHERE id = $1`, [id]))?.c ?? null) !== null;
    },

    async queuePosition(id: string): Promise<number | null> {
      const row = await one<{ n: number | null }>(`
        SELECT CASE WHEN me.status = 'QUEUED' THEN (
          SELECT count(*) + 1 FROM tasks q WHERE q.status = 'QUEUED'
            AND (q.run_at, q.created_at, q.id) < (me.run_at, me.created_at, me.id)) END AS n
        FROM tasks me WHERE me.id = $1`, [id]);
      return row?.n ?? null;
    },

    async queuedIds(): Promise<string[]> {
      return (await q<{ id: string }>(`SELECT id FROM tasks WHERE status = 'QUEUED' ORDER BY run_at, created_at, id`)).rows.map((r) => r.id);
    },

    async counts(): Promise<{ queued: number; running: number }> {
      const out = { queued: 0, running: 0 };
      for (const r of (await q<{ status: string; n: number }>(
        `SELECT status, count(*) AS n FROM tasks WHERE live GROUP BY status`)).rows) {
        if (r.status === 'QUEUED') out.queued = r.n;
        else if (r.status === 'RUNNING') out.running = r.n;
      }
      return out;
    },
  };
  return queue satisfies TaskQueueCore & Record<string, unknown>;
}
