/** Shared by the server tests: an app on a real port, raw HTTP requests, socket clients, a test world. */
import {
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type RequestListener,
  type Server,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { createLogger, type Logger } from '../../common/log.js';
import type { ServerMessage } from '../../common/protocol.js';
import { openDb, type Db } from '../../db/sqlite/open.js';
import { createTaskStore, type TaskStore } from '../../db/sqlite/tasks.js';
import { createResultStore, type ResultStore } from '../../db/sqlite/results.js';
import { createSqliteStorage, type SqliteStorage } from '../../db/sqlite/index.js';
import { createHostPolicy } from '../../server/hosts.js';
import { createApp, type AppDeps } from '../../server/app.js';
import { createServer, type MoviemosaicServer, type ServerDeps } from '../../server/server.js';
import { SYNC_BUSY_MS } from '../../server/busy.js';
import { systemClock } from '../../common/clock.js';
import { join } from 'node:path';
import { fakeClock, type FakeClock } from './fakeClock.js';
import { tmpDir } from './tmp.js';
import type { Child } from './processes.js';
import { wsText } from '../../server/live/wsText.js';

const cleanups = new Set<() => unknown>();

/**
 * Registers `fn` to run after the current test, pass or fail (`test.after.each(cleanup)` in each file),
 * so a failed assertion never leaves a server or a child process keeping the test process alive.
 * Returns an idempotent wrapper to call in the normal course of the test.
 */
export function track(fn: () => unknown): () => Promise<void> {
  let done: Promise<void> | null = null;
  const once = () =>
    (done ??= Promise.resolve()
      .then(fn)
      .then(() => undefined));
  cleanups.add(once);
  return once;
}

export async function cleanup(): Promise<void> {
  const all = [...cleanups].reverse();
  cleanups.clear();
  for (const fn of all) await Promise.resolve(fn()).catch(() => {});
}

/** A temporary folder removed after the test. */
export function tmp(): { dir: string; cleanup: () => Promise<void> } {
  const t = tmpDir();
  return { dir: t.dir, cleanup: track(t.cleanup) };
}

/** A child process SIGKILLed after the test if it is still running. */
export function tracked(child: Child): Child {
  track(() => {
    child.kill('SIGKILL');
    return child.exited;
  });
  return child;
}

/** A logger that keeps its lines (parsed) for assertions. */
export function memoryLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { log: createLogger('debug', {}, (l) => lines.push(JSON.parse(l))), lines };
}

export const testHosts = () =>
  createHostPolicy({
    extra: ['mosaic.example', 'pi.lan:8080'],
    hostname: 'raspberrypi',
    addresses: () => ['192.168.1.20', 'fe80::1%eth0'],
  });

export async function listen(handler: RequestListener | Server): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = typeof handler === 'function' ? createHttpServer(handler) : handler;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const close = track(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { server, port, close };
}

export interface Res {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
  json: any;
}

export function request(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer; chunks?: Buffer[] } = {},
): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        const text = body.toString('utf8');
        let json: unknown = undefined;
        try {
          json = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode!, headers: res.headers, body, text, json });
      });
    });
    req.on('error', reject);
    if (options.chunks) {
      for (const c of options.chunks) req.write(c);
      req.end();
    } else req.end(options.body);
  });
}

export const postJson = (port: number, path: string, body: unknown, headers: Record<string, string> = {}) =>
  request(port, path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

/**
 * An in-memory world: real database, the app over the storage port, fake clock, memory log, on a port.
 * `tasks` and `results` are the synchronous SQLite stores over the same database, for tests that look
 * (or write, as a worker would) under the port.
 */
export async function testApp(overrides: Partial<AppDeps> = {}) {
  const db: Db = openDb(':memory:');
  const clock: FakeClock = fakeClock();
  const storage: SqliteStorage = createSqliteStorage(db, { clock });
  const tasks: TaskStore = createTaskStore(db, { clock });
  const results: ResultStore = createResultStore(db);
  const { log, lines } = memoryLogger();
  const deps: AppDeps = {
    tasks: storage.tasks,
    results: storage.results,
    workers: storage.workers,
    imports: storage.imports,
    archive: storage.archive,
    isBusy: storage.isBusy,
    hosts: testHosts(),
    clock,
    log,
    clientDir: null,
    rateLimitPerMin: 1000,
    ...overrides,
  };
  const app = createApp(deps);
  const http = await listen(app.callback());
  return {
    db,
    storage,
    clock,
    tasks,
    results,
    lines,
    port: http.port,
    close: track(async () => {
      await http.close();
      if (db.open) db.close();
    }),
  };
}

export interface LiveServer {
  /** DATA_DIR: the database is `moviemosaic.db` in it. */
  dir: string;
  db: Db;
  /** The storage port the server runs over (SQLite over `db`). */
  storage: SqliteStorage;
  /** The task store a worker would use, on a strictly increasing clock (tasks queue in creation order). */
  tasks: TaskStore;
  server: MoviemosaicServer;
  port: number;
  /** One pass of the feed watcher (with `startFeed: false`; production runs it every 10 ms); resolves once published. */
  poll(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The whole server (app, hub, feed watcher) over the SQLite storage port on a database file in a
 * temporary DATA_DIR, built as server/main.ts builds it, on a port. `resultsMb` is RESULTS_MB.
 */
export async function liveServer(options: Partial<ServerDeps> & { resultsMb?: number } = {}): Promise<LiveServer> {
  const t = tmp();
  const path = join(t.dir, 'moviemosaic.db');
  const db = openDb(path, { busyTimeoutMs: SYNC_BUSY_MS });
  const storage = createSqliteStorage(db, {
    clock: options.clock ?? systemClock,
    resultFreshMs: (options.resultFreshSec ?? 600) * 1000,
    resultsBudgetBytes: (options.resultsMb ?? 1000) * 1024 * 1024,
  });
  const server = await createServer({
    storage,
    hosts: testHosts(),
    clock: systemClock,
    log: memoryLogger().log,
    clientDir: null,
    rateLimitPerMin: 1000,
    resultFreshSec: 600,
    ...options,
  });
  const http = await listen(server.http);
  let tick = 0;
  return {
    dir: t.dir,
    db,
    storage,
    tasks: createTaskStore(db, { clock: { now: () => (tick = Math.max(Date.now(), tick + 1)) } }),
    server,
    port: http.port,
    poll: () => server.feed.pollOnce(),
    close: track(async () => {
      await server.close(100);
      await storage.close();
      await t.cleanup();
    }),
  };
}

/** Claims every runnable task, then completes `id` with a tiny result. */
export function completeWithResult(tasks: TaskStore, results: ResultStore, id: string, now: number, image = Buffer.from('IMAGE BYTES')) {
  const claimed = tasks.claim('test-worker', 100).find((t) => t.id === id)!;
  return tasks.complete(claimed.id, claimed.leaseToken, () =>
    results.insert(
      id,
      {
        image,
        contentType: 'image/jpeg',
        width: 10,
        height: 20,
        films: [{ title: 'Flow', year: 2024, rating: 4.5, slug: 'flow', watchedDate: '2026-11-02' }],
        partial: false,
        note: null,
      },
      now,
    ),
  );
}

/** A socket client that queues every server message and lets a test await the next ones. */
export interface TestSocket {
  ws: WebSocket;
  messages: ServerMessage[];
  send(message: unknown): void;
  /** Resolves with the first queued-or-future message matching `match` (consumed from the queue). */
  next(match?: (m: ServerMessage) => boolean, timeoutMs?: number): Promise<ServerMessage>;
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

export function openSocket(
  port: number,
  options: { origin?: string | null; host?: string; path?: string; autoPong?: boolean } = {},
): Promise<TestSocket> {
  const host = options.host ?? `127.0.0.1:${port}`;
  const origin = options.origin === undefined ? `http://${host}` : options.origin;
  const ws = new WebSocket(`ws://127.0.0.1:${port}${options.path ?? '/ws'}`, {
    headers: { host },
    ...(origin ? { origin } : {}),
    autoPong: options.autoPong ?? true,
  });
  const messages: ServerMessage[] = [];
  const waiters: { match: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }[] = [];
  ws.on('message', (data) => {
    const m = JSON.parse(wsText(data)) as ServerMessage;
    const i = waiters.findIndex((w) => w.match(m));
    if (i >= 0) waiters.splice(i, 1)[0].resolve(m);
    else messages.push(m);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const socket: TestSocket = {
    ws,
    messages,
    send: (m) => ws.send(typeof m === 'string' ? m : JSON.stringify(m)),
    next(match = () => true, timeoutMs = 5000) {
      const i = messages.findIndex(match);
      if (i >= 0) return Promise.resolve(messages.splice(i, 1)[0]);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no matching socket message within ${timeoutMs} ms; queued: ${JSON.stringify(messages).slice(0, 500)}`)),
          timeoutMs,
        );
        waiters.push({
          match,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
      });
    },
    closed,
    close: () => ws.close(),
  };
  track(() => ws.terminate());
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(socket));
    ws.once('unexpected-response', (req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        req.destroy();
        reject(Object.assign(new Error(`upgrade refused: ${res.statusCode} ${body}`), { status: res.statusCode, body }));
      });
    });
    ws.once('error', reject);
  });
}
