/**
 * One running task's state, apart from what the task does: its abort (every stop goes through
 * `abort`), its throttled progress writes, and its heartbeat and cancel check, which the loop's one
 * ticker drives through `tick`.
 */
import type { Clock } from '../../common/clock.js';
import type { Stage } from '../../common/task.js';
import type { ClaimedTask, TaskStore } from '../../db/sqlite/tasks.js';
import { CancelledError } from './stops.js';

export interface TaskRunDeps {
  tasks: Pick<TaskStore, 'progress' | 'heartbeat'>;
  isCancelRequested: (taskId: string) => boolean;
  clock: Clock;
  heartbeatMs: number;
  progressIntervalMs: number;
}

export interface TaskRun {
  signal: AbortSignal;
  /**
   * Rejects when the task is aborted. The action is raced against it, so one that ignores its signal
   * cannot hold the slot.
   */
  aborted: Promise<never>;
  abort(reason: Error): void;
  /**
   * Records progress (throttled; a stage change is written at once). Throws when the task was
   * cancelled or its lease was lost, so the action stops where it stands.
   */
  progress(stage: Stage, done: number | null, total: number | null, msg: string): void;
  /** The heartbeat (every `heartbeatMs`) or else the cheaper cancel check. */
  tick(now: number): void;
  /** Drops a pending progress write (the task is finishing). */
  dispose(): void;
}

type ProgressWrite = [Stage, number | null, number | null, string];

export function createTaskRun(task: ClaimedTask, deps: TaskRunDeps): TaskRun {
  const controller = new AbortController();
  let lastWrite = 0;
  let lastStage: Stage | null = null;
  let pending: ProgressWrite | null = null;
  let flushTimer: ReturnType<typeof setTimeout> | null = null;
  let lastBeat = deps.clock.now();

  // A promise settled here rather than an 'abort' listener on the signal, which measured ~5 µs a task.
  let rejectAborted!: (reason: Error) => void;
  const aborted = new Promise<never>((_, reject) => (rejectAborted = reject));
  aborted.catch(() => {}); // seen through the race; never an unhandled rejection
  const abort = (err: Error) => {
    if (controller.signal.aborted) return;
    controller.abort(err);
    rejectAborted(err);
  };

  const writeProgress = (p: ProgressWrite) => {
    lastWrite = deps.clock.now();
    lastStage = p[0];
    pending = null;
    const { cancelRequested } = deps.tasks.progress(task.id, task.leaseToken, ...p);
    if (cancelRequested) abort(new CancelledError());
  };
  const guarded = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      abort(err instanceof Error ? err : new Error(String(err)));
    }
  };
  const clearFlush = () => {
    if (flushTimer) clearTimeout(flushTimer);
    flushTimer = null;
  };

  return {
    signal: controller.signal,
    aborted,
    abort,
    progress(stage, done, total, msg) {
      if (controller.signal.aborted) throw controller.signal.reason;
      const p: ProgressWrite = [stage, done, total, msg];
      const now = deps.clock.now();
      if (stage !== lastStage || now - lastWrite >= deps.progressIntervalMs) {
        clearFlush();
        guarded(() => writeProgress(p));
        if (controller.signal.aborted) throw controller.signal.reason;
      } else {
        // Keep only the newest pending update; it is written when the interval has passed.
        pending = p;
        flushTimer ??= setTimeout(() => {
          flushTimer = null;
          if (pending && !controller.signal.aborted) guarded(() => writeProgress(pending!));
        }, deps.progressIntervalMs - (now - lastWrite));
      }
    },
    tick: (now) =>
      guarded(() => {
        if (now - lastBeat >= deps.heartbeatMs) {
          lastBeat = now;
          const { cancelRequested } = deps.tasks.heartbeat(task.id, task.leaseToken);
          if (cancelRequested) abort(new CancelledError());
        } else if (deps.isCancelRequested(task.id)) {
          abort(new CancelledError());
        }
      }),
    dispose: clearFlush,
  };
}
