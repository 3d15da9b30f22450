/**
 * Chooses the storage engine behind the port (db/port.ts) from the configuration: the SQLite file
 * `moviemosaic.db` in DATA_DIR when DATABASE_URL is unset (the default: nothing else to run), or
 * PostgreSQL for a postgres:// URL (several servers and worker hosts on one database). The two
 * main.ts files call it; everything after it sees only the port.
 */
import { join, resolve } from 'node:path';
import { openDb, type OpenOptions } from './sqlite/open.js';
import { createSqliteStorage, type SqliteStorage, type SqliteStorageOptions } from './sqlite/index.js';
import { openPostgres, type PostgresStorage, type PostgresStorageOptions } from './postgres/index.js';
import { DATABASE_URL_RE } from '../common/config.js';

/** The SQLite file's name in DATA_DIR. */
export const SQLITE_FILE = 'moviemosaic.db';

export interface OpenStorageOptions extends SqliteStorageOptions, Omit<PostgresStorageOptions, 'pool'> {
  /** DATABASE_URL: null/undefined/empty for SQLite in `dataDir`, else a postgres:// URL. */
  databaseUrl?: string | null;
  /** DATA_DIR: where the SQLite file lives (created if missing). */
  dataDir: string;
  /** SQLite only: how the write connection opens (e.g. the worker's WORKER_DB_OPTIONS). */
  sqlite?: OpenOptions;
  /** PostgreSQL only: the connection pool's size and per-connection settings. */
  pool?: PostgresStorageOptions['pool'];
}

export async function openStorage(options: OpenStorageOptions): Promise<SqliteStorage | PostgresStorage> {
  const { databaseUrl, dataDir, sqlite, pool, ...rest } = options;
  if (!databaseUrl) return createSqliteStorage(openDb(join(resolve(dataDir), SQLITE_FILE), sqlite), rest);
  if (!DATABASE_URL_RE.test(databaseUrl)) {
    throw new Error(
      'DATABASE_URL must be a PostgreSQL URL like postgres://user:password@host:5432/moviemosaic, or unset to keep the SQLite file in DATA_DIR.',
    );
  }
  return openPostgres(databaseUrl, { ...rest, pool });
}
