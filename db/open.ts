/** Opens the SQLite database with the pragmas every connection needs, and applies migrations. */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { MIGRATIONS, type Migration } from './migrations.js';

export type Db = Database.Database;

export interface OpenOptions {
  /** Open read-only (the change-feed watcher). Skips migrations. */
  readonly?: boolean;
  /** Busy timeout in ms: how long a writer waits for another process's write lock. */
  busyTimeoutMs?: number;
  migrations?: readonly Migration[];
}

/** Opens (creating if needed) the database at `path` (or ':memory:'), migrated to the latest version. */
export function openDb(path: string, options: OpenOptions = {}): Db {
  if (path !== ':memory:' && !options.readonly) mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
  if (!options.readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    // Keep the WAL from growing without bound between checkpoints (pages; ~16 MB of 4 KiB pages).
    db.pragma('journal_size_limit = 16777216');
    migrate(db, options.migrations ?? MIGRATIONS);
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

interface TxStatements {
  begin: Database.Statement;
  commit: Database.Statement;
  rollback: Database.Statement;
}
const txStatements = new WeakMap<Db, TxStatements>();

/**
 * Runs `fn` in a `BEGIN IMMEDIATE` transaction (every write in this app goes through here); inside an
 * open transaction it simply joins it. Hand-rolled over three statements prepared once per connection:
 * better-sqlite3's `db.transaction(fn)` builds its wrapper anew for every closure, which measured
 * ~19 µs per call, a third of a whole claim.
 */
export function writeTx<T>(db: Db, fn: () => T): T {
  if (db.inTransaction) return fn();
  let s = txStatements.get(db);
  if (!s) {
    s = { begin: db.prepare('BEGIN IMMEDIATE'), commit: db.prepare('COMMIT'), rollback: db.prepare('ROLLBACK') };
    txStatements.set(db, s);
  }
  s.begin.run();
  try {
    const out = fn();
    s.commit.run();
    return out;
  } catch (err) {
    // SQLite may already have rolled back on its own (e.g. SQLITE_FULL); only roll back what is open.
    if (db.inTransaction) s.rollback.run();
    throw err;
  }
}
