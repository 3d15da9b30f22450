/** Live worker processes (docs/architecture.md#tables: `workers`), heartbeated for /healthz and early lease release. */
import type { Db } from './open.js';
import { writeTx } from './open.js';
import { iso } from './tasks.js';

export type WorkerStore = ReturnType<typeof createWorkerStore>;

export function createWorkerStore(db: Db) {
  const s = {
    upsert: db.prepare(`
      INSERT INTO workers (id, pid, started_at, last_seen_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET last_seen_at = excluded.last_seen_at`),
    remove: db.prepare(`DELETE FROM workers WHERE id = ?`),
    removeStale: db.prepare(`DELETE FROM workers WHERE last_seen_at < ?`),
    list: db.prepare<[number], { id: string; last_seen_at: number }>(
      `SELECT id, last_seen_at FROM workers WHERE last_seen_at >= ? ORDER BY started_at`,
    ),
  };
  return {
    /** Records that the worker is alive (also registers it). */
    beat(id: string, pid: number, now: number): void {
      writeTx(db, () => s.upsert.run(id, pid, now, now));
    },
    remove(id: string): void {
      writeTx(db, () => s.remove.run(id));
    },
    /** Forgets workers not seen since `before` (their leases are expired by the task sweeper). */
    removeStale(before: number): number {
      return writeTx(db, () => s.removeStale.run(before).changes);
    },
    /** Workers seen since `since`. */
    live(since: number): { id: string; lastSeenAt: string }[] {
      return s.list.all(since).map((r) => ({ id: r.id, lastSeenAt: iso(r.last_seen_at) }));
    },
  };
}
