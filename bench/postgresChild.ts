/**
 * Bench child for `npm run bench -- postgres`: drains the queue of no-op jobs on PostgreSQL with
 * `concurrency` slots, ours or graphile-worker's, from "go" until nothing is left to claim.
 *
 * Ours runs the worker loop's commit pattern (worker/loop.ts) over the storage port: the tasks that
 * finish in the same turn are completed in one transaction that also claims the next tasks for the
 * slots they free (TaskQueue.completeAndClaim). graphile-worker runs its own runner at its defaults
 * (run(), the same concurrency), stopped when a worker finds no job.
 */
import { createInterface } from 'node:readline';
import { Logger, run } from 'graphile-worker';
import { openPostgres } from '../db/postgres/index.js';
import type { ClaimedTask, Completion } from '../db/port.js';

const [kind, url, id, concurrencyArg] = process.argv.slice(2);
const concurrency = Number(concurrencyArg);

async function ours(): Promise<() => Promise<number>> {
  const s = await openPostgres(url);
  const workerId = `bench-${id}`;
  return () =>
    new Promise<number>((resolve, reject) => {
      let n = 0;
      let running = 0;
      let batch: Completion[] = [];
      const noop = async () => {};
      const start = (tasks: ClaimedTask[]) => {
        running += tasks.length;
        for (const t of tasks) {
          void noop().then(() => {
            batch.push({ id: t.id, leaseToken: t.leaseToken });
            if (batch.length === 1) queueMicrotask(commit);
          });
        }
        if (running === 0) void s.close().then(() => resolve(n));
      };
      const commit = () => {
        const done = batch;
        batch = [];
        s.tasks
          .completeAndClaim(done, workerId, concurrency - running + done.length)
          .then((out) => {
            const failed = out.errors.find(Boolean);
            if (failed) throw failed;
            n += done.length;
            running -= done.length;
            start(out.claimed);
          })
          .catch(reject);
      };
      s.tasks.claim(workerId, concurrency).then(start, reject);
    });
}

async function graphile(): Promise<() => Promise<number>> {
  const logger = new Logger(() => () => {});
  return async () => {
    let n = 0;
    const runner = await run({
      connectionString: url,
      concurrency,
      logger,
      noHandleSignals: true,
      taskList: {
        bench: async () => {
          n++;
        },
      },
    });
    let stopping = false;
    runner.events.on('worker:getJob:empty', () => {
      if (stopping) return;
      stopping = true;
      void runner.stop();
    });
    await runner.promise;
    return n;
  };
}

const go = kind === 'ours' ? await ours() : await graphile();
process.stdout.write('ready\n');
createInterface({ input: process.stdin }).once('line', async () => {
  const n = await go();
  process.stdout.write(JSON.stringify({ n }) + '\n');
  process.exit(0);
});
