/**
 * The PostgreSQL adapter behind the storage port (db/port.ts): for several servers and worker hosts
 * on one database. `openPostgres(url)` connects, migrates (once, however many processes start at
 * once) and returns the port's stores.
 */
import type pg from 'pg';
import type { QueueOptions } from '../sqlite/tasks.js';
import type { StorageCore } from '../port.js';
import { createPool, type PoolOptions } from './connect.js';
import { migratePg } from './migrations.js';
import { createPgTaskQueue, type PgTaskQueue } from './tasks.js';
import { createPgFeed } from './feed.js';
import { createPgResults, type PgResultStore } from './results.js';
import { createPgImports } from './imports.js';
import { createPgWorkers } from './workers.js';
import { createPgPosterKnowledge } from './posters.js';

export interface PostgresStorage extends StorageCore {
  readonly kind: 'postgres';
  tasks: PgTaskQueue;
  results: PgResultStore;
  /** The connection pool, for tests and benchmarks that look under the port. */
  pool: pg.Pool;
}

export async function openPostgres(url: string, options: QueueOptions & { pool?: PoolOptions } = {}): Promise<PostgresStorage> {
  const pool = createPool(url, options.pool);
  try {
    const c = await pool.connect();
    try {
      await migratePg(c);
    } finally {
      c.release();
    }
  } catch (err) {
    await pool.end();
    throw err;
  }
  return {
    kind: 'postgres',
    pool,
    tasks: createPgTaskQueue(pool, options),
    workers: createPgWorkers(pool),
    feed: createPgFeed(pool, url),
    results: createPgResults(pool),
    imports: createPgImports(pool),
    posters: createPgPosterKnowledge(pool),
    close: () => pool.end(),
  };
}
