/**
 * The server process: the only place its side effects are wired (configuration from the environment,
 * the database, the listening socket, the worker children, signals). Run it with `npm start`, or
 * `node --import tsx server/main.ts` / `node dist/server/main.js`.
 *
 * The server/ folder owns the HTTP and WebSocket edge of the app and the supervision of the worker
 * processes: `app.ts` (the Koa middleware in order, composing the route factories), `server.ts` (the
 * HTTP/HTTPS servers with the app, the live hub and the feed watcher attached), `routes/` (the JSON API,
 * stable links, the export upload), `middleware/` (what every request passes through), `live/` (the
 * socket), `setup/` and `tls/` (HTTPS on the home network), `export/` (reading an uploaded export), and
 * single-purpose modules beside them (who a request is from, host checks, queue positions, busy-write
 * retries, link previews). It may use common/ and the storage port, db/port.ts (never SQL of its own;
 * this file alone names the engine, SQLite, and builds the port over it), and starts
 * worker/main.ts only as a child process; it never imports client/ (what both sides need is in common/)
 * nor worker/.
 */
import { existsSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { loadConfig, ConfigError, type Config } from '../common/config.js';
import { createLogger } from '../common/log.js';
import { systemClock } from '../common/clock.js';
import { restrictDataDir } from '../db/sqlite/open.js';
import { openStorage, SQLITE_FILE } from '../db/openStorage.js';
import { createHostPolicy } from './hosts.js';
import { createServer } from './server.js';
import { SYNC_BUSY_MS } from './busy.js';
import { parseTrustProxy, type ProxyTrust } from './forwarded.js';
import { createSupervisor } from './supervisor.js';
import { openTls, startupBanner, type TlsSource } from './tls/index.js';

/** The project folder (where package.json is), whether this runs from server/ or from dist/server/. */
function projectRoot(): { root: string; fromDist: boolean } {
  const here = dirname(fileURLToPath(import.meta.url));
  let dir = here;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return { root: dir, fromDist: here.startsWith(join(dir, 'dist') + sep) };
}

function lanAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && !a.internal)
    .map((a) => a!.address);
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((done, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      done((server.address() as AddressInfo).port);
    });
  });
}

async function main(): Promise<void> {
  process.title = 'moviemosaic-server';
  // A log pipe whose reader went away (EPIPE) must not take the server down with it.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
  let config: Readonly<Config>;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  let trustProxy: ProxyTrust | null;
  try {
    trustProxy = parseTrustProxy(config.trustProxy ?? undefined);
  } catch (err) {
    console.error(`Invalid configuration:\n  - ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  }
  const log = createLogger(config.logLevel, { proc: 'server' });
  const { root, fromDist } = projectRoot();
  if (!restrictDataDir(resolve(config.dataDir))) {
    log.warn('DATA_DIR could not be made private (0700); other local accounts may read it', { dataDir: config.dataDir });
  }
  // DATABASE_URL unset: the SQLite file in DATA_DIR; postgres://…: PostgreSQL (db/openStorage.ts).
  const dbLabel = config.databaseUrl ? 'postgresql (DATABASE_URL)' : join(resolve(config.dataDir), SQLITE_FILE);
  let storage: Awaited<ReturnType<typeof openStorage>>;
  try {
    storage = await openStorage({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      // Never freeze the event loop for long on a lock held elsewhere: wait briefly, then retry async (server/busy.ts).
      sqlite: { busyTimeoutMs: SYNC_BUSY_MS },
      clock: systemClock,
      resultFreshMs: config.resultFreshSec * 1000,
      resultsBudgetBytes: config.resultsMb * 1024 * 1024,
    });
  } catch (err) {
    console.error(`The database could not be opened (${dbLabel}): ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  }

  const clientDir = join(root, 'dist', 'client');
  if (!existsSync(join(clientDir, 'index.html'))) {
    log.warn('the client is not built: pages answer 503 until `npm run build` has run', { clientDir });
  }
  const hosts = createHostPolicy({ extra: config.allowedHosts, hostname: hostname(), addresses: lanAddresses });
  let tls: TlsSource | null = null;
  if (config.https) {
    try {
      tls = await openTls({ config, hostname: hostname(), names: () => hosts.names(), clock: systemClock, log });
    } catch (err) {
      console.error(`HTTPS is on, but its certificate could not be made or loaded: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(2);
    }
    tls.start();
  }
  const server = await createServer({
    storage,
    hosts,
    clock: systemClock,
    log,
    clientDir,
    statusDir: join(root, 'dist', 'status'),
    rateLimitPerMin: config.rateLimitPerMin,
    socketsPerClient: config.socketsPerClient,
    queuePerClient: config.queuePerClient,
    queueMax: config.queueMax,
    resultFreshSec: config.resultFreshSec,
    trustProxy,
    bindHost: config.host,
    hostname: hostname(),
    tls,
  });

  const httpPort = await listen(server.http, config.port, config.host);
  const httpsPort = server.https ? await listen(server.https, config.httpsPort, config.host) : null;
  log.info('listening', { host: config.host, port: httpPort, httpsPort, db: dbLabel, workers: config.workers });
  if (config.logLevel !== 'silent') {
    const https = tls && httpsPort !== null ? { port: httpsPort, tls } : null;
    console.log(await startupBanner({ names: hosts.names(), bindHost: config.host, httpPort, https, qr: process.stdout.isTTY }));
  }

  const workerEntry = join(root, 'dist', 'worker', 'main.js');
  const supervisor = createSupervisor({
    count: config.workers,
    args: fromDist && existsSync(workerEntry) ? [workerEntry] : ['--import', 'tsx', join(root, 'worker', 'main.ts')],
    cwd: root,
    env: process.env,
    log,
  });
  supervisor.start();

  // A stop request (a signal, or the parent that started us letting go) shuts down gracefully. A
  // further signal kills at once, except one arriving together with the first: a terminal's Ctrl-C
  // reaches every process of the group, and npm or a process manager may pass the same one on.
  let stopAt = 0;
  const stop = async (reason: string, signal: boolean) => {
    if (stopAt) {
      if (!signal || Date.now() - stopAt < 1000) return;
      log.warn('second signal: stopping now', { reason });
      supervisor.kill();
      process.exit(130);
    }
    stopAt = Date.now();
    log.info('stopping: closing connections, letting workers finish or release their tasks', { reason });
    await Promise.all([supervisor.stop(), server.close()]);
    tls?.stop();
    await storage.close();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM', true));
  process.on('SIGINT', () => void stop('SIGINT', true));
  if (process.send) process.on('disconnect', () => void stop('parent exited', false));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
