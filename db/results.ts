/** Mosaic results: storing (inside the task's completing transaction), reading, listing, pruning. */
import { createHash } from 'node:crypto';
import type { Db } from './open.js';
import { writeTx } from './open.js';
import type { Film, MosaicParams, MosaicSummary, RenditionKind } from '../common/task.js';
import { periodLabel, renditionUrl } from '../common/task.js';
import { iso } from './tasks.js';

/** The queue action that makes an older result's renditions (worker/renditions.ts runs it). */
export const MAKE_RENDITIONS = 'make_renditions';

export interface NewResult {
  image: Buffer;
  contentType: string;
  width: number;
  height: number;
  films: Film[];
  partial: boolean;
  note: string | null;
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

interface SummaryRow {
  id: string;
  username: string;
  params: string;
  content_type: string;
  width: number;
  height: number;
  films: string;
  partial: number;
  note: string | null;
  created_at: number;
}

/** A strong ETag from the bytes. */
function etagOf(image: Buffer): string {
  return `"${createHash('sha256').update(image).digest('base64url').slice(0, 32)}"`;
}

function toSummary(r: SummaryRow): MosaicSummary {
  const params = JSON.parse(r.params) as MosaicParams;
  const films = JSON.parse(r.films) as Film[];
  const resultUrl = `/api/tasks/${r.id}/result`;
  return {
    taskId: r.id,
    username: r.username,
    params,
    label: periodLabel(params),
    filmCount: films.length,
    width: r.width,
    height: r.height,
    contentType: r.content_type,
    resultUrl,
    thumbUrl: renditionUrl(resultUrl, 'thumb'),
    screenUrl: renditionUrl(resultUrl, 'screen'),
    createdAt: iso(r.created_at),
    partial: r.partial === 1,
    note: r.note,
    films,
  };
}

const SUMMARY_COLUMNS = `r.id, t.username, t.params, r.content_type, r.width, r.height, r.films, r.partial, r.note, r.created_at`;

export type ResultStore = ReturnType<typeof createResultStore>;

export function createResultStore(db: Db) {
  const s = {
    insert: db.prepare(`
      INSERT INTO results (id, result, content_type, width, height, films, partial, note, etag, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
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
    summary: db.prepare<[string], SummaryRow>(
      `SELECT ${SUMMARY_COLUMNS} FROM results r JOIN tasks t ON t.id = r.id WHERE r.id = ?`,
    ),
    byUser: db.prepare<[string, number], SummaryRow>(`
      SELECT ${SUMMARY_COLUMNS} FROM results r JOIN tasks t ON t.id = r.id
      WHERE t.username = ? ORDER BY r.created_at DESC LIMIT ?`),
    recent: db.prepare<[number], SummaryRow>(`
      SELECT ${SUMMARY_COLUMNS} FROM results r JOIN tasks t ON t.id = r.id
      ORDER BY r.created_at DESC LIMIT ?`),
  };
  function insertRendition(taskId: string, x: NewRendition, now: number): void {
    s.insertRendition.run(taskId, x.kind, x.image, x.contentType, x.width, x.height, etagOf(x.image), now, taskId);
  }
  return {
    /** Inserts a result row; call inside the task store's `complete` so both commit together. */
    insert(taskId: string, r: NewResult, now: number): void {
      s.insert.run(taskId, r.image, r.contentType, r.width, r.height, JSON.stringify(r.films), r.partial ? 1 : 0, r.note, etagOf(r.image), now);
      for (const x of r.renditions ?? []) insertRendition(taskId, x, now);
    },
    /** Stores renditions made later (an older result's); nothing when the result has gone meanwhile. */
    insertRenditions(taskId: string, list: readonly NewRendition[], now: number): void {
      writeTx(db, () => {
        for (const x of list) insertRendition(taskId, x, now);
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
    image(taskId: string): StoredImage | undefined {
      const r = s.image.get(taskId);
      return r ? { image: r.result, contentType: r.content_type, etag: r.etag } : undefined;
    },
    /** The ETag alone, so a 304 never reads the image bytes. */
    etag(taskId: string): { etag: string; contentType: string } | undefined {
      const r = s.etag.get(taskId);
      return r ? { etag: r.etag, contentType: r.content_type } : undefined;
    },
    summary(taskId: string): MosaicSummary | undefined {
      const r = s.summary.get(taskId);
      return r ? toSummary(r) : undefined;
    },
    listByUser(username: string, limit = 50): MosaicSummary[] {
      return s.byUser.all(username, limit).map(toSummary);
    },
    listRecent(limit = 24): MosaicSummary[] {
      return s.recent.all(limit).map(toSummary);
    },
  };
}

/**
 * Keeps results younger than `olderThan` or among the newest `keepPerUser` of their member (design
 * §10.6); older finished tasks go with them (their events are pruned by age). Small batches.
 */
export function pruneResults(db: Db, olderThan: number, keepPerUser = 20, batch = 100): number {
  const del = db.prepare(`
    DELETE FROM tasks WHERE id IN (
      SELECT id FROM (
        SELECT r.id, r.created_at,
               row_number() OVER (PARTITION BY t.username ORDER BY r.created_at DESC) AS rank
        FROM results r JOIN tasks t ON t.id = r.id)
      WHERE created_at < ? AND rank > ? LIMIT ?)`);
  // make_renditions tasks keep no result of their own: they go once finished, like failed ones.
  const delFinished = db.prepare(`
    DELETE FROM tasks WHERE id IN (
      SELECT id FROM tasks WHERE (status IN ('ERROR','CANCELLED') OR action = '${MAKE_RENDITIONS}') AND finished_at < ? LIMIT ?)`);
  let total = 0;
  for (const [stmt, args] of [[del, [olderThan, keepPerUser]], [delFinished, [olderThan]]] as const) {
    for (;;) {
      const n = writeTx(db, () => stmt.run(...args, batch).changes);
      total += n;
      if (n < batch) break;
    }
  }
  return total;
}
