/**
 * The change-feed reader (docs/architecture.md#the-change-feed): on a read-only connection, `PRAGMA data_version` tells in ~2 µs
 * whether any other connection committed; only then are `task_events` after the cursor read. A slow
 * safety poll reads anyway, in case a change was missed (it never should be).
 */
import { systemClock, type NowClock } from '../../common/clock.js';
import type { Db } from './open.js';
import { createEventStore, type TaskEvent } from './events.js';

export interface FeedReader {
  /** One pass: the events committed since the last pass, in seq order (empty when nothing changed). */
  pollOnce(force?: boolean): TaskEvent[];
  cursor(): number;
}

export function createFeedReader(db: Db, options: { after?: number; safetyPollMs?: number; clock?: NowClock } = {}): FeedReader {
  const events = createEventStore(db);
  const clock = options.clock ?? systemClock;
  const now = () => clock.now();
  const safetyPollMs = options.safetyPollMs ?? 1000;
  let cursor = options.after ?? events.maxSeq();
  let lastVersion = -1;
  let lastRead = now();
  return {
    pollOnce(force = false) {
      const version = events.dataVersion();
      const t = now();
      if (!force && version === lastVersion && t - lastRead < safetyPollMs) return [];
      lastVersion = version;
      lastRead = t;
      const out: TaskEvent[] = [];
      for (;;) {
        const batch = events.listAfter(cursor, 1000);
        for (const e of batch) out.push(e);
        if (batch.length) cursor = batch[batch.length - 1].seq;
        if (batch.length < 1000) return out;
      }
    },
    cursor: () => cursor,
  };
}
