/**
 * The worker loop (docs/architecture.md#queue-rules, graphile-worker's shape): claim up to `concurrency` tasks, run the
 * registered action for each with a scoped bag of helpers, heartbeat the lease, watch for cancel, and
 * finish through the lease-fenced calls. The loop is generic: it knows the queue, not what any action
 * does or which upstream it talks to. Its units: loop/taskRun.ts (one task's abort, progress throttle,
 * heartbeat and cancel check), loop/groupCommit.ts (completions batched into one transaction),
 * loop/outcome.ts (every other ending: cancel, release, retry later, fail), loop/stops.ts (why the loop
 * stops a task). It is the worker's only error translator.
 */
import { AppError } from '../common/errors.js';
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/log.js';
import type { Stage } from '../common/task.js';
import { LeaseLostError, type ClaimedTask, type CompletionWrite, type NewResult, type TaskQueue } from '../db/port.js';
import { createGroupCommit } from './loop/groupCommit.js';
import { finalWrite, finishWithError } from './loop/outcome.js';
import { ShutdownError } from './loop/stops.js';
import { TaskRun } from './loop/taskRun.js';

export { internalMessage } from './loop/outcome.js';

/** What an action gets: the task, its abort signal, a scoped logger and a throttled progress call. */
export interface ActionHelpers {
  task: ClaimedTask;
  signal: AbortSignal;
  log: Logger;
  /**
   * Records progress (throttled to a few writes a second; a stage change is written at once). Throws
   * when the task was cancelled or its lease was lost, so the action stops where it stands.
   */
  progress(stage: Stage, done: number | null, total: number | null, msg: string): void;
  /**
   * Registers a write, as data, for the transaction that marks the task COMPLETE (applied after that
   * change, so a task may schedule its own successor): undone with it if the lease was lost, never
   * applied otherwise.
   */
  onComplete(write: CompletionWrite): void;
}

/** An action returns the result to store with the task (or nothing, for tasks without an image). */
export type Action = (helpers: ActionHelpers) => Promise<NewResult | void>;

export interface LoopDeps {
  /** The queue through the storage port (the result and its RESULTS_MB eviction commit with the COMPLETE there). */
  tasks: Pick<
    TaskQueue,
    | 'claim'
    | 'heartbeat'
    | 'progress'
    | 'completeAndClaim'
    | 'fail'
    | 'retryAfter'
    | 'release'
    | 'finishCancelled'
    | 'hasRunnable'
    | 'isCancelRequested'
  >;
  /** Whether an error says the database was busy (the storage's `isBusy`). */
  isBusy: (err: unknown) => boolean;
  actions: Record<string, Action>;
  workerId: string;
  concurrency: number;
  clock: Clock;
  log: Logger;
  heartbeatMs?: number;
  cancelCheckMs?: number;
  progressIntervalMs?: number;
  /** At most this many delayed retries (an upstream's "wait N ms") before the task ends with its error. */
  maxDelays?: number;
  /** The most delays may hold a task back in all (docs/architecture.md#queue-rules: 10 minutes); each delay gets its share. */
  maxDelayTotalMs?: number;
  /** How long a task's final write keeps retrying while another program holds the database lock. */
  busyWriteMs?: number;
}

/** A task that registered no completion writes (shared, never written to). */
const NO_WRITES: CompletionWrite[] = [];

export function createWorkerLoop(deps: LoopDeps) {
  const heartbeatMs = deps.heartbeatMs ?? 5000;
  const cancelCheckMs = deps.cancelCheckMs ?? 1000;
  const progressIntervalMs = deps.progressIntervalMs ?? 250;
  const maxDelays = deps.maxDelays ?? 3;
  // The queue keeps no running total of past delays, so each may take an equal share of the budget:
  // a Retry-After of an hour (or of years) ends the task now instead of parking it, live, that long.
  const maxDelayMs = (deps.maxDelayTotalMs ?? 600_000) / maxDelays;
  const busyWriteMs = deps.busyWriteMs ?? 60_000;
  const running = new Map<string, TaskRun>();

  // One ticker for all running tasks, there only while some run: heartbeats extend the leases, and
  // the cheaper cancel check runs more often (docs/architecture.md#queue-defaults).
  let ticker: ReturnType<typeof setInterval> | null = null;
  function track(id: string, entry: TaskRun): void {
    running.set(id, entry);
    ticker ??= setInterval(
      () => {
        const now = deps.clock.now();
        for (const r of running.values()) r.tick(now);
      },
      Math.min(cancelCheckMs, heartbeatMs),
    );
  }
  function untrack(id: string): void {
    running.delete(id);
    if (running.size === 0 && ticker) {
      clearInterval(ticker);
      ticker = null;
    }
  }

  const taskRunDeps = { tasks: deps.tasks, clock: deps.clock, heartbeatMs, progressIntervalMs };
  const write = (w: () => Promise<void>) => finalWrite(deps.clock, busyWriteMs, deps.isBusy, w);
  const outcomes = { tasks: deps.tasks, clock: deps.clock, isBusy: deps.isBusy, maxDelays, maxDelayMs };
  let stopping = false;
  // Slots promised to claims still in flight (storage answers asynchronously): counted as taken, so
  // two claims never fill the same free slot.
  let reserved = 0;

  const complete = createGroupCommit({
    tasks: deps.tasks,
    workerId: deps.workerId,
    finalWrite: write,
    // The batch's tasks are still counted as running; every one of them frees its slot.
    claimSlots: (finished) => {
      const slots = stopping ? 0 : Math.max(0, deps.concurrency - running.size - reserved + finished);
      reserved += slots;
      return slots;
    },
    start: (claimed, slots) => {
      reserved -= slots;
      start(claimed);
    },
  });

  async function runTask(task: ClaimedTask, run: TaskRun): Promise<void> {
    const log = deps.log.child({ taskId: task.id, action: task.action, attempt: task.attempt });
    let completionWrites: CompletionWrite[] | undefined;
    const helpers: ActionHelpers = {
      task,
      get signal() {
        return run.signal;
      },
      log,
      onComplete: (w) => void (completionWrites ??= []).push(w),
      progress: (stage, done, total, msg) => run.progress(stage, done, total, msg),
    };
    try {
      const action = deps.actions[task.action];
      if (!action)
        throw new AppError('INTERNAL', `No worker knows how to run "${task.action}" tasks; update moviemosaic.`, { expose: true });
      const result = await run.race(action(helpers));
      if (run.abortReason) throw run.abortReason;
      run.dispose();
      try {
        await complete(task, result, completionWrites ?? NO_WRITES);
      } catch (err) {
        // The result could not be stored: that, not a heartbeat's hiccup meanwhile, is the outcome.
        run.abort(err instanceof Error ? err : new Error(String(err)));
        throw err;
      }
      log.info('task complete');
    } catch (raw) {
      const err: unknown = run.abortReason ?? raw;
      try {
        await write(() => finishWithError(outcomes, task, err, log));
      } catch (finishErr) {
        if (finishErr instanceof LeaseLostError) log.warn('lease lost; work discarded');
        else log.error('could not record task outcome', { error: String(finishErr) });
      }
    } finally {
      run.dispose();
      untrack(task.id);
    }
  }

  function start(claimed: ClaimedTask[]): void {
    for (const t of claimed) {
      const run = new TaskRun(t, taskRunDeps);
      track(t.id, run);
      run.done = runTask(t, run);
    }
  }

  return {
    /** One pass: claims as many tasks as there are free slots and starts them. Resolves to how many. */
    async runOnce(): Promise<number> {
      if (stopping) return 0;
      const free = deps.concurrency - running.size - reserved;
      if (free <= 0) return 0;
      reserved += free;
      try {
        if (!(await deps.tasks.hasRunnable()) || stopping) return 0;
        const claimed = await deps.tasks.claim(deps.workerId, free);
        start(claimed);
        return claimed.length;
      } finally {
        reserved -= free;
      }
    },

    /** Runs tasks until none is runnable and none is running (tests). */
    async runUntilIdle(): Promise<void> {
      for (;;) {
        await this.runOnce();
        if (running.size === 0 && !(await deps.tasks.hasRunnable())) return;
        if (running.size > 0) await Promise.race([...running.values()].map((r) => r.done));
      }
    },

    runningCount: () => running.size,

    /**
     * Graceful stop: claim nothing more, let in-flight tasks finish for `graceMs`, then abort them and
     * release their leases without consuming an attempt.
     */
    async stop(graceMs: number): Promise<void> {
      stopping = true;
      const all = () => Promise.all([...running.values()].map((r) => r.done));
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
      await Promise.race([all(), grace]);
      clearTimeout(timer);
      for (const r of running.values()) r.abort(new ShutdownError());
      await all();
    },

    /** Aborts every running task at once (second SIGTERM). */
    abortAll(): void {
      stopping = true;
      for (const r of running.values()) r.abort(new ShutdownError());
    },
  };
}

export type WorkerLoop = ReturnType<typeof createWorkerLoop>;
