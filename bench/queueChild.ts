/** Bench child: claims and completes no-op jobs until the queue is empty (ours or plainjob's). */
import Database from 'better-sqlite3';
import { better, defineQueue } from 'plainjob';
import { openDb, WORKER_DB_OPTIONS } from '../db/sqlite/open.js';
import { createTaskStore } from '../db/sqlite/tasks.js';
import { createInterface } from 'node:readline';
import { defineWorker } from 'plainjob';
import { createWorkerLoop } from '../worker/loop.js';
import { createSqliteStorage } from '../db/sqlite/index.js';
import { systemClock } from '../common/clock.js';
import { silentLogger } from '../common/log.js';

const [kind, path, id] = process.argv.slice(2);

/** Claim, then complete: two commits per task. */
function ours(): () => number {
  const db = openDb(path, WORKER_DB_OPTIONS);
  const tasks = createTaskStore(db);
  return () => {
    let n = 0;
    for (;;) {
      const [t] = tasks.claim(`bench-${id}`, 1);
      if (!t) return n;
      tasks.complete(t.id, t.leaseToken);
      n++;
    }
  };
}

/** Complete and claim the next in one commit, as the worker loop hands a finished task's slot on. */
function oursHandoff(): () => number {
  const db = openDb(path, WORKER_DB_OPTIONS);
  const tasks = createTaskStore(db);
  return () => {
    let n = 0;
    let [t] = tasks.claim(`bench-${id}`, 1);
    while (t) {
      const done = t;
      [t] = tasks.transaction(() => {
        tasks.complete(done.id, done.leaseToken);
        return tasks.claim(`bench-${id}`, 1);
      });
      n++;
    }
    return n;
  };
}

function plain(): () => number {
  const queue = defineQueue({ connection: better(new Database(path)), logger: { error() {}, warn() {}, info() {}, debug() {} } });
  return () => {
    let n = 0;
    for (;;) {
      const jobId = queue.getAndMarkJobAsProcessing('bench');
      if (jobId === undefined || jobId === null) return n;
      queue.markJobAsDone(typeof jobId === 'object' ? jobId.id : jobId);
      n++;
    }
  };
}

/** Our real worker loop (as worker/main.ts runs it), concurrency 2 = WORKER_CONCURRENCY's default. */
function oursLoop(): () => Promise<number> {
  const db = openDb(path, WORKER_DB_OPTIONS);
  const storage = createSqliteStorage(db);
  let n = 0;
  const loop = createWorkerLoop({
    tasks: storage.tasks,
    isBusy: storage.isBusy,
    actions: {
      noop: async () => {
        n++;
      },
    },
    workerId: `bench-${id}`,
    concurrency: 2,
    clock: systemClock,
    log: silentLogger,
  });
  return async () => {
    await loop.runUntilIdle();
    return n;
  };
}

/** plainjob's real worker loop, stopped when its queue is drained. */
function plainLoop(): () => Promise<number> {
  const queue = defineQueue({ connection: better(new Database(path)), logger: { error() {}, warn() {}, info() {}, debug() {} } });
  let n = 0;
  const worker = defineWorker(
    'bench',
    async () => {
      n++;
    },
    { queue, pollIntervall: 1, logger: { error() {}, warn() {}, info() {}, debug() {} } },
  );
  return async () => {
    const started = worker.start();
    while (queue.countJobs({ status: 0 as never }) > 0) await new Promise((r) => setImmediate(r));
    await worker.stop();
    await started;
    return n;
  };
}

const kinds: Record<string, () => () => number | Promise<number>> = {
  ours,
  'ours-handoff': oursHandoff,
  plainjob: plain,
  'ours-loop': oursLoop,
  'plainjob-loop': plainLoop,
};
const run = kinds[kind]();
process.stdout.write('ready\n');
createInterface({ input: process.stdin }).once('line', async () => {
  const t0 = performance.now();
  const n = await run();
  process.stdout.write(JSON.stringify({ n, ms: performance.now() - t0 }) + '\n');
  process.exit(0);
});
