/**
 * PostgreSQL queue benchmark (issue 16): no-op tasks per second through our PostgreSQL adapter with
 * 1 and 4 worker processes, beside graphile-worker on the same throwaway cluster in the same run,
 * each at the same concurrency per process (2, WORKER_CONCURRENCY's default; graphile-worker's
 * other options at their defaults), jobs added in bulk before timing starts. Ours also writes the
 * change feed (two events a task, under the feed lock, with NOTIFY), which graphile-worker does not.
 *
 * The cluster keeps PostgreSQL's durable defaults (fsync, synchronous_commit on).
 */
import { fileURLToPath } from 'node:url';
import { makeWorkerUtils, runMigrations, Logger } from 'graphile-worker';
import { openPostgres } from '../db/postgres/index.js';
import { startPostgres, type PgCluster } from '../test/helpers/postgres.js';
import { spawnTs, waitFor, type Child } from '../test/helpers/processes.js';
import { percentile, report } from './report.js';

const JOBS = Number(process.env.BENCH_PG_JOBS ?? 4000);
const CONCURRENCY = 2;
const silent = new Logger(() => () => {});
let dbCount = 0;

type Commit = 'durable' | 'async';

async function throughput(cluster: PgCluster, kind: 'ours' | 'graphile', processes: number, commit: Commit): Promise<number> {
  const base = cluster.createDatabase(`bench_${kind}_${++dbCount}`);
  // Every connection of both queues (the children's too) takes the setting from the URL.
  const url = commit === 'async' ? `${base}?options=${encodeURIComponent('-c synchronous_commit=off')}` : base;
  if (kind === 'ours') {
    const s = await openPostgres(url);
    await s.tasks.enqueueRawMany('noop', Array.from({ length: JOBS }, (_, i) => `u${i}`), '{}');
    await s.close();
  } else {
    await runMigrations({ connectionString: url, logger: silent });
    const utils = await makeWorkerUtils({ connectionString: url, logger: silent });
    await utils.addJobs(Array.from({ length: JOBS }, () => ({ identifier: 'bench', payload: {} })));
    await utils.release();
  }
  const children: Child[] = [];
  for (let i = 0; i < processes; i++) {
    children.push(spawnTs('bench/postgresChild.ts', {}, [kind, url, String(i), String(CONCURRENCY)], { stdin: true }));
  }
  await waitFor(() => children.every((c) => c.output().includes('ready')), 60_000, 'bench children');
  const t0 = performance.now();
  for (const c of children) c.proc.stdin?.write('go\n');
  const exits = await Promise.all(children.map((c) => c.exited));
  const ms = performance.now() - t0;
  const done = children.map((c, i) => {
    const line = c.output().split('\n').find((l) => l.startsWith('{'));
    if (!line || exits[i].code !== 0) throw new Error(`${kind} child ${i} failed:\n${c.output()}`);
    return (JSON.parse(line) as { n: number }).n;
  });
  const total = done.reduce((a, b) => a + b, 0);
  if (total !== JOBS) throw new Error(`${kind}: ${total} of ${JOBS} jobs done`);
  return (JOBS / ms) * 1000;
}

export async function benchPostgres(rounds = Number(process.env.BENCH_ROUNDS ?? 3)): Promise<void> {
  const cluster = await startPostgres('bench postgres', { durable: true, settings: { max_connections: '200' } });
  if (!cluster) return;
  try {
    for (const [commit, n] of [['durable', 1], ['durable', 4], ['async', 1], ['async', 4]] as const) {
      const ours: number[] = [];
      const theirs: number[] = [];
      const ratios: number[] = [];
      // Alternating, on fresh databases: this machine's speed drifts from one second to the next.
      for (let r = 0; r < rounds; r++) {
        const a = await throughput(cluster, 'ours', n, commit);
        const b = await throughput(cluster, 'graphile', n, commit);
        ours.push(a);
        theirs.push(b);
        ratios.push(a / b);
      }
      report(`postgres ${commit === 'durable' ? 'durable commits' : 'synchronous_commit=off'}, ${n} process${n > 1 ? 'es' : ''} × ${CONCURRENCY}`,
        `${percentile(ours, 50).toFixed(0)} tasks/s (graphile-worker ${percentile(theirs, 50).toFixed(0)} jobs/s)`,
        `ratio ${percentile(ratios, 50).toFixed(2)}× (rounds ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}); target ≥ 1; ours also writes the change feed`);
    }
  } finally {
    cluster.stop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await benchPostgres();
