/**
 * Posters: each film's resolved poster URL (remembered for good) and the on-disk poster cache's
 * metadata (URL → file, size, last use), pruned least recently used first under a byte budget.
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

export interface CachedPoster {
  url: string;
  /** File name inside the posters directory. */
  file: string;
  bytes: number;
  contentType: string | null;
  etag: string | null;
  width: number | null;
  height: number | null;
}

interface CachedPosterRow {
  url: string;
  file: string;
  bytes: number;
  content_type: string | null;
  etag: string | null;
  width: number | null;
  height: number | null;
}

export type PosterStore = ReturnType<typeof createPosterStore>;

/** Builds the poster functions over one connection, with statements prepared once. */
export function createPosterStore(db: Db) {
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
    byTitle: db.prepare<[string], { title_key: string; year_key: number; slug: string | null; poster_url: string | null; source: PosterSource | 'none' }>(`
      SELECT t.title_key, t.year_key, t.slug, t.poster_url, t.source
      FROM title_posters t JOIN json_each(?) k
        ON t.title_key = json_extract(k.value, '$[1]') AND t.year_key = json_extract(k.value, '$[0]')`),
    rememberTitle: db.prepare<[string, number, string | null, string | null, string, number]>(`
      INSERT INTO title_posters (title_key, year_key, slug, poster_url, source, resolved_at) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (title_key, year_key) DO UPDATE SET
        slug = excluded.slug, poster_url = excluded.poster_url, source = excluded.source, resolved_at = excluded.resolved_at`),
    files: db.prepare<[], string>(`SELECT file FROM poster_cache`).pluck(),
    cached: db.prepare<[string], CachedPosterRow>(`
      SELECT url, file, bytes, content_type, etag, width, height FROM poster_cache WHERE url = ?`),
    recordCached: db.prepare<[string, string, number, string | null, string | null, number | null, number | null, number, number]>(`
      INSERT INTO poster_cache (url, file, bytes, content_type, etag, width, height, created_at, last_used_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (url) DO UPDATE SET
        file = excluded.file, bytes = excluded.bytes, content_type = excluded.content_type,
        etag = excluded.etag, width = excluded.width, height = excluded.height,
        last_used_at = excluded.last_used_at`),
    touch: db.prepare<[number, string]>(`UPDATE poster_cache SET last_used_at = ? WHERE url = ?`),
    forget: db.prepare<[string]>(`DELETE FROM poster_cache WHERE url = ?`),
    size: db.prepare<[], { files: number; bytes: number }>(
      `SELECT count(*) AS files, coalesce(sum(bytes), 0) AS bytes FROM poster_cache`,
    ),
    oldest: db.prepare<[number], { url: string; file: string; bytes: number }>(`
      SELECT url, file, bytes FROM poster_cache ORDER BY last_used_at, url LIMIT ?`),
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

    cachedPoster(url: string): CachedPoster | undefined {
      const r = s.cached.get(url);
      return r && {
        url: r.url,
        file: r.file,
        bytes: r.bytes,
        contentType: r.content_type,
        etag: r.etag,
        width: r.width,
        height: r.height,
      };
    },

    /** Every file name the cache has a row for. */
    cachedFiles(): Set<string> {
      return new Set(s.files.all());
    },

    /** Records a poster just written to disk (as most recently used). */
    recordCachedPoster(p: CachedPoster, now: number): void {
      writeTx(db, () => s.recordCached.run(p.url, p.file, p.bytes, p.contentType, p.etag, p.width, p.height, now, now));
    },

    markPosterUsed(url: string, now: number): void {
      writeTx(db, () => s.touch.run(now, url));
    },

    /** Drops a cache row whose file has gone (another process pruned it). */
    forgetCachedPoster(url: string): void {
      writeTx(db, () => s.forget.run(url));
    },

    cacheSize(): { files: number; bytes: number } {
      return s.size.get()!;
    },

    /**
     * Deletes the least recently used rows until the cache fits `budgetBytes`, and returns them so
     * the caller can delete their files (after the transaction: no file I/O while holding the lock).
     */
    evictToBudget(budgetBytes: number): { url: string; file: string }[] {
      return writeTx(db, () => {
        let { bytes } = s.size.get()!;
        const evicted: { url: string; file: string }[] = [];
        while (bytes > budgetBytes) {
          const batch = s.oldest.all(100);
          if (batch.length === 0) break;
          for (const r of batch) {
            if (bytes <= budgetBytes) break;
            s.forget.run(r.url);
            bytes -= r.bytes;
            evicted.push({ url: r.url, file: r.file });
          }
        }
        return evicted;
      });
    },
  };
}
