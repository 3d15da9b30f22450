/**
 * The conformance suite's real-process tests (processes.ts) against SQLite: each test a fresh DATA_DIR
 * whose moviemosaic.db the worker and port children open as they would in production.
 */
import { suite } from 'uvu';
import { join } from 'node:path';
import { openDb } from '../../../db/sqlite/open.js';
import { createSqliteStorage } from '../../../db/sqlite/index.js';
import { SQLITE_FILE } from '../../../db/openStorage.js';
import { tmpDir } from '../../helpers/tmp.js';
import { processConformance } from './processes.js';

const test = suite('storage port conformance with processes: sqlite');

processConformance(test, () => ({
  async fresh() {
    const t = tmpDir();
    const db = openDb(join(t.dir, SQLITE_FILE));
    const s = createSqliteStorage(db);
    const lease = db.prepare<[string], { attempt: number; token: string | null; owner: string | null }>(
      `SELECT attempt, lease_token AS token, lease_owner AS owner FROM tasks WHERE id = ?`,
    );
    return {
      env: { DATA_DIR: t.dir },
      s,
      lease: async (id) => lease.get(id)!,
      // Another connection holds the write lock when this one cannot take it at once.
      async busyElsewhere() {
        const wait = db.pragma('busy_timeout', { simple: true }) as number;
        db.pragma('busy_timeout = 0');
        try {
          db.exec('BEGIN IMMEDIATE');
          db.exec('ROLLBACK');
          return false;
        } catch {
          return true;
        } finally {
          db.pragma(`busy_timeout = ${wait}`);
        }
      },
      async close() {
        await s.close();
        t.cleanup();
      },
    };
  },
}));
test.run();
