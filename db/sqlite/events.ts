/** The change feed (`task_events`): reading after a cursor, and pruning in small batches. */
import type { Db } from './open.js';
import { writeTx } from './open.js';
import type { EventType, Task } from '../../common/task.js';

export interface TaskEvent {
  seq: number;
  taskId: string;
  type: EventType;
  task: Task;
  createdAt: number;
}

interface EventRow {
  seq: number;
  task_id: string;
  type: EventType;
  payload: string;
  created_at: number;
}

function toEvent(r: EventRow): TaskEvent {
  return { seq: r.seq, taskId: r.task_id, type: r.type, task: JSON.parse(r.payload) as Task, createdAt: r.created_at };
}

export type EventStore = ReturnType<typeof createEventStore>;

/** Read side of the feed; works on a read-only connection. */
export function createEventStore(db: Db) {
  const s = {
    after: db.prepare<[number, number], EventRow>(
      `SELECT seq, task_id, type, payload, created_at FROM task_events WHERE seq > ? ORDER BY seq LIMIT ?`,
    ),
    // A task's events lie between its first_seq and last_seq (db/sqlite/tasks.ts keeps both): a range of
    // the rowid, filtered by task_id. No (task_id, seq) index, which every queue write would pay for;
    // the range holds only the events written while this task was live, read when a socket subscribes.
    taskAfter: db.prepare<[number, string, string, string, number], EventRow>(`
      SELECT seq, task_id, type, payload, created_at FROM task_events
      WHERE seq > max(?, (SELECT first_seq - 1 FROM tasks WHERE id = ?))
        AND seq <= (SELECT last_seq FROM tasks WHERE id = ?) AND task_id = ?
      ORDER BY seq LIMIT ?`),
    taskLatest: db.prepare<[string], EventRow>(`
      SELECT e.seq, e.task_id, e.type, e.payload, e.created_at
      FROM tasks t JOIN task_events e ON e.seq = t.last_seq WHERE t.id = ?`),
    maxSeq: db.prepare<[], { seq: number | null }>(`SELECT max(seq) AS seq FROM task_events`),
    dataVersion: db.prepare(`PRAGMA data_version`).pluck(),
  };
  return {
    /** Every event with seq > `after`, oldest first, at most `limit`. */
    listAfter(after: number, limit = 1000): TaskEvent[] {
      return s.after.all(after, limit).map(toEvent);
    },
    /** One task's events with seq > `after`, oldest first. */
    listTaskAfter(taskId: string, after: number, limit = 1000): TaskEvent[] {
      return s.taskAfter.all(after, taskId, taskId, taskId, limit).map(toEvent);
    },
    /** The task's latest event (undefined when the task is unknown or that event was pruned). */
    latestForTask(taskId: string): TaskEvent | undefined {
      const r = s.taskLatest.get(taskId);
      return r ? toEvent(r) : undefined;
    },
    maxSeq(): number {
      return s.maxSeq.get()?.seq ?? 0;
    },
    /** Changes whenever another connection commits (~2 µs): the cheap "anything new?" check. */
    dataVersion(): number {
      return s.dataVersion.get() as number;
    },
  };
}

/**
 * Deletes the events written before `olderThan`, oldest first, in batches of `batch`, each its own
 * short transaction so writers never wait long. The feed is an append-only log, so age goes by
 * position: everything before the first event young enough to keep goes. Finding that event reads
 * only the rows about to be deleted (there is no index on created_at, and none is wanted on the
 * queue's hot path), where a plain `created_at < ?` filter read the whole log on every run.
 * The newest event always stays, so seq (a plain rowid) is never reused. Returns how many were deleted.
 */
export function pruneEvents(db: Db, olderThan: number, batch = 500): number {
  const firstKept = db
    .prepare<[number], number>(
      `
    SELECT coalesce(
      (SELECT seq FROM task_events WHERE created_at >= ? ORDER BY seq LIMIT 1),
      (SELECT max(seq) FROM task_events))`,
    )
    .pluck();
  const del = db.prepare<[number, number]>(
    `DELETE FROM task_events WHERE seq IN (SELECT seq FROM task_events WHERE seq < ? ORDER BY seq LIMIT ?)`,
  );
  const keepFrom = firstKept.get(olderThan);
  if (keepFrom === null || keepFrom === undefined) return 0;
  let total = 0;
  for (;;) {
    const n = writeTx(db, () => del.run(keepFrom, batch).changes);
    total += n;
    if (n < batch) return total;
  }
}
