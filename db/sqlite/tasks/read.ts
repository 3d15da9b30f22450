/** Plain reads of the queue (no write lock): a task, its row, the queued ids in claim order, the counts. */
import type { Task } from '../../../common/task.js';
import { TASK_JSON, type QueueContext } from './context.js';
import type { TaskRow } from './types.js';

export function createReads(ctx: QueueContext) {
  const { db, clock } = ctx;
  const s = {
    row: db.prepare<[string], TaskRow>(`SELECT * FROM tasks WHERE id = ?`),
    task: db.prepare<[string], string>(`SELECT ${TASK_JSON} FROM tasks WHERE id = ?`).pluck(),
    queuedIds: db.prepare<[], { id: string }>(
      `SELECT id FROM tasks WHERE status = 'QUEUED' AND background = 0 ORDER BY run_at, created_at, rowid`, // rowid: claim's order for ties
    ),
    runnable: db.prepare<[number], { one: number }>(`SELECT 1 AS one FROM tasks WHERE status = 'QUEUED' AND run_at <= ? LIMIT 1`),
    cancelRequested: db.prepare<[string], { c: number | null }>(`SELECT cancel_requested_at AS c FROM tasks WHERE id = ?`),
    counts: db.prepare<[], { status: string; n: number }>(
      `SELECT status, count(*) AS n FROM tasks WHERE live = 1 AND (background = 0 OR status = 'RUNNING') GROUP BY status`,
    ),
  };

  return {
    /** The task's JSON as SQLite builds it (TASK_JSON), for units that parse it only when needed. */
    taskJson(id: string): string | undefined {
      return s.task.get(id);
    },

    get(id: string): Task | undefined {
      const json = s.task.get(id);
      return json === undefined ? undefined : (JSON.parse(json) as Task);
    },

    getRow(id: string): TaskRow | undefined {
      return s.row.get(id);
    },

    /** Is any task ready to claim? A plain read: no write lock taken while idle. */
    hasRunnable(): boolean {
      return s.runnable.get(clock.now()) !== undefined;
    },

    /** Has someone asked to cancel this task? (the worker's once-a-second check, a read) */
    isCancelRequested(id: string): boolean {
      return (s.cancelRequested.get(id)?.c ?? null) !== null;
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

export type QueueReads = ReturnType<typeof createReads>;
