/**
 * The live socket in process: a real ws server on port 0 over a real database file; this test plays
 * the worker (writing through the task store) and drives the feed watcher by hand, so every step is
 * deterministic.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { TaskStore } from '../../../db/sqlite/tasks.js';
import { createEventStore } from '../../../db/sqlite/events.js';
import type { ServerMessage } from '../../../common/protocol.js';
import { WS_MAX_SUBSCRIPTIONS } from '../../../common/protocol.js';
import type { ServerDeps } from '../../../server/server.js';
import { cleanup, liveServer, openSocket, request, type LiveServer, type TestSocket } from '../../helpers/server.js';

test.after.each(cleanup);

type World = LiveServer;

const world = (options: Partial<ServerDeps> = {}) => liveServer({ startFeed: false, ...options });

const taskMsg = (m: ServerMessage) => m.type === 'task';
const seqs = (ms: ServerMessage[]) => ms.map((m) => (m.type === 'task' ? m.seq : -1));

/** Claims the oldest queued task and writes `n` progress events for it. */
function runSome(tasks: TaskStore, n: number) {
  const [claimed] = tasks.claim('w', 1);
  for (let i = 1; i <= n; i++) tasks.progress(claimed.id, claimed.leaseToken, 'downloading', i, n, `Poster ${i} of ${n}`);
  return claimed;
}

async function collect(s: TestSocket, n: number): Promise<ServerMessage[]> {
  const out: ServerMessage[] = [];
  for (let i = 0; i < n; i++) out.push(await s.next());
  return out;
}

/** Round-trips a ping: every message the server sent before the pong has arrived by then. */
async function settle(s: TestSocket): Promise<void> {
  s.send({ type: 'ping' });
  await s.next((m) => m.type === 'pong');
}

test('subscribe without after: one snapshot carrying the latest seq and the queue position', async () => {
  const w = await world();
  w.tasks.enqueueRaw('steps', 'erin', '{}');
  const task = w.tasks.enqueueRaw('steps', 'dave', '{}');
  const s = await openSocket(w.port);
  s.send({ type: 'subscribe', taskId: task.id });
  const m = await s.next();
  assert.is(m.type, 'task');
  if (m.type !== 'task') return;
  assert.is(m.seq, createEventStore(w.db).latestForTask(task.id)!.seq);
  assert.is(m.task.id, task.id);
  assert.is(m.task.queuePosition, 2);
  await settle(s);
  assert.equal(s.messages, [], 'nothing else');
  s.close();
  await w.close();
});

test('subscribe after:0 replays the whole history in order, then live events follow with no gap', async () => {
  const w = await world();
  const task = w.tasks.enqueueRaw('steps', 'dave', '{}');
  const claimed = runSome(w.tasks, 3);
  const s = await openSocket(w.port);
  s.send({ type: 'subscribe', taskId: task.id, after: 0 });
  const replay = await collect(s, 5);
  const stored = createEventStore(w.db).listTaskAfter(task.id, 0);
  assert.equal(
    seqs(replay),
    stored.map((e) => e.seq),
  );
  assert.equal(
    replay.map((m) => m.type === 'task' && m.task.status),
    ['QUEUED', 'RUNNING', 'RUNNING', 'RUNNING', 'RUNNING'],
  );
  w.tasks.progress(claimed.id, claimed.leaseToken, 'building', null, null, 'Drawing');
  w.tasks.complete(claimed.id, claimed.leaseToken);
  await w.poll();
  const live = await collect(s, 2);
  const all = createEventStore(w.db).listTaskAfter(task.id, 0);
  assert.equal(
    seqs([...replay, ...live]),
    all.map((e) => e.seq),
  );
  const last = live[1];
  assert.ok(last.type === 'task' && last.task.status === 'COMPLETE' && last.task.resultUrl === `/api/tasks/${task.id}/result`);
  s.close();
  await w.close();
});

test('replay and live delivery overlapping: every seq exactly once, in order', async () => {
  const w = await world();
  const task = w.tasks.enqueueRaw('steps', 'dave', '{}');
  await w.poll(); // the feed's cursor is past the created event
  const claimed = runSome(w.tasks, 4); // committed, not yet polled
  const s = await openSocket(w.port);
  s.send({ type: 'subscribe', taskId: task.id, after: 0 });
  await settle(s); // the replay (which read all 6 events) has arrived
  w.tasks.progress(claimed.id, claimed.leaseToken, 'building', 1, 1, 'Drawing');
  await w.poll(); // delivers the 4 progress events again (skipped) and the new one
  w.tasks.complete(claimed.id, claimed.leaseToken);
  await w.poll();
  await settle(s);
  const got = s.messages.filter(taskMsg);
  const all = createEventStore(w.db)
    .listTaskAfter(task.id, 0)
    .map((e) => e.seq);
  assert.equal(seqs(got), all);
  s.close();
  await w.close();
});

test('after: resumes from the given seq; a pruned or foreign cursor gets a snapshot instead', async () => {
  const w = await world();
  const task = w.tasks.enqueueRaw('steps', 'dave', '{}');
  runSome(w.tasks, 4);
  const events = createEventStore(w.db);
  const stored = events.listTaskAfter(task.id, 0).map((e) => e.seq);

  const s = await openSocket(w.port);
  s.send({ type: 'subscribe', taskId: task.id, after: stored[2] });
  assert.equal(seqs(await collect(s, 3)), stored.slice(3));
  s.send({ type: 'subscribe', taskId: task.id, after: stored[5] });
  await settle(s);
  assert.equal(s.messages, [], 'up to date: nothing to replay');

  // Prune the task's two oldest events (as the 7-day pruning would).
  w.db.prepare(`DELETE FROM task_events WHERE seq IN (?, ?)`).run(stored[0], stored[1]);
  s.send({ type: 'subscribe', taskId: task.id, after: 0 });
  const snap = await s.next();
  assert.ok(snap.type === 'task' && snap.seq === stored[5] && snap.task.progress?.done === 4, 'one snapshot at the latest seq');
  s.send({ type: 'subscribe', taskId: task.id, after: stored[2] });
  assert.equal(seqs(await collect(s, 3)), stored.slice(3), 'a cursor past the pruned part still replays');
  // A cursor from another database (larger than anything this task has): snapshot, and live events still flow.
  s.send({ type: 'subscribe', taskId: task.id, after: 1_000_000 });
  const again = await s.next();
  assert.ok(again.type === 'task' && again.seq === stored[5]);
  await settle(s);
  assert.equal(s.messages, []);
  s.close();
  await w.close();
});

test('queue positions: pushed to subscribers of queued tasks when the queue moves, not on progress', async () => {
  const w = await world();
  const a = w.tasks.enqueueRaw('steps', 'a_a', '{}');
  const b = w.tasks.enqueueRaw('steps', 'b_b', '{}');
  const c = w.tasks.enqueueRaw('steps', 'c_c', '{}');
  await w.poll();
  const s = await openSocket(w.port);
  s.send({ type: 'subscribe', taskId: c.id });
  const first = await s.next();
  assert.ok(first.type === 'task' && first.task.queuePosition === 3);
  const claimed = runSome(w.tasks, 2);
  assert.is(claimed.id, a.id);
  await w.poll();
  assert.equal(await s.next(), { type: 'queue', taskId: c.id, position: 2 });
  w.tasks.cancel(b.id);
  await w.poll();
  assert.equal(await s.next(), { type: 'queue', taskId: c.id, position: 1 });
  w.tasks.progress(claimed.id, claimed.leaseToken, 'building', 1, 1, 'Drawing');
  await w.poll();
  await settle(s);
  assert.equal(s.messages, [], 'progress elsewhere moves nothing');
  // The task's own events carry its position too.
  const claimedC = w.tasks.claim('w', 1)[0];
  await w.poll();
  const running = await s.next();
  assert.ok(running.type === 'task' && running.task.status === 'RUNNING' && running.task.queuePosition === null && claimedC.id === c.id);
  s.close();
  await w.close();
});

test('unsubscribe stops delivery; other sockets keep theirs', async () => {
  const w = await world();
  const task = w.tasks.enqueueRaw('steps', 'dave', '{}');
  await w.poll();
  const s1 = await openSocket(w.port);
  const s2 = await openSocket(w.port);
  for (const s of [s1, s2]) {
    s.send({ type: 'subscribe', taskId: task.id });
    await s.next(taskMsg);
  }
  s1.send({ type: 'unsubscribe', taskId: task.id });
  s1.send({ type: 'unsubscribe', taskId: task.id }); // twice is fine
  await settle(s1);
  runSome(w.tasks, 1);
  await w.poll();
  assert.is((await collect(s2, 2)).length, 2);
  await settle(s1);
  assert.equal(s1.messages, []);
  assert.equal(w.server.hub.stats(), { sockets: 2, subscriptions: 1 });
  s1.close();
  s2.close();
  await Promise.all([s1.closed, s2.closed]);
  await w.close();
});

test('bad messages get an error and the socket stays open; unknown tasks are TASK_NOT_FOUND', async () => {
  const w = await world();
  const s = await openSocket(w.port);
  const bad: unknown[] = [
    'not json',
    '[1,2]',
    'null',
    '"ping"',
    {},
    { type: 'dance' },
    { type: 'subscribe' },
    { type: 'subscribe', taskId: 42 },
    { type: 'subscribe', taskId: '../../etc' },
    { type: 'subscribe', taskId: 'x'.repeat(65) },
    { type: 'subscribe', taskId: 'not-a-uuid' },
    { type: 'subscribe', taskId: '00000000-0000-4000-8000-000000000000', after: -1 },
    { type: 'subscribe', taskId: '00000000-0000-4000-8000-000000000000', after: 1.5 },
    { type: 'subscribe', taskId: '00000000-0000-4000-8000-000000000000', after: '3' },
    { type: 'unsubscribe' },
  ];
  for (const m of bad) {
    s.send(m);
    const e = await s.next();
    assert.ok(e.type === 'error' && e.code === 'INVALID_MESSAGE' && e.message.length > 10, JSON.stringify(m));
  }
  s.ws.send(Buffer.from([1, 2, 3]), { binary: true });
  const binary = await s.next();
  assert.ok(binary.type === 'error' && binary.code === 'INVALID_MESSAGE');
  s.send({ type: 'subscribe', taskId: '00000000-0000-4000-8000-000000000000' });
  assert.equal(await s.next(), {
    type: 'error',
    code: 'TASK_NOT_FOUND',
    message: 'There is no mosaic task with this id. It may have been cleaned up; start a new mosaic.',
    taskId: '00000000-0000-4000-8000-000000000000',
  });
  await settle(s);
  assert.is(s.ws.readyState, s.ws.OPEN);
  s.close();
  await w.close();
});

test(`at most ${WS_MAX_SUBSCRIPTIONS} subscriptions per socket: TOO_MANY_SUBSCRIPTIONS, socket open`, async () => {
  const w = await world();
  const ids = Array.from({ length: WS_MAX_SUBSCRIPTIONS + 1 }, (_, i) => w.tasks.enqueueRaw('steps', `u${i}`, '{}').id);
  const s = await openSocket(w.port);
  for (const id of ids.slice(0, WS_MAX_SUBSCRIPTIONS)) s.send({ type: 'subscribe', taskId: id });
  await collect(s, WS_MAX_SUBSCRIPTIONS);
  s.send({ type: 'subscribe', taskId: ids[WS_MAX_SUBSCRIPTIONS] });
  const e = await s.next();
  assert.ok(e.type === 'error' && e.code === 'TOO_MANY_SUBSCRIPTIONS' && e.taskId === ids[WS_MAX_SUBSCRIPTIONS]);
  s.send({ type: 'subscribe', taskId: ids[0] }); // re-subscribing is not a new one
  assert.is((await s.next()).type, 'task');
  s.send({ type: 'unsubscribe', taskId: ids[0] });
  s.send({ type: 'subscribe', taskId: ids[WS_MAX_SUBSCRIPTIONS] });
  assert.is((await s.next()).type, 'task');
  assert.equal(w.server.hub.stats(), { sockets: 1, subscriptions: WS_MAX_SUBSCRIPTIONS });
  s.close();
  await w.close();
});

test('upgrade refused before the handshake: cross-origin, no Origin, foreign Host, other paths', async () => {
  const w = await world();
  const host = `127.0.0.1:${w.port}`;
  const refusals: [Parameters<typeof openSocket>[1], number][] = [
    [{ origin: 'http://evil.example' }, 403],
    [{ origin: `http://127.0.0.1:${w.port + 1}` }, 403],
    [{ origin: `http://localhost:${w.port}` }, 403], // same machine, other origin
    [{ origin: 'null' }, 403],
    [{ origin: null }, 403],
    [{ host: 'evil.example', origin: 'http://evil.example' }, 403],
    [{ path: '/socket' }, 404],
    [{ path: '/api/ws' }, 404],
  ];
  for (const [options, status] of refusals) {
    const err = await openSocket(w.port, options).then(
      () => null,
      (e: { status?: number }) => e,
    );
    assert.is(err?.status, status, JSON.stringify(options));
  }
  const ok = await openSocket(w.port, { host, origin: `http://${host}` });
  const viaName = await openSocket(w.port, { host: `raspberrypi.local:${w.port}`, origin: `http://raspberrypi.local:${w.port}` });
  ok.close();
  viaName.close();
  await w.close();
});

test('an oversized frame closes only that socket (1009); a flood of junk leaves the server healthy', async () => {
  const w = await world();
  const big = await openSocket(w.port);
  big.send({ type: 'ping', pad: 'x'.repeat(5000) });
  assert.is((await big.closed).code, 1009);

  const flood = await openSocket(w.port);
  const junk = [
    '{',
    '[]',
    '{"type":1}',
    '{"type":"subscribe","taskId":"a b"}',
    'x'.repeat(4000),
    '{"type":"subscribe","taskId":"00000000-0000-4000-8000-000000000000"}',
  ];
  for (let i = 0; i < 3000; i++) flood.send(junk[i % junk.length]);
  await settle(flood);
  const errors = flood.messages.filter((m) => m.type === 'error');
  assert.is(errors.length, 3000);
  assert.is((await request(w.port, '/healthz')).status, 200);
  const fresh = await openSocket(w.port);
  await settle(fresh);
  flood.close();
  fresh.close();
  await w.close();
});

test('heartbeat: a peer that stops answering pings is terminated; a live one stays', async () => {
  const w = await world({ heartbeatMs: 40 });
  const dead = await openSocket(w.port, { autoPong: false });
  const alive = await openSocket(w.port);
  let pings = 0;
  const fourPings = new Promise<void>((resolve) => alive.ws.on('ping', () => ++pings === 4 && resolve()));
  assert.is((await dead.closed).code, 1006, 'terminated, no close handshake');
  await fourPings;
  assert.is(alive.ws.readyState, alive.ws.OPEN);
  assert.is(w.server.hub.stats().sockets, 1);
  alive.close();
  await w.close();
});

/** Inserts `n` fat events (~4 KiB each) for a task straight into the feed, in one transaction. */
function fatEvents(w: World, taskId: string, n: number): void {
  const row = createEventStore(w.db).latestForTask(taskId)!;
  const insert = w.db.prepare(`INSERT INTO task_events (task_id, type, payload, created_at) VALUES (?, 'progress', ?, ?)`);
  const payload = JSON.stringify({ ...row.task, progressMsg: 'x'.repeat(4000) });
  w.db.transaction(() => {
    for (let i = 0; i < n; i++) insert.run(taskId, payload, Date.now());
    // As db/tasks.ts does for every event: the task row knows its latest seq.
    w.db.prepare(`UPDATE tasks SET last_seq = (SELECT max(seq) FROM task_events) WHERE id = ?`).run(taskId);
  })();
}

function pausedSocket(s: TestSocket): { pause(): void; resume(): void } {
  return (s.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
}

test('a consumer that stops reading is closed (1013) once its backlog outlives a turn, and resumes with no gap', async () => {
  const w = await world({ maxBufferedBytes: 64 * 1024 });
  const task = w.tasks.enqueueRaw('steps', 'dave', '{}');
  // ~4 MB: more than the kernel's socket buffers take while the client does not read.
  fatEvents(w, task.id, 1000);
  await w.poll();
  const slow = await openSocket(w.port);
  pausedSocket(slow).pause();
  slow.send({ type: 'subscribe', taskId: task.id, after: 0 });
  const other = await openSocket(w.port);
  await settle(other); // the replay has been queued; the server answers others meanwhile
  assert.is(w.server.hub.stats().sockets, 2, 'one burst alone is not a reason to close');
  const claimed = w.tasks.claim('w', 1)[0];
  for (let i = 0; i < 5; i++) {
    w.tasks.progress(claimed.id, claimed.leaseToken, 'downloading', i, 5, `Poster ${i}`);
    await w.poll();
  }
  assert.is(w.server.hub.stats().sockets, 1, 'still behind on a later turn: closed');
  pausedSocket(slow).resume();
  assert.is((await slow.closed).code, 1013);
  const got = slow.messages.filter(taskMsg);
  const last = (got[got.length - 1] as { seq: number }).seq;
  const again = await openSocket(w.port);
  again.send({ type: 'subscribe', taskId: task.id, after: last });
  await settle(again);
  const all = createEventStore(w.db)
    .listTaskAfter(task.id, 0, 5000)
    .map((e) => e.seq);
  assert.equal([...seqs(got), ...seqs(again.messages.filter(taskMsg))], all, 'every seq once, in order');
  other.close();
  again.close();
  await w.close();
});

test('one turn queues at most maxBurstBytes for a socket', async () => {
  const w = await world({ maxBurstBytes: 256 * 1024 });
  const task = w.tasks.enqueueRaw('steps', 'dave', '{}');
  fatEvents(w, task.id, 200); // ~800 KB of replay
  const s = await openSocket(w.port);
  s.send({ type: 'subscribe', taskId: task.id, after: 0 });
  assert.is((await s.closed).code, 1013);
  const got = s.messages.filter(taskMsg).length;
  assert.ok(got > 50 && got < 80, `${got} events (~256 KB) before the close`);
  await w.close();
});

test.run();
