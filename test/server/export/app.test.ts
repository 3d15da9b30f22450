/**
 * The export upload as mounted in the real app (server/app.ts): the route answers under /api with
 * the app's host guard and error format, and an import makes that member's earlier results stale
 * for dedupe on `POST /api/mosaics`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { testApp, request, postJson, completeWithResult, cleanup } from '../../helpers/server.js';
import { defaultMembers } from '../../helpers/fakeLetterboxd.js';
import { exportZip } from '../../helpers/exportZip.js';

const dave = defaultMembers(new Date(2026, 10, 15, 12)).find((m) => m.username === 'dave')!;
const upload = (port: number, body: Buffer, type = 'application/zip') =>
  request(port, '/api/users/dave/export', { method: 'POST', headers: { 'content-type': type, host: 'localhost' }, body });

test.after(cleanup);

test('the upload route is mounted: 200 with counts; a non-ZIP is 400 INVALID_EXPORT in the API error format', async () => {
  const app = await testApp();
  const ok = await upload(app.port, exportZip(dave));
  assert.is(ok.status, 200, ok.text);
  assert.is(ok.json.import.username, 'dave');
  assert.ok(ok.json.import.films > 0);
  const bad = await upload(app.port, Buffer.from('this is not a zip file at all'));
  assert.is(bad.status, 400);
  assert.is(bad.json.error.code, 'INVALID_EXPORT');
  assert.type(bad.json.error.message, 'string');
  const get = await request(app.port, '/api/users/dave/export', { headers: { host: 'localhost' } });
  assert.is(get.status, 405);
});

test("an import makes the member's earlier complete result stale: the same request makes a new task", async () => {
  const app = await testApp();
  const body = { username: 'dave', mode: 'all', layout: 'grid' };
  const first = await postJson(app.port, '/api/mosaics', body, { host: 'localhost' });
  assert.is(first.status, 202);
  completeWithResult(app.tasks, app.results, first.json.task.id, app.clock.now());
  app.clock.advance(1000);
  const again = await postJson(app.port, '/api/mosaics', body, { host: 'localhost' });
  assert.is(again.status, 200, 'fresh result returned before the import');
  assert.is(again.json.task.id, first.json.task.id);
  app.clock.advance(1000);
  assert.is((await upload(app.port, exportZip(dave))).status, 200);
  app.clock.advance(1000);
  const after = await postJson(app.port, '/api/mosaics', body, { host: 'localhost' });
  assert.is(after.status, 202, 'a new task after the import');
  assert.is.not(after.json.task.id, first.json.task.id);
});

test('the upload limiter: a wrong content type takes no token; the 11th upload in a minute is a 429 that speaks of uploads', async () => {
  const app = await testApp();
  for (let i = 0; i < 15; i++) assert.is((await upload(app.port, Buffer.from('x'), 'text/plain')).status, 415);
  for (let i = 0; i < 10; i++) assert.is((await upload(app.port, Buffer.from('not a zip'))).status, 400, `upload ${i + 1}`);
  const limited = await upload(app.port, Buffer.from('not a zip'));
  assert.equal([limited.status, limited.json.error.code], [429, 'RATE_LIMITED']);
  assert.match(limited.json.error.message, /^Too many export uploads from this device; try again in \d+ s\.$/);
  assert.ok(Number(limited.headers['retry-after']) > 0);
});

test.run();
