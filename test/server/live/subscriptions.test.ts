/**
 * A subscription's start is read asynchronously through the storage port (LiveFeed.replay), so the feed
 * may publish the task's events while it is being read. Over the real server and database file, with
 * the read held open by hand: events committed after the read are sent after the replay, events the
 * read already holds are not sent twice, and everything arrives in seq order. Then the same hand-over
 * turn by turn, without a server.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ServerMessage } from '../../../common/protocol.js';
import { createEventStore } from '../../../db/sqlite/events.js';
import { WebSocket } from 'ws';
import type { EventType, Task } from '../../../common/task.js';
import { silentLogger } from '../../../common/log.js';
import type { TaskEvent, TaskReplay } from '../../../db/port.js';
import { LiveSocket } from '../../../server/live/socket.js';
import { createSubscriptions } from '../../../server/live/subscriptions.js';
import { cleanup, liveServer, openSocket, type LiveServer, type TestSocket } from '../../helpers/server.js';

test.after.each(cleanup);

const seqs = (ms: ServerMessage[]) => ms.map((m) => (m.type === 'task' ? m.seq : -1));

/** Replays that wait for `open()` before (`readFirst: false`) or after (`readFirst: true`) reading. */
function gateReplays(w: LiveServer, readFirst: boolean) {
  const real = w.storage.feed.replay.bind(w.storage.feed);
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let entered!: () => void;
  const reading = new Promise<void>((resolve) => (entered = resolve));
  w.storage.feed.replay = async (taskId: string, after?: number): Promise<TaskReplay | null> => {
    const early = readFirst ? await real(taskId, after) : null;
    entered();
    await gate;
    return readFirst ? early : real(taskId, after);
  };
  return { open, reading };
}

async function settle(s: TestSocket): Promise<ServerMessage[]> {
  s.send({ type: 'ping' });
  await s.next((m) => m.type === 'pong');
  return s.messages.splice(0);
}

for (const readFirst of [true, false]) {
  test(`events published while a subscription is read (${readFirst ? 'after' : 'before'} the read) arrive once, in seq order`, async () => {
    const w = await liveServer({ startFeed: false });
    const task = w.tasks.enqueueRaw('steps', 'dave', '{}');
    await w.poll(); // the feed's cursor is past the created event
    const { open, reading } = gateReplays(w, readFirst);
    const s = await openSocket(w.port);
    s.send({ type: 'subscribe', taskId: task.id, after: 0 });
    await reading;
    // The worker moves on and the feed publishes while the subscription's read is still open.
    const [claimed] = w.tasks.claim('w', 1);
    w.tasks.progress(claimed.id, claimed.leaseToken, 'downloading', 1, 2, 'Poster 1 of 2');
    await w.poll();
    open();
    const got = await settle(s);
    const stored = createEventStore(w.db).listTaskAfter(task.id, 0);
    assert.equal(
      stored.map((e) => e.type),
      ['created', 'claimed', 'progress'],
    );
    assert.equal(
      seqs(got),
      stored.map((e) => e.seq),
      'each event once, in order, none lost',
    );
    // And live delivery carries on from there.
    w.tasks.progress(claimed.id, claimed.leaseToken, 'downloading', 2, 2, 'Poster 2 of 2');
    await w.poll();
    const next = await s.next();
    assert.is(next.type === 'task' && next.seq, createEventStore(w.db).latestForTask(task.id)!.seq);
    s.close();
    await w.close();
  });
}

/** A LiveSocket over a stand-in for ws that records what is sent. */
function fakeSocket(): { socket: LiveSocket; sent: ServerMessage[] } {
  const sent: ServerMessage[] = [];
  const ws = { readyState: WebSocket.OPEN, bufferedAmount: 0, send: (t: string) => sent.push(JSON.parse(t) as ServerMessage) };
  const limits = { maxBufferedBytes: 1 << 20, maxBurstBytes: 1 << 23 };
  return { socket: new LiveSocket(ws as unknown as WebSocket, 'k', limits, silentLogger, () => {}), sent };
}

/**
 * The same hand-over without a server, turn by turn: a publish whose first event waits for a queue
 * position (a QUEUED event of another followed task) and whose second belongs to the task being
 * subscribed, started 0 to 8 microtask hops before that subscription's read resolves. Each timing
 * must deliver the subscriber both the replayed event and the published one.
 */
test('an event published in any turn around the end of a subscription’s read is delivered, never dropped', async () => {
  const task = (id: string, status: Task['status']) => ({ id, status }) as Task;
  const event = (seq: number, taskId: string, status: Task['status'], type: EventType): TaskEvent => ({
    seq,
    taskId,
    type,
    task: task(taskId, status),
    createdAt: 0,
  });
  for (let hops = 0; hops <= 8; hops++) {
    let resolveReplay!: (r: TaskReplay) => void;
    const subs = createSubscriptions({
      feed: {
        replay: (id) =>
          id === 'x'
            ? new Promise<TaskReplay>((resolve) => (resolveReplay = resolve))
            : Promise.resolve({ kind: 'replay', task: task(id, 'QUEUED'), events: [] }),
      },
      tasks: { queuedIds: async () => ['y'] },
    });
    const { socket, sent } = fakeSocket();
    await subs.subscribe(socket, 'y', 0);
    const subscribing = subs.subscribe(socket, 'x', 10);
    await new Promise((resolve) => setImmediate(resolve)); // x's read is under way
    const publishing = subs.publish([event(12, 'y', 'QUEUED', 'released'), event(13, 'x', 'RUNNING', 'progress')]);
    for (let i = 0; i < hops; i++) await Promise.resolve();
    resolveReplay({ kind: 'replay', task: task('x', 'RUNNING'), events: [event(11, 'x', 'RUNNING', 'claimed')] });
    await Promise.all([subscribing, publishing]);
    const ofX = sent.flatMap((m) => (m.type === 'task' && m.task.id === 'x' ? [m.seq] : []));
    assert.equal(ofX, [11, 13], `publish ${hops} microtask hops before the read resolved`);
  }
});

test('a failed read of queue positions sends the batch without them, not nothing', async () => {
  let failing = false;
  const subs = createSubscriptions({
    feed: { replay: async (id) => ({ kind: 'replay', task: { id, status: 'QUEUED' } as Task, events: [] }) },
    tasks: {
      queuedIds: async () => {
        if (failing) throw new Error('connection lost');
        return ['q'];
      },
    },
  });
  const { socket, sent } = fakeSocket();
  await subs.subscribe(socket, 'q', 0);
  await subs.subscribe(socket, 'r', 0);
  failing = true;
  const at = (seq: number, id: string, status: Task['status']): TaskEvent => ({
    seq,
    taskId: id,
    type: 'claimed',
    task: { id, status } as Task,
    createdAt: 0,
  });
  await subs.publish([at(5, 'q', 'QUEUED'), at(6, 'r', 'RUNNING')]);
  assert.equal(
    sent.flatMap((m) => (m.type === 'task' ? [[m.seq, m.task.queuePosition]] : [])),
    [
      [5, null],
      [6, null],
    ],
  );
});

test.run();
