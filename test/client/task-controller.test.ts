import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { Task } from '../../common/task.js';
import { ApiError } from '../../client/api.js';
import type { LiveStatus, LiveUpdate } from '../../client/live.js';
import { isNewer, POLL_MS, TaskController } from '../../client/controllers/task-controller.js';
import { FakeTimers } from '../helpers/fakeTimers.js';

function task(over: Partial<Task> = {}): Task {
  return {
    id: 'a',
    action: 'create_mosaic',
    username: 'dave',
    params: { mode: 'month', month: '2026-11', layout: 'classic', format: 'jpeg' },
    status: 'RUNNING',
    stage: 'downloading',
    progressMsg: 'Posters 3 of 10',
    progress: { done: 3, total: 10 },
    queuePosition: null,
    errorCode: null,
    errorMsg: null,
    createdAt: '2026-11-20T10:00:00.000Z',
    updatedAt: '2026-11-20T10:00:03.000Z',
    resultUrl: null,
    ...over,
  };
}

class Host implements ReactiveControllerHost {
  controllers: ReactiveController[] = [];
  updates = 0;
  addController(c: ReactiveController) {
    this.controllers.push(c);
  }
  removeController() {}
  requestUpdate() {
    this.updates++;
  }
  get updateComplete() {
    return Promise.resolve(true);
  }
}

class FakeLive {
  status: LiveStatus = 'open';
  handlers = new Map<string, (u: LiveUpdate) => void>();
  statusListeners = new Set<(s: LiveStatus) => void>();
  subscribe(id: string, h: (u: LiveUpdate) => void) {
    this.handlers.set(id, h);
    return () => this.handlers.delete(id);
  }
  onStatus(l: (s: LiveStatus) => void) {
    this.statusListeners.add(l);
    return () => this.statusListeners.delete(l);
  }
  setStatus(s: LiveStatus) {
    this.status = s;
    for (const l of this.statusListeners) l(s);
  }
  push(id: string, u: LiveUpdate) {
    this.handlers.get(id)?.(u);
  }
}

/** An API whose answers the test hands out one by one. */
class FakeApi {
  calls: string[] = [];
  answers: (Task | ApiError)[] = [];
  async getTask(id: string): Promise<Task> {
    this.calls.push(id);
    const a = this.answers.shift();
    if (!a) throw new ApiError('NETWORK', 'down', 0);
    if (a instanceof ApiError) throw a;
    return a;
  }
}

const flush = () => new Promise<void>((r) => setImmediate(r));

function setup() {
  const host = new Host();
  const live = new FakeLive();
  const api = new FakeApi();
  const timers = new FakeTimers();
  const finished: Task[] = [];
  const c = new TaskController(host, 'a', { api, live, timers, onFinished: (t) => finished.push(t) });
  return { host, live, api, timers, finished, c };
}

test('isNewer: newer updatedAt wins; a finished task never goes back', () => {
  const running = task();
  assert.ok(isNewer(null, running));
  assert.ok(isNewer(running, task({ updatedAt: '2026-11-20T10:00:04.000Z' })));
  assert.ok(isNewer(running, task()), 'equal time: take it (queue position refreshes)');
  assert.not.ok(isNewer(running, task({ updatedAt: '2026-11-20T10:00:02.000Z' })));
  const done = task({ status: 'COMPLETE', stage: 'done', updatedAt: '2026-11-20T10:00:09.000Z' });
  assert.not.ok(isNewer(done, task({ updatedAt: '2026-11-20T10:00:10.000Z' })));
});

test('first paint from REST, then live events; a slow REST answer cannot roll back', async () => {
  const t = setup();
  assert.is(t.host.controllers[0], t.c);
  t.api.answers.push(task());
  t.c.hostConnected();
  await flush();
  assert.is(t.c.task?.progress?.done, 3);
  t.live.push('a', { type: 'task', seq: 9, task: task({ progress: { done: 7, total: 10 }, updatedAt: '2026-11-20T10:00:07.000Z' }) });
  assert.is(t.c.task?.progress?.done, 7);
  t.api.answers.push(task({ progress: { done: 5, total: 10 }, updatedAt: '2026-11-20T10:00:05.000Z' }));
  await t.c.refresh();
  assert.is(t.c.task?.progress?.done, 7);
  assert.ok(t.host.updates >= 2);
});

test('queue positions update a queued task', async () => {
  const t = setup();
  t.api.answers.push(task({ status: 'QUEUED', stage: 'queued', queuePosition: 4 }));
  t.c.hostConnected();
  await flush();
  t.live.push('a', { type: 'queue', position: 2 });
  assert.is(t.c.task?.queuePosition, 2);
});

test('onFinished fires once, for the terminal event', async () => {
  const t = setup();
  t.api.answers.push(task());
  t.c.hostConnected();
  await flush();
  const done = task({
    status: 'ERROR',
    stage: 'collecting',
    errorCode: 'USER_NOT_FOUND',
    errorMsg: 'No member "dave".',
    updatedAt: '2026-11-20T10:00:08.000Z',
  });
  t.live.push('a', { type: 'task', seq: 10, task: done });
  t.api.answers.push(done);
  await t.c.refresh();
  assert.is(t.finished.length, 1);
  assert.is(t.finished[0].errorCode, 'USER_NOT_FOUND');
});

test('while the socket is down, REST polls; when it is back, polling stops', async () => {
  const t = setup();
  t.api.answers.push(task());
  t.c.hostConnected();
  await flush();
  assert.equal(t.api.calls, ['a']);
  t.live.setStatus('waiting');
  t.api.answers.push(task({ progress: { done: 4, total: 10 }, updatedAt: '2026-11-20T10:00:04.000Z' }));
  t.timers.advance(0);
  await flush();
  assert.is(t.c.task?.progress?.done, 4);
  assert.equal(t.timers.delays(), [POLL_MS]);
  // No answer at all: offline, and polling goes on.
  t.timers.advance(POLL_MS);
  await flush();
  assert.ok(t.c.offline);
  assert.equal(t.timers.delays(), [POLL_MS]);
  t.live.setStatus('open');
  t.live.push('a', { type: 'task', seq: 3, task: task({ progress: { done: 6, total: 10 }, updatedAt: '2026-11-20T10:00:06.000Z' }) });
  assert.not.ok(t.c.offline);
  const before = t.api.calls.length;
  t.timers.advance(POLL_MS * 3);
  await flush();
  assert.is(t.api.calls.length, before, 'the pending poll sees the open socket and stands down');
  assert.equal(t.timers.delays(), []);
});

test('an unknown task is an error, and the socket’s TASK_NOT_FOUND is checked against REST', async () => {
  const t = setup();
  t.api.answers.push(new ApiError('TASK_NOT_FOUND', 'No such task.', 404));
  t.c.hostConnected();
  await flush();
  assert.is(t.c.error?.code, 'TASK_NOT_FOUND');
  const t2 = setup();
  t2.api.answers.push(task());
  t2.c.hostConnected();
  await flush();
  t2.api.answers.push(task());
  t2.live.push('a', { type: 'error', code: 'TASK_NOT_FOUND', message: 'gone?' });
  await flush();
  assert.is(t2.c.error, null, 'REST still knows it');
  assert.equal(t2.api.calls, ['a', 'a']);
});

test('setTaskId follows another task and drops the old subscription', async () => {
  const t = setup();
  t.api.answers.push(task());
  t.c.hostConnected();
  await flush();
  t.api.answers.push(task({ id: 'b' }));
  t.c.setTaskId('b');
  await flush();
  assert.ok(t.live.handlers.has('b'));
  assert.not.ok(t.live.handlers.has('a'));
  assert.is(t.c.task?.id, 'b');
  t.c.hostDisconnected();
  assert.is(t.live.handlers.size, 0);
  assert.is(t.live.statusListeners.size, 0);
});

test.run();
