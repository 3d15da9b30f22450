/**
 * How a task that did not complete ends: cancelled, released at shutdown, parked to retry later (an
 * upstream asked it to wait), failed with its own code and sentence, or failed as an incident whose
 * details only the log holds. And the final write itself, retried while the database is locked.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../common/clock.js';
import { isAppError, type AppError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { LeaseLostError, type ClaimedTask, type TaskQueue } from '../../db/port.js';
import { retryWording, waitPhrase } from '../retryLater.js';
import { CancelledError, ShutdownError } from './stops.js';

/** What a client sees of an unexpected failure: what to do, and the id its details are logged under. */
export function internalMessage(incident: string): string {
  return `Something went wrong while building the mosaic (incident ${incident}). Try again; if it keeps happening, the server's log has the details under that incident id.`;
}

/**
 * A task's final write (its result, its error), retried while the database is locked past the busy
 * timeout (a backup tool, a `sqlite3` shell): the finished work is not thrown away to be redone. If
 * the lease was swept meanwhile, the write fails as LeaseLostError and the work is dropped as usual.
 */
export async function finalWrite(
  clock: Clock,
  busyWriteMs: number,
  isBusy: (err: unknown) => boolean,
  write: () => Promise<void>,
): Promise<void> {
  const deadline = clock.now() + busyWriteMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      if (!isBusy(err) || clock.now() >= deadline) throw err;
      await clock.sleep(Math.min(1000, 100 * 2 ** attempt));
    }
  }
}

export interface OutcomeDeps {
  tasks: Pick<TaskQueue, 'fail' | 'retryAfter' | 'release' | 'finishCancelled'>;
  clock: Clock;
  /** Whether an error says the database was busy (the storage's own test). */
  isBusy: (err: unknown) => boolean;
  /** At most this many delayed retries before the task ends with its error. */
  maxDelays: number;
  /** The longest one delay may be. */
  maxDelayMs: number;
}

/** An upstream asked the task to wait `err.retryAfterMs`: park it, or end it if the wait is over budget. */
async function retryLater(deps: OutcomeDeps, task: ClaimedTask, err: AppError & { retryAfterMs: number }, log: Logger): Promise<void> {
  const wording = retryWording(err);
  if (task.delayCount < deps.maxDelays && err.retryAfterMs <= deps.maxDelayMs) {
    const at = new Date(deps.clock.now() + err.retryAfterMs);
    await deps.tasks.retryAfter(task.id, task.leaseToken, err.retryAfterMs, wording.delayed(at.toISOString().slice(11, 19)));
    log.warn('task delayed', { code: err.code, retryAfterMs: err.retryAfterMs });
    return;
  }
  // Final: the upstream's sentence promised a retry that will not happen, so say what is true.
  const msg = err.retryAfterMs > deps.maxDelayMs ? wording.tooLong(waitPhrase(err.retryAfterMs)) : wording.persisted(task.delayCount);
  await deps.tasks.fail(task.id, task.leaseToken, err.code, msg, false);
  log.warn('task failed: rate limited', { code: err.code, retryAfterMs: err.retryAfterMs, delays: task.delayCount });
}

/** Records how `task` ended when its action threw `err` (or was aborted with it). */
export async function finishWithError(deps: OutcomeDeps, task: ClaimedTask, err: unknown, log: Logger): Promise<void> {
  if (err instanceof LeaseLostError) {
    log.warn('lease lost; work discarded');
    return;
  }
  if (err instanceof CancelledError) {
    await deps.tasks.finishCancelled(task.id, task.leaseToken);
    log.info('task cancelled');
    return;
  }
  if (err instanceof ShutdownError) {
    await deps.tasks.release(task.id, task.leaseToken);
    log.info('task released for another worker');
    return;
  }
  if (isAppError(err)) {
    if (err.retryAfterMs !== undefined) return retryLater(deps, task, err as AppError & { retryAfterMs: number }, log);
    if (!err.expose) {
      const incident = randomBytes(4).toString('hex');
      await deps.tasks.fail(task.id, task.leaseToken, err.code, internalMessage(incident), err.retryable);
      log.error('task failed', { code: err.code, incident, error: err.message, stack: err.stack });
      return;
    }
    await deps.tasks.fail(task.id, task.leaseToken, err.code, err.message, err.retryable);
    log.warn('task failed', { code: err.code, error: err.message });
    return;
  }
  if (deps.isBusy(err)) {
    await deps.tasks.fail(task.id, task.leaseToken, 'INTERNAL', 'The database was busy; the mosaic will be retried.', true);
    log.warn('task failed: database busy');
    return;
  }
  // The exception's own text can name files, hosts or a library's internals: every client may see a
  // task, so it gets a sentence and an incident id, and the log gets the details under that id.
  const incident = randomBytes(4).toString('hex');
  const detail = err instanceof Error ? err.message : String(err);
  await deps.tasks.fail(task.id, task.leaseToken, 'INTERNAL', internalMessage(incident));
  log.error('task crashed', { incident, error: detail, stack: err instanceof Error ? err.stack : undefined });
}
