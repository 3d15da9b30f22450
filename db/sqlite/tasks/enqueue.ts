/**
 * Adding tasks: a mosaic request (race-safe dedupe against the live twin and a fresh result, the
 * refresh rule, the caps), a background poll, a keyed housekeeping task, a raw row. One INSERT,
 * whose partial unique index on the live dedupe key settles races between connections.
 */
import { randomUUID } from 'node:crypto';
import { writeTx } from '../open.js';
import { dedupeKey, type Task } from '../../../common/task.js';
import { NEXT_SEQ, TASK_JSON, type Changed, type QueueContext } from './context.js';
import type { EnqueueInput, EnqueueOutcome } from './types.js';
import type { createRequesters } from './requesters.js';

interface NewTask {
  id: string;
  action: string;
  username: string;
  params: string;
  dedupeKey: string;
  maxAttempts: number;
  runAt: number;
  now: number;
  /** 1 for background tasks: claimed after foreground ones, left out of positions and counts. */
  background: 0 | 1;
}

export function createEnqueue(ctx: QueueContext, requesters: Pick<ReturnType<typeof createRequesters>, 'join' | 'checkCaps'>) {
  const { db, clock, maxAttempts, resultFreshMs, refreshEveryMs } = ctx;
  const s = {
    insert: db.prepare<[NewTask], Changed>(`
      INSERT INTO tasks (id, action, username, params, dedupe_key, status, live, progress_msg, stage,
                         max_attempts, run_at, created_at, updated_at, first_seq, last_seq, background)
      VALUES (@id, @action, @username, @params, @dedupeKey, 'QUEUED', 1, 'Waiting for a worker', 'queued',
              @maxAttempts, @runAt, @now, @now, ${NEXT_SEQ}, ${NEXT_SEQ}, @background)
      ON CONFLICT (dedupe_key) WHERE live = 1 DO NOTHING
      RETURNING rowid, status`),
    live: db.prepare<[string], string>(`SELECT ${TASK_JSON} FROM tasks WHERE dedupe_key = ? AND live = 1`).pluck(),
    fresh: db
      .prepare<[string, number], string>(
        `
      SELECT ${TASK_JSON} FROM tasks WHERE rowid = (
        SELECT t.rowid FROM tasks t JOIN results r ON r.id = t.id
        WHERE t.dedupe_key = ? AND t.status = 'COMPLETE' AND t.finished_at >= ?
        ORDER BY t.finished_at DESC LIMIT 1)`,
      )
      .pluck(),
    lastMade: db
      .prepare<[string], number>(
        `
      SELECT max(t.finished_at) FROM tasks t JOIN results r ON r.id = t.id
      WHERE t.dedupe_key = ? AND t.status = 'COMPLETE'`,
      )
      .pluck(),
  };

  const insert = (action: string, username: string, params: string, key: string, runAt: number, now: number, background: 0 | 1) =>
    s.insert.get({ id: randomUUID(), action, username, params, dedupeKey: key, maxAttempts, runAt, now, background });

  /** The live task under `key`, which a conflicting INSERT says must exist. */
  const liveTwin = (key: string): Task => {
    const live = s.live.get(key);
    if (!live) throw new Error(`dedupe conflict without a live task for ${key}`);
    return JSON.parse(live) as Task;
  };

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
          ? input.requestedAt === undefined
            ? undefined
            : Math.max(input.requestedAt + 1, input.staleBefore ?? 0)
          : Math.max(now - resultFreshMs, input.staleBefore ?? 0);
        if (freshSince !== undefined) {
          const done = s.fresh.get(key, freshSince);
          if (done) return { task: JSON.parse(done) as Task, deduped: true };
        }
        const join = (task: Task): EnqueueOutcome => {
          requesters.join(task.id, input.requester, now);
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
          requesters.checkCaps(input.action, input.requester, input.limits);
        }
        const row = insert(input.action, input.username, JSON.stringify(input.params), key, now, now, 0);
        if (row) {
          const task = ctx.appendEventTask(row, 'created');
          join(task);
          return { task, deduped: false };
        }
        return join(liveTwin(key));
      });
    },

    /**
     * Schedules a background task (a feed poll) to run at `runAt`: claimed only when no foreground
     * task is runnable, and left out of queue positions and the queued count. One live task per
     * action and member (dedupe key `action:username`): returns null when one is already queued or running.
     */
    schedule(action: string, username: string, runAt: number): Task | null {
      return writeTx(db, () => {
        const row = insert(action, username, '{}', `${action}:${username}`, runAt, clock.now(), 1);
        return row ? ctx.appendEventTask(row, 'created') : null;
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
        const row = insert(action, username, JSON.stringify(params), `${action}:${key}`, now, now, 1);
        if (row) return { task: ctx.appendEventTask(row, 'created'), deduped: false };
        return { task: liveTwin(`${action}:${key}`), deduped: true };
      });
    },

    /** Inserts a raw row (tests: malformed params, unknown actions). */
    enqueueRaw(action: string, username: string, paramsJson: string): Task {
      return writeTx(db, () => {
        const now = clock.now();
        const row = insert(action, username, paramsJson, `raw:${randomUUID()}`, now, now, 0)!;
        return ctx.appendEventTask(row, 'created');
      });
    },
  };
}
