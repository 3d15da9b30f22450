/** The storage port's conformance suite against SQLite: a real temporary file, opened through createSqliteStorage. */
import { suite } from 'uvu';
import { join } from 'node:path';
import { openDb } from '../../../db/sqlite/open.js';
import { createSqliteStorage } from '../../../db/sqlite/index.js';
import type { Eviction, Storage } from '../../../db/port.js';
import { fakeClock } from '../../helpers/fakeClock.js';
import { tmpDir } from '../../helpers/tmp.js';
import { OPTIONS, type Subject } from './subject.js';
import { queueConformance } from './queue.js';
import { storeConformance } from './stores.js';

const test = suite('storage port conformance: sqlite');
let current: Subject & { close(): Promise<void> };

test.before.each(() => {
  const t = tmpDir();
  const file = join(t.dir, 'conformance.db');
  const clock = fakeClock();
  const evictions: Eviction[] = [];
  const open = () => createSqliteStorage(openDb(file), { ...OPTIONS, clock, feedIntervalMs: 2, onEvicted: (e) => void evictions.push(e) });
  const handles: Storage[] = [open()];
  current = {
    s: handles[0],
    clock,
    evictions,
    async another() {
      const h = open();
      handles.push(h);
      return h;
    },
    async close() {
      for (const h of handles.reverse()) await h.close();
      t.cleanup();
    },
  };
});
test.after.each(() => current.close());

queueConformance(test, () => current);
storeConformance(test, () => current);
test.run();
