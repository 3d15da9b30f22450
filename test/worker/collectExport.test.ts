/**
 * collectFilms with an imported export (docs/architecture.md#where-the-films-come-from, docs/architecture.md#order-of-films, docs/architecture.md#export-films) against the fake Letterboxd with its
 * films and diary pages refused: `all`, `year` and old months from the export (no films or diary page
 * asked), the feed's newer films folded in, posters by title and year (known ones, then the film page
 * at the slug the title gives, accepted when its year matches), and the guidance without an export.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AppError } from '../../common/errors.js';
import type { MosaicParams } from '../../common/task.js';
import { collectFilms, type CollectedFilm } from '../../worker/sources/collect.js';
import { expectedFilms, sortDiary, startFakeLetterboxd, type FakeLetterboxd, type FakeMember } from '../helpers/fakeLetterboxd.js';
import { readFileSync } from 'node:fs';
import { csv, EXPORT_HEADERS, makeZip } from '../helpers/exportZip.js';
import { tmpDir } from '../helpers/tmp.js';
import { exportRig, testFilm, type ExportRig } from '../helpers/exportRig.js';

const now = new Date(2026, 10, 15, 12, 0, 0);
const base = { layout: 'classic', format: 'jpeg' } as const;
const month = (m: string): MosaicParams => ({ mode: 'month', month: m, ...base });
const year = (y: number): MosaicParams => ({ mode: 'year', year: y, ...base });
const recent = (count: number): MosaicParams => ({ mode: 'recent', count, ...base });
const all: MosaicParams = { mode: 'all', ...base };
/** What Letterboxd refuses in these tests: every films and diary page. */
const BLOCKED = [
  { path: /^\/[^/]+\/films\//, kind: 'challenge' as const },
  { path: '/diary/', kind: 'challenge' as const },
];

let lb: FakeLetterboxd;
let r: ExportRig;
let tmp: { dir: string; cleanup(): void };
const member = (name: string): FakeMember => lb.members.get(name)!;
/** The films as the mosaic shows them (what a year in review reads besides is checked apart). */
const strip = (films: CollectedFilm[]) => films.map(({ posterUrl: _p, posterRefused: _r, liked: _l, viewings: _v, ...f }) => f);
const collect = (user: string, params: MosaicParams) => collectFilms(r.deps(), user, params);
const pageRequests = () => lb.requests.filter((q) => /\/films\/|\/diary\//.test(q.path)).length;

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

// A member made for these tests: films whose film pages test the slug rules (no diary, empty feed).
// "Dune" (1984) at /film/dune/, beside dave's "Dune" (2021) at /film/dune-2021/ and his
// "Kiki's Delivery Service" at /film/kikis-delivery-service/.
const dune1984 = testFilm('Dune', 1984, 'dune');
const tester: FakeMember = { username: 'tester', displayName: 'Tester', diary: [], films: [], lists: [] };
const shelf: FakeMember = {
  username: 'shelf',
  displayName: 'Shelf',
  diary: [],
  films: [{ film: dune1984, rating: null, liked: false }],
  lists: [],
};
const testerZip = () =>
  makeZip([
    {
      name: 'watched.csv',
      data: csv([
        [...EXPORT_HEADERS.watched],
        ['2024-01-01', 'Dune', 2021, 'https://boxd.it/t1'],
        ['2024-01-02', "Kiki's Delivery Service", 1989, 'https://boxd.it/t2'],
        ['2024-01-03', 'Nowhere Film', 2020, 'https://boxd.it/t3'],
        ['2024-01-04', 'Dune', 1984, 'https://boxd.it/t4'],
      ]),
    },
  ]);

// An export in the real shape (fixtures/letterboxd/export-twins/): two films called "The Call" (2020),
// told apart only by their boxd.it links; titles whose slugs drop the full stops.
const twinFilms = [
  testFilm('The Call', 2020, 'the-call-2020'),
  testFilm('The Call', 2020, 'the-call-2020-3'),
  testFilm('E.T. the Extra-Terrestrial', 1982, 'et-the-extra-terrestrial'),
  testFilm('12.12: The Day', 2023, '1212-the-day'),
  testFilm('M.I.A.', 2008, 'mia'),
];
const twins: FakeMember = {
  username: 'twins',
  displayName: 'Twins',
  diary: [],
  films: twinFilms.map((film) => ({ film, rating: null, liked: false })),
  lists: [],
};
const twinsZip = () =>
  makeZip(
    ['watched.csv', 'diary.csv', 'ratings.csv'].map((name) => ({
      name,
      data: readFileSync(new URL(`../fixtures/letterboxd/export-twins/${name}`, import.meta.url)),
    })),
  );

test.before(async () => {
  lb = await startFakeLetterboxd({ now });
  lb.addMember(tester);
  lb.addMember(shelf);
  lb.addMember(twins);
});
test.before.each(() => {
  lb.reset();
  lb.setFaults(BLOCKED);
  tmp = tmpDir('mm-export-');
  r = exportRig(lb, tmp.dir);
});
test.after.each(() => {
  r.close();
  tmp.cleanup();
});
test.after(async () => {
  await lb.close();
});

test('year from the export: the diary rows of that year, latest viewing per film, no diary page asked', async () => {
  await r.importExport(member('dave'));
  const res = await collect('dave', year(2026));
  assert.equal(strip(res.films), expectedFilms(member('dave'), year(2026)), 'slugs lent by the feed');
  assert.is(res.fromExport, true);
  assert.is(res.note, null);
  assert.is(pageRequests(), 0);
  assert.is(res.films.find((f) => f.title === 'Flow')!.rating, 4.5, 'the rewatch decides');
  assert.ok(
    res.films.every((f) => f.posterUrl || f.slug === 'lost-reel-2019'),
    'posters from the feed',
  );
});

test('year older than the feed (erin): films from the export; posters it cannot find are placeholders with no slug', async () => {
  await r.importExport(member('erin'));
  const res = await collect('erin', year(2026));
  const expected = expectedFilms(member('erin'), year(2026));
  assert.equal(
    res.films.map((f) => [f.title, f.year, f.rating, f.watchedDate]),
    expected.map((f) => [f.title, f.year, f.rating, f.watchedDate]),
  );
  assert.is(pageRequests(), 0);
  // The feed's films carry their slugs and posters; older ones were looked up at the slugs their
  // titles give ("erins-pick-…": the fake's own slugs keep the apostrophe as a dash), found nowhere.
  const inFeed = res.films.filter((f) => f.slug);
  assert.ok(inFeed.length >= 40 && inFeed.length < 130, `${inFeed.length} from the feed`);
  assert.ok(inFeed.every((f) => f.posterUrl));
  const older = res.films.filter((f) => !f.slug);
  assert.ok(older.every((f) => f.posterUrl === null && !f.posterRefused));
  assert.ok(lb.count('/film/erins-pick-no-') > 0);

  lb.reset();
  lb.setFaults(BLOCKED);
  await collect('erin', year(2026));
  assert.is(lb.count('/film/'), 0, 'misses are remembered: nothing asked twice');
});

test('a month older than the feed comes from the export, never the diary pages', async () => {
  await r.importExport(member('erin'));
  const res = await collect('erin', month('2026-05'));
  assert.equal(
    res.films.map((f) => [f.title, f.rating, f.watchedDate]),
    expectedFilms(member('erin'), month('2026-05')).map((f) => [f.title, f.rating, f.watchedDate]),
  );
  assert.is(res.partial, false);
  assert.is(pageRequests(), 0);
  // A month the feed covers still comes from the feed alone.
  const current = await collect('erin', month('2026-11'));
  assert.is(current.fromExport, undefined);
  assert.equal(strip(current.films), expectedFilms(member('erin'), month('2026-11')));
});

test('all from the export: every watched film, newest watched first, ratings from ratings.csv, no films page asked', async () => {
  const dave = member('dave');
  await r.importExport(dave);
  const res = await collect('dave', all);
  assert.is(pageRequests(), 0);
  assert.equal(
    lb.requests.filter((q) => !q.path.startsWith('/film/')).map((q) => q.path),
    ['/dave/rss/'],
  );
  assert.is(res.films.length, dave.films.length);
  assert.equal(new Set(res.films.map((f) => f.title)), new Set(dave.films.map((e) => e.film.title)));
  const dates = res.films.map((f) => f.watchedDate!);
  assert.equal(dates, [...dates].sort().reverse(), 'newest first');
  const latest = sortDiary(dave.diary)[0];
  assert.is(res.films[0].title, latest.film.title);
  // Cold War has no diary entry: dated by watched.csv, last; its poster from the film page at
  // "cold-war" (not found) then "cold-war-2021".
  const coldWar = res.films[res.films.length - 1];
  assert.equal([coldWar.title, coldWar.rating, coldWar.slug], ['Cold War', 4, 'cold-war-2021']);
  assert.ok(coldWar.posterUrl);
  assert.equal(
    lb.requests.filter((q) => q.path.startsWith('/film/')).map((q) => q.path),
    ['/film/cold-war/', '/film/cold-war-2021/'],
  );
  for (const f of res.films) {
    const e = dave.films.find((x) => x.film.title === f.title && x.film.year === f.year)!;
    assert.is(f.rating, e.rating, f.title);
  }
  lb.reset();
  lb.setFaults(BLOCKED);
  const again = await collect('dave', all);
  assert.equal(again.films, res.films);
  assert.is(lb.count('/film/'), 0, 'the title-matched poster is remembered');
});

test('over the cap (docs/architecture.md#where-the-films-come-from: 3,000; 4 here): the newest are drawn and only theirs looked up, and the note says so', async () => {
  const dave = member('dave');
  await r.importExport(dave);
  const res = await collectFilms({ ...r.deps(), maxFilms: 4 }, 'dave', all);
  // Cold War, the oldest, is not drawn: its film page is not asked for.
  assert.is(lb.count('/film/cold-war'), 0);
  const full = await collect('dave', all);
  assert.ok(lb.count('/film/cold-war') > 0, 'asked for once it is drawn');
  assert.equal(
    res.films.map((f) => f.title),
    full.films.slice(0, 4).map((f) => f.title),
    'the newest four',
  );
  assert.is(res.of, full.films.length);
  assert.is(res.note, `A mosaic holds at most 4 films: this one shows the newest 4 of ${full.films.length}.`);
  const under = await collectFilms({ ...r.deps(), maxFilms: full.films.length }, 'dave', all);
  assert.is(under.of, undefined);
  assert.is(under.note, null);
});

test('export films on Letterboxd: title slug, then title-year, accepted only when the year matches; misses remembered', async () => {
  await r.importZip('tester', testerZip());
  const res = await collect('tester', all);
  const by = (t: string, y: number) => res.films.find((f) => f.title === t && f.year === y)!;
  assert.equal([by('Dune', 2021).slug, by('Dune', 1984).slug], ['dune-2021', 'dune'], '"dune" is the 1984 film: 2021 takes dune-2021');
  assert.is(by("Kiki's Delivery Service", 1989).slug, 'kikis-delivery-service');
  assert.equal([by('Nowhere Film', 2020).slug, by('Nowhere Film', 2020).posterUrl], [null, null]);
  const dune2021 = member('dave').films.find((e) => e.film.slug === 'dune-2021')!.film;
  assert.ok(by('Dune', 2021).posterUrl!.includes(`/${dune2021.id}-`));
  assert.ok(by('Dune', 1984).posterUrl!.includes(`/${dune1984.id}-`));
  const asked = lb.requests
    .filter((q) => q.path.startsWith('/film/'))
    .map((q) => q.path)
    .sort();
  assert.equal(
    asked,
    [
      '/film/dune-2021/',
      '/film/dune/',
      '/film/dune/',
      '/film/kikis-delivery-service/',
      '/film/nowhere-film-2020/',
      '/film/nowhere-film/',
    ].sort(),
    'dune (1984) is found at its first slug',
  );
  lb.reset();
  lb.setFaults(BLOCKED);
  await collect('tester', all);
  assert.is(lb.count('/film/'), 0);
});

test('films of one title and year stay two, each rated by its boxd.it link; slugs drop full stops', async () => {
  await r.importZip('twins', twinsZip());
  const res = await collect('twins', all);
  assert.equal(
    res.films.map((f) => [f.title, f.year, f.rating, f.slug]),
    [
      ['M.I.A.', 2008, null, 'mia'],
      ['12.12: The Day', 2023, 3.5, '1212-the-day'],
      ['E.T. the Extra-Terrestrial', 1982, 4.5, 'et-the-extra-terrestrial'],
      // The numbered slug of the second one cannot be derived from its title: both are found at the first.
      ['The Call', 2020, 2, 'the-call-2020'],
      ['The Call', 2020, 4, 'the-call-2020'],
    ],
  );
  const asked = lb.requests.filter((q) => q.path.startsWith('/film/')).map((q) => q.path);
  for (const slug of ['mia', '1212-the-day', 'et-the-extra-terrestrial']) assert.ok(asked.includes(`/film/${slug}/`), `${slug} asked`);
  assert.not.ok(
    asked.some((p) => /\/film\/(e-t|12-12|m-i-a)/.test(p)),
    asked.join(' '),
  );
});

test('a film without year matches a film page without year', async () => {
  await r.importZip(
    'tester',
    makeZip([{ name: 'watched.csv', data: csv([[...EXPORT_HEADERS.watched], ['2024-01-01', 'Untitled Home Movie', '', 'u']]) }]),
  );
  const res = await collect('tester', all);
  // The fake's dave has a yearless "Untitled Home Movie" at slug untitled-home-movie: that one.
  assert.equal(strip(res.films), [
    { title: 'Untitled Home Movie', year: null, rating: null, slug: 'untitled-home-movie', watchedDate: '2024-01-01' },
  ]);
});

test('film pages refused for export films: marked refused (docs/architecture.md#outcomes counts them), not remembered', async () => {
  await r.importZip('tester', testerZip());
  lb.setFaults([...BLOCKED, { path: '/film/', kind: 'challenge' }]);
  const res = await collect('tester', all);
  assert.ok(res.films.every((f) => f.posterRefused && f.posterUrl === null));
  lb.setFaults(BLOCKED);
  const again = await collect('tester', all);
  assert.ok(again.films.every((f) => !f.posterRefused));
});

test('the feed refused beside an export: the export stands alone and the note says what may be missing', async () => {
  await r.importExport(member('dave'));
  lb.setFaults([...BLOCKED, { path: '/rss/', kind: 'challenge' }]);
  const res = await collect('dave', year(2026));
  assert.equal(
    res.films.map((f) => f.title),
    expectedFilms(member('dave'), year(2026)).map((f) => f.title),
  );
  assert.match(
    res.note!,
    /^The RSS feed could not be read, so films logged after your export \(its latest entry is from \d+ \w{3} 2026\) are missing\.$/,
  );
  const latest = await collect('dave', recent(5));
  assert.equal(
    latest.films.map((f) => f.title),
    expectedFilms(member('dave'), recent(5)).map((f) => f.title),
  );
  assert.match(latest.note!, /^Letterboxd refused the RSS feed, so these are the latest films of your export/);
});

test('films logged since the export come from the feed', async () => {
  const dave = member('dave');
  // An export made before this month: the feed adds this month's films.
  const cut = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}`;
  const old: FakeMember = {
    ...dave,
    diary: dave.diary.filter((v) => v.watchedDate < cut),
    films: dave.films.filter((e) => dave.diary.some((v) => v.film === e.film && v.watchedDate < cut)),
  };
  await r.importExport(old);
  const res = await collect('dave', year(2026));
  assert.equal(strip(res.films), expectedFilms(dave, year(2026)));
  const everything = await collect('dave', all);
  assert.ok(
    everything.films.some((f) => f.title === 'Deadpool & Wolverine'),
    'a film only the feed knows',
  );
  assert.is(everything.films[0].title, sortDiary(dave.diary)[0].film.title);
});

test('without an export, refused films and diary pages end LETTERBOXD_BLOCKED pointing to the upload', async () => {
  const a = await fails(collect('bigfan', all), 'LETTERBOXD_BLOCKED');
  assert.is(a.message, 'Letterboxd refused the films pages; upload your Letterboxd export on the home page, or set TMDB_API_KEY.');
  const y = await fails(collect('erin', year(2025)), 'LETTERBOXD_BLOCKED');
  assert.is(y.message, 'Letterboxd refused the diary pages for 2025; upload your Letterboxd export on the home page, or set TMDB_API_KEY.');
});

test.run();
