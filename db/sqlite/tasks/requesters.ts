/**
 * Who asked for a task (`task_requesters`): each request's share, the per-client and whole-queue caps
 * on new tasks, and a requester withdrawing (the last one out cancels the task).
 */
import { createHash } from 'node:crypto';
import { writeTx } from '../open.js';
import type { Task } from '../../../common/task.js';
import type { QueueContext } from './context.js';
import type { QueueReads } from './read.js';
import { QueueLimitError, type CancelOutcome, type QueueLimits, type Requester, type WithdrawOutcome } from './types.js';

const tokenHash = (token: string) => createHash('sha256').update(token).digest('hex');

export function createRequesters(ctx: QueueContext, reads: Pick<QueueReads, 'taskJson'>) {
  const { db, clock } = ctx;
  const q = {
    add: db.prepare<[string, string, string, number]>(`
      INSERT OR IGNORE INTO task_requesters (task_id, token_hash, client_key, created_at) VALUES (?, ?, ?, ?)`),
    // Unfinished tasks of one action this client asked for (created or joined) and has not left.
    clientLive: db
      .prepare<[string, string], number>(
        `
      SELECT count(DISTINCT r.task_id) FROM task_requesters r JOIN tasks t ON t.id = r.task_id
      WHERE r.client_key = ? AND r.withdrawn_at IS NULL AND t.live = 1 AND t.action = ?`,
      )
      .pluck(),
    queuedOf: db.prepare<[string], number>(`SELECT count(*) FROM tasks WHERE status = 'QUEUED' AND action = ?`).pluck(),
    share: db.prepare<[string, string], { withdrawn_at: number | null }>(
      `SELECT withdrawn_at FROM task_requesters WHERE task_id = ? AND token_hash = ?`,
    ),
    withdraw: db.prepare<[number, string, string]>(
      `UPDATE task_requesters SET withdrawn_at = ? WHERE task_id = ? AND token_hash = ? AND withdrawn_at IS NULL`,
    ),
    remaining: db.prepare<[string], number>(`SELECT count(*) FROM task_requesters WHERE task_id = ? AND withdrawn_at IS NULL`).pluck(),
  };

  return {
    /** Records `requester` as one of the task's requesters (again: no change). */
    join(taskId: string, requester: Requester | undefined, now: number): void {
      if (requester) q.add.run(taskId, tokenHash(requester.cancelToken), requester.clientKey, now);
    },

    /** Throws QueueLimitError when a new task of `action` would break a cap; nothing is written. */
    checkCaps(action: string, requester: Requester | undefined, limits: QueueLimits): void {
      const mine = requester ? q.clientLive.get(requester.clientKey, action)! : 0;
      if (mine >= limits.perClient) throw new QueueLimitError('client', mine, limits.perClient);
      const queued = q.queuedOf.get(action)!;
      if (queued >= limits.max) throw new QueueLimitError('queue', queued, limits.max);
    },

    /**
     * A requester's DELETE: withdraws the share `cancelToken` names; when no requester is left, the
     * task is cancelled as `cancel` does. Undefined for an unknown id.
     */
    withdraw(id: string, cancelToken: string, cancel: (id: string) => CancelOutcome | undefined): WithdrawOutcome | undefined {
      return writeTx(db, (): WithdrawOutcome | undefined => {
        const json = reads.taskJson(id);
        if (json === undefined) return undefined;
        const hash = tokenHash(cancelToken);
        if (!q.share.get(id, hash)) return { kind: 'forbidden' };
        const task = JSON.parse(json) as Task;
        if (task.status !== 'QUEUED' && task.status !== 'RUNNING') return { kind: 'finished', task };
        q.withdraw.run(clock.now(), id, hash);
        if (q.remaining.get(id)! > 0) return { kind: 'left', task };
        const outcome = cancel(id)!;
        return outcome.finished ? { kind: 'finished', task: outcome.task } : { kind: 'cancelled', task: outcome.task };
      });
    },
  };
}
