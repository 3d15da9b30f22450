/**
 * `POST /api/users/:username/export` through a Koa app built from the export router (app.callback()
 * on 127.0.0.1, port 0), a real migrated SQLite database: imports, replacements, refusals that leave
 * the earlier import in place, body limits, and the import making earlier results stale for dedupe.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import Koa from 'koa';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '../../../common/log.js';
import type { MosaicParams } from '../../../common/task.js';
import { openDb, type Db } from '../../../db/sqlite/open.js';
import { createImportStore, type ImportStore } from '../../../db/sqlite/imports.js';
import { createTaskStore } from '../../../db/sqlite/tasks.js';
import { createResultStore } from '../../../db/sqlite/results.js';
import { errorHandler } from '../../../server/middleware/errors.js';
import { createExportRoutes, type ExportRouteDeps } from '../../../server/routes/export.js';
import { defaultMembers } from '../../helpers/fakeLetterboxd.js';
import { exportZip, hostileZip } from '../../helpers/exportZip.js';
import { fakeClock, type FakeClock } from '../../helpers/fakeClock.js';

const members = defaultMembers(new Date(2026, 10, 15, 12));
const dave = members.find((m) => m.username === 'dave')!;
const erin = members.find((m) => m.username === 'erin')!;

let db: Db;
let imports: ImportStore;
let clock: FakeClock;
let server: Server;
let base: string;

async function start(extra: Partial<ExportRouteDeps> = {}): Promise<void> {
  const app = new Koa();
  app.silent = true;
  app.use(errorHandler(silentLogger));
  app.use(createExportRoutes({ imports, clock, log: silentLogger, ...extra }).routes());
  server = createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function stop(): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  json: any;
}

/** A raw POST: `body` sent with Content-Length, or in `chunks` (chunked, no length). */
function post(
  path: string,
  body: Buffer | Buffer[],
  headers: Record<string, string> = { 'content-type': 'application/zip' },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const chunked = Array.isArray(body);
    const req = request(`${base}${path}`, {
      method: 'POST',
      headers: chunked ? headers : { ...headers, 'content-length': String(body.length) },
    });
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        resolve({ status: res.statusCode!, headers: res.headers, json: text ? JSON.parse(text) : null });
      });
    });
    // The server may answer (413) and close before the whole body is sent.
    req.on('error', (err) =>
      (err as NodeJS.ErrnoException).code === 'EPIPE' || (err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err),
    );
    // …but a connection that closes with no answer at all fails the test instead of hanging it.
    req.on('close', () => answered || reject(new Error(`${path}: the connection closed before any answer`)));
    if (chunked) for (const c of body) req.write(c);
    else req.write(body);
    req.end();
  });
}

test.before.each(async () => {
  db = openDb(':memory:');
  imports = createImportStore(db);
  clock = fakeClock(Date.UTC(2026, 10, 15, 12));
  await start();
});
test.after.each(async () => {
  await stop();
  db.close();
});

test('an export is imported: 200 with the counts, stored under the lowercase username', async () => {
  const res = await post('/api/users/Dave/export', exportZip(dave));
  assert.is(res.status, 200, JSON.stringify(res.json));
  assert.equal(res.json, {
    import: {
      username: 'dave',
      films: dave.films.length,
      diaryEntries: dave.diary.length,
      importedAt: new Date(clock.now()).toISOString(),
    },
  });
  assert.is(res.headers['cache-control'], 'no-store');
  const stored = imports.load('dave')!;
  assert.is(stored.watched.length, dave.films.length);
  assert.is(stored.diary.length, dave.diary.length);
  assert.is(imports.importedAt('dave'), clock.now());
});

test('a new import replaces the previous one whole; another member’s is untouched', async () => {
  await post('/api/users/dave/export', exportZip(dave));
  await post('/api/users/erin/export', exportZip(erin));
  clock.advance(60_000);
  const smaller = exportZip(dave, { omit: ['watched.csv', 'ratings.csv'] });
  const res = await post('/api/users/dave/export', smaller);
  assert.is(res.status, 200);
  assert.is(res.json.import.films, 0);
  const stored = imports.load('dave')!;
  assert.equal([stored.watched.length, stored.ratings.length, stored.diary.length], [0, 0, dave.diary.length]);
  assert.is(stored.importedAt, clock.now());
  assert.is(imports.load('erin')!.diary.length, erin.diary.length);
});

test('a refused upload leaves the earlier import in place', async () => {
  await post('/api/users/dave/export', exportZip(dave));
  const before = imports.load('dave');
  clock.advance(60_000);
  for (const kind of ['not-zip', 'traversal', 'bomb-lying', 'no-csvs', 'backslash'] as const) {
    const res = await post('/api/users/dave/export', hostileZip(kind));
    assert.is(res.status, 400, kind);
    assert.is(res.json.error.code, 'INVALID_EXPORT', kind);
    assert.type(res.json.error.message, 'string');
  }
  const bad = await post('/api/users/dave/export', exportZip(dave, { headers: { 'watched.csv': ['When', 'Name', 'Year'] } }));
  assert.is(bad.status, 400);
  assert.match(bad.json.error.message, /^watched\.csv does not have the header of a Letterboxd export/);
  assert.equal(imports.load('dave'), before);
});

test('not a ZIP body: 415 for JSON or a form upload, 400 for a bad username, before reading the body', async () => {
  const zip = exportZip(dave);
  const json = await post('/api/users/dave/export', zip, { 'content-type': 'application/json' });
  assert.is(json.status, 415);
  assert.equal(json.json.error.code, 'INVALID_EXPORT');
  const form = await post('/api/users/dave/export', zip, { 'content-type': 'multipart/form-data; boundary=x' });
  assert.is(form.status, 415);
  assert.match(form.json.error.message, /not as a form upload/);
  const gz = await post('/api/users/dave/export', zip, { 'content-type': 'application/zip', 'content-encoding': 'gzip' });
  assert.is(gz.status, 415);
  const user = await post('/api/users/no%20way/export', zip);
  assert.is(user.status, 400);
  assert.is(user.json.error.code, 'INVALID_REQUEST');
  // Windows browsers label .zip files application/x-zip-compressed; curl --data-binary octet-stream.
  for (const type of ['application/x-zip-compressed', 'application/octet-stream']) {
    assert.is((await post('/api/users/dave/export', zip, { 'content-type': type })).status, 200, type);
  }
  assert.is(imports.load('dave')!.diary.length, dave.diary.length);
});

test('over the size limit: 413 from Content-Length unread, and from a chunked body as it passes the limit', async () => {
  await stop();
  await start({ maxBytes: 4096 });
  const zip = exportZip(dave);
  assert.ok(zip.length > 4096);
  const declared = await post('/api/users/dave/export', zip);
  assert.is(declared.status, 413);
  assert.is(declared.json.error.code, 'INVALID_EXPORT');
  assert.match(declared.json.error.message, /larger than 0 MB|larger than/);
  const chunks = [];
  for (let i = 0; i < zip.length; i += 1000) chunks.push(zip.subarray(i, i + 1000));
  const streamed = await post('/api/users/dave/export', chunks);
  assert.is(streamed.status, 413);
  assert.is(imports.load('dave'), null);
});

test('at most `concurrency` uploads are read at once: the next gets 429 with Retry-After', async () => {
  await stop();
  await start({ concurrency: 1 });
  const zip = exportZip(dave);
  // The first upload sends half its body and waits.
  const first = request(`${base}/api/users/dave/export`, {
    method: 'POST',
    headers: { 'content-type': 'application/zip', 'content-length': String(zip.length) },
  });
  const firstAnswer = new Promise<number>((resolve, reject) => {
    first.on('response', (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    first.on('error', reject);
  });
  first.write(zip.subarray(0, 100));
  first.flushHeaders();
  // Give the server the first request before the second arrives: poll until it is being read.
  let second: Answer;
  for (;;) {
    second = await post('/api/users/erin/export', exportZip(erin));
    if (second.status === 429) break;
    assert.is(second.status, 200, 'only while the first is not yet being read');
  }
  assert.is(second.json.error.code, 'RATE_LIMITED');
  assert.is(second.headers['retry-after'], '5');
  first.end(zip.subarray(100));
  assert.is(await firstAnswer, 200);
  assert.is((await post('/api/users/erin/export', exportZip(erin))).status, 200, 'free again');
});

test('an import makes the member’s earlier results stale for dedupe (tasks.enqueue staleBefore)', async () => {
  const tasks = createTaskStore(db, { clock });
  const results = createResultStore(db);
  const params: MosaicParams = { mode: 'all', layout: 'grid', format: 'jpeg' };
  const done = () => {
    const { task } = tasks.enqueue({
      action: 'create_mosaic',
      username: 'dave',
      params,
      staleBefore: imports.importedAt('dave') ?? undefined,
    });
    const [claimed] = tasks.claim('w1', 1);
    tasks.complete(claimed.id, claimed.leaseToken, () =>
      results.insert(
        claimed.id,
        { image: Buffer.from('x'), contentType: 'image/jpeg', width: 1, height: 1, films: [], partial: false, note: null },
        clock.now(),
      ),
    );
    return task.id;
  };
  const first = done();
  clock.advance(1000);
  const again = tasks.enqueue({ action: 'create_mosaic', username: 'dave', params, staleBefore: imports.importedAt('dave') ?? undefined });
  assert.equal([again.deduped, again.task.id], [true, first], 'fresh and no import since: the same result');

  clock.advance(1000);
  assert.is((await post('/api/users/dave/export', exportZip(dave))).status, 200);
  clock.advance(1000);
  const after = tasks.enqueue({ action: 'create_mosaic', username: 'dave', params, staleBefore: imports.importedAt('dave') ?? undefined });
  assert.is(after.deduped, false, 'the import made the earlier result stale');
  assert.is.not(after.task.id, first);
  const erinTask = tasks.enqueue({
    action: 'create_mosaic',
    username: 'erin',
    params,
    staleBefore: imports.importedAt('erin') ?? undefined,
  });
  assert.is(erinTask.deduped, false);
});

test.run();
