/**
 * The worker loop (docs/architecture.md#queue-rules, graphile-worker's shape): claim up to `concurrency` tasks, run the
 * registered action for each with a scoped bag of helpers, heartbeat the lease, watch for cancel, and
 * finish through the lease-fenced calls. The loop is the worker's only error translator.
 */
import { AppError, isAppError } from '../common/errors.js';
import { randomBytes } from 'node:crypto';
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/log.js';
import type { Stage } from '../common/task.js';
import type { TaskStore, ClaimedTask } from '../db/sqlite/tasks.js';
import { LeaseLostError } from '../db/sqlite/tasks.js';
import { isSqliteBusy } from '../db/sqlite/open.js';
import type { NewResult } from '../db/sqlite/results.js';

/** What an action gets: the task, its abort signal, a scoped logger and a throttled progress call. */
/** What a client sees of an unexpected failure: what to do, and the id its details are logged under. */
export function internalMessage(incident: string): string {
  return `Something went wrong while building the mosaic (incident ${incident}). Try again; if it keeps happening, the server's log has the details under that incident id.`;
}

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
   * Registers a write to run in the transaction that marks the task COMPLETE (after that change, so a
   * task may schedule its own successor): undone with it if the lease was lost, never run otherwise.
   */
  onComplete(write: () => void): void;
}

/** An action returns the result to store with the task (or nothing, for tasks without an image). */
export type Action = (helpers: ActionHelpers) => Promise<NewResult | void>;

export interface LoopDeps {
  tasks: Pick<TaskStore, 'transaction' | 'savepoint' | 'claim' | 'heartbeat' | 'progress' | 'complete' | 'fail' | 'retryAfter' | 'release' | 'finishCancelled' | 'sweep'>;
  storeResult: (taskId: string, result: NewResult) => void;
  hasRunnable: () => boolean;
  actions: Record<string, Action>;
  workerId: string;
  concurrency: number;
  clock: Clock;
  log: Logger;
  heartbeatMs?: number;
  cancelCheckMs?: number;
  isCancelRequested: (taskId: string) => boolean;
  progressIntervalMs?: number;
  /** At most this many delayed retries (429) before the task ends LETTERBOXD_RATE_LIMITED. */
  maxDelays?: number;
  /** The most 429s may hold a task back in all (docs/architecture.md#queue-rules: 10 minutes); each delay gets its share. */
  maxDelayTotalMs?: number;
  /** How long a task's final write keeps retrying while another program holds the database lock. */
  busyWriteMs?: number;
}

class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}
class ShutdownError extends Error {
  constructor() {
    super('worker shutting down');
    this.name = 'ShutdownError';
  }
}

/** "40 seconds", "60 minutes", "3 hours", "11574 days". */
function waitPhrase(ms: number): string {
  const s = Math.ceil(ms / 1000);
  if (s < 120) return `${s} seconds`;
  if (s < 2 * 3600) return `${Math.ceil(s / 60)} minutes`;
  if (s < 2 * 86_400) return `${Math.ceil(s / 3600)} hours`;
  return `${Math.ceil(s / 86_400)} days`;
}

export function createWorkerLoop(deps: LoopDeps) {
  const heartbeatMs = deps.heartbeatMs ?? 5000;
  const cancelCheckMs = deps.cancelCheckMs ?? 1000;
  const progressIntervalMs = deps.progressIntervalMs ?? 250;
  const maxDelays = deps.maxDelays ?? 3;
  // The queue keeps no running total of past delays, so each may take an equal share of the budget:
  // a Retry-After of an hour (or of years) ends the task now instead of parking it, live, that long.
  const maxDelayMs = (deps.maxDelayTotalMs ?? 600_000) / maxDelays;
  const busyWriteMs = deps.busyWriteMs ?? 60_000;
  interface Running {
    abort(reason: Error): void;
    /** The heartbeat and cancel check, run by the loop's one ticker. */
    tick(now: number): void;
    done: Promise<void>;
  }
  const running = new Map<string, Running>();

  // One ticker for all running tasks, there only while some run: heartbeats extend the leases, and
  // the cheaper cancel check runs more often (docs/architecture.md#queue-defaults).
  let ticker: ReturnType<typeof setInterval> | null = null;
  function track(id: string, entry: Running): void {
    running.set(id, entry);
    ticker ??= setInterval(() => {
      const now = deps.clock.now();
      for (const r of running.values()) r.tick(now);
    }, Math.min(cancelCheckMs, heartbeatMs));
  }
  function untrack(id: string): void {
    running.delete(id);
    if (running.size === 0 && ticker) {
      clearInterval(ticker);
      ticker = null;
    }
  }

  /**
   * A task's final write (its result, its error), retried while the database is locked past the busy
   * timeout (a backup tool, a `sqlite3` shell): the finished work is not thrown away to be redone. If
   * the lease was swept meanwhile, the write fails as LeaseLostError and the work is dropped as usual.
   */
  async function finalWrite(write: () => void): Promise<void> {
    const deadline = deps.clock.now() + busyWriteMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return write();
      } catch (err) {
        if (!isSqliteBusy(err) || deps.clock.now() >= deadline) throw err;
        await deps.clock.sleep(Math.min(1000, 100 * 2 ** attempt));
      }
    }
  }
  let stopping = false;

  // Group commit: the tasks that finish in the same turn of the event loop are completed in one
  // transaction, which also claims the next tasks for the slots they free (no wait for the next claim
  // pass). Each completion runs under its own savepoint, so one whose lease was lost, or whose result
  // could not be stored, is undone alone and its task takes the error path as before.
  interface Completion {
    task: ClaimedTask;
    result: NewResult | void;
    writes: (() => void)[];
    settle(err?: unknown): void;
  }
  let completions: Completion[] = [];

  function complete(task: ClaimedTask, result: NewResult | void, writes: (() => void)[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      completions.push({ task, result, writes, settle: (err) => (err === undefined ? resolve() : reject(err)) });
      if (completions.length === 1) queueMicrotask(() => void commitCompletions());
    });
  }

  async function commitCompletions(): Promise<void> {
    const batch = completions;
    completions = [];
    const failed = new Map<Completion, unknown>();
    let next: ClaimedTask[] = [];
    try {
      await finalWrite(() => {
        failed.clear();
        next = deps.tasks.transaction(() => {
          for (const c of batch) {
            try {
              deps.tasks.savepoint(() => {
                const { task, result, writes } = c;
                deps.tasks.complete(task.id, task.leaseToken, result || writes.length ? () => {
                  if (result) deps.storeResult(task.id, result);
                  for (const write of writes) write();
                } : undefined);
              });
            } catch (err) {
              if (isSqliteBusy(err)) throw err; // the whole batch waits and tries again
              failed.set(c, err);
            }
          }
          // The batch's tasks are still counted as running; every one of them frees its slot.
          return stopping ? [] : deps.tasks.claim(deps.workerId, deps.concurrency - running.size + batch.length);
        });
      });
    } catch (err) {
      for (const c of batch) if (!failed.has(c)) failed.set(c, err);
    }
    for (const c of batch) c.settle(failed.get(c));
    start(next);
  }

  async function runTask(task: ClaimedTask): Promise<void> {
    const controller = new AbortController();
    const log = deps.log.child({ taskId: task.id, action: task.action, attempt: task.attempt });
    let lastWrite = 0;
    let lastStage: Stage | null = null;
    let pending: [Stage, number | null, number | null, string] | null = null;
    let flushTimer: ReturnType<typeof setTimeout> | null = null;

    // Settles when the task is aborted (every abort goes through abortWith). The action is raced
    // against it, so one that ignores its signal cannot hold the slot. A promise settled here rather
    // than an 'abort' listener on the signal, which measured ~5 µs a task.
    let rejectAborted!: (reason: Error) => void;
    const aborted = new Promise<never>((_, reject) => (rejectAborted = reject));
    aborted.catch(() => {}); // seen through the race; never an unhandled rejection
    const abortWith = (err: Error) => {
      if (controller.signal.aborted) return;
      controller.abort(err);
      rejectAborted(err);
    };

    const writeProgress = (p: [Stage, number | null, number | null, string]) => {
      lastWrite = deps.clock.now();
      lastStage = p[0];
      pending = null;
      const { cancelRequested } = deps.tasks.progress(task.id, task.leaseToken, ...p);
      if (cancelRequested) abortWith(new CancelledError());
    };
    const guarded = (fn: () => void) => {
      try {
        fn();
      } catch (err) {
        abortWith(err instanceof Error ? err : new Error(String(err)));
      }
    };

    const completionWrites: (() => void)[] = [];
    const helpers: ActionHelpers = {
      task,
      signal: controller.signal,
      log,
      onComplete: (write) => void completionWrites.push(write),
      progress(stage, done, total, msg) {
        if (controller.signal.aborted) throw controller.signal.reason;
        const p: [Stage, number | null, number | null, string] = [stage, done, total, msg];
        const now = deps.clock.now();
        if (stage !== lastStage || now - lastWrite >= progressIntervalMs) {
          if (flushTimer) clearTimeout(flushTimer);
          flushTimer = null;
          guarded(() => writeProgress(p));
          if (controller.signal.aborted) throw controller.signal.reason;
        } else {
          // Keep only the newest pending update; it is written when the interval has passed.
          pending = p;
          flushTimer ??= setTimeout(() => {
            flushTimer = null;
            if (pending && !controller.signal.aborted) guarded(() => writeProgress(pending!));
          }, progressIntervalMs - (now - lastWrite));
        }
      },
    };

    let lastBeat = deps.clock.now();
    const tick = (now: number) =>
      guarded(() => {
        if (now - lastBeat >= heartbeatMs) {
          lastBeat = now;
          const { cancelRequested } = deps.tasks.heartbeat(task.id, task.leaseToken);
          if (cancelRequested) abortWith(new CancelledError());
        } else if (deps.isCancelRequested(task.id)) {
          abortWith(new CancelledError());
        }
      });

    const entry: Running = { abort: abortWith, tick, done: Promise.resolve() };
    track(task.id, entry);
    try {
      const action = deps.actions[task.action];
      if (!action) throw new AppError('INTERNAL', `No worker knows how to run "${task.action}" tasks; update moviemosaic.`, { expose: true });
      const result = await Promise.race([action(helpers), aborted]);
      if (controller.signal.aborted) throw controller.signal.reason;
      if (flushTimer) clearTimeout(flushTimer);
      try {
        await complete(task, result, completionWrites);
      } catch (err) {
        // The result could not be stored: that, not a heartbeat's hiccup meanwhile, is the outcome.
        abortWith(err instanceof Error ? err : new Error(String(err)));
        throw err;
      }
      log.info('task complete');
    } catch (raw) {
      const err = controller.signal.aborted ? controller.signal.reason : raw;
      try {
        await finalWrite(() => finishWithError(task, err, log));
      } catch (finishErr) {
        if (finishErr instanceof LeaseLostError) log.warn('lease lost; work discarded');
        else log.error('could not record task outcome', { error: String(finishErr) });
      }
    } finally {
      if (flushTimer) clearTimeout(flushTimer);
      untrack(task.id);
    }
  }

  function finishWithError(task: ClaimedTask, err: unknown, log: Logger): void {
    if (err instanceof LeaseLostError) {
      log.warn('lease lost; work discarded');
      return;
    }
    if (err instanceof CancelledError) {
      deps.tasks.finishCancelled(task.id, task.leaseToken);
      log.info('task cancelled');
      return;
    }
    if (err instanceof ShutdownError) {
      deps.tasks.release(task.id, task.leaseToken);
      log.info('task released for another worker');
      return;
    }
    if (isAppError(err)) {
      if (err.retryAfterMs !== undefined) {
        if (task.delayCount < maxDelays && err.retryAfterMs <= maxDelayMs) {
          const at = new Date(deps.clock.now() + err.retryAfterMs);
          deps.tasks.retryAfter(task.id, task.leaseToken, err.retryAfterMs,
            `Letterboxd asked us to slow down; trying again at ${at.toISOString().slice(11, 19)} UTC.`);
          log.warn('task delayed', { code: err.code, retryAfterMs: err.retryAfterMs });
          return;
        }
        // Final: the upstream's sentence promised a retry that will not happen, so say what is true.
        const msg = err.code !== 'LETTERBOXD_RATE_LIMITED'
          ? err.message
          : err.retryAfterMs > maxDelayMs
            ? `Letterboxd is rate limiting this server and asked it to wait ${waitPhrase(err.retryAfterMs)}; try again after that.`
            : `Letterboxd kept rate limiting this server (asked to wait ${task.delayCount} times); try again in a few minutes.`;
        deps.tasks.fail(task.id, task.leaseToken, err.code, msg, false);
        log.warn('task failed: rate limited', { code: err.code, retryAfterMs: err.retryAfterMs, delays: task.delayCount });
        return;
      }
      if (!err.expose) {
        const incident = randomBytes(4).toString('hex');
        deps.tasks.fail(task.id, task.leaseToken, err.code, internalMessage(incident), err.retryable);
        log.error('task failed', { code: err.code, incident, error: err.message, stack: err.stack });
        return;
      }
      deps.tasks.fail(task.id, task.leaseToken, err.code, err.message, err.retryable);
      log.warn('task failed', { code: err.code, error: err.message });
      return;
    }
    if (isSqliteBusy(err)) {
      deps.tasks.fail(task.id, task.leaseToken, 'INTERNAL', 'The database was busy; the mosaic will be retried.', true);
      log.warn('task failed: database busy');
      return;
    }
    // The exception's own text can name files, hosts or a library's internals: every client may see a
    // task, so it gets a sentence and an incident id, and the log gets the details under that id.
    const incident = randomBytes(4).toString('hex');
    const detail = err instanceof Error ? err.message : String(err);
    deps.tasks.fail(task.id, task.leaseToken, 'INTERNAL', internalMessage(incident));
    log.error('task crashed', { incident, error: detail, stack: err instanceof Error ? err.stack : undefined });
  }

  function start(claimed: ClaimedTask[]): void {
    for (const t of claimed) {
      const done = runTask(t);
      const entry = running.get(t.id);
      if (entry) entry.done = done;
    }
  }

  return {
    /** One pass: claims as many tasks as there are free slots and starts them. Returns how many. */
    runOnce(): number {
      if (stopping) return 0;
      const free = deps.concurrency - running.size;
      if (free <= 0 || !deps.hasRunnable()) return 0;
      const claimed = deps.tasks.claim(deps.workerId, free);
      start(claimed);
      return claimed.length;
    },

    /** Runs tasks until none is runnable and none is running (tests). */
    async runUntilIdle(): Promise<void> {
      for (;;) {
        this.runOnce();
        if (running.size === 0 && !deps.hasRunnable()) return;
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
