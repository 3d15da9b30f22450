/**
 * Queue positions as the server reports them, one way for every answer: `POST /api/mosaics`,
 * `GET /api/tasks/:id`, `DELETE /api/tasks/:id`, and the live socket's `task` and `queue` messages.
 * A queued task's position is its 1-based place in claim order, taken from the list of queued ids
 * (`tasks.queuedIds`), read at most once per answer or per published batch of events, so a batch that
 * moves many subscribers' tasks costs one read. Positions are never stored: they are computed when sent.
 */
import type { Task } from '../common/task.js';
import type { TaskStore } from '../db/sqlite/tasks.js';

export type QueueOrder = Pick<TaskStore, 'queuedIds'>;

/** A task's position (null when it is not queued, or is background work no position shows). */
export type PositionOf = (taskId: string) => number | null;

/** Positions as of the first question asked: the queue is read then, once, and not again. */
export function queuePositions(tasks: QueueOrder): PositionOf {
  let positions: Map<string, number> | null = null;
  return (taskId) => {
    positions ??= new Map(tasks.queuedIds().map((id, i) => [id, i + 1]));
    return positions.get(taskId) ?? null;
  };
}

/** The task with its queue position filled in (computed now, docs/architecture.md#events-and-replay). */
export function withQueuePosition(tasks: QueueOrder, task: Task): Task {
  return task.status === 'QUEUED' ? { ...task, queuePosition: queuePositions(tasks)(task.id) } : task;
}
