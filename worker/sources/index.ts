/**
 * Where a mosaic's films come from. This folder owns reading Letterboxd (letterboxd.ts: its pages and
 * feed on the transport, and what its answers mean: USER_NOT_FOUND, LETTERBOXD_BLOCKED, the outage
 * page, rate limiting), the pure parsers of its feed, films pages, diary pages and film pages (parse*.ts,
 * tested on fixtures), the fetchers built on them (rss.ts, filmsPages.ts, diary.ts, memberPage.ts), an
 * uploaded export (fromExport.ts), and choosing the films of a period (collect.ts). It may touch the
 * transport (../http.ts), the diary archive, import and poster stores handed to it, and ../posters/ to
 * resolve the poster URLs of the films it collected; it downloads no poster and draws nothing.
 */
export { collectFilms, type CollectResult } from './collect.js';
export { createLetterboxdPages, type LetterboxdPages, type PageKind, type PageOptions, type PageResponse } from './letterboxd.js';
export { readFeed, type Feed } from './rss.js';
export type { CollectDeps, CollectedFilm, Progress } from './types.js';
