/**
 * Writes from the server's event loop, which must stay free (docs/architecture.md#shape). better-sqlite3 waits for a
 * lock held elsewhere synchronously: with SQLite's usual 5 s busy timeout, one POST arriving while a
 * `sqlite3` shell, a backup tool or a slow result write holds the lock froze every page, API call and
 * socket for 5 s, then answered 500. So the server's connection waits at most SYNC_BUSY_MS that way
 * (worker transactions take a few ms); beyond that a write is retried asynchronously, the loop serving
 * everyone else in between, and after `forMs` the answer is a 503 with Retry-After.
 */
import type { Clock } from '../common/clock.js';
import { busyError } from './middleware/errors.js';

/** The longest the server's connection blocks the event loop waiting for the write lock. */
export const SYNC_BUSY_MS = 10;

/** Runs a write (synchronous, or async like the export import), retrying it while the lock is held elsewhere. */
export type RetryBusy = <T>(write: () => T | Promise<T>) => Promise<T>;

/** `isBusy` is the storage's own test for "locked by another program" (Storage.isBusy). */
export function createRetryBusy(
  clock: Pick<Clock, 'now' | 'sleep'>,
  isBusy: (err: unknown) => boolean,
  forMs = 5000,
  random: () => number = Math.random,
): RetryBusy {
  return async (write) => {
    const deadline = clock.now() + forMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await write();
      } catch (err) {
        if (!isBusy(err)) throw err;
        if (clock.now() >= deadline) throw busyError();
        await clock.sleep(Math.round(Math.min(250, 10 * 2 ** attempt) * (0.5 + random())));
      }
    }
  };
}

/** Without a retry policy: the write runs once, and a busy database is answered by the error handler (503) at once. */
export const writeOnce: RetryBusy = async (write) => write();
