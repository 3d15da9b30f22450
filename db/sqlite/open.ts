/** Opens the SQLite database with the pragmas every connection needs, and applies migrations. */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { MIGRATIONS, type Migration } from './migrations.js';

export type Db = Database.Database;

export interface OpenOptions {
  /** Open read-only (the change-feed watcher). Skips migrations. */
  readonly?: boolean;
  /** Busy timeout in ms: how long a writer waits for another process's write lock. */
  busyTimeoutMs?: number;
  migrations?: readonly Migration[];
  /**
   * Checkpoint policy of a write connection. Unset: SQLite's own, at commit once the WAL passes 1000
   * pages. A number of ms: this connection checkpoints (PASSIVE) right after a writeTx commit, at most
   * once per that many ms, and SQLite's own runs only as a backstop past 10,000 pages (~40 MB).
   *
   * Why the worker uses it: with SQLite's own, a WAL that cannot restart (another process was
   * mid-transaction at that moment) stays past the threshold, so every later commit checkpoints again,
   * two fsyncs each. With two workers that measured ~1,700 checkpoints for 5,000 tasks where one worker
   * needs ~25 (bench/queue.ts); on an SD card each fsync is milliseconds.
   */
  checkpointEveryMs?: number;
}

/** How the worker opens the database (worker/main.ts; the queue benchmark opens it the same way). */
export const WORKER_DB_OPTIONS: OpenOptions = { checkpointEveryMs: 100 };

const BACKSTOP_CHECKPOINT_PAGES = 10_000;

interface CheckpointState {
  everyMs: number;
  last: number;
  run: Database.Statement;
}
const checkpointStates = new WeakMap<Db, CheckpointState>();

/**
 * DATA_DIR holds members' viewing histories and imports: only the account the app runs as may read
 * it. The folder becomes 0700 (an existing one too: earlier versions made it 0755).
 */
export function restrictDataDir(dir: string): boolean {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    chmodSync(dir, 0o700);
    return true;
  } catch {
    return false; // another account's folder: the caller warns
  }
}

/**
 * The database file is created 0600, and an existing one (with its -wal and -shm, which SQLite
 * creates with the database's own mode) made 0600: earlier versions left them 0644.
 */
function restrictDbFiles(path: string): void {
  if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      chmodSync(file, 0o600);
    } catch {
      // Not there (no WAL yet), or not ours to change: SQLite says so if it cannot open it.
    }
  }
}

/** Opens (creating if needed) the database at `path` (or ':memory:'), migrated to the latest version. */
export function openDb(path: string, options: OpenOptions = {}): Db {
  if (path !== ':memory:' && !options.readonly) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    restrictDbFiles(path);
  }
  const db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
  if (!options.readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    // Keep the WAL from growing without bound between checkpoints (pages; ~16 MB of 4 KiB pages).
    db.pragma('journal_size_limit = 16777216');
    migrate(db, options.migrations ?? MIGRATIONS);
    if (options.checkpointEveryMs !== undefined) {
      db.pragma(`wal_autocheckpoint = ${BACKSTOP_CHECKPOINT_PAGES}`);
      checkpointStates.set(db, { everyMs: options.checkpointEveryMs, last: 0, run: db.prepare('PRAGMA wal_checkpoint(PASSIVE)') });
    }
  }
  return db;
}

/** Applies every migration newer than `PRAGMA user_version`, each in its own immediate transaction. */
export function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): number {
  for (const m of migrations) {
    // Re-read inside the lock: another process may have migrated while we waited for it.
    const apply = db.transaction(() => {
      const current = db.pragma('user_version', { simple: true }) as number;
      if (current >= m.version) return;
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    });
    apply.immediate();
  }
  return db.pragma('user_version', { simple: true }) as number;
}

/** The transaction statements of a connection, prepared once on first use. */
interface TxStatements {
  begin: Database.Statement;
  commit: Database.Statement;
  rollback: Database.Statement;
  savepoint: Database.Statement;
  release: Database.Statement;
  rollbackTo: Database.Statement;
}
const txStatements = new WeakMap<Db, TxStatements>();

function txStatementsOf(db: Db): TxStatements {
  let s = txStatements.get(db);
  if (!s) {
    s = {
      begin: db.prepare('BEGIN IMMEDIATE'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
      savepoint: db.prepare('SAVEPOINT part'),
      release: db.prepare('RELEASE part'),
      rollbackTo: db.prepare('ROLLBACK TO part'),
    };
    txStatements.set(db, s);
  }
  return s;
}

/**
 * Runs `fn` in a `BEGIN IMMEDIATE` transaction (every write in this app goes through here); inside an
 * open transaction it simply joins it. Hand-rolled over three statements prepared once per connection:
 * better-sqlite3's `db.transaction(fn)` builds its wrapper anew for every closure, which measured
 * ~19 µs per call, a third of a whole claim.
 */
export function writeTx<T>(db: Db, fn: () => T): T {
  if (db.inTransaction) return fn();
  const s = txStatementsOf(db);
  s.begin.run();
  let out: T;
  try {
    out = fn();
    s.commit.run();
  } catch (err) {
    // SQLite may already have rolled back on its own (e.g. SQLITE_FULL); only roll back what is open.
    if (db.inTransaction) s.rollback.run();
    throw err;
  }
  checkpointIfDue(db);
  return out;
}

/**
 * Runs `fn` under a savepoint inside the open write transaction: when it throws, only its own writes
 * are undone and the transaction goes on (the worker completes several tasks in one commit, each on
 * its own).
 */
export function savepoint<T>(db: Db, fn: () => T): T {
  if (!db.inTransaction) throw new Error('savepoint() runs inside a write transaction');
  const s = txStatementsOf(db);
  s.savepoint.run();
  try {
    const out = fn();
    s.release.run();
    return out;
  } catch (err) {
    // When SQLite rolled the whole transaction back by itself (SQLITE_FULL), there is nothing to undo.
    if (db.inTransaction) {
      s.rollbackTo.run();
      s.release.run();
    }
    throw err;
  }
}

/**
 * For connections opened with `checkpointEveryMs`: checkpoints when the interval has passed since the
 * last one (writeTx calls it after each commit; the worker's housekeeping too, so frames written
 * just after a checkpoint do not wait for the next task). The committed transaction stands whatever
 * happens here: a checkpoint that fails is retried next time.
 */
export function checkpointIfDue(db: Db): void {
  const cp = checkpointStates.get(db);
  if (!cp) return;
  const now = Date.now();
  if (now - cp.last < cp.everyMs) return;
  cp.last = now;
  try {
    cp.run.run();
  } catch {
    // e.g. SQLITE_BUSY while another connection checkpoints; the next commit tries again.
  }
}

/**
 * SQLite's "database is locked" (SQLITE_BUSY and its extended codes): another connection held the write
 * lock past our busy timeout. The one test for it: the server answers 503, the worker retries the write.
 */
export function isSqliteBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}
