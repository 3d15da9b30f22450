/** A clock tests move by hand: `now()` is what they set; sleeps resolve when time is advanced past them. */
import type { Clock } from '../../common/clock.js';

export interface FakeClock extends Clock {
  advance(ms: number): void;
  set(ms: number): void;
}

export function fakeClock(start = Date.UTC(2026, 10, 15, 12, 0, 0)): FakeClock {
  let now = start;
  const sleepers: { at: number; resolve: () => void }[] = [];
  const wake = () => {
    for (const s of [...sleepers]) {
      if (s.at <= now) {
        sleepers.splice(sleepers.indexOf(s), 1);
        s.resolve();
      }
    }
  };
  return {
    now: () => now,
    sleep(ms, signal) {
      return new Promise((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const entry = { at: now + ms, resolve };
        sleepers.push(entry);
        signal?.addEventListener(
          'abort',
          () => {
            const i = sleepers.indexOf(entry);
            if (i >= 0) sleepers.splice(i, 1);
            reject(signal.reason);
          },
          { once: true },
        );
        wake();
      });
    },
    advance(ms) {
      now += ms;
      wake();
    },
    set(ms) {
      now = ms;
      wake();
    },
  };
}
