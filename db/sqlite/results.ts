/** Mosaic results: storing (inside the task's completing transaction), reading, listing, views, pruning. */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Db } from './open.js';
import { isSqliteBusy, writeTx } from './open.js';
import type { Film, MosaicListItem, MosaicParams, MosaicSummary, RenditionKind, ReviewFigures } from '../../common/task.js';
import { periodLabel, renditionUrl } from '../../common/task.js';
import { ACTIONS } from '../../common/actions.js';
import { iso } from './tasks.js';

/** The queue action that makes an older result's renditions (worker/renditions.ts runs it). */
export const MAKE_RENDITIONS = ACTIONS.makeRenditions;

export interface NewResult {
  image: Buffer;
  contentType: string;
  width: number;
  height: number;
  films: Film[];
  partial: boolean;
  note: string | null;
  /** A year in review's figures (layout review). */
  review?: ReviewFigures | null;
  /** The thumbnail and screen copies, stored with the result when the worker made them. */
  renditions?: NewRendition[];
}

export interface NewRendition {
  kind: RenditionKind;
  image: Buffer;
  contentType: string;
  width: number;
  height: number;
}

export interface StoredImage {
  image: Buffer;
  contentType: string;
  etag: string;
}

/** A result row's list columns, as both adapters read them (`partial`: SQLite 0/1, PostgreSQL boolean). */
export interface ListRow {
  id: string;
  username: string;
  params: string;
  content_type: string;
  width: number;
  height: number;
  film_count: number;
  partial: number | boolean;
  note: string | null;
  created_at: number;
}

interface SummaryRow extends ListRow {
  films: Buffer | string;
  review: string | null;
}

/** Film fields in the order a packed film list stores them. */
type PackedFilm = [title: string, year: number | null, rating: number | null, slug: string | null, watchedDate: string | null];

/**
 * A film list as stored: gzipped JSON of one array per film (no repeated keys). Measured on a 3,000-film list:
 * 462 KB as JSON objects, 327 KB as arrays, 34 KB gzipped (~2 ms, inside the
 * completing transaction. Rows written before migration 8 hold plain JSON text, which still reads.
 */
export function packFilms(films: readonly Film[]): Buffer {
  const rows: PackedFilm[] = films.map((f) => [f.title, f.year, f.rating, f.slug, f.watchedDate]);
  return gzipSync(JSON.stringify(rows), { level: 6 });
}

export function unpackFilms(stored: Buffer | string): Film[] {
  if (typeof stored === 'string') return JSON.parse(stored) as Film[];
  const rows = JSON.parse(gunzipSync(stored).toString('utf8')) as PackedFilm[];
  return rows.map(([title, year, rating, slug, watchedDate]) => ({ title, year, rating, slug, watchedDate }));
}

/** A strong ETag from the bytes. */
function etagOf(image: Buffer): string {
  return `"${createHash('sha256').update(image).digest('base64url').slice(0, 32)}"`;
}

/** The list item of a result row: the one definition the SQLite and PostgreSQL adapters share. */
export function toListItem(r: ListRow): MosaicListItem {
  const params = JSON.parse(r.params) as MosaicParams;
  const resultUrl = `/api/tasks/${r.id}/result`;
  return {
    taskId: r.id,
    username: r.username,
    params,
    label: periodLabel(params),
    filmCount: r.film_count,
    width: r.width,
    height: r.height,
    contentType: r.content_type,
    resultUrl,
    thumbUrl: renditionUrl(resultUrl, 'thumb'),
    screenUrl: renditionUrl(resultUrl, 'screen'),
    createdAt: iso(r.created_at),
    partial: r.partial === 1 || r.partial === true,
    note: r.note,
  };
}

const LIST_COLUMNS = `r.id, t.username, t.params, r.content_type, r.width, r.height, r.film_count, r.partial, r.note, r.created_at`;

/** A result's last view is written at most this often (a view is a read; most need no write). */
export const VIEW_RESOLUTION_MS = 60_000;

export type ResultStore = ReturnType<typeof createResultStore>;

export function createResultStore(db: Db) {
  const s = {
    insert: db.prepare(`
      INSERT INTO results (id, result, content_type, width, height, films, film_count, partial, note, review, etag, created_at, viewed_at, bytes)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    image: db.prepare<[string], { result: Buffer; content_type: string; etag: string }>(
      `SELECT result, content_type, etag FROM results WHERE id = ?`,
    ),
    etag: db.prepare<[string], { etag: string; content_type: string }>(`SELECT etag, content_type FROM results WHERE id = ?`),
    insertRendition: db.prepare(`
      INSERT OR REPLACE INTO renditions (id, kind, image, content_type, width, height, etag, created_at)
      SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM results WHERE id = ?)`),
    renditionEtag: db.prepare<[string, string], { etag: string; content_type: string }>(
      `SELECT etag, content_type FROM renditions WHERE id = ? AND kind = ?`,
    ),
    rendition: db.prepare<[string, string], { image: Buffer; content_type: string; etag: string }>(
      `SELECT image, content_type, etag FROM renditions WHERE id = ? AND kind = ?`,
    ),
    owner: db.prepare<[string], string>(`SELECT t.username FROM results r JOIN tasks t ON t.id = r.id WHERE r.id = ?`).pluck(),
    // The key is the one the server queues the task under (db/tasks.ts enqueueKeyed: action:key).
    renditionsFailed: db
      .prepare<[string, number], number>(
        `
      SELECT count(*) FROM tasks WHERE dedupe_key = '${MAKE_RENDITIONS}:' || ? AND status = 'ERROR' AND finished_at >= ?`,
      )
      .pluck(),
    summary: db.prepare<[string], SummaryRow>(
      `SELECT ${LIST_COLUMNS}, r.films, r.review FROM results r JOIN tasks t ON t.id = r.id WHERE r.id = ?`,
    ),
    byUser: db.prepare<[string, number], ListRow>(`
      SELECT ${LIST_COLUMNS} FROM results r JOIN tasks t ON t.id = r.id
      WHERE t.username = ? ORDER BY r.created_at DESC LIMIT ?`),
    recent: db.prepare<[number], ListRow>(`
      SELECT ${LIST_COLUMNS} FROM results r JOIN tasks t ON t.id = r.id
      ORDER BY r.created_at DESC LIMIT ?`),
    viewedAt: db.prepare<[string], { viewed_at: number }>(`SELECT viewed_at FROM results WHERE id = ?`),
    view: db.prepare<[number, string, number]>(`UPDATE results SET viewed_at = ? WHERE id = ? AND viewed_at < ?`),
    // Renditions made after the result count toward its bytes (RESULTS_MB) from then on.
    recount: db.prepare<[string, string]>(`
      UPDATE results SET bytes = length(result) + length(films) + coalesce(length(review), 0)
                                 + (SELECT coalesce(sum(length(image)), 0) FROM renditions WHERE id = ?)
      WHERE id = ?`),
  };
  function insertRendition(taskId: string, x: NewRendition, now: number): void {
    s.insertRendition.run(taskId, x.kind, x.image, x.contentType, x.width, x.height, etagOf(x.image), now, taskId);
  }
  return {
    /** Inserts a result row; call inside the task store's `complete` so both commit together. */
    insert(taskId: string, r: NewResult, now: number): void {
      const films = packFilms(r.films);
      const review = r.review ? JSON.stringify(r.review) : null;
      // A result's bytes for RESULTS_MB: the image, its film list, its figures and its renditions.
      const renditions = (r.renditions ?? []).reduce((n, x) => n + x.image.length, 0);
      const bytes = r.image.length + films.length + (review?.length ?? 0) + renditions;
      s.insert.run(
        taskId,
        r.image,
        r.contentType,
        r.width,
        r.height,
        films,
        r.films.length,
        r.partial ? 1 : 0,
        r.note,
        review,
        etagOf(r.image),
        now,
        now,
        bytes,
      );
      for (const x of r.renditions ?? []) insertRendition(taskId, x, now);
    },
    /** Stores renditions made later (an older result's); nothing when the result has gone meanwhile. */
    insertRenditions(taskId: string, list: readonly NewRendition[], now: number): void {
      writeTx(db, () => {
        for (const x of list) insertRendition(taskId, x, now);
        s.recount.run(taskId, taskId);
      });
    },
    /** A rendition's ETag alone (a 304 never reads the bytes); undefined until it is made. */
    renditionEtag(taskId: string, kind: RenditionKind): { etag: string; contentType: string } | undefined {
      const r = s.renditionEtag.get(taskId, kind);
      return r ? { etag: r.etag, contentType: r.content_type } : undefined;
    },
    rendition(taskId: string, kind: RenditionKind): StoredImage | undefined {
      const r = s.rendition.get(taskId, kind);
      return r ? { image: r.image, contentType: r.content_type, etag: r.etag } : undefined;
    },
    /** The member a result belongs to (the owner of a task that makes its renditions). */
    owner(taskId: string): string | undefined {
      return s.owner.get(taskId);
    },
    /** Whether a task making `taskId`'s renditions ended in ERROR at or after `since`. */
    renditionsFailedSince(taskId: string, since: number): boolean {
      return s.renditionsFailed.get(taskId, since)! > 0;
    },
    image(taskId: string): StoredImage | undefined {
      const r = s.image.get(taskId);
      return r ? { image: r.result, contentType: r.content_type, etag: r.etag } : undefined;
    },
    /** The ETag alone, so a 304 never reads the image bytes. */
    etag(taskId: string): { etag: string; contentType: string } | undefined {
      const r = s.etag.get(taskId);
      return r ? { etag: r.etag, contentType: r.content_type } : undefined;
    },
    /** The whole summary, film list included (`GET /api/tasks/:id/mosaic`). */
    summary(taskId: string): MosaicSummary | undefined {
      const r = s.summary.get(taskId);
      return r
        ? { ...toListItem(r), films: unpackFilms(r.films), review: r.review === null ? null : (JSON.parse(r.review) as ReviewFigures) }
        : undefined;
    },
    listByUser(username: string, limit = 50): MosaicListItem[] {
      return s.byUser.all(username, limit).map(toListItem);
    },
    listRecent(limit = 24): MosaicListItem[] {
      return s.recent.all(limit).map(toListItem);
    },
    /**
     * Records a view (the budget evicts the least recently viewed first). Written only when the last
     * recorded view is over VIEW_RESOLUTION_MS old, so a view is mostly a read; a write that meets the
     * lock held elsewhere is skipped (the next view records it): a view never waits or fails for it.
     */
    markViewed(taskId: string, now: number): void {
      const last = s.viewedAt.get(taskId)?.viewed_at;
      if (last === undefined || now - last < VIEW_RESOLUTION_MS) return;
      try {
        s.view.run(now, taskId, now - VIEW_RESOLUTION_MS);
      } catch (err) {
        if (!isSqliteBusy(err)) throw err;
      }
    },
  };
}

/**
 * Deletes results not viewed since `notViewedSince` (with their tasks; their events are pruned by
 * age), and finished tasks without a result older than that. The byte budget (db/sqlite/budget.ts) bounds
 * the rest; no member's results are kept regardless of it. Small batches.
 */
export function pruneResults(db: Db, notViewedSince: number, batch = 100): number {
  const del = db.prepare(`
    DELETE FROM tasks WHERE id IN (SELECT id FROM results WHERE viewed_at < ? LIMIT ?)`);
  // make_renditions tasks keep no result of their own: they go once finished, like failed ones.
  const delFinished = db.prepare(`
    DELETE FROM tasks WHERE id IN (
      SELECT id FROM tasks WHERE (status IN ('ERROR','CANCELLED') OR action = '${MAKE_RENDITIONS}') AND finished_at < ? LIMIT ?)`);
  let total = 0;
  for (const stmt of [del, delFinished]) {
    for (;;) {
      const n = writeTx(db, () => stmt.run(notViewedSince, batch).changes);
      total += n;
      if (n === 0 || n < batch) break;
    }
  }
  return total;
}
