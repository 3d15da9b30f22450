/**
 * The storage port's conformance suite against PostgreSQL: a throwaway cluster (test/helpers/postgres.ts),
 * one database emptied before each test. Without the server binaries: one SKIP line (CI=true: a failure).
 */
import type { Eviction, Storage } from '../../../db/port.js';
import { openPostgres, type PostgresStorage } from '../../../db/postgres/index.js';
import { fakeClock } from '../../helpers/fakeClock.js';
import { pgSuite, startPostgres } from '../../helpers/postgres.js';
import { OPTIONS, type Subject } from './subject.js';
import { queueConformance } from './queue.js';
import { storeConformance } from './stores.js';

const cluster = await startPostgres('test/db/conformance/postgres.test.ts');
const url = cluster?.createDatabase('conformance');
const test = pgSuite('storage port conformance: postgres', cluster);
let current: Subject & { close(): Promise<void> };

test.before.each(async () => {
  const clock = fakeClock();
  const evictions: Eviction[] = [];
  const open = () => openPostgres(url!, { ...OPTIONS, clock, pool: { max: 4 }, onEvicted: (e) => void evictions.push(e) });
  const first: PostgresStorage = await open();
  await first.pool.query(`
    TRUNCATE tasks, task_events, task_requesters, results, renditions, workers, member_imports, film_posters, title_posters,
             tmdb_matches, archive_members, archive_entries CASCADE;
    ALTER SEQUENCE task_events_seq RESTART`);
  const handles: Storage[] = [first];
  current = {
    s: first,
    clock,
    evictions,
    async another() {
      const h = await open();
      handles.push(h);
      return h;
    },
    async close() {
      for (const h of handles.reverse()) await h.close();
    },
  };
});
test.after.each(() => current.close());
test.after(() => cluster?.stop());

queueConformance(test, () => current);
storeConformance(test, () => current);
test.run();
