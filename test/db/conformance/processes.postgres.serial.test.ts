/**
 * The conformance suite's real-process tests (processes.ts) against PostgreSQL: a throwaway cluster
 * (test/helpers/postgres.ts), one database per test, which the worker and port children reach by
 * DATABASE_URL. Without the server binaries: one SKIP line (CI=true: a failure).
 */
import { openPostgres } from '../../../db/postgres/index.js';
import { pgSuite, startPostgres } from '../../helpers/postgres.js';
import { tmpDir } from '../../helpers/tmp.js';
import * as assert from 'uvu/assert';
import { spawnTs } from '../../helpers/processes.js';
import { processConformance, type ProcessEngine } from './processes.js';

const cluster = await startPostgres('test/db/conformance/processes.postgres.serial.test.ts');
const test = pgSuite('storage port conformance with processes: postgres', cluster);
test.after(() => cluster?.stop());

const engine = {
  async fresh(name: string) {
    const url = cluster!.createDatabase(`proc_${name}`);
    const s = await openPostgres(url, { pool: { max: 3 } });
    // A worker on PostgreSQL keeps its poster cache entries in DATA_DIR.
    const t = tmpDir();
    return {
      env: { DATA_DIR: t.dir, DATABASE_URL: url },
      s,
      async lease(id) {
        const { rows } = await s.pool.query<{ attempt: number; token: string | null; owner: string | null }>(
          `SELECT attempt, lease_token AS token, lease_owner AS owner FROM tasks WHERE id = $1`,
          [id],
        );
        return rows[0];
      },
      // Any other client connection of this database not idle: inside a transaction, or running a statement.
      async busyElsewhere() {
        const { rows } = await s.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()
             AND state IS DISTINCT FROM 'idle'`,
        );
        return rows[0].n > 0;
      },
      async close() {
        await s.close();
        t.cleanup();
      },
    };
  },
} satisfies ProcessEngine;
processConformance(test, () => engine);

test('connections ended under a running worker, mid-transaction: the worker carries on and every task completes once', async () => {
  // What a PostgreSQL restart or failover, pg_terminate_backend, or the idle-in-transaction timeout does
  // to a worker's sessions. node-postgres reports a session ended between two statements of a
  // transaction as an 'error' event on the lent-out client; unheard, that ended the process.
  const f = await engine.fresh('ended');
  const app = 'mm_ended_worker';
  const w = spawnTs('test/helpers/testWorker.ts', { ...f.env, LEASE_MS: '1500', WORKER_CONCURRENCY: '4', PGAPPNAME: app });
  try {
    const ids: string[] = [];
    const enqueue = async (n: number) => {
      for (let i = 0; i < n; i++) ids.push((await f.s.tasks.enqueueRaw('steps', `ended${ids.length}`, '{"steps":2,"stepMs":5}')).id);
    };
    await enqueue(30);
    // Ends the worker's sessions caught idle between two statements of a transaction (every completion
    // stores a result: several statements), until three were: a loop inside the server, which sees
    // those sub-millisecond gaps as a loop of queries from here would not.
    await f.s.pool.query(`
      CREATE FUNCTION test_end_mid_transaction(app text, want int) RETURNS int LANGUAGE plpgsql AS $$
      DECLARE n int := 0; t0 timestamptz := clock_timestamp();
      BEGIN
        WHILE n < want AND clock_timestamp() < t0 + interval '60 s' LOOP
          PERFORM pg_stat_clear_snapshot();
          n := n + (SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                    WHERE application_name = app AND state = 'idle in transaction');
          PERFORM pg_sleep(0.0002);
        END LOOP;
        RETURN n;
      END $$`);
    let hunting = true;
    const hunt = f.s.pool.query<{ n: number }>('SELECT test_end_mid_transaction($1, 3) AS n', [app]).then((r) => {
      hunting = false;
      return r.rows[0].n;
    });
    // More work while the hunt goes on; then the queue drains.
    for (;;) {
      assert.is(w.proc.exitCode, null, `the worker is still running:\n${w.output()}`);
      const c = await f.s.tasks.counts();
      if (!hunting && c.queued + c.running === 0) break;
      if (hunting && c.queued < 4) await enqueue(10);
      await new Promise((r) => setTimeout(r, 50)); // polling the database, not standing in for an event
    }
    const ended = await hunt;
    assert.ok(ended >= 3, `at least three sessions were ended mid-transaction within 60 s (${ended})`);
    const events = await f.s.feed.listAfter(0, 100_000);
    for (const id of ids) {
      assert.is((await f.s.tasks.get(id))?.status, 'COMPLETE', `task ${id}`);
      assert.is(events.filter((e) => e.taskId === id && e.type === 'completed').length, 1, `task ${id} completed once`);
    }
    assert.is(w.proc.exitCode, null, 'the worker survived every ended session');
  } finally {
    w.kill('SIGTERM');
    await w.exited;
    await f.close();
  }
});

test.run();
