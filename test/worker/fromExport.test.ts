/**
 * The pure export functions (worker/sources/fromExport.ts) on hand-written parsed exports: the order
 * of films watched on the same day.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ExportData, ExportFilm, ExportViewing } from '../../db/sqlite/imports.js';
import { exportFilms, exportViewings } from '../../worker/sources/fromExport.js';

const film = (date: string, name: string, year: number, uri: string): ExportFilm => ({ date, name, year, uri });
const entry = (watchedDate: string, name: string, year: number, uri: string): ExportViewing => ({
  date: watchedDate,
  name,
  year,
  uri,
  rating: null,
  rewatch: false,
  watchedDate,
});

test('films watched on the same day: the one logged later first, whatever watched.csv dates them by', () => {
  // Flow was first watched in October, so watched.csv lists it before the two films first seen on
  // 1 December; in December's diary it was logged last of the three that day.
  const data: ExportData = {
    watched: [
      film('2026-10-03', 'Flow', 2024, 'https://boxd.it/aaa1'),
      film('2026-12-01', 'Amélie', 2001, 'https://boxd.it/aaa2'),
      film('2026-12-01', 'Dune', 2021, 'https://boxd.it/aaa3'),
      film('2019-01-01', 'Cold War', 2018, 'https://boxd.it/aaa4'),
    ],
    diary: [
      entry('2026-10-03', 'Flow', 2024, 'https://boxd.it/d1'),
      entry('2026-12-01', 'Amélie', 2001, 'https://boxd.it/d2'),
      entry('2026-12-01', 'Dune', 2021, 'https://boxd.it/d3'),
      entry('2026-12-01', 'Flow', 2024, 'https://boxd.it/d4'),
    ],
    ratings: [],
  };
  assert.equal(
    exportFilms(data).map((v) => [v.film.title, v.film.watchedDate]),
    [
      ['Flow', '2026-12-01'],
      ['Dune', '2026-12-01'],
      ['Amélie', '2026-12-01'],
      ['Cold War', '2019-01-01'],
    ],
  );
});

test('films without a diary entry on the same day keep the later watched.csv row first, after the logged ones', () => {
  const data: ExportData = {
    watched: [
      film('2026-05-02', 'Logged', 2020, 'https://boxd.it/b1'),
      film('2026-05-02', 'First marked', 2020, 'https://boxd.it/b2'),
      film('2026-05-02', 'Then marked', 2020, 'https://boxd.it/b3'),
    ],
    diary: [entry('2026-05-02', 'Logged', 2020, 'https://boxd.it/e1')],
    ratings: [],
  };
  assert.equal(
    exportFilms(data).map((v) => v.film.title),
    ['Logged', 'Then marked', 'First marked'],
  );
});

test('ratings: watched.csv and ratings.csv meet by boxd.it link; title and year only for rows without one, and never between twins', () => {
  const rating = (date: string, name: string, year: number, uri: string | null, r: number | null) => ({ date, name, year, uri, rating: r });
  const data: ExportData = {
    watched: [
      film('2021-02-03', 'The Call', 2020, 'https://boxd.it/nDhS'),
      film('2021-03-10', 'The Call', 2020, 'https://boxd.it/qjxo'),
      film('2022-01-01', 'Tár', 2022, 'https://boxd.it/t4r'),
      { date: '2022-02-02', name: 'Aftersun', year: 2022, uri: null },
    ],
    diary: [entry('2021-03-10', 'The Call', 2020, 'https://boxd.it/entry1')],
    ratings: [
      rating('2021-02-04', 'The Call', 2020, 'https://boxd.it/nDhS', 4),
      rating('2021-03-11', 'The Call', 2020, 'https://boxd.it/qjxo', 2),
      rating('2022-01-02', 'Tár', 2022, null, 5),
      rating('2022-02-03', 'Aftersun', 2022, 'https://boxd.it/aft', 4.5),
    ],
  };
  // (Both "The Call" take the latest diary date of that title: diary rows name no film.)
  assert.equal(
    exportFilms(data).map((v) => [v.film.title, v.film.rating]),
    [
      ['Aftersun', 4.5], // no link on the film: its title and year name one rated film
      ['Tár', 5], // the rating row has no link: title and year
      ['The Call', 2],
      ['The Call', 4],
    ],
  );
  // A diary row's link names the entry: its fallback rating by title and year is ambiguous between twins.
  assert.equal(
    exportViewings(data, '2021-').map((v) => v.film.rating),
    [null],
  );
});

test.run();
