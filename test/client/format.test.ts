import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Film, MosaicSummary } from '../../common/task.js';
import {
  describeElapsed,
  filmLine,
  filmListText,
  formatElapsed,
  mosaicAlt,
  mosaicFileName,
  mosaicTitle,
  ratingStars,
  slugify,
} from '../../client/format.js';
import { adviceFor } from '../../client/advice.js';
import { formatDayRange, formatLongDay, historyText } from '../../client/format.js';

const film = (title: string, year: number | null, rating: number | null): Film => ({ title, year, rating, slug: null, watchedDate: null });

test('mosaicFileName: member, period and extension from the content type', () => {
  const m = { username: 'dave', contentType: 'image/jpeg' };
  assert.is(
    mosaicFileName({ ...m, params: { mode: 'month', month: '2026-11', layout: 'classic', format: 'jpeg' } }),
    'dave-november-2026.jpg',
  );
  assert.is(mosaicFileName({ ...m, params: { mode: 'recent', count: 30, layout: 'classic', format: 'jpeg' } }), 'dave-last-30-films.jpg');
  assert.is(mosaicFileName({ ...m, params: { mode: 'recent', count: 1, layout: 'classic', format: 'jpeg' } }), 'dave-last-1-film.jpg');
  assert.is(mosaicFileName({ ...m, params: { mode: 'year', year: 2025, layout: 'classic', format: 'jpeg' } }), 'dave-2025.jpg');
  assert.is(
    mosaicFileName({ username: 'dave_2', contentType: 'image/png', params: { mode: 'all', layout: 'grid', format: 'png' } }),
    'dave_2-all-films-grid.png',
  );
  assert.is(
    mosaicFileName({
      username: 'x',
      contentType: 'image/webp; q=1',
      params: { mode: 'year', year: 2024, layout: 'classic', format: 'webp' },
    }),
    'x-2024.webp',
  );
  assert.is(
    mosaicFileName({
      username: 'x',
      contentType: 'application/octet-stream',
      params: { mode: 'year', year: 2024, layout: 'classic', format: 'jpeg' },
    }),
    'x-2024.jpg',
    'unknown type falls back to jpg',
  );
});

test('slugify drops accents and punctuation', () => {
  assert.is(slugify('Amélie & the Café!'), 'amelie-the-cafe');
  assert.is(slugify('  --  '), '');
});

test('ratingStars matches the mosaic', () => {
  assert.is(ratingStars(null), '—');
  assert.is(ratingStars(0.5), '½');
  assert.is(ratingStars(3.5), '★★★½');
  assert.is(ratingStars(5), '★★★★★');
  assert.is(ratingStars(0), '—');
});

test('film lines and the list as text keep order and odd titles intact', () => {
  assert.is(filmLine(film('Alien', 1979, 4.5)), '★★★★½ Alien (1979)');
  assert.is(filmLine(film('Untitled <draft> & "co"', null, null)), '— Untitled <draft> & "co"');
  const m = {
    username: 'dave',
    params: { mode: 'month', month: '2026-11', layout: 'classic', format: 'jpeg' } as const,
    films: [film('B', 2001, 3), film('A', 2000, null)],
  };
  assert.is(mosaicTitle(m), 'dave · November 2026');
  assert.is(filmListText(m), 'dave · November 2026\n\n1. ★★★ B (2001)\n2. — A (2000)');
});

test('alt text: one sentence saying what the image is, the list following', () => {
  const m: Pick<MosaicSummary, 'username' | 'params' | 'films' | 'filmCount'> = {
    username: 'dave',
    params: { mode: 'recent', count: 2, layout: 'grid', format: 'jpeg' },
    films: [film('Heat', 1995, 5), film('Tár', 2022, 4)],
    filmCount: 2,
  };
  assert.is(mosaicAlt(m), 'Poster mosaic of the last 2 films dave watched; the list follows');
  assert.is(mosaicAlt({ ...m, filmCount: 1 }), 'Poster mosaic of the last film dave watched; the list follows');
  const year = { ...m, params: { mode: 'year', year: 2026, layout: 'grid', format: 'jpeg' } as const, filmCount: 1000 };
  assert.is(mosaicAlt(year), 'Poster mosaic of 1,000 films dave watched in 2026; the list follows');
  assert.is(
    mosaicAlt({ ...year, params: { mode: 'month', month: '2026-11', layout: 'classic', format: 'jpeg' } }),
    'Poster mosaic of 1,000 films dave watched in November 2026; the list follows',
  );
  assert.is(
    mosaicAlt({ ...year, params: { mode: 'all', layout: 'grid', format: 'jpeg' }, filmCount: 3512 }),
    'Poster mosaic of all 3,512 films dave watched; the list follows',
  );
  assert.ok(mosaicAlt(year).length < 80, 'a sentence, not the film list');
});

test('elapsed time formats', () => {
  assert.is(formatElapsed(0), '0:00');
  assert.is(formatElapsed(7_900), '0:07');
  assert.is(formatElapsed(185_000), '3:05');
  assert.is(formatElapsed(3_723_000), '1:02:03');
  assert.is(formatElapsed(-5), '0:00', 'clock skew never shows negative time');
  assert.is(describeElapsed(1_000), '1 second');
  assert.is(describeElapsed(185_000), '3 minutes 5 seconds');
});

test('every failure comes with something to do', () => {
  for (const code of ['USER_NOT_FOUND', 'NO_FILMS', 'LETTERBOXD_BLOCKED', 'WORKER_LOST', 'SOMETHING_NEW', null]) {
    const a = adviceFor(code);
    assert.ok(a.title.length > 0 && a.action.endsWith('.'), String(code));
  }
  assert.match(adviceFor('LETTERBOXD_BLOCKED').action, /export/);
});

test("the member page's history text: since when, the whole diary, gaps", () => {
  assert.is(formatLongDay('2026-03-03'), '3 March 2026');
  assert.is(formatDayRange('2026-03-03', '2026-03-09'), '3 – 9 March 2026');
  assert.is(formatDayRange('2026-02-28', '2026-03-02'), '28 February – 2 March 2026');
  assert.is(formatDayRange('2025-12-30', '2026-01-02'), '30 December 2025 – 2 January 2026');
  const m = {
    username: 'dave',
    followed: true,
    historySince: '2026-03-03',
    wholeDiary: false,
    earliest: null,
    gaps: [],
    entries: 50,
    lastPolledAt: null,
  };
  assert.equal(historyText(m), { kept: 'History kept on this server since 3 March 2026.', gaps: null });
  assert.equal(historyText({ ...m, historySince: null, wholeDiary: true }), {
    kept: 'History kept on this server: dave’s whole diary.',
    gaps: null,
  });
  assert.equal(
    historyText({ ...m, earliest: '2026-01-10', gaps: [{ from: '2026-02-01', to: '2026-02-05' }] })!.gaps,
    'Earlier history from 10 January 2026, with a gap: 1 – 5 February 2026.',
  );
  assert.is(historyText({ ...m, followed: false, entries: 0 }), null);
});

test.run();
