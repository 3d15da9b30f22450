/**
 * The PostgreSQL adapter behind the storage port (db/port.ts): for several servers and worker hosts
 * on one database. `openPostgres(url)` connects, migrates (once, however many processes start at
 * once) and returns the whole port, with db/sqlite/'s semantics.
 *
 * Why event-writing commits are not serialised (docs/architecture.md, "On PostgreSQL"): with durable
 * commits, a lock held through each commit (our feed lock, or PostgreSQL's own for a transaction that
 * sends NOTIFY) made every worker commit wait for the previous one's WAL flush, so concurrent workers
 * could never share a flush. So the event trigger takes no lock (whole-log readers stop at a seq hole
 * until it is filled or provably dead: feed.ts), and the worker's hot events are written by
 * procedures that commit and then NOTIFY in the same call (migrations.ts 3, tasks.ts), not from
 * inside the transaction.
 */
import type pg from 'pg';
import type { QueueOptions } from '../sqlite/tasks.js';
import type { Eviction } from '../sqlite/budget.js';
import type { CompletionWrite, Storage } from '../port.js';
import { createPool, isPgBusy, withTx, type PoolOptions } from './connect.js';
import { migratePg } from './migrations.js';
import { createPgTaskQueue, type PgTaskQueue } from './tasks.js';
import { createPgFeed } from './feed.js';
import { createPgResults, type PgResultStore } from './results.js';
import { createPgImports } from './imports.js';
import { createPgWorkers } from './workers.js';
import { createPgPosterKnowledge } from './posters.js';
import { createPgArchive } from './archive.js';
import { createPgLinks } from './stableLinks.js';
import { enforceBudget, heldBytes } from './budget.js';

export interface PostgresStorageOptions extends QueueOptions {
  pool?: PoolOptions;
  /** RESULTS_MB in bytes, enforced when a result is stored (default: no limit). */
  resultsBudgetBytes?: number;
  /** Told what storing a result pushed out of RESULTS_MB (the worker logs it). */
  onEvicted?(eviction: Eviction, taskId: string): void;
}

export interface PostgresStorage extends Storage {
  readonly kind: 'postgres';
  tasks: PgTaskQueue;
  results: PgResultStore;
  /** The connection pool, for tests and benchmarks that look under the port. */
  pool: pg.Pool;
}

export async function openPostgres(url: string, options: PostgresStorageOptions = {}): Promise<PostgresStorage> {
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
  const budgetBytes = options.resultsBudgetBytes ?? Infinity;
  const results = createPgResults(pool);
  const archive = createPgArchive(pool);
  // The completing transaction's writes (db/sqlite/index.ts storeResult and applyWrite, the same rules).
  const tasks: PgTaskQueue = createPgTaskQueue(pool, options, {
    async storeResult(c, taskId, result, now) {
      await results.insertOn(c, taskId, result, now);
      const evicted = await enforceBudget(c, budgetBytes, { result: taskId });
      if (evicted.results || evicted.imports || evicted.archives) options.onEvicted?.(evicted, taskId);
    },
    async applyWrite(c, w: CompletionWrite, now) {
      if (w.kind === 'follow') {
        await archive.followOn(c, w.username, now, w.maxMembers);
        if (w.poll) await tasks.scheduleOn(c, w.poll.action, w.username, w.poll.runAt);
        return;
      }
      // A member no longer followed (stopped, or evicted meanwhile) ends the poll chain here.
      if (!(await archive.isFollowedOn(c, w.username))) return;
      if (w.window) await archive.recordWindowOn(c, w.username, w.window, now, w.maxMembers);
      await tasks.scheduleOn(c, w.poll.action, w.username, w.poll.runAt);
    },
  });
  return {
    kind: 'postgres',
    pool,
    tasks,
    workers: createPgWorkers(pool),
    feed: createPgFeed(pool, url),
    results,
    budget: {
      budgetBytes,
      heldBytes: () => heldBytes(pool),
      enforce: (keep) => withTx(pool, (c) => enforceBudget(c, budgetBytes, keep)),
    },
    links: createPgLinks(pool),
    archive,
    imports: createPgImports(pool),
    posters: createPgPosterKnowledge(pool),
    isBusy: isPgBusy,
    close: () => pool.end(),
  };
}
