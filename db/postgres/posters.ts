/**
 * What is known per film, on PostgreSQL, shared by every worker host: resolved poster URLs by slug
 * and by title and year, and TMDB's matches. (The poster cache's entries stay local to each host.)
 */
import type pg from 'pg';
import type { PosterSource, PosterUrlEntry, TitlePoster, TitlePosterEntry } from '../sqlite/posterKnowledge.js';
import { titleId } from '../sqlite/posterKnowledge.js';
import type { PosterKnowledge } from '../port.js';

/** The last entry per key wins, as when SQLite applies them one by one (ON CONFLICT may touch a row once per statement). */
function lastPerKey<T>(entries: readonly T[], key: (e: T) => string): T[] {
  return [...new Map(entries.map((e) => [key(e), e])).values()];
}

export function createPgPosterKnowledge(pool: pg.Pool): PosterKnowledge {
  return {
    async knownPosterUrls(slugs) {
      const known = new Map<string, string | null>();
      if (slugs.length === 0) return known;
      const { rows } = await pool.query<{ slug: string; poster_url: string | null }>(
        `SELECT slug, poster_url FROM film_posters WHERE slug = ANY($1::text[])`,
        [slugs],
      );
      for (const r of rows) known.set(r.slug, r.poster_url);
      return known;
    },

    async rememberPosterUrls(entries: readonly PosterUrlEntry[], now) {
      if (entries.length === 0) return;
      // A later entry for the same slug wins, but keeps an earlier one's title and year (coalesce, as in SQLite).
      const merged = new Map<string, PosterUrlEntry>();
      for (const e of entries) {
        const prev = merged.get(e.slug);
        merged.set(e.slug, prev ? { ...e, titleKey: e.titleKey || prev.titleKey, year: e.year ?? prev.year } : e);
      }
      const es = [...merged.values()];
      await pool.query(
        `
        INSERT INTO film_posters (slug, poster_url, source, resolved_at, title_key, year)
        SELECT slug, url, source, $4, nullif(tk, ''), yr FROM unnest($1::text[], $2::text[], $3::text[], $5::text[], $6::int[]) AS x(slug, url, source, tk, yr)
        ON CONFLICT (slug) DO UPDATE SET poster_url = excluded.poster_url, source = excluded.source, resolved_at = excluded.resolved_at,
          title_key = coalesce(excluded.title_key, film_posters.title_key), year = coalesce(excluded.year, film_posters.year)`,
        [
          es.map((e) => e.slug),
          es.map((e) => e.posterUrl),
          es.map((e) => e.source),
          now,
          es.map((e) => e.titleKey || null),
          es.map((e) => e.year ?? null),
        ],
      );
    },

    /** When several films share a title and year, the latest resolved wins (then the smallest slug), as in SQLite. */
    async knownPostersByTitle(keys) {
      const out = new Map<string, TitlePoster>();
      if (keys.length === 0) return out;
      const { rows } = await pool.query<{ title_key: string; year: number; slug: string; poster_url: string | null; source: PosterSource }>(
        `
        SELECT p.title_key, coalesce(p.year, 0) AS year, p.slug, p.poster_url, p.source
        FROM film_posters p JOIN unnest($1::int[], $2::text[]) AS k(y, t) ON p.title_key = k.t AND coalesce(p.year, 0) = k.y
        ORDER BY p.resolved_at, p.slug DESC`,
        [keys.map((k) => k.yearKey), keys.map((k) => k.titleKey)],
      );
      for (const r of rows)
        out.set(titleId({ titleKey: r.title_key, yearKey: r.year }), { slug: r.slug, posterUrl: r.poster_url, source: r.source });
      return out;
    },

    async titlePosters(keys) {
      const out = new Map<string, TitlePoster>();
      if (keys.length === 0) return out;
      const { rows } = await pool.query<{
        title_key: string;
        year_key: number;
        slug: string | null;
        poster_url: string | null;
        source: PosterSource | 'none';
      }>(
        `
        SELECT t.title_key, t.year_key, t.slug, t.poster_url, t.source
        FROM title_posters t JOIN unnest($1::int[], $2::text[]) AS k(y, tk) ON t.title_key = k.tk AND t.year_key = k.y`,
        [keys.map((k) => k.yearKey), keys.map((k) => k.titleKey)],
      );
      for (const r of rows)
        out.set(titleId({ titleKey: r.title_key, yearKey: r.year_key }), { slug: r.slug, posterUrl: r.poster_url, source: r.source });
      return out;
    },

    async rememberTitlePosters(entries: readonly TitlePosterEntry[], now) {
      if (entries.length === 0) return;
      const es = lastPerKey(entries, (e) => titleId(e));
      await pool.query(
        `
        INSERT INTO title_posters (title_key, year_key, slug, poster_url, source, resolved_at)
        SELECT * , $6::bigint FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[])
        ON CONFLICT (title_key, year_key) DO UPDATE SET slug = excluded.slug, poster_url = excluded.poster_url,
          source = excluded.source, resolved_at = excluded.resolved_at`,
        [
          es.map((e) => e.titleKey),
          es.map((e) => e.yearKey),
          es.map((e) => e.slug),
          es.map((e) => e.posterUrl),
          es.map((e) => e.source),
          now,
        ],
      );
    },

    async tmdbMatch(titleKey, yearKey) {
      const r = (
        await pool.query<{
          kind: 'movie' | 'tv' | null;
          tmdb_id: number | null;
          title: string | null;
          poster_path: string | null;
          matched_at: number;
        }>(`SELECT kind, tmdb_id, title, poster_path, matched_at FROM tmdb_matches WHERE title_key = $1 AND year_key = $2`, [
          titleKey,
          yearKey,
        ])
      ).rows[0];
      if (!r) return undefined;
      const match =
        r.tmdb_id === null || r.kind === null ? null : { kind: r.kind, id: r.tmdb_id, title: r.title ?? '', posterPath: r.poster_path };
      return { match, matchedAt: r.matched_at };
    },

    async rememberTmdbMatch(titleKey, yearKey, match, now) {
      await pool.query(
        `
        INSERT INTO tmdb_matches (title_key, year_key, kind, tmdb_id, title, poster_path, matched_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT (title_key, year_key) DO UPDATE SET kind = excluded.kind, tmdb_id = excluded.tmdb_id, title = excluded.title,
          poster_path = excluded.poster_path, matched_at = excluded.matched_at`,
        [titleKey, yearKey, match?.kind ?? null, match?.id ?? null, match?.title ?? null, match?.posterPath ?? null, now],
      );
    },
  };
}
