/**
 * The `poll_feed` action: reads a followed member's feed (one request, behind every mosaic's at the
 * spacing gate), keeps it in the diary archive, and schedules the member's next poll, all in the
 * transaction that completes the task. A crash before that commit leaves nothing half-kept: the queue
 * gives the task to another worker, and the archive's entries are keyed by viewing, so a read kept
 * twice is kept once.
 */
import type { Clock } from '../common/clock.js';
import { ACTIONS } from '../common/actions.js';
import { isAppError } from '../common/errors.js';
import type { CompletionWrite, DiaryArchive, TaskQueue } from '../db/port.js';
import type { Action } from './loop.js';
import type { Feed } from './sources/rss.js';
import type { Progress } from './sources/types.js';

/** The poll action's name, as the tests and benchmarks that schedule polls call it. */
export const POLL_ACTION = ACTIONS.pollFeed;

const DAY = 86_400_000;
/** A member no mosaic has used for this long is no longer followed (their archive goes too). */
export const FOLLOW_IDLE_MS = 90 * DAY;

/** When to poll next: `intervalMs` on, ±10% so that members followed together drift apart. */
export function nextPollAt(now: number, intervalMs: number, random: () => number = Math.random): number {
  return now + Math.round(intervalMs * (0.9 + 0.2 * random()));
}

export interface PollParts {
  readFeed(username: string, ctx: { progress: Progress; signal: AbortSignal }): Promise<Feed>;
  archive: Pick<DiaryArchive, 'isFollowed'>;
  clock: Pick<Clock, 'now'>;
  intervalMs: number;
  maxMembers: number;
  random?: () => number;
}

export function createPollAction(parts: PollParts): Action {
  // Applied by the storage in the completing transaction, only while the member is still followed.
  const keepFeed = (username: string, window?: Feed): CompletionWrite => ({
    kind: 'keepFeed',
    username,
    window,
    maxMembers: parts.maxMembers,
    poll: { action: POLL_ACTION, runAt: nextPollAt(parts.clock.now(), parts.intervalMs, parts.random) },
  });
  return async ({ task, signal, progress, log, onComplete }) => {
    const username = task.username;
    // Stopped since this poll was scheduled (or polling turned off): the chain ends here.
    if (parts.intervalMs <= 0 || !(await parts.archive.isFollowed(username))) return;
    let feed: Feed;
    try {
      feed = await parts.readFeed(username, { progress, signal });
    } catch (err) {
      // Refused, or a feed that no longer reads: not worth the queue's retries, try at the next poll.
      // Network trouble and rate limits go back to the queue (which retries them, then gives up; the
      // worker's housekeeping restarts a chain that ended so).
      if (isAppError(err) && !err.retryable && err.retryAfterMs === undefined) {
        log.warn('feed poll failed', { code: err.code, error: err.message });
        onComplete(keepFeed(username));
        return;
      }
      throw err;
    }
    onComplete(keepFeed(username, feed));
  };
}

export interface PollKeeping {
  archive: Pick<DiaryArchive, 'expire' | 'unpolled'>;
  tasks: Pick<TaskQueue, 'schedule'>;
  clock: Pick<Clock, 'now'>;
  intervalMs: number;
  random?: () => number;
}

/**
 * The worker's periodic care of the polls: members unused for 90 days are dropped, and a followed
 * member whose chain of polls broke (a poll that ended in an error, a worker lost for good) gets a
 * new one. Returns what it did, for the log.
 */
export async function keepPolls(k: PollKeeping): Promise<{ expired: string[]; restarted: string[] }> {
  const now = k.clock.now();
  const expired = await k.archive.expire(now - FOLLOW_IDLE_MS);
  const restarted: string[] = [];
  if (k.intervalMs > 0) {
    for (const m of await k.archive.unpolled(POLL_ACTION)) {
      if (await k.tasks.schedule(POLL_ACTION, m.username, nextPollAt(now, k.intervalMs, k.random))) restarted.push(m.username);
    }
  }
  return { expired, restarted };
}
