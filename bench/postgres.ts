/**
 * PostgreSQL queue benchmark (issue 16): no-op tasks per second through our PostgreSQL adapter with
 * 1 and 4 worker processes, beside graphile-worker on the same throwaway cluster in the same run,
 * each at the same concurrency per process (2, WORKER_CONCURRENCY's default; graphile-worker's
 * other options at their defaults), jobs added in bulk before timing starts. Ours also writes the
 * change feed (two events a task, and a NOTIFY per burst of commits), which graphile-worker does not.
 *
 * The cluster keeps PostgreSQL's durable defaults (fsync, synchronous_commit on). Beside each row:
 * WAL flushes per task (pg_stat_wal's wal_sync, both queues, the row's rounds together): the figure
 * that shows whether concurrent commits share a flush, which throughput on a loaded machine hides.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { WebSocket } from 'ws';
import { wsText } from '../server/live/wsText.js';
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

/** WAL flushes so far, cluster-wide (backends add theirs when they exit). */
async function walSyncs(admin: pg.Client): Promise<number> {
  return Number((await admin.query<{ n: string }>(`SELECT wal_sync::text AS n FROM pg_stat_wal`)).rows[0].n);
}

/** Tasks per second, and WAL flushes per task (once the run's backends have exited and reported). */
async function throughput(
  cluster: PgCluster,
  admin: pg.Client,
  kind: 'ours' | 'graphile',
  processes: number,
  commit: Commit,
): Promise<{ rate: number; syncs: number }> {
  const db = `bench_${kind}_${++dbCount}`;
  const base = cluster.createDatabase(db);
  // Every connection of both queues (the children's too) takes the setting from the URL.
  const url = commit === 'async' ? `${base}?options=${encodeURIComponent('-c synchronous_commit=off')}` : base;
  if (kind === 'ours') {
    const s = await openPostgres(url);
    await s.tasks.enqueueRawMany(
      'noop',
      Array.from({ length: JOBS }, (_, i) => `u${i}`),
      '{}',
    );
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
  const syncs0 = await walSyncs(admin);
  const t0 = performance.now();
  for (const c of children) c.proc.stdin?.write('go\n');
  const exits = await Promise.all(children.map((c) => c.exited));
  const ms = performance.now() - t0;
  const done = children.map((c, i) => {
    const line = c
      .output()
      .split('\n')
      .find((l) => l.startsWith('{'));
    if (!line || exits[i].code !== 0) throw new Error(`${kind} child ${i} failed:\n${c.output()}`);
    return (JSON.parse(line) as { n: number }).n;
  });
  const total = done.reduce((a, b) => a + b, 0);
  if (total !== JOBS) throw new Error(`${kind}: ${total} of ${JOBS} jobs done`);
  let left = 1;
  while (left > 0) {
    left = Number(
      (await admin.query<{ n: string }>(`SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = $1`, [db])).rows[0].n,
    );
    if (left > 0) await new Promise((r) => setTimeout(r, 20)); // backends exiting after their clients left
  }
  return { rate: (JOBS / ms) * 1000, syncs: ((await walSyncs(admin)) - syncs0) / JOBS };
}

export async function benchPostgres(rounds = Number(process.env.BENCH_ROUNDS ?? 3)): Promise<void> {
  const cluster = await startPostgres('bench postgres', { durable: true, settings: { max_connections: '200' } });
  if (!cluster) return;
  const admin = new pg.Client({ connectionString: cluster.url });
  await admin.connect();
  try {
    for (const [commit, n] of [
      ['durable', 1],
      ['durable', 4],
      ['async', 1],
      ['async', 4],
    ] as const) {
      const ours: number[] = [];
      const theirs: number[] = [];
      const ratios: number[] = [];
      const syncs = { ours: 0, theirs: 0 };
      const load: number[] = [];
      // Alternating, on fresh databases: this machine's speed drifts from one second to the next.
      for (let r = 0; r < rounds; r++) {
        load.push(loadavg()[0]);
        const a = await throughput(cluster, admin, 'ours', n, commit);
        const b = await throughput(cluster, admin, 'graphile', n, commit);
        ours.push(a.rate);
        theirs.push(b.rate);
        ratios.push(a.rate / b.rate);
        syncs.ours += a.syncs / rounds;
        syncs.theirs += b.syncs / rounds;
      }
      report(
        `postgres ${commit === 'durable' ? 'durable commits' : 'synchronous_commit=off'}, ${n} process${n > 1 ? 'es' : ''} × ${CONCURRENCY}`,
        `${percentile(ours, 50).toFixed(0)} tasks/s (graphile-worker ${percentile(theirs, 50).toFixed(0)} jobs/s)`,
        `ratio ${percentile(ratios, 50).toFixed(2)}× (rounds ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}); target ≥ 1; ours also writes the change feed; ` +
          `WAL flushes a task ${syncs.ours.toFixed(2)} (graphile-worker ${syncs.theirs.toFixed(2)}); load ${Math.min(...load).toFixed(1)}–${Math.max(...load).toFixed(1)}`,
      );
    }
    await pushLatency(cluster);
  } finally {
    await admin.end();
    cluster.stop();
  }
}

/**
 * Push latency across processes on PostgreSQL: this process writes as a worker would (claim, then
 * progress writes through the port, each its own commit), and a socket client receives each change
 * from a server process that only shares the database (WORKERS=0). Measured from the write's commit
 * returning here to the message arriving here, so one clock; the server is woken by NOTIFY.
 */
export async function pushLatency(cluster: PgCluster, samples = Number(process.env.BENCH_PUSH_SAMPLES ?? 300)): Promise<void> {
  const url = cluster.createDatabase('mm_push');
  const storage = await openPostgres(url);
  const data = mkdtempSync(join(tmpdir(), 'mm-push-'));
  const server = spawnTs('server/main.ts', { DATA_DIR: data, DATABASE_URL: url, PORT: '0', HOST: '127.0.0.1', WORKERS: '0' });
  try {
    const port = Number(await waitFor(() => /http:\/\/localhost:(\d+)\//.exec(server.output())?.[1], 30_000, 'the server to listen'));
    const task = await storage.tasks.enqueueRaw('steps', 'dave', '{}');
    const [claimed] = await storage.tasks.claim('bench', 1);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { origin: `http://127.0.0.1:${port}` } });
    await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
    let arrived: ((at: number) => void) | null = null;
    ws.on('message', (d) => {
      const m = JSON.parse(wsText(d)) as { type: string; task?: { progress?: { done?: number } } };
      if (m.type === 'task' && arrived) arrived(performance.now());
    });
    const first = new Promise<number>((resolve) => (arrived = resolve));
    ws.send(JSON.stringify({ type: 'subscribe', taskId: task.id, after: 0 }));
    await first;
    const latencies: number[] = [];
    for (let i = 1; i <= samples; i++) {
      const got = new Promise<number>((resolve) => (arrived = resolve));
      await storage.tasks.progress(claimed.id, claimed.leaseToken, 'downloading', i, samples, `Poster ${i}`);
      const committed = performance.now();
      latencies.push((await got) - committed);
      await new Promise((r) => setTimeout(r, 5)); // paced like a worker's throttled progress, not a flood
    }
    ws.close();
    report(
      'postgres push latency, commit → socket via another server process',
      `p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms`,
      `${samples} progress commits; targets p50 ≤ 15 ms, p99 ≤ 50 ms`,
    );
  } finally {
    server.kill('SIGTERM');
    await server.exited;
    await storage.close();
    rmSync(data, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await benchPostgres();
