/**
 * The HTTP server (and with a TLS source the HTTPS one) with everything attached: the Koa app on
 * `request`, the live hub on `upgrade`, the feed watcher feeding the hub. Not listening yet: main.ts
 * (or a test) decides where.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/log.js';
import type { Db } from '../db/sqlite/open.js';
import { createTaskStore } from '../db/sqlite/tasks.js';
import { createResultStore } from '../db/sqlite/results.js';
import { createImportStore } from '../db/sqlite/imports.js';
import { createBudget } from '../db/sqlite/budget.js';
import { writeTx } from '../db/sqlite/open.js';
import { createWorkerStore } from '../db/sqlite/workers.js';
import { createEventStore } from '../db/sqlite/events.js';
import { createFeedReader } from '../db/sqlite/feed.js';
import { createApp } from './app.js';
import { createArchiveStore } from '../db/sqlite/archive.js';
import { createLinkStore } from '../db/sqlite/stableLinks.js';
import { createTaskWaiters } from './taskWaiters.js';
import type { ProxyTrust } from './forwarded.js';
import { trustProxies } from './clientKey.js';
import { createRetryBusy, SYNC_BUSY_MS } from './busy.js';
import type { HostPolicy } from './hosts.js';
import { createHub, type Hub } from './live/hub.js';
import { rejectUpgrade } from './live/upgrade.js';
import { createFeedWatcher, type FeedWatcher } from './live/feed.js';
import { createSetupRoutes } from './setup/routes.js';
import { httpsRedirect, httpsServerOptions, keepSecureContext, type TlsSource } from './tls/index.js';

export interface ServerDeps {
  /** Read-write connection: enqueue and cancel. */
  db: Db;
  /** Read-only connection to the same file: the change feed, replays and snapshots. */
  readDb: Db;
  hosts: HostPolicy;
  clock: Clock;
  log: Logger;
  clientDir: string | null;
  rateLimitPerMin: number;
  resultFreshSec: number;
  /** TRUST_PROXY compiled (server/forwarded.ts): which peers' forwarded headers are believed; null: none. */
  trustProxy?: ProxyTrust | null;
  /** Open live sockets per client (SOCKETS_PER_CLIENT, default 20). */
  socketsPerClient?: number;
  /** Unfinished mosaic tasks per client (QUEUE_PER_CLIENT, default 5) and queued in all (QUEUE_MAX, default 200). */
  queuePerClient?: number;
  queueMax?: number;
  /** RESULTS_MB: results and imports together (default 1000); an upload that goes over evicts the least recently used. */
  resultsMb?: number;
  /** HOST and `os.hostname()`, for the addresses /setup shows. */
  bindHost?: string;
  hostname?: string;
  /** HTTPS on: the certificate source (server/tls); plain HTTP then redirects all but /setup & co. */
  tls?: TlsSource | null;
  /** HTTPS on this port sends Strict-Transport-Security (443: tests name the port they got). */
  hstsPort?: number;
  /** dist/status: the stable links' pictures (drawn by `npm run build`); null answers them in words. */
  statusDir?: string | null;
  /** How long a stable link waits for a new mosaic (default 5 s; tests shorten it). */
  stableLinkWaitMs?: number;
  /** Live tuning (tests shorten these). */
  feedIntervalMs?: number;
  heartbeatMs?: number;
  maxBufferedBytes?: number;
  maxBurstBytes?: number;
  /** How long a task write waits out a database locked by another program before a 503 (default 5000). */
  busyRetryMs?: number;
  /** false: tests call `feed.pollOnce()` themselves. */
  startFeed?: boolean;
}

export interface MoviemosaicServer {
  http: Server;
  /** The HTTPS server when a TLS source was given. */
  https: HttpsServer | null;
  hub: Hub;
  feed: FeedWatcher;
  /** Stops the feed, closes sockets (1001) and the listener; connections still open after `graceMs` are cut. */
  close(graceMs?: number): Promise<void>;
}

export function createServer(deps: ServerDeps): MoviemosaicServer {
  const { db, readDb, log, tls } = deps;
  // Ports are known once listening; the redirect and /setup ask when they need them.
  let http: Server | null = null;
  let https: HttpsServer | null = null;
  const portOf = (s: Server | null) => (s?.address() as AddressInfo | null)?.port ?? 0;

  // Never freeze the event loop for long on a lock held elsewhere: wait briefly, then retry async.
  db.pragma(`busy_timeout = ${SYNC_BUSY_MS}`);
  const tasks = createTaskStore(db, { clock: deps.clock, resultFreshMs: deps.resultFreshSec * 1000 });
  const retryBusy = createRetryBusy(deps.clock, deps.busyRetryMs);
  const importStore = createImportStore(db);
  const budget = createBudget(db, (deps.resultsMb ?? 1000) * 1024 * 1024);
  /** Replaces a member's import, then makes room for it under RESULTS_MB (each write waits out a busy database). */
  const replaceImport: typeof importStore.replace = async (username, data, now) => {
    const summary = await retryBusy(() => importStore.replace(username, data, now));
    const evicted = await retryBusy(() => writeTx(db, () => budget.enforce({ importOf: username })));
    if (evicted.results || evicted.imports) log.info('evicted over RESULTS_MB', { ...evicted });
    return summary;
  };
  const waiters = createTaskWaiters();
  const app = createApp({
    tasks,
    results: createResultStore(db),
    workers: createWorkerStore(db),
    // The export upload's one write waits out a busy database like the task writes do.
    imports: { ...importStore, replace: replaceImport },
    archive: createArchiveStore(db),
    hosts: deps.hosts,
    clock: deps.clock,
    log,
    clientDir: deps.clientDir,
    rateLimitPerMin: deps.rateLimitPerMin,
    trustProxy: deps.trustProxy,
    stableLinks: {
      links: createLinkStore(db),
      freshMs: deps.resultFreshSec * 1000,
      waitForTask: waiters.wait,
      statusDir: deps.statusDir ?? null,
      waitMs: deps.stableLinkWaitMs,
    },
    queueLimits: { perClient: deps.queuePerClient ?? 5, max: deps.queueMax ?? 200 },
    retryBusy,
    hsts: () => https !== null && portOf(https) === (deps.hstsPort ?? 443),
    httpsRedirect: tls ? httpsRedirect({ httpsPort: () => portOf(https) }) : null,
    setup: createSetupRoutes({
      names: () => deps.hosts.names(),
      bindHost: deps.bindHost ?? '0.0.0.0',
      hostname: deps.hostname ?? 'localhost',
      httpPort: () => portOf(http),
      https: tls ? { port: () => portOf(https), tls } : null,
    }),
  });

  // One deferred read transaction: the reads inside see one snapshot, whatever workers commit meanwhile.
  const readTx = readDb.transaction((fn: () => unknown) => fn());
  const hub = createHub({
    events: createEventStore(readDb),
    tasks: createTaskStore(readDb),
    snapshot: (fn) => readTx(fn) as ReturnType<typeof fn>,
    hosts: deps.hosts,
    log: log.child({ part: 'live' }),
    heartbeatMs: deps.heartbeatMs,
    maxBufferedBytes: deps.maxBufferedBytes,
    maxBurstBytes: deps.maxBurstBytes,
    maxSocketsPerClient: deps.socketsPerClient,
  });
  const feed = createFeedWatcher({
    reader: createFeedReader(readDb),
    onEvents: (events) => {
      waiters.publish(events);
      hub.publish(events);
    },
    log,
    intervalMs: deps.feedIntervalMs,
  });

  const servers: Server[] = [];
  const attach = (server: Server, sockets: boolean) => {
    // Slow-loris bounds: headers within 10 s, a whole request within 30 s.
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    server.on('upgrade', (req, socket, head) => {
      trustProxies(req, deps.trustProxy);
      if (sockets) return hub.handleUpgrade(req, socket, head);
      // HTTPS on: the pages live on the HTTPS port, and a plain socket would carry task state in clear.
      socket.on('error', () => {});
      rejectUpgrade(socket, 403, 'HTTPS is on: open the live socket over wss:// on the HTTPS port.');
    });
    servers.push(server);
    return server;
  };
  http = attach(createHttpServer(app.callback()), !tls);
  if (tls) {
    https = createHttpsServer(httpsServerOptions(tls), app.callback());
    attach(https, true);
    keepSecureContext(https, tls);
  }
  if (deps.startFeed !== false) feed.start();

  return {
    http,
    https,
    hub,
    feed,
    async close(graceMs = 5000) {
      feed.stop();
      const closed = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
      for (const s of servers) s.closeIdleConnections();
      await hub.close();
      const timer = setTimeout(() => servers.forEach((s) => s.closeAllConnections()), graceMs);
      await Promise.all(closed);
      clearTimeout(timer);
    },
  };
}
