/** Plain reads of the queue (no write lock): a task, its row, its queue position, the counts. */
import type { Task } from '../../../common/task.js';
import { TASK_JSON, type QueueContext } from './context.js';
import type { TaskRow } from './types.js';

export function createReads(ctx: QueueContext) {
  const { db, clock } = ctx;
  const s = {
    row: db.prepare<[string], TaskRow>(`SELECT * FROM tasks WHERE id = ?`),
    task: db.prepare<[string], string>(`SELECT ${TASK_JSON} FROM tasks WHERE id = ?`).pluck(),
    position: db.prepare<[{ runAt: number; createdAt: number; id: string }], { n: number }>(`
      SELECT count(*) AS n FROM tasks
      WHERE status = 'QUEUED' AND background = 0
        AND (run_at < @runAt OR (run_at = @runAt AND (created_at < @createdAt OR (created_at = @createdAt AND id < @id))))`),
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

    /** 1-based position among queued tasks (claim order), or null when not queued. */
    queuePosition(id: string): number | null {
      const row = s.row.get(id);
      if (!row || row.status !== 'QUEUED' || row.background) return null;
      return s.position.get({ runAt: row.run_at, createdAt: row.created_at, id })!.n + 1;
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
