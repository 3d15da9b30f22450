/** What a stable link needs of one request's dedupe key, on PostgreSQL (db/sqlite/stableLinks.ts). Read-only. */
import type pg from 'pg';
import type { ErrorCode } from '../../common/errors.js';
import type { StableLinks } from '../port.js';

export function createPgLinks(pool: pg.Pool): StableLinks {
  return {
    async state(dedupeKey) {
      // One round trip: the newest mosaic, the newest error and the live task of the key.
      const { rows } = await pool.query<{
        c_id: string | null;
        c_at: number | null;
        e_code: ErrorCode | null;
        e_at: number | null;
        live: string | null;
      }>(
        `
        SELECT c.id AS c_id, c.finished_at AS c_at, e.error_code AS e_code, e.finished_at AS e_at,
               (SELECT id FROM tasks WHERE dedupe_key = $1 AND live) AS live
        FROM (SELECT 1) one
        LEFT JOIN LATERAL (SELECT t.id, t.finished_at FROM tasks t JOIN results r ON r.id = t.id
                           WHERE t.dedupe_key = $1 AND t.status = 'COMPLETE' ORDER BY t.finished_at DESC LIMIT 1) c ON true
        LEFT JOIN LATERAL (SELECT error_code, finished_at FROM tasks
                           WHERE dedupe_key = $1 AND status = 'ERROR' ORDER BY finished_at DESC LIMIT 1) e ON true`,
        [dedupeKey],
      );
      const r = rows[0];
      return {
        complete: r.c_id !== null ? { id: r.c_id, finishedAt: r.c_at! } : null,
        error: r.e_at !== null ? { code: r.e_code ?? 'INTERNAL', finishedAt: r.e_at } : null,
        liveId: r.live,
      };
    },
  };
}
