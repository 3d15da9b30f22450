/**
 * One running task's state, apart from what the task does: its abort (every stop goes through
 * `abort`), its throttled progress writes, and its heartbeat and cancel check, which the loop's one
 * ticker drives through `tick`.
 */
import type { Clock } from '../../common/clock.js';
import type { Stage } from '../../common/task.js';
import type { ClaimedTask, TaskQueue } from '../../db/port.js';
import { CancelledError } from './stops.js';

export interface TaskRunDeps {
  tasks: Pick<TaskQueue, 'progress' | 'heartbeat' | 'isCancelRequested'>;
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

  // Storage answers asynchronously: a cancel or a lost lease aborts the task when the answer comes
  // (the action is raced against `aborted`, and its next progress call throws).
  const fromStorage = (write: Promise<{ cancelRequested: boolean } | boolean>) =>
    write.then(
      (answer) => {
        if (answer === true || (typeof answer === 'object' && answer.cancelRequested)) abort(new CancelledError());
      },
      (err: unknown) => abort(err instanceof Error ? err : new Error(String(err))),
    );
  const writeProgress = (p: ProgressWrite) => {
    lastWrite = deps.clock.now();
    lastStage = p[0];
    pending = null;
    return fromStorage(deps.tasks.progress(task.id, task.leaseToken, ...p));
  };
  // One heartbeat or cancel check in flight at a time: a slow database is not asked twice.
  let checking = false;
  const check = (write: () => Promise<{ cancelRequested: boolean } | boolean>) => {
    if (checking) return;
    checking = true;
    void fromStorage(write()).finally(() => (checking = false));
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
        void writeProgress(p);
      } else {
        // Keep only the newest pending update; it is written when the interval has passed.
        pending = p;
        flushTimer ??= setTimeout(
          () => {
            flushTimer = null;
            if (pending && !controller.signal.aborted) void writeProgress(pending);
          },
          deps.progressIntervalMs - (now - lastWrite),
        );
      }
    },
    tick(now) {
      if (controller.signal.aborted) return;
      if (now - lastBeat >= deps.heartbeatMs) {
        lastBeat = now;
        check(() => deps.tasks.heartbeat(task.id, task.leaseToken));
      } else {
        check(() => deps.tasks.isCancelRequested(task.id));
      }
    },
    dispose: clearFlush,
  };
}
