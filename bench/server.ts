/**
 * Server benchmark (issue 5): node --import tsx bench/server.ts
 *
 * The server runs as its own process (as in production); this process only measures.
 * 1. Push latency: a commit in another process (a writer stamping each progress event with the time
 *    just before its write transaction) to a subscribed WebSocket client. Targets p50 ≤ 15 ms,
 *    p99 ≤ 50 ms; the old page's 1 s meta-refresh shows a change after 500 ms on average.
 * 2. GET / and GET /api/tasks/:id, p50/p99: idle, and while a worker builds real mosaics (create_mosaic
 *    against the fake Letterboxd, run in its own process; the worker at nice 10 as `npm start` runs it).
 * 3. Fan-out: 500 sockets following 50 tasks (10 each): delivery latency, and the server's RSS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { openDb } from '../db/sqlite/open.js';
import { createTaskStore } from '../db/sqlite/tasks.js';
import { silentLogger } from '../common/log.js';
import type { ServerMessage } from '../common/protocol.js';
import { createSupervisor, type Supervisor } from '../server/supervisor.js';
import { tmpDir } from '../test/helpers/tmp.js';
import { wsText } from '../server/live/wsText.js';
import { percentile, report } from './report.js';

const SELF = fileURLToPath(import.meta.url);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LEASE_MS = 3_600_000;

/** Wall-clock time with sub-millisecond resolution, comparable across processes on one machine. */
const wallNow = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ms = (v: number) => `${v.toFixed(v < 10 ? 2 : 1)} ms`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

// ---------------------------------------------------------------------------------------------
// Child processes

interface WriterSpec {
  db: string;
  tasks: { id: string; token: string }[];
  count: number;
  gapMs: number;
}

/** Child: commits `count` progress events round-robin over the tasks, each stamped `t=<wall ms>`. */
async function writerChild(spec: WriterSpec): Promise<void> {
  const db = openDb(spec.db);
  const tasks = createTaskStore(db, { leaseMs: LEASE_MS });
  for (let i = 0; i < spec.count; i++) {
    const t = spec.tasks[i % spec.tasks.length];
    tasks.progress(t.id, t.token, 'downloading', i + 1, spec.count, `t=${wallNow().toFixed(3)}`);
    await sleep(spec.gapMs * (0.5 + Math.random()));
  }
  db.close();
}

/** Child: the fake Letterboxd, its environment printed as one JSON line; runs until killed. */
async function fakeChild(): Promise<void> {
  const { startFakeLetterboxd } = await import('../test/helpers/fakeLetterboxd.js');
  const lb = await startFakeLetterboxd({ now: new Date() });
  console.log(JSON.stringify(lb.env));
  process.on('disconnect', () => process.exit(0)); // the bench is gone
}

function spawnSelf(args: string[], stdio: 'pipe' | 'ignore' = 'pipe'): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', SELF, ...args], { cwd: ROOT, stdio: ['ignore', stdio, 'inherit', 'ipc'] });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
}

function firstLine(child: ChildProcess, match: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = match.exec(out);
      if (m) {
        child.stdout!.off('data', onData);
        child.stdout!.resume(); // keep draining (request log lines) without keeping them
        resolve(m);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before printing ${match}: ${out.slice(-500)}`)));
  });
}

/** The newest mtime under the server's sources: dist is used only when built after it. */
function newest(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(path).map((n) => newest(join(path, n))));
}

/**
 * The bundled server, as `npm start` runs it: dist/server/main.js when built after the sources, else a
 * bundle made here with build.mjs's options into .tmp/ (never touching dist/, which others may be using).
 */
async function serverEntry(): Promise<{ args: string[]; label: string }> {
  const built = join(ROOT, 'dist', 'server', 'main.js');
  const sources = Math.max(...['server', 'common', 'db', 'client'].map((d) => newest(join(ROOT, d))));
  if (existsSync(built) && statSync(built).mtimeMs > sources) return { args: [built], label: 'dist/server/main.js' };
  const out = join(ROOT, '.tmp', 'bench-server', 'main.js');
  const { build } = await import('esbuild');
  await build({
    entryPoints: [join(ROOT, 'server', 'main.ts')],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    tsconfig: join(ROOT, 'tsconfig.json'),
    logLevel: 'warning',
  });
  return { args: [out], label: 'a fresh esbuild bundle of server/main.ts (dist was stale)' };
}

function workerEntry(): string[] {
  const built = join(ROOT, 'dist', 'worker', 'main.js');
  return existsSync(built) && statSync(built).mtimeMs > newest(join(ROOT, 'worker'))
    ? [built]
    : ['--import', 'tsx', join(ROOT, 'worker', 'main.ts')];
}

function rss(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

// ---------------------------------------------------------------------------------------------
// Clients

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function get(port: number, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        agent,
        method: payload ? 'POST' : 'GET',
        headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function latencies(port: number, path: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = await get(port, path);
    out.push(performance.now() - t0);
    if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.text.slice(0, 200)}`);
  }
  return out;
}

/** A socket following `taskIds`; every stamped event's latency goes to `sink`. */
function follower(port: number, taskIds: string[], sink: number[]): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { origin: `http://127.0.0.1:${port}` });
  const snapshotted = new Set<string>();
  return new Promise((resolve, reject) => {
    ws.on('message', (data) => {
      const m = JSON.parse(wsText(data)) as ServerMessage;
      if (m.type !== 'task') return;
      // The first message per task is the subscription's snapshot, not a fresh commit.
      if (!snapshotted.has(m.task.id)) {
        snapshotted.add(m.task.id);
        if (snapshotted.size === taskIds.length) resolve(ws);
        return;
      }
      const stamp = /^t=([\d.]+)$/.exec(m.task.progressMsg);
      if (stamp) sink.push(wallNow() - Number(stamp[1]));
    });
    ws.once('open', () => {
      for (const taskId of taskIds) ws.send(JSON.stringify({ type: 'subscribe', taskId }));
    });
    ws.once('error', reject);
  });
}

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

// ---------------------------------------------------------------------------------------------
// The benchmark

export async function benchServer(): Promise<void> {
  const tmp = tmpDir('mm-bench-server-');
  const dbPath = join(tmp.dir, 'moviemosaic.db');
  const db = openDb(dbPath);
  const children: ChildProcess[] = [];
  let supervisor: Supervisor | null = null;
  const devNull = new Writable({ write: (_c, _e, cb) => cb() });
  try {
    // Tasks the writer drives: claimed here with an hour's lease, before any worker exists.
    const tasks = createTaskStore(db, { leaseMs: LEASE_MS });
    for (let i = 0; i < 51; i++) tasks.enqueueRaw('bench', `bench${i}`, '{}');
    const claimed = tasks.claim('bench', 51).map((c) => ({ id: c.id, token: c.leaseToken }));
    const [single, ...fifty] = claimed;

    const entry = await serverEntry();
    const server = spawn(process.execPath, entry.args, {
      cwd: ROOT,
      env: {
        ...process.env,
        DATA_DIR: tmp.dir,
        PORT: '0',
        HOST: '127.0.0.1',
        WORKERS: '0',
        LOG_LEVEL: 'info',
        RATE_LIMIT_PER_MIN: '100000',
        // Every client of the bench is 127.0.0.1: the per-client caps would measure themselves, not the server.
        SOCKETS_PER_CLIENT: '5000',
        QUEUE_PER_CLIENT: '10000',
      },
      // With an IPC channel the server stops by itself if this process dies (server/main.ts).
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    children.push(server);
    const port = Number((await firstLine(server, /http:\/\/localhost:(\d+)\//))[1]);
    console.log(`server: ${entry.label}, pid ${server.pid}; ${availableParallelism()} cores, load ${loadavg()[0].toFixed(1)}`);

    const write = async (spec: Omit<WriterSpec, 'db'>) => {
      const w = spawnSelf(['--writer', JSON.stringify({ db: dbPath, ...spec })], 'ignore');
      children.push(w);
      await exited(w);
    };
    const pushLatency = async (label: string) => {
      const sink: number[] = [];
      const ws = await follower(port, [single.id], sink);
      await write({ tasks: [single], count: 200, gapMs: 15 });
      await waitUntil(() => sink.length >= 200, 10_000, 'push deliveries');
      ws.close();
      const p50 = percentile(sink, 50);
      const p99 = percentile(sink, 99);
      report(`push latency, commit → socket (${label})`, `p50 ${ms(p50)}, p99 ${ms(p99)}`, 'targets ≤ 15 ms, ≤ 50 ms');
      return p50;
    };
    const httpLatency = async (label: string) => {
      for (const [what, path] of [
        ['GET /', '/'],
        ['GET /api/tasks/:id', `/api/tasks/${single.id}`],
      ]) {
        await latencies(port, path, 30); // warm-up
        const l = await latencies(port, path, 300);
        report(`${what} (${label})`, `p50 ${ms(percentile(l, 50))}, p99 ${ms(percentile(l, 99))}`);
      }
    };

    // 1–2, idle.
    const idleP50 = await pushLatency('idle');
    report('  vs. the old page: 1 s meta-refresh', `expected 500 ms, ${(500 / idleP50).toFixed(0)}× slower than the push`);
    await httpLatency('idle');

    // 2, busy: one worker (the default) building real mosaics at nice 10.
    const fake = spawnSelf(['--fake']);
    children.push(fake);
    const lbEnv = JSON.parse((await firstLine(fake, /^\{.*\}$/m))[0]) as Record<string, string>;
    supervisor = createSupervisor({
      count: 1,
      args: workerEntry(),
      cwd: ROOT,
      env: { ...process.env, DATA_DIR: tmp.dir, ...lbEnv, LETTERBOXD_SPACING_MS: '0', LOG_LEVEL: 'warn', LEASE_MS: '30000' },
      log: silentLogger,
      stdout: devNull,
      stderr: process.stderr,
    });
    supervisor.start();
    const requests = [
      { username: 'bigfan', mode: 'all', layout: 'grid' },
      { username: 'erin', mode: 'recent', count: 50, format: 'png' },
      { username: 'dave', mode: 'recent', count: 30 },
      { username: 'erin', mode: 'year', format: 'webp' },
    ];
    // The busy phase keeps asking for new mosaics: re-posting a finished one with `refresh` is refused for
    // a minute after it was made (429), and without it the finished one is simply returned. So each round
    // changes one field that keeps the same films, hence the cached posters: grid columns, recent counts.
    const variations: ((round: number) => object)[] = [
      (round) => ({ columns: 20 + (round % 80) }),
      (round) => ({ count: 50 - (round % 49) }),
      (round) => ({ count: 30 - (round % 29) }),
      (round) => ({ layout: 'grid', columns: 4 + (round % 96) }),
    ];
    const variant = (i: number) => ({
      ...requests[i % requests.length],
      ...variations[i % requests.length](Math.floor(i / requests.length)),
    });
    const enqueue = async (body: object) => {
      const r = await get(port, '/api/mosaics', body);
      // 200: an identical mosaic is queued, running or made already (dedupe); 202: a new one.
      if (r.status !== 202 && r.status !== 200) throw new Error(`POST /api/mosaics: ${r.status} ${r.text}`);
      return { id: (JSON.parse(r.text) as { task: { id: string } }).task.id, created: r.status === 202 };
    };
    // Warm-up: every poster downloaded once (the cache keeps them), so the busy phase is mostly CPU.
    const t0 = performance.now();
    const warm = (await Promise.all(requests.map(enqueue))).map((r) => r.id);
    await waitUntil(
      async () => {
        const done = await Promise.all(
          warm.map(async (id) => (JSON.parse((await get(port, `/api/tasks/${id}`)).text) as { task: { status: string } }).task.status),
        );
        if (done.some((s) => s === 'ERROR' || s === 'CANCELLED')) throw new Error(`a warm-up mosaic failed: ${done.join(',')}`);
        return done.every((s) => s === 'COMPLETE');
      },
      300_000,
      'warm-up mosaics',
    );
    console.log(`warm-up: ${requests.length} real mosaics (posters fetched once) in ${((performance.now() - t0) / 1000) | 0} s`);

    // Keep three mosaics queued or running for as long as the measurements take.
    const status = async (id: string) =>
      (JSON.parse((await get(port, `/api/tasks/${id}`)).text) as { task: { status: string } }).task.status;
    let live: string[] = [];
    let keepBusy = true;
    let built = 0;
    const busyLoop = (async () => {
      for (let i = 0; keepBusy; i++) {
        const states = await Promise.all(live.map(status));
        live = live.filter((_, j) => states[j] === 'QUEUED' || states[j] === 'RUNNING');
        if (live.length < 3) {
          const { id, created } = await enqueue(variant(i));
          if (created) {
            live.push(id);
            built++;
          }
        }
        await sleep(100);
      }
    })();
    await waitUntil(async () => (await Promise.all(live.map(status))).includes('RUNNING'), 30_000, 'a running mosaic');
    const workerPid = supervisor.pids()[0];
    const cpu0 = cpuSeconds(workerPid);
    const w0 = performance.now();
    await pushLatency('worker busy');
    await httpLatency('worker busy');
    const cpuPct = ((cpuSeconds(workerPid) - cpu0) / ((performance.now() - w0) / 1000)) * 100;
    keepBusy = false;
    await busyLoop;
    console.log(
      `  (meanwhile the worker used ${cpuPct.toFixed(0)}% CPU, i.e. ${(cpuPct / 100).toFixed(1)} of ${availableParallelism()} cores; ${built} mosaics started)`,
    );
    await supervisor.stop(30_000);
    supervisor = null;

    // 3. Fan-out.
    const before = rss(server.pid!);
    const sink: number[] = [];
    const sockets = await Promise.all(Array.from({ length: 500 }, (_, i) => follower(port, [fifty[i % 50].id], sink)));
    const subscribed = rss(server.pid!);
    await write({ tasks: fifty, count: 300, gapMs: 10 });
    await waitUntil(() => sink.length >= 3000, 20_000, '3,000 fan-out deliveries');
    const after = rss(server.pid!);
    report(
      'fan-out: 500 sockets on 50 tasks, 3,000 deliveries',
      `p50 ${ms(percentile(sink, 50))}, p99 ${ms(percentile(sink, 99))}, max ${ms(Math.max(...sink))}`,
    );
    report(
      'server RSS',
      `${mb(before.rss)} idle → ${mb(subscribed.rss)} with 500 sockets subscribed; peak ${mb(after.peak)}`,
      `${((subscribed.rss - before.rss) / 500 / 1024).toFixed(1)} KB per socket`,
    );
    for (const s of sockets) s.terminate();
  } finally {
    agent.destroy();
    if (supervisor) supervisor.kill();
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    const killer = setTimeout(() => children.forEach((c) => c.exitCode === null && c.signalCode === null && c.kill('SIGKILL')), 15_000);
    await Promise.all(children.map(exited));
    clearTimeout(killer);
    db.close();
    tmp.cleanup();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const at = process.argv.indexOf('--writer');
  if (at >= 0) await writerChild(JSON.parse(process.argv[at + 1]) as WriterSpec);
  else if (process.argv.includes('--fake')) await fakeChild();
  else await benchServer();
}
