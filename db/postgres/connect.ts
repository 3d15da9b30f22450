/** Connections to PostgreSQL (node-postgres): a pool whose bigints read as numbers, and transactions. */
import pg from 'pg';

/**
 * bigint columns (ms timestamps, seq) as JS numbers: they stay far below 2^53. node-postgres reads
 * int8 as strings by default; this parser is set per pool, not globally, so nothing else changes.
 */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
    oid === (pg.types.builtins.INT8 as number)
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

export interface PoolOptions {
  /** Connections in the pool (default 10). */
  max?: number;
  /** Set on every connection, e.g. { synchronous_commit: 'off' }. */
  settings?: Record<string, string>;
  /**
   * A connection left inside a transaction this long is ended by the server (default 30 s), which
   * frees its row locks. Our transactions last milliseconds; one that sits idle is a process frozen
   * (SIGSTOP, a stalled VM) or a bug, and its locks would otherwise hold the sweep off that task and
   * make a cancel wait for as long as the process stays frozen.
   */
  idleInTransactionMs?: number;
}

const IDLE_IN_TRANSACTION_MS = 30_000;

export function createPool(url: string, options: PoolOptions = {}): pg.Pool {
  const settings = Object.entries(options.settings ?? {})
    .map(([k, v]) => `-c ${k}=${v}`)
    .join(' ');
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    types,
    idle_in_transaction_session_timeout: options.idleInTransactionMs ?? IDLE_IN_TRANSACTION_MS,
    ...(settings ? { options: settings } : {}),
  });
  // An idle connection that dies (server restart) is dropped by the pool; the error must not crash us.
  pool.on('error', () => {});
  // A connection that ends while lent out (a server restart, pg_terminate_backend, the idle-in-transaction
  // timeout) emits 'error' on its client, and pg-pool listens only while the client is idle: with no
  // listener the process would exit. The query in flight, or the next one, fails instead, so the
  // transaction fails like any failed statement (isPgBusy: try again), and the pool discards the client
  // when it is released.
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/** A single client for LISTEN (kept apart from the pool: a listening connection is never lent out). */
export function createClient(url: string): pg.Client {
  return new pg.Client({ connectionString: url, types });
}

/**
 * Runs `fn` in a transaction on one pooled connection; rolls back when it throws. `commit` is the
 * text that ends it (tasks.ts commits some with a NOTIFY after the COMMIT, in the same round trip).
 */
export async function withTx<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>, commit = 'COMMIT'): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const out = await fn(c);
    await c.query(commit);
    return out;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    c.release();
  }
}

/** Runs `fn` under a savepoint inside `withTx`: when it throws, only its own writes are undone. */
export async function savepoint<T>(c: pg.PoolClient, fn: () => Promise<T>): Promise<T> {
  await c.query('SAVEPOINT part');
  try {
    const out = await fn();
    await c.query('RELEASE SAVEPOINT part');
    return out;
  } catch (err) {
    await c.query('ROLLBACK TO SAVEPOINT part');
    await c.query('RELEASE SAVEPOINT part');
    throw err;
  }
}

/**
 * SQLSTATEs that mean "not now" rather than "wrong": a serialization failure, a deadlock, a lock not
 * available; a server shutting down, restarting or refusing connections for now (starting up, too
 * many clients); this session ended by the server (an administrator, the idle-in-transaction timeout).
 * Class 08 (connection exceptions) counts too. In every case the transaction was rolled back.
 */
const TRY_AGAIN = new Set(['40001', '40P01', '55P03', '57P01', '57P02', '57P03', '53300', '25P03']);
/** Socket errors on the way to the server, and node-postgres's own words for a connection that ended. */
const LOST = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);
const LOST_MESSAGE = /^Connection terminated|is not queryable/;

/**
 * Whether `err` means "busy or briefly unreachable, try again" rather than broken: the server answers
 * those 503 with Retry-After and the worker retries its final write. A final write retried after its
 * connection ended right after COMMIT finds its task already finished: fenced by the lease token, it
 * changes nothing.
 */
export function isPgBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (TRY_AGAIN.has(code) || code.startsWith('08') || LOST.has(code))) return true;
  return err instanceof Error && LOST_MESSAGE.test(err.message);
}
