/**
 * A child process for the conformance tests that need two OS processes on one database
 * (processes.ts): it opens the storage port as the server and the worker do (db/openStorage.ts:
 * PostgreSQL by DATABASE_URL, else the SQLite file in DATA_DIR), prints `ready`, then runs one command
 * per stdin line and answers each with one JSON line on stdout, in order. The parent writes the same
 * moment's command to two such children in one turn of its event loop: that is the race's barrier.
 */
import { createInterface } from 'node:readline';
import { openStorage } from '../../../db/openStorage.js';
import { LeaseLostError, type EnqueueInput, type Storage } from '../../../db/port.js';
import { result } from './subject.js';

export type PortCommand =
  | { op: 'enqueue'; input: EnqueueInput }
  | { op: 'enqueueKeyed'; action: string; username: string; key: string }
  | { op: 'cancel'; id: string }
  | { op: 'withdraw'; id: string; token: string }
  | { op: 'claim'; worker: string }
  /** What a worker does at the end of its run: a progress write, then finishCancelled if it says a cancel is pending, else complete. */
  | { op: 'finish'; id: string; token: string }
  /** A claim, then `finish` on what it got (`outcome: 'none'` when the queue had nothing). */
  | { op: 'claimAndFinish'; worker: string };

export interface PortAnswer {
  id?: string;
  token?: string;
  deduped?: boolean;
  /** cancel / withdraw: the task's status in the answer, and whether it had already finished (the server's 409). */
  status?: string;
  finished?: boolean;
  kind?: string;
  /** finish / claimAndFinish: how the worker's side ended. */
  outcome?: 'completed' | 'cancelled' | 'lost' | 'none';
  error?: string;
}

async function finish(s: Storage, id: string, token: string): Promise<PortAnswer> {
  try {
    const { cancelRequested } = await s.tasks.progress(id, token, 'saving', 1, 1, 'Saving');
    if (cancelRequested) {
      await s.tasks.finishCancelled(id, token);
      return { id, outcome: 'cancelled' };
    }
    await s.tasks.complete(id, token, result(16));
    return { id, outcome: 'completed' };
  } catch (err) {
    if (err instanceof LeaseLostError) return { id, outcome: 'lost' };
    throw err;
  }
}

async function run(s: Storage, cmd: PortCommand): Promise<PortAnswer> {
  switch (cmd.op) {
    case 'enqueue': {
      const out = await s.tasks.enqueue(cmd.input);
      return { id: out.task.id, deduped: out.deduped };
    }
    case 'enqueueKeyed': {
      const out = await s.tasks.enqueueKeyed(cmd.action, cmd.username, { key: cmd.key }, cmd.key);
      return { id: out.task.id, deduped: out.deduped };
    }
    case 'cancel': {
      const out = await s.tasks.cancel(cmd.id);
      return out ? { status: out.task.status, finished: out.finished } : { error: 'unknown task' };
    }
    case 'withdraw': {
      const out = await s.tasks.withdraw(cmd.id, cmd.token);
      if (!out) return { error: 'unknown task' };
      return out.kind === 'forbidden' ? { kind: out.kind } : { kind: out.kind, status: out.task.status, finished: out.kind === 'finished' };
    }
    case 'claim': {
      const [c] = await s.tasks.claim(cmd.worker, 1);
      return c ? { id: c.id, token: c.leaseToken } : {};
    }
    case 'finish':
      return finish(s, cmd.id, cmd.token);
    case 'claimAndFinish': {
      const [c] = await s.tasks.claim(cmd.worker, 1);
      return c ? finish(s, c.id, c.leaseToken) : { outcome: 'none' };
    }
  }
}

const storage = await openStorage({
  databaseUrl: process.env.DATABASE_URL || null,
  dataDir: process.env.DATA_DIR ?? '.',
  pool: { max: 2 },
});
process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) {
  let answer: PortAnswer;
  try {
    answer = await run(storage, JSON.parse(line) as PortCommand);
  } catch (err) {
    answer = { error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}
await storage.close();
