/** Test doubles shared by the client tests. */
import type { Timers } from '../../client/live.js';

/** Timers that run only when the test advances time. */
export class FakeTimers implements Timers {
  now = 0;
  #seq = 0;
  pending = new Map<number, { at: number; fn: () => void }>();
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#seq;
    this.pending.set(id, { at: this.now + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const next = [...this.pending.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!next) break;
      this.pending.delete(next[0]);
      this.now = next[1].at;
      next[1].fn();
    }
    this.now = end;
  }
  /** The remaining delay of every pending timer. */
  delays(): number[] {
    return [...this.pending.values()].map((t) => t.at - this.now);
  }
}
