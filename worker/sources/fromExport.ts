/**
 * Films from a member's imported export (docs/architecture.md#where-the-films-come-from, docs/architecture.md#order-of-films): pure functions from the parsed CSVs to
 * viewings. watched.csv and ratings.csv meet by the film's `Letterboxd URI` (boxd.it), which tells
 * apart two films of one title and year; diary rows (whose URI names the entry) and the feed have no
 * such link, so they meet the films under `matchKey`, title and year.
 */
import type { ExportData, ExportViewing } from '../../db/port.js';
import type { CollectedFilm, FilmViewing, TmdbId } from './types.js';
import { titleKey, yearKey } from './titles.js';

/** A viewing, before rewatches are folded into one film. */
export interface Viewing {
  film: CollectedFilm;
  /** The poster is unknown (not "none"): resolve it like a films-page film. */
  posterUnknown: boolean;
  /** The film's TMDB id when the feed named it (a poster source when TMDB is configured). */
  tmdb?: TmdbId | null;
  /** Where it came from, for the mosaic's note: the feed just read, the server's archive, the export. */
  source?: 'feed' | 'archive' | 'export';
}

/** Where the same film from the feed, the films pages and the export meet. */
export function matchKey(f: { title: string; year: number | null }): string {
  return `${yearKey(f.year)}\u0000${titleKey(f.title)}`;
}

interface Ratings {
  /** By the film's boxd.it link. */
  byUri: Map<string, number | null>;
  /** Rows without a link, by title and year. */
  unlinked: Map<string, number | null>;
  /** Every row by title and year, but only where one film has that title and year (null: several). */
  byKey: Map<string, { rating: number | null } | null>;
}

function ratingsOf(data: ExportData): Ratings {
  const out: Ratings = { byUri: new Map(), unlinked: new Map(), byKey: new Map() };
  const firstUri = new Map<string, string | null>();
  for (const r of data.ratings) {
    const key = matchKey({ title: r.name, year: r.year });
    if (r.uri) out.byUri.set(r.uri, r.rating);
    else out.unlinked.set(key, r.rating);
    // Two rows of one title and year with different links are two films: neither is "the" rating.
    const twin = firstUri.has(key) && (firstUri.get(key) !== r.uri || r.uri === null);
    out.byKey.set(key, twin ? null : { rating: r.rating });
    if (!firstUri.has(key)) firstUri.set(key, r.uri);
  }
  return out;
}

/** A watched.csv film's rating in ratings.csv: by its link, else by title and year; undefined when not rated. */
function filmRating(ratings: Ratings, f: { uri: string | null; name: string; year: number | null }): number | null | undefined {
  const key = matchKey({ title: f.name, year: f.year });
  if (f.uri) return ratings.byUri.has(f.uri) ? ratings.byUri.get(f.uri) : ratings.unlinked.get(key);
  return ratings.byKey.get(key)?.rating;
}

/** A diary row's fallback rating in ratings.csv (the row's link names the entry): by title and year. */
function diaryRating(ratings: Ratings, v: { name: string; year: number | null }): number | null | undefined {
  return ratings.byKey.get(matchKey({ title: v.name, year: v.year }))?.rating;
}

/** An export film: an export never says what the member likes (likes.csv is not read), so `liked` is null. */
function viewing(title: string, year: number | null, rating: number | null, watchedDate: string | null, viewings: FilmViewing[]): Viewing {
  return {
    film: { title, year, rating, slug: null, watchedDate, posterUrl: null, liked: null, viewings },
    posterUnknown: true,
    source: 'export',
  };
}

/** Every dated diary entry per film (matchKey), oldest first. */
function diaryViewings(data: ExportData): Map<string, FilmViewing[]> {
  const out = new Map<string, FilmViewing[]>();
  for (const v of data.diary) {
    if (!v.watchedDate) continue;
    const key = matchKey({ title: v.name, year: v.year });
    let list = out.get(key);
    if (!list) out.set(key, (list = []));
    list.push({ date: v.watchedDate, rewatch: v.rewatch });
  }
  for (const list of out.values()) list.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  return out;
}

/**
 * The diary's viewings whose Watched Date starts with `prefix` ("2025-", "2025-10-"; "" for all), newest
 * logged first, as the feed lists them: the file is oldest first, so it is read backwards. A viewing's
 * rating is the diary row's, else the member's rating in ratings.csv.
 */
export function exportViewings(data: ExportData, prefix: string): Viewing[] {
  const ratings = ratingsOf(data);
  const out: Viewing[] = [];
  for (let i = data.diary.length - 1; i >= 0; i--) {
    const v: ExportViewing = data.diary[i];
    if (!v.watchedDate?.startsWith(prefix)) continue;
    out.push(
      viewing(v.name, v.year, v.rating ?? diaryRating(ratings, v) ?? null, v.watchedDate, [{ date: v.watchedDate, rewatch: v.rewatch }]),
    );
  }
  return out;
}

/**
 * Every film of watched.csv (or of the diary, when the export has no watched.csv), newest first by its
 * latest diary Watched Date, else by its watched.csv Date. On the same day the film logged later comes
 * first: diary.csv lists a day's viewings in the order they were logged (as the feed does, reversed),
 * while watched.csv dates a film by its first viewing, so its row order says nothing about a day; films
 * without a diary entry that day then keep the later watched.csv row first. Rated as in
 * ratings.csv, else as at its latest viewing. Two rows with the same title and year stay two films:
 * watched.csv has one row per film.
 */
export function exportFilms(data: ExportData): Viewing[] {
  const ratings = ratingsOf(data);
  const latest = new Map<string, { date: string; rating: number | null; row: number }>();
  data.diary.forEach((v, row) => {
    if (!v.watchedDate) return;
    const key = matchKey({ title: v.name, year: v.year });
    const seen = latest.get(key);
    if (!seen || v.watchedDate >= seen.date) latest.set(key, { date: v.watchedDate, rating: v.rating, row });
  });
  const rows =
    data.watched.length > 0
      ? data.watched.map((w) => ({ title: w.name, year: w.year, date: w.date, uri: w.uri }))
      : distinctDiaryFilms(data);
  const entries = diaryViewings(data);
  const films = rows.map((w, i) => {
    const key = matchKey(w);
    const last = latest.get(key);
    const rated = filmRating(ratings, { uri: w.uri, name: w.title, year: w.year });
    const rating = rated !== undefined ? rated : (last?.rating ?? null);
    return { v: viewing(w.title, w.year, rating, last?.date ?? w.date, [...(entries.get(key) ?? [])]), row: last?.date ? last.row : -1, i };
  });
  films.sort((a, b) => {
    const da = a.v.film.watchedDate ?? '';
    const db = b.v.film.watchedDate ?? '';
    return da === db ? b.row - a.row || b.i - a.i : da < db ? 1 : -1;
  });
  return films.map((f) => f.v);
}

function distinctDiaryFilms(data: ExportData): { title: string; year: number | null; date: string | null; uri: null }[] {
  const seen = new Set<string>();
  const out: { title: string; year: number | null; date: string | null; uri: null }[] = [];
  for (const v of data.diary) {
    const key = matchKey({ title: v.name, year: v.year });
    if (seen.has(key)) continue;
    seen.add(key);
    // A diary row's link names the entry, not the film.
    out.push({ title: v.name, year: v.year, date: v.watchedDate ?? v.date, uri: null });
  }
  return out;
}

/** The latest day the export knows of (its diary's or watched.csv's), for "since your export" notes. */
export function exportReach(data: ExportData): string | null {
  let max: string | null = null;
  for (const v of data.diary) for (const d of [v.watchedDate, v.date]) if (d && (max === null || d > max)) max = d;
  for (const w of data.watched) if (w.date && (max === null || w.date > max)) max = w.date;
  return max;
}

/**
 * The export's viewings that the feed does not also list. The feed's latest entries are usually in
 * the export too: the same film on the same day is one diary entry, matched one for one (a film
 * logged twice that day stays twice).
 */
export function notInFeed(exported: readonly Viewing[], feed: readonly Viewing[]): Viewing[] {
  const unmatched = new Map<string, number>();
  for (const f of feed) {
    const k = `${matchKey(f.film)}\u0000${f.film.watchedDate}`;
    unmatched.set(k, (unmatched.get(k) ?? 0) + 1);
  }
  return exported.filter((e) => {
    const k = `${matchKey(e.film)}\u0000${e.film.watchedDate}`;
    const n = unmatched.get(k) ?? 0;
    if (n > 0) unmatched.set(k, n - 1);
    return n === 0;
  });
}

/**
 * One film's diary entries from two sources of the same diary (the feed's listed first), without the
 * entries both list (same day, one for one), oldest first; null when either source is undated.
 */
export function mergeViewings(
  a: readonly FilmViewing[] | null | undefined,
  b: readonly FilmViewing[] | null | undefined,
): FilmViewing[] | null {
  if (!a || !b) return null;
  const unmatched = [...a];
  const extra = b.filter((v) => {
    const twin = unmatched.findIndex((u) => u.date === v.date);
    if (twin >= 0) unmatched.splice(twin, 1);
    return twin < 0;
  });
  return [...a, ...extra].sort((x, y) => (x.date < y.date ? -1 : x.date > y.date ? 1 : 0));
}

/**
 * Films watched since the export, as the feed shows them, folded into the export's films: a feed
 * viewing of a film the export has lends it its slug, poster and TMDB id (and its date and rating
 * when newer); any other feed film is added. Newest first again afterwards.
 */
export function withFeedFilms(exported: Viewing[], feed: readonly Viewing[]): Viewing[] {
  const byKey = new Map<string, Viewing>();
  for (const v of exported) if (!byKey.has(matchKey(v.film))) byKey.set(matchKey(v.film), v);
  const out = [...exported];
  for (const f of feed) {
    const mine = byKey.get(matchKey(f.film));
    if (!mine) {
      byKey.set(matchKey(f.film), f);
      out.push(f);
      continue;
    }
    lend(mine, f);
    mine.film.viewings = mergeViewings(f.film.viewings, mine.film.viewings);
    mine.film.liked ??= f.film.liked ?? null;
    if ((f.film.watchedDate ?? '') > (mine.film.watchedDate ?? '')) {
      mine.film.watchedDate = f.film.watchedDate;
      mine.film.rating = f.film.rating;
    }
  }
  return out
    .map((v, i) => ({ v, i }))
    .sort((a, b) => {
      const da = a.v.film.watchedDate ?? '';
      const db = b.v.film.watchedDate ?? '';
      return da === db ? a.i - b.i : da < db ? 1 : -1;
    })
    .map((x) => x.v);
}

/** Gives `to` (an export film, no slug) what the feed knows of the same film. */
export function lend(to: Viewing, from: Viewing): void {
  if (to.film.slug || !from.film.slug) return;
  to.film.slug = from.film.slug;
  to.tmdb = from.tmdb ?? null;
  to.film.posterUrl = from.film.posterUrl;
  to.posterUnknown = from.posterUnknown;
}
