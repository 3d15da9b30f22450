/**
 * What a year in review reads from the collected films, through the fake Letterboxd: each film's like
 * (null where the source does not say: an export) and its diary entries of the period with their
 * rewatch flag (null where the source has no dates: the films pages), each entry once even when the
 * feed and an export both list it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { MosaicParams } from '../../common/task.js';
import { collectFilms, type CollectedFilm } from '../../worker/sources/collect.js';
import { sortDiary, startFakeLetterboxd, type FakeLetterboxd, type FakeMember } from '../helpers/fakeLetterboxd.js';
import { tmpDir } from '../helpers/tmp.js';
import { exportRig, type ExportRig } from '../helpers/exportRig.js';

const now = new Date(2026, 10, 15, 12, 0, 0);
const base = { layout: 'review', format: 'jpeg' } as const;
const year = (y: number): MosaicParams => ({ mode: 'year', year: y, ...base });
const all: MosaicParams = { mode: 'all', ...base };

let lb: FakeLetterboxd;
let r: ExportRig;
let tmp: { dir: string; cleanup(): void };
const member = (name: string): FakeMember => lb.members.get(name)!;
const collect = (user: string, params: MosaicParams) => collectFilms(r.deps(), user, params);

test.before(async () => {
  lb = await startFakeLetterboxd({ now });
});
test.before.each(() => {
  lb.reset();
  tmp = tmpDir('mm-review-');
  r = exportRig(lb, tmp.dir);
});
test.after.each(() => {
  r.close();
  tmp.cleanup();
});
test.after(async () => {
  await lb.close();
});

/** Per film title: the member's diary entries starting with `prefix`, oldest first, and the latest one's like. */
function diaryOf(m: FakeMember, prefix: string): Map<string, { viewings: { date: string; rewatch: boolean }[]; liked: boolean }> {
  const out = new Map<string, { viewings: { date: string; rewatch: boolean }[]; liked: boolean }>();
  for (const v of sortDiary(m.diary).reverse()) {
    if (!v.watchedDate.startsWith(prefix)) continue;
    const e = out.get(v.film.title) ?? { viewings: [], liked: v.liked };
    e.viewings.push({ date: v.watchedDate, rewatch: v.rewatch });
    e.liked = v.liked; // oldest first: the latest viewing's like stays
    out.set(v.film.title, e);
  }
  return out;
}

function byTitle(films: CollectedFilm[]) {
  return new Map(films.map((f) => [f.title, { viewings: f.viewings, liked: f.liked }]));
}

test('year from the feed: every diary entry of the year per film, rewatches marked, likes as the feed says', async () => {
  const dave = member('dave');
  const res = await collect('dave', year(2026));
  assert.equal(byTitle(res.films), diaryOf(dave, '2026-'));
  const flow = res.films.find((f) => f.title === 'Flow')!;
  assert.is(flow.viewings!.length, 2, 'watched twice this year: both entries kept on the one film');
  assert.equal(
    flow.viewings!.map((v) => v.rewatch),
    [false, true],
  );
  assert.is(flow.liked, true);
});

test('year from the diary pages: entries, rewatch and likes from the rows', async () => {
  lb.setFaults([]);
  const erin = member('erin');
  // A rewatch and a like on rows only the diary pages hold (the feed reaches back ~100 days).
  const old = sortDiary(erin.diary).filter((v) => v.watchedDate.startsWith('2026-0'));
  old[old.length - 1].rewatch = true;
  old[old.length - 2].liked = true;
  const res = await collect('erin', year(2026));
  assert.ok(lb.count('/diary/') > 0, 'the diary pages were read');
  assert.equal(byTitle(res.films), diaryOf(erin, '2026-'));
  assert.is(res.films.find((f) => f.title === old[old.length - 1].film.title)!.viewings![0].rewatch, true);
  old[old.length - 1].rewatch = false;
  old[old.length - 2].liked = false;
});

test('all from the films pages: likes as the pages show them, no dates (viewings null)', async () => {
  const dave = member('dave');
  const res = await collect('dave', all);
  assert.ok(res.films.every((f) => f.viewings === null));
  assert.equal(
    res.films.map((f) => f.liked),
    dave.films.map((e) => e.liked),
  );
  assert.ok(res.films.some((f) => f.liked));
});

test('year from an export beside the feed: each entry once though both list it, likes from the feed', async () => {
  const dave = member('dave');
  await r.importExport(dave);
  lb.setFaults([{ path: '/diary/', kind: 'challenge' }]);
  const res = await collect('dave', year(2026));
  assert.is(res.fromExport, true);
  // dave's feed holds his whole diary, so every export entry has its twin there, and the feed says
  // what he likes.
  assert.equal(byTitle(res.films), diaryOf(dave, '2026-'));
});

test('year from an export older than the feed: entries from the export, likes unknown (null) where only it knows the film', async () => {
  const erin = member('erin');
  await r.importExport(erin);
  lb.setFaults([{ path: '/diary/', kind: 'challenge' }]);
  const res = await collect('erin', year(2026));
  assert.equal(new Map(res.films.map((f) => [f.title, f.viewings])), new Map([...diaryOf(erin, '2026-')].map(([t, e]) => [t, e.viewings])));
  assert.ok(res.films.some((f) => f.liked === null));
});

test('all from an export: every diary entry per film, likes null for films the feed does not show', async () => {
  const erin = member('erin');
  await r.importExport(erin);
  lb.setFaults([{ path: /^\/[^/]+\/films\//, kind: 'challenge' }]);
  const res = await collect('erin', all);
  assert.is(res.fromExport, true);
  const expected = diaryOf(erin, '');
  assert.equal(new Map(res.films.map((f) => [f.title, f.viewings])), new Map([...expected].map(([t, e]) => [t, e.viewings])));
  const older = res.films.filter((f) => !f.slug);
  assert.ok(older.length > 0 && older.every((f) => f.liked === null), 'export-only films: like unknown');
  assert.ok(
    res.films.filter((f) => f.slug).every((f) => typeof f.liked === 'boolean'),
    'films the feed shows: its like',
  );
});

test.run();
