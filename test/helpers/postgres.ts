/**
 * A throwaway PostgreSQL cluster for one test file (or one benchmark run): `initdb` into a temporary
 * folder, the server on a free loopback port with its socket in that folder, removed by `stop()`.
 *
 * Debian installs the server binaries in /usr/lib/postgresql/<version>/bin, off PATH (`PG_BIN`
 * overrides). PostgreSQL refuses to run as root, so as root the folder is handed to the `postgres`
 * user Debian's package creates and the binaries run as that user (runuser); otherwise they run as
 * the current user. Where the binaries are missing, `startPostgres` returns null and says so in one
 * line (the tests then count as skipped), except under `CI=true`, where that is a failure.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { suite, type Test } from 'uvu';
import { join } from 'node:path';

export interface PgCluster {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` */
  url: string;
  port: number;
  /** Creates a fresh database in the cluster and returns its URL (one per test, when tests need a clean slate). */
  createDatabase(name: string): string;
  /**
   * Restarts the server as an operator would (`pg_ctl restart -m fast`: every session is ended, new
   * connections are refused until it is back), with the same settings.
   */
  restart(): void;
  /** Stops the server at once and removes the folder. */
  stop(): void;
}

export interface StartOptions {
  /**
   * Keep PostgreSQL's durable defaults (fsync, synchronous commit): for benchmarks. Tests turn them
   * off, since nothing in a throwaway cluster must survive a power cut and each fsync is milliseconds.
   */
  durable?: boolean;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string>;
}

/** The newest Debian server binaries, or PG_BIN, or null. */
export function findPgBin(): string | null {
  if (process.env.PG_BIN) return existsSync(join(process.env.PG_BIN, 'initdb')) ? process.env.PG_BIN : null;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'initdb')));
  versions.sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0], 'bin') : null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * The environment PostgreSQL's binaries run in: this one without libfaketime, which `npm run
 * test:dates` preloads into every process. Under it PostgreSQL's timeouts misfire: a timeout's signal
 * handler reads the clock while the backend waits in epoll_wait, where libfaketime hands out the real
 * time, so with the clock moved back every armed timeout looks long expired and fires at once. Busy
 * sessions were ended as idle in transaction (25P03) a second after a lock wait, and three workers
 * with them. The app never reads PostgreSQL's clock (every time it stores comes from Node), so the
 * suite's dates do not need it faked.
 */
function serverEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('FAKETIME')) delete env[k];
  const preload = (env.LD_PRELOAD ?? '')
    .split(/[:\s]+/)
    .filter((lib) => lib && !lib.includes('faketime'))
    .join(':');
  if (preload) env.LD_PRELOAD = preload;
  else delete env.LD_PRELOAD;
  return env;
}

const MISSING = 'PostgreSQL server binaries not found (apt-get install postgresql, or set PG_BIN)';

/**
 * Starts a cluster, or returns null (after printing one SKIP line) when PostgreSQL is not installed.
 * Under CI=true a missing PostgreSQL throws instead.
 */
export async function startPostgres(what: string, options: StartOptions = {}): Promise<PgCluster | null> {
  const bin = findPgBin();
  if (!bin) {
    if (process.env.CI === 'true') throw new Error(`${MISSING}; CI must run the PostgreSQL tests.`);
    console.log(`SKIP ${what}: ${MISSING}.`);
    return null;
  }
  const asRoot = process.getuid?.() === 0;
  const env = serverEnv();
  const dir = mkdtempSync(join(tmpdir(), 'mm-pg-'));
  const data = join(dir, 'data');
  // As root, the postgres user owns the folder and runs every binary.
  const run = (cmd: string, args: string[]) => {
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]] : [join(bin, cmd), args];
    const r = spawnSync(file, argv, { encoding: 'utf8', cwd: dir, env });
    if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr || r.stdout}`);
  };
  try {
    if (asRoot) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      chownSync(dir, uid, gid);
    }
    run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
    const port = await freePort();
    const settings: Record<string, string> = {
      listen_addresses: '127.0.0.1',
      port: String(port),
      unix_socket_directories: dir,
      max_connections: '100',
      ...(options.durable ? {} : { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' }),
      ...options.settings,
    };
    const opts = Object.entries(settings)
      .map(([k, v]) => `-c ${k}=${v}`)
      .join(' ');
    run('pg_ctl', ['-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', '-t', '60', 'start']);
    let stopped = false;
    const base = `postgres://postgres@127.0.0.1:${port}`;
    const cluster: PgCluster = {
      url: `${base}/postgres`,
      port,
      createDatabase(name) {
        if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
        const psql = [
          '-h',
          dir,
          '-p',
          String(port),
          '-U',
          'postgres',
          '-d',
          'postgres',
          '-v',
          'ON_ERROR_STOP=1',
          '-q',
          '-c',
          `CREATE DATABASE ${name}`,
        ];
        run('psql', psql);
        return `${base}/${name}`;
      },
      restart() {
        run('pg_ctl', ['-D', data, '-m', 'fast', '-l', join(dir, 'log'), '-w', '-t', '60', 'restart']);
      },
      stop() {
        if (stopped) return;
        stopped = true;
        try {
          run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
    process.once('exit', () => cluster.stop());
    return cluster;
  } catch (err) {
    const log = existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8') : '';
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}${log ? `\nserver log:\n${log}` : ''}`);
  }
}

/**
 * A uvu suite for tests that need the cluster: without one, every test registered is counted as
 * skipped (uvu's Skipped), hooks are dropped, and `run()` still prints the summary the runner reads.
 */
export function pgSuite(name: string, cluster: PgCluster | null): Test {
  const real = suite(name);
  if (cluster) return real;
  const skipping = ((title: string) => real.skip(title)) as unknown as Test;
  const noop = Object.assign(() => {}, { each: () => {} });
  return Object.assign(skipping, { before: noop, after: noop, only: real.skip, skip: real.skip, run: real.run });
}
