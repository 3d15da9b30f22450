/** fetchPosters and the on-disk cache through the fake CDN: sizes, placeholders, refusals, sharing, LRU. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readdirSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { openDb } from '../../../db/sqlite/open.js';
import { createPosterStore } from '../../../db/sqlite/posters.js';
import { createPosterCache } from '../../../worker/posters/cache.js';
import { fetchPosters, sizedPosterUrl, type PosterDeps } from '../../../worker/posters/fetch.js';
import { probeImage } from '../../../worker/posters/probe.js';
import { collectFilms, type CollectedFilm } from '../../../worker/sources/collect.js';
import { startFakeLetterboxd, type FakeLetterboxd, type FakeFilm } from '../../helpers/fakeLetterboxd.js';
import { tmpDir } from '../../helpers/tmp.js';
import { rig, type Rig } from '../../helpers/collectRig.js';

const now = new Date(2026, 10, 15, 12, 0, 0);
const thisMonth = { mode: 'month', month: '2026-11', layout: 'classic', format: 'jpeg' } as const;
let lb: FakeLetterboxd;
let r: Rig;
let tmp: { dir: string; cleanup(): void };

const deps = (rg: Rig = r, signal = new AbortController().signal): PosterDeps => ({
  http: rg.http,
  cache: rg.cache,
  signal,
  progress: (stage, done, total, msg) => rg.progress.push({ stage, done, total, msg }),
});
const fakeFilm = (slug: string): FakeFilm => lb.members.get('dave')!.films.find((e) => e.film.slug === slug)!.film;
const asCollected = (f: FakeFilm, posterUrl = lb.posterUrl(f)): CollectedFilm => ({
  title: f.title,
  year: f.year,
  rating: null,
  slug: f.slug,
  watchedDate: null,
  posterUrl,
});

test.before(async () => {
  lb = await startFakeLetterboxd({ now });
});
test.before.each(() => {
  lb.reset();
  tmp = tmpDir('mm-posters-');
  r = rig(lb, join(tmp.dir, 'posters'));
});
test.after.each(() => {
  r.close();
  tmp.cleanup();
});
test.after(async () => {
  await lb.close();
});

/** The file system's clock (what stamps files), which a faked process clock does not move. */
function fileSystemNow(dir: string): number {
  const probe = join(dir, '.probe');
  writeFileSync(probe, '');
  const at = statSync(probe).mtimeMs;
  rmSync(probe);
  return at;
}

test('sizedPosterUrl rewrites only the -0-W-0-H-crop part of a URL we were given', () => {
  const u = 'https://a.ltrbxd.com/resized/film-poster/2/4/6/2/1/2/246212-prophet-s-prey-0-600-0-900-crop.jpg?v=5d5e8ef1a2';
  assert.is(
    sizedPosterUrl(u, 120),
    'https://a.ltrbxd.com/resized/film-poster/2/4/6/2/1/2/246212-prophet-s-prey-0-120-0-180-crop.jpg?v=5d5e8ef1a2',
  );
  assert.is(
    sizedPosterUrl(u.replace('?v=5d5e8ef1a2', ''), 80),
    'https://a.ltrbxd.com/resized/film-poster/2/4/6/2/1/2/246212-prophet-s-prey-0-80-0-120-crop.jpg',
  );
  const upload = 'https://a.ltrbxd.com/resized/sm/upload/8v/xg/0s/1x/amelie-poster.jpg?v=77';
  assert.is(sizedPosterUrl(upload, 120), upload, 'no size pattern: fetched as given');
  const named = 'https://a.ltrbxd.com/resized/film-poster/1/1/11-the-0-600-0-900-crop-0-600-0-900-crop.jpg';
  assert.is(
    sizedPosterUrl(named, 120),
    'https://a.ltrbxd.com/resized/film-poster/1/1/11-the-0-600-0-900-crop-0-120-0-180-crop.jpg',
    'only the size at the end',
  );
});

test("month end to end: tiles at the tile size in each film's colour, a note for the film without poster", async () => {
  const { films } = await collectFilms(r.collectDeps(), 'dave', thisMonth);
  const res = await fetchPosters(deps(), films, 120);
  assert.is(res.tiles.length, films.length);
  assert.is(res.refused, 0);
  for (const [i, f] of films.entries()) {
    const tile = res.tiles[i];
    if (f.slug === 'lost-reel-2019') {
      assert.is(tile, null);
      continue;
    }
    assert.ok(tile, f.title);
    assert.equal(await probeImage(tile), { width: 120, height: 180, format: 'jpeg' });
    const { dominant } = await sharp(tile).stats();
    const want = lb.members.get('dave')!.films.find((e) => e.film.slug === f.slug)!.film.color;
    const dist = Math.abs(dominant.r - want[0]) + Math.abs(dominant.g - want[1]) + Math.abs(dominant.b - want[2]);
    assert.ok(dist < 90, `${f.title}: ${JSON.stringify(dominant)} vs ${JSON.stringify(want)}`);
  }
  assert.equal(res.notes, ['"Lost Reel (2019)" has no poster on Letterboxd.']);
  assert.ok(lb.requests.filter((q) => q.server === 'images').every((q) => q.path.includes('-0-120-0-180-crop.jpg')));
  assert.equal(r.progress.at(-1), { stage: 'downloading', done: 12, total: 12, msg: 'Downloading posters: 12 of 12' });
});

test('a second run downloads nothing: one request in all, the feed', async () => {
  const first = await collectFilms(r.collectDeps(), 'dave', thisMonth);
  const tiles1 = await fetchPosters(deps(), first.films, 120);
  lb.reset();
  const second = await collectFilms(r.collectDeps(), 'dave', thisMonth);
  const tiles2 = await fetchPosters(deps(), second.films, 120);
  assert.equal(
    lb.requests.map((q) => q.path),
    ['/dave/rss/'],
  );
  assert.equal(tiles2.tiles, tiles1.tiles);
  // A different tile size is a different download.
  await fetchPosters(deps(), second.films, 80);
  assert.is(lb.count('-0-80-0-120-crop', 'images'), 11);
});

test('the cache is shared by worker processes on one folder and database file', async () => {
  const dbPath = join(tmp.dir, 'shared.db');
  const dir = join(tmp.dir, 'shared-posters');
  const a = rig(lb, dir, {}, openDb(dbPath));
  const b = rig(lb, dir, {}, openDb(dbPath));
  const films = ['flow-2024', 'amelie', 'dune-2021'].map((s) => asCollected(fakeFilm(s)));
  await fetchPosters(deps(a), films, 120);
  assert.is(lb.count('/resized/', 'images'), 3);
  const viaB = await fetchPosters(deps(b), films, 120);
  assert.is(lb.count('/resized/', 'images'), 3, 'the other process reads what the first wrote');
  assert.ok(viaB.tiles.every(Boolean));
  assert.ok(
    readdirSync(dir).every((n) => !n.endsWith('.tmp')),
    'no temp files left behind',
  );
  a.close();
  b.close();
});

test('refused, corrupt, missing, off-host and redirected posters are placeholders with notes; refusals are counted', async () => {
  const [flow, amelie, dune, creme, lodz, kiki] = [
    'flow-2024',
    'amelie',
    'dune-2021',
    'creme-brulee-a-la-francaise-2020',
    'lodz-nights-2018',
    'kikis-delivery-service',
  ].map(fakeFilm);
  lb.setFaults([
    { path: `/${flow.id}-`, kind: 'challenge', server: 'images' },
    { path: `/${amelie.id}-`, kind: 'corrupt', server: 'images' },
    { path: `/${dune.id}-`, kind: 'not-found', server: 'images' },
    { path: `/${creme.id}-`, kind: 'redirect', server: 'images' },
  ]);
  const offHost = asCollected(lodz, lb.posterUrl(lodz)!.replace(lb.imageBase, lb.url));
  const wrongName = asCollected(kiki, lb.posterUrl(kiki)!.replace(`-${kiki.posterName}-`, '-kiki-'));
  const refusedLookup: CollectedFilm = { ...asCollected(kiki, null), title: 'Refused Lookup', posterRefused: true };
  const films = [asCollected(flow), asCollected(amelie), asCollected(dune), asCollected(creme), offHost, wrongName, refusedLookup];
  const res = await fetchPosters(deps(), films, 120);
  assert.equal(
    res.tiles,
    films.map(() => null),
  );
  assert.is(res.refused, 3, 'the challenge, the wrong name (403) and the refused lookup');
  assert.equal(res.notes, [
    'Letterboxd refused the poster of "Flow (2024)".',
    'The poster of "Le Fabuleux Destin d’Amélie Poulain (2001)" is not a readable image.',
    'The poster of "Dune (2021)" is gone from Letterboxd.',
    'The poster of "Crème Brûlée à la Française (2020)" is not on an allowed image host (LETTERBOXD_IMAGE_HOSTS).',
    'The poster of "Łódź Nights (2018)" is not on an allowed image host (LETTERBOXD_IMAGE_HOSTS).',
    'Letterboxd refused the poster of "Kiki\'s Delivery Service (1989)".',
    'Letterboxd refused the poster lookup of "Refused Lookup (1989)".',
  ]);
  assert.is(lb.count('/resized/', 'pages'), 0, 'neither the off-host URL nor the redirect target was fetched');
  lb.reset();
  // Nothing broken was cached: the good ones come now.
  const again = await fetchPosters(deps(), [asCollected(flow), asCollected(amelie)], 120);
  assert.ok(again.tiles.every(Boolean));
});

test('a poster URL outside the allowed hosts is never fetched, end to end', async () => {
  // Another fake plays a third-party host the feed points at.
  const elsewhere = await startFakeLetterboxd({ now });
  const amelie = fakeFilm('amelie');
  amelie.posterUrlOverride = elsewhere.posterUrl(amelie)!;
  try {
    const { films } = await collectFilms(r.collectDeps(), 'dave', thisMonth);
    const i = films.findIndex((f) => f.slug === 'amelie');
    assert.is(films[i].posterUrl, amelie.posterUrlOverride);
    const res = await fetchPosters(deps(), films, 120);
    assert.is(res.tiles[i], null);
    assert.ok(
      res.notes.includes(
        'The poster of "Le Fabuleux Destin d’Amélie Poulain (2001)" is not on an allowed image host (LETTERBOXD_IMAGE_HOSTS).',
      ),
    );
    assert.is(elsewhere.requests.length, 0);
  } finally {
    delete amelie.posterUrlOverride;
    await elsewhere.close();
  }
});

test('downloads are concurrency-limited and one URL is fetched once', async () => {
  const films = lb.members
    .get('bigfan')!
    .films.slice(0, 40)
    .map((e) => asCollected(e.film));
  lb.setLatency(10);
  await fetchPosters(deps(), [...films, ...films.slice(0, 5)], 60);
  assert.ok(lb.inFlightMax.images <= 6, `in flight ${lb.inFlightMax.images}`);
  assert.is(lb.count('/resized/', 'images'), films.filter((f) => f.posterUrl).length);
});

test('LRU: the cache stays under its byte budget, least recently used out first, files deleted', async () => {
  const store = createPosterStore(r.db);
  const dir = join(tmp.dir, 'small');
  const films = lb.members
    .get('bigfan')!
    .films.slice(0, 6)
    .map((e) => asCollected(e.film));
  const big = createPosterCache({ dir, store, budgetBytes: 1e9, clock: r.clock });
  const sizes = (await fetchPosters({ ...deps(), cache: big }, films, 100)).tiles.map((t) => t!.length);
  const budget = sizes.slice(3).reduce((a, b) => a + b, 0) + 10;
  // Use the first three again (newer), then prune to a budget that holds three.
  await r.clock.sleep(1000);
  await fetchPosters({ ...deps(), cache: big }, films.slice(3), 100);
  const small = createPosterCache({ dir, store, budgetBytes: budget, clock: r.clock });
  await small.prune();
  assert.ok(store.cacheSize().bytes <= budget);
  assert.is(store.cacheSize().files, 3);
  assert.is(readdirSync(dir).length, 3);
  lb.reset();
  await fetchPosters({ ...deps(), cache: small }, films, 100);
  assert.is(lb.count('/resized/', 'images'), 3, 'the evicted three come again');
});

test('a poster whose cached file has gone is downloaded again', async () => {
  const films = [asCollected(fakeFilm('flow-2024'))];
  await fetchPosters(deps(), films, 120);
  for (const n of readdirSync(join(tmp.dir, 'posters'))) unlinkSync(join(tmp.dir, 'posters', n));
  lb.reset();
  const res = await fetchPosters(deps(), films, 120);
  assert.ok(res.tiles[0]);
  assert.is(lb.count('/resized/', 'images'), 1);
});

test('temp files a dead worker left behind are cleared when a cache opens; fresh ones are left alone', () => {
  const dir = join(tmp.dir, 'leftovers');
  mkdirSync(dir);
  const old = join(dir, '.abc.jpg.123.deadbeef.tmp');
  const fresh = join(dir, '.def.jpg.456.cafebabe.tmp');
  writeFileSync(old, 'x');
  writeFileSync(fresh, 'y');
  const now = fileSystemNow(dir);
  utimesSync(old, new Date(now - 2 * 3_600_000), new Date(now - 2 * 3_600_000));
  utimesSync(fresh, new Date(now - 60_000), new Date(now - 60_000));
  createPosterCache({ dir, store: r.store, budgetBytes: 1e6, clock: r.clock });
  assert.equal(readdirSync(dir), ['.def.jpg.456.cafebabe.tmp']);
});

test("a file's age is measured on the file system's clock, not the process's: 30 days ahead, a fresh temp file stays", () => {
  const dir = join(tmp.dir, 'skewed');
  mkdirSync(dir);
  writeFileSync(join(dir, '.abc.jpg.789.feedface.tmp'), 'another worker is writing me');
  const ahead = { now: () => fileSystemNow(dir) + 30 * 86_400_000, sleep: r.clock.sleep };
  createPosterCache({ dir, store: r.store, budgetBytes: 1e6, clock: ahead });
  assert.equal(readdirSync(dir), ['.abc.jpg.789.feedface.tmp']);
});

test('poster files the cache has no row for are cleared when a cache opens, once old; recorded ones stay', async () => {
  const dir = join(tmp.dir, 'posters');
  await fetchPosters(deps(), [asCollected(fakeFilm('flow-2024'))], 120);
  const [recorded] = readdirSync(dir);
  const orphan = join(dir, '0123456789abcdef0123456789abcdef01234567.jpg');
  const young = join(dir, 'fedcba9876543210fedcba9876543210fedcba98.jpg');
  writeFileSync(orphan, 'a worker died before recording me');
  writeFileSync(young, 'another worker is recording me right now');
  const now = fileSystemNow(dir);
  const old = new Date(now - 2 * 3_600_000);
  for (const f of [orphan, join(dir, recorded)]) utimesSync(f, old, old);
  utimesSync(young, new Date(now - 60_000), new Date(now - 60_000));
  createPosterCache({ dir, store: r.store, budgetBytes: 1e6, clock: r.clock });
  assert.equal(readdirSync(dir).sort(), [recorded, 'fedcba9876543210fedcba9876543210fedcba98.jpg'].sort());
});

test('a cancelled download stops with the abort reason', async () => {
  const films = lb.members
    .get('bigfan')!
    .films.slice(0, 30)
    .map((e) => asCollected(e.film));
  lb.setFaults([{ path: '/resized/', kind: 'slow', delayMs: 5000, server: 'images' }]);
  const ac = new AbortController();
  const reason = new Error('cancelled');
  const p = fetchPosters(deps(r, ac.signal), films, 120);
  setTimeout(() => ac.abort(reason), 30);
  try {
    await p;
    assert.unreachable();
  } catch (err) {
    assert.is(err, reason);
  }
});

test.run();
