/**
 * Queue positions as the server reports them, one way for every answer: `POST /api/mosaics`,
 * `GET /api/tasks/:id`, `DELETE /api/tasks/:id`, and the live socket's `task` and `queue` messages.
 * A queued task's position is its 1-based place in claim order, taken from the list of queued ids
 * (`tasks.queuedIds`), read at most once per answer or per published batch of events, so a batch that
 * moves many subscribers' tasks costs one read. Positions are never stored: they are computed when sent.
 */
import type { Task } from '../common/task.js';
import type { TaskQueue } from '../db/port.js';

export type QueueOrder = Pick<TaskQueue, 'queuedIds'>;

/** A task's position (null when it is not queued, or is background work no position shows). */
export type PositionOf = (taskId: string) => Promise<number | null>;

/** Positions as of the first question asked: the queue is read then, once, and not again. */
export function queuePositions(tasks: QueueOrder): PositionOf {
  let positions: Promise<Map<string, number>> | null = null;
  return async (taskId) => {
    positions ??= tasks.queuedIds().then((ids) => new Map(ids.map((id, i) => [id, i + 1])));
    return (await positions).get(taskId) ?? null;
  };
}

/** The task with its queue position filled in (computed now, docs/architecture.md#events-and-replay). */
export async function withQueuePosition(tasks: QueueOrder, task: Task): Promise<Task> {
  return task.status === 'QUEUED' ? { ...task, queuePosition: await queuePositions(tasks)(task.id) } : task;
}
