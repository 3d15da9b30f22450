/** Members' Letterboxd exports on PostgreSQL: gzipped JSON (bytea), one row per member, replaced whole. */
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import type pg from 'pg';
import { iso } from '../sqlite/tasks.js';
import type { ExportData, ImportSummary } from '../sqlite/imports.js';
import type { ImportStore } from '../port.js';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

interface ImportRow {
  username: string;
  imported_at: number;
  films: number;
  diary_entries: number;
}

const toSummary = (r: ImportRow): ImportSummary => ({
  username: r.username,
  films: r.films,
  diaryEntries: r.diary_entries,
  importedAt: iso(r.imported_at),
});

export function createPgImports(pool: pg.Pool): ImportStore {
  return {
    /** One statement: readers see the old import or the new one, never a mix. */
    async replace(username: string, data: ExportData, now: number) {
      const packed = await gzipAsync(Buffer.from(JSON.stringify(data), 'utf8'));
      const { rows } = await pool.query<ImportRow>(
        `
        INSERT INTO member_imports (username, imported_at, films, diary_entries, data, bytes) VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (username) DO UPDATE SET imported_at = excluded.imported_at, films = excluded.films,
          diary_entries = excluded.diary_entries, data = excluded.data, bytes = excluded.bytes
        RETURNING username, imported_at, films, diary_entries`,
        [username, now, data.watched.length, data.diary.length, packed, packed.length],
      );
      return toSummary(rows[0]);
    },
    async summary(username) {
      const r = (
        await pool.query<ImportRow>(`SELECT username, imported_at, films, diary_entries FROM member_imports WHERE username = $1`, [
          username,
        ])
      ).rows[0];
      return r ? toSummary(r) : null;
    },
    async importedAt(username) {
      return (
        (await pool.query<{ t: number }>(`SELECT imported_at AS t FROM member_imports WHERE username = $1`, [username])).rows[0]?.t ?? null
      );
    },
    async load(username) {
      const r = (
        await pool.query<{ imported_at: number; data: Buffer }>(`SELECT imported_at, data FROM member_imports WHERE username = $1`, [
          username,
        ])
      ).rows[0];
      if (!r) return null;
      const data = JSON.parse((await gunzipAsync(r.data)).toString('utf8')) as ExportData;
      return { importedAt: r.imported_at, watched: data.watched ?? [], diary: data.diary ?? [], ratings: data.ratings ?? [] };
    },
  };
}
