/**
 * Queue positions as the server reports them (server/queuePositions.ts), over a real database file:
 * position 1 is the task a worker claims next, background work has none, and one answer reads the queue
 * once however many positions it asks for.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { openDb } from '../../db/sqlite/open.js';
import { createTaskStore } from '../../db/sqlite/tasks.js';
import { createSqliteStorage } from '../../db/sqlite/index.js';
import { queuePositions, withQueuePosition } from '../../server/queuePositions.js';
import { fakeClock } from '../helpers/fakeClock.js';
import { tmpDir } from '../helpers/tmp.js';

function world() {
  const tmp = tmpDir();
  const db = openDb(join(tmp.dir, 'db.sqlite'));
  const clock = fakeClock();
  const tasks = createTaskStore(db, { clock });
  // The server reads positions through the storage port; the test writes under it, as a worker would.
  const queue = createSqliteStorage(db, { clock }).tasks;
  return { tasks, queue, clock, close: () => (db.close(), tmp.cleanup()) };
}

test('position 1 is the next task claimed, in claim order all the way down; background work has none', async () => {
  const w = world();
  const ids: string[] = [];
  // Twelve in one millisecond (ties: claimed in insertion order, whatever their random ids), then three later.
  for (let i = 0; i < 15; i++) {
    ids.push(w.tasks.enqueueRaw('steps', `u${i}`, '{}').id);
    if (i >= 11) w.clock.advance(1);
  }
  const poll = w.tasks.schedule('poll_feed', 'dave', w.clock.now());
  assert.ok(poll);
  const positionOf = queuePositions(w.queue);
  assert.is(await positionOf(poll.id), null, 'background work shows no position');
  const positions = new Map<string, number | null>();
  for (const id of ids) positions.set(id, await positionOf(id));
  const byPosition = [...ids].sort((a, b) => positions.get(a)! - positions.get(b)!);
  assert.equal(
    byPosition.map((id) => positions.get(id)),
    ids.map((_, i) => i + 1),
  );
  assert.equal(byPosition, ids, 'in the order they were queued');
  for (const expected of byPosition) {
    const [claimed] = w.tasks.claim('w', 1);
    assert.is(claimed.id, expected);
    assert.is(await queuePositions(w.queue)(claimed.id), null, 'a running task has no position');
  }
  w.close();
});

test('one answer reads the queue once, and only when a queued task asks', async () => {
  const w = world();
  const a = w.tasks.enqueueRaw('steps', 'a', '{}');
  w.clock.advance(1);
  const b = w.tasks.enqueueRaw('steps', 'b', '{}');
  let reads = 0;
  const counted = { queuedIds: () => (reads++, w.queue.queuedIds()) };
  const positionOf = queuePositions(counted);
  assert.is(reads, 0, 'nothing read until asked');
  assert.equal(await Promise.all([positionOf(a.id), positionOf(b.id), positionOf('nope')]), [1, 2, null]);
  assert.is(reads, 1);
  const [running] = w.tasks.claim('w', 1);
  reads = 0;
  assert.is((await withQueuePosition(counted, w.tasks.get(running.id)!)).queuePosition, null);
  assert.is(reads, 0, 'a task that is not queued costs no read');
  assert.is((await withQueuePosition(counted, w.tasks.get(b.id)!)).queuePosition, 1);
  assert.is(reads, 1);
  w.close();
});

test.run();
