/** Mosaic results on PostgreSQL (bytea): reading, listing, pruning. Stored by the queue's complete. */
import type pg from 'pg';
import type { Film, MosaicSummary, ReviewFigures } from '../../common/task.js';
import { toListItem, type ListRow } from '../sqlite/results.js';
import type { ResultStoreCore } from '../port.js';

/**
 * What the PostgreSQL adapter stores of results so far; its prune keeps a member's newest results,
 * an older rule than SQLite's (by last view, under RESULTS_MB), which issue 16 brings in line.
 */
export interface PgResultStore extends ResultStoreCore {
  prune(olderThan: number, keepPerUser?: number, batch?: number): Promise<number>;
}
import { withTx } from './connect.js';

interface SummaryRow extends Omit<ListRow, 'film_count'> {
  films: string;
  review: string | null;
}

/** The same summary as db/sqlite/results.ts builds from a SQLite row (its list item, plus films and figures). */
function toSummary(r: SummaryRow): MosaicSummary {
  const films = JSON.parse(r.films) as Film[];
  return {
    ...toListItem({ ...r, film_count: films.length }),
    films,
    review: r.review === null ? null : (JSON.parse(r.review) as ReviewFigures),
  };
}

const SUMMARY = `SELECT r.id, t.username, t.params, r.content_type, r.width, r.height, r.films, r.partial, r.note, r.review, r.created_at
                 FROM results r JOIN tasks t ON t.id = r.id`;

export function createPgResults(pool: pg.Pool): PgResultStore {
  return {
    async image(taskId) {
      const r = (await pool.query<{ result: Buffer; content_type: string; etag: string }>(
        `SELECT result, content_type, etag FROM results WHERE id = $1`, [taskId])).rows[0];
      return r ? { image: r.result, contentType: r.content_type, etag: r.etag } : undefined;
    },
    async etag(taskId) {
      const r = (await pool.query<{ etag: string; content_type: string }>(`SELECT etag, content_type FROM results WHERE id = $1`, [taskId])).rows[0];
      return r ? { etag: r.etag, contentType: r.content_type } : undefined;
    },
    async summary(taskId) {
      const r = (await pool.query<SummaryRow>(`${SUMMARY} WHERE r.id = $1`, [taskId])).rows[0];
      return r ? toSummary(r) : undefined;
    },
    async listByUser(username, limit = 50) {
      return (await pool.query<SummaryRow>(`${SUMMARY} WHERE t.username = $1 ORDER BY r.created_at DESC LIMIT $2`, [username, limit])).rows.map(toSummary);
    },
    async listRecent(limit = 24) {
      return (await pool.query<SummaryRow>(`${SUMMARY} ORDER BY r.created_at DESC LIMIT $1`, [limit])).rows.map(toSummary);
    },
    /** As db/sqlite/results.ts pruneResults: old results beyond a member's newest `keepPerUser`, and old failed tasks. */
    async prune(olderThan, keepPerUser = 20, batch = 100) {
      const statements: [string, unknown[]][] = [
        [`DELETE FROM tasks WHERE id IN (
            SELECT id FROM (
              SELECT r.id, r.created_at, row_number() OVER (PARTITION BY t.username ORDER BY r.created_at DESC) AS rank
              FROM results r JOIN tasks t ON t.id = r.id) x
            WHERE created_at < $1 AND rank > $2 LIMIT $3)`, [olderThan, keepPerUser]],
        [`DELETE FROM tasks WHERE id IN (
            SELECT id FROM tasks WHERE status IN ('ERROR','CANCELLED') AND finished_at < $1 LIMIT $2)`, [olderThan]],
      ];
      let total = 0;
      for (const [sql, args] of statements) {
        for (;;) {
          const n = await withTx(pool, async (c) => (await c.query(sql, [...args, batch])).rowCount ?? 0);
          total += n;
          if (n < batch) break;
        }
      }
      return total;
    },
  };
}
