/**
 * The pure export functions (worker/sources/fromExport.ts) on hand-written parsed exports: the order
 * of films watched on the same day.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ExportData, ExportFilm, ExportViewing } from '../../db/imports.js';
import { exportFilms } from '../../worker/sources/fromExport.js';

const film = (date: string, name: string, year: number, uri: string): ExportFilm => ({ date, name, year, uri });
const entry = (watchedDate: string, name: string, year: number, uri: string): ExportViewing => ({
  date: watchedDate, name, year, uri, rating: null, rewatch: false, watchedDate,
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
  assert.equal(exportFilms(data).map((v) => [v.film.title, v.film.watchedDate]), [
    ['Flow', '2026-12-01'],
    ['Dune', '2026-12-01'],
    ['Amélie', '2026-12-01'],
    ['Cold War', '2019-01-01'],
  ]);
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
  assert.equal(exportFilms(data).map((v) => v.film.title), ['Logged', 'Then marked', 'First marked']);
});

test.run();
