/**
 * A year in review's figures (layout `review`), pure: computed from the films the mosaic shows, each
 * carrying its rating, whether the member likes it and its diary entries in the period. A figure that
 * needs something a source did not give is null rather than a guess: likes when any film's like is
 * unknown (an export), every dated figure when any film is undated (the films pages).
 */
import type { Film, ReviewFigures, ReviewFilm } from '../common/task.js';
import type { FilmViewing } from './sources/types.js';

export type ReviewInputFilm = Pick<Film, 'title' | 'year' | 'rating'> & {
  liked?: boolean | null;
  viewings?: readonly FilmViewing[] | null;
};

/** `year`: a calendar year (twelve months on the timeline); `all`: a whole history (one bar a year). */
export type ReviewPeriod = { year: number } | 'all';

const pad2 = (n: number) => String(n).padStart(2, '0');

export function reviewFigures(films: readonly ReviewInputFilm[], period: ReviewPeriod): ReviewFigures {
  const ratings = new Array<number>(10).fill(0);
  let rated = 0;
  let sum = 0;
  for (const f of films) {
    if (f.rating === null || !Number.isFinite(f.rating) || f.rating <= 0) continue;
    const halves = Math.min(10, Math.max(1, Math.round(f.rating * 2)));
    ratings[halves - 1]++;
    rated++;
    sum += halves / 2;
  }
  const likes = films.every((f) => typeof f.liked === 'boolean') ? films.filter((f) => f.liked).length : null;
  const figures: ReviewFigures = {
    films: films.length,
    entries: null,
    rated,
    averageRating: rated ? Math.round((sum / rated) * 100) / 100 : null,
    ratings,
    timeline: null,
    rewatches: null,
    likes,
    first: null,
    last: null,
  };
  if (!films.every((f) => Array.isArray(f.viewings))) return figures;

  // Films come newest first, so within one day a film further down the list was logged earlier.
  const entries: { film: ReviewInputFilm; date: string; rewatch: boolean; order: number }[] = [];
  films.forEach((film, order) => {
    for (const v of film.viewings!) {
      if (period !== 'all' && !v.date.startsWith(`${period.year}-`)) continue;
      entries.push({ film, date: v.date, rewatch: v.rewatch, order });
    }
  });
  figures.entries = entries.length;
  figures.rewatches = entries.filter((e) => e.rewatch).length;
  figures.timeline = period === 'all' ? yearTimeline(entries) : monthTimeline(entries, period.year);
  if (entries.length) {
    const first = entries.reduce((a, b) => (b.date < a.date || (b.date === a.date && b.order > a.order) ? b : a));
    const last = entries.reduce((a, b) => (b.date > a.date || (b.date === a.date && b.order < a.order) ? b : a));
    figures.first = named(first);
    figures.last = named(last);
  }
  return figures;
}

function named(e: { film: ReviewInputFilm; date: string }): ReviewFilm {
  return { title: e.film.title, year: e.film.year, watchedDate: e.date };
}

function monthTimeline(entries: readonly { date: string }[], year: number): NonNullable<ReviewFigures['timeline']> {
  const periods = Array.from({ length: 12 }, (_, m) => ({ label: `${year}-${pad2(m + 1)}`, count: 0 }));
  for (const e of entries) periods[Number(e.date.slice(5, 7)) - 1].count++;
  return { unit: 'month', periods };
}

/** One bar a year from the first entry's year to the last's, empty years included. */
function yearTimeline(entries: readonly { date: string }[]): NonNullable<ReviewFigures['timeline']> {
  if (entries.length === 0) return { unit: 'year', periods: [] };
  const years = entries.map((e) => Number(e.date.slice(0, 4)));
  const from = years.reduce((a, b) => Math.min(a, b));
  const to = years.reduce((a, b) => Math.max(a, b));
  const periods = Array.from({ length: to - from + 1 }, (_, i) => ({ label: String(from + i), count: 0 }));
  for (const y of years) periods[y - from].count++;
  return { unit: 'year', periods };
}
