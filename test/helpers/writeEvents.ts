/** Child process: writes N task changes (each with its event), checkpointing the WAL halfway. */
import { openDb } from '../../db/sqlite/open.js';
import { createTaskStore } from '../../db/sqlite/tasks.js';

const [path, nRaw] = process.argv.slice(2);
const n = Number(nRaw);
const db = openDb(path);
const tasks = createTaskStore(db);
for (let i = 0; i < n; i++) {
  tasks.enqueueRaw('noop', 'feed', '{}');
  if (i === Math.floor(n / 2)) db.pragma('wal_checkpoint(TRUNCATE)');
}
db.close();
