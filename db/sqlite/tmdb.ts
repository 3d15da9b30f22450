/**
 * TMDB's answers for titles (docs/architecture.md#posters; docs/letterboxd.md#tmdb): the movie or series chosen for a
 * normalised title and year, or a miss, so the same search is never sent twice (misses are asked
 * again after a while: TMDB grows).
 */
import type { Db } from './open.js';
import { writeTx } from './open.js';

export interface TmdbMatch {
  kind: 'movie' | 'tv';
  id: number;
  title: string;
  /** `/abc.jpg`, or null when TMDB has no poster for it. */
  posterPath: string | null;
}

export interface RememberedMatch {
  /** null: TMDB had nothing that matched. */
  match: TmdbMatch | null;
  matchedAt: number;
}

interface MatchRow {
  kind: 'movie' | 'tv' | null;
  tmdb_id: number | null;
  title: string | null;
  poster_path: string | null;
  matched_at: number;
}

export type TmdbStore = ReturnType<typeof createTmdbStore>;

export function createTmdbStore(db: Db) {
  const s = {
    get: db.prepare<[string, number], MatchRow>(
      `SELECT kind, tmdb_id, title, poster_path, matched_at FROM tmdb_matches WHERE title_key = ? AND year_key = ?`,
    ),
    put: db.prepare<[string, number, string | null, number | null, string | null, string | null, number]>(`
      INSERT INTO tmdb_matches (title_key, year_key, kind, tmdb_id, title, poster_path, matched_at) VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (title_key, year_key) DO UPDATE SET
        kind = excluded.kind, tmdb_id = excluded.tmdb_id, title = excluded.title,
        poster_path = excluded.poster_path, matched_at = excluded.matched_at`),
  };
  return {
    /** The remembered answer for a normalised title and year (0: none), if TMDB was ever asked. */
    match(titleKey: string, yearKey: number): RememberedMatch | undefined {
      const r = s.get.get(titleKey, yearKey);
      if (!r) return undefined;
      const match =
        r.tmdb_id === null || r.kind === null ? null : { kind: r.kind, id: r.tmdb_id, title: r.title ?? '', posterPath: r.poster_path };
      return { match, matchedAt: r.matched_at };
    },

    rememberMatch(titleKey: string, yearKey: number, match: TmdbMatch | null, now: number): void {
      writeTx(db, () =>
        s.put.run(titleKey, yearKey, match?.kind ?? null, match?.id ?? null, match?.title ?? null, match?.posterPath ?? null, now),
      );
    },
  };
}
