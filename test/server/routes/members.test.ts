import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createArchiveStore } from '../../../db/sqlite/archive.js';
import { cleanup, request, testApp } from '../../helpers/server.js';

test.after.each(cleanup);

const T0 = Date.UTC(2026, 2, 3, 12);
const entry = (id: string, day: string) => ({
  viewingId: id,
  title: `Film ${id}`,
  year: 2020,
  rating: 4,
  watchedDate: day,
  rewatch: false,
  liked: false,
  slug: `film-${id}`,
  posterUrl: null,
  posterMissing: true,
  tmdbMovieId: null,
  tmdbTvId: null,
  publishedDay: day,
  publishedAt: Date.parse(`${day}T13:00:00Z`),
});

test('GET /api/users/:username: followed, history kept since, gaps; DELETE …/follow deletes the archive', async () => {
  const app = await testApp();
  const archive = createArchiveStore(app.db);
  archive.follow('dave', T0, 200);
  archive.recordWindow('dave', { entries: [entry('2', '2026-03-02'), entry('1', '2026-02-10')], completeAfter: '2026-02-10' }, T0);
  // A later read sharing nothing with the first: a gap.
  archive.recordWindow(
    'dave',
    { entries: [entry('4', '2026-03-20'), entry('3', '2026-03-12')], completeAfter: '2026-03-12' },
    T0 + 20 * 86_400_000,
  );

  let res = await request(app.port, '/api/users/Dave');
  assert.is(res.status, 200);
  assert.equal(res.json, {
    member: {
      username: 'dave',
      followed: true,
      historySince: '2026-03-13',
      wholeDiary: false,
      earliest: '2026-02-11',
      gaps: [{ from: '2026-03-03', to: '2026-03-12' }],
      entries: 4,
      lastPolledAt: '2026-03-23T12:00:00.000Z',
    },
  });

  res = await request(app.port, '/api/users/dave/follow', { method: 'DELETE' });
  assert.is(res.status, 200);
  assert.is(res.json.member.followed, false);
  assert.is(res.json.member.entries, 0);
  assert.is(app.db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM archive_entries`).get()!.n, 0);
  await app.close();
});

test('an unknown member: not followed, nothing kept; a bad username is 400 INVALID_REQUEST', async () => {
  const app = await testApp();
  const res = await request(app.port, '/api/users/nobody');
  assert.equal(res.json.member, {
    username: 'nobody',
    followed: false,
    historySince: null,
    wholeDiary: false,
    earliest: null,
    gaps: [],
    entries: 0,
    lastPolledAt: null,
  });
  const bad = await request(app.port, '/api/users/a');
  assert.is(bad.status, 400);
  assert.is(bad.json.error.code, 'INVALID_REQUEST');
  await app.close();
});

test.run();
