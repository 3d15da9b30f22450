/**
 * A worker ending its attempt, each write fenced by the lease token: complete (with the result stored
 * in the same transaction), fail (a retry with backoff or ERROR), delay, release, cancelled.
 */
import { writeTx } from '../open.js';
import type { ErrorCode } from '../../../common/errors.js';
import type { Task, TaskStatus } from '../../../common/task.js';
import { fenced, NEXT_SEQ, type Changed, type QueueContext } from './context.js';
import type { QueueReads } from './read.js';

const CANCELLED_MSG = 'The mosaic was cancelled.';

interface Lease {
  id: string;
  token: string;
}

export function createFinishes(ctx: QueueContext, reads: Pick<QueueReads, 'getRow'>) {
  const { db, clock } = ctx;
  const s = {
    complete: db.prepare<[Lease & { msg: string; now: number }], Changed>(`
      UPDATE tasks SET status = 'COMPLETE', live = NULL, stage = 'done', progress_msg = @msg, finished_at = @now,
                       updated_at = max(@now, updated_at + 1), last_seq = ${NEXT_SEQ},
                       lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
      WHERE id = @id AND lease_token = @token AND status = 'RUNNING'
      RETURNING rowid, status`),
    finish: db.prepare<[Lease & { status: TaskStatus; code: ErrorCode; msg: string; now: number }], Changed>(`
      UPDATE tasks SET status = @status, live = NULL, error_code = @code, error_msg = @msg, progress_msg = @msg, finished_at = @now,
                       updated_at = max(@now, updated_at + 1), last_seq = ${NEXT_SEQ},
                       lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
      WHERE id = @id AND lease_token = @token AND status = 'RUNNING'
      RETURNING rowid, status`),
    // Back to QUEUED; `keepAttempt` (1) gives back the attempt the claim took, `delayed` (1) counts a delay.
    requeue: db.prepare<[Lease & { runAt: number; keepAttempt: 0 | 1; delayed: 0 | 1; msg: string; now: number }], Changed>(`
      UPDATE tasks SET status = 'QUEUED', stage = 'queued', run_at = @runAt, attempt = attempt - @keepAttempt,
                       delay_count = delay_count + @delayed, progress_msg = @msg, progress_done = NULL, progress_total = NULL,
                       error_code = NULL, error_msg = NULL, updated_at = max(@now, updated_at + 1), last_seq = ${NEXT_SEQ},
                       lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
      WHERE id = @id AND lease_token = @token AND status = 'RUNNING'
      RETURNING rowid, status`),
  };

  return {
    /**
     * Marks the task COMPLETE; `store` (e.g. insert the result row) runs in the same transaction and is
     * rolled back when the lease turns out to be lost.
     */
    complete(id: string, token: string, store?: () => void, msg = 'Done'): void {
      writeTx(db, () => {
        const row = fenced(s.complete.get({ id, token, msg, now: clock.now() }), id);
        // The event first: it takes the seq the UPDATE reserved, so `store` may change tasks too.
        ctx.appendEvent(row, 'completed');
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
        const cur = fenced(reads.getRow(id), id);
        if (retryable && cur.attempt < cur.max_attempts && cur.lease_token === token) {
          const runAt = now + ctx.backoffMs(cur.attempt);
          const row = fenced(
            s.requeue.get({ id, token, runAt, keepAttempt: 0, delayed: 0, msg: `Retrying after a problem: ${msg}`, now }),
            id,
          );
          return ctx.appendEventTask(row, 'retry');
        }
        const row = fenced(s.finish.get({ id, token, status: 'ERROR', code, msg, now }), id);
        return ctx.appendEventTask(row, 'failed');
      });
    },

    /** Puts the task back for `ms` without consuming an attempt (e.g. 429 with Retry-After). */
    retryAfter(id: string, token: string, ms: number, msg: string): Task {
      return writeTx(db, () => {
        const now = clock.now();
        const row = fenced(s.requeue.get({ id, token, runAt: now + ms, keepAttempt: 1, delayed: 1, msg, now }), id);
        return ctx.appendEventTask(row, 'delayed');
      });
    },

    /** Graceful shutdown: gives the task back at once, without consuming an attempt. */
    release(id: string, token: string): Task {
      return writeTx(db, () => {
        const now = clock.now();
        const row = fenced(s.requeue.get({ id, token, runAt: now, keepAttempt: 1, delayed: 0, msg: 'Waiting for a worker', now }), id);
        return ctx.appendEventTask(row, 'released');
      });
    },

    /** The worker saw the cancel request and stopped: the task ends CANCELLED. */
    finishCancelled(id: string, token: string): Task {
      return writeTx(db, () => {
        const row = fenced(s.finish.get({ id, token, status: 'CANCELLED', code: 'CANCELLED', msg: CANCELLED_MSG, now: clock.now() }), id);
        return ctx.appendEventTask(row, 'cancelled');
      });
    },
  };
}
