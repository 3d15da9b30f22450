/**
 * Collecting the films of a period (docs/architecture.md#where-the-films-come-from, docs/architecture.md#order-of-films, docs/architecture.md#outcomes): `month` and `recent` from the feed
 * (diary pages for a month the feed does not fully reach), `year` from the feed when it reaches the
 * whole year and the diary pages otherwise, `all` from the films pages. With an imported export, `all`,
 * `year` and months older than the feed come from it (with the feed's newer films folded in) and no
 * films or diary page is requested. Every feed read is kept in the server's diary archive, and a
 * period the archive covers (alone, or with the feed and the export) needs no page either.
 */
import { AppError, isAppError, type ErrorCode } from '../../common/errors.js';
import { systemClock } from '../../common/clock.js';
import { MAX_MOSAIC_FILMS, periodLabel, type MosaicParams } from '../../common/task.js';
import type { ArchiveEntry, StoredImport } from '../../db/port.js';
import type { ListedFilm } from './parseCommon.js';
import type { FeedEntry } from './parseRss.js';
import { feedCovers, readFeed, type Feed } from './rss.js';
import { addDays, covers, dayOf, history, type Segment } from '../../common/archive.js';
import { readDiary, type DiaryPeriod } from './diary.js';
import { readFilmsPages } from './filmsPages.js';
import { resolvePosterUrls } from '../posters/resolveUrls.js';
import { exportFilms, exportReach, exportViewings, lend, matchKey, notInFeed, withFeedFilms, type Viewing } from './fromExport.js';
import { titleKey } from './titles.js';
import { BLOCKED_ADVICE, type CollectDeps, type CollectResult, type CollectedFilm, type TmdbId } from './types.js';

export type { CollectDeps, CollectResult, CollectedFilm } from './types.js';

const MONTH_ABBR = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** With an export, the feed only adds what came after it: these failures leave the export to stand alone. */
const FEED_OPTIONAL: ReadonlySet<ErrorCode> = new Set([
  'LETTERBOXD_BLOCKED',
  'LETTERBOXD_UNREACHABLE',
  'LETTERBOXD_RATE_LIMITED',
  'LETTERBOXD_CHANGED',
  'USER_NOT_FOUND',
]);

function filmKey(f: { slug: string | null; title: string; year: number | null }): string {
  return f.slug ?? `${f.title}\u0000${f.year ?? ''}`;
}

/**
 * Newest watched first (stable: the source's own order breaks ties), one entry per film: its latest
 * viewing, carrying the diary entries of all its viewings (for a year in review) and, when its own
 * source does not say, whether another viewing's says the member likes it. `key` says which viewings
 * are one film (slugs; title and year when an export is involved, and then an export film takes the
 * slug and poster of a feed viewing of the same film).
 */
function latestPerFilm(viewings: readonly Viewing[], key: (f: CollectedFilm) => string = filmKey): Viewing[] {
  const sorted = viewings
    .map((v, i) => ({ v, i }))
    .sort((a, b) => {
      const da = a.v.film.watchedDate ?? '';
      const db = b.v.film.watchedDate ?? '';
      return da === db ? a.i - b.i : da < db ? 1 : -1;
    });
  const chosen = new Map<string, Viewing>();
  for (const { v } of sorted) {
    const k = key(v.film);
    const first = chosen.get(k);
    if (!first) {
      chosen.set(k, v);
      continue;
    }
    lend(first, v);
    const [a, b] = [first.film.viewings, v.film.viewings];
    first.film.viewings = a && b ? [...b, ...a] : null; // older entries come later in this order
    first.film.liked ??= v.film.liked ?? null;
  }
  return [...chosen.values()];
}

function fromFeed(e: FeedEntry, source: 'feed' | 'archive' = 'feed'): Viewing {
  return {
    source,
    film: {
      title: e.title,
      year: e.year,
      rating: e.rating,
      slug: e.slug,
      watchedDate: e.watchedDate,
      posterUrl: e.posterUrl,
      liked: e.liked,
      viewings: e.watchedDate ? [{ date: e.watchedDate, rewatch: e.rewatch }] : [],
    },
    posterUnknown: e.posterMissing,
    tmdb: e.tmdbMovieId ? { kind: 'movie', id: e.tmdbMovieId } : e.tmdbTvId ? { kind: 'tv', id: e.tmdbTvId } : null,
  };
}

/** A diary row (dated, `rewatch` known) or a films-page film (no date: `diary` null). */
function fromList(f: ListedFilm, diary: { watchedDate: string | null; rewatch: boolean } | null): Viewing {
  const watchedDate = diary?.watchedDate ?? null;
  const viewings = diary ? (watchedDate ? [{ date: watchedDate, rewatch: diary.rewatch }] : []) : null;
  return {
    film: { title: f.title, year: f.year, rating: f.rating, slug: f.slug, watchedDate, posterUrl: null, liked: f.liked, viewings },
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
async function readFeedPosters(deps: CollectDeps, username: string): Promise<FeedRead> {
  const feed = await readFeed(deps, username);
  await deps.archive?.record(username, feed);
  const posters = new Map<string, string | null>();
  const named = new Map<string, FeedEntry>();
  for (const e of feed.entries) {
    if (!e.slug || e.posterMissing || posters.has(e.slug)) continue;
    posters.set(e.slug, e.posterUrl);
    named.set(e.slug, e);
  }
  const known = await deps.posterUrls.knownPosterUrls([...posters.keys()]);
  const changed = [...posters].filter(([slug, url]) => !known.has(slug) || known.get(slug) !== url);
  const now = (deps.clock ?? systemClock).now();
  // With title and year, so that an export film (no slug) finds these posters too.
  await deps.posterUrls.rememberPosterUrls(
    changed.map(([slug, posterUrl]) => ({
      slug,
      posterUrl,
      source: 'rss' as const,
      titleKey: titleKey(named.get(slug)!.title),
      year: named.get(slug)!.year,
    })),
    now,
  );
  return { feed, posters, kept: lazyKept(deps, username) };
}

interface FeedRead {
  feed: Feed;
  posters: Map<string, string | null>;
  /** The archive after this read was kept (read when first needed), or null without an archive. */
  kept: () => Promise<Kept | null>;
}

interface Kept {
  entries: ArchiveEntry[];
  coverage: Segment[];
}

function lazyKept(deps: CollectDeps, username: string): () => Promise<Kept | null> {
  let kept: Promise<Kept | null> | undefined;
  return () => (kept ??= deps.archive ? deps.archive.load(username) : Promise.resolve(null));
}

/**
 * The viewings of a period (`prefix` of the watched date) from the feed just read and from the
 * archive: the archive's entries the read did not show were kept from earlier reads.
 */
function feedAndArchive(feed: Feed | null, kept: Kept | null, prefix: string): Viewing[] {
  const inFeed = (feed?.entries ?? []).filter((e) => e.watchedDate?.startsWith(prefix));
  const seen = new Set(inFeed.map((e) => e.viewingId));
  const fromArchive = (kept?.entries ?? []).filter((e) => !seen.has(e.viewingId) && e.watchedDate?.startsWith(prefix));
  return [...inFeed.map((e) => fromFeed(e)), ...fromArchive.map((e) => fromFeed(e, 'archive'))];
}

/** "2026-03-03" → "3 March 2026" (the archive's dates, as the member's page shows them). */
function fullDay(day: string): string {
  const [y, m, d] = day.split('-');
  return `${Number(d)} ${['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'][Number(m) - 1]} ${y}`;
}

/**
 * Which parts of a mosaic came from where, when the archive gave any of it (a mosaic from the feed
 * alone, or from an export as before, needs no such note).
 */
function sourcesNote(chosen: readonly Viewing[], kept: Kept | null): string | null {
  const n = { feed: 0, archive: 0, export: 0 };
  for (const v of chosen) n[v.source ?? 'feed']++;
  if (n.archive === 0) return null;
  const since = kept ? history(kept.coverage) : null;
  const keptSince = since?.wholeDiary ? ' (the whole diary)' : since?.since ? ` (kept since ${fullDay(since.since)})` : '';
  const parts = [
    n.feed ? `${n.feed} from the RSS feed` : null,
    `${n.archive} from this server's archive of the feed${keptSince}`,
    n.export ? `${n.export} from your export` : null,
  ].filter(Boolean);
  return `Films: ${parts.join(', ')}.`;
}

function joinNotes(...notes: (string | null)[]): string | null {
  const out = notes.filter((n): n is string => !!n);
  return out.length ? out.join(' ') : null;
}

/** The last day of a month or year period, but not after today (the archive's latest read). */
function periodEnd(params: Extract<MosaicParams, { mode: 'month' | 'year' }>, now: number): string {
  const end = params.mode === 'month' ? addDays(`${addMonth(params.month)}-01`, -1) : `${params.year}-12-31`;
  const today = dayOf(now);
  return end < today ? end : today;
}

/** "2026-12" → "2027-01". */
function addMonth(month: string): string {
  const [y, m] = month.split('-').map(Number);
  return m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
}

/** "2026-10-03" → "3 Oct 2026". */
function longDay(day: string): string {
  return `${shortDay(day)} ${day.slice(0, 4)}`;
}

/**
 * The feed beside an export: it adds the films logged since the export was made. When it cannot be
 * read the export stands alone, and the note says what may be missing.
 */
async function feedBesideExport(
  deps: CollectDeps,
  username: string,
  data: StoredImport,
): Promise<{ read: FeedRead | null; note: string | null }> {
  try {
    return { read: await readFeedPosters(deps, username), note: null };
  } catch (err) {
    if (!isAppError(err) || !FEED_OPTIONAL.has(err.code)) throw err;
    return { read: null, note: feedMissingNote(data) };
  }
}

function feedMissingNote(data: StoredImport): string {
  const reach = exportReach(data);
  return `The RSS feed could not be read, so films logged after your export${reach ? ` (its latest entry is from ${longDay(reach)})` : ''} are missing.`;
}

/** Films from viewings, with unknown posters filled from the feed's, the store's or Letterboxd's. */
/**
 * The films to draw, newest first, with their poster URLs. Only the newest `maxFilms` (3,000:
 * docs/architecture.md#where-the-films-come-from) are drawn, and only theirs are resolved: a history of 100,000 films would otherwise mean
 * 100,000 poster lookups and a grid no screen can show. `of` is how many the period held.
 */
async function finish(
  deps: CollectDeps,
  all: Viewing[],
  feedPosters: Map<string, string | null>,
): Promise<{ films: CollectedFilm[]; of?: number }> {
  const cap = deps.maxFilms ?? MAX_MOSAIC_FILMS;
  const viewings = all.length > cap ? all.slice(0, cap) : all;
  const films = viewings.map((v) => v.film);
  const pending: CollectedFilm[] = [];
  const tmdbIds = new Map<CollectedFilm, TmdbId>();
  for (const v of viewings) {
    if (!v.posterUnknown) continue;
    if (v.film.slug && feedPosters.has(v.film.slug)) v.film.posterUrl = feedPosters.get(v.film.slug)!;
    else pending.push(v.film);
    if (v.tmdb) tmdbIds.set(v.film, v.tmdb);
  }
  await resolvePosterUrls(deps, films, pending, tmdbIds);
  return viewings === all ? { films } : { films, of: all.length };
}

/** The note of a capped mosaic: which films it shows. */
function cappedNote(shown: number, of: number, listOrder: boolean): string {
  const count = (n: number) => n.toLocaleString('en-US');
  const which = listOrder ? `the first ${count(shown)} in Letterboxd's order` : `the newest ${count(shown)}`;
  return `A mosaic holds at most ${count(shown)} films: this one shows ${which} of ${count(of)}.`;
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
  // The export is read only when it is needed: a month the feed covers never parses it.
  let loaded: Promise<StoredImport | null> | undefined;
  const exported = () => (loaded ??= deps.imports ? deps.imports.load(username) : Promise.resolve(null));
  if (params.mode === 'year') {
    const data = await exported();
    if (data) return exportPeriod(deps, username, params, prefix, data, await feedBesideExport(deps, username, data));
  }

  let read: FeedRead;
  try {
    read = await readFeedPosters(deps, username);
  } catch (err) {
    const data = isAppError(err) && FEED_OPTIONAL.has(err.code) ? await exported() : null;
    if (data) return exportPeriod(deps, username, params, prefix, data, { read: null, note: feedMissingNote(data) });
    // A period the archive covered by its last read stands without the feed.
    const kept = isAppError(err) && FEED_OPTIONAL.has(err.code) ? ((await deps.archive?.load(username)) ?? null) : null;
    const end = periodEnd(params, (deps.clock ?? systemClock).now());
    const lastRead = kept?.coverage.at(-1)?.to;
    if (kept && lastRead && end <= lastRead && covers(kept.coverage, firstDay, end)) {
      const viewings = latestPerFilm(feedAndArchive(null, kept, prefix));
      if (viewings.length > 0) return { ...(await finish(deps, viewings, new Map())), partial: false, note: sourcesNote(viewings, kept) };
    }
    throw err;
  }
  const { feed, posters } = read;
  const inFeed = feed.entries.filter((e) => e.watchedDate?.startsWith(prefix)).map((e) => fromFeed(e));

  if (feedCovers(feed, firstDay)) {
    const viewings = latestPerFilm(inFeed);
    if (viewings.length === 0) throw noFilms(username, params);
    return { ...(await finish(deps, viewings, posters)), partial: false, note: null };
  }
  // Older than the feed reaches, but the archive kept every viewing of it: no page needed.
  const kept = await read.kept();
  if (kept && covers(kept.coverage, firstDay, periodEnd(params, (deps.clock ?? systemClock).now()))) {
    const viewings = latestPerFilm(feedAndArchive(feed, kept, prefix));
    if (viewings.length === 0) throw noFilms(username, params);
    return { ...(await finish(deps, viewings, posters)), partial: false, note: sourcesNote(viewings, kept) };
  }
  // A month older than the feed reaches: from the export, never the diary pages (docs/architecture.md#where-the-films-come-from).
  const data = await exported();
  if (data) return exportPeriod(deps, username, params, prefix, data, { read, note: null });

  try {
    const rows = await readDiary(deps, username, period);
    const viewings = latestPerFilm(rows.map((r) => fromList(r, r)));
    if (viewings.length === 0) throw noFilms(username, params);
    return { ...(await finish(deps, viewings, posters)), partial: false, note: null };
  } catch (err) {
    if (!(isAppError(err) && err.code === 'LETTERBOXD_BLOCKED') || params.mode !== 'month') throw err;
    // A month the diary refuses: what the feed holds of it is a fair (and labelled) partial mosaic,
    // but never an empty one (docs/architecture.md#outcomes).
    const reach = shortDay(feed.completeAfter!);
    const viewings = latestPerFilm(feedAndArchive(feed, kept, prefix));
    if (viewings.length === 0) {
      throw new AppError(
        'LETTERBOXD_BLOCKED',
        `Letterboxd refused the diary pages for ${period.label}, and the feed only reaches back to ${reach}; ${BLOCKED_ADVICE}`,
        { cause: err },
      );
    }
    return {
      ...(await finish(deps, viewings, posters)),
      partial: true,
      note: joinNotes(`partial: the feed only reaches back to ${reach}`, sourcesNote(viewings, kept)),
    };
  }
}

/** A month or year from the export's diary, with the feed's viewings of that period folded in. */
async function exportPeriod(
  deps: CollectDeps,
  username: string,
  params: Extract<MosaicParams, { mode: 'month' | 'year' }>,
  prefix: string,
  data: StoredImport,
  beside: { read: FeedRead | null; note: string | null },
): Promise<CollectResult> {
  const kept = await (beside.read ? beside.read.kept() : lazyKept(deps, username)());
  // The feed's (and the archive's) viewings first: on the same day they win, carrying their slug and poster.
  // An entry both they and the export list is counted once (a year in review counts entries).
  const inFeed = feedAndArchive(beside.read?.feed ?? null, kept, prefix);
  const viewings = latestPerFilm([...inFeed, ...notInFeed(exportViewings(data, prefix), inFeed)], (f) => matchKey(f));
  if (viewings.length === 0) throw noFilms(username, params);
  return {
    ...(await finish(deps, viewings, beside.read?.posters ?? new Map<string, string | null>())),
    partial: false,
    note: joinNotes(beside.note, sourcesNote(viewings, kept)),
    fromExport: true,
  };
}

/** `all` from the export: every film of watched.csv, the feed's newer films folded in. */
async function exportAll(deps: CollectDeps, username: string, params: MosaicParams, data: StoredImport): Promise<CollectResult> {
  const beside = await feedBesideExport(deps, username, data);
  const kept = await (beside.read ? beside.read.kept() : lazyKept(deps, username)());
  const feedFilms = latestPerFilm(feedAndArchive(beside.read?.feed ?? null, kept, ''), (f) => matchKey(f));
  const viewings = withFeedFilms(exportFilms(data), feedFilms);
  if (viewings.length === 0) throw noFilms(username, params);
  return {
    ...(await finish(deps, viewings, beside.read?.posters ?? new Map<string, string | null>())),
    partial: false,
    note: joinNotes(beside.note, sourcesNote(viewings, kept)),
    fromExport: true,
  };
}

/** `recent` when Letterboxd refuses the feed but the archive kept earlier reads of it. */
async function archiveRecent(deps: CollectDeps, count: number, kept: Kept): Promise<CollectResult> {
  const viewings = latestPerFilm(feedAndArchive(null, kept, '')).slice(0, count);
  const latest = kept.coverage.at(-1)?.to;
  const note = `Letterboxd refused the RSS feed, so these are the latest films this server kept of it${latest ? ` (up to ${longDay(latest)})` : ''}.`;
  return { ...(await finish(deps, viewings, new Map())), partial: false, note };
}

/**
 * `all` when the films pages are refused and there is no export: from the archive, but only when it
 * holds the whole diary (the feed was never full, or its reads chain back to a time it was not).
 * Films marked watched without a diary entry are on the films pages only: the note says so.
 */
async function archiveAll(deps: CollectDeps, username: string, params: MosaicParams): Promise<CollectResult | null> {
  let read: FeedRead | null = null;
  try {
    read = await readFeedPosters(deps, username);
  } catch (err) {
    if (!isAppError(err) || !FEED_OPTIONAL.has(err.code)) throw err;
  }
  const kept = await (read ? read.kept() : lazyKept(deps, username)());
  if (!kept || !history(kept.coverage).wholeDiary) return null;
  const viewings = latestPerFilm(feedAndArchive(read?.feed ?? null, kept, ''));
  if (viewings.length === 0) throw noFilms(username, params);
  const note =
    'Letterboxd refused the films pages; these are the films of the whole diary this server kept from the RSS feed (films marked watched without a diary entry are not included).';
  return { ...(await finish(deps, viewings, read?.posters ?? new Map<string, string | null>())), partial: false, note };
}

/** `recent` when Letterboxd refuses the feed but the member imported an export: its latest viewings. */
async function exportRecent(deps: CollectDeps, count: number, data: StoredImport): Promise<CollectResult> {
  const viewings = latestPerFilm(exportViewings(data, ''), (f) => matchKey(f)).slice(0, count);
  if (viewings.length === 0) throw new AppError('NO_FILMS', 'Your export holds no diary entries.');
  const reach = exportReach(data);
  const note = `Letterboxd refused the RSS feed, so these are the latest films of your export${reach ? ` (up to ${longDay(reach)})` : ''}.`;
  return { ...(await finish(deps, viewings, new Map())), partial: false, note, fromExport: true };
}

async function collect(deps: CollectDeps, username: string, params: MosaicParams): Promise<CollectResult> {
  switch (params.mode) {
    case 'recent': {
      let read: FeedRead;
      try {
        read = await readFeedPosters(deps, username);
      } catch (err) {
        if (!isAppError(err) || err.code !== 'LETTERBOXD_BLOCKED') throw err;
        const kept = (await deps.archive?.load(username)) ?? null;
        if (kept && kept.entries.length > 0) return archiveRecent(deps, params.count, kept);
        const data = (await deps.imports?.load(username)) ?? null;
        if (data) return exportRecent(deps, params.count, data);
        throw err;
      }
      // The archive's entries too: the feed's 50 entries may hold fewer films than asked for (rewatches).
      const kept = await read.kept();
      const viewings = latestPerFilm(feedAndArchive(read.feed, kept, '')).slice(0, params.count);
      if (viewings.length === 0) throw new AppError('NO_FILMS', `${username} has no diary entries yet.`);
      return { ...(await finish(deps, viewings, read.posters)), partial: false, note: sourcesNote(viewings, kept) };
    }
    case 'month':
    case 'year':
      return collectPeriod(deps, username, params);
    case 'all': {
      const data = (await deps.imports?.load(username)) ?? null;
      if (data) return exportAll(deps, username, params, data);
      let listed: ListedFilm[];
      try {
        listed = await readFilmsPages(deps, username);
      } catch (err) {
        if (isAppError(err) && err.code === 'LETTERBOXD_BLOCKED' && deps.archive) {
          const fromArchive = await archiveAll(deps, username, params);
          if (fromArchive) return fromArchive;
        }
        throw err;
      }
      if (listed.length === 0) throw noFilms(username, params);
      return {
        ...(await finish(
          deps,
          listed.map((f) => fromList(f, null)),
          new Map(),
        )),
        partial: false,
        note: null,
      };
    }
  }
}

/**
 * Collects the films of `params`' period for `username` (lowercase), newest watched first (films
 * pages' order for `all` without an export), each with its poster URL (Letterboxd's or TMDB's).
 */
export async function collectFilms(deps: CollectDeps, username: string, params: MosaicParams): Promise<CollectResult> {
  const result = await collect(deps, username, params);
  if (result.of !== undefined) {
    const note = cappedNote(result.films.length, result.of, params.mode === 'all' && !result.fromExport);
    result.note = result.note ? `${note} ${result.note}` : note;
  }
  const problem = deps.tmdb?.problem;
  if (problem) result.note = result.note ? `${result.note} ${problem}` : problem;
  return result;
}
