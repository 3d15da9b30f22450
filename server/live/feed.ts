/**
 * The feed watcher: every `intervalMs` (10 ms) one `pollOnce()` of the change-feed reader, on its own
 * read-only connection (`PRAGMA data_version` only moves for commits by *other* connections, the
 * server's own enqueue and cancel included). The reader's safety poll reads anyway once a second.
 */
import type { Logger } from '../../common/log.js';
import type { FeedReader } from '../../db/sqlite/feed.js';
import type { TaskEvent } from '../../db/sqlite/events.js';

export interface FeedWatcher {
  /** One pass now (tests drive it by hand; production runs it on the timer). */
  pollOnce(force?: boolean): void;
  start(): void;
  stop(): void;
}

export function createFeedWatcher(deps: {
  reader: FeedReader;
  onEvents: (events: TaskEvent[]) => void;
  log: Logger;
  intervalMs?: number;
}): FeedWatcher {
  const intervalMs = deps.intervalMs ?? 10;
  let timer: ReturnType<typeof setInterval> | null = null;
  let failing = false;

  function pollOnce(force = false): void {
    let events: TaskEvent[];
    try {
      events = deps.reader.pollOnce(force);
      if (failing) deps.log.info('change feed readable again');
      failing = false;
    } catch (err) {
      // A busy or briefly unreadable database: keep the cursor and try on the next tick; log once.
      if (!failing) deps.log.error('change feed read failed', { error: err instanceof Error ? err.message : String(err) });
      failing = true;
      return;
    }
    if (!events.length) return;
    try {
      deps.onEvents(events);
    } catch (err) {
      // Never let one bad delivery stop the timer; subscribers can always resume from their last seq.
      deps.log.error('publishing feed events failed', { error: err instanceof Error ? err.stack : String(err) });
    }
  }

  return {
    pollOnce,
    start() {
      timer ??= setInterval(pollOnce, intervalMs);
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}
