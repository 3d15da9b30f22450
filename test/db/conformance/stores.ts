/** The change feed, results, RESULTS_MB, stable links, the diary archive, imports, poster knowledge and workers through the port. */
import * as assert from 'uvu/assert';
import type { TaskEvent } from '../../../db/port.js';
import { dedupeKey } from '../../../common/task.js';
import { feedEntries, month, recent, POLL, result, within, type Register } from './subject.js';

export const storeConformance: Register = (test, subject) => {
  /** Enqueues, claims and completes one mosaic for `username` with an image of `bytes`. */
  async function made(username: string, bytes: number, params = month): Promise<string> {
    const { s } = subject();
    const { task } = await s.tasks.enqueue({ action: 'create_mosaic', username, params });
    const [c] = await s.tasks.claim('w', 1);
    assert.is(c.id, task.id);
    await s.tasks.complete(c.id, c.leaseToken, result(bytes));
    return task.id;
  }

  test("feed: seq order across handles; a task's events; the latest; maxSeq; a watcher sees another handle's commits in order", async () => {
    const { s, clock } = subject();
    const other = await subject().another();
    const before = await s.feed.maxSeq();
    const seen: TaskEvent[] = [];
    let wake!: () => void;
    const arrived = new Promise<void>((resolve) => (wake = resolve));
    const watch = await s.feed.watch(
      (events) => {
        seen.push(...events);
        if (seen.filter((e) => e.type === 'claimed').length === 2) wake();
      },
      { safetyPollMs: 60_000 },
    );
    const a = await other.tasks.enqueue({ action: 'create_mosaic', username: 'ann', params: month });
    clock.advance(1);
    const b = await s.tasks.enqueue({ action: 'create_mosaic', username: 'bob', params: month });
    await other.tasks.claim('w1', 1);
    await s.tasks.claim('w2', 1);
    await within(arrived, 'the watcher');
    assert.equal(
      seen.map((e) => `${e.type}:${e.task.username}`),
      ['created:ann', 'created:bob', 'claimed:ann', 'claimed:bob'],
    );
    const seqs = seen.map((e) => e.seq);
    assert.equal(
      seqs,
      [...seqs].sort((x, y) => x - y),
    );
    assert.is(new Set(seqs).size, seqs.length);
    assert.is(watch.cursor(), await s.feed.maxSeq());
    await watch.close();
    assert.equal(
      (await s.feed.listAfter(before)).map((e) => e.seq),
      seqs,
    );
    assert.equal(
      (await s.feed.listAfter(before, 2)).map((e) => e.seq),
      seqs.slice(0, 2),
    );
    assert.equal(
      (await s.feed.listAfter(seqs[1])).map((e) => e.seq),
      seqs.slice(2),
    );
    assert.equal(
      (await s.feed.listTaskAfter(b.task.id, 0)).map((e) => e.type),
      ['created', 'claimed'],
    );
    assert.equal(
      (await s.feed.listTaskAfter(a.task.id, seqs[0])).map((e) => e.type),
      ['claimed'],
    );
    const latest = (await s.feed.latestForTask(a.task.id))!;
    assert.equal([latest.type, latest.task.status, latest.taskId], ['claimed', 'RUNNING', a.task.id]);
    assert.is(await s.feed.latestForTask('nope'), undefined);
    // A watcher resumes after a cursor: nothing before it, nothing repeated.
    const resumed: TaskEvent[] = [];
    let done!: () => void;
    const caught = new Promise<void>((resolve) => (done = resolve));
    const w2 = await s.feed.watch(
      (events) => {
        resumed.push(...events);
        if (resumed.length >= 2) done();
      },
      { after: seqs[1], safetyPollMs: 60_000 },
    );
    await within(caught, 'the resumed watcher');
    assert.equal(
      resumed.map((e) => e.seq),
      seqs.slice(2),
    );
    await w2.close();
  });

  test('feed: pruning drops old events in batches and always keeps the newest; seq never goes back', async () => {
    const { s, clock } = subject();
    for (let i = 0; i < 12; i++) await s.tasks.enqueue({ action: 'create_mosaic', username: `u${i}`, params: month });
    clock.advance(8 * 86_400_000);
    await s.tasks.enqueue({ action: 'create_mosaic', username: 'new', params: month });
    assert.is(await s.feed.prune(clock.now() - 7 * 86_400_000, 5), 12);
    assert.is((await s.feed.listAfter(0)).length, 1);
    const max = await s.feed.maxSeq();
    clock.advance(30 * 86_400_000);
    assert.is(await s.feed.prune(clock.now()), 0, 'the newest event stays');
    await s.tasks.enqueue({ action: 'create_mosaic', username: 'later', params: month });
    assert.is(await s.feed.maxSeq(), max + 1);
  });

  test('results: bytes, ETag, summary, lists, owner, renditions with the result and later, their ETags', async () => {
    const { s, clock } = subject();
    const { task } = await s.tasks.enqueue({ action: 'create_mosaic', username: 'ann', params: month });
    const [c] = await s.tasks.claim('w', 1);
    const image = Buffer.from([0, 1, 2, 255, 0x5c, 0x78, 0]);
    await s.tasks.complete(c.id, c.leaseToken, {
      ...result(1, 3),
      image,
      review: null,
      renditions: [{ kind: 'thumb', image: Buffer.from('thumb'), contentType: 'image/webp', width: 2, height: 2 }],
    });
    const stored = (await s.results.image(task.id))!;
    assert.ok(stored.image.equals(image), 'bytes round-trip exactly');
    assert.equal(await s.results.etag(task.id), { etag: stored.etag, contentType: 'image/jpeg' });
    assert.match(stored.etag, /^"[A-Za-z0-9_-]{32}"$/);
    const sum = (await s.results.summary(task.id))!;
    assert.equal(
      [sum.taskId, sum.username, sum.label, sum.filmCount, sum.films.length, sum.films[2].title, sum.review, sum.partial],
      [task.id, 'ann', 'November 2026', 3, 3, 'Film 2', null, false],
    );
    assert.is(await s.results.owner(task.id), 'ann');
    assert.is(await s.results.owner('nope'), undefined);
    assert.is((await s.results.rendition(task.id, 'thumb'))!.image.toString(), 'thumb');
    assert.is((await s.results.renditionEtag(task.id, 'thumb'))!.contentType, 'image/webp');
    assert.is(await s.results.rendition(task.id, 'screen'), undefined);
    await s.results.insertRenditions(
      task.id,
      [{ kind: 'screen', image: Buffer.from('screen'), contentType: 'image/jpeg', width: 5, height: 5 }],
      clock.now(),
    );
    assert.is((await s.results.rendition(task.id, 'screen'))!.image.toString(), 'screen');
    const re = (await s.results.renditionEtag(task.id, 'screen'))!;
    assert.is(re.etag, (await s.results.rendition(task.id, 'screen'))!.etag);
    await s.results.insertRenditions(
      'gone',
      [{ kind: 'thumb', image: Buffer.from('x'), contentType: 'image/jpeg', width: 1, height: 1 }],
      clock.now(),
    );
    assert.is(await s.results.rendition('gone', 'thumb'), undefined, 'nothing for a result that has gone');
    clock.advance(1000);
    const second = await made('bob', 10, recent);
    assert.equal(
      (await s.results.listRecent()).map((x) => x.taskId),
      [second, task.id],
      'newest first',
    );
    assert.equal(
      (await s.results.listByUser('ann')).map((x) => x.taskId),
      [task.id],
    );
    assert.equal(
      (await s.results.listRecent(1)).map((x) => x.taskId),
      [second],
    );
    assert.is(await s.results.summary('nope'), undefined);
    assert.is(await s.results.etag('nope'), undefined);
  });

  test('RESULTS_MB: storing a result evicts the least recently viewed first (results, imports, archives), never the new one', async () => {
    const { s, clock, evictions } = subject();
    const a = await made('ann', 3000);
    clock.advance(1000);
    const b = await made('bob', 3000);
    clock.advance(120_000);
    await s.results.markViewed(a, clock.now()); // ann's is now the more recently viewed
    clock.advance(1000);
    const c = await made('cat', 3000);
    assert.equal(evictions, [], '9,000 + film lists: under 10,000');
    clock.advance(1000);
    const d = await made('dan', 3000);
    assert.is(evictions.length, 1);
    assert.equal([evictions[0].results, evictions[0].imports, evictions[0].archives], [1, 0, 0]);
    assert.is(await s.results.image(b), undefined, "bob's: least recently viewed");
    assert.is(await s.tasks.get(b), undefined, 'the result goes with its task');
    for (const id of [a, c, d]) assert.ok(await s.results.image(id));
    assert.ok((await s.budget.heldBytes()) <= s.budget.budgetBytes);
    assert.is(s.budget.budgetBytes, 10_000);
    // An import counts too; enforce keeps what it is told to.
    clock.advance(1000);
    const data = {
      watched: Array.from({ length: 400 }, (_, i) => ({
        date: '2026-11-01',
        name: `Film ${i} ${Math.sin(i)}`,
        year: 1990 + (i % 30),
        uri: null,
      })),
      diary: [],
      ratings: [],
    };
    await s.imports.replace('eve', data, clock.now());
    const held = await s.budget.heldBytes();
    assert.ok(held > 9_000, `import bytes are counted (${held})`);
    const out = await s.budget.enforce({ importOf: 'eve' });
    assert.ok(out.heldBytes <= 10_000 || out.results === 3, 'evicted results until it fits, sparing the new import');
    assert.ok(await s.imports.summary('eve'));
    assert.is(out.heldBytes, await s.budget.heldBytes());
  });

  test('views and pruning: a view is recorded at most once a minute; prune drops results not viewed since, and old failures', async () => {
    const { s, clock } = subject();
    const a = await made('ann', 10);
    const b = await made('bob', 10, recent);
    const { task: failed } = await s.tasks.enqueue({ action: 'create_mosaic', username: 'cat', params: month });
    const [c] = await s.tasks.claim('w', 1);
    await s.tasks.fail(c.id, c.leaseToken, 'USER_NOT_FOUND', 'no');
    clock.advance(30_000);
    await s.results.markViewed(a, clock.now()); // under a minute since stored: not recorded
    clock.advance(2 * 3_600_000);
    await s.results.markViewed(b, clock.now());
    assert.is(await s.results.prune(clock.now() - 3_600_000), 2, "ann's result and the failed task");
    assert.is(await s.results.image(a), undefined);
    assert.is(await s.tasks.get(failed.id), undefined);
    assert.ok(await s.results.image(b));
  });

  test('stable links: the newest mosaic, the newest error and the live task of one request', async () => {
    const { s, clock } = subject();
    const key = dedupeKey('create_mosaic', 'ann', month);
    assert.equal(await s.links.state(key), { complete: null, error: null, liveId: null });
    const first = await made('ann', 10);
    const doneAt = clock.now();
    clock.advance(120_000);
    const { task } = await s.tasks.enqueue({ action: 'create_mosaic', username: 'ann', params: month, refresh: true });
    assert.equal(await s.links.state(key), { complete: { id: first, finishedAt: doneAt }, error: null, liveId: task.id });
    const [c] = await s.tasks.claim('w', 1);
    clock.advance(5);
    await s.tasks.fail(c.id, c.leaseToken, 'LETTERBOXD_UNREACHABLE', 'down');
    assert.equal(await s.links.state(key), {
      complete: { id: first, finishedAt: doneAt },
      error: { code: 'LETTERBOXD_UNREACHABLE', finishedAt: clock.now() },
      liveId: null,
    });
  });

  test('diary archive: windows merged and kept, coverage, summary, follow caps, forget, expire, unpolled', async () => {
    const { s, clock } = subject();
    const now = clock.now();
    assert.equal(await s.archive.load('ann'), { entries: [], coverage: [] });
    assert.equal(await s.archive.follow('ann', now, 2), []);
    assert.equal(await s.archive.follow('bob', now + 1, 2), []);
    assert.equal(await s.archive.follow('cat', now + 2, 2), ['ann'], 'two members at most: the least recently used goes');
    const outcome = await s.archive.recordWindow('bob', { entries: feedEntries(3), completeAfter: null }, now + 3);
    assert.equal(outcome.deleted, []);
    const kept = await s.archive.load('bob');
    assert.equal(kept.entries, [...feedEntries(3)].reverse(), 'newest published first, every field as read');
    assert.ok(kept.coverage.length > 0);
    // A later read without entry 1 (deleted on Letterboxd) and with a new one, covering the same days.
    const again = await s.archive.recordWindow('bob', { entries: [feedEntries(1)[0], ...feedEntries(2, 2)], completeAfter: null }, now + 4);
    assert.equal(again.deleted, ['9001']);
    assert.equal(
      (await s.archive.load('bob')).entries.map((e) => e.viewingId),
      ['9003', '9002', '9000'],
    );
    const sum = await s.archive.summary('bob');
    assert.equal(
      [sum.username, sum.followed, sum.entries, sum.wholeDiary, sum.lastPolledAt],
      ['bob', true, 3, true, new Date(now + 4).toISOString()],
    );
    assert.equal(await s.archive.summary('nobody'), {
      username: 'nobody',
      followed: false,
      historySince: null,
      wholeDiary: false,
      earliest: null,
      gaps: [],
      entries: 0,
      lastPolledAt: null,
    });
    assert.equal(
      (await s.archive.unpolled(POLL)).sort((x, y) => x.username.localeCompare(y.username)),
      [
        { username: 'bob', polledAt: now + 4 },
        { username: 'cat', polledAt: null },
      ],
    );
    await s.tasks.schedule(POLL, 'cat', now + 60_000);
    assert.equal(await s.archive.unpolled(POLL), [{ username: 'bob', polledAt: now + 4 }], "cat's poll is live");
    // A read for a member not followed is kept (a mosaic's own read) but does not follow them; over
    // the cap, the member being written stays and the least recently used other goes.
    await s.archive.recordWindow('dan', { entries: feedEntries(1), completeAfter: null }, now + 5, 2);
    assert.is(await s.archive.isFollowed('dan'), false);
    assert.equal((await s.archive.load('dan')).entries.length, 1);
    assert.is(await s.archive.isFollowed('cat'), true);
    assert.is(await s.archive.isFollowed('bob'), false, 'bob, used least recently, made room');
    assert.equal((await s.archive.load('bob')).entries, []);
    assert.equal(await s.archive.expire(now + 3), ['cat'], 'not used since');
    assert.is(await s.archive.forget('dan'), true);
    assert.is(await s.archive.forget('dan'), false);
    assert.equal(await s.archive.load('dan'), { entries: [], coverage: [] });
  });

  test('imports: replaced whole per member; summary, importedAt, load', async () => {
    const { s } = subject();
    const data = { watched: [{ date: '2026-01-02', name: 'Heat', year: 1995, uri: null }], diary: [], ratings: [] };
    const sum = await s.imports.replace('dave', data, 1_000);
    assert.equal(sum, { username: 'dave', films: 1, diaryEntries: 0, importedAt: new Date(1_000).toISOString() });
    assert.equal(await s.imports.summary('dave'), sum);
    assert.is(await s.imports.importedAt('dave'), 1_000);
    assert.equal(await s.imports.load('dave'), { importedAt: 1_000, ...data });
    const second = {
      watched: [],
      diary: [{ date: '2026-02-01', name: 'Ran', year: 1985, uri: null, rating: 4, rewatch: false, watchedDate: '2026-02-01', tags: null }],
      ratings: [],
    };
    await s.imports.replace('dave', second, 2_000);
    assert.equal([(await s.imports.load('dave'))!.watched, (await s.imports.summary('dave'))!.diaryEntries], [[], 1]);
    assert.is(await s.imports.load('nobody'), null);
    assert.is(await s.imports.summary('nobody'), null);
    assert.is(await s.imports.importedAt('nobody'), null);
  });

  test('poster knowledge and TMDB matches: remembered, updated, read by slug and by title', async () => {
    const { s } = subject();
    const p = s.posters;
    await p.rememberPosterUrls(
      [
        { slug: 'heat', posterUrl: 'https://a/1.jpg', source: 'rss', titleKey: 'heat', year: 1995 },
        { slug: 'heat', posterUrl: 'https://a/2.jpg', source: 'film-page' },
        { slug: 'nope', posterUrl: null, source: 'film-page' },
      ],
      5,
    );
    assert.equal(
      await p.knownPosterUrls(['heat', 'nope', 'x']),
      new Map([
        ['heat', 'https://a/2.jpg'],
        ['nope', null],
      ]),
    );
    const byTitle = await p.knownPostersByTitle([
      { titleKey: 'heat', yearKey: 1995 },
      { titleKey: 'x', yearKey: 0 },
    ]);
    assert.equal(
      [...byTitle.values()],
      [{ slug: 'heat', posterUrl: 'https://a/2.jpg', source: 'film-page' }],
      'a later entry keeps the title',
    );
    await p.rememberTitlePosters([{ titleKey: 'ran', yearKey: 0, slug: null, posterUrl: null, source: 'none' }], 6);
    assert.equal(
      [...(await p.titlePosters([{ titleKey: 'ran', yearKey: 0 }])).values()],
      [{ slug: null, posterUrl: null, source: 'none' }],
    );
    assert.is(await p.tmdbMatch('ran', 1985), undefined);
    await p.rememberTmdbMatch('ran', 1985, { kind: 'movie', id: 11645, title: 'Ran', posterPath: '/r.jpg' }, 7);
    assert.equal(await p.tmdbMatch('ran', 1985), { match: { kind: 'movie', id: 11645, title: 'Ran', posterPath: '/r.jpg' }, matchedAt: 7 });
    await p.rememberTmdbMatch('ran', 1985, null, 8);
    assert.equal(await p.tmdbMatch('ran', 1985), { match: null, matchedAt: 8 });
  });

  test('workers: beat, live, removeStale, remove', async () => {
    const { s, clock } = subject();
    const now = clock.now();
    await s.workers.beat('w1', 123, now);
    await s.workers.beat('w2', 124, now - 10_000);
    await s.workers.beat('w2', 124, now - 5_000);
    assert.equal((await s.workers.live(now - 6_000)).map((w) => w.id).sort(), ['w1', 'w2']);
    assert.equal(await s.workers.live(now - 1), [{ id: 'w1', lastSeenAt: new Date(now).toISOString() }]);
    assert.is(await s.workers.removeStale(now - 1), 1);
    await s.workers.remove('w1');
    assert.equal(await s.workers.live(0), []);
  });

  test("feed.replay and feed.poller: a replay after a cursor, a snapshot without one; a poller sees another handle's commits once, in order", async () => {
    const sub = subject();
    const { s } = sub;
    const other = await sub.another();
    assert.is(await s.feed.replay('00000000-0000-4000-8000-000000000000', 0), null);
    const poller = await s.feed.poller({ safetyPollMs: 60_000 });
    try {
      const { task } = await other.tasks.enqueue({ action: 'create_mosaic', username: 'ann', params: month });
      const [c] = await other.tasks.claim('w1', 1);
      await other.tasks.progress(c.id, c.leaseToken, 'downloading', 1, 2, 'Downloading posters: 1 of 2');
      const seqs = (await s.feed.listTaskAfter(task.id, 0)).map((e) => e.seq);
      const all = await s.feed.replay(task.id, 0);
      assert.equal(all!.kind === 'replay' && all!.events.map((e) => e.type), ['created', 'claimed', 'progress']);
      const tail = await s.feed.replay(task.id, seqs[1]);
      assert.equal(tail!.kind === 'replay' && tail!.events.map((e) => e.seq), [seqs[2]]);
      const snap = await s.feed.replay(task.id);
      assert.equal(snap, { kind: 'snapshot', task: (await s.tasks.get(task.id))!, seq: seqs[2] });
      // The poller: everything once, in seq order (forced: a notification is a hint, not a promise of timing).
      const seen = await poller.pollOnce(true);
      assert.equal(
        seen.map((e) => e.seq),
        seqs,
      );
      assert.equal(await poller.pollOnce(true), []);
      assert.is(poller.cursor(), seqs[2]);
    } finally {
      await poller.close();
    }
  });

  test("renditionsFailedSince: only an ERROR of this result's make_renditions task, since the time asked", async () => {
    const { s, clock } = subject();
    const id = '11111111-1111-4111-8111-111111111111';
    assert.is(await s.results.renditionsFailedSince(id, 0), false);
    await s.tasks.enqueueKeyed('make_renditions', 'ann', { of: id }, id);
    const [c] = await s.tasks.claim('w1', 1);
    await s.tasks.fail(c.id, c.leaseToken, 'INTERNAL', 'unreadable', false);
    assert.is(await s.results.renditionsFailedSince(id, clock.now() - 1000), true);
    assert.is(await s.results.renditionsFailedSince(id, clock.now() + 1000), false);
    assert.is(await s.results.renditionsFailedSince('22222222-2222-4222-8222-222222222222', 0), false);
    assert.is(s.isBusy(new Error('boom')), false);
  });
};
