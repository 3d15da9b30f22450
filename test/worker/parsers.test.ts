/** The pure Letterboxd parsers on fixture files written from docs/letterboxd.md. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { parseRss } from '../../worker/sources/parseRss.js';
import { parseFilmsPage } from '../../worker/sources/parseFilmsPage.js';
import { parseDiary } from '../../worker/sources/parseDiary.js';
import { parseFilmPage, parsePosterJson } from '../../worker/sources/parseFilmPage.js';
import { ratingFromClass, slugFromPath, splitNameYear } from '../../worker/sources/parseCommon.js';
import { feedCovers, readFeed } from '../../worker/sources/rss.js';
import { readFilmsPages } from '../../worker/sources/filmsPages.js';
import type { CollectDeps } from '../../worker/sources/types.js';
import type { AppError } from '../../common/errors.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/letterboxd/${name}`, import.meta.url), 'utf8');

test('feed: diary items only, in feed order, lists dropped', () => {
  const feed = parseRss(fixture('rss-dave.xml'));
  assert.ok(feed.isFeed);
  assert.is(feed.itemCount, 12);
  assert.is(feed.entries.length, 11);
  assert.is(feed.unparsed, 0);
  assert.equal(
    feed.entries.map((e) => e.slug),
    [
      'flow-2024',
      'deadpool-wolverine',
      'say-cheese-run',
      'amelie',
      'pumpkin-party',
      'untitled-home-movie',
      'lost-reel',
      'adolescence',
      'the-twist-ending',
      'flow-2024',
      'prophets-prey',
    ],
  );
});

test('feed: a review with rewatch, rating, like, tmdb id, poster and the day it was published', () => {
  const [flow] = parseRss(fixture('rss-dave.xml')).entries;
  assert.equal(flow, {
    viewingId: '1153149850',
    title: 'Flow',
    year: 2024,
    rating: 4.5,
    watchedDate: '2026-01-11',
    rewatch: true,
    liked: true,
    slug: 'flow-2024',
    posterUrl: 'https://a.ltrbxd.com/resized/film-poster/7/3/9/4/5/1/739451-flow-2024-0-600-0-900-crop.jpg?v=d664eca804',
    posterMissing: false,
    tmdbMovieId: 823219,
    tmdbTvId: null,
    publishedDay: '2026-01-12',
    publishedAt: Date.parse('2026-01-12T09:03:05+13:00'),
  });
});

test('feed: entities, quotes, accents, emoji come out as text; titles from filmTitle, not <title>', () => {
  const byslug = new Map(parseRss(fixture('rss-dave.xml')).entries.map((e) => [e.slug, e]));
  assert.is(byslug.get('deadpool-wolverine')!.title, 'Deadpool & Wolverine');
  assert.is(byslug.get('say-cheese-run')!.title, 'Say "Cheese" & Run');
  assert.is(byslug.get('amelie')!.title, 'Le Fabuleux Destin d’Amélie Poulain');
  assert.is(byslug.get('pumpkin-party')!.title, '🎃 Pumpkin Party 🎉');
  assert.is(byslug.get('prophets-prey')!.title, "Prophet's Prey");
  assert.is(byslug.get('the-twist-ending')!.title, 'The Twist (Ending)');
});

test('feed: unrated, no year, no poster, placeholder poster, TV entry, protocol-relative poster', () => {
  const byslug = new Map(parseRss(fixture('rss-dave.xml')).entries.map((e) => [e.slug, e]));
  const cheese = byslug.get('say-cheese-run')!;
  assert.is(cheese.rating, null);
  assert.is(cheese.rewatch, false);
  const home = byslug.get('untitled-home-movie')!;
  assert.is(home.year, null);
  assert.is(home.posterUrl, null);
  assert.ok(home.posterMissing, 'no image at all: the poster is unknown');
  const lost = byslug.get('lost-reel')!;
  assert.is(lost.posterUrl, null);
  assert.not.ok(lost.posterMissing, 'the empty-poster placeholder means "no poster"');
  assert.is(lost.rating, 1);
  const tv = byslug.get('adolescence')!;
  assert.is(tv.tmdbTvId, 249042);
  assert.is(tv.tmdbMovieId, null);
  assert.is(
    byslug.get('the-twist-ending')!.posterUrl,
    'https://a.ltrbxd.com/resized/film-poster/4/0/0/2/2/2/400222-the-twist-ending-0-600-0-900-crop.jpg',
  );
});

test('feed: an empty channel is a feed with nothing in it; an HTML page is not a feed', () => {
  const empty = parseRss(fixture('rss-empty.xml'));
  assert.ok(empty.isFeed);
  assert.is(empty.entries.length, 0);
  assert.is(empty.itemCount, 0);
  assert.not.ok(parseRss(fixture('not-found.html')).isFeed);
});

test('feed: lists are dropped quietly; items of a kind nobody knows are counted as unknown', () => {
  const feed = parseRss(fixture('rss-dave.xml'));
  assert.is(feed.unknown, 0);
  const renamed = parseRss(fixture('rss-dave.xml').replace(/letterboxd-(watch|review)-/g, 'letterboxd-viewing-'));
  assert.is(renamed.entries.length, 0);
  assert.is(renamed.unknown, 11);
  assert.is(renamed.unparsed, 0);
});

test('a feed of items nobody knows reads as LETTERBOXD_CHANGED, not as a member with no films', async () => {
  const body = fixture('rss-dave.xml').replace(/letterboxd-(watch|review)-/g, 'letterboxd-viewing-');
  const deps = {
    http: { page: async () => ({ body }) } as unknown as CollectDeps['http'],
    signal: new AbortController().signal,
    progress: () => {},
  };
  await readFeed(deps, 'dave').then(
    () => assert.unreachable('should fail'),
    (err: unknown) => assert.is((err as AppError).code, 'LETTERBOXD_CHANGED'),
  );
  const onlyLists = fixture('rss-dave.xml').replace(/letterboxd-(watch|review)-/g, 'letterboxd-list-');
  const lists = await readFeed({ ...deps, http: { page: async () => ({ body: onlyLists }) } as unknown as CollectDeps['http'] }, 'dave');
  assert.equal(lists.entries, [], 'only lists: a member with no diary entries in the feed');
});

test('feed limit: only diary entries count toward the 50; lists come on top (a 2020 feed of 72 items)', async () => {
  const read = (name: string) =>
    readFeed(
      {
        http: { page: async () => ({ body: fixture(name) }) } as unknown as CollectDeps['http'],
        signal: new AbortController().signal,
        progress: () => {},
      },
      'cinephile20',
    );
  const full = parseRss(fixture('rss-2020-50-diary-22-lists.xml'));
  assert.equal([full.itemCount, full.diaryItems, full.entries.length, full.unknown], [72, 50, 50, 0]);
  assert.is((await read('rss-2020-50-diary-22-lists.xml')).completeAfter, '2020-04-11', 'full: older viewings may be missing');
  const notFull = parseRss(fixture('rss-2020-30-diary-22-lists.xml'));
  assert.equal([notFull.itemCount, notFull.diaryItems, notFull.entries.length], [52, 30, 30]);
  assert.is((await read('rss-2020-30-diary-22-lists.xml')).completeAfter, null, '30 diary entries: the whole diary');
  // A 2020 feed: no tmdb ids, no memberLike, 500×750 posters with ?k=, a review without watchedDate.
  const first = notFull.entries[0];
  assert.equal([first.title, first.year, first.slug, first.tmdbMovieId, first.liked], ['Parasite', 2019, 'parasite', null, false]);
  assert.match(first.posterUrl!, /-0-500-0-750-crop\.jpg\?k=/);
  assert.is(notFull.entries[8].watchedDate, null);
});

test("pubDate's offset is Letterboxd's (+1200/+1300), not the member's: a full feed's reach errs toward asking more", async () => {
  // The oldest entry was published at 23:30 in New Zealand, 11:30 UTC: already the next day in UTC+14,
  // where a member may have logged a viewing of that next day just before it, now out of the feed.
  const xml = fixture('rss-2020-50-diary-22-lists.xml').replace('Sat, 11 Apr 2020 17:40:05 +1200', 'Sat, 11 Apr 2020 23:30:00 +1200');
  const feed = await readFeed(
    {
      http: { page: async () => ({ body: xml }) } as unknown as CollectDeps['http'],
      signal: new AbortController().signal,
      progress: () => {},
    },
    'cinephile20',
  );
  assert.is(feed.entries.at(-1)!.publishedDay, '2020-04-12');
  assert.is(feed.completeAfter, '2020-04-12');
  assert.not.ok(feedCovers(feed, '2020-04-12'), 'that day may have viewings the feed no longer holds');
  assert.ok(feedCovers(feed, '2020-04-13'));
  const early = parseRss(
    fixture('rss-2020-50-diary-22-lists.xml').replace('Sat, 11 Apr 2020 17:40:05 +1200', 'Sat, 11 Apr 2020 09:15:00 +1200'),
  );
  assert.is(early.entries.at(-1)!.publishedDay, '2020-04-11', '21:15 UTC the day before: the 11th everywhere at the latest');
  assert.is(
    parseRss(fixture('rss-dave.xml').replace('Mon, 12 Jan 2026 09:03:05 +1300', 'Mon, 12 Jan 2026')).entries[0].publishedDay,
    '2026-01-12',
    'no time: the day as written',
  );
});

test('feed: a diary item without filmTitle counts as unparsed (markup changed)', () => {
  const xml = fixture('rss-dave.xml').replace(/<letterboxd:filmTitle>[^<]*<\/letterboxd:filmTitle>/g, '');
  const feed = parseRss(xml);
  assert.is(feed.entries.length, 0);
  assert.is(feed.unparsed, 11);
});

test('films page 2026: LazyPoster items (both JSON quotings and the globals.comps name), ratings, likes', () => {
  const page = parseFilmsPage(fixture('films-2026-page1.html'));
  assert.is(page.markup, '2026');
  assert.equal(page.films, [
    { title: 'Tony', year: 2026, slug: 'tony-2026', rating: 4, liked: true },
    { title: 'Deadpool & Wolverine', year: 2024, slug: 'deadpool-wolverine', rating: 3, liked: false },
    { title: 'Say "Cheese" & Run', year: 2023, slug: 'say-cheese-run', rating: null, liked: false },
    { title: '🎃 Pumpkin Party 🎉', year: 2021, slug: 'pumpkin-party', rating: 3.5, liked: false },
    { title: 'Untitled Home Movie', year: null, slug: 'untitled-home-movie', rating: 0.5, liked: false },
    {
      title: 'Birdman or (The Unexpected Virtue of Ignorance)',
      year: 2014,
      slug: 'birdman-or-the-unexpected-virtue-of-ignorance',
      rating: 5,
      liked: true,
    },
    { title: 'Zoë <Untitled> & Co.', year: 2022, slug: 'zoe-untitled-co', rating: 2.5, liked: false },
    { title: '1917', year: 2019, slug: '1917', rating: 4.5, liked: false },
  ]);
});

test('films page: pagination with an ellipsis gives the largest page number and the next link', () => {
  const page = parseFilmsPage(fixture('films-2026-page1.html'));
  assert.is(page.lastPage, 14);
  assert.is(page.nextPath, '/dave/films/page/2/');
  const legacy = parseFilmsPage(fixture('films-legacy-page5.html'));
  assert.is(legacy.lastPage, 12);
  assert.is(legacy.nextPath, '/dave/films/page/6/');
});

test('films page: a single page has no pagination', () => {
  const page = parseFilmsPage(fixture('films-2026-single.html'));
  assert.is(page.films.length, 3);
  assert.is(page.lastPage, 1);
  assert.is(page.nextPath, null);
});

test('films page legacy: slug as path and bare, no-poster films, ratings, no year in this markup', () => {
  const page = parseFilmsPage(fixture('films-legacy-page5.html'));
  assert.is(page.markup, 'legacy');
  assert.equal(page.films, [
    { title: 'Senior Year', year: null, slug: 'senior-year-2022', rating: 2, liked: false },
    { title: 'Deadpool & Wolverine', year: null, slug: 'deadpool-wolverine', rating: 3, liked: false },
    { title: 'Say "Cheese" & Run', year: null, slug: 'say-cheese-run', rating: null, liked: false },
    { title: 'Crème Brûlée à la Française', year: null, slug: 'creme-brulee-a-la-francaise', rating: 4.5, liked: false },
    { title: 'Lost Reel', year: null, slug: 'lost-reel', rating: 1, liked: false },
    { title: '🎃 Pumpkin Party 🎉', year: null, slug: 'pumpkin-party', rating: 3.5, liked: false },
  ]);
});

test('films page: a member with no films vs. markup nobody knows', () => {
  const empty = parseFilmsPage(fixture('films-empty.html'));
  assert.is(empty.films.length, 0);
  assert.is(empty.filmLinks, 0, 'nothing links to a film: genuinely empty');
  const changed = parseFilmsPage(
    '<html><body><main><article class="tile"><a href="/film/flow-2024/">Flow</a></article></main></body></html>',
  );
  assert.is(changed.films.length, 0);
  assert.ok(changed.filmLinks > 0, 'film links but no films read: the markup changed');
});

test('diary: rows with date, rating (span or rateit input), rewatch, like, TV, no year', () => {
  const page = parseDiary(fixture('diary-2026-09.html'));
  assert.is(page.unparsed, 0);
  assert.equal(page.rows, [
    {
      title: 'Flow',
      year: 2024,
      slug: 'flow-2024',
      rating: 4.5,
      liked: true,
      viewingId: '1153149850',
      watchedDate: '2026-09-08',
      rewatch: true,
    },
    {
      title: 'Adolescence',
      year: 2025,
      slug: 'adolescence',
      rating: 4,
      liked: false,
      viewingId: '1153100001',
      watchedDate: '2026-09-07',
      rewatch: false,
    },
    {
      title: 'Untitled Home Movie',
      year: null,
      slug: 'untitled-home-movie',
      rating: null,
      liked: false,
      viewingId: '1153000002',
      watchedDate: '2026-09-05',
      rewatch: false,
    },
    {
      title: 'Deadpool & Wolverine',
      year: 2024,
      slug: 'deadpool-wolverine',
      rating: 3.5,
      liked: false,
      viewingId: '1152900003',
      watchedDate: '2026-09-02',
      rewatch: false,
    },
    {
      title: 'Crème Brûlée à la Française',
      year: 2020,
      slug: 'creme-brulee-a-la-francaise',
      rating: 5,
      liked: true,
      viewingId: '1152800004',
      watchedDate: '2026-09-01',
      rewatch: false,
    },
  ]);
  assert.is(page.lastPage, 3);
  assert.is(page.nextPath, '/dave/diary/films/for/2026/09/page/2/');
});

test('diary: an empty month has no rows and no film links', () => {
  const page = parseDiary(fixture('diary-empty.html'));
  assert.is(page.rows.length, 0);
  assert.is(page.filmLinks, 0);
  assert.is(page.lastPage, 1);
});

test('film page: the poster is the JSON-LD image inside the CDATA wrapper, never og:image', () => {
  assert.equal(parseFilmPage(fixture('film-page.html')), {
    found: true,
    title: 'Flow',
    year: 2024,
    posterUrl: 'https://a.ltrbxd.com/resized/film-poster/7/3/9/4/5/1/739451-flow-2024-0-600-0-900-crop.jpg?v=d664eca804',
  });
  assert.equal(parseFilmPage(fixture('film-page-no-poster.html')), { found: true, title: 'Lost Reel', year: 2019, posterUrl: null });
  assert.is(parseFilmPage(fixture('not-found.html')).found, false);
  assert.is(parseFilmPage(fixture('challenge.html')).found, false);
});

test('poster lookup JSON: url, placeholder, garbage', () => {
  assert.equal(parsePosterJson(fixture('poster-std.json')), {
    ok: true,
    posterUrl: 'https://a.ltrbxd.com/resized/film-poster/2/4/6/2/1/2/246212-prophet-s-prey-0-230-0-345-crop.jpg?v=5d5e8ef1a2',
  });
  assert.equal(parsePosterJson(fixture('poster-std-empty.json')), { ok: true, posterUrl: null });
  assert.equal(parsePosterJson(fixture('challenge.html')), { ok: false, posterUrl: null });
  assert.equal(parsePosterJson('{"src":"x"}'), { ok: false, posterUrl: null });
});

test('helpers: rated-N, slugs in every form, "Title (Year)" splitting', () => {
  assert.is(ratingFromClass('rating -micro -darker rated-8'), 4);
  assert.is(ratingFromClass('rating rated-1'), 0.5);
  assert.is(ratingFromClass('rating rated-0'), null);
  assert.is(ratingFromClass('rating'), null);
  assert.is(slugFromPath('/film/senior-year-2022/'), 'senior-year-2022');
  assert.is(slugFromPath('senior-year-2022'), 'senior-year-2022');
  assert.is(slugFromPath('https://letterboxd.com/dave/film/flow-2024/2/'), 'flow-2024');
  assert.is(slugFromPath(''), null);
  assert.equal(splitNameYear('Tony (2026)', 'Tony'), { title: 'Tony', year: 2026 });
  assert.equal(splitNameYear('1917 (2019)', '1917'), { title: '1917', year: 2019 });
  assert.equal(splitNameYear('Summer of (1985)', 'Summer of (1985)'), { title: 'Summer of (1985)', year: null });
  assert.equal(splitNameYear('Summer of (1985) (2020)', 'Summer of (1985)'), { title: 'Summer of (1985)', year: 2020 });
  assert.equal(splitNameYear('Untitled Home Movie'), { title: 'Untitled Home Movie', year: null });
  assert.equal(splitNameYear('Tony (2026)', 'Poster for Tony (2026)'), { title: 'Tony', year: 2026 }, 'a rewritten alt changes nothing');
  assert.equal(splitNameYear('Untitled Home Movie', 'Poster for Untitled Home Movie'), { title: 'Untitled Home Movie', year: null });
});

test('films page as a browser saves it (alts rewritten to "Poster for TITLE (YEAR)"): titles and years from data-item-name', () => {
  const page = parseFilmsPage(fixture('films-2026-saved.html'));
  assert.equal(
    page.films.map((f) => [f.title, f.year, f.slug, f.rating]),
    [
      ['Tony', 2026, 'tony-2026', 4],
      ['1917', 2019, '1917', 4.5],
      ['Summer of (1985)', null, 'summer-of-1985', 3],
      ['Summer of (1985)', 2020, 'summer-of-1985-2020', 3.5],
      ['Untitled Home Movie', null, 'untitled-home-movie', 2],
    ],
  );
});

test('a grid whose items carry no data-item-name yields no title: LETTERBOXD_CHANGED, not films named by their alt', async () => {
  assert.equal(parseFilmsPage(fixture('films-2026-unnamed.html')).films, []);
  const deps = {
    http: { page: async () => ({ body: fixture('films-2026-unnamed.html') }) } as unknown as CollectDeps['http'],
    signal: new AbortController().signal,
    progress: () => {},
  };
  await readFilmsPages(deps, 'dave').then(
    () => assert.unreachable('should fail'),
    (err: unknown) => assert.is((err as AppError).code, 'LETTERBOXD_CHANGED'),
  );
});

test.run();
