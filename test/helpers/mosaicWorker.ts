/**
 * The rig the end-to-end worker suites share: the fake Letterboxd, a temporary DATA_DIR with its real
 * SQLite file, and a real worker process (worker/main.ts) pointed at both. Tests enqueue tasks the way
 * the server does and wait for them to end; `close()` stops the worker (SIGTERM, waiting for its exit)
 * and removes everything.
 */
import { join } from 'node:path';
import { openDb, type Db } from '../../db/sqlite/open.js';
import { createTaskStore, type TaskStore } from '../../db/sqlite/tasks.js';
import type { MosaicParams, Task } from '../../common/task.js';
import { startFakeLetterboxd, type FakeLetterboxd, type FakeOptions } from './fakeLetterboxd.js';
import { tmpDir } from './tmp.js';
import { spawnTs, waitFor, type Child } from './processes.js';

export interface MosaicWorker {
  lb: FakeLetterboxd;
  dir: string;
  db: Db;
  tasks: TaskStore;
  worker: Child;
  /** Enqueues `create_mosaic` for `username`; returns the task id. */
  enqueue(username: string, params: MosaicParams): string;
  /** Waits (up to `timeoutMs`) for task `id` to be COMPLETE, ERROR or CANCELLED and returns it. */
  finished(id: string, timeoutMs?: number): Promise<Task>;
  close(): Promise<void>;
}

export interface MosaicWorkerOptions {
  /** The fake Letterboxd's options (its explicit `now` keeps the suite off today's date). */
  letterboxd: FakeOptions;
  /** WORKER_CONCURRENCY. */
  concurrency: number;
}

const FINAL = ['COMPLETE', 'ERROR', 'CANCELLED'];

export async function startMosaicWorker(opts: MosaicWorkerOptions): Promise<MosaicWorker> {
  const lb = await startFakeLetterboxd(opts.letterboxd);
  const tmp = tmpDir();
  const db = openDb(join(tmp.dir, 'moviemosaic.db'));
  const tasks = createTaskStore(db);
  const worker = spawnTs('worker/main.ts', { DATA_DIR: tmp.dir, WORKER_CONCURRENCY: String(opts.concurrency), ...lb.env });
  return {
    lb,
    dir: tmp.dir,
    db,
    tasks,
    worker,
    enqueue: (username, params) => tasks.enqueue({ action: 'create_mosaic', username, params }).task.id,
    finished: (id, timeoutMs = 60_000) =>
      waitFor(
        () => {
          const t = tasks.get(id)!;
          return FINAL.includes(t.status) && t;
        },
        timeoutMs,
        `task ${id} to finish`,
      ),
    async close() {
      worker.kill('SIGTERM');
      await worker.exited;
      db.close();
      await lb.close();
      tmp.cleanup();
    },
  };
}
