/**
 * TMDB as a poster source against the fake TMDB (and the fake Letterboxd with its pages refused):
 * authentication both ways, the deterministic choice among search results, misses and choices
 * remembered, rate limits honoured, posters drawn at the right size, and the image host allowed only
 * while TMDB is configured.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import sharp from 'sharp';
import type { MosaicParams } from '../../../common/task.js';
import { createTmdbStore } from '../../../db/sqlite/tmdb.js';
import { createHttp, type Http } from '../../../worker/upstreams.js';
import { isTmdbBearerToken } from '../../../worker/posters/tmdbApi.js';
import { chooseMatch, createTmdb, tmdbImageUrl, tmdbRef, tmdbSize } from '../../../worker/posters/tmdb.js';
import { createLogger } from '../../../common/log.js';
import { fetchPosters, type PosterDeps } from '../../../worker/posters/fetch.js';
import { collectFilms } from '../../../worker/sources/collect.js';
import { titleKey, slugFromTitle } from '../../../worker/sources/titles.js';
import { startFakeLetterboxd, type FakeLetterboxd, type FakeMember } from '../../helpers/fakeLetterboxd.js';
import { filmsOf, startFakeTmdb, type FakeTmdb } from '../../helpers/fakeTmdb.js';
import { csv, EXPORT_HEADERS, makeZip } from '../../helpers/exportZip.js';
import { tmpDir } from '../../helpers/tmp.js';
import { exportRig, type ExportRig } from '../../helpers/exportRig.js';

const now = new Date(2026, 10, 15, 12, 0, 0);
const all: MosaicParams = { mode: 'all', layout: 'grid', format: 'jpeg' };
const year = (y: number): MosaicParams => ({ mode: 'year', year: y, layout: 'classic', format: 'jpeg' });
const BLOCKED = [
  { path: /^\/[^/]+\/films\//, kind: 'challenge' as const },
  { path: '/diary/', kind: 'challenge' as const },
];

let lb: FakeLetterboxd;
let tm: FakeTmdb;
let r: ExportRig;
let tmp: { dir: string; cleanup(): void };
const member = (name: string): FakeMember => lb.members.get(name)!;
const signal = () => new AbortController().signal;
const searches = () => tm.requests.filter((q) => q.path.startsWith('/3/search/')).length;

function withTmdb(apiKey?: string): ExportRig {
  r?.close();
  r = exportRig(lb, join(tmp.dir, `p${Math.random().toString(36).slice(2)}`), tm, apiKey);
  return r;
}

test.before(async () => {
  lb = await startFakeLetterboxd({ now });
  tm = await startFakeTmdb({ films: filmsOf(lb.members.values()) });
});
test.before.each(() => {
  lb.reset();
  tm.reset();
  lb.setFaults(BLOCKED);
  tmp = tmpDir('mm-tmdb-');
  withTmdb();
});
test.after.each(() => {
  r.close();
  tmp.cleanup();
});
test.after(async () => {
  await lb.close();
  await tm.close();
});

test('sizes: the smallest TMDB poster width at least the tile width; references and URLs', () => {
  assert.equal([40, 92, 93, 120, 154, 155, 300, 500, 780, 781].map(tmdbSize), [
    'w92',
    'w92',
    'w154',
    'w154',
    'w154',
    'w185',
    'w342',
    'w500',
    'w780',
    'original',
  ]);
  assert.is(tmdbRef('/abc.jpg'), 'tmdb:/abc.jpg');
  assert.is(tmdbImageUrl('https://image.tmdb.org/', 'tmdb:/abc.jpg', 120), 'https://image.tmdb.org/t/p/w154/abc.jpg');
  assert.ok(isTmdbBearerToken(tm.token));
  assert.not.ok(isTmdbBearerToken(tm.apiKey));
});

test('titles: one key for spellings of the same title; slugs as Letterboxd makes them', () => {
  assert.is(titleKey('Kiki’s Delivery Service'), titleKey('kikis delivery service'));
  assert.is(titleKey('Deadpool & Wolverine'), titleKey('Deadpool and Wolverine'));
  assert.is(titleKey('Amélie'), 'amelie');
  assert.is(titleKey('🎃'), '🎃');
  assert.is(slugFromTitle("Kiki's Delivery Service"), 'kikis-delivery-service');
  assert.is(slugFromTitle('Łódź Nights'), 'lodz-nights');
  assert.is(slugFromTitle('Say "Cheese" & Run'), 'say-cheese-run');
  assert.is(slugFromTitle('🎃'), null);
  // "." is not a word break.
  assert.is(slugFromTitle('E.T. the Extra-Terrestrial'), 'et-the-extra-terrestrial');
  assert.is(slugFromTitle('12.12: The Day'), '1212-the-day');
  assert.is(slugFromTitle('M.I.A.'), 'mia');
  assert.is(slugFromTitle('P.S.'), 'ps');
  assert.is(slugFromTitle('Mr. Smith Goes to Washington'), 'mr-smith-goes-to-washington');
});

test('chooseMatch: normalised title first, then year, then popularity; nothing for another title', () => {
  const res = (id: number, name: string, y: number | null, popularity: number) => ({
    id,
    names: [name],
    year: y,
    posterPath: `/${id}.jpg`,
    popularity,
  });
  const results = [
    res(1, 'The Making of Dune', 2021, 900),
    res(2, 'Dune', 1984, 500),
    res(3, 'Dune', 2021, 80),
    res(4, 'DUNE', 2021, 90),
    res(5, 'Dune', 2020, 1000),
  ];
  assert.is(chooseMatch(results, 'movie', 'Dune', 2021)!.id, 4, 'same year: the more popular');
  assert.is(chooseMatch(results, 'movie', 'Dune', 2022), null, 'no year slack unless asked');
  assert.is(chooseMatch(results, 'movie', 'Dune', 2022, 1)!.id, 4);
  assert.is(chooseMatch(results, 'movie', 'Dune', null)!.id, 5, 'no year: the most popular');
  assert.is(chooseMatch(results, 'movie', 'Dune Messiah', 2021), null);
});

test('v3 key as api_key, v4 token as Bearer; TMDB gets no Letterboxd referer or browser user agent', async () => {
  const v3 = r.tmdb!.session();
  assert.ok(await v3.posterById('movie', 823219, signal()));
  const q3 = tm.requests.at(-1)!;
  assert.match(q3.path, new RegExp(`api_key=${tm.apiKey}`));
  assert.is(q3.headers.authorization, undefined);
  assert.is(q3.headers.referer, undefined);
  assert.not.match(String(q3.headers['user-agent']), /Mozilla/);

  const v4 = withTmdb(tm.token).tmdb!.session();
  assert.ok(await v4.posterById('movie', 823219, signal()));
  const q4 = tm.requests.at(-1)!;
  assert.not.match(q4.path, /api_key/);
  assert.is(q4.headers.authorization, `Bearer ${tm.token}`);
});

test('by id: movie and series; an unknown id is null', async () => {
  const s = r.tmdb!.session();
  const flow = tm.titles.find((t) => t.id === 823219)!;
  assert.is(await s.posterById('movie', 823219, signal()), `tmdb:${flow.posterPath}`);
  assert.is(await s.posterById('tv', 249042, signal()), `tmdb:${tm.titles.find((t) => t.id === 249042 && t.kind === 'tv')!.posterPath}`);
  assert.is(await s.posterById('movie', 1, signal()), null);
  assert.ok(s.usable);
});

test('by title: the film itself, not its more popular namesake or "The Making of"; series after movies; choices and misses remembered', async () => {
  const s = r.tmdb!.session();
  const flowFilm = member('dave').films.find((e) => e.film.slug === 'flow-2024')!.film;
  assert.is(await s.posterByTitle('Flow', 2024, signal()), `tmdb:${tm.titleOf(flowFilm)!.posterPath}`);
  const tv = member('dave').films.find((e) => e.film.slug === 'adolescence')!.film;
  assert.is(await s.posterByTitle('Adolescence', 2025, signal()), `tmdb:${tm.titleOf(tv)!.posterPath}`);
  assert.ok(tm.count('/3/search/tv?') >= 1, 'the series was found by /3/search/tv');
  assert.is(await s.posterByTitle('Nowhere Film', 2020, signal()), null);
  const asked = searches();
  assert.is(asked, 1 + 2 + 3, 'movie; movie then tv; movie, tv, movie a year either side');

  const later = r.tmdb!.session();
  assert.is(await later.posterByTitle('Flow', 2024, signal()), `tmdb:${tm.titleOf(flowFilm)!.posterPath}`);
  assert.is(await later.posterByTitle('Nowhere Film', 2020, signal()), null);
  assert.is(searches(), asked, 'nothing searched twice');
  const row = createTmdbStore(r.db).match(titleKey('Flow'), 2024)!;
  assert.equal(row.match, { kind: 'movie', id: 823219, title: 'Flow', posterPath: tm.titleOf(flowFilm)!.posterPath });
});

test('a refused key (401): TMDB is left alone for the task, and the note says to check TMDB_API_KEY', async () => {
  const bad = withTmdb('ffffffffffffffffffffffffffffffff');
  const titles: [string, number][] = [
    ['Flow', 2024],
    ['Dune', 2021],
    ['Dune: Part Two', 2024],
    ['Tár', 2019],
    ['Aftersun', 2018],
    ['Roma', 2020],
    ['Burning', 2018],
    ['Minari', 2015],
    ['Parasite', 2016],
    ['Shoplifters', 2019],
  ];
  const rows = titles.map(([t, y], i) => [`2024-01-${String(i + 1).padStart(2, '0')}`, t, y, 'u']);
  const zip = makeZip([{ name: 'watched.csv', data: csv([[...EXPORT_HEADERS.watched], ...rows]) }]);
  await bad.importZip('tester', zip);
  lb.addMember({ username: 'tester', displayName: 'T', diary: [], films: [], lists: [] });
  const res = await collectFilms(bad.deps(), 'tester', all);
  const refusals = tm.requests.filter((q) => q.status === 401).length;
  assert.ok(refusals >= 1 && refusals <= 4, `${refusals} refusals: only the lookups already in flight`);
  assert.is(tm.requests.length, refusals);
  assert.ok(
    res.films.every((f) => !f.posterUrl?.startsWith('tmdb:')),
    'posters from Letterboxd film pages instead',
  );
  assert.is(res.films.filter((f) => f.posterUrl).length, titles.length);
  assert.match(res.note!, /TMDB refused the API key \(401\); check TMDB_API_KEY\./);
});

test('429 with Retry-After: waited out (on the clock), then answered', async () => {
  tm.setFaults([{ path: '/3/movie/', kind: 'rate-limit', retryAfter: 2, times: 1 }]);
  const s = r.tmdb!.session();
  assert.ok(await s.posterById('movie', 823219, signal()));
  assert.ok(r.clock.slept.includes(2000), `slept ${r.clock.slept.join(', ')}`);
  assert.is(tm.count('/3/movie/823219'), 2);
  // Persistent rate limiting: the task stops asking TMDB and says so.
  tm.setFaults([{ path: '/3/', kind: 'rate-limit', retryAfter: 60 }]);
  const t = r.tmdb!.session();
  assert.is(await t.posterByTitle('Dune', 2021, signal()), null);
  assert.not.ok(t.usable);
  assert.match(t.problem!, /rate limiting/);
});

test('an export with TMDB: posters by title from TMDB, no Letterboxd film page asked; drawn at w154 for 120 px tiles', async () => {
  const dave = member('dave');
  await r.importExport(dave);
  lb.setFaults([...BLOCKED, { path: '/rss/', kind: 'challenge' }]);
  const res = await collectFilms(r.deps(), 'dave', year(2026));
  // TMDB knows "Lost Reel" but has no poster for it: only then is Letterboxd asked.
  assert.equal(
    lb.requests.filter((q) => q.path.startsWith('/film/')).map((q) => q.path),
    ['/film/lost-reel/', '/film/lost-reel-2019/'],
  );
  const noPoster = res.films.find((f) => f.title === 'Lost Reel')!;
  assert.equal([noPoster.posterUrl, noPoster.slug], [null, 'lost-reel-2019'], 'Letterboxd has none either');
  const tmdbFilms = res.films.filter((f) => f.posterUrl?.startsWith('tmdb:'));
  assert.is(tmdbFilms.length, res.films.length - 1);

  const posterDeps: PosterDeps = { http: r.http, cache: r.cache, signal: signal(), progress: () => {}, tmdbImageUrl: tm.imageUrl };
  const posters = await fetchPosters(posterDeps, res.films, 120);
  assert.is(posters.tiles.filter(Boolean).length, tmdbFilms.length);
  assert.ok(tm.requests.filter((q) => q.server === 'images').every((q) => q.path.startsWith('/t/p/w154/')));
  const meta = await sharp(posters.tiles.find(Boolean)!).metadata();
  assert.equal([meta.width, meta.height], [154, 231]);

  // Remembered per film: a second mosaic asks TMDB nothing.
  tm.reset();
  const again = await collectFilms(r.deps(), 'dave', year(2026));
  assert.equal(
    again.films.map((f) => f.posterUrl),
    res.films.map((f) => f.posterUrl),
  );
  assert.is(tm.requests.length, 0);
});

test('known Letterboxd posters come before TMDB: the feed’s films ask TMDB nothing', async () => {
  await r.importExport(member('dave'));
  const res = await collectFilms(r.deps(), 'dave', year(2026));
  assert.is(searches(), 0);
  assert.ok(res.films.every((f) => f.posterUrl === null || f.posterUrl.includes(lb.imageHost)));
});

test('the TMDB image host is an allowed poster host only while TMDB is configured', async () => {
  const url = `${tm.imageUrl}/t/p/w154/x.jpg`;
  assert.ok(r.http.isAllowedImageUrl(url));
  const off: Http = createHttp({ letterboxdUrl: lb.url, imageHosts: [lb.imageHost], spacingMs: 0 });
  try {
    assert.not.ok(off.isAllowedImageUrl(url));
    const flow = tm.titles.find((t) => t.id === 823219)!;
    const film = { title: 'Flow', year: 2024, rating: null, slug: null, watchedDate: null, posterUrl: `tmdb:${flow.posterPath}` };
    const res = await fetchPosters({ http: off, cache: r.cache, signal: signal(), progress: () => {}, tmdbImageUrl: null }, [film], 120);
    assert.equal(res.tiles, [null]);
    assert.equal(res.notes, ['The poster of "Flow (2024)" is on TMDB, which is not configured (TMDB_API_KEY).']);
    assert.is(tm.count('/t/p/', 'images'), 0, 'nothing fetched from a host outside the allowlist');
    const direct = { ...film, posterUrl: `${tm.imageUrl}/t/p/w154${flow.posterPath}` };
    const res2 = await fetchPosters({ http: off, cache: r.cache, signal: signal(), progress: () => {}, tmdbImageUrl: null }, [direct], 120);
    assert.equal(res2.tiles, [null]);
    assert.match(res2.notes[0], /not on an allowed image host/);
    assert.is(tm.count('/t/p/', 'images'), 0);
  } finally {
    off.close();
  }
});

test('with TMDB off, a TMDB poster remembered earlier is not used: Letterboxd is asked instead', async () => {
  await r.importZip(
    'tester',
    makeZip([{ name: 'watched.csv', data: csv([[...EXPORT_HEADERS.watched], ['2024-01-01', 'Dune', 2021, 'u']]) }]),
  );
  lb.addMember({ username: 'tester', displayName: 'T', diary: [], films: [], lists: [] });
  const on = await collectFilms(r.deps(), 'tester', all);
  assert.match(on.films[0].posterUrl!, /^tmdb:/);
  // Same database, TMDB off.
  const offDeps = { ...r.deps(), tmdb: null };
  const off = await collectFilms(offDeps, 'tester', all);
  assert.is(off.films[0].slug, 'dune-2021');
  assert.match(off.films[0].posterUrl!, new RegExp(lb.imageHost.replace('.', '\\.')));
});

test('the TMDB key is never logged: not on a refusal, a server error, a reset or a success (debug level)', async () => {
  let logged = 0;
  for (const key of [tm.apiKey, 'ffffffffffffffffffffffffffffffff']) {
    const rig = withTmdb(key);
    const lines: string[] = [];
    const log = createLogger('debug', {}, (l) => lines.push(l));
    const tmdb = createTmdb({ http: rig.http, store: rig.storage.posters, clock: rig.clock, log });
    tm.setFaults([
      { path: '/3/search/movie', kind: 'server-error', times: 3 },
      { path: '/3/search/tv', kind: 'reset', times: 3 },
    ]);
    const s = tmdb.session();
    await s.posterByTitle('Flow', 2024, signal());
    await s.posterById('movie', 823219, signal());
    await s.posterByTitle('Dune', 2021, signal());
    tm.setFaults([]);
    await tmdb.session().posterByTitle('Aftersun', 2018, signal());
    logged += lines.length;
    for (const l of lines) assert.not.ok(l.includes(key), `a log line carries the key: ${l}`);
  }
  assert.ok(logged > 0, 'the failures were logged (without the key)');
});

test.run();
