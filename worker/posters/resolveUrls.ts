/**
 * Poster URLs for films whose list gave none (films pages, diary, export), in the order of docs/architecture.md#posters:
 * Letterboxd poster URLs already known (feed, earlier lookups: by slug, or by title and year for an
 * export film, which has no slug), then TMDB when configured, then Letterboxd's film endpoints (the
 * poster lookup JSON, else the film page's JSON-LD; for an export film the film page at the slug its
 * title gives, then title-year, accepted when the page's year matches). Each film's answer is
 * remembered for good, so a second mosaic resolves nothing.
 */
import pLimit from 'p-limit';
import { isAppError } from '../../common/errors.js';
import { systemClock } from '../../common/clock.js';
import { titleId, type PosterSource, type PosterUrlEntry, type TitlePoster, type TitlePosterEntry } from '../../db/port.js';
import { parseFilmPage, parsePosterJson } from '../sources/parseFilmPage.js';
import { slugCandidates, titleKey, yearKey } from '../sources/titles.js';
import type { CollectDeps, CollectedFilm, TmdbId } from '../sources/types.js';
import { mostRefused } from './formats.js';
import { isTmdbRef } from './tmdb.js';

/** The width asked of `/film/{slug}/poster/std/{W}/`; fetch.ts rewrites the size anyway. */
export const POSTER_LOOKUP_WIDTH = 230;
/** Lookups in flight at once (the HTTP client's own per-host limit and spacing still apply). */
const LOOKUP_CONCURRENCY = 4;
/** Resolved URLs are written in batches, so a task that fails midway keeps what it learned. */
const REMEMBER_BATCH = 25;

type Found = { posterUrl: string | null; source: PosterSource | null; slug?: string };
/** 'missing': Letterboxd has no film page at the title's slugs (export films only). */
type Lookup = Found | 'refused' | 'missing';

function isBlocked(err: unknown): boolean {
  return isAppError(err) && err.code === 'LETTERBOXD_BLOCKED';
}

function keyOf(f: CollectedFilm): { titleKey: string; yearKey: number } {
  return { titleKey: titleKey(f.title), yearKey: yearKey(f.year) };
}

/** One lookup per slug, or per title and year for films without slug. */
interface Group {
  films: CollectedFilm[];
  slug: string | null;
  /** Known missing from Letterboxd's film pages (title_posters 'none'): only TMDB may still answer. */
  noFilmPage: boolean;
}

/**
 * Fills in `posterUrl` (and, for an export film found on Letterboxd, `slug`) of each film in `pending`
 * (all of them members of `films`; `tmdbIds` names the TMDB id of those the feed gave one). A film whose lookup Letterboxd refused gets `posterRefused`;
 * once refusals pass half of `films` the outcome is settled (docs/architecture.md#outcomes), so the rest are not asked
 * of Letterboxd (TMDB still is).
 */
export async function resolvePosterUrls(
  deps: CollectDeps,
  films: readonly CollectedFilm[],
  pending: readonly CollectedFilm[],
  tmdbIds: ReadonlyMap<CollectedFilm, TmdbId> = new Map(),
): Promise<void> {
  const clock = deps.clock ?? systemClock;
  const tmdb = deps.tmdb ?? null;
  // A remembered TMDB poster counts only while TMDB is configured (its image host is allowed only then).
  const usable = (url: string | null) => !isTmdbRef(url) || tmdb !== null;

  const slugs = [...new Set(pending.flatMap((f) => (f.slug ? [f.slug] : [])))];
  const known = await deps.posterUrls.knownPosterUrls(slugs);
  const titled = pending.filter((f) => !f.slug);
  const keys = titled.map(keyOf);
  const byTitle = await deps.posterUrls.knownPostersByTitle(keys);
  const remembered = await deps.posterUrls.titlePosters(keys);

  const groups = new Map<string, Group>();
  const group = (id: string, f: CollectedFilm, slug: string | null, noFilmPage = false) => {
    const g = groups.get(id);
    if (g) g.films.push(f);
    else groups.set(id, { films: [f], slug, noFilmPage });
  };
  for (const f of pending) {
    if (f.slug) {
      if (known.has(f.slug) && usable(known.get(f.slug)!)) f.posterUrl = known.get(f.slug)!;
      else group(`slug:${f.slug}`, f, f.slug);
      continue;
    }
    const id = titleId(keyOf(f));
    const lb: TitlePoster | undefined = byTitle.get(id);
    const mine: TitlePoster | undefined = remembered.get(id);
    // Letterboxd's own URL for the film first; then what an earlier lookup of this title found.
    const hit =
      [lb, mine].find((t) => t && t.source !== 'none' && usable(t.posterUrl) && !isTmdbRef(t.posterUrl)) ??
      [lb, mine].find((t) => t && t.source !== 'none' && usable(t.posterUrl));
    if (hit) {
      f.posterUrl = hit.posterUrl;
      f.slug = hit.slug;
    } else {
      group(`title:${id}`, f, null, mine?.source === 'none');
    }
  }
  if (groups.size === 0) return;

  const failed = new AbortController();
  const signal = AbortSignal.any([deps.signal, failed.signal]);
  const limit = pLimit(LOOKUP_CONCURRENCY);
  const toRemember: PosterUrlEntry[] = [];
  const titlesToRemember: TitlePosterEntry[] = [];
  // Each batch is taken off the lists before the first await, so two lookups never remember it twice.
  const remember = async () => {
    const now = clock.now();
    const urls = toRemember.splice(0);
    const titles = titlesToRemember.splice(0);
    await deps.posterUrls.rememberPosterUrls(urls, now);
    await deps.posterUrls.rememberTitlePosters(titles, now);
  };
  let refused = films.filter((f) => f.posterRefused).length;
  let jsonRefused = false;
  let done = 0;

  async function fromTmdb(f: CollectedFilm): Promise<string | null> {
    if (!tmdb?.usable) return null;
    const known = tmdbIds.get(f);
    if (known) {
      const ref = await tmdb.posterById(known.kind, known.id, signal);
      if (ref) return ref;
    }
    return tmdb.posterByTitle(f.title, f.year, signal);
  }

  async function bySlug(slug: string): Promise<Lookup> {
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

  /** An export film on Letterboxd: the film page at the title's slugs, accepted when its year matches. */
  async function byTitleSlugs(f: CollectedFilm): Promise<Lookup> {
    let unreadable = false;
    for (const slug of slugCandidates(f.title, f.year)) {
      try {
        const res = await deps.http.page(`/film/${encodeURIComponent(slug)}/`, { signal, kind: 'film' });
        if (res.status !== 200) continue;
        const parsed = parseFilmPage(res.body);
        if (!parsed.found) {
          unreadable = true;
          continue;
        }
        if (parsed.year === f.year) return { posterUrl: parsed.posterUrl, source: 'film-page', slug };
      } catch (err) {
        if (isBlocked(err)) return 'refused';
        throw err;
      }
    }
    // A page that did not read as a film page says nothing for sure: ask again next time.
    return unreadable ? { posterUrl: null, source: null } : 'missing';
  }

  async function lookUp(g: Group): Promise<Lookup> {
    const first = g.films[0];
    const ref = await fromTmdb(first);
    if (ref) return { posterUrl: ref, source: 'tmdb' };
    // Past half refused, the outcome is settled (docs/architecture.md#outcomes): stop asking Letterboxd.
    if (mostRefused(refused, films.length)) return 'refused';
    if (g.slug) return bySlug(g.slug);
    if (g.noFilmPage) return { posterUrl: null, source: null };
    return byTitleSlugs(first);
  }

  function settle(g: Group, found: Lookup): void {
    const first = g.films[0];
    if (found === 'refused') {
      for (const f of g.films) {
        f.posterUrl = null;
        f.posterRefused = true;
        refused++;
      }
      return;
    }
    const key = keyOf(first);
    if (found === 'missing') {
      for (const f of g.films) f.posterUrl = null;
      titlesToRemember.push({ ...key, slug: null, posterUrl: null, source: 'none' });
      return;
    }
    const slug = g.slug ?? found.slug ?? null;
    for (const f of g.films) {
      f.posterUrl = found.posterUrl;
      if (!f.slug && slug) f.slug = slug;
    }
    if (!found.source) return;
    if (slug) toRemember.push({ slug, posterUrl: found.posterUrl, source: found.source, titleKey: key.titleKey, year: first.year });
    if (!g.slug) titlesToRemember.push({ ...key, slug, posterUrl: found.posterUrl, source: found.source });
  }

  const list = [...groups.values()];
  const total = list.reduce((n, g) => n + g.films.length, 0);
  deps.progress('collecting', 0, total, `Collecting data: poster 0 of ${total}`);
  try {
    await Promise.all(
      list.map((g) =>
        limit(async () => {
          settle(g, await lookUp(g));
          if (toRemember.length + titlesToRemember.length >= REMEMBER_BATCH) await remember();
          done += g.films.length;
          deps.progress('collecting', done, total, `Collecting data: poster ${done} of ${total}`);
        }),
      ),
    );
  } catch (err) {
    limit.clearQueue();
    failed.abort(err);
    throw err;
  } finally {
    await remember();
  }
}
