/**
 * The sweep of expired leases (a crashed or stuck worker): back to QUEUED with backoff while attempts
 * remain, else ERROR WORKER_LOST; a pending cancel ends CANCELLED. Leases of workers whose heartbeat
 * stopped (`workers.last_seen_at`) are expired first, so their tasks need not wait out the lease.
 */
import { writeTx } from '../open.js';
import type { ErrorCode } from '../../../common/errors.js';
import type { Stage, Task, TaskStatus } from '../../../common/task.js';
import { NEXT_SEQ, type Changed, type QueueContext } from './context.js';
import type { TaskRow } from './types.js';

interface SweptRow {
  status: TaskStatus;
  live: 1 | null;
  stage: Stage;
  runAt: number;
  code: ErrorCode | null;
  errorMsg: string | null;
  progressMsg: string;
  finishedAt: number | null;
}

export function createSweep(ctx: QueueContext) {
  const { db, clock } = ctx;
  const s = {
    expired: db.prepare<[number], TaskRow>(`
      SELECT * FROM tasks WHERE live = 1 AND status = 'RUNNING' AND lease_expires_at < ? ORDER BY lease_expires_at LIMIT 100`),
    sweepOne: db.prepare<[SweptRow & { now: number; id: string; token: string | null }], Changed>(`
      UPDATE tasks SET status = @status, live = @live, stage = @stage, run_at = @runAt, error_code = @code, error_msg = @errorMsg,
                       progress_msg = @progressMsg, finished_at = @finishedAt, updated_at = max(@now, updated_at + 1), last_seq = ${NEXT_SEQ},
                       progress_done = NULL, progress_total = NULL, lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
      WHERE id = @id AND status = 'RUNNING' AND lease_token = @token
      RETURNING rowid, status`),
    expireDeadWorkers: db.prepare<[{ expiresAt: number; now: number; seenBefore: number }]>(`
      UPDATE tasks SET lease_expires_at = @expiresAt
      WHERE live = 1 AND status = 'RUNNING' AND lease_expires_at > @now
        AND lease_owner IN (SELECT id FROM workers WHERE last_seen_at < @seenBefore)`),
  };

  /** What becomes of one expired task. */
  function next(row: TaskRow, now: number): SweptRow {
    if (row.cancel_requested_at !== null) {
      const msg = 'The mosaic was cancelled.';
      return {
        status: 'CANCELLED',
        live: null,
        stage: row.stage,
        runAt: row.run_at,
        code: 'CANCELLED',
        errorMsg: msg,
        progressMsg: msg,
        finishedAt: now,
      };
    }
    if (row.attempt < row.max_attempts) {
      return {
        status: 'QUEUED',
        live: 1,
        stage: 'queued',
        runAt: now + ctx.backoffMs(row.attempt),
        code: null,
        errorMsg: null,
        progressMsg: 'A worker stopped responding; the mosaic will be retried.',
        finishedAt: null,
      };
    }
    const msg = `The worker building this mosaic stopped ${row.attempt} times; giving up. Try again, or try a shorter period.`;
    return {
      status: 'ERROR',
      live: null,
      stage: row.stage,
      runAt: row.run_at,
      code: 'WORKER_LOST',
      errorMsg: msg,
      progressMsg: msg,
      finishedAt: now,
    };
  }

  /** Returns the tasks changed. */
  return function sweep(deadWorkerMs = 15_000): Task[] {
    return writeTx(db, () => {
      const now = clock.now();
      s.expireDeadWorkers.run({ expiresAt: now - 1, now, seenBefore: now - deadWorkerMs });
      const changed: Task[] = [];
      for (const row of s.expired.all(now)) {
        const out = s.sweepOne.get({ ...next(row, now), now, id: row.id, token: row.lease_token });
        if (out)
          changed.push(ctx.appendEventTask(out, out.status === 'QUEUED' ? 'reclaimed' : out.status === 'ERROR' ? 'lost' : 'cancelled'));
      }
      return changed;
    });
  };
}
