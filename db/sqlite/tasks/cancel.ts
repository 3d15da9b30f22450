/**
 * Cancelling from outside: a queued task ends CANCELLED at once; a running one is flagged
 * (`cancel_requested_at`) for its worker, which sees it on its next heartbeat, progress write or check.
 */
import { writeTx } from '../open.js';
import type { Task } from '../../../common/task.js';
import { NEXT_SEQ, type Changed, type QueueContext } from './context.js';
import type { QueueReads } from './read.js';
import type { CancelOutcome } from './types.js';

const CANCELLED_MSG = 'The mosaic was cancelled.';

export function createCancel(ctx: QueueContext, reads: Pick<QueueReads, 'taskJson'>) {
  const { db, clock } = ctx;
  const s = {
    cancelQueued: db.prepare<[{ msg: string; now: number; id: string }], Changed>(`
      UPDATE tasks SET status = 'CANCELLED', live = NULL, error_code = 'CANCELLED', error_msg = @msg, progress_msg = @msg,
                       cancel_requested_at = @now, finished_at = @now, updated_at = max(@now, updated_at + 1), last_seq = ${NEXT_SEQ}
      WHERE id = @id AND status = 'QUEUED'
      RETURNING rowid, status`),
    cancelRunning: db.prepare<[{ now: number; id: string }], Changed>(`
      UPDATE tasks SET cancel_requested_at = @now, progress_msg = 'Cancelling…', updated_at = max(@now, updated_at + 1), last_seq = ${NEXT_SEQ}
      WHERE id = @id AND status = 'RUNNING' AND cancel_requested_at IS NULL
      RETURNING rowid, status`),
  };

  /** Returns undefined for an unknown id; `finished` when the task had already ended. */
  return function cancel(id: string): CancelOutcome | undefined {
    return writeTx(db, () => {
      const now = clock.now();
      const q = s.cancelQueued.get({ msg: CANCELLED_MSG, now, id });
      if (q) return { task: ctx.appendEventTask(q, 'cancelled'), finished: false };
      const r = s.cancelRunning.get({ now, id });
      if (r) return { task: ctx.appendEventTask(r, 'cancel_requested'), finished: false };
      const json = reads.taskJson(id);
      if (json === undefined) return undefined;
      const task = JSON.parse(json) as Task;
      // Already running with a cancel pending: same answer again. Finished: the caller says 409.
      return { task, finished: task.status !== 'RUNNING' };
    });
  };
}
