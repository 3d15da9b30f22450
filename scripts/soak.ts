/**
 * Soak (issue 8): `npm run soak -- [--tasks 6000] [--clients 16] [--workers 2] [--real] [--retention 8]
 * [--every 4] [--rate 80] [--seed n]`; `npm run soak -- --abuse [--results-mb 1000] [--result-kb 4096]`
 * instead replays issue 14's disk flood at full scale (test/helpers/resilience/guest.ts): big exports and
 * results of ~result-kb/2 from several addresses until 1.8× RESULTS_MB was written.
 *
 * The real server process and real worker processes over one DATA_DIR; `--clients` socket clients
 * each create a mosaic through the API, watch it to the end over /ws, fetch the image, and start over,
 * until `--tasks` are done, at most `--rate` a second (0: as fast as they go). By default the workers' create_mosaic is a stand-in of realistic shape
 * (stages, progress, a ~60 KB JPEG: test/helpers/resilience/soakWorker.ts); `--real` draws real mosaics of small
 * members of the fake Letterboxd. Every `--every` seconds it prints the server's API p50/p99 over that
 * window, the server's and workers' RSS and the database size, and prunes with a short retention
 * (`--retention` seconds) as the worker's hourly housekeeping would with 7 and 30 days: the figures
 * must stay flat while thousands of tasks go through.
 */
import { parseArgs } from 'node:util';
import { pruneEvents } from '../db/sqlite/events.js';
import { pruneResults } from '../db/sqlite/results.js';
import { startFakeLetterboxd, type FakeLetterboxd } from '../test/helpers/fakeLetterboxd.js';
import { cleanup } from '../test/helpers/server.js';
import { createRng } from '../test/helpers/resilience/rng.js';
import { addMembers, call, createMosaic, dbSize, Followers, mb, percentile, rssOf, startStack } from '../test/helpers/resilience/kit.js';
import { budgetRun } from '../test/helpers/resilience/guest.js';

const { values: args } = parseArgs({
  options: {
    tasks: { type: 'string', default: '6000' },
    clients: { type: 'string', default: '16' },
    workers: { type: 'string', default: '2' },
    real: { type: 'boolean', default: false },
    retention: { type: 'string', default: '8' },
    abuse: { type: 'boolean', default: false },
    'results-mb': { type: 'string', default: '1000' },
    'result-kb': { type: 'string', default: '4096' },
    every: { type: 'string', default: '4' },
    rate: { type: 'string', default: '80' },
    users: { type: 'string', default: '50' },
    seed: { type: 'string', default: '1' },
  },
});
const TASKS = Number(args.tasks);
const CLIENTS = Number(args.clients);
const RETENTION_MS = Number(args.retention) * 1000;
const EVERY_MS = Number(args.every) * 1000;
const USERS = Number(args.users);
const RATE = Number(args.rate);
const rng = createRng(Number(args.seed));

interface Row {
  t: number;
  done: number;
  perSec: number;
  p50: number;
  p99: number;
  serverRss: number;
  workersRss: number;
  db: number;
  wal: number;
  tasks: number;
  events: number;
  results: number;
  pruned: number;
}

/** `--abuse`: the RESULTS_MB flood at full scale; throws on a broken bound. */
async function abuse(): Promise<void> {
  const resultsMb = Number(args['results-mb']);
  const resultKb = Number(args['result-kb']);
  // The stand-in's noise JPEG comes out at about half of SOAK_RESULT_KB.
  const mosaics = Math.ceil((1.8 * resultsMb * 1024) / (resultKb / 2));
  console.log(`soak --abuse: RESULTS_MB=${resultsMb}, ${mosaics} results of ~${resultKb / 2} KB and 20 exports from 4 addresses`);
  const t0 = Date.now();
  const figures = await budgetRun({
    resultsMb,
    resultKb,
    mosaics,
    exports: 20,
    seed: Number(args.seed),
    log: (line) => console.log(`  ${((Date.now() - t0) / 1000).toFixed(0)} s: ${line}`),
  });
  for (const [k, v] of Object.entries(figures)) console.log(`  ${k}: ${v}`);
  await cleanup();
  process.exit(0);
}

async function main(): Promise<void> {
  if (args.abuse) return abuse();
  let lb: FakeLetterboxd | null = null;
  let members: string[] = [];
  if (args.real) {
    lb = await startFakeLetterboxd({ now: new Date() });
    members = addMembers(lb, 'soak', USERS, () => rng.int(3, 8));
  } else {
    members = Array.from({ length: USERS }, (_, i) => `soak${i}`);
  }
  const stack = await startStack({
    letterboxdEnv: lb ? lb.env : {},
    workers: Number(args.workers),
    workerEntry: args.real ? 'worker/main.ts' : 'test/helpers/resilience/soakWorker.ts',
    workerEnv: { LEASE_MS: '10000', WORKER_CONCURRENCY: '4' },
  });
  const followers = new Followers(stack.port, rng.fork('sockets'), CLIENTS);
  const serverPid = stack.server().proc.pid!;
  console.log(
    `soak: ${TASKS} tasks, ${CLIENTS} clients, ${args.workers} workers (${args.real ? 'real mosaics' : 'stand-in mosaics'}), prune every ${EVERY_MS / 1000} s keeping ${RETENTION_MS / 1000} s; DATA_DIR ${stack.dir}`,
  );

  let issued = 0;
  let done = 0;
  let failed = 0;
  let window: number[] = [];
  const all: number[] = [];
  const timed = async <T extends { ms: number }>(p: Promise<T>): Promise<T> => {
    const r = await p;
    window.push(r.ms);
    all.push(r.ms);
    return r;
  };
  const t0 = Date.now();
  const clients = Array.from({ length: CLIENTS }, async (_, c) => {
    while (issued < TASKS) {
      const n = issued++;
      // A steady rate, so a steady state shows: rows and file size plateau at rate × retention.
      const due = t0 + (RATE > 0 ? (n * 1000) / RATE : 0);
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      const username = members[n % members.length];
      const started = performance.now();
      const task = await createMosaic(stack.port, {
        username,
        mode: 'recent',
        count: 1 + (n % 50),
        layout: n % 3 ? 'grid' : 'classic',
        refresh: n % 10 !== 0,
      });
      window.push(performance.now() - started);
      const key = followers.follow(task.id, c);
      await followers.finished(key);
      const last = followers.lastSeen(key)!;
      if (last.status !== 'COMPLETE') {
        failed++;
        continue;
      }
      await timed(call(stack.port(), 'GET', `/api/tasks/${task.id}`));
      const img = await timed(call(stack.port(), 'GET', last.resultUrl!));
      // A result pruned between COMPLETE and this read is a 404; anything else is a failure.
      if (img.status !== 200 && img.status !== 404) failed++;
      done++;
    }
  });

  const rows: Row[] = [];
  const count = (table: string) => stack.db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
  let lastDone = 0;
  let lastT = t0;
  let pruned = 0;
  const report = () => {
    const now = Date.now();
    pruned += pruneEvents(stack.db, now - RETENTION_MS);
    pruned += pruneResults(stack.db, now - RETENTION_MS);
    const size = dbSize(stack.dbPath);
    const row: Row = {
      t: Math.round((now - t0) / 1000),
      done,
      perSec: ((done - lastDone) * 1000) / Math.max(1, now - lastT),
      p50: percentile(window, 50),
      p99: percentile(window, 99),
      serverRss: rssOf(serverPid),
      workersRss: [...stack.workers.keys()].reduce((a, pid) => a + rssOf(pid), 0),
      db: size.db,
      wal: size.wal,
      tasks: count('tasks'),
      events: count('task_events'),
      results: count('results'),
      pruned,
    };
    rows.push(row);
    lastDone = done;
    lastT = now;
    window = [];
    console.log(
      `t=${String(row.t).padStart(4)} s  done ${String(row.done).padStart(5)} (${row.perSec.toFixed(1)}/s)  API p50 ${row.p50.toFixed(1)} ms p99 ${row.p99.toFixed(1)} ms  ` +
        `server RSS ${mb(row.serverRss)}  workers RSS ${mb(row.workersRss)}  db ${mb(row.db)} + wal ${mb(row.wal)}  rows: ${row.tasks} tasks, ${row.events} events, ${row.results} results  pruned ${row.pruned}`,
    );
  };
  const timer = setInterval(report, EVERY_MS);
  await Promise.all(clients);
  clearInterval(timer);
  report();

  const seconds = (Date.now() - t0) / 1000;
  const third = Math.max(1, Math.floor(rows.length / 3));
  const first = rows.slice(0, third);
  const lastRows = rows.slice(-third);
  const max = (rs: Row[], k: keyof Row) => Math.max(...rs.map((r) => r[k]));
  const avgResult = (stack.db.prepare(`SELECT avg(length(result)) FROM results`).pluck().get() as number | null) ?? 0;
  const unpruned = done * avgResult;
  console.log('');
  console.log('| figure | first third | last third |');
  console.log('| --- | --- | --- |');
  console.log(`| API p99 (max of windows) | ${max(first, 'p99').toFixed(1)} ms | ${max(lastRows, 'p99').toFixed(1)} ms |`);
  console.log(`| server RSS (max) | ${mb(max(first, 'serverRss'))} | ${mb(max(lastRows, 'serverRss'))} |`);
  console.log(`| workers RSS (max, all) | ${mb(max(first, 'workersRss'))} | ${mb(max(lastRows, 'workersRss'))} |`);
  console.log(`| database file (max) | ${mb(max(first, 'db'))} | ${mb(max(lastRows, 'db'))} |`);
  console.log(`| WAL (max) | ${mb(max(first, 'wal'))} | ${mb(max(lastRows, 'wal'))} |`);
  console.log(
    `| rows: tasks / events / results (max) | ${max(first, 'tasks')} / ${max(first, 'events')} / ${max(first, 'results')} | ${max(lastRows, 'tasks')} / ${max(lastRows, 'events')} / ${max(lastRows, 'results')} |`,
  );
  console.log('');
  console.log(
    `soak: ${done} tasks complete, ${failed} failed, ${followers.violations.length} socket violations, in ${seconds.toFixed(0)} s (${(done / seconds).toFixed(1)}/s); ` +
      `API p50 ${percentile(all, 50).toFixed(1)} ms p99 ${percentile(all, 99).toFixed(1)} ms over ${all.length} requests; ` +
      `unpruned, the results alone would be ~${mb(unpruned)}; integrity ${String(stack.db.pragma('integrity_check', { simple: true }))}`,
  );
  followers.close();
  await stack.close();
  await lb?.close();
  await cleanup();
  process.exit(failed === 0 && followers.violations.length === 0 ? 0 : 1);
}

main().catch(async (err) => {
  console.error(err);
  await cleanup();
  process.exit(1);
});
