import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ClientMessage, ServerMessage } from '../../common/protocol.js';
import type { Task } from '../../common/task.js';
import { LiveClient, socketUrl, type LiveStatus, type LiveUpdate, type SocketLike } from '../../client/live.js';
import { FakeTimers } from '../helpers/fakeTimers.js';

class FakeSocket implements SocketLike {
  readyState = 0;
  sent: ClientMessage[] = [];
  closed = false;
  onopen: SocketLike['onopen'] = null;
  onmessage: SocketLike['onmessage'] = null;
  onclose: SocketLike['onclose'] = null;
  onerror: SocketLike['onerror'] = null;
  constructor(readonly url: string) {}
  send(data: string): void {
    this.sent.push(JSON.parse(data) as ClientMessage);
  }
  close(): void {
    this.closed = true;
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(msg: ServerMessage | string): void {
    this.onmessage?.({ data: typeof msg === 'string' ? msg : JSON.stringify(msg) });
  }
  drop(): void {
    this.readyState = 3;
    this.onerror?.({});
    this.onclose?.({});
  }
}

function task(id: string, over: Partial<Task> = {}): Task {
  return {
    id,
    action: 'create_mosaic',
    username: 'dave',
    params: { mode: 'month', month: '2026-11', layout: 'classic', format: 'jpeg' },
    status: 'RUNNING',
    stage: 'downloading',
    progressMsg: '',
    progress: { done: 1, total: 10 },
    queuePosition: null,
    errorCode: null,
    errorMsg: null,
    createdAt: '2026-11-20T10:00:00.000Z',
    updatedAt: '2026-11-20T10:00:01.000Z',
    resultUrl: null,
    ...over,
  };
}

function setup(random = () => 0.5) {
  const timers = new FakeTimers();
  const sockets: FakeSocket[] = [];
  const statuses: LiveStatus[] = [];
  const live = new LiveClient({
    url: 'wss://pi.local/ws',
    createSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    timers,
    random,
    backoff: { baseMs: 1000, capMs: 8000 },
    pingIntervalMs: 20_000,
    pongTimeoutMs: 5_000,
    idleCloseMs: 30_000,
  });
  live.onStatus((s) => statuses.push(s));
  const updates: LiveUpdate[] = [];
  return { timers, sockets, live, statuses, updates, last: () => sockets[sockets.length - 1] };
}

test('socketUrl follows the page protocol', () => {
  assert.is(socketUrl({ protocol: 'https:', host: 'pi.local:8443' }), 'wss://pi.local:8443/ws');
  assert.is(socketUrl({ protocol: 'http:', host: '192.168.1.5:8080' }), 'ws://192.168.1.5:8080/ws');
});

test('connects on the first subscription and subscribes without `after` (snapshot)', () => {
  const t = setup();
  assert.is(t.live.status, 'idle');
  t.live.subscribe('a', (u) => t.updates.push(u));
  assert.is(t.sockets.length, 1);
  assert.is(t.sockets[0].url, 'wss://pi.local/ws');
  assert.is(t.live.status, 'connecting');
  t.last().open();
  assert.equal(t.last().sent, [{ type: 'subscribe', taskId: 'a' }]);
  assert.equal(t.statuses, ['connecting', 'open']);
});

test('delivers task events in seq order and drops replayed duplicates', () => {
  const t = setup();
  t.live.subscribe('a', (u) => t.updates.push(u));
  t.last().open();
  t.last().receive({ type: 'task', seq: 5, task: task('a') });
  t.last().receive({ type: 'task', seq: 5, task: task('a') });
  t.last().receive({ type: 'task', seq: 4, task: task('a') });
  t.last().receive({ type: 'task', seq: 7, task: task('a', { stage: 'building' }) });
  t.last().receive({ type: 'task', seq: 8, task: task('other') });
  t.last().receive('not json');
  assert.equal(
    t.updates.map((u) => (u.type === 'task' ? u.seq : u.type)),
    [5, 7],
  );
});

test('routes queue positions and per-task errors to that task only', () => {
  const t = setup();
  const b: LiveUpdate[] = [];
  t.live.subscribe('a', (u) => t.updates.push(u));
  t.live.subscribe('b', (u) => b.push(u));
  t.last().open();
  assert.equal(t.last().sent, [
    { type: 'subscribe', taskId: 'a' },
    { type: 'subscribe', taskId: 'b' },
  ]);
  t.last().receive({ type: 'queue', taskId: 'a', position: 3 });
  t.last().receive({ type: 'error', code: 'TASK_NOT_FOUND', message: 'No such task.', taskId: 'b' });
  t.last().receive({ type: 'error', code: 'INVALID_MESSAGE', message: 'Bad.' });
  assert.equal(t.updates, [{ type: 'queue', position: 3 }]);
  assert.equal(b, [{ type: 'error', code: 'TASK_NOT_FOUND', message: 'No such task.' }]);
});

test('a late subscriber on an open socket subscribes at once', () => {
  const t = setup();
  t.live.subscribe('a', () => {});
  t.last().open();
  t.live.subscribe('b', () => {});
  assert.equal(t.last().sent.at(-1), { type: 'subscribe', taskId: 'b' });
  assert.is(t.sockets.length, 1, 'one socket for every task');
});

test('reconnects with full-jitter backoff and resumes from the last seq', () => {
  const t = setup(() => 0.5);
  t.live.subscribe('a', (u) => t.updates.push(u));
  t.last().open();
  t.last().receive({ type: 'task', seq: 12, task: task('a') });

  t.last().drop();
  assert.is(t.live.status, 'waiting');
  assert.equal(t.timers.delays(), [500], 'attempt 0: random 0.5 × ceiling 1000');
  t.timers.advance(499);
  assert.is(t.sockets.length, 1);
  t.timers.advance(1);
  assert.is(t.sockets.length, 2);

  // The new socket fails before it opens: the ceiling doubles.
  t.last().drop();
  assert.equal(t.timers.delays(), [1000], 'attempt 1: 0.5 × 2000');
  t.timers.advance(1000);
  t.last().drop();
  assert.equal(t.timers.delays(), [2000]);
  t.timers.advance(2000);

  t.last().open();
  assert.equal(t.last().sent, [{ type: 'subscribe', taskId: 'a', after: 12 }]);
  // Replay of what was missed, including the event already seen.
  t.last().receive({ type: 'task', seq: 12, task: task('a') });
  t.last().receive({ type: 'task', seq: 13, task: task('a') });
  assert.equal(
    t.updates.map((u) => (u.type === 'task' ? u.seq : 0)),
    [12, 13],
  );

  // A message proved the connection: the next drop starts the backoff over.
  t.last().drop();
  assert.equal(t.timers.delays(), [500]);
});

test('the backoff is capped', () => {
  const t = setup(() => 0.999);
  t.live.subscribe('a', () => {});
  for (let i = 0; i < 10; i++) {
    t.last().drop();
    const [d] = t.timers.delays();
    assert.ok(d <= 8000, `attempt ${i}: ${d}`);
    t.timers.advance(d);
  }
  assert.is(t.timers.delays()[0], undefined, 'connecting, no timer');
  t.last().drop();
  assert.is(t.timers.delays()[0], 7992);
});

test('a silent peer is detected by ping/pong and replaced', () => {
  const t = setup(() => 0);
  t.live.subscribe('a', () => {});
  t.last().open();
  t.timers.advance(20_000);
  assert.equal(t.last().sent.at(-1), { type: 'ping' });
  t.last().receive({ type: 'pong' });
  t.timers.advance(19_999);
  assert.is(t.sockets.length, 1, 'the pong re-armed the ping');
  t.timers.advance(1);
  assert.equal(t.last().sent.at(-1), { type: 'ping' });
  t.timers.advance(5_000);
  assert.ok(t.sockets[0].closed, 'dead socket closed');
  assert.is(t.sockets[0].onclose, null, 'and detached, so its late close event is ignored');
  t.timers.advance(0);
  assert.is(t.sockets.length, 2, 'reconnected (random 0 → no wait)');
});

test('reconnectNow skips the wait (back online, tab visible)', () => {
  const t = setup(() => 0.9);
  t.live.subscribe('a', () => {});
  t.last().drop();
  assert.is(t.sockets.length, 1);
  t.live.reconnectNow();
  assert.is(t.sockets.length, 2);
  assert.equal(t.timers.delays(), [], 'the backoff timer is gone');
  t.live.reconnectNow();
  assert.is(t.sockets.length, 2, 'no second socket while one is connecting');
});

test('the last unsubscribe unsubscribes, then closes the socket after the idle delay', () => {
  const t = setup();
  const stopA = t.live.subscribe('a', () => {});
  t.last().open();
  stopA();
  assert.equal(t.last().sent.at(-1), { type: 'unsubscribe', taskId: 'a' });
  t.timers.advance(10_000);
  // Another page subscribes in time: the same socket is reused.
  const stopB = t.live.subscribe('b', () => {});
  assert.equal(t.last().sent.at(-1), { type: 'subscribe', taskId: 'b' });
  stopB();
  t.timers.advance(30_000);
  assert.ok(t.sockets[0].closed);
  assert.is(t.live.status, 'idle');
  assert.is(t.sockets.length, 1, 'no reconnect without subscribers');
});

test('two handlers on one task share one subscription', () => {
  const t = setup();
  const a1: LiveUpdate[] = [];
  const a2: LiveUpdate[] = [];
  const stop1 = t.live.subscribe('a', (u) => a1.push(u));
  t.live.subscribe('a', (u) => a2.push(u));
  t.last().open();
  assert.is(t.last().sent.length, 1);
  t.last().receive({ type: 'task', seq: 1, task: task('a') });
  stop1();
  assert.is(t.last().sent.length, 1, 'still one handler left: no unsubscribe');
  t.last().receive({ type: 'task', seq: 2, task: task('a') });
  assert.is(a1.length, 1);
  assert.is(a2.length, 2);
});

test('a subscriber leaving while the socket waits to reconnect stops the retries', () => {
  const t = setup();
  const stop = t.live.subscribe('a', () => {});
  t.last().drop();
  assert.is(t.live.status, 'waiting');
  stop();
  assert.is(t.live.status, 'idle');
  t.timers.advance(60_000);
  assert.is(t.sockets.length, 1);
});

test.run();
