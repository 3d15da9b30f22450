/** A year in review's figures (worker/review.ts): pure, on fixed films with explicit dates. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { reviewFigures, type ReviewInputFilm } from '../../worker/review.js';

const seen = (...entries: Array<[string, boolean?]>) => entries.map(([date, rewatch]) => ({ date, rewatch: rewatch ?? false }));

/** Newest watched first, as the collector hands them: one film per entry's latest viewing. */
const year2025: ReviewInputFilm[] = [
  { title: 'Late Film', year: 2024, rating: 4.5, liked: true, viewings: seen(['2025-12-30']) },
  // Seen first on 2 January, again in November: the year's first film, and one rewatch.
  { title: 'Twice Seen', year: 1999, rating: 5, liked: true, viewings: seen(['2025-01-02'], ['2025-11-20', true]) },
  { title: 'Unrated', year: null, rating: null, liked: false, viewings: seen(['2025-07-04']) },
  { title: 'Same Day B', year: 2020, rating: 3, liked: false, viewings: seen(['2025-03-15']) },
  { title: 'Same Day A', year: 2021, rating: 2.5, liked: false, viewings: seen(['2025-03-15']) },
  { title: 'Old Favourite', year: 1985, rating: 0.5, liked: true, viewings: seen(['2025-02-01', true]) },
];

test('year: counts, average, histogram, months, rewatches, likes, first and last', () => {
  const f = reviewFigures(year2025, { year: 2025 });
  assert.is(f.films, 6);
  assert.is(f.entries, 7, 'a film seen twice is two diary entries');
  assert.is(f.rated, 5);
  assert.is(f.averageRating, 3.1, '(4.5 + 5 + 3 + 2.5 + 0.5) / 5');
  assert.equal(f.ratings, [1, 0, 0, 0, 1, 1, 0, 0, 1, 1]);
  assert.equal(f.timeline, {
    unit: 'month',
    periods: [1, 1, 2, 0, 0, 0, 1, 0, 0, 0, 1, 1].map((count, m) => ({ label: `2025-${String(m + 1).padStart(2, '0')}`, count })),
  });
  assert.is(f.rewatches, 2);
  assert.is(f.likes, 3);
  assert.equal(f.first, { title: 'Twice Seen', year: 1999, watchedDate: '2025-01-02' });
  assert.equal(f.last, { title: 'Late Film', year: 2024, watchedDate: '2025-12-30' });
});

test('year: the average is rounded to two decimals; entries outside the year are not counted', () => {
  const films: ReviewInputFilm[] = [
    { title: 'A', year: 2001, rating: 4, liked: false, viewings: seen(['2024-12-31'], ['2025-06-01']) },
    { title: 'B', year: 2002, rating: 3.5, liked: false, viewings: seen(['2025-05-01']) },
    { title: 'C', year: 2003, rating: 3.5, liked: false, viewings: seen(['2025-04-01']) },
  ];
  const f = reviewFigures(films, { year: 2025 });
  assert.is(f.averageRating, 3.67);
  assert.is(f.entries, 3);
  assert.equal(f.first, { title: 'C', year: 2003, watchedDate: '2025-04-01' });
});

test('same day: the film further down the list (logged earlier) is the first, the one higher up the last', () => {
  const films = year2025.filter((f) => f.title.startsWith('Same Day'));
  const f = reviewFigures(films, { year: 2025 });
  assert.is(f.first!.title, 'Same Day A');
  assert.is(f.last!.title, 'Same Day B');
});

test('all: one bar a year from the first entry to the last, empty years included', () => {
  const films: ReviewInputFilm[] = [
    { title: 'New', year: 2020, rating: 4, liked: true, viewings: seen(['2024-03-01']) },
    { title: 'Watched, never logged', year: 1990, rating: 3, liked: false, viewings: [] },
    { title: 'Old', year: 1970, rating: null, liked: false, viewings: seen(['2021-05-05'], ['2021-06-06', true]) },
  ];
  const f = reviewFigures(films, 'all');
  assert.equal(f.timeline, {
    unit: 'year',
    periods: [
      { label: '2021', count: 2 },
      { label: '2022', count: 0 },
      { label: '2023', count: 0 },
      { label: '2024', count: 1 },
    ],
  });
  assert.is(f.films, 3);
  assert.is(f.entries, 3);
  assert.is(f.rewatches, 1);
  assert.equal(f.first, { title: 'Old', year: 1970, watchedDate: '2021-05-05' });
  assert.equal(f.last, { title: 'New', year: 2020, watchedDate: '2024-03-01' });
});

test("likes are null when any film's like is unknown (an export); dated figures null when any film is undated (films pages)", () => {
  const fromExport = year2025.map((f, i) => (i === 2 ? { ...f, liked: null } : f));
  const a = reviewFigures(fromExport, { year: 2025 });
  assert.is(a.likes, null);
  assert.is(a.rewatches, 2, 'the rest still stands');

  const fromFilmsPages: ReviewInputFilm[] = year2025.map(({ viewings: _v, ...f }) => ({ ...f, viewings: null }));
  const b = reviewFigures(fromFilmsPages, 'all');
  assert.equal([b.entries, b.timeline, b.rewatches, b.first, b.last], [null, null, null, null, null]);
  assert.is(b.likes, 3, 'the films pages show likes');
  assert.is(b.averageRating, 3.1);
  // Absent fields count as unknown, never as "no".
  const bare = reviewFigures([{ title: 'X', year: 2000, rating: 4 }], { year: 2025 });
  assert.equal([bare.likes, bare.entries, bare.rewatches], [null, null, null]);
});

test('nothing rated: no average, an empty histogram; no entries: no first or last film', () => {
  const f = reviewFigures([{ title: 'X', year: null, rating: null, liked: false, viewings: [] }], 'all');
  assert.is(f.averageRating, null);
  assert.is(f.rated, 0);
  assert.equal(f.ratings, new Array(10).fill(0));
  assert.equal([f.entries, f.first, f.last], [0, null, null]);
  assert.equal(f.timeline, { unit: 'year', periods: [] });
});

test.run();
