/**
 * The conformance suite's real-process tests (processes.ts) against PostgreSQL: a throwaway cluster
 * (test/helpers/postgres.ts), one database per test, which the worker and port children reach by
 * DATABASE_URL. Without the server binaries: one SKIP line (CI=true: a failure).
 */
import { openPostgres } from '../../../db/postgres/index.js';
import { pgSuite, startPostgres } from '../../helpers/postgres.js';
import { tmpDir } from '../../helpers/tmp.js';
import { processConformance } from './processes.js';

const cluster = await startPostgres('test/db/conformance/processes.postgres.serial.test.ts');
const test = pgSuite('storage port conformance with processes: postgres', cluster);
test.after(() => cluster?.stop());

processConformance(test, () => ({
  async fresh(name) {
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
}));
test.run();
