/**
 * Collecting the films of a period (design §6, §10.1, §10.4): `month` and `recent` from the feed
 * (diary pages for a month the feed does not fully reach), `year` from the feed when it reaches the
 * whole year and the diary pages otherwise, `all` from the films pages.
 */
import { AppError, isAppError } from '../../common/errors.js';
import { systemClock } from '../../common/clock.js';
import { periodLabel, type MosaicParams } from '../../common/task.js';
import type { ListedFilm } from './parseCommon.js';
import type { FeedEntry } from './parseRss.js';
import { feedCovers, readFeed, type Feed } from './rss.js';
import { readDiary, type DiaryPeriod } from './diary.js';
import { readFilmsPages } from './filmsPages.js';
import { resolvePosterUrls } from './posterUrls.js';
import { BLOCKED_ADVICE, type CollectDeps, type CollectResult, type CollectedFilm } from './types.js';

export type { CollectDeps, CollectResult, CollectedFilm } from './types.js';

const MONTH_ABBR = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A viewing, before rewatches are folded into one film. */
interface Viewing {
  film: CollectedFilm;
  /** The poster is unknown (not "none"): resolve it like a films-page film. */
  posterUnknown: boolean;
}

function filmKey(f: { slug: string | null; title: string; year: number | null }): string {
  return f.slug ?? `${f.title}\u0000${f.year ?? ''}`;
}

/** Newest watched first (stable: the source's own order breaks ties), one entry per film: its latest viewing. */
function latestPerFilm(viewings: readonly Viewing[]): Viewing[] {
  const sorted = viewings
    .map((v, i) => ({ v, i }))
    .sort((a, b) => {
      const da = a.v.film.watchedDate ?? '';
      const db = b.v.film.watchedDate ?? '';
      return da === db ? a.i - b.i : da < db ? 1 : -1;
    });
  const seen = new Set<string>();
  const out: Viewing[] = [];
  for (const { v } of sorted) {
    const key = filmKey(v.film);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(v);
  }
  return out;
}

function fromFeed(e: FeedEntry): Viewing {
  return {
    film: { title: e.title, year: e.year, rating: e.rating, slug: e.slug, watchedDate: e.watchedDate, posterUrl: e.posterUrl },
    posterUnknown: e.posterMissing,
  };
}

function fromList(f: ListedFilm, watchedDate: string | null): Viewing {
  return {
    film: { title: f.title, year: f.year, rating: f.rating, slug: f.slug, watchedDate, posterUrl: null },
    posterUnknown: true,
  };
}

/** "2026-10-03" → "3 Oct". */
function shortDay(day: string): string {
  const [, m, d] = day.split('-');
  return `${Number(d)} ${MONTH_ABBR[Number(m) - 1]}`;
}

/**
 * Reads the feed and its poster per film (the latest entry's), and remembers those posters, so a
 * later `all` or diary collection need not look them up.
 */
async function readFeedPosters(deps: CollectDeps, username: string): Promise<{ feed: Feed; posters: Map<string, string | null> }> {
  const feed = await readFeed(deps, username);
  const posters = new Map<string, string | null>();
  for (const e of feed.entries) if (e.slug && !e.posterMissing && !posters.has(e.slug)) posters.set(e.slug, e.posterUrl);
  const known = deps.posterUrls.knownPosterUrls([...posters.keys()]);
  const changed = [...posters].filter(([slug, url]) => !known.has(slug) || known.get(slug) !== url);
  const now = (deps.clock ?? systemClock).now();
  deps.posterUrls.rememberPosterUrls(changed.map(([slug, posterUrl]) => ({ slug, posterUrl, source: 'rss' as const })), now);
  return { feed, posters };
}

/** Films from viewings, with unknown posters filled from the feed's, the store's or Letterboxd's. */
async function finish(deps: CollectDeps, viewings: Viewing[], feedPosters: Map<string, string | null>): Promise<CollectedFilm[]> {
  const films = viewings.map((v) => v.film);
  const pending: CollectedFilm[] = [];
  for (const v of viewings) {
    if (!v.posterUnknown) continue;
    if (v.film.slug && feedPosters.has(v.film.slug)) v.film.posterUrl = feedPosters.get(v.film.slug)!;
    else pending.push(v.film);
  }
  await resolvePosterUrls(deps, films, pending);
  return films;
}

function noFilms(username: string, params: MosaicParams): AppError {
  const what = params.mode === 'all' ? 'no films on Letterboxd yet' : `no films logged in ${periodLabel(params)}`;
  return new AppError('NO_FILMS', `${username} has ${what}.`);
}

/** Viewings for a dated period: from the feed when it reaches back far enough, else the diary pages. */
async function collectPeriod(
  deps: CollectDeps,
  username: string,
  params: Extract<MosaicParams, { mode: 'month' | 'year' }>,
): Promise<CollectResult> {
  const period: DiaryPeriod =
    params.mode === 'month'
      ? { year: Number(params.month.slice(0, 4)), month: Number(params.month.slice(5, 7)), label: periodLabel(params) }
      : { year: params.year, label: periodLabel(params) };
  const prefix = params.mode === 'month' ? `${params.month}-` : `${params.year}-`;
  const firstDay = params.mode === 'month' ? `${params.month}-01` : `${params.year}-01-01`;
  const { feed, posters } = await readFeedPosters(deps, username);
  const inFeed = feed.entries.filter((e) => e.watchedDate?.startsWith(prefix)).map(fromFeed);

  if (feedCovers(feed, firstDay)) {
    const viewings = latestPerFilm(inFeed);
    if (viewings.length === 0) throw noFilms(username, params);
    return { films: await finish(deps, viewings, posters), partial: false, note: null };
  }

  try {
    const rows = await readDiary(deps, username, period);
    const viewings = latestPerFilm(rows.map((r) => fromList(r, r.watchedDate)));
    if (viewings.length === 0) throw noFilms(username, params);
    return { films: await finish(deps, viewings, posters), partial: false, note: null };
  } catch (err) {
    if (!(isAppError(err) && err.code === 'LETTERBOXD_BLOCKED') || params.mode !== 'month') throw err;
    // A month the diary refuses: what the feed holds of it is a fair (and labelled) partial mosaic,
    // but never an empty one (design §10.4).
    const reach = shortDay(feed.completeAfter!);
    const viewings = latestPerFilm(inFeed);
    if (viewings.length === 0) {
      throw new AppError('LETTERBOXD_BLOCKED', `Letterboxd refused the diary pages for ${period.label}, and the feed only reaches back to ${reach}; ${BLOCKED_ADVICE}`, { cause: err });
    }
    return { films: await finish(deps, viewings, posters), partial: true, note: `partial: the feed only reaches back to ${reach}` };
  }
}

/**
 * Collects the films of `params`' period for `username` (lowercase), newest watched first (films
 * pages' order for `all`), each with the poster URL Letterboxd gives for it.
 */
export async function collectFilms(deps: CollectDeps, username: string, params: MosaicParams): Promise<CollectResult> {
  switch (params.mode) {
    case 'recent': {
      const { feed, posters } = await readFeedPosters(deps, username);
      const viewings = latestPerFilm(feed.entries.map(fromFeed)).slice(0, params.count);
      if (viewings.length === 0) throw new AppError('NO_FILMS', `${username} has no diary entries yet.`);
      return { films: await finish(deps, viewings, posters), partial: false, note: null };
    }
    case 'month':
    case 'year':
      return collectPeriod(deps, username, params);
    case 'all': {
      const listed = await readFilmsPages(deps, username);
      if (listed.length === 0) throw noFilms(username, params);
      return { films: await finish(deps, listed.map((f) => fromList(f, null)), new Map()), partial: false, note: null };
    }
  }
}
