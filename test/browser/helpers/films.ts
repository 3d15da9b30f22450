import type { Film } from '../../../common/task.js';

/** The films every test mosaic shows: titles that need escaping, and every rating shape. */
export const FILMS: Film[] = [
  { title: 'Alien', year: 1979, rating: 4.5, slug: 'alien', watchedDate: '2026-11-18' },
  { title: 'Amélie & <Friends> "2"', year: 2001, rating: null, slug: null, watchedDate: '2026-11-10' },
  { title: 'Tár', year: 2022, rating: 3, slug: 'tar', watchedDate: '2026-11-02' },
];
