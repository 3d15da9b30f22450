/**
 * Members' Letterboxd data exports (docs/architecture.md#export-upload, docs/architecture.md#where-the-films-come-from): the parsed CSVs of the latest upload, one row per
 * member, replaced whole by the next upload. `importedAt` makes that member's earlier results stale
 * for dedupe (docs/architecture.md#dedupe).
 */
import { promisify } from 'node:util';
import { gunzipSync, gzip } from 'node:zlib';
import type { Db } from './open.js';
import { writeTx } from './open.js';
import { iso } from './tasks.js';

const gzipAsync = promisify(gzip);

/** A row of `watched.csv`: one per film watched. Dates are YYYY-MM-DD or null. */
export interface ExportFilm {
  /** The day it was marked watched. */
  date: string | null;
  name: string;
  year: number | null;
  /**
   * The `https://boxd.it/…` short link (no slug), or null. In watched.csv and ratings.csv it names the
   * film, so it tells apart two films of the same title and year and joins those two files; in
   * diary.csv it names the diary entry, not the film.
   */
  uri: string | null;
}

/** A row of `diary.csv`: one per viewing. */
export interface ExportViewing extends ExportFilm {
  /** 0.5–5 in halves, or null when unrated. */
  rating: number | null;
  rewatch: boolean;
  watchedDate: string | null;
}

/** A row of `ratings.csv`: the member's current rating of a film. */
export interface ExportRating extends ExportFilm {
  rating: number | null;
}

export interface ExportData {
  /** watched.csv in file order (Date ascending). */
  watched: ExportFilm[];
  /** diary.csv in file order (Watched Date ascending). */
  diary: ExportViewing[];
  ratings: ExportRating[];
}

/** What `POST /api/users/:username/export` answers (common/protocol.ts ImportResponse). */
export interface ImportSummary {
  username: string;
  films: number;
  diaryEntries: number;
  importedAt: string;
}

export interface StoredImport extends ExportData {
  importedAt: number;
}

interface ImportRow {
  username: string;
  imported_at: number;
  films: number;
  diary_entries: number;
}

function toSummary(r: ImportRow): ImportSummary {
  return { username: r.username, films: r.films, diaryEntries: r.diary_entries, importedAt: iso(r.imported_at) };
}

export type ImportStore = ReturnType<typeof createImportStore>;

/** Builds the import functions over one connection, with statements prepared once. */
export function createImportStore(db: Db) {
  const s = {
    replace: db.prepare<[string, number, number, number, Buffer, number], ImportRow>(`
      INSERT INTO member_imports (username, imported_at, films, diary_entries, data, bytes) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (username) DO UPDATE SET
        imported_at = excluded.imported_at, films = excluded.films,
        diary_entries = excluded.diary_entries, data = excluded.data, bytes = excluded.bytes
      RETURNING username, imported_at, films, diary_entries`),
    summary: db.prepare<[string], ImportRow>(`SELECT username, imported_at, films, diary_entries FROM member_imports WHERE username = ?`),
    importedAt: db.prepare<[string], { imported_at: number }>(`SELECT imported_at FROM member_imports WHERE username = ?`),
    load: db.prepare<[string], { imported_at: number; data: Buffer }>(`SELECT imported_at, data FROM member_imports WHERE username = ?`),
  };

  return {
    /**
     * Replaces `username`'s import with `data` in one statement: readers see the old import or the
     * new one, never a mix. `now` is the staleness mark for dedupe. Compression runs in zlib's
     * threads, so the server's event loop only serialises and writes.
     */
    async replace(username: string, data: ExportData, now: number): Promise<ImportSummary> {
      const packed = await gzipAsync(Buffer.from(JSON.stringify(data), 'utf8'));
      return toSummary(writeTx(db, () => s.replace.get(username, now, data.watched.length, data.diary.length, packed, packed.length)!));
    },

    summary(username: string): ImportSummary | null {
      const r = s.summary.get(username);
      return r ? toSummary(r) : null;
    },

    /** When `username` last imported an export (ms), or null: pass it as `staleBefore` to tasks.enqueue. */
    importedAt(username: string): number | null {
      return s.importedAt.get(username)?.imported_at ?? null;
    },

    /** The whole import, or null when the member never uploaded one (the worker's read: synchronous). */
    load(username: string): StoredImport | null {
      const r = s.load.get(username);
      if (!r) return null;
      const data = JSON.parse(gunzipSync(r.data).toString('utf8')) as ExportData;
      return { importedAt: r.imported_at, watched: data.watched ?? [], diary: data.diary ?? [], ratings: data.ratings ?? [] };
    },
  };
}
