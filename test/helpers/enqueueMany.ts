/** Child process: enqueues the same N requests as its twin, as fast as it can; prints the ids. */
import { openDb } from '../../db/sqlite/open.js';
import { createTaskStore } from '../../db/sqlite/tasks.js';

const [path, nRaw] = process.argv.slice(2);
const db = openDb(path);
const tasks = createTaskStore(db);
const ids: string[] = [];
for (let i = 0; i < Number(nRaw); i++) {
  ids.push(
    tasks.enqueue({ action: 'noop', username: `user${i}`, params: { mode: 'recent', count: 30, layout: 'classic', format: 'jpeg' } }).task
      .id,
  );
}
process.stdout.write(JSON.stringify(ids));
db.close();
