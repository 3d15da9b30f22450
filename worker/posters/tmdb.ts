/**
 * TMDB as a poster source (docs/architecture.md#posters, docs/letterboxd.md#tmdb), when TMDB_API_KEY is set: a film's
 * poster by the TMDB id the feed gives (`tmdb:movieId` / `tmdb:tvId`), or by title and year through
 * `/3/search/movie` (then `/3/search/tv`, for the miniseries exports hold), choosing deterministically
 * by normalised title, then year, then popularity. Choices and misses are remembered in SQLite.
 *
 * A poster found here is the reference `tmdb:/abc.jpg`: fetch.ts draws it from TMDB_IMAGE_URL at the
 * smallest size at least the tile's width. TMDB trouble never fails a task: the film falls back to
 * Letterboxd, and after a refused key or persistent rate limiting the task stops asking TMDB.
 */
import { systemClock, type Clock } from '../../common/clock.js';
import type { Logger } from '../../common/log.js';
import type { PosterKnowledge, TmdbMatch } from '../../db/port.js';
import { titleKey, yearKey } from '../sources/titles.js';
import { TmdbError, type TmdbApi } from './tmdbApi.js';

/** TMDB's poster widths (others are refused), smallest first; `original` beyond the last. */
export const TMDB_POSTER_WIDTHS = [92, 154, 185, 342, 500, 780] as const;
const REF_PREFIX = 'tmdb:';
/** A miss is asked again after this long (TMDB keeps growing). */
const MISS_TTL_MS = 30 * 86_400_000;
/** Unreachable answers in one task before it stops asking TMDB. */
const MAX_FAILURES = 3;

/** The TMDB size for a tile `width` px wide: the smallest at least that wide (`w154` for 120 px). */
export function tmdbSize(width: number): string {
  const w = TMDB_POSTER_WIDTHS.find((s) => s >= width);
  return w === undefined ? 'original' : `w${w}`;
}

/** The stored form of a TMDB poster: independent of TMDB_IMAGE_URL and of the size drawn. */
export function tmdbRef(posterPath: string): string {
  return `${REF_PREFIX}${posterPath.startsWith('/') ? posterPath : `/${posterPath}`}`;
}

export function isTmdbRef(url: string | null | undefined): url is string {
  return typeof url === 'string' && url.startsWith(REF_PREFIX);
}

/** `{TMDB_IMAGE_URL}/t/p/{size}{poster_path}` for a reference, at the size for `width`. */
export function tmdbImageUrl(imageBase: string, ref: string, width: number): string {
  const path = ref.slice(REF_PREFIX.length);
  return `${imageBase.replace(/\/+$/, '')}/t/p/${tmdbSize(width)}${encodeURI(path)}`;
}

/** One search result, movie or series. */
interface Result {
  id: number;
  names: string[];
  year: number | null;
  posterPath: string | null;
  popularity: number;
}

function yearOf(date: unknown): number | null {
  return typeof date === 'string' && /^\d{4}/.test(date) ? Number(date.slice(0, 4)) : null;
}

function readResults(body: unknown, kind: 'movie' | 'tv'): Result[] | null {
  const results = (body as { results?: unknown } | null)?.results;
  if (!Array.isArray(results)) return null;
  const out: Result[] = [];
  for (const r of results as Record<string, unknown>[]) {
    if (!r || typeof r.id !== 'number') continue;
    const names = (kind === 'movie' ? [r.title, r.original_title] : [r.name, r.original_name]).filter(
      (n): n is string => typeof n === 'string',
    );
    out.push({
      id: r.id,
      names,
      year: yearOf(kind === 'movie' ? r.release_date : r.first_air_date),
      posterPath: typeof r.poster_path === 'string' && r.poster_path ? r.poster_path : null,
      popularity: typeof r.popularity === 'number' ? r.popularity : 0,
    });
  }
  return out;
}

/**
 * The result that is the film: its (original) title must equal `title` once normalised; then the
 * nearest year (within `slack` years when `year` is known), then the most popular, then the lowest id.
 */
export function chooseMatch(
  results: readonly Result[],
  kind: 'movie' | 'tv',
  title: string,
  year: number | null,
  slack = 0,
): TmdbMatch | null {
  const key = titleKey(title);
  const distance = (r: Result) => (year === null ? 0 : r.year === null ? Infinity : Math.abs(r.year - year));
  const candidates = results
    .filter((r) => r.names.some((n) => titleKey(n) === key))
    .filter((r) => year === null || distance(r) <= slack)
    .sort((a, b) => distance(a) - distance(b) || b.popularity - a.popularity || a.id - b.id);
  const best = candidates[0];
  return best ? { kind, id: best.id, title: best.names[0] ?? title, posterPath: best.posterPath } : null;
}

export interface TmdbDeps {
  http: TmdbApi;
  store: Pick<PosterKnowledge, 'tmdbMatch' | 'rememberTmdbMatch'>;
  clock?: Clock;
  log?: Logger;
}

/** TMDB as one task sees it: it may give up on TMDB for the rest of the task, and says why. */
export interface TmdbSession {
  /** A poster reference for the film TMDB knows by this id, or null (none, unknown id, TMDB unavailable). */
  posterById(kind: 'movie' | 'tv', id: number, signal: AbortSignal): Promise<string | null>;
  /** A poster reference for the film matched by title and year, or null. */
  posterByTitle(title: string, year: number | null, signal: AbortSignal): Promise<string | null>;
  /** Whether TMDB is still being asked in this task. */
  readonly usable: boolean;
  /** A sentence for the mosaic's note when TMDB let this task down (a refused key, rate limiting). */
  readonly problem: string | null;
}

export interface Tmdb {
  session(): TmdbSession;
}

export function createTmdb(deps: TmdbDeps): Tmdb {
  const clock = deps.clock ?? systemClock;
  let keyRefused = false;

  return {
    session() {
      let problem: string | null = keyRefused ? 'TMDB refused the API key (401); check TMDB_API_KEY.' : null;
      let stopped = keyRefused;
      let failures = 0;

      /** One API call; null when TMDB could not answer usefully (and may stop the session). */
      async function get(
        path: string,
        query: Record<string, string | number | null>,
        signal: AbortSignal,
      ): Promise<{ status: number; body: unknown } | null> {
        if (stopped) return null;
        try {
          const res = await deps.http.tmdb(path, query, { signal });
          if (res.status === 401) {
            if (!keyRefused) deps.log?.warn('TMDB refused the API key: posters come from Letterboxd only', { status: 401 });
            keyRefused = true;
            stopped = true;
            problem = 'TMDB refused the API key (401); check TMDB_API_KEY.';
            return null;
          }
          if (res.status === 200 || res.status === 404) return res;
          if (++failures >= MAX_FAILURES) stopped = true;
          return null;
        } catch (err) {
          if (!(err instanceof TmdbError)) throw err;
          deps.log?.debug('TMDB request failed', { reason: err.reason, error: err.message });
          if (err.reason === 'rate-limited') {
            stopped = true;
            problem = 'TMDB kept rate limiting, so the rest of the posters were looked up on Letterboxd.';
          } else if (err.reason === 'not-configured' || ++failures >= MAX_FAILURES) {
            stopped = true;
            if (err.reason === 'unreachable') problem = 'TMDB could not be reached, so posters were looked up on Letterboxd.';
          }
          return null;
        }
      }

      /** Searches one kind; undefined when TMDB did not answer (nothing may be remembered then). */
      async function search(
        kind: 'movie' | 'tv',
        title: string,
        year: number | null,
        slack: number,
        signal: AbortSignal,
      ): Promise<TmdbMatch | null | undefined> {
        const yearParam = kind === 'movie' ? 'year' : 'first_air_date_year';
        const res = await get(
          `/3/search/${kind}`,
          { query: title, [yearParam]: slack === 0 ? year : null, include_adult: 'false' },
          signal,
        );
        if (!res || res.status !== 200) return undefined;
        const results = readResults(res.body, kind);
        return results ? chooseMatch(results, kind, title, year, slack) : undefined;
      }

      return {
        get usable() {
          return !stopped;
        },
        get problem() {
          return problem;
        },

        async posterById(kind, id, signal) {
          const res = await get(`/3/${kind}/${id}`, {}, signal);
          if (!res || res.status !== 200) return null;
          const path = (res.body as { poster_path?: unknown } | null)?.poster_path;
          return typeof path === 'string' && path ? tmdbRef(path) : null;
        },

        async posterByTitle(title, year, signal) {
          const key = titleKey(title);
          const yk = yearKey(year);
          const known = await deps.store.tmdbMatch(key, yk);
          if (known && (known.match || clock.now() - known.matchedAt < MISS_TTL_MS)) {
            return known.match?.posterPath ? tmdbRef(known.match.posterPath) : null;
          }
          if (stopped) return null;
          // Movies first; then series (exports hold miniseries); then a year either side (release
          // dates differ by country).
          const tries: ['movie' | 'tv', number][] =
            year === null
              ? [
                  ['movie', 0],
                  ['tv', 0],
                ]
              : [
                  ['movie', 0],
                  ['tv', 0],
                  ['movie', 1],
                ];
          let match: TmdbMatch | null = null;
          for (const [kind, slack] of tries) {
            const found = await search(kind, title, year, slack, signal);
            if (found === undefined) return null; // unanswered: remember nothing
            if (found) {
              match = found;
              break;
            }
          }
          await deps.store.rememberTmdbMatch(key, yk, match, clock.now());
          return match?.posterPath ? tmdbRef(match.posterPath) : null;
        },
      };
    },
  };
}
