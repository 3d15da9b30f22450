/**
 * PostgreSQL restarted under a running server and worker (`pg_ctl restart -m fast`, as an operator or
 * a failover does): every session ends, some in the middle of a transaction, and new connections are
 * refused until the database is back. Nothing is lost: both processes carry on, every task completes
 * exactly once, and a socket client that follows every task on the server receives each one's every
 * stored seq once, in order, over the same socket.
 */
import * as assert from 'uvu/assert';
import type { ServerMessage } from '../../common/protocol.js';
import { pgSuite, startPostgres } from '../helpers/postgres.js';
import { pgProcesses } from '../helpers/pgProcesses.js';
import { openSocket } from '../helpers/server.js';

const cluster = await startPostgres('PostgreSQL restarted under a server and a worker');
const test = pgSuite('a PostgreSQL restart under running processes', cluster);

const TASKS = 40;
const stack = pgProcesses(cluster);
test.after(() => stack.close());

test('restart mid-run: server and worker carry on, every task completes once, the socket gets every seq once', async () => {
  const { url, storage } = await stack.open('mm_restart');
  const { child: server, port } = await stack.server(url);
  const worker = stack.worker(url, { LEASE_MS: '3000', WORKER_CONCURRENCY: '2' });

  const ids: string[] = [];
  for (let i = 0; i < TASKS; i++) ids.push((await storage.tasks.enqueueRaw('steps', `restart${i}`, '{"steps":4,"stepMs":40}')).id);
  const s = await openSocket(port);
  for (const id of ids) s.send({ type: 'subscribe', taskId: id, after: 0 });
  const seen = new Map<string, number[]>(ids.map((id) => [id, []]));
  const complete = new Set<string>();
  /** Reads the socket until `enough()`; each task message is recorded. */
  const readUntil = async (enough: () => boolean, what: string) => {
    while (!enough()) {
      let m: ServerMessage;
      try {
        m = await s.next((x: ServerMessage) => x.type === 'task' || x.type === 'error', 30_000);
      } catch (err) {
        throw new Error(`${what}: ${String(err).slice(0, 300)}\n${stack.outputs()}`);
      }
      if (m.type === 'error') assert.unreachable(`socket error: ${m.code} ${m.message}`);
      if (m.type !== 'task') continue;
      seen.get(m.task.id)!.push(m.seq);
      if (m.task.status === 'COMPLETE') complete.add(m.task.id);
    }
  };

  await readUntil(() => complete.size >= 8, 'the first tasks to complete');
  const before = complete.size;
  cluster!.restart();
  await readUntil(() => complete.size === TASKS, `every task to complete after the restart (${before} before it)`);
  assert.ok(before < TASKS, 'the restart came while tasks were still queued or running');
  assert.is(server.proc.exitCode, null, `the server is still running:\n${server.output()}`);
  assert.is(worker.proc.exitCode, null, `the worker is still running:\n${worker.output()}`);

  // The database's own account: each task completed once, and the socket got every stored seq once, in order.
  const all = await storage.feed.listAfter(0, 100_000);
  for (const id of ids) {
    const stored = all.filter((e) => e.taskId === id);
    assert.is(stored.filter((e) => e.type === 'completed').length, 1, `task ${id} completed once`);
    assert.equal(
      seen.get(id),
      stored.map((e) => e.seq),
      `task ${id}: every seq once, in order`,
    );
  }
  s.close();
  await s.closed;
});

test.run();
