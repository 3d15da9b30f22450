/**
 * Waiting for a task to finish without polling: the feed watcher hands every task event to `publish`,
 * and a waiter for that task is woken by the first event that shows it finished (or by its timeout).
 * Used by the stable links, which give a new mosaic a few seconds before answering "being made".
 */
import type { TaskEvent } from '../db/port.js';
import { isFinished, type Task } from '../common/task.js';

export interface TaskWaiters {
  /** Resolves with the finished task, or null once `timeoutMs` passed first. */
  wait(taskId: string, timeoutMs: number): Promise<Task | null>;
  publish(events: readonly TaskEvent[]): void;
  pending(): number;
}

export function createTaskWaiters(): TaskWaiters {
  const waiting = new Map<string, Set<(task: Task | null) => void>>();
  const remove = (id: string, fn: (task: Task | null) => void) => {
    const set = waiting.get(id);
    set?.delete(fn);
    if (set?.size === 0) waiting.delete(id);
  };
  return {
    wait(taskId, timeoutMs) {
      return new Promise((resolve) => {
        const done = (task: Task | null) => {
          clearTimeout(timer);
          remove(taskId, done);
          resolve(task);
        };
        const timer = setTimeout(() => done(null), timeoutMs);
        let set = waiting.get(taskId);
        if (!set) waiting.set(taskId, (set = new Set()));
        set.add(done);
      });
    },
    publish(events) {
      for (const e of events) {
        if (!isFinished(e.task.status)) continue;
        const set = waiting.get(e.taskId);
        if (set) for (const done of [...set]) done(e.task);
      }
    },
    pending: () => [...waiting.values()].reduce((n, s) => n + s.size, 0),
  };
}
