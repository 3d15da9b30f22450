/**
 * Another program holds the database's write lock (a `sqlite3` shell left in a transaction, a backup
 * tool, a worker writing a big result to a slow SD card): the server's event loop stays free — pages,
 * /healthz and sockets answer at once — and a write that cannot get the lock in time is a 503 with
 * Retry-After and a sentence, never a frozen server or a 500. A lock released in time is waited out.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { cleanup, liveServer, openSocket, track } from '../helpers/server.js';
import { call } from '../helpers/resilience/kit.js';
import { exportZip } from '../helpers/exportZip.js';
import { defaultMembers } from '../helpers/fakeLetterboxd.js';

test.after.each(cleanup);

function holdLock(dir: string) {
  const holder = new Database(join(dir, 'moviemosaic.db'));
  holder.prepare('BEGIN IMMEDIATE').run();
  track(() => holder.open && holder.close());
  return { release: () => (holder.inTransaction && holder.prepare('COMMIT').run(), holder.close()) };
}

test('a write lock held elsewhere: the loop stays free, the write is a 503 with Retry-After', async () => {
  const srv = await liveServer({ busyRetryMs: 1500 });
  const requester = { clientKey: '127.0.0.1', cancelToken: 'erin-token' };
  const task = srv.tasks.enqueue({
    action: 'create_mosaic',
    username: 'erin',
    params: { mode: 'recent', count: 5, layout: 'grid', format: 'jpeg' },
    requester,
  }).task;
  const lock = holdLock(srv.dir);
  const post = call(srv.port, 'POST', '/api/mosaics', { username: 'dave' });
  const del = call(srv.port, 'DELETE', `/api/tasks/${task.id}`, undefined, { 'cancel-token': requester.cancelToken });
  // Meanwhile reads and sockets answer (about 0.1 s here, with two writes retrying), not after the writers' 1.5 s (before: 5 s each, in turn).
  const health = await call(srv.port, 'GET', '/healthz');
  const read = await call(srv.port, 'GET', `/api/tasks/${task.id}`);
  const s = await openSocket(srv.port);
  const t0 = performance.now();
  s.send({ type: 'ping' });
  await s.next((m) => m.type === 'pong');
  const pongMs = performance.now() - t0;
  const [p, d] = await Promise.all([post, del]);
  lock.release();
  if (process.env.DEBUG_RZ) console.log({ health: health.ms, read: read.ms, pongMs });
  assert.is(health.status, 200);
  assert.ok(health.ms < 1000, `healthz answered in ${health.ms.toFixed(0)} ms while a write waited for the lock`);
  assert.ok(read.ms < 1000, `a task read answered in ${read.ms.toFixed(0)} ms`);
  assert.ok(pongMs < 1000, `the socket answered in ${pongMs.toFixed(0)} ms`);
  for (const r of [p, d]) {
    assert.is(r.status, 503);
    assert.ok(Number(r.headers['retry-after']) >= 1, 'Retry-After');
    assert.is(r.json.error.code, 'INTERNAL');
    assert.match(r.json.error.message, /busy.*try again/i);
  }
  assert.is(srv.tasks.get(task.id)!.status, 'QUEUED', 'the refused cancel changed nothing');
  s.close();
  await srv.close();
});

test('a lock released within the wait: the write goes through', async () => {
  const srv = await liveServer({ busyRetryMs: 3000 });
  const lock = holdLock(srv.dir);
  const post = call(srv.port, 'POST', '/api/mosaics', { username: 'dave' });
  await new Promise((r) => setTimeout(r, 400)); // the lock's holder, not a synchronisation: the POST must wait it out
  lock.release();
  const r = await post;
  assert.is(r.status, 202, JSON.stringify(r.json));
  assert.ok(r.ms >= 350);
  await srv.close();
});

test('the export upload waits out a busy database too, and is a 503 (not a 500) when it cannot', async () => {
  const srv = await liveServer({ busyRetryMs: 1000 });
  const zip = exportZip(defaultMembers(new Date(2026, 10, 15, 12)).find((m) => m.username === 'dave')!);
  const upload = () => call(srv.port, 'POST', '/api/users/dave/export', zip, { 'content-type': 'application/zip' });
  let lock = holdLock(srv.dir);
  const refused = await upload();
  lock.release();
  assert.is(refused.status, 503, JSON.stringify(refused.json));
  assert.match(refused.json.error.message, /busy/);
  lock = holdLock(srv.dir);
  const pending = upload();
  await new Promise((r) => setTimeout(r, 300)); // the other program's turn: the upload must outwait it
  lock.release();
  const r = await pending;
  assert.is(r.status, 200, JSON.stringify(r.json));
  assert.is(r.json.import.username, 'dave');
  await srv.close();
});

test.run();
