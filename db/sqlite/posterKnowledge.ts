/**
 * Poster knowledge: what is known per film, shared by every worker host (behind the storage port):
 * each film's resolved poster URL by slug (remembered for good), and the poster found for an export
 * film by title and year. The on-disk cache's entries are another concern (posterCache.ts).
 */
import type { Db } from './open.js';
import { writeTx } from './open.js';

/**
 * Where a film's poster URL came from: the feed, the poster lookup endpoint, the film page, or TMDB
 * (then the URL is a `tmdb:/path.jpg` reference, drawn from TMDB_IMAGE_URL at the tile's size).
 */
export type PosterSource = 'rss' | 'poster-json' | 'film-page' | 'tmdb';

export interface PosterUrlEntry {
  slug: string;
  /** null: the film has no poster (remembered too). */
  posterUrl: string | null;
  source: PosterSource;
  /** The film's normalised title and year, so an export film (no slug) can find it too. */
  titleKey?: string | null;
  year?: number | null;
}

/** A film known by title and year (export films carry no slug). `yearKey` is the year or 0. */
export interface TitleKey {
  titleKey: string;
  yearKey: number;
}

/** A poster found for a title and year: from a film known by slug, or remembered for an export film. */
export interface TitlePoster {
  slug: string | null;
  /** null: no poster (source 'none': no film page at the slugs the title gives). */
  posterUrl: string | null;
  source: PosterSource | 'none';
}

export interface TitlePosterEntry extends TitleKey, TitlePoster {}

/** The key `knownPostersByTitle` and `titlePosters` answer under. */
export function titleId(k: TitleKey): string {
  return `${k.yearKey}\u0000${k.titleKey}`;
}

export type PosterKnowledgeStore = ReturnType<typeof createPosterKnowledge>;

/** Builds the poster-knowledge functions over one connection, with statements prepared once. */
export function createPosterKnowledge(db: Db) {
  const s = {
    knownUrls: db.prepare<[string], { slug: string; poster_url: string | null }>(`
      SELECT slug, poster_url FROM film_posters
      WHERE slug IN (SELECT value FROM json_each(?))`),
    rememberUrl: db.prepare<[string, string | null, string, number, string | null, number | null]>(`
      INSERT INTO film_posters (slug, poster_url, source, resolved_at, title_key, year) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (slug) DO UPDATE SET
        poster_url = excluded.poster_url, source = excluded.source, resolved_at = excluded.resolved_at,
        title_key = coalesce(excluded.title_key, title_key), year = coalesce(excluded.year, year)`),
    // The film known by slug under this title and year (several: the latest resolved, then by slug).
    bySlugTitle: db.prepare<[string], { title_key: string; year: number; slug: string; poster_url: string | null; source: PosterSource }>(`
      SELECT p.title_key, coalesce(p.year, 0) AS year, p.slug, p.poster_url, p.source
      FROM film_posters p JOIN json_each(?) k
        ON p.title_key = json_extract(k.value, '$[1]') AND coalesce(p.year, 0) = json_extract(k.value, '$[0]')
      ORDER BY p.resolved_at, p.slug DESC`),
    byTitle: db.prepare<
      [string],
      { title_key: string; year_key: number; slug: string | null; poster_url: string | null; source: PosterSource | 'none' }
    >(`
      SELECT t.title_key, t.year_key, t.slug, t.poster_url, t.source
      FROM title_posters t JOIN json_each(?) k
        ON t.title_key = json_extract(k.value, '$[1]') AND t.year_key = json_extract(k.value, '$[0]')`),
    rememberTitle: db.prepare<[string, number, string | null, string | null, string, number]>(`
      INSERT INTO title_posters (title_key, year_key, slug, poster_url, source, resolved_at) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (title_key, year_key) DO UPDATE SET
        slug = excluded.slug, poster_url = excluded.poster_url, source = excluded.source, resolved_at = excluded.resolved_at`),
  };

  return {
    /** The remembered poster URL (or null: no poster) of each of these slugs that was ever resolved. */
    knownPosterUrls(slugs: readonly string[]): Map<string, string | null> {
      const known = new Map<string, string | null>();
      if (slugs.length === 0) return known;
      for (const r of s.knownUrls.all(JSON.stringify(slugs))) known.set(r.slug, r.poster_url);
      return known;
    },

    /** Remembers resolved poster URLs for good (a later value from the feed replaces an earlier one). */
    rememberPosterUrls(entries: readonly PosterUrlEntry[], now: number): void {
      if (entries.length === 0) return;
      writeTx(db, () => {
        for (const e of entries) s.rememberUrl.run(e.slug, e.posterUrl, e.source, now, e.titleKey || null, e.year ?? null);
      });
    },

    /**
     * Posters of films known by slug, found by title and year (feed, films pages, earlier lookups),
     * keyed by `titleId`. When several films share a title and year, the latest resolved wins.
     */
    knownPostersByTitle(keys: readonly TitleKey[]): Map<string, TitlePoster> {
      const out = new Map<string, TitlePoster>();
      if (keys.length === 0) return out;
      const json = JSON.stringify(keys.map((k) => [k.yearKey, k.titleKey]));
      for (const r of s.bySlugTitle.all(json)) {
        out.set(titleId({ titleKey: r.title_key, yearKey: r.year }), { slug: r.slug, posterUrl: r.poster_url, source: r.source });
      }
      return out;
    },

    /** What was remembered for export films (no slug) by title and year, keyed by `titleId`. */
    titlePosters(keys: readonly TitleKey[]): Map<string, TitlePoster> {
      const out = new Map<string, TitlePoster>();
      if (keys.length === 0) return out;
      const json = JSON.stringify(keys.map((k) => [k.yearKey, k.titleKey]));
      for (const r of s.byTitle.all(json)) {
        out.set(titleId({ titleKey: r.title_key, yearKey: r.year_key }), { slug: r.slug, posterUrl: r.poster_url, source: r.source });
      }
      return out;
    },

    rememberTitlePosters(entries: readonly TitlePosterEntry[], now: number): void {
      if (entries.length === 0) return;
      writeTx(db, () => {
        for (const e of entries) s.rememberTitle.run(e.titleKey, e.yearKey, e.slug, e.posterUrl, e.source, now);
      });
    },
  };
}
