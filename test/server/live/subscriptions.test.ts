/**
 * A subscription's start is read asynchronously through the storage port (LiveFeed.replay), so the feed
 * may publish the task's events while it is being read. Over the real server and database file, with
 * the read held open by hand: events committed after the read are sent after the replay, events the
 * read already holds are not sent twice, and everything arrives in seq order.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ServerMessage } from '../../../common/protocol.js';
import { createEventStore } from '../../../db/sqlite/events.js';
import type { TaskReplay } from '../../../db/port.js';
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

test.run();
