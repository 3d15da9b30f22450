/** Layout `review` through the API: only with `year` or `all`, and its figures served with the mosaic. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { testApp, request, postJson, cleanup } from '../helpers/server.js';
import type { ReviewFigures, Task } from '../../common/task.js';

test.after.each(cleanup);

test('POST /api/mosaics: layout review with month or recent is 400 INVALID_REQUEST naming layout', async () => {
  const t = await testApp();
  for (const body of [
    { username: 'dave', layout: 'review' },
    { username: 'dave', mode: 'month', month: '2026-10', layout: 'review' },
    { username: 'dave', mode: 'recent', count: 10, layout: 'review' },
  ]) {
    const res = await postJson(t.port, '/api/mosaics', body);
    assert.equal([res.status, res.json.error.code, res.json.error.field], [400, 'INVALID_REQUEST', 'layout'], JSON.stringify(body));
    assert.is(res.json.error.message, 'layout review is a year in review: choose mode year or all, or layout classic or grid.');
  }
  assert.is(t.tasks.counts().queued, 0, 'nothing enqueued');
  await t.close();
});

test('POST /api/mosaics: layout review with year or all is queued, columns kept', async () => {
  const t = await testApp();
  const year = await postJson(t.port, '/api/mosaics', { username: 'dave', mode: 'year', year: 2025, layout: 'review', columns: 7 });
  assert.is(year.status, 202);
  assert.equal((year.json.task as Task).params, { mode: 'year', year: 2025, layout: 'review', columns: 7, format: 'jpeg' });
  const all = await postJson(t.port, '/api/mosaics', { username: 'dave', mode: 'all', layout: 'review' });
  assert.is(all.status, 202);
  assert.equal((all.json.task as Task).params, { mode: 'all', layout: 'review', format: 'jpeg' });
  await t.close();
});

test('GET /api/tasks/:id/mosaic: the review figures with the mosaic; null for other layouts', async () => {
  const t = await testApp();
  const figures: ReviewFigures = {
    films: 1,
    entries: 2,
    rated: 1,
    averageRating: 4.5,
    ratings: [0, 0, 0, 0, 0, 0, 0, 0, 1, 0],
    timeline: {
      unit: 'month',
      periods: Array.from({ length: 12 }, (_, m) => ({ label: `2025-${String(m + 1).padStart(2, '0')}`, count: m === 10 ? 2 : 0 })),
    },
    rewatches: 1,
    likes: null,
    first: { title: 'Flow', year: 2024, watchedDate: '2025-11-02' },
    last: { title: 'Flow', year: 2024, watchedDate: '2025-11-20' },
  };
  const finish = (id: string, review: ReviewFigures | null) => {
    const claimed = t.tasks.claim('test-worker', 100).find((c) => c.id === id)!;
    t.tasks.complete(claimed.id, claimed.leaseToken, () =>
      t.results.insert(
        id,
        { image: Buffer.from('IMAGE'), contentType: 'image/jpeg', width: 10, height: 20, films: [], partial: false, note: null, review },
        t.clock.now(),
      ),
    );
  };
  const a = (await postJson(t.port, '/api/mosaics', { username: 'dave', mode: 'year', year: 2025, layout: 'review' })).json.task as Task;
  finish(a.id, figures);
  const b = (await postJson(t.port, '/api/mosaics', { username: 'dave', mode: 'year', year: 2025, layout: 'grid' })).json.task as Task;
  finish(b.id, null);
  assert.equal((await request(t.port, `/api/tasks/${a.id}/mosaic`)).json.mosaic.review, figures);
  assert.is((await request(t.port, `/api/tasks/${b.id}/mosaic`)).json.mosaic.review, null);
  // The lists stay small: the figures come with the mosaic, not with its summary in a list.
  const listed = (await request(t.port, '/api/users/dave/mosaics')).json.mosaics as { taskId: string }[];
  assert.ok(listed.some((m) => m.taskId === a.id) && listed.every((m) => !('review' in m)));
  await t.close();
});

test.run();
