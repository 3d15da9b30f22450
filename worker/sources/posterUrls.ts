/**
 * Poster URLs for films whose list gave none (films pages, diary): remembered ones first, then
 * Letterboxd once per film (the poster lookup JSON, else the film page's JSON-LD), remembered for good.
 */
import pLimit from 'p-limit';
import { isAppError } from '../../common/errors.js';
import { systemClock } from '../../common/clock.js';
import type { PosterSource, PosterUrlEntry } from '../../db/posters.js';
import { parseFilmPage, parsePosterJson } from './parseFilmPage.js';
import type { CollectDeps, CollectedFilm } from './types.js';

/** The width asked of `/film/{slug}/poster/std/{W}/`; posters.ts rewrites the size anyway. */
export const POSTER_LOOKUP_WIDTH = 230;
/** Lookups in flight at once (the HTTP client's own per-host limit and spacing still apply). */
const LOOKUP_CONCURRENCY = 4;
/** Resolved URLs are written in batches, so a task that fails midway keeps what it learned. */
const REMEMBER_BATCH = 25;

type Lookup = { posterUrl: string | null; source: PosterSource | null } | 'refused';

function isBlocked(err: unknown): boolean {
  return isAppError(err) && err.code === 'LETTERBOXD_BLOCKED';
}

/**
 * Fills in `posterUrl` of each film in `pending` (all of them members of `films`). A film whose
 * lookup Letterboxd refused gets `posterRefused`; once refusals pass half of `films` the outcome is
 * settled (design §10.4), so the rest are marked refused without asking.
 */
export async function resolvePosterUrls(deps: CollectDeps, films: readonly CollectedFilm[], pending: readonly CollectedFilm[]): Promise<void> {
  const clock = deps.clock ?? systemClock;
  const slugs = [...new Set(pending.flatMap((f) => (f.slug ? [f.slug] : [])))];
  const known = deps.posterUrls.knownPosterUrls(slugs);
  const toLookUp: CollectedFilm[] = [];
  for (const f of pending) {
    if (f.slug && known.has(f.slug)) f.posterUrl = known.get(f.slug)!;
    else if (f.slug) toLookUp.push(f);
    else f.posterUrl = null;
  }
  if (toLookUp.length === 0) return;

  const failed = new AbortController();
  const signal = AbortSignal.any([deps.signal, failed.signal]);
  const limit = pLimit(LOOKUP_CONCURRENCY);
  const toRemember: PosterUrlEntry[] = [];
  const remember = () => deps.posterUrls.rememberPosterUrls(toRemember.splice(0), clock.now());
  let refused = films.filter((f) => f.posterRefused).length;
  let jsonRefused = false;
  let done = 0;

  async function lookUp(slug: string): Promise<Lookup> {
    const film = `/film/${encodeURIComponent(slug)}/`;
    // The lookup JSON is challenged more often than film pages: after one refusal, skip it.
    if (!jsonRefused) {
      try {
        const res = await deps.http.page(`${film}poster/std/${POSTER_LOOKUP_WIDTH}/`, { signal, kind: 'film-json' });
        const parsed = res.status === 200 ? parsePosterJson(res.body) : null;
        if (parsed?.ok) return { posterUrl: parsed.posterUrl, source: 'poster-json' };
      } catch (err) {
        if (!isBlocked(err)) throw err;
        jsonRefused = true;
      }
    }
    try {
      const res = await deps.http.page(film, { signal, kind: 'film' });
      const parsed = res.status === 200 ? parseFilmPage(res.body) : null;
      // A film page without JSON-LD, or gone, is a placeholder this time, not a fact to remember.
      return parsed?.found ? { posterUrl: parsed.posterUrl, source: 'film-page' } : { posterUrl: null, source: null };
    } catch (err) {
      if (isBlocked(err)) return 'refused';
      throw err;
    }
  }

  const total = toLookUp.length;
  deps.progress('collecting', 0, total, `Collecting data: poster 0 of ${total}`);
  try {
    await Promise.all(
      toLookUp.map((f) =>
        limit(async () => {
          // Past half refused, the outcome is settled (design §10.4): stop asking.
          const settled = refused > films.length / 2;
          const found = settled ? 'refused' : await lookUp(f.slug!);
          if (found === 'refused') {
            f.posterUrl = null;
            f.posterRefused = true;
            if (!settled) refused++;
          } else {
            f.posterUrl = found.posterUrl;
            if (found.source) toRemember.push({ slug: f.slug!, posterUrl: found.posterUrl, source: found.source });
            if (toRemember.length >= REMEMBER_BATCH) remember();
          }
          done++;
          deps.progress('collecting', done, total, `Collecting data: poster ${done} of ${total}`);
        }),
      ),
    );
  } catch (err) {
    limit.clearQueue();
    failed.abort(err);
    throw err;
  } finally {
    remember();
  }
}
