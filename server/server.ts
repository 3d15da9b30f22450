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
import type { ImportStore, Storage } from '../db/port.js';
import { createApp } from './app.js';
import { createTaskWaiters } from './taskWaiters.js';
import type { ProxyTrust } from './forwarded.js';
import { trustProxies } from './clientKey.js';
import { createRetryBusy } from './busy.js';
import type { HostPolicy } from './hosts.js';
import { createHub, type Hub } from './live/hub.js';
import { rejectUpgrade } from './live/upgrade.js';
import { createFeedWatcher, type FeedWatcher } from './live/feed.js';
import { createSetupRoutes } from './setup/routes.js';
import { httpsRedirect, httpsServerOptions, keepSecureContext, type TlsSource } from './tls/index.js';

export interface ServerDeps {
  /**
   * The storage port (db/port.ts), and all the server knows of storage: main.ts builds it (SQLite by
   * default, its connection waiting at most SYNC_BUSY_MS for a lock, server/busy.ts). Its change-feed
   * poller and replays read consistently on their own (for SQLite, a read-only connection woken by
   * `PRAGMA data_version`, and one deferred read transaction per replay). RESULT_FRESH_SEC's dedupe
   * and RESULTS_MB's budget are the storage's options.
   */
  storage: Storage;
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

/** Builds the server; resolves once its change-feed poller is open (not listening yet). */
export async function createServer(deps: ServerDeps): Promise<MoviemosaicServer> {
  const { storage, log, tls } = deps;
  // Ports are known once listening; the redirect and /setup ask when they need them.
  let http: Server | null = null;
  let https: HttpsServer | null = null;
  const portOf = (s: Server | null) => (s?.address() as AddressInfo | null)?.port ?? 0;

  // Never freeze the event loop for long on a lock held elsewhere: the storage waits briefly, then
  // the write is retried asynchronously.
  const retryBusy = createRetryBusy(deps.clock, storage.isBusy, deps.busyRetryMs);
  /** Replaces a member's import, then makes room for it under RESULTS_MB (each write waits out a busy database). */
  const replaceImport: ImportStore['replace'] = async (username, data, now) => {
    const summary = await retryBusy(() => storage.imports.replace(username, data, now));
    const evicted = await retryBusy(() => storage.budget.enforce({ importOf: username }));
    if (evicted.results || evicted.imports) log.info('evicted over RESULTS_MB', { ...evicted });
    return summary;
  };
  const waiters = createTaskWaiters();
  const app = createApp({
    tasks: storage.tasks,
    results: storage.results,
    workers: storage.workers,
    // The export upload's one write waits out a busy database like the task writes do.
    imports: { importedAt: (username) => storage.imports.importedAt(username), replace: replaceImport },
    archive: storage.archive,
    hosts: deps.hosts,
    clock: deps.clock,
    log,
    clientDir: deps.clientDir,
    rateLimitPerMin: deps.rateLimitPerMin,
    trustProxy: deps.trustProxy,
    stableLinks: {
      links: storage.links,
      freshMs: deps.resultFreshSec * 1000,
      waitForTask: waiters.wait,
      statusDir: deps.statusDir ?? null,
      waitMs: deps.stableLinkWaitMs,
    },
    queueLimits: { perClient: deps.queuePerClient ?? 5, max: deps.queueMax ?? 200 },
    retryBusy,
    isBusy: storage.isBusy,
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

  const hub = createHub({
    // A subscriber's replay or snapshot comes from one consistent read (LiveFeed.replay).
    feed: storage.feed,
    tasks: storage.tasks,
    hosts: deps.hosts,
    log: log.child({ part: 'live' }),
    heartbeatMs: deps.heartbeatMs,
    maxBufferedBytes: deps.maxBufferedBytes,
    maxBurstBytes: deps.maxBurstBytes,
    maxSocketsPerClient: deps.socketsPerClient,
  });
  const poller = await storage.feed.poller();
  const feed = createFeedWatcher({
    poller,
    onEvents: (events) => {
      waiters.publish(events);
      return hub.publish(events);
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
      await feed.stop();
      await poller.close();
      const closed = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
      for (const s of servers) s.closeIdleConnections();
      await hub.close();
      const timer = setTimeout(() => servers.forEach((s) => s.closeAllConnections()), graceMs);
      await Promise.all(closed);
      clearTimeout(timer);
    },
  };
}
