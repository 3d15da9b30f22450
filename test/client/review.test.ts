/** The year in review in the PWA, pure parts: the form offers it for a year or everything, and its figures as text. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { normalizeRequest, type MosaicSummary, type ReviewFigures } from '../../common/task.js';
import { buildRequest, formFromParams, initialForm, layoutsFor, validateForm, withPeriod } from '../../client/form-model.js';
import { formatDay, layoutName, mosaicAlt, mosaicFileName, ratingWords, reviewFacts, timelineLabel } from '../../client/format.js';

const NOW = new Date(2026, 10, 20, 12, 0, 0); // 20 Nov 2026, local time

test('the form offers the year in review for a year or everything only', () => {
  assert.equal(layoutsFor('year'), ['classic', 'grid', 'review']);
  assert.equal(layoutsFor('all'), ['classic', 'grid', 'review']);
  for (const p of ['this-month', 'month', 'recent'] as const) assert.equal(layoutsFor(p), ['classic', 'grid'], p);
});

test('choosing another period keeps a layout it offers, else goes back to classic', () => {
  const f = { ...initialForm(NOW, 'dave'), period: 'year' as const, layout: 'review' as const };
  assert.is(withPeriod(f, 'all').layout, 'review');
  assert.is(withPeriod(f, 'recent').layout, 'classic');
  assert.is(withPeriod({ ...f, layout: 'grid' }, 'month').layout, 'grid');
  assert.is(withPeriod(f, 'this-month').period, 'this-month');
});

test('a year in review is sent as layout review, passes the server\'s rules, and is restored for "try again"', () => {
  const f = { ...initialForm(NOW, 'dave'), period: 'year' as const, year: '2025', layout: 'review' as const };
  const body = buildRequest(f);
  assert.equal(body, { username: 'dave', layout: 'review', mode: 'year', year: 2025 });
  assert.equal(validateForm(f, NOW), {});
  const params = normalizeRequest(body, NOW).params;
  assert.equal(formFromParams('dave', params, NOW), f);
  // The server's rule, reported on the form when a period without it is forced.
  assert.equal(Object.keys(validateForm({ ...f, period: 'recent' }, NOW)), ['form']);
});

const FIGURES: ReviewFigures = {
  films: 6,
  entries: 7,
  rated: 5,
  averageRating: 3.6,
  ratings: [0, 0, 0, 1, 0, 1, 1, 0, 1, 1],
  timeline: { unit: 'month', periods: [] },
  rewatches: 1,
  likes: null,
  first: { title: 'Opening Night', year: 1999, watchedDate: '2024-01-03' },
  last: { title: 'Closing Time', year: null, watchedDate: '2024-12-30' },
};

test("the figures as text, in the image's order; a figure no source gave is left out", () => {
  assert.equal(reviewFacts(FIGURES), [
    { label: 'films', value: '6' },
    { label: 'diary entries', value: '7' },
    { label: 'average rating', value: '3.60 stars' },
    { label: 'rewatches', value: '1' },
    { label: 'first film', value: `Opening Night (1999), ${formatDay('2024-01-03')}` },
    { label: 'last film', value: `Closing Time, ${formatDay('2024-12-30')}` },
  ]);
  const undated = reviewFacts({ ...FIGURES, entries: null, rewatches: null, first: null, last: null, likes: 3, averageRating: null });
  assert.equal(
    undated.map((f) => f.label),
    ['films', 'likes'],
  );
});

test('words for ratings, timeline labels and calendar days', () => {
  assert.equal([0.5, 1, 3.5, 5].map(ratingWords), ['½ star', '1 star', '3½ stars', '5 stars']);
  assert.is(timelineLabel('2025-03'), 'March');
  assert.is(timelineLabel('2024'), '2024');
  // A calendar day stays that day whatever the reader's time zone.
  assert.is(formatDay('2024-01-03', 'en-GB'), '3 Jan 2024');
  assert.is(formatDay('2024-12-31', 'en-US'), 'Dec 31, 2024');
  assert.is(formatDay('not a day'), 'not a day');
});

test('alt text, file name and layout name of a year in review', () => {
  const m: Pick<MosaicSummary, 'username' | 'params' | 'films' | 'filmCount' | 'review' | 'contentType'> = {
    username: 'dave',
    params: { mode: 'year', year: 2024, layout: 'review', format: 'png' },
    films: [{ title: 'Heat', year: 1995, rating: 5, slug: null, watchedDate: '2024-05-01' }],
    filmCount: 1,
    review: { ...FIGURES, entries: null, rewatches: null, first: null, last: null },
    contentType: 'image/png',
  };
  assert.is(mosaicAlt(m), "Poster mosaic of 1 film dave watched in 2024, with the year's figures below; the figures and the list follow");
  assert.is(mosaicFileName(m), 'dave-2024-review.png');
  assert.is(layoutName(m.params), 'year in review');
  assert.is(layoutName({ ...m.params, layout: 'grid' }), 'grid layout');
});

test.run();
