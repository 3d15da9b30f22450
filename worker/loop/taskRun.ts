/**
 * One running task's state, apart from what the task does: its abort (every stop goes through
 * `abort`), its throttled progress writes, and its heartbeat and cancel check, which the loop's one
 * ticker drives through `tick`.
 *
 * A class, and the AbortController made only when someone asks for the signal: the loop's own cost
 * per task is what the queue benchmark measures beside plainjob, and a closure per helper plus a
 * controller per task measured ~5 µs and most of the loop's garbage for a task that never looks at
 * either (an action that reads `signal` gets one that is already aborted if the task was).
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

type ProgressWrite = [Stage, number | null, number | null, string];
type StorageAnswer = { cancelRequested: boolean } | boolean;

export class TaskRun {
  /** Settles when the task's run is over (set by the loop once it has started the run). */
  done: Promise<void> = Promise.resolve();
  private controller: AbortController | null = null;
  private reason: Error | null = null;
  private rejectRace: ((reason: Error) => void) | null = null;
  private lastWrite = 0;
  private lastStage: Stage | null = null;
  private pending: ProgressWrite | null = null;
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private lastBeat: number;
  // One heartbeat or cancel check in flight at a time: a slow database is not asked twice.
  private checking = false;

  constructor(
    private readonly task: ClaimedTask,
    private readonly deps: TaskRunDeps,
  ) {
    this.lastBeat = deps.clock.now();
  }

  /** The task's abort signal (made on first use, already aborted if the task was). */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.reason) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /** Why the task was stopped, or null while it may go on. */
  get abortReason(): Error | null {
    return this.reason;
  }

  /** Stops the task: its signal aborts, `race` rejects, its next progress call throws. The first reason wins. */
  abort(reason: Error): void {
    if (this.reason) return;
    this.reason = reason;
    this.controller?.abort(reason);
    this.rejectRace?.(reason);
    this.rejectRace = null;
  }

  /**
   * The action's outcome, or the abort's reason as soon as the task is stopped: an action that
   * ignores its signal cannot hold the slot.
   */
  race<T>(work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.reason) return reject(this.reason);
      this.rejectRace = reject;
      work.then(resolve, reject);
    });
  }

  /**
   * Records progress (throttled; a stage change is written at once). Throws when the task was
   * cancelled or its lease was lost, so the action stops where it stands.
   */
  progress(stage: Stage, done: number | null, total: number | null, msg: string): void {
    if (this.reason) throw this.reason;
    const p: ProgressWrite = [stage, done, total, msg];
    const now = this.deps.clock.now();
    if (stage !== this.lastStage || now - this.lastWrite >= this.deps.progressIntervalMs) {
      this.dispose();
      this.writeProgress(p);
    } else {
      // Keep only the newest pending update; it is written when the interval has passed.
      this.pending = p;
      this.flushTimer ??= setTimeout(() => this.flush(), this.deps.progressIntervalMs - (now - this.lastWrite));
    }
  }

  /** The heartbeat (every `heartbeatMs`) or else the cheaper cancel check. */
  tick(now: number): void {
    if (this.reason || this.checking) return;
    this.checking = true;
    let answer: Promise<StorageAnswer>;
    if (now - this.lastBeat >= this.deps.heartbeatMs) {
      this.lastBeat = now;
      answer = this.deps.tasks.heartbeat(this.task.id, this.task.leaseToken);
    } else {
      answer = this.deps.tasks.isCancelRequested(this.task.id);
    }
    void this.fromStorage(answer).finally(() => (this.checking = false));
  }

  /** Drops a pending progress write (the task is finishing). */
  dispose(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
  }

  private flush(): void {
    this.flushTimer = null;
    if (this.pending && !this.reason) this.writeProgress(this.pending);
  }

  private writeProgress(p: ProgressWrite): void {
    this.lastWrite = this.deps.clock.now();
    this.lastStage = p[0];
    this.pending = null;
    void this.fromStorage(this.deps.tasks.progress(this.task.id, this.task.leaseToken, ...p));
  }

  // Storage answers asynchronously: a cancel or a lost lease aborts the task when the answer comes
  // (the action is raced against the abort, and its next progress call throws).
  private fromStorage(answer: Promise<StorageAnswer>): Promise<void> {
    return answer.then(
      (a) => {
        if (a === true || (typeof a === 'object' && a.cancelRequested)) this.abort(new CancelledError());
      },
      (err: unknown) => this.abort(err instanceof Error ? err : new Error(String(err))),
    );
  }
}
