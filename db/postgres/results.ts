/**
 * Mosaic results on PostgreSQL (bytea), with db/sqlite/results.ts's semantics: stored in the completing
 * transaction (with their renditions), read with their ETag, views recorded for RESULTS_MB, pruned by
 * last view. Film lists stay JSON text here (PostgreSQL compresses large text itself).
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Film, MosaicSummary, RenditionKind, ReviewFigures } from '../../common/task.js';
import {
  MAKE_RENDITIONS,
  VIEW_RESOLUTION_MS,
  toListItem,
  type ListRow,
  type NewRendition,
  type NewResult,
  type StoredImage,
} from '../sqlite/results.js';
import type { ResultStore } from '../port.js';
import { withTx } from './connect.js';

export type PgResultStore = ResultStore & {
  /** Stores a result (and its renditions) inside the completing transaction. */
  insertOn(c: pg.ClientBase, taskId: string, r: NewResult, now: number): Promise<void>;
};

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

function etagOf(image: Buffer): string {
  return `"${createHash('sha256').update(image).digest('base64url').slice(0, 32)}"`;
}

const SUMMARY = `SELECT r.id, t.username, t.params, r.content_type, r.width, r.height, r.films, r.partial, r.note, r.review, r.created_at
                 FROM results r JOIN tasks t ON t.id = r.id`;

const image = (r: { image: Buffer; content_type: string; etag: string } | undefined): StoredImage | undefined =>
  r ? { image: r.image, contentType: r.content_type, etag: r.etag } : undefined;
type ImageRow = { image: Buffer; content_type: string; etag: string };
type TagRow = { etag: string; content_type: string };
const tag = (r: { etag: string; content_type: string } | undefined) => (r ? { etag: r.etag, contentType: r.content_type } : undefined);

async function insertRendition(c: pg.ClientBase, taskId: string, x: NewRendition, now: number): Promise<void> {
  await c.query(
    `
    INSERT INTO renditions (id, kind, image, content_type, width, height, etag, created_at)
    SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE EXISTS (SELECT 1 FROM results WHERE id = $1)
    ON CONFLICT (id, kind) DO UPDATE SET image = excluded.image, content_type = excluded.content_type, width = excluded.width,
      height = excluded.height, etag = excluded.etag, created_at = excluded.created_at`,
    [taskId, x.kind, x.image, x.contentType, x.width, x.height, etagOf(x.image), now],
  );
}

export function createPgResults(pool: pg.Pool): PgResultStore {
  return {
    async insertOn(c, taskId, r, now) {
      const films = JSON.stringify(r.films);
      const review = r.review ? JSON.stringify(r.review) : null;
      // A result's bytes for RESULTS_MB: the image, its film list, its figures and its renditions.
      const renditions = (r.renditions ?? []).reduce((n, x) => n + x.image.length, 0);
      const bytes = r.image.length + Buffer.byteLength(films) + (review ? Buffer.byteLength(review) : 0) + renditions;
      await c.query(
        `
        INSERT INTO results (id, result, content_type, width, height, films, partial, note, review, etag, created_at, viewed_at, bytes)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12)`,
        [taskId, r.image, r.contentType, r.width, r.height, films, r.partial, r.note, review, etagOf(r.image), now, bytes],
      );
      for (const x of r.renditions ?? []) await insertRendition(c, taskId, x, now);
    },
    async insertRenditions(taskId, list, now) {
      await withTx(pool, async (c) => {
        for (const x of list) await insertRendition(c, taskId, x, now);
        // Renditions made after the result count toward its bytes (RESULTS_MB) from then on.
        await c.query(
          `
          UPDATE results SET bytes = length(result) + octet_length(films) + coalesce(octet_length(review), 0)
                                     + (SELECT coalesce(sum(length(image)), 0) FROM renditions WHERE id = $1)
          WHERE id = $1`,
          [taskId],
        );
      });
    },
    async renditionEtag(taskId: string, kind: RenditionKind) {
      return tag(
        (await pool.query<TagRow>(`SELECT etag, content_type FROM renditions WHERE id = $1 AND kind = $2`, [taskId, kind])).rows[0],
      );
    },
    async rendition(taskId: string, kind: RenditionKind) {
      return image(
        (await pool.query<ImageRow>(`SELECT image, content_type, etag FROM renditions WHERE id = $1 AND kind = $2`, [taskId, kind]))
          .rows[0],
      );
    },
    /** Whether this result's make_renditions task ended in ERROR since `since` (the server then serves the full image). */
    async renditionsFailedSince(taskId: string, since: number) {
      return (
        (
          await pool.query(
            `SELECT 1 FROM tasks WHERE dedupe_key = '${MAKE_RENDITIONS}:' || $1 AND status = 'ERROR' AND finished_at >= $2 LIMIT 1`,
            [taskId, since],
          )
        ).rowCount! > 0
      );
    },
    async owner(taskId) {
      return (
        await pool.query<{ username: string }>(`SELECT t.username FROM results r JOIN tasks t ON t.id = r.id WHERE r.id = $1`, [taskId])
      ).rows[0]?.username;
    },
    /** Records a view at most once a VIEW_RESOLUTION_MS, so a view is mostly a read. */
    async markViewed(taskId, now) {
      await pool.query(`UPDATE results SET viewed_at = $1 WHERE id = $2 AND viewed_at < $3`, [now, taskId, now - VIEW_RESOLUTION_MS]);
    },
    async image(taskId) {
      return image((await pool.query<ImageRow>(`SELECT result AS image, content_type, etag FROM results WHERE id = $1`, [taskId])).rows[0]);
    },
    async etag(taskId) {
      return tag((await pool.query<TagRow>(`SELECT etag, content_type FROM results WHERE id = $1`, [taskId])).rows[0]);
    },
    async summary(taskId) {
      const r = (await pool.query<SummaryRow>(`${SUMMARY} WHERE r.id = $1`, [taskId])).rows[0];
      return r ? toSummary(r) : undefined;
    },
    async listByUser(username, limit = 50) {
      return (
        await pool.query<SummaryRow>(`${SUMMARY} WHERE t.username = $1 ORDER BY r.created_at DESC LIMIT $2`, [username, limit])
      ).rows.map(toSummary);
    },
    async listRecent(limit = 24) {
      return (await pool.query<SummaryRow>(`${SUMMARY} ORDER BY r.created_at DESC LIMIT $1`, [limit])).rows.map(toSummary);
    },
    /** As db/sqlite/results.ts pruneResults: results not viewed since then (with their tasks), old failed and renditions tasks. */
    async prune(notViewedSince, batch = 100) {
      const statements = [
        `DELETE FROM tasks WHERE id IN (SELECT id FROM results WHERE viewed_at < $1 LIMIT $2)`,
        // make_renditions tasks keep no result of their own: they go once finished, like failed ones.
        `DELETE FROM tasks WHERE id IN (
           SELECT id FROM tasks WHERE (status IN ('ERROR','CANCELLED') OR action = '${MAKE_RENDITIONS}') AND finished_at < $1 LIMIT $2)`,
      ];
      let total = 0;
      for (const sql of statements) {
        for (;;) {
          const n = (await pool.query(sql, [notViewedSince, batch])).rowCount ?? 0;
          total += n;
          if (n === 0 || n < batch) break;
        }
      }
      return total;
    },
  };
}
