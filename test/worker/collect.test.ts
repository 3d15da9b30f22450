/** collectFilms through the fake Letterboxd: every mode, the feed's reach, refusals and poster lookups. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AppError } from '../../common/errors.js';
import type { MosaicParams } from '../../common/task.js';
import { collectFilms, type CollectedFilm } from '../../worker/sources/collect.js';
import { expectedFilms, feedItems, startFakeLetterboxd, type FakeLetterboxd, type FakeMember } from '../helpers/fakeLetterboxd.js';
import { tmpDir } from '../helpers/tmp.js';
import { rig, type Rig } from '../helpers/collectRig.js';
import { testFilm } from '../helpers/exportRig.js';

const now = new Date(2026, 10, 15, 12, 0, 0);
const base = { layout: 'classic', format: 'jpeg' } as const;
const month = (m: string): MosaicParams => ({ mode: 'month', month: m, ...base });
const year = (y: number): MosaicParams => ({ mode: 'year', year: y, ...base });
const recent = (count: number): MosaicParams => ({ mode: 'recent', count, ...base });
const all: MosaicParams = { mode: 'all', ...base };

let lb: FakeLetterboxd;
let r: Rig;
let tmp: { dir: string; cleanup(): void };
const member = (name: string): FakeMember => lb.members.get(name)!;
/** The films as the mosaic shows them (what a year in review reads besides is checked apart). */
const strip = (films: CollectedFilm[]) => films.map(({ posterUrl: _p, posterRefused: _r, liked: _l, viewings: _v, ...f }) => f);
const collect = (user: string, params: MosaicParams) => collectFilms(r.collectDeps(), user, params);

async function fails(p: Promise<unknown>, code: string): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, AppError, String(err));
    assert.is((err as AppError).code, code, (err as Error).message);
    return err as AppError;
  }
  throw new Error(`expected ${code}`);
}

/** The day (YYYY-MM-DD, local) of the oldest diary entry the member's feed holds. */
function feedReach(m: FakeMember): string {
  const viewings = feedItems(m).flatMap((i) => (i.kind === 'viewing' ? [i.v] : []));
  const d = viewings[viewings.length - 1].publishedAt;
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

test.before(async () => {
  lb = await startFakeLetterboxd({ now });
});
test.before.each(() => {
  lb.reset();
  tmp = tmpDir('mm-collect-');
  r = rig(lb, tmp.dir);
});
test.after.each(() => {
  r.close();
  tmp.cleanup();
});
test.after(async () => {
  await lb.close();
});

test('month (this one): from the feed alone, newest watched first, a rewatch once, posters from the feed', async () => {
  const res = await collect('dave', month('2026-11'));
  assert.equal(strip(res.films), expectedFilms(member('dave'), month('2026-11')));
  assert.is(res.films.length, 12);
  assert.is(res.partial, false);
  assert.is(res.note, null);
  const flow = res.films.find((f) => f.slug === 'flow-2024')!;
  assert.is(flow.rating, 4.5, 'the latest viewing (the rewatch) decides');
  assert.is(res.films.filter((f) => f.slug === 'flow-2024').length, 1);
  assert.ok(
    res.films.some((f) => f.slug === 'adolescence'),
    'TV entries count as films',
  );
  assert.is(res.films.find((f) => f.slug === 'lost-reel-2019')!.posterUrl, null);
  assert.is(res.films.find((f) => f.slug === 'untitled-home-movie')!.year, null);
  assert.match(res.films.find((f) => f.slug === 'prophets-prey')!.posterUrl!, /-prophet-s-prey-0-600-0-900-crop\.jpg/);
  assert.equal(
    lb.requests.map((q) => q.path),
    ['/dave/rss/'],
    'one request: the feed',
  );
  assert.ok(r.progress.every((p) => p.stage === 'collecting'));
});

test('month (earlier) the feed fully holds: no diary request; an empty month is NO_FILMS', async () => {
  const res = await collect('dave', month('2026-09'));
  assert.equal(strip(res.films), expectedFilms(member('dave'), month('2026-09')));
  assert.ok(res.films.length > 0);
  const err = await fails(collect('dave', month('2026-01')), 'NO_FILMS');
  assert.is(err.message, 'dave has no films logged in January 2026.');
  assert.is(lb.count('/diary/'), 0);
});

test('recent: the first N distinct films from the feed', async () => {
  const five = await collect('dave', recent(5));
  assert.equal(strip(five.films), expectedFilms(member('dave'), recent(5)));
  const thirty = await collect('dave', recent(30));
  assert.is(thirty.films.length, 30);
  assert.equal(strip(thirty.films), expectedFilms(member('dave'), recent(30)));
  assert.is(new Set(thirty.films.map((f) => f.slug)).size, 30);
});

test('month older than the feed reaches: the diary pages, posters looked up once and remembered', async () => {
  const params = month('2026-05');
  const res = await collect('erin', params);
  assert.equal(strip(res.films), expectedFilms(member('erin'), params));
  assert.is(res.partial, false);
  assert.ok(lb.count('/erin/diary/films/for/2026/05/') >= 1);
  const lookups = lb.count('/poster/std/');
  assert.is(lookups, res.films.length, 'one lookup per film the feed did not give');
  assert.ok(res.films.every((f) => f.posterUrl && /-0-230-0-345-crop\.jpg/.test(f.posterUrl)));

  lb.reset();
  const again = await collect('erin', params);
  assert.equal(again.films, res.films);
  assert.is(lb.count('/poster/std/'), 0, 'nothing resolved twice');
  assert.is(lb.count('/film/'), 0);
});

test('month the feed only partly covers, diary refused: a labelled partial mosaic from the feed', async () => {
  const reach = feedReach(member('erin'));
  const m = reach.slice(0, 7);
  lb.setFaults([{ path: '/diary/', kind: 'challenge' }]);
  const res = await collect('erin', month(m));
  assert.is(res.partial, true);
  const [, mm, dd] = reach.split('-');
  const abbr = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][Number(mm) - 1];
  assert.is(res.note, `partial: the feed only reaches back to ${Number(dd)} ${abbr}`);
  const expected = expectedFilms(member('erin'), month(m)).filter((f) => f.watchedDate! > reach);
  assert.equal(
    strip(res.films).filter((f) => f.watchedDate! > reach),
    expected,
  );
  assert.ok(res.films.length > 0);
  assert.ok(
    res.films.every((f) => f.posterUrl),
    'posters straight from the feed',
  );
});

test('month wholly before the feed, diary refused: LETTERBOXD_BLOCKED with guidance, never an empty mosaic', async () => {
  lb.setFaults([{ path: '/diary/', kind: 'challenge' }]);
  const err = await fails(collect('erin', month('2026-04')), 'LETTERBOXD_BLOCKED');
  assert.match(err.message, /diary pages for April 2026/);
  assert.match(err.message, /upload your Letterboxd export on the home page, or set TMDB_API_KEY/);
});

test('year: all the diary pages of that year (several pages), newest first', async () => {
  const res = await collect('erin', year(2026));
  assert.equal(strip(res.films), expectedFilms(member('erin'), year(2026)));
  assert.is(res.films.length, 130);
  assert.equal(
    lb.requests.filter((q) => q.path.includes('/diary/')).map((q) => q.path),
    ['/erin/diary/films/for/2026/', '/erin/diary/films/for/2026/page/2/', '/erin/diary/films/for/2026/page/3/'],
  );
  assert.ok(r.progress.some((p) => p.msg === 'Collecting data: diary page 2 of 3'));
  await fails(collect('erin', year(2024)), 'NO_FILMS');
});

test('year the feed holds entirely: no diary request', async () => {
  const res = await collect('dave', year(2026));
  assert.equal(strip(res.films), expectedFilms(member('dave'), year(2026)));
  assert.is(lb.count('/diary/'), 0);
});

test('a feed of 30 diary entries and 22 lists holds the whole diary: an old year needs no diary page', async () => {
  // 52 items, over the 50 a feed holds, but only diary entries count toward them: lists come on top.
  const films = Array.from({ length: 30 }, (_, i) => testFilm(`Lister Film ${i + 1}`, 1990 + i, `lister-film-${i + 1}`));
  const lister: FakeMember = {
    username: 'lister',
    displayName: 'Lister',
    diary: films.map((film, i) => ({
      film,
      viewingId: 88_000 + i,
      watchedDate: `2025-${String(12 - Math.floor(i / 3)).padStart(2, '0')}-${String(20 - (i % 3)).padStart(2, '0')}`,
      rating: 3.5,
      rewatch: false,
      liked: false,
      review: null,
      publishedAt: new Date(2025, 11 - Math.floor(i / 3), 21 - (i % 3), 9),
    })),
    films: films.map((film) => ({ film, rating: 3.5, liked: false })),
    lists: Array.from({ length: 22 }, (_, j) => ({
      id: 61_000 + j,
      title: `List ${j + 1}`,
      slug: `list-${j + 1}`,
      publishedAt: new Date(2026, 9, 22 - j, 12),
      films: films.slice(0, 2),
    })),
  };
  lb.addMember(lister);
  lb.setFaults([{ path: '/diary/', kind: 'challenge' }]);
  const res = await collect('lister', year(2025));
  assert.is(lb.count('/diary/'), 0, 'no diary page asked');
  assert.equal(strip(res.films), expectedFilms(lister, year(2025)));
  assert.is(res.films.length, 30);
});

test('year refused: LETTERBOXD_BLOCKED pointing to the export (no partial year)', async () => {
  lb.setFaults([{ path: '/diary/films/for/2026/page/2/', kind: 'challenge' }]);
  const err = await fails(collect('erin', year(2026)), 'LETTERBOXD_BLOCKED');
  assert.is(
    err.message,
    'Letterboxd refused the diary pages for 2026; upload your Letterboxd export on the home page, or set TMDB_API_KEY.',
  );
});

test('all (2026 markup): every films page in order, ratings, posters from the feed or looked up', async () => {
  const res = await collect('dave', all);
  assert.equal(strip(res.films), expectedFilms(member('dave'), all));
  assert.ok(res.films.every((f) => f.watchedDate === null));
  const noPoster = res.films.find((f) => f.slug === 'lost-reel-2019')!;
  assert.is(noPoster.posterUrl, null);
  assert.match(res.films.find((f) => f.slug === 'prophets-prey')!.posterUrl!, /246|prophet-s-prey/);
  assert.is(lb.count('/poster/std/'), res.films.length, 'first time: every film looked up');

  // The feed remembers what it shows; `all` then needs to look up only the films it did not show.
  const t2 = tmpDir('mm-collect-');
  const r2 = rig(lb, t2.dir);
  lb.reset();
  await collectFilms(r2.collectDeps(), 'dave', month('2026-11'));
  await collectFilms(r2.collectDeps(), 'dave', all);
  const inFeed = new Set(expectedFilms(member('dave'), recent(50)).map((f) => f.slug));
  assert.is(lb.count('/poster/std/'), res.films.filter((f) => !inFeed.has(f.slug)).length);
  r2.close();
  t2.cleanup();
});

test('all (legacy markup): same films and ratings, no years in that markup', async () => {
  lb.setMarkup('legacy');
  const res = await collect('dave', all);
  const expected = expectedFilms(member('dave'), all).map((f) => ({ ...f, year: null }));
  assert.equal(strip(res.films), expected);
});

test('all for 1,000 films: 14 pages in order with progress; a second run resolves nothing', async () => {
  const res = await collect('bigfan', all);
  assert.is(res.films.length, 1000);
  assert.equal(strip(res.films), expectedFilms(member('bigfan'), all));
  assert.is(lb.count(/^\/bigfan\/films\//), 14);
  assert.ok(r.progress.some((p) => p.msg === 'Collecting data: page 2 of 14' && p.done === 1 && p.total === 14));
  assert.ok(r.progress.some((p) => p.msg === 'Collecting data: poster 1000 of 1000'));
  assert.is(res.films.filter((f) => f.posterUrl === null).length, 10, 'every 97th film has no poster');
  // A CDN name that is not the slug comes through as Letterboxd gave it.
  assert.match(res.films[49].posterUrl!, /-feature-0050-0-230-0-345-crop/);

  lb.reset();
  const again = await collect('bigfan', all);
  assert.equal(again.films, res.films);
  assert.is(lb.count('/film/'), 0);
  assert.is(lb.requests.length, 14);
});

test('all refused on a later films page: LETTERBOXD_BLOCKED with guidance', async () => {
  lb.setFaults([{ path: '/bigfan/films/page/3/', kind: 'challenge' }]);
  const err = await fails(collect('bigfan', all), 'LETTERBOXD_BLOCKED');
  assert.is(err.message, 'Letterboxd refused the films pages; upload your Letterboxd export on the home page, or set TMDB_API_KEY.');
  assert.is(lb.count('/page/4/'), 0);
});

test('poster lookup: JSON refused → film page JSON-LD (and no more JSON asked); both refused → marked, not remembered', async () => {
  lb.setFaults([{ path: '/poster/std/', kind: 'challenge' }]);
  const res = await collect('dave', all);
  assert.is(lb.count('/poster/std/'), 4, 'after a refusal (4 in flight) the JSON is not asked again');
  assert.ok(
    res.films.filter((f) => f.posterUrl).every((f) => /-0-600-0-900-crop\.jpg/.test(f.posterUrl!)),
    'JSON-LD image',
  );
  assert.ok(res.films.every((f) => !f.posterRefused));

  // Refused for a minority: those films are marked refused and asked again next time.
  const t2 = tmpDir('mm-collect-');
  const r2 = rig(lb, t2.dir);
  lb.reset();
  lb.setFaults([{ path: /^\/film\/(dune-2021|tar-2019)\//, kind: 'challenge' }]);
  const partly = await collectFilms(r2.collectDeps(), 'dave', all);
  assert.equal(
    partly.films
      .filter((f) => f.posterRefused)
      .map((f) => f.slug)
      .sort(),
    ['dune-2021', 'tar-2019'],
  );
  lb.reset();
  await collectFilms(r2.collectDeps(), 'dave', all);
  assert.equal(
    lb.requests
      .filter((q) => q.path.startsWith('/film/'))
      .map((q) => q.path)
      .sort(),
    ['/film/dune-2021/poster/std/230/', '/film/tar-2019/poster/std/230/'],
  );
  r2.close();
  t2.cleanup();
});

test('poster lookup: once more than half are refused, the rest are not asked', async () => {
  lb.setFaults([{ path: /^\/film\//, kind: 'challenge' }]);
  const res = await collect('bigfan', all);
  assert.ok(res.films.every((f) => f.posterRefused && f.posterUrl === null));
  const asked = lb.count(/^\/film\/[^/]+\/$/);
  assert.ok(asked > 500 && asked < 520, `asked ${asked} film pages, not 1000`);
});

test('a member with no films, an unknown member', async () => {
  await fails(collect('nobody', month('2026-11')), 'NO_FILMS');
  await fails(collect('nobody', recent(30)), 'NO_FILMS');
  const none = await fails(collect('nobody', all), 'NO_FILMS');
  assert.is(none.message, 'nobody has no films on Letterboxd yet.');
  await fails(collect('ghost', month('2026-11')), 'USER_NOT_FOUND');
  await fails(collect('ghost', all), 'USER_NOT_FOUND');
});

test('the outage page served on the feed URL with status 200 is LETTERBOXD_UNREACHABLE, not LETTERBOXD_CHANGED', async () => {
  lb.setFaults([{ path: '/dave/rss/', kind: 'outage', status: 200 }]);
  const err = await fails(collect('dave', month('2026-11')), 'LETTERBOXD_UNREACHABLE');
  assert.is(err.message, 'Letterboxd is down for maintenance; try again later.');
});

test('markup nobody knows is LETTERBOXD_CHANGED, never an empty mosaic', async () => {
  lb.setFaults([{ path: '/rss/', kind: 'garbage' }]);
  await fails(collect('dave', month('2026-11')), 'LETTERBOXD_CHANGED');
  lb.setFaults([{ path: '/films/page/2/', kind: 'garbage' }]);
  await fails(collect('bigfan', all), 'LETTERBOXD_CHANGED');
  lb.setFaults([{ path: '/dave/films/', kind: 'garbage' }]);
  await fails(collect('dave', all), 'LETTERBOXD_CHANGED');
  lb.setFaults([{ path: '/diary/', kind: 'garbage' }]);
  await fails(collect('erin', month('2026-04')), 'LETTERBOXD_CHANGED');
});

test('a refused feed is LETTERBOXD_BLOCKED; a cancelled collection stops with the abort reason', async () => {
  lb.setFaults([{ path: '/rss/', kind: 'challenge' }]);
  await fails(collect('dave', recent(10)), 'LETTERBOXD_BLOCKED');
  lb.reset();
  const ac = new AbortController();
  const reason = new Error('cancelled');
  lb.setLatency(30);
  const p = collectFilms(r.collectDeps(ac.signal), 'bigfan', all);
  setTimeout(() => ac.abort(reason), 50);
  try {
    await p;
    assert.unreachable();
  } catch (err) {
    assert.is(err, reason);
  }
});

test.run();
