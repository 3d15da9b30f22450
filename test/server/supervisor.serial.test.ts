/** The worker supervisor with real test-worker processes: priority, prefixes, restarts, graceful stop. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { getPriority } from 'node:os';
import { PassThrough } from 'node:stream';
import { openDb } from '../../db/sqlite/open.js';
import { createTaskStore } from '../../db/sqlite/tasks.js';
import { createSupervisor } from '../../server/supervisor.js';
import { ROOT, spawnTs, waitFor } from '../helpers/processes.js';
import { cleanup, memoryLogger, tmp, track, tracked } from '../helpers/server.js';

test.after.each(cleanup);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('starts workers at lower priority, prefixes their output, restarts a dead one, stops gracefully', async () => {
  const t = tmp();
  const db = openDb(join(t.dir, 'moviemosaic.db'));
  track(() => db.open && db.close());
  const tasks = createTaskStore(db);
  const out = new PassThrough();
  let text = '';
  out.on('data', (d) => (text += d));
  const { log, lines } = memoryLogger();
  const supervisor = createSupervisor({
    count: 2,
    args: ['--import', 'tsx', 'test/helpers/testWorker.ts'],
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: t.dir, LOG_LEVEL: 'info', WORKER_GRACE_MS: '100', LEASE_MS: '3000' },
    log,
    stdout: out,
    stderr: out,
    backoff: { initialMs: 50, maxMs: 400, resetAfterMs: 60_000 },
  });
  track(() => supervisor.kill());
  const starts: number[] = [];
  supervisor.onStart((_i, pid) => starts.push(pid));
  supervisor.start();
  assert.is(supervisor.pids().length, 2);
  for (const pid of supervisor.pids()) assert.is(getPriority(pid), 10, 'nice 10');
  await waitFor(() => text.includes('[worker-1] {') && text.includes('[worker-2] {'), 20_000, 'prefixed output');

  // A worker that dies is started again after the backoff.
  const victim = supervisor.pids()[0];
  process.kill(victim, 'SIGKILL');
  await waitFor(() => starts.length === 3, 20_000, 'a restart');
  assert.ok(!supervisor.pids().includes(victim));
  const restart = lines.find((l) => l.msg === 'worker exited; restarting')!;
  assert.equal([restart.signal, restart.restartInMs], ['SIGKILL', 50]);

  // The workers do work; then a long task is running when stop() comes: it is released, not failed.
  const quick = tasks.enqueueRaw('steps', 'dave', JSON.stringify({ steps: 2, stepMs: 5 }));
  await waitFor(() => tasks.getRow(quick.id)!.status === 'COMPLETE', 20_000, 'a task done');
  const long = tasks.enqueueRaw('steps', 'erin', JSON.stringify({ steps: 1000, stepMs: 50 }));
  await waitFor(() => tasks.getRow(long.id)!.status === 'RUNNING', 20_000, 'the long task running');
  const pids = supervisor.pids();
  await supervisor.stop(10_000);
  assert.equal(supervisor.pids(), []);
  for (const pid of pids) assert.not.ok(alive(pid), `worker ${pid} exited`);
  const row = tasks.getRow(long.id)!;
  assert.equal([row.status, row.attempt], ['QUEUED', 0], 'released without consuming an attempt');
  assert.not.ok(lines.some((l) => l.msg === 'workers did not stop in time; killing them'));
  assert.is(starts.length, 3, 'no restart while stopping');
  db.close();
  await t.cleanup();
});

test('workers stop by themselves when the supervising process dies', async () => {
  const t = tmp();
  openDb(join(t.dir, 'moviemosaic.db')).close();
  const parent = tracked(spawnTs('test/helpers/superviseChild.ts', {}, [t.dir, '2']));
  const line = await waitFor(() => /PIDS ([\d,]+)/.exec(parent.output())?.[1], 20_000, 'worker pids');
  const pids = line.split(',').map(Number);
  track(() => pids.filter(alive).forEach((p) => process.kill(p, 'SIGKILL')));
  assert.is(pids.length, 2);
  parent.kill('SIGKILL');
  await parent.exited;
  await waitFor(() => pids.every((p) => !alive(p)), 20_000, 'orphaned workers to stop');
  await t.cleanup();
});

test.run();
