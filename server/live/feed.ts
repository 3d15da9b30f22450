/**
 * The feed watcher: every `intervalMs` (10 ms) one `pollOnce()` of the storage's change-feed poller
 * (FeedPoller in db/port.ts: with SQLite, `PRAGMA data_version` on its own read-only connection, which
 * moves for every other connection's commit, the server's own enqueue and cancel included). The
 * poller's safety poll reads anyway once a second. One pass at a time: a pass still running when the
 * timer fires again is not overlapped, so batches are published in seq order.
 */
import type { Logger } from '../../common/log.js';
import type { FeedPoller, TaskEvent } from '../../db/port.js';

export interface FeedWatcher {
  /** One pass now (tests drive it by hand; production runs it on the timer); resolves once published. */
  pollOnce(force?: boolean): Promise<void>;
  start(): void;
  /** Stops the timer; resolves once a pass under way has finished. */
  stop(): Promise<void>;
}

export function createFeedWatcher(deps: {
  poller: FeedPoller;
  /** Publishes a batch; the next pass waits for it. */
  onEvents: (events: TaskEvent[]) => void | Promise<void>;
  log: Logger;
  intervalMs?: number;
}): FeedWatcher {
  const intervalMs = deps.intervalMs ?? 10;
  let timer: ReturnType<typeof setInterval> | null = null;
  let failing = false;
  let running: Promise<void> = Promise.resolve();

  /** Passes run one after another, whoever asks (the timer or a test). */
  function pollOnce(force = false): Promise<void> {
    running = running.then(() => pass(force));
    return running;
  }

  async function pass(force: boolean): Promise<void> {
    let events: TaskEvent[];
    try {
      events = await deps.poller.pollOnce(force);
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
      await deps.onEvents(events);
    } catch (err) {
      // Never let one bad delivery stop the timer; subscribers can always resume from their last seq.
      deps.log.error('publishing feed events failed', { error: err instanceof Error ? err.stack : String(err) });
    }
  }

  return {
    pollOnce,
    start() {
      let busy = false;
      timer ??= setInterval(() => {
        if (busy) return; // the previous pass is still publishing
        busy = true;
        void pollOnce().finally(() => (busy = false));
      }, intervalMs);
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
      return running;
    },
  };
}
