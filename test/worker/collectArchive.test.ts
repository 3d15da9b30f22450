/**
 * Collection with the diary archive: a period older than the feed reaches, but kept by earlier reads,
 * is drawn without asking Letterboxd's diary or films pages, and the note says where films came from.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createArchiveStore } from '../../db/sqlite/archive.js';
import { collectFilms } from '../../worker/sources/collect.js';
import type { CollectDeps } from '../../worker/sources/types.js';
import { expectedFilms, film, startFakeLetterboxd, viewing, type FakeMember } from '../helpers/fakeLetterboxd.js';
import { tmpDir } from '../helpers/tmp.js';
import { rig } from '../helpers/collectRig.js';

const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 10, 15, 12); // the rig's clock starts here: 15 Nov 2026, noon UTC

/** `n` viewings one a day at noon UTC from `first`, each logged an hour after it was watched. */
function viewings(n: number, first: number, prefix: string) {
  return Array.from({ length: n }, (_, i) => {
    const watched = new Date(first + i * 24 * HOUR);
    return viewing(film(`${prefix} ${i + 1}`, 1990 + i), watched, { publishedAt: new Date(watched.getTime() + HOUR) });
  });
}

async function setup() {
  // 30 viewings in 2025: the feed holds the whole diary.
  const ann: FakeMember = {
    username: 'ann',
    displayName: 'Ann',
    diary: viewings(30, Date.UTC(2025, 2, 1, 12), 'Old'),
    films: [],
    lists: [],
  };
  const lb = await startFakeLetterboxd({ now: new Date(NOW), members: [ann] });
  const t = tmpDir();
  const r = rig(lb, t.dir);
  const store = createArchiveStore(r.db);
  // Collection keeps and reads the archive through the port, as the worker does.
  const archive = {
    record: async (u: string, feed: Parameters<typeof store.recordWindow>[1]) =>
      void (await r.storage.archive.recordWindow(u, feed, r.clock.now())),
    load: (u: string) => r.storage.archive.load(u),
  };
  const deps = (withArchive = true): CollectDeps => ({ ...r.collectDeps(), archive: withArchive ? archive : null });
  return {
    lb,
    r,
    ann,
    store,
    deps,
    async close() {
      r.close();
      t.cleanup();
      await lb.close();
    },
  };
}

test('a year the feed no longer reaches, kept by the archive, needs no diary page', async () => {
  const s = await setup();
  // First read (15 Nov 2026): the whole diary.
  await collectFilms(s.deps(), 'ann', { mode: 'recent', count: 10, layout: 'grid', format: 'jpeg' });
  assert.ok(s.store.summary('ann').wholeDiary);
  // 40 more logged in the next days: the feed's 50 now reach back only into late 2025.
  await s.r.clock.sleep(2 * HOUR);
  s.ann.diary.push(...viewings(40, NOW + 2 * HOUR, 'New').map((v, i) => ({ ...v, publishedAt: new Date(NOW + 3 * HOUR + i * 60_000) })));
  await s.r.clock.sleep(40 * 24 * HOUR);

  const year = { mode: 'year' as const, year: 2025, layout: 'grid' as const, format: 'jpeg' as const };
  const res = await collectFilms(s.deps(), 'ann', year);
  assert.is(s.lb.count('/diary/'), 0, 'no diary page asked for');
  assert.is(s.lb.count('/films/'), 0);
  assert.equal(
    res.films.map((f) => f.title),
    expectedFilms(s.ann, year).map((f) => f.title),
  );
  assert.is(res.films.length, 30);
  assert.is(res.partial, false);
  assert.is(res.note, "Films: 10 from the RSS feed, 20 from this server's archive of the feed (the whole diary).");

  // Without the archive the same year needs the diary pages.
  await collectFilms(s.deps(false), 'ann', year);
  assert.ok(s.lb.count('/diary/') > 0);
  await s.close();
});

test('all: films pages refused, the archive holding the whole diary gives every diary film; otherwise still LETTERBOXD_BLOCKED', async () => {
  const s = await setup();
  s.lb.setFaults([{ path: '/films/', kind: 'challenge' }]);
  const all = { mode: 'all' as const, layout: 'grid' as const, format: 'jpeg' as const };
  const res = await collectFilms(s.deps(), 'ann', all);
  assert.is(res.films.length, 30);
  assert.match(res.note!, /films marked watched without a diary entry are not included/);

  // A member whose feed was full from the first read: the archive does not hold the whole diary.
  s.ann.diary.push(...viewings(60, NOW - 70 * 24 * HOUR, 'Busy'));
  s.store.forget('ann');
  try {
    await collectFilms(s.deps(), 'ann', all);
    assert.unreachable('should be blocked');
  } catch (err) {
    assert.is((err as { code?: string }).code, 'LETTERBOXD_BLOCKED');
  }
  await s.close();
});

test('recent: the feed refused, the archive gives the latest films it kept', async () => {
  const s = await setup();
  await collectFilms(s.deps(), 'ann', { mode: 'recent', count: 5, layout: 'grid', format: 'jpeg' });
  s.lb.setFaults([{ path: '/rss/', kind: 'challenge' }]);
  const res = await collectFilms(s.deps(), 'ann', { mode: 'recent', count: 5, layout: 'grid', format: 'jpeg' });
  assert.equal(
    res.films.map((f) => f.title),
    ['Old 30', 'Old 29', 'Old 28', 'Old 27', 'Old 26'],
  );
  assert.match(
    res.note!,
    /^Letterboxd refused the RSS feed, so these are the latest films this server kept of it \(up to 15 Nov 2026\)\.$/,
  );
  await s.close();
});

test.run();
