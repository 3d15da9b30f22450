/** The JSON API through app.callback() on a real port: routes, validation, dedupe, cancel, results. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { testApp, request, postJson, completeWithResult, cleanup } from '../helpers/server.js';
import type { Task } from '../../common/task.js';

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

test.after.each(cleanup);

test('POST /api/mosaics: 202 with a queued create_mosaic task, Location and queue position', async () => {
  const t = await testApp();
  const res = await postJson(t.port, '/api/mosaics', { username: 'Dave', mode: 'recent', count: 12 });
  assert.is(res.status, 202);
  const task = res.json.task as Task;
  assert.is(task.action, 'create_mosaic');
  assert.is(task.username, 'dave');
  assert.equal(task.params, { mode: 'recent', count: 12, layout: 'classic', format: 'jpeg' });
  assert.is(task.status, 'QUEUED');
  assert.is(task.queuePosition, 1);
  assert.is(task.resultUrl, null);
  assert.is(res.headers.location, `/api/tasks/${task.id}`);
  assert.is(res.headers['cache-control'], 'no-store');
  t.clock.advance(1); // same-millisecond tasks are ordered by id
  const second = await postJson(t.port, '/api/mosaics', { username: 'erin' });
  assert.is(second.json.task.queuePosition, 2);
  await t.close();
});

test('POST /api/mosaics: an identical request returns the same task with 200 (also with refresh while live)', async () => {
  const t = await testApp();
  const a = await postJson(t.port, '/api/mosaics', { username: 'dave', mode: 'month', month: '2026-10', columns: 7 });
  // columns only matter to grid: dropped from the key, so this is the same request.
  const b = await postJson(t.port, '/api/mosaics', { username: 'DAVE', month: '2026-10' });
  const c = await postJson(t.port, '/api/mosaics', { username: 'dave', month: '2026-10', refresh: true });
  assert.equal([a.status, b.status, c.status], [202, 200, 200]);
  assert.is(b.json.task.id, a.json.task.id);
  assert.is(c.json.task.id, a.json.task.id);
  assert.is(b.json.task.queuePosition, 1);
  const other = await postJson(t.port, '/api/mosaics', { username: 'dave', month: '2026-09' });
  assert.is(other.status, 202);
  assert.is.not(other.json.task.id, a.json.task.id);
  await t.close();
});

test('POST /api/mosaics: a fresh complete twin is returned as is; refresh makes a new task', async () => {
  const t = await testApp();
  const a = await postJson(t.port, '/api/mosaics', { username: 'dave' });
  completeWithResult(t.tasks, t.results, a.json.task.id, t.clock.now());
  const b = await postJson(t.port, '/api/mosaics', { username: 'dave' });
  assert.is(b.status, 200);
  assert.is(b.json.task.status, 'COMPLETE');
  assert.is(b.json.task.resultUrl, `/api/tasks/${a.json.task.id}/result`);
  // Refreshed within a minute of being made: 429 with Retry-After, naming the task it can open.
  t.clock.advance(15_000);
  const early = await postJson(t.port, '/api/mosaics', { username: 'dave', refresh: true });
  assert.is(early.status, 429);
  assert.is(early.headers['retry-after'], '45');
  assert.is(early.json.error.code, 'RATE_LIMITED');
  assert.match(early.json.error.message, new RegExp(`made less than a minute ago \\(task ${a.json.task.id}\\).*refresh again in 45 s`));
  t.clock.advance(45_000);
  const c = await postJson(t.port, '/api/mosaics', { username: 'dave', refresh: true });
  assert.is(c.status, 202);
  await t.close();
});

test('POST /api/mosaics: every field validated, 400 INVALID_REQUEST naming it', async () => {
  const t = await testApp();
  const cases: [unknown, string][] = [
    [{}, 'username'],
    [{ username: 42 }, 'username'],
    [{ username: 'd' }, 'username'],
    [{ username: 'dave-smith' }, 'username'],
    [{ username: 'a_very_long_name_x' }, 'username'],
    [{ username: 'dave', mode: 'week' }, 'mode'],
    [{ username: 'dave', mode: 3 }, 'mode'],
    [{ username: 'dave', month: '2026-13' }, 'month'],
    [{ username: 'dave', month: '2026-12' }, 'month'],
    [{ username: 'dave', month: '1999-12' }, 'month'],
    [{ username: 'dave', month: 202611 }, 'month'],
    [{ username: 'dave', mode: 'recent', count: 0 }, 'count'],
    [{ username: 'dave', mode: 'recent', count: 51 }, 'count'],
    [{ username: 'dave', mode: 'recent', count: 2.5 }, 'count'],
    [{ username: 'dave', mode: 'recent', count: '30' }, 'count'],
    [{ username: 'dave', mode: 'year', year: 2027 }, 'year'],
    [{ username: 'dave', mode: 'year', year: 1999 }, 'year'],
    [{ username: 'dave', mode: 'year', year: '2026' }, 'year'],
    [{ username: 'dave', layout: 'mosaic' }, 'layout'],
    [{ username: 'dave', layout: 'grid', columns: 0 }, 'columns'],
    [{ username: 'dave', layout: 'grid', columns: 101 }, 'columns'],
    [{ username: 'dave', layout: 'grid', columns: 3.5 }, 'columns'],
    [{ username: 'dave', format: 'gif' }, 'format'],
    [{ username: 'dave', refresh: 'yes' }, 'refresh'],
    [{ username: 'dave', colour: 'red' }, 'colour'],
    [[{ username: 'dave' }], 'body'],
    [null, 'body'],
    ['dave', 'body'],
    [7, 'body'],
  ];
  for (const [body, field] of cases) {
    const res = await postJson(t.port, '/api/mosaics', body);
    assert.is(res.status, 400, JSON.stringify(body));
    assert.is(res.json.error.code, 'INVALID_REQUEST', JSON.stringify(body));
    assert.is(res.json.error.field, field, JSON.stringify(body));
    assert.type(res.json.error.message, 'string');
    assert.ok(res.json.error.message.length > 10);
  }
  assert.is(t.tasks.counts().queued, 0, 'nothing enqueued');
  await t.close();
});

test('POST /api/mosaics: body rules (type, size, JSON, encoding)', async () => {
  const t = await testApp();
  const form = await request(t.port, '/api/mosaics', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'username=dave',
  });
  assert.is(form.status, 415);
  assert.equal([form.json.error.code, form.json.error.field], ['INVALID_REQUEST', 'body']);
  const none = await request(t.port, '/api/mosaics', { method: 'POST', body: '{"username":"dave"}' });
  assert.is(none.status, 415);
  const latin1 = await request(t.port, '/api/mosaics', {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=latin1' },
    body: '{}',
  });
  assert.is(latin1.status, 415);
  const gz = await request(t.port, '/api/mosaics', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    body: '{}',
  });
  assert.is(gz.status, 415);
  const broken = await request(t.port, '/api/mosaics', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"username": "dave"',
  });
  assert.equal([broken.status, broken.json.error.code, broken.json.error.field], [400, 'INVALID_REQUEST', 'body']);
  const empty = await request(t.port, '/api/mosaics', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '' });
  assert.is(empty.status, 400);
  const big = JSON.stringify({ username: 'dave', pad: 'x'.repeat(5000) });
  const declared = await request(t.port, '/api/mosaics', { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
  assert.equal([declared.status, declared.json.error.code], [413, 'INVALID_REQUEST']);
  // Chunked, no Content-Length: the limit holds while reading.
  const chunked = await request(t.port, '/api/mosaics', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    chunks: [Buffer.from('{"username":"dave","pad":"'), Buffer.alloc(3000, 'x'), Buffer.alloc(3000, 'x'), Buffer.from('"}')],
  });
  assert.is(chunked.status, 413);
  const ok = await request(t.port, '/api/mosaics', {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: '{"username":"dave"}',
  });
  assert.is(ok.status, 202);
  await t.close();
});

test('POST /api/mosaics: per-IP rate limit, 429 RATE_LIMITED with Retry-After, refills with time', async () => {
  const t = await testApp({ rateLimitPerMin: 3 });
  for (let i = 0; i < 3; i++) assert.is((await postJson(t.port, '/api/mosaics', { username: `user${i}` })).status, 202);
  const limited = await postJson(t.port, '/api/mosaics', { username: 'user9' });
  assert.is(limited.status, 429);
  assert.is(limited.json.error.code, 'RATE_LIMITED');
  assert.is(limited.headers['retry-after'], '20');
  // Reading is not limited.
  assert.is((await request(t.port, '/api/mosaics')).status, 200);
  t.clock.advance(20_000);
  assert.is((await postJson(t.port, '/api/mosaics', { username: 'user9' })).status, 202);
  assert.is((await postJson(t.port, '/api/mosaics', { username: 'user10' })).status, 429);
  await t.close();
});

test('GET /api/tasks/:id: the task with its queue position; 404 TASK_NOT_FOUND for unknown or malformed ids', async () => {
  const t = await testApp();
  const a = (await postJson(t.port, '/api/mosaics', { username: 'dave' })).json.task as Task;
  t.clock.advance(1);
  const b = (await postJson(t.port, '/api/mosaics', { username: 'erin' })).json.task as Task;
  const got = await request(t.port, `/api/tasks/${b.id}`);
  assert.is(got.status, 200);
  assert.is(got.json.task.id, b.id);
  assert.is(got.json.task.queuePosition, 2);
  t.tasks.claim('w', 1); // a is running now
  const running = await request(t.port, `/api/tasks/${a.id}`);
  assert.equal([running.json.task.status, running.json.task.queuePosition], ['RUNNING', null]);
  assert.is((await request(t.port, `/api/tasks/${b.id}`)).json.task.queuePosition, 1);
  for (const id of [UNKNOWN_ID, 'nope', 'x'.repeat(300), '%E0%A4%A']) {
    const res = await request(t.port, `/api/tasks/${id}`);
    assert.is(res.status, 404, id);
    assert.is(res.json.error.code, 'TASK_NOT_FOUND');
  }
  await t.close();
});

test('DELETE /api/tasks/:id with its cancel token: queued → CANCELLED at once; running → cancel requested; finished → 409 TASK_FINISHED', async () => {
  const t = await testApp();
  const runningRes = (await postJson(t.port, '/api/mosaics', { username: 'dave' })).json;
  const running = runningRes.task as Task;
  t.tasks.claim('w', 1);
  const queuedRes = (await postJson(t.port, '/api/mosaics', { username: 'erin' })).json;
  const queued = queuedRes.task as Task;
  const del = (id: string, token?: string) =>
    request(t.port, `/api/tasks/${id}`, { method: 'DELETE', headers: token ? { 'cancel-token': token } : {} });

  const q = await del(queued.id, queuedRes.cancelToken);
  assert.is(q.status, 200);
  assert.equal([q.json.task.status, q.json.task.errorCode, q.json.left], ['CANCELLED', 'CANCELLED', false]);
  const again = await del(queued.id, queuedRes.cancelToken);
  assert.equal([again.status, again.json.error.code], [409, 'TASK_FINISHED']);

  const r = await del(running.id, runningRes.cancelToken);
  assert.is(r.status, 200);
  assert.is(r.json.task.status, 'RUNNING');
  assert.is(r.json.task.progressMsg, 'Cancelling…');
  assert.ok(t.tasks.isCancelRequested(running.id));
  // Asking twice while the worker winds down is not an error.
  assert.is((await del(running.id, runningRes.cancelToken)).status, 200);

  const unknown = await del(UNKNOWN_ID, 'whatever');
  assert.equal([unknown.status, unknown.json.error.code], [404, 'TASK_NOT_FOUND']);
  await t.close();
});

test('cancel tokens: no token or another task’s → 403 FORBIDDEN; a joiner withdraws its share; the task stops when no requester is left', async () => {
  const t = await testApp();
  const first = (await postJson(t.port, '/api/mosaics', { username: 'dave' })).json;
  const other = (await postJson(t.port, '/api/mosaics', { username: 'erin' })).json;
  assert.type(first.cancelToken, 'string');
  assert.ok(first.cancelToken.length >= 32);
  const del = (id: string, token?: string) =>
    request(t.port, `/api/tasks/${id}`, { method: 'DELETE', headers: token ? { 'cancel-token': token } : {} });
  const id = first.task.id as string;

  // Re-posting the same request joins the task: same id, a token of its own.
  const joined = await postJson(t.port, '/api/mosaics', { username: 'dave' });
  assert.equal([joined.status, joined.json.task.id], [200, id]);
  assert.type(joined.json.cancelToken, 'string');
  assert.is.not(joined.json.cancelToken, first.cancelToken);

  for (const [token, why] of [
    [undefined, 'none'],
    [other.cancelToken, "another task's"],
    ['x'.repeat(40), 'made up'],
  ] as const) {
    const res = await del(id, token);
    assert.equal([res.status, res.json.error.code], [403, 'FORBIDDEN'], why);
    assert.match(res.json.error.message, /cancel/i);
  }
  assert.is(t.tasks.get(id)!.status, 'QUEUED');

  // The joiner leaves: the creator still wants it, so it stays queued.
  const left = await del(id, joined.json.cancelToken);
  assert.equal([left.status, left.json.left, left.json.task.status], [200, true, 'QUEUED']);
  assert.is(t.tasks.get(id)!.status, 'QUEUED');
  // The creator leaves too: nobody is left, the task is cancelled.
  const last = await del(id, first.cancelToken);
  assert.equal([last.status, last.json.left, last.json.task.status], [200, false, 'CANCELLED']);

  // A finished result handed back by dedupe has nothing to cancel: no token.
  completeWithResult(t.tasks, t.results, other.task.id, t.clock.now(), Buffer.from('JPEG'));
  const done = await postJson(t.port, '/api/mosaics', { username: 'erin' });
  assert.equal([done.json.task.status, done.json.cancelToken], ['COMPLETE', null]);
  await t.close();
});

test('Idempotency-Key: a retry of the same request is the same share (its key is the token); a malformed key → 400', async () => {
  const t = await testApp();
  const key = 'retry-key-0123456789abcdef';
  const first = await postJson(t.port, '/api/mosaics', { username: 'dave' }, { 'idempotency-key': key });
  assert.equal([first.status, first.json.cancelToken], [202, key]);
  const id = first.json.task.id as string;
  // The answer was lost; the client sends the same request with the same key.
  const again = await postJson(t.port, '/api/mosaics', { username: 'dave' }, { 'idempotency-key': key });
  assert.equal([again.status, again.json.task.id, again.json.cancelToken], [200, id, key]);
  // One share, so its token cancels the task outright.
  const del = await request(t.port, `/api/tasks/${id}`, { method: 'DELETE', headers: { 'cancel-token': key } });
  assert.equal([del.status, del.json.left, del.json.task.status], [200, false, 'CANCELLED']);

  for (const bad of ['short', 'x'.repeat(65), 'has spaces in it, twenty-two+', 'ümlaut-key-0123456789abc']) {
    const res = await postJson(t.port, '/api/mosaics', { username: 'erin' }, { 'idempotency-key': bad });
    assert.equal([res.status, res.json.error.code, res.json.error.field], [400, 'INVALID_REQUEST', 'Idempotency-Key'], bad);
    assert.match(res.json.error.message, /Idempotency-Key must be 22 to 64 characters/);
  }
  assert.is(t.tasks.queuedIds().length, 0, 'a refused key queues nothing');
  await t.close();
});

test('GET /api/tasks/:id/result: 409 before, then bytes with strong ETag and immutable caching; 304 without reading the blob', async () => {
  let imageReads = 0;
  const t = await testApp();
  const wrapped = await testApp({
    // Same database as `t`, with the image read counted.
    tasks: t.storage.tasks,
    results: { ...t.storage.results, image: (id: string) => (imageReads++, t.storage.results.image(id)) },
  });
  const task = (await postJson(wrapped.port, '/api/mosaics', { username: 'dave' })).json.task as Task;
  const early = await request(wrapped.port, `/api/tasks/${task.id}/result`);
  assert.equal([early.status, early.json.error.code], [409, 'RESULT_NOT_READY']);
  const unknown = await request(wrapped.port, `/api/tasks/${UNKNOWN_ID}/result`);
  assert.equal([unknown.status, unknown.json.error.code], [404, 'TASK_NOT_FOUND']);

  completeWithResult(t.tasks, t.results, task.id, t.clock.now(), Buffer.from('JPEGDATA'));
  const res = await request(wrapped.port, `/api/tasks/${task.id}/result`);
  assert.is(res.status, 200);
  assert.is(res.text, 'JPEGDATA');
  assert.is(res.headers['content-type'], 'image/jpeg');
  assert.is(res.headers['cache-control'], 'public, max-age=31536000, immutable');
  const etag = res.headers.etag!;
  assert.match(etag, /^"[A-Za-z0-9_-]+"$/, 'a strong ETag');
  assert.is(imageReads, 1);

  const again = await request(wrapped.port, `/api/tasks/${task.id}/result`, { headers: { 'if-none-match': etag } });
  assert.is(again.status, 304);
  assert.is(again.body.length, 0);
  assert.is(again.headers.etag, etag);
  assert.is(again.headers['cache-control'], 'public, max-age=31536000, immutable');
  const listed = await request(wrapped.port, `/api/tasks/${task.id}/result?via=list`, { headers: { 'if-none-match': `"other", ${etag}` } });
  assert.is(listed.status, 304);
  assert.is(imageReads, 1, 'revalidations never read the image');

  const head = await request(wrapped.port, `/api/tasks/${task.id}/result`, { method: 'HEAD' });
  assert.equal([head.status, head.body.length, head.headers['content-length']], [200, 0, '8']);
  const stale = await request(wrapped.port, `/api/tasks/${task.id}/result`, { headers: { 'if-none-match': '"nope"' } });
  assert.equal([stale.status, stale.text], [200, 'JPEGDATA']);
  await wrapped.close();
  await t.close();
});

test('a view (GET /result or /mosaic, revalidations too) is recorded for RESULTS_MB, at most once a minute; lists are not views', async () => {
  const t = await testApp();
  const task = (await postJson(t.port, '/api/mosaics', { username: 'dave' })).json.task as Task;
  completeWithResult(t.tasks, t.results, task.id, t.clock.now());
  const viewedAt = () => t.db.prepare(`SELECT viewed_at FROM results WHERE id = ?`).pluck().get(task.id);
  const made = t.clock.now();
  assert.is(viewedAt(), made);
  t.clock.advance(10 * 60_000);
  await request(t.port, '/api/mosaics');
  await request(t.port, '/api/users/dave/mosaics');
  assert.is(viewedAt(), made, 'lists are not views');
  const res = await request(t.port, `/api/tasks/${task.id}/result`);
  assert.is(viewedAt(), t.clock.now());
  t.clock.advance(30_000);
  await request(t.port, `/api/tasks/${task.id}/mosaic`);
  assert.is(viewedAt(), t.clock.now() - 30_000, 'within the minute: not written again');
  t.clock.advance(31_000);
  await request(t.port, `/api/tasks/${task.id}/mosaic`);
  assert.is(viewedAt(), t.clock.now());
  t.clock.advance(61_000);
  assert.is((await request(t.port, `/api/tasks/${task.id}/result`, { headers: { 'if-none-match': res.headers.etag! } })).status, 304);
  assert.is(viewedAt(), t.clock.now(), 'a revalidation is a view');
  await t.close();
});

test('GET /api/tasks/:id/mosaic and the member and gallery lists', async () => {
  const t = await testApp();
  const a = (await postJson(t.port, '/api/mosaics', { username: 'dave', month: '2026-10' })).json.task as Task;
  assert.equal((await request(t.port, `/api/tasks/${a.id}/mosaic`)).json.error.code, 'RESULT_NOT_READY');
  completeWithResult(t.tasks, t.results, a.id, t.clock.now());
  t.clock.advance(1000);
  const b = (await postJson(t.port, '/api/mosaics', { username: 'dave', mode: 'recent' })).json.task as Task;
  completeWithResult(t.tasks, t.results, b.id, t.clock.now());
  t.clock.advance(1000);
  const c = (await postJson(t.port, '/api/mosaics', { username: 'erin', mode: 'all' })).json.task as Task;
  completeWithResult(t.tasks, t.results, c.id, t.clock.now());

  const mosaic = await request(t.port, `/api/tasks/${a.id}/mosaic`);
  assert.is(mosaic.status, 200);
  assert.equal(
    { ...mosaic.json.mosaic, createdAt: undefined },
    {
      taskId: a.id,
      username: 'dave',
      params: { mode: 'month', month: '2026-10', layout: 'classic', format: 'jpeg' },
      label: 'October 2026',
      filmCount: 1,
      width: 10,
      height: 20,
      contentType: 'image/jpeg',
      resultUrl: `/api/tasks/${a.id}/result`,
      thumbUrl: `/api/tasks/${a.id}/result/thumb`,
      screenUrl: `/api/tasks/${a.id}/result/screen`,
      createdAt: undefined,
      partial: false,
      note: null,
      films: [{ title: 'Flow', year: 2024, rating: 4.5, slug: 'flow', watchedDate: '2026-11-02' }],
      review: null,
    },
  );
  assert.is((await request(t.port, `/api/tasks/${UNKNOWN_ID}/mosaic`)).status, 404);

  const dave = await request(t.port, '/api/users/Dave/mosaics');
  assert.is(dave.status, 200);
  assert.equal(
    dave.json.mosaics.map((m: { taskId: string }) => m.taskId),
    [b.id, a.id],
    'newest first',
  );
  // Lists carry summaries without film lists or review figures (the page fetches /mosaic for those).
  const { films: _films, review: _review, ...listed } = mosaic.json.mosaic;
  assert.equal(dave.json.mosaics[1], listed);
  assert.equal((await request(t.port, '/api/users/nobody/mosaics')).json, { mosaics: [] });
  const bad = await request(t.port, '/api/users/no-such!/mosaics');
  assert.equal([bad.status, bad.json.error.code, bad.json.error.field], [400, 'INVALID_REQUEST', 'username']);

  const gallery = await request(t.port, '/api/mosaics');
  assert.equal(
    gallery.json.mosaics.map((m: { taskId: string }) => m.taskId),
    [c.id, b.id, a.id],
  );
  assert.ok(gallery.json.mosaics.every((m: object) => !('films' in m) && (m as { filmCount: number }).filmCount === 1));
  assert.is((await request(t.port, '/api/mosaics?limit=2')).json.mosaics.length, 2);
  assert.is((await request(t.port, '/api/mosaics?limit=100')).status, 200);
  for (const limit of ['0', '101', 'x', '2.5', '-1', '']) {
    const res = await request(t.port, `/api/mosaics?limit=${limit}`);
    assert.equal([res.status, res.json.error.field], [400, 'limit'], limit);
  }
  assert.is((await request(t.port, '/api/mosaics?limit=1&limit=2')).status, 400);
  await t.close();
});

test('GET /healthz: queue and workers; 503 when the database is unusable', async () => {
  const t = await testApp();
  await postJson(t.port, '/api/mosaics', { username: 'dave' });
  const ok = await request(t.port, '/healthz');
  assert.is(ok.status, 200);
  assert.equal(ok.json, { ok: true, db: 'ok', queue: { queued: 1, running: 0 }, workers: [] });
  t.db.close();
  const down = await request(t.port, '/healthz');
  assert.is(down.status, 503);
  assert.equal([down.json.ok, down.json.db], [false, 'unavailable']);
  assert.ok(t.lines.some((l) => l.msg === 'health check: database unusable'));
  await t.close();
});

test('unknown API paths → 404 JSON, wrong methods → 405 with Allow, never the SPA', async () => {
  const t = await testApp();
  const missing = await request(t.port, '/api/nope');
  assert.equal([missing.status, missing.json.error.code], [404, 'INVALID_REQUEST']);
  const method = await request(t.port, '/api/mosaics', { method: 'PUT' });
  assert.is(method.status, 405);
  assert.match(method.headers.allow!, /POST/);
  assert.match(method.headers.allow!, /GET/);
  assert.is((await request(t.port, '/api/tasks/00000000-0000-4000-8000-000000000000/nope')).status, 404);
  await t.close();
});

test('an unexpected error is 500 INTERNAL without internals, and logged', async () => {
  const t = await testApp();
  const broken = await testApp({
    tasks: t.storage.tasks,
    results: {
      ...t.storage.results,
      listRecent: () => {
        throw new Error('SQLITE_CORRUPT: /secret/path/moviemosaic.db');
      },
    },
  });
  const res = await request(broken.port, '/api/mosaics');
  assert.is(res.status, 500);
  assert.is(res.json.error.code, 'INTERNAL');
  assert.not.match(res.text, /secret|SQLITE/);
  assert.ok(broken.lines.some((l) => l.msg === 'request crashed' && String(l.error).includes('SQLITE_CORRUPT')));
  await broken.close();
  await t.close();
});

test('one structured log line per request', async () => {
  const t = await testApp();
  await request(t.port, '/healthz');
  await postJson(t.port, '/api/mosaics', { username: 'x' });
  const requests = t.lines.filter((l) => l.msg === 'request');
  assert.is(requests.length, 2);
  assert.equal(
    requests.map((l) => [l.method, l.path, l.status]),
    [
      ['GET', '/healthz', 200],
      ['POST', '/api/mosaics', 400],
    ],
  );
  assert.type(requests[0].ms, 'number');
  assert.is(requests[0].ip, '127.0.0.1');
  await t.close();
});

test.run();
