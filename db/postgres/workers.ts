/** Live worker processes on PostgreSQL, heartbeated (for /healthz and early release of a dead worker's leases). */
import type pg from 'pg';
import { iso } from '../sqlite/tasks.js';
import type { WorkerRegistry } from '../port.js';

export function createPgWorkers(pool: pg.Pool): WorkerRegistry {
  return {
    async beat(id, pid, now) {
      await pool.query(
        `INSERT INTO workers (id, pid, started_at, last_seen_at) VALUES ($1, $2, $3, $3)
                        ON CONFLICT (id) DO UPDATE SET last_seen_at = excluded.last_seen_at`,
        [id, pid, now],
      );
    },
    async remove(id) {
      await pool.query(`DELETE FROM workers WHERE id = $1`, [id]);
    },
    async removeStale(before) {
      return (await pool.query(`DELETE FROM workers WHERE last_seen_at < $1`, [before])).rowCount ?? 0;
    },
    async live(since) {
      const { rows } = await pool.query<{ id: string; last_seen_at: number }>(
        `SELECT id, last_seen_at FROM workers WHERE last_seen_at >= $1 ORDER BY started_at`,
        [since],
      );
      return rows.map((r) => ({ id: r.id, lastSeenAt: iso(r.last_seen_at) }));
    },
  };
}
