import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { openDb } from '../../db/sqlite/open.js';
import { createTaskStore } from '../../db/sqlite/tasks.js';
import { createResultStore } from '../../db/sqlite/results.js';
import { createEventStore } from '../../db/sqlite/events.js';
import { createSqliteStorage } from '../../db/sqlite/index.js';
import { createWorkerLoop, type Action } from '../../worker/loop.js';
import { AppError } from '../../common/errors.js';
import { RetryLaterError } from '../../worker/retryLater.js';
import { systemClock } from '../../common/clock.js';
import { createLogger, silentLogger } from '../../common/log.js';
import { tmpDir } from '../helpers/tmp.js';
import { testActions } from '../helpers/testActions.js';
import { waitFor } from '../helpers/processes.js';

function setup(actions: Record<string, Action>, extra: Partial<Parameters<typeof createWorkerLoop>[0]> = {}) {
  const t = tmpDir();
  const db = openDb(join(t.dir, 'q.db'));
  // The loop works through the port; the tests seed and read under it.
  const storage = createSqliteStorage(db);
  const tasks = createTaskStore(db);
  const results = createResultStore(db);
  const loop = createWorkerLoop({
    tasks: storage.tasks,
    isBusy: storage.isBusy,
    actions,
    workerId: 'w1',
    concurrency: 2,
    clock: systemClock,
    log: silentLogger,
    cancelCheckMs: 20,
    ...extra,
  });
  return {
    db,
    storage,
    tasks,
    results,
    loop,
    cleanup: () => {
      db.close();
      t.cleanup();
    },
  };
}

test('runs an action to COMPLETE and stores its result', async () => {
  const s = setup(testActions);
  const id = s.tasks.enqueueRaw('steps', 'dave', JSON.stringify({ steps: 3, stepMs: 1 })).id;
  await s.loop.runUntilIdle();
  assert.is(s.tasks.get(id)!.status, 'COMPLETE');
  assert.is(s.results.image(id)!.image.toString(), `result of ${id}`);
  s.cleanup();
});

test('a finished task hands its slot to the next queued one in the same transaction, without another claim pass', async () => {
  const s = setup(testActions, { concurrency: 1 });
  const claims: string[] = [];
  const q = s.storage.tasks;
  const spied = {
    ...q,
    claim: (w: string, n: number) => (claims.push(`claim ${n}`), q.claim(w, n)),
    completeAndClaim: (...a: Parameters<typeof q.completeAndClaim>) => (
      claims.push(`completeAndClaim ${a[0].length}+${a[2]}`),
      q.completeAndClaim(...a)
    ),
  };
  const loop = createWorkerLoop({
    tasks: spied,
    isBusy: s.storage.isBusy,
    actions: testActions,
    workerId: 'w1',
    concurrency: 1,
    clock: systemClock,
    log: silentLogger,
  });
  const ids = [1, 2, 3].map((i) => s.tasks.enqueueRaw('steps', `u${i}`, JSON.stringify({ steps: 1, stepMs: 1 })).id);
  assert.is(await loop.runOnce(), 1, 'one slot: one task claimed by the pass');
  const events = createEventStore(s.db);
  // No more passes: only the hand-off can start tasks 2 and 3.
  await waitFor(() => s.tasks.get(ids[2])!.status === 'COMPLETE', 5000, 'the third task to complete');
  assert.equal(
    ids.map((id) => s.tasks.get(id)!.status),
    ['COMPLETE', 'COMPLETE', 'COMPLETE'],
  );
  assert.equal(
    claims,
    ['claim 1', 'completeAndClaim 1+1', 'completeAndClaim 1+1', 'completeAndClaim 1+1'],
    'the pass claims alone; each completion claims in its own transaction',
  );
  const feed = events
    .listAfter(0)
    .filter((e) => e.type === 'completed' || e.type === 'claimed')
    .map((e) => `${e.type} ${ids.indexOf(e.taskId) + 1}`);
  assert.equal(feed, ['claimed 1', 'completed 1', 'claimed 2', 'completed 2', 'claimed 3', 'completed 3']);
  assert.is(loop.runningCount(), 0);
  s.cleanup();
});

test('tasks that finish in the same turn share one commit; a completion that fails is undone alone', async () => {
  const s = setup(testActions);
  let transactions = 0;
  const q = s.storage.tasks;
  const spied = { ...q, completeAndClaim: (...a: Parameters<typeof q.completeAndClaim>) => (transactions++, q.completeAndClaim(...a)) };
  const loop = createWorkerLoop({
    tasks: spied,
    isBusy: s.storage.isBusy,
    actions: testActions,
    workerId: 'w1',
    concurrency: 2,
    clock: systemClock,
    log: silentLogger,
  });
  const ids = [1, 2, 3, 4].map((i) => s.tasks.enqueueRaw('steps', `u${i}`, JSON.stringify({ steps: 0 })).id);
  // The database itself refuses the third task's result, inside the completing transaction.
  s.db.exec(
    `CREATE TEMP TRIGGER refuse_third BEFORE INSERT ON results WHEN NEW.id = '${ids[2]}' BEGIN SELECT RAISE(ABORT, 'the disk said no'); END`,
  );
  await loop.runUntilIdle();
  assert.is(transactions, 2, 'tasks 1+2 completed with 3+4 claimed in one commit; 3+4 completed in another');
  assert.equal(
    ids.map((id) => s.tasks.get(id)!.status),
    ['COMPLETE', 'COMPLETE', 'ERROR', 'COMPLETE'],
  );
  assert.is(s.tasks.get(ids[2])!.errorCode, 'INTERNAL');
  assert.is(s.results.image(ids[2]), undefined, 'nothing of the failed completion stayed');
  assert.ok(s.results.image(ids[3]), 'its batch-mate kept its result');
  const feed = createEventStore(s.db)
    .listAfter(0)
    .filter((e) => e.type !== 'created')
    .map((e) => `${e.type} ${ids.indexOf(e.taskId) + 1}`);
  assert.equal(feed, ['claimed 1', 'claimed 2', 'completed 1', 'completed 2', 'claimed 3', 'claimed 4', 'completed 4', 'failed 3']);
  s.cleanup();
});

test('bad input and faults end ERROR with a code; the loop keeps running; an unexpected error shows an incident id, not its text', async () => {
  const lines: Record<string, unknown>[] = [];
  const s = setup(
    {
      ...testActions,
      parse: async ({ task }) => {
        try {
          JSON.parse(task.paramsJson);
        } catch {
          throw new AppError('INVALID_REQUEST', 'The task parameters are not valid JSON.');
        }
      },
      busy: async () => {
        throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
      },
      blocked: async () => {
        throw new AppError('LETTERBOXD_BLOCKED', 'Letterboxd refused the films pages.');
      },
      leaky: async () => {
        throw new AppError('INTERNAL', 'ENOENT /home/pi/moviemosaic/data/posters/ab/cd.jpg');
      },
    },
    { log: createLogger('debug', {}, (l) => lines.push(JSON.parse(l))) },
  );
  const leaky = s.tasks.enqueueRaw('leaky', 'dave', '{}').id;
  const malformed = s.tasks.enqueueRaw('parse', 'dave', '{not json').id;
  const unknown = s.tasks.enqueueRaw('no_such_action', 'dave', '{}').id;
  const thrown = s.tasks.enqueueRaw('throws', 'dave', '{}').id;
  const blocked = s.tasks.enqueueRaw('blocked', 'dave', '{}').id;
  const busy = s.tasks.enqueueRaw('busy', 'dave', '{}').id;
  const ok = s.tasks.enqueueRaw('noop', 'dave', '{}').id;
  await s.loop.runUntilIdle();
  const get = (id: string) => s.tasks.get(id)!;
  assert.equal([get(malformed).status, get(malformed).errorCode], ['ERROR', 'INVALID_REQUEST']);
  assert.equal([get(unknown).status, get(unknown).errorCode], ['ERROR', 'INTERNAL']);
  assert.match(get(unknown).errorMsg!, /no_such_action/);
  assert.equal([get(thrown).status, get(thrown).errorCode], ['ERROR', 'INTERNAL']);
  for (const [id, secret] of [
    [thrown, 'boom'],
    [leaky, '/home/pi'],
  ] as const) {
    const msg = get(id).errorMsg!;
    assert.not.ok(msg.includes(secret), msg);
    const incident = /incident ([0-9a-f]{8})/.exec(msg)?.[1];
    assert.ok(incident, msg);
    const logged = lines.find((l) => l.incident === incident);
    assert.ok(logged && String(logged.error).includes(secret), 'the details are logged under the incident id');
  }
  assert.equal([get(blocked).status, get(blocked).errorCode], ['ERROR', 'LETTERBOXD_BLOCKED']);
  assert.is(get(busy).status, 'QUEUED', 'SQLITE_BUSY is retried later');
  assert.is(get(ok).status, 'COMPLETE');
  s.cleanup();
});

test('a long Retry-After is handed to the queue without consuming an attempt; too many delays end the task', async () => {
  const s = setup(
    {
      slow: async () => {
        throw new AppError('LETTERBOXD_RATE_LIMITED', 'Letterboxd is rate limiting us.', { retryAfterMs: 60_000, retryable: true });
      },
    },
    { maxDelays: 1 },
  );
  const id = s.tasks.enqueueRaw('slow', 'dave', '{}').id;
  await s.loop.runUntilIdle();
  let row = s.tasks.getRow(id)!;
  assert.equal([row.status, row.attempt, row.delay_count], ['QUEUED', 0, 1]);
  s.db.prepare(`UPDATE tasks SET run_at = 0`).run();
  await s.loop.runUntilIdle();
  row = s.tasks.getRow(id)!;
  assert.equal([row.status, row.error_code], ['ERROR', 'LETTERBOXD_RATE_LIMITED']);
  s.cleanup();
});

test('the loop is generic about waits: the words a parked or ended task shows come from the error, not from the loop', async () => {
  const wording = {
    delayed: (at: string) => `The film shop is busy; back at ${at}.`,
    tooLong: (wait: string) => `The film shop wants ${wait}; come back then.`,
    persisted: (times: number) => `The film shop said wait ${times} times; try later.`,
  };
  const s = setup(
    {
      shop: async () => {
        throw new RetryLaterError('LETTERBOXD_UNREACHABLE', 'busy', 60_000, wording);
      },
      long: async () => {
        throw new RetryLaterError('LETTERBOXD_UNREACHABLE', 'busy', 3_600_000, wording);
      },
      plain: async () => {
        throw new AppError('LETTERBOXD_UNREACHABLE', 'busy', { retryAfterMs: 3_600_000, retryable: true });
      },
    },
    { maxDelays: 1 },
  );
  const shop = s.tasks.enqueueRaw('shop', 'dave', '{}').id;
  const long = s.tasks.enqueueRaw('long', 'erin', '{}').id;
  const plain = s.tasks.enqueueRaw('plain', 'fay', '{}').id;
  await s.loop.runUntilIdle();
  assert.match(s.tasks.get(shop)!.progressMsg ?? '', /^The film shop is busy; back at \d\d:\d\d:\d\d\.$/);
  assert.is(s.tasks.getRow(long)!.error_msg, 'The film shop wants 60 minutes; come back then.');
  const neutral = s.tasks.getRow(plain)!.error_msg!;
  assert.not.match(neutral, /Letterboxd/, 'the loop names no upstream');
  assert.match(neutral, /wait 60 minutes; try again after that/);
  s.db.prepare(`UPDATE tasks SET run_at = 0`).run();
  await s.loop.runUntilIdle();
  assert.is(s.tasks.getRow(shop)!.error_msg, 'The film shop said wait 1 times; try later.');
  s.cleanup();
});

test('cancel of a running task aborts the action through its signal, even one that ignores it', async () => {
  let sawAbort = false;
  const s = setup({
    cooperative: async ({ signal }) => {
      await new Promise<void>((resolve) =>
        signal.addEventListener('abort', () => {
          sawAbort = true;
          resolve();
        }),
      );
    },
    stubborn: testActions.stubborn,
  });
  const a = s.tasks.enqueueRaw('cooperative', 'dave', '{}').id;
  const b = s.tasks.enqueueRaw('stubborn', 'eve', '{}').id;
  await s.loop.runOnce();
  assert.is(s.loop.runningCount(), 2);
  s.tasks.cancel(a);
  s.tasks.cancel(b);
  await s.loop.runUntilIdle();
  assert.ok(sawAbort);
  assert.is(s.tasks.get(a)!.status, 'CANCELLED');
  assert.is(s.tasks.get(b)!.status, 'CANCELLED');
  s.cleanup();
});

test('an action that first reads its signal after the task was stopped gets it already aborted, with the reason', async () => {
  // The loop makes a task's AbortController only when the action asks for the signal.
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let seen: { aborted: boolean; reason: unknown } | null = null;
  const s = setup({
    late: async (helpers) => {
      await gate;
      const { signal } = helpers;
      seen = { aborted: signal.aborted, reason: signal.reason };
    },
  });
  const id = s.tasks.enqueueRaw('late', 'dave', '{}').id;
  await s.loop.runOnce();
  s.tasks.cancel(id);
  await s.loop.runUntilIdle();
  assert.is(s.tasks.get(id)!.status, 'CANCELLED');
  release();
  await waitFor(() => seen !== null, 5000, 'the action to read its signal');
  assert.ok(seen!.aborted);
  assert.is((seen!.reason as Error).name, 'CancelledError');
  s.cleanup();
});
test('progress is throttled but the last update and every stage change are written', async () => {
  const s = setup(
    {
      chatty: async ({ progress }) => {
        progress('collecting', 0, 1, 'start');
        for (let i = 1; i <= 500; i++) progress('downloading', i, 500, `Downloading posters: ${i} of 500`);
        progress('building', null, null, 'Building mosaic');
      },
    },
    { progressIntervalMs: 1000 },
  );
  const id = s.tasks.enqueueRaw('chatty', 'dave', '{}').id;
  await s.loop.runUntilIdle();
  const evs = createEventStore(s.db).listTaskAfter(id, 0);
  const progressEvents = evs.filter((e) => e.type === 'progress');
  assert.ok(progressEvents.length <= 4, `${progressEvents.length} progress writes`);
  assert.equal(
    progressEvents.map((e) => e.task.stage),
    ['collecting', 'downloading', 'building'],
  );
  s.cleanup();
});

test('passes that overlap (storage answers asynchronously) never claim more than the free slots', async () => {
  const s = setup(testActions, { concurrency: 2 });
  const ids = [1, 2, 3, 4].map((i) => s.tasks.enqueueRaw('stubborn', `u${i}`, '{}').id);
  try {
    const claimed = await Promise.all([s.loop.runOnce(), s.loop.runOnce(), s.loop.runOnce()]);
    assert.is(
      claimed.reduce((a, n) => a + n, 0),
      2,
      `claimed ${claimed.join(' + ')}`,
    );
    assert.is(s.loop.runningCount(), 2);
    assert.equal(
      ids.map((id) => s.tasks.get(id)!.status),
      ['RUNNING', 'RUNNING', 'QUEUED', 'QUEUED'],
    );
  } finally {
    await s.loop.stop(0); // the stubborn tasks are released, so a failure here does not hang the file
    s.cleanup();
  }
});

test('stop(): in-flight tasks past the grace period are released without consuming an attempt', async () => {
  const s = setup(testActions);
  const id = s.tasks.enqueueRaw('stubborn', 'dave', '{}').id;
  await s.loop.runOnce();
  await s.loop.stop(10);
  const row = s.tasks.getRow(id)!;
  assert.equal([row.status, row.attempt], ['QUEUED', 0]);
  assert.is(await s.loop.runOnce(), 0, 'a stopped loop claims nothing');
  s.cleanup();
});

test.run();
