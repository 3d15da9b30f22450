/**
 * End to end across real processes: a worker process (the test worker's `steps` action stands in for
 * create_mosaic) commits progress; the server pushes it over the socket. Reconnects after a dropped
 * socket and after a server restart resume with no missed or repeated seq.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { openDb, type Db } from '../../db/sqlite/open.js';
import { createTaskStore, type TaskStore } from '../../db/sqlite/tasks.js';
import { createEventStore } from '../../db/sqlite/events.js';
import { STAGES, type Task } from '../../common/task.js';
import type { ServerMessage } from '../../common/protocol.js';
import { spawnTs, waitFor, type Child } from '../helpers/processes.js';
import { cleanup, liveServer, openSocket, request, tmp, track, tracked, type TestSocket } from '../helpers/server.js';

test.after.each(cleanup);

const WORKER = 'test/helpers/testWorker.ts';

function worker(dataDir: string): Child {
  return tracked(spawnTs(WORKER, { DATA_DIR: dataDir, LEASE_MS: '3000', WORKER_CONCURRENCY: '2' }));
}

type TaskMessage = Extract<ServerMessage, { type: 'task' }>;

/** Task messages until (and including) the one where the task has finished. */
async function untilFinished(s: TestSocket, into: TaskMessage[] = [], timeoutMs = 20_000): Promise<TaskMessage[]> {
  for (;;) {
    const m = await s.next((x) => x.type === 'task', timeoutMs);
    if (m.type !== 'task') continue;
    into.push(m);
    if (['COMPLETE', 'ERROR', 'CANCELLED'].includes(m.task.status)) return into;
  }
}

function storedSeqs(db: Db, taskId: string): number[] {
  return createEventStore(db)
    .listTaskAfter(taskId, 0)
    .map((e) => e.seq);
}

test('a worker process commits, the socket receives every change in order, COMPLETE with a result URL', async () => {
  const srv = await liveServer();
  const w = worker(srv.dir);
  const task = srv.tasks.enqueueRaw('steps', 'dave', JSON.stringify({ steps: 6, stepMs: 60 }));
  const s = await openSocket(srv.port);
  s.send({ type: 'subscribe', taskId: task.id, after: 0 });
  const got = await untilFinished(s);
  w.kill();
  await w.exited;

  assert.equal(
    got.map((m) => m.seq),
    storedSeqs(srv.db, task.id),
    'every event, in seq order, once',
  );
  const last = got[got.length - 1].task;
  assert.is(last.status, 'COMPLETE');
  assert.is(last.resultUrl, `/api/tasks/${task.id}/result`);
  const stageIndex = got.map((m) => STAGES.indexOf(m.task.stage));
  assert.equal(
    stageIndex,
    [...stageIndex].sort((a, b) => a - b),
    'stages never go back',
  );
  assert.equal([got[0].task.status, got[1].task.status], ['QUEUED', 'RUNNING']);
  const progress = got.filter((m) => m.task.progress).map((m) => m.task.progress!.done);
  assert.ok(progress.length >= 2, 'progress arrives while the task runs');
  assert.equal(
    progress,
    [...progress].sort((a, b) => a - b),
  );
  const image = await request(srv.port, last.resultUrl!);
  assert.equal([image.status, image.text], [200, `result of ${task.id}`]);
  s.close();
  await srv.close();
});

test('socket killed mid-task: reconnecting with after = last seq resumes with no gap or repeat', async () => {
  const srv = await liveServer();
  const w = worker(srv.dir);
  const task = srv.tasks.enqueueRaw('steps', 'dave', JSON.stringify({ steps: 12, stepMs: 80 }));
  const first = await openSocket(srv.port);
  first.send({ type: 'subscribe', taskId: task.id });
  const got: TaskMessage[] = [];
  while (!got.some((m) => m.task.progress)) got.push((await first.next((m) => m.type === 'task', 20_000)) as TaskMessage);
  first.ws.terminate();
  const lastSeen = got[got.length - 1].seq;
  // Changes happen while nobody listens.
  await waitFor(() => storedSeqs(srv.db, task.id).filter((s) => s > lastSeen).length >= 2, 20_000, 'events while disconnected');
  const second = await openSocket(srv.port);
  second.send({ type: 'subscribe', taskId: task.id, after: lastSeen });
  await untilFinished(second, got);
  w.kill();
  await w.exited;
  const stored = storedSeqs(srv.db, task.id);
  // The first message was a snapshot at the then-latest seq; from there on every seq exactly once.
  assert.equal(
    got.map((m) => m.seq),
    stored.slice(stored.indexOf(got[0].seq)),
  );
  second.close();
  await srv.close();
});

/** Starts server/main.ts as its own process; resolves with its port once it listens. */
async function serverProcess(dataDir: string, env: Record<string, string> = {}): Promise<{ child: Child; port: number }> {
  const child = tracked(spawnTs('server/main.ts', { DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', WORKERS: '0', ...env }));
  const port = await waitFor(() => /http:\/\/localhost:(\d+)\//.exec(child.output())?.[1], 20_000, 'the server to listen');
  return { child, port: Number(port) };
}

test('server process restarted (SIGKILL) mid-task: the client resumes from its last seq, nothing missed', async () => {
  const t = tmp();
  const db = openDb(join(t.dir, 'moviemosaic.db'));
  track(() => db.open && db.close());
  const tasks: TaskStore = createTaskStore(db);
  const one = await serverProcess(t.dir);
  const w = worker(t.dir);
  const task: Task = tasks.enqueueRaw('steps', 'dave', JSON.stringify({ steps: 16, stepMs: 100 }));
  const s1 = await openSocket(one.port);
  s1.send({ type: 'subscribe', taskId: task.id, after: 0 });
  const got: TaskMessage[] = [];
  while (!got.some((m) => m.task.progress)) got.push((await s1.next((m) => m.type === 'task', 20_000)) as TaskMessage);
  one.child.kill('SIGKILL');
  await one.child.exited;
  await s1.closed;
  const lastSeen = got[got.length - 1].seq;

  const two = await serverProcess(t.dir);
  const s2 = await openSocket(two.port);
  s2.send({ type: 'subscribe', taskId: task.id, after: lastSeen });
  await untilFinished(s2, got);
  assert.equal(
    got.map((m) => m.seq),
    storedSeqs(db, task.id),
    'all of history, each seq once, in order',
  );
  assert.is(got[got.length - 1].task.status, 'COMPLETE');

  // A graceful stop closes sockets with 1001 and exits 0.
  two.child.kill('SIGTERM');
  assert.is((await s2.closed).code, 1001);
  assert.is((await two.child.exited).code, 0);
  w.kill();
  await w.exited;
  db.close();
  await t.cleanup();
});

test('npm start shape: the server supervises a worker and stops it on SIGTERM', async () => {
  const t = tmp();
  const { child, port } = await serverProcess(t.dir, { WORKERS: '1', LOG_LEVEL: 'info' });
  let workers: { id: string }[] = [];
  for (const deadline = Date.now() + 30_000; workers.length === 0;) {
    assert.ok(Date.now() < deadline, 'the supervised worker registers');
    workers = (await request(port, '/healthz')).json.workers;
    if (workers.length === 0) await new Promise((r) => setTimeout(r, 20));
  }
  const pid = Number(workers[0].id.split('-')[0]);
  assert.ok(pid > 0 && pid !== child.proc.pid);
  child.kill('SIGTERM');
  assert.is((await child.exited).code, 0);
  assert.throws(() => process.kill(pid, 0), /ESRCH/, 'the worker has exited too');
  assert.match(child.output(), /\[worker-1\] /, 'worker output is prefixed');
  await t.cleanup();
});

test.run();
