/** Bench child: writes N task changes a few ms apart so each is seen on its own. */
import { openDb } from '../db/sqlite/open.js';
import { createTaskStore } from '../db/sqlite/tasks.js';

const [path, nRaw] = process.argv.slice(2);
const db = openDb(path);
const tasks = createTaskStore(db);
for (let i = 0; i < Number(nRaw); i++) {
  tasks.enqueueRaw('noop', 'feed', '{}');
  await new Promise((r) => setTimeout(r, 3 + (i % 7)));
}
db.close();
