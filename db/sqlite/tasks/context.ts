/**
 * What every unit of the queue shares: the connection, the clock and settings, and the one way a
 * change writes its event (under the seq its statement reserved, in the same transaction).
 */
import { systemClock, type NowClock } from '../../../common/clock.js';
import type { EventType, Task } from '../../../common/task.js';
import type { Db } from '../open.js';
import { LeaseLostError, type QueueOptions } from './types.js';

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** `ms` since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ` (Date.toISOString's form), in integer arithmetic. */
const isoSql = (col: string) => `strftime('%Y-%m-%dT%H:%M:%S', ${col} / 1000, 'unixepoch') || printf('.%03dZ', ${col} % 1000)`;

/**
 * The public Task (common/task.ts) of a tasks row, as JSON built by SQLite: the one definition of that
 * shape, used for every event payload and every read. Built inside SQLite because the queue's hot path
 * then never materialises a row in JS: `RETURNING *` into an object measured ~6 µs of a ~12 µs claim.
 * `params` that are not valid JSON read as {} (the action rejects them); `queuePosition` is null (filled
 * in by whoever sends the task).
 */
export const TASK_JSON = `json_object(
  'id', id, 'action', action, 'username', username,
  'params', CASE WHEN json_valid(params) THEN json(params) ELSE json_object() END,
  'status', status, 'stage', stage, 'progressMsg', progress_msg,
  'progress', CASE WHEN progress_done IS NOT NULL AND progress_total IS NOT NULL
                   THEN json_object('done', progress_done, 'total', progress_total) END,
  'queuePosition', NULL, 'errorCode', error_code, 'errorMsg', error_msg,
  'createdAt', ${isoSql('created_at')}, 'updatedAt', ${isoSql('updated_at')},
  'resultUrl', CASE WHEN status = 'COMPLETE' THEN '/api/tasks/' || id || '/result' END)`;

/**
 * The seq the next event will get. Every statement that changes a task sets `last_seq` to it, and
 * appendEvent then writes the event with exactly that seq, in the same transaction (under the write
 * lock, so nothing can take it meanwhile). Pruning never deletes the newest event, so it never goes back.
 * A statement that forgot it would hand appendEvent an old seq: the insert fails loudly on the key.
 */
export const NEXT_SEQ = '(SELECT coalesce(max(seq), 0) + 1 FROM task_events)';

/** The event of a change: the row's Task as JSON, under the seq its statement set (NEXT_SEQ). */
const INSERT_EVENT = `
  INSERT INTO task_events (seq, task_id, type, payload, created_at)
  SELECT last_seq, id, ?, ${TASK_JSON}, updated_at FROM tasks WHERE rowid = ?`;

/** A changed row, as the statements that change one return it: enough to append its event. */
export interface Changed {
  rowid: number;
  status: Task['status'];
}

export interface QueueContext {
  db: Db;
  clock: NowClock;
  leaseMs: number;
  maxAttempts: number;
  resultFreshMs: number;
  refreshEveryMs: number;
  /** Appends the event of a change just made to `row` (same transaction). */
  appendEvent(row: { rowid: number }, type: EventType): void;
  /** Appends the event and returns its Task (for callers that send it on). */
  appendEventTask(row: { rowid: number }, type: EventType): Task;
  /** The wait before retry `attempt + 1`. */
  backoffMs(attempt: number): number;
}

export function createQueueContext(db: Db, options: QueueOptions = {}): QueueContext {
  const backoffBaseMs = options.backoffBaseMs ?? 2_000;
  const random = options.random ?? Math.random;
  const event = db.prepare<[EventType, number]>(INSERT_EVENT);
  const eventTask = db.prepare<[EventType, number], string>(`${INSERT_EVENT} RETURNING payload`).pluck();
  return {
    db,
    clock: options.clock ?? systemClock,
    leaseMs: options.leaseMs ?? 30_000,
    maxAttempts: options.maxAttempts ?? 3,
    resultFreshMs: options.resultFreshMs ?? 600_000,
    refreshEveryMs: options.refreshEveryMs ?? 60_000,
    appendEvent(row, type) {
      event.run(type, row.rowid);
    },
    appendEventTask(row, type) {
      return JSON.parse(eventTask.get(type, row.rowid)!) as Task;
    },
    backoffMs(attempt) {
      // Exponential with "equal jitter": never immediately, never all at once.
      const base = backoffBaseMs * 2 ** Math.max(0, attempt - 1);
      return Math.round(base / 2 + random() * (base / 2));
    },
  };
}

/** A fenced write changed no row: the lease is gone. */
export function fenced<R>(row: R | undefined, id: string): R {
  if (!row) throw new LeaseLostError(id);
  return row;
}
