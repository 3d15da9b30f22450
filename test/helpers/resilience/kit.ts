/**
 * The resilience suites' world: the real server process and real worker processes over one DATA_DIR,
 * the fake Letterboxd behind a tampering proxy, a canary host outside every allowlist, socket followers
 * built on the real client's LiveClient, and the audits that say nothing was lost, hung or doubled.
 */
import { request as httpRequest, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import WebSocket from 'ws';
import { openDb, type Db } from '../../../db/sqlite/open.js';
import { createEventStore } from '../../../db/sqlite/events.js';
import type { ServerMessage } from '../../../common/protocol.js';
import type { Task } from '../../../common/task.js';
import { LiveClient, type SocketLike } from '../../../client/live.js';
import { crc32 } from '../exportZip.js';
import type { FakeFilm, FakeLetterboxd, FakeMember, FakeViewing } from '../fakeLetterboxd.js';
import { spawnTs, waitFor, type Child } from '../processes.js';
import { track, tracked, tmp } from '../server.js';
import { wsText } from '../../../server/live/wsText.js';
import type { Rng } from './rng.js';

export { waitFor };

// ---------------------------------------------------------------------------------------------
// Invented members

let nextFilmId = 910_001;
let nextViewingId = 2_100_000_001;

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** A film the fake serves; `title` may be anything (hostile titles included). */
export function fakeFilm(title: string, year: number | null, extra: Partial<FakeFilm> = {}): FakeFilm {
  const id = nextFilmId++;
  const slug = extra.slug ?? `rz-film-${id}`;
  return {
    id,
    slug,
    title,
    year,
    posterName: slug,
    color: [40 + ((id * 53) % 200), 40 + ((id * 97) % 200), 40 + ((id * 31) % 200)],
    tmdb: null,
    cacheKey: ((id * 2654435761) >>> 0).toString(16).padStart(8, '0'),
    ...extra,
  };
}

/** A member whose diary holds `films`, one a day going back from yesterday, all in the feed. */
export function fakeMember(username: string, films: FakeFilm[], now: Date): FakeMember {
  const diary: FakeViewing[] = films.map((film, i) => {
    const watched = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1 - i, 20, 0, 0);
    return {
      film,
      viewingId: nextViewingId++,
      watchedDate: `${watched.getFullYear()}-${pad2(watched.getMonth() + 1)}-${pad2(watched.getDate())}`,
      rating: i % 4 === 3 ? null : 1 + (i % 9) / 2,
      rewatch: false,
      liked: false,
      review: null,
      publishedAt: new Date(Math.min(watched.getTime() + 3_600_000, now.getTime() - 60_000 - i * 1000)),
    };
  });
  return { username, displayName: username, diary, films: films.map((film) => ({ film, rating: null, liked: false })), lists: [] };
}

/** `count` members named `${prefix}${i}` with `films` (or `films(i)`) plain films each. */
export function addMembers(lb: FakeLetterboxd, prefix: string, count: number, films: number | ((i: number) => number)): string[] {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `${prefix}${i}`;
    const n = typeof films === 'number' ? films : films(i);
    lb.addMember(
      fakeMember(
        name,
        Array.from({ length: n }, (_, j) => fakeFilm(`${name} film ${j + 1}`, 1990 + (j % 30))),
        lb.now,
      ),
    );
    names.push(name);
  }
  return names;
}

// ---------------------------------------------------------------------------------------------
// Small servers: a canary nobody may call, a tampering proxy in front of the fake's pages

export interface Canary {
  /** `http://127.0.0.1:PORT` */
  base: string;
  /** `127.0.0.1:PORT` */
  host: string;
  hits: string[];
  close(): Promise<void>;
}

async function listenLocal(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function closer(server: Server): () => Promise<void> {
  return track(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
}

/** A host outside every allowlist: any request it receives is a finding. */
export async function startCanary(): Promise<Canary> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'image/jpeg' });
    res.end('canary');
  });
  const port = await listenLocal(server);
  return { base: `http://127.0.0.1:${port}`, host: `127.0.0.1:${port}`, hits, close: closer(server) };
}

export interface TamperRule {
  /** Substring of the path (with query), or a RegExp tested on it. */
  path: string | RegExp;
  /** Apply to this many matching requests (default: all). */
  times?: number;
  respond(req: IncomingMessage, res: ServerResponse, upstream: () => Promise<Upstream>): void | Promise<void>;
}

export interface Upstream {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface Tamper {
  url: string;
  host: string;
  setRules(rules: TamperRule[]): void;
  addRules(rules: TamperRule[]): void;
  /** Every path requested, in order. */
  paths: string[];
  close(): Promise<void>;
}

/**
 * A reverse proxy in front of `target` (the fake's pages): requests pass through, with `target`'s own
 * address in bodies rewritten to the proxy's, unless a rule answers them with whatever a hostile or
 * broken upstream could send (custom bodies, bombs, cut connections).
 */
export async function startTamper(target: string): Promise<Tamper> {
  let rules: (TamperRule & { hits: number })[] = [];
  const paths: string[] = [];
  let self = '';
  const fetchUpstream = (req: IncomingMessage): Promise<Upstream> =>
    new Promise((resolve, reject) => {
      const up = httpRequest(
        `${target}${req.url}`,
        { method: req.method, headers: { ...req.headers, host: new URL(target).host, 'accept-encoding': 'identity' } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            let body = Buffer.concat(chunks);
            const type = String(res.headers['content-type'] ?? '');
            if (/text|xml|json/.test(type)) body = Buffer.from(body.toString('utf8').split(target).join(self), 'utf8');
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(res.headers))
              if (v !== undefined && k !== 'content-length' && k !== 'connection' && k !== 'keep-alive' && k !== 'transfer-encoding')
                headers[k] = String(v);
            if (headers.location) headers.location = headers.location.split(target).join(self);
            resolve({ status: res.statusCode!, headers, body });
          });
          res.on('error', reject);
          res.on('aborted', () => reject(new Error('upstream aborted')));
        },
      );
      up.on('error', reject);
      up.end();
    });
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    paths.push(path);
    const rule = rules.find(
      (r) => (r.times === undefined || r.hits < r.times) && (typeof r.path === 'string' ? path.includes(r.path) : r.path.test(path)),
    );
    const upstream = () => fetchUpstream(req);
    void (async () => {
      if (rule) {
        rule.hits++;
        await rule.respond(req, res, upstream);
        return;
      }
      const u = await upstream();
      res.writeHead(u.status, { ...u.headers, 'content-length': String(u.body.length) });
      res.end(u.body);
    })().catch(() => res.socket?.destroy());
  });
  const port = await listenLocal(server);
  self = `http://127.0.0.1:${port}`;
  return {
    url: self,
    host: `127.0.0.1:${port}`,
    setRules: (list) => (rules = list.map((r) => ({ ...r, hits: 0 }))),
    addRules: (list) => rules.push(...list.map((r) => ({ ...r, hits: 0 }))),
    paths,
    close: closer(server),
  };
}

/** A plain server for posters of our own making (bombs, HTML, huge files), keyed by path. */
export async function startImageHost(
  routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void>,
): Promise<{ base: string; host: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const route = routes[(req.url ?? '/').split('?')[0]];
    if (route) return route(req, res);
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  });
  const port = await listenLocal(server);
  return { base: `http://127.0.0.1:${port}`, host: `127.0.0.1:${port}`, close: closer(server) };
}

// ---------------------------------------------------------------------------------------------
// The processes

export interface StackOptions {
  /** Environment pointing the workers at Letterboxd (LETTERBOXD_URL, image hosts, spacing). */
  letterboxdEnv: Record<string, string>;
  workers: number;
  /** The worker entry (default the production worker/main.ts). */
  workerEntry?: string;
  workerEnv?: Record<string, string>;
  serverEnv?: Record<string, string>;
}

export interface Stack {
  dir: string;
  dbPath: string;
  /** A read-write connection of the test's own (audits, and the occasional clock fast-forward). */
  db: Db;
  port(): number;
  /** pid → worker process. */
  workers: Map<number, Child>;
  server(): Child;
  startWorker(): Child;
  killWorker(pid: number): Promise<void>;
  /** SIGKILLs the server process and starts another on the same DATA_DIR (a new port). */
  restartServer(): Promise<void>;
  serverRestarts: number;
  close(): Promise<void>;
}

const SERVER_BASE_ENV = {
  PORT: '0',
  HOST: '127.0.0.1',
  WORKERS: '0',
  RATE_LIMIT_PER_MIN: '100000',
  QUEUE_PER_CLIENT: '10000',
  QUEUE_MAX: '1000000',
  SOCKETS_PER_CLIENT: '5000',
  LOG_LEVEL: 'warn',
};

export async function startStack(options: StackOptions): Promise<Stack> {
  const t = tmp();
  const dbPath = join(t.dir, 'moviemosaic.db');
  const db = openDb(dbPath);
  track(() => db.open && db.close());
  const workers = new Map<number, Child>();
  const workerEntry = options.workerEntry ?? 'worker/main.ts';
  const startWorker = () => {
    const w = tracked(
      spawnTs(workerEntry, {
        DATA_DIR: t.dir,
        LEASE_MS: '1500',
        WORKER_CONCURRENCY: '2',
        TILE_WIDTH: '60',
        ...options.letterboxdEnv,
        ...options.workerEnv,
      }),
    );
    workers.set(w.proc.pid!, w);
    void w.exited.then(() => workers.delete(w.proc.pid!));
    return w;
  };
  const startServer = async () => {
    const child = tracked(spawnTs('server/main.ts', { DATA_DIR: t.dir, ...SERVER_BASE_ENV, ...options.serverEnv }));
    const port = await waitFor(() => /http:\/\/localhost:(\d+)\//.exec(child.output())?.[1], 30_000, 'the server to listen');
    return { child, port: Number(port) };
  };
  let server = await startServer();
  for (let i = 0; i < options.workers; i++) startWorker();
  // Ready when every worker has registered (its first heartbeat): timings then measure the work alone.
  const registered = db.prepare(`SELECT id FROM workers`).pluck();
  await waitFor(
    () => {
      const pids = new Set((registered.all() as string[]).map((id) => Number(id.split('-')[0])));
      return [...workers.keys()].every((pid) => pids.has(pid));
    },
    30_000,
    'the workers to register',
    20,
  );
  const stack: Stack = {
    dir: t.dir,
    dbPath,
    db,
    port: () => server.port,
    workers,
    server: () => server.child,
    startWorker,
    async killWorker(pid) {
      const w = workers.get(pid);
      if (!w) throw new Error(`pid ${pid} is not one of this test's workers`);
      w.kill('SIGKILL');
      await w.exited;
    },
    serverRestarts: 0,
    async restartServer() {
      server.child.kill('SIGKILL');
      await server.child.exited;
      server = await startServer();
      stack.serverRestarts++;
    },
    async close() {
      await Promise.all([...workers.values()].map((w) => (w.kill('SIGTERM'), w.exited)));
      server.child.kill('SIGTERM');
      await server.child.exited;
      if (db.open) db.close();
      await t.cleanup();
    },
  };
  return stack;
}

/** `promise`, or a rejection naming `what` after `ms` (the timer is cleared either way). */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)),
  );
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json: any;
  ms: number;
}

/** One request to 127.0.0.1:port (from the loopback address `from`: another client); rejects only on a network error. */
export function call(
  port: number,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  from?: string,
): Promise<Reply> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method,
        localAddress: from,
        agent: false,
        headers: {
          ...(data !== undefined && !headers['content-type'] ? { 'content-type': 'application/json' } : {}),
          // Explicit: Node sends a GET/DELETE/OPTIONS body with neither length nor chunking otherwise.
          ...(data !== undefined ? { 'content-length': String(Buffer.byteLength(data)) } : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const buf = Buffer.concat(chunks);
          let json: unknown;
          try {
            json = JSON.parse(buf.toString('utf8'));
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode!, headers: res.headers, body: buf, json, ms: performance.now() - t0 });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** The latest cancel token `createMosaic` was handed per task id (DELETE sends it in `Cancel-Token`). */
export const cancelTokens = new Map<string, string>();

/**
 * POST /api/mosaics, retried on network errors (a server restart) with the same Idempotency-Key, as the
 * PWA does: the dedupe makes a retry safe, and the key makes it the same requester, whose token cancels.
 */
export async function createMosaic(port: () => number, body: Record<string, unknown>, timeoutMs = 30_000): Promise<Task> {
  const deadline = Date.now() + timeoutMs;
  const key = randomBytes(16).toString('base64url');
  for (;;) {
    try {
      const r = await call(port(), 'POST', '/api/mosaics', body, { 'idempotency-key': key });
      if (r.status !== 200 && r.status !== 202)
        throw Object.assign(new Error(`POST /api/mosaics ${r.status} ${r.body.toString()}`), { fatal: true });
      if (r.json.cancelToken) cancelTokens.set(r.json.task.id, r.json.cancelToken);
      return r.json.task as Task;
    } catch (err) {
      if ((err as { fatal?: boolean }).fatal || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Socket followers

type TaskMessage = Extract<ServerMessage, { type: 'task' }>;

/**
 * Socket clients built on the real client's LiveClient (resume with `after`, backoff with jitter),
 * each socket tapped so the server's own stream is checked too: per connection and task, every seq
 * must be above the `after` it was asked for and above the one before (no duplicate, no step back).
 */
export class Followers {
  readonly delivered = new Map<string, TaskMessage[]>();
  /** Server-side protocol violations seen on the wire. */
  readonly violations: string[] = [];
  readonly errors: ServerMessage[] = [];
  connections = 0;
  #clients: LiveClient[] = [];
  #finished = new Map<string, () => void>();
  #waits = new Map<string, Promise<void>>();

  constructor(
    private readonly port: () => number,
    private readonly rng: Rng,
    /** How many sockets (LiveClients) to spread the tasks over. */
    clients = 4,
  ) {
    for (let i = 0; i < clients; i++) {
      this.#clients.push(
        new LiveClient({
          url: 'ws://unused/ws',
          createSocket: () => this.#socket(),
          random: () => this.rng.next(),
          backoff: { baseMs: 50, capMs: 800 },
          pingIntervalMs: 2000,
          pongTimeoutMs: 3000,
        }),
      );
    }
  }

  #socket(): SocketLike {
    const port = this.port();
    const host = `127.0.0.1:${port}`;
    const ws = new WebSocket(`ws://${host}/ws`, { headers: { host }, origin: `http://${host}` });
    this.connections++;
    const after = new Map<string, number>();
    const last = new Map<string, number>();
    const send = ws.send.bind(ws);
    (ws as unknown as { send: (d: string) => void }).send = (data: string) => {
      const m = JSON.parse(data) as { type: string; taskId?: string; after?: number };
      if (m.type === 'subscribe' && m.taskId) after.set(m.taskId, m.after ?? -1);
      send(data);
    };
    ws.on('message', (data, isBinary) => {
      if (isBinary) return void this.violations.push('binary frame from the server');
      const m = JSON.parse(wsText(data)) as ServerMessage;
      if (m.type === 'error') this.errors.push(m);
      if (m.type !== 'task') return;
      const id = m.task.id;
      const floor = Math.max(after.get(id) ?? -1, last.get(id) ?? -1);
      if (!after.has(id)) this.violations.push(`task ${id}: seq ${m.seq} without a subscribe`);
      else if (after.get(id)! >= 0 && m.seq <= floor) this.violations.push(`task ${id}: seq ${m.seq} after ${floor} on one connection`);
      last.set(id, m.seq);
    });
    ws.on('error', () => {});
    return ws;
  }

  /**
   * Follows a task from its first event (`after: 0`) on socket `client` (default: spread round-robin);
   * returns the subscription's key, for `finished(key)`. One task may be followed on many sockets.
   */
  follow(taskId: string, client?: number): string {
    const index = client ?? this.delivered.size % this.#clients.length;
    const key = `${index}:${taskId}`;
    if (this.delivered.has(key)) return key;
    this.delivered.set(key, []);
    this.#waits.set(key, new Promise<void>((resolve) => this.#finished.set(key, resolve)));
    const stop = this.#clients[index].subscribe(
      taskId,
      (u) => {
        if (u.type !== 'task') return;
        this.delivered.get(key)!.push({ type: 'task', seq: u.seq, task: u.task });
        if (['COMPLETE', 'ERROR', 'CANCELLED'].includes(u.task.status)) {
          this.#finished.get(key)!();
          stop();
        }
      },
      0,
    );
    return key;
  }

  /** Resolves when the subscription (a key from follow(), or a task id followed once) saw its task finish. */
  finished(key: string): Promise<void> {
    const k = this.#waits.has(key) ? key : [...this.#waits.keys()].find((x) => x.endsWith(`:${key}`))!;
    return this.#waits.get(k)!;
  }

  /** The last state each subscription saw. */
  lastSeen(key: string): Task | undefined {
    const got = this.delivered.get(key);
    return got?.[got.length - 1]?.task;
  }

  /** Problems: each task's delivered seqs must be exactly its stored events, in order. */
  audit(db: Db): string[] {
    const events = createEventStore(db);
    const problems = [...this.violations];
    for (const [key, got] of this.delivered) {
      const id = key.slice(key.indexOf(':') + 1);
      const stored = events.listTaskAfter(id, 0, 100_000).map((e) => e.seq);
      const seqs = got.map((m) => m.seq);
      if (seqs.join(',') !== stored.join(','))
        problems.push(`socket ${key}: delivered [${seqs.join(',')}] but stored [${stored.join(',')}]`);
    }
    return problems;
  }

  close(): void {
    for (const c of this.#clients) c.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Audits

export const FINAL = ['COMPLETE', 'ERROR', 'CANCELLED'];

export interface TaskAudit {
  byStatus: Record<string, number>;
  byCode: Record<string, number>;
  problems: string[];
}

/**
 * The queue's promises, per task: finished (nothing QUEUED or RUNNING), exactly one final event and it
 * is the last; COMPLETE ⇔ exactly one `completed` event ⇔ one result row; attempts within bounds; an
 * ERROR carries one of `allowedCodes`.
 */
export function auditTasks(db: Db, ids: readonly string[], allowedCodes: readonly string[]): TaskAudit {
  const byStatus: Record<string, number> = {};
  const byCode: Record<string, number> = {};
  const problems: string[] = [];
  const row = db.prepare<
    [string],
    { status: string; error_code: string | null; attempt: number; max_attempts: number; live: number | null }
  >(`SELECT status, error_code, attempt, max_attempts, live FROM tasks WHERE id = ?`);
  const evs = db.prepare<[string], { type: string; status: string }>(
    `SELECT type, json_extract(payload, '$.status') AS status FROM task_events WHERE task_id = ? ORDER BY seq`,
  );
  const results = db.prepare<[string], { n: number }>(`SELECT count(*) AS n FROM results WHERE id = ?`);
  for (const id of ids) {
    const r = row.get(id);
    if (!r) {
      problems.push(`task ${id}: missing`);
      continue;
    }
    byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    if (r.error_code) byCode[r.error_code] = (byCode[r.error_code] ?? 0) + 1;
    if (!FINAL.includes(r.status)) problems.push(`task ${id}: still ${r.status}`);
    if (r.live !== null) problems.push(`task ${id}: still live`);
    if (r.attempt > r.max_attempts) problems.push(`task ${id}: attempt ${r.attempt} > ${r.max_attempts}`);
    const e = evs.all(id);
    const finals = e.filter((x) => FINAL.includes(x.status) && x.type !== 'created');
    const completed = e.filter((x) => x.type === 'completed').length;
    if (finals.length !== 1) problems.push(`task ${id}: ${finals.length} final events (${e.map((x) => x.type).join(' ')})`);
    if (e.length && !FINAL.includes(e[e.length - 1].status))
      problems.push(`task ${id}: last event is ${e[e.length - 1].type}/${e[e.length - 1].status}`);
    const nResults = results.get(id)!.n;
    if (r.status === 'COMPLETE' && (completed !== 1 || nResults !== 1))
      problems.push(`task ${id}: COMPLETE with ${completed} completed events, ${nResults} results`);
    if (r.status !== 'COMPLETE' && (completed !== 0 || nResults !== 0))
      problems.push(`task ${id}: ${r.status} with ${completed} completed events, ${nResults} results`);
    if (r.status === 'ERROR' && !allowedCodes.includes(r.error_code ?? ''))
      problems.push(`task ${id}: ERROR ${r.error_code} not among ${allowedCodes.join('/')}`);
  }
  return { byStatus, byCode, problems };
}

/** Every COMPLETE task's image decodes in full and has the size its row reports. */
export async function auditImages(db: Db, ids: readonly string[]): Promise<string[]> {
  const get = db.prepare<[string], { result: Buffer; width: number; height: number; content_type: string }>(
    `SELECT result, width, height, content_type FROM results WHERE id = ?`,
  );
  const problems: string[] = [];
  for (const id of ids) {
    const r = get.get(id);
    if (!r) continue;
    try {
      const { info } = await sharp(r.result, { failOn: 'truncated' }).raw().toBuffer({ resolveWithObject: true });
      if (info.width !== r.width || info.height !== r.height)
        problems.push(`result ${id}: ${info.width}×${info.height}, row says ${r.width}×${r.height}`);
      const format = (await sharp(r.result).metadata()).format;
      if (`image/${format}` !== r.content_type) problems.push(`result ${id}: ${format} stored as ${r.content_type}`);
    } catch (err) {
      problems.push(`result ${id}: does not decode (${(err as Error).message})`);
    }
  }
  return problems;
}

export function integrity(db: Db): string {
  return String(db.pragma('integrity_check', { simple: true }));
}

/** Bytes of the database file and its WAL. */
export function dbSize(dbPath: string): { db: number; wal: number } {
  const size = (p: string) => (existsSync(p) ? statSync(p).size : 0);
  return { db: size(dbPath), wal: size(`${dbPath}-wal`) };
}

/** Resident memory of a process, in bytes (Linux). */
export function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** One line of figures, for the suite's output and the README table. */
export function figures(suite: string, values: Record<string, unknown>): void {
  console.log(
    `[figures] ${suite}: ${Object.entries(values)
      .map(([k, v]) => `${k}=${typeof v === 'number' ? Math.round(v * 10) / 10 : String(v)}`)
      .join(' ')}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Hostile images

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([head, body, crc]);
}

/**
 * A valid, fully decodable black PNG of `width`×`height` at `depth` bits of grey: a decompression bomb
 * (30000×30000 at 1 bit is ~110 KB on the wire and 900 M pixels decoded).
 */
export function pngBomb(width: number, height: number, depth: 1 | 8 = 1): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = depth; // bit depth; colour type 0 (grey), deflate, no filter, no interlace
  const row = 1 + Math.ceil((width * depth) / 8);
  const idat = deflateSync(Buffer.alloc(row * height), { level: 9 });
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', idat),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A PNG whose header declares `width`×`height` but whose pixel data is a single row: a lie, cheaply. */
export function pngLiar(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  const idat = deflateSync(Buffer.alloc(1 + width));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', idat),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}
