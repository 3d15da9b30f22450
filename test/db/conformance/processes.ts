/**
 * The conformance suite's tests with real processes, written once and run against both adapters
 * (processes.sqlite.serial.test.ts, processes.postgres.serial.test.ts): a worker process killed
 * mid-task (SIGKILL) and one frozen past its lease (SIGSTOP, then SIGCONT), each followed by a second
 * worker process; dedupe races and cancel races between two OS processes. Every wait is on something
 * the database or a child says (an event in the feed, an answer, a log line), never a sleep.
 *
 * The workers are the real worker (worker/main.ts's runWorker, through test/helpers/testWorker.ts)
 * with the test actions, short leases set as an operator would (LEASE_MS); the racing children are
 * portChild.ts, which opens the port as the server does.
 */
import * as assert from 'uvu/assert';
import { createInterface } from 'node:readline';
import type { Test } from 'uvu';
import type { Storage, TaskEvent } from '../../../db/port.js';
import { spawnTs, waitFor, type Child } from '../../helpers/processes.js';
import { month } from './subject.js';
import type { PortAnswer, PortCommand } from './portChild.js';

/** One test's database, empty, as both this process and its children reach it. */
export interface ProcessSubject {
  /** What a child process opens the same database with (DATA_DIR, and DATABASE_URL for PostgreSQL). */
  env: Record<string, string>;
  /** This process's handle on it, through the port. */
  s: Storage;
  /** The task's lease as stored: the claim count and the token that fences the holder's writes. */
  lease(id: string): Promise<{ attempt: number; token: string | null; owner: string | null }>;
  /**
   * Whether another connection is inside a transaction (or, on PostgreSQL, mid-statement): a process
   * frozen there would hold locks the test does not mean to hold.
   */
  busyElsewhere(): Promise<boolean>;
  close(): Promise<void>;
}

export interface ProcessEngine {
  /** A fresh, empty database for one test (`name` is unique within the file). */
  fresh(name: string): Promise<ProcessSubject>;
}

/** LEASE_MS for the workers: short, so a lost lease shows within seconds; the heartbeat is a sixth. */
const LEASE_MS = '1500';

const TERMINAL = new Set(['completed', 'cancelled', 'failed', 'lost']);

/** Every event of the feed once, in strictly increasing seq. */
async function assertFeedInOrder(s: Storage): Promise<TaskEvent[]> {
  const all = await s.feed.listAfter(0, 100_000);
  for (let i = 1; i < all.length; i++) assert.ok(all[i].seq > all[i - 1].seq, `feed in seq order at ${all[i].seq}`);
  assert.is(new Set(all.map((e) => e.seq)).size, all.length, 'each seq once');
  return all;
}

/** A portChild.ts process: `send` writes one command and resolves to its answer (answers come in order). */
interface PortProcess {
  child: Child;
  send(cmd: PortCommand): Promise<PortAnswer>;
}

async function portProcess(env: Record<string, string>, children: Child[]): Promise<PortProcess> {
  const child = spawnTs('test/db/conformance/portChild.ts', env, [], { stdin: true });
  children.push(child);
  const waiting: ((a: PortAnswer) => void)[] = [];
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  createInterface({ input: child.proc.stdout! }).on('line', (line) => {
    if (line === 'ready') ready();
    else if (line.startsWith('{')) waiting.shift()?.(JSON.parse(line) as PortAnswer);
  });
  await Promise.race([
    isReady,
    child.exited.then(({ code }) => assert.unreachable(`port child exited (${code}) before ready:\n${child.output()}`)),
  ]);
  return {
    child,
    send(cmd) {
      const answer = new Promise<PortAnswer>((resolve) => waiting.push(resolve));
      child.proc.stdin!.write(`${JSON.stringify(cmd)}\n`);
      return answer;
    },
  };
}

/** The same moment's commands to two children, written in one turn (the first written alternates by round). */
async function race(a: PortProcess, x: PortCommand, b: PortProcess, y: PortCommand, round: number): Promise<[PortAnswer, PortAnswer]> {
  if (round % 2 === 0) return Promise.all([a.send(x), b.send(y)]);
  const [rb, ra] = await Promise.all([b.send(y), a.send(x)]);
  return [ra, rb];
}

export function processConformance(test: Test, engine: () => ProcessEngine): void {
  let subject: ProcessSubject | null = null;
  let children: Child[] = [];

  test.after.each(async () => {
    // Whatever a failed test left running: killed by its own PID (SIGKILL also ends a stopped process).
    for (const c of children) c.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    children = [];
    await subject?.close();
    subject = null;
  });

  const fresh = async (name: string) => (subject = await engine().fresh(name));
  const worker = (f: ProcessSubject) => {
    const w = spawnTs('test/helpers/testWorker.ts', { ...f.env, LEASE_MS, WORKER_CONCURRENCY: '1' });
    children.push(w);
    return w;
  };
  const byPid = (e: TaskEvent, pid: number | undefined) => e.type === 'progress' && e.task.progressMsg.endsWith(` by pid ${pid}`);
  /** Waits for a progress event written by process `pid`: that worker is mid-task. */
  const midTask = (f: ProcessSubject, id: string, w: Child) =>
    waitFor(
      async () => (await f.s.feed.listTaskAfter(id, 0)).some((e) => byPid(e, w.proc.pid)),
      30_000,
      `a progress event from worker ${w.proc.pid}:\n${w.output()}`,
    );
  const completed = (f: ProcessSubject, id: string, w: Child) =>
    waitFor(async () => (await f.s.tasks.get(id))?.status === 'COMPLETE', 30_000, `the task to complete:\n${w.output()}`);
  /** Stops `w` where it holds no transaction open (else lets it run to its next progress write and tries again). */
  async function freeze(f: ProcessSubject, id: string, w: Child): Promise<void> {
    for (let tries = 0; tries < 20; tries++) {
      w.kill('SIGSTOP');
      const settled = await waitFor(async () => !(await f.busyElsewhere()), 300, 'settled', 5).catch(() => false);
      if (settled) return;
      w.kill('SIGCONT');
      const seen = (await f.s.feed.listTaskAfter(id, 0)).length;
      await waitFor(async () => (await f.s.feed.listTaskAfter(id, 0)).length > seen, 10_000, 'the next progress write');
    }
    assert.unreachable('the worker was inside a transaction at every stop');
  }
  /** The task's events, and the checks that hold for every task: created first, one terminal event, last. */
  async function eventsOf(f: ProcessSubject, id: string): Promise<TaskEvent[]> {
    const events = await f.s.feed.listTaskAfter(id, 0);
    const types = events.map((e) => e.type);
    assert.is(types[0], 'created', `${id}: created first`);
    assert.is(types.filter((t) => t === 'created').length, 1, `${id}: created once`);
    const terminal = types.filter((t) => TERMINAL.has(t));
    assert.is(terminal.length, 1, `${id}: one terminal event (${types.join(' ')})`);
    assert.ok(TERMINAL.has(types[types.length - 1]), `${id}: the terminal event is the last (${types.join(' ')})`);
    return events;
  }

  /**
   * Two workers started together (so neither waits for the other to boot): the one that claims the task
   * is the first, the other its successor once the first's lease is gone.
   */
  async function twoWorkers(f: ProcessSubject, id: string): Promise<[Child, Child]> {
    const both = [worker(f), worker(f)];
    const holder = await waitFor(
      async () => {
        const events = await f.s.feed.listTaskAfter(id, 0);
        return both.find((w) => events.some((e) => byPid(e, w.proc.pid)));
      },
      30_000,
      `a worker to start the task:\n${both.map((w) => w.output()).join('\n')}`,
    );
    return holder === both[0] ? [both[0], both[1]] : [both[1], both[0]];
  }

  /**
   * After a takeover: worker 2's result, one reclaim, one re-claim, one completion; progress before the
   * reclaim only from worker 1, after it only from worker 2; the feed holds these events once, in order.
   */
  async function assertTakenOver(f: ProcessSubject, id: string, w1: Child, w2: Child): Promise<void> {
    await completed(f, id, w2);
    assert.is((await f.s.results.image(id))!.image.toString(), `result of ${id} by pid ${w2.proc.pid}`, 'the result is worker 2’s');
    const events = await eventsOf(f, id);
    assert.equal(
      events.filter((e) => e.type !== 'progress').map((e) => e.type),
      ['created', 'claimed', 'reclaimed', 'claimed', 'completed'],
      'the lease expired (reclaimed), one re-claim, one completion',
    );
    const reclaimed = events.findIndex((e) => e.type === 'reclaimed');
    assert.ok(
      events.slice(0, reclaimed).every((e) => e.type !== 'progress' || byPid(e, w1.proc.pid)),
      'before the reclaim, only worker 1 wrote progress',
    );
    assert.ok(
      events.slice(reclaimed).every((e) => e.type !== 'progress' || byPid(e, w2.proc.pid)),
      'after it, only worker 2: no write of worker 1 once its lease was lost',
    );
    const feed = await assertFeedInOrder(f.s);
    assert.equal(
      feed.map((e) => e.seq),
      events.map((e) => e.seq),
      'the feed holds exactly these events, each once, in order',
    );
  }

  test('processes: a worker SIGKILLed mid-task; its lease expires, a second worker re-claims it (attempt 2, a new token) and completes it once', async () => {
    const f = await fresh('crash');
    const { id } = await f.s.tasks.enqueueRaw('stamped', 'dave', JSON.stringify({ steps: 30, stepMs: 20 }));
    const [w1, w2] = await twoWorkers(f, id);
    const first = await f.lease(id);
    assert.equal([first.attempt, first.owner?.startsWith(`${w1.proc.pid}-`)], [1, true], 'worker 1 holds the lease');
    w1.kill('SIGKILL');
    assert.is((await w1.exited).signal, 'SIGKILL');

    await midTask(f, id, w2);
    const second = await f.lease(id);
    assert.equal([second.attempt, second.owner?.startsWith(`${w2.proc.pid}-`)], [2, true], 're-claimed by worker 2: attempt 2');
    assert.ok(second.token && second.token !== first.token, 'a new lease token');
    await assertTakenOver(f, id, w1, w2);
    w2.kill('SIGTERM');
    assert.is((await w2.exited).code, 0, 'worker 2 stops gracefully');
  });

  test('processes: a worker frozen past its lease (SIGSTOP) wakes while a second worker holds the task: its late writes are refused', async () => {
    const f = await fresh('frozen');
    // Long enough that worker 2 still holds the task when worker 1 wakes.
    const { id } = await f.s.tasks.enqueueRaw('stamped', 'erin', JSON.stringify({ steps: 100, stepMs: 20 }));
    const [w1, w2] = await twoWorkers(f, id);
    await freeze(f, id, w1);
    const stale = await f.lease(id);

    await midTask(f, id, w2);
    const fresh2 = await f.lease(id);
    assert.equal([stale.attempt, fresh2.attempt], [1, 2]);
    assert.is.not(fresh2.token, stale.token);

    w1.kill('SIGCONT');
    await waitFor(() => w1.output().includes('lease lost; work discarded'), 20_000, `worker 1 to find its lease lost:\n${w1.output()}`);
    assert.is((await f.s.tasks.get(id))!.status, 'RUNNING', 'worker 1 was refused while worker 2 held the lease');
    assert.equal(await f.lease(id), fresh2, 'worker 1 changed nothing of the lease');
    await assertTakenOver(f, id, w1, w2);
    for (const w of [w1, w2]) w.kill('SIGTERM');
    assert.equal(
      (await Promise.all([w1.exited, w2.exited])).map((e) => e.code),
      [0, 0],
      'both stop gracefully',
    );
  });

  test('processes: dedupe races: two processes enqueue the same request at the same moment, 50 times: one task each, one id, one created event', async () => {
    const f = await fresh('dedupe');
    const [a, b] = await Promise.all([portProcess(f.env, children), portProcess(f.env, children)]);
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) {
      const input = (who: string) => ({
        action: 'create_mosaic',
        username: `race${i}`,
        params: month,
        requester: { clientKey: who, cancelToken: `${who}${i}` },
      });
      const [ra, rb] = await race(a, { op: 'enqueue', input: input('a') }, b, { op: 'enqueue', input: input('b') }, i);
      assert.equal([ra.error, rb.error], [undefined, undefined], `round ${i}`);
      assert.is(ra.id, rb.id, `round ${i}: both callers get the same task`);
      assert.equal([ra.deduped, rb.deduped].sort(), [false, true], `round ${i}: one made it, the other joined it`);
      ids.push(ra.id!);
    }
    assert.is(new Set(ids).size, 50);
    // Keyed background tasks (one result's renditions) race the same way.
    for (let i = 0; i < 10; i++) {
      const cmd: PortCommand = { op: 'enqueueKeyed', action: 'make_renditions', username: 'race', key: `r${i}` };
      const [ra, rb] = await race(a, cmd, b, cmd, i);
      assert.is(ra.id, rb.id, `keyed round ${i}`);
      assert.equal([ra.deduped, rb.deduped].sort(), [false, true]);
      ids.push(ra.id!);
    }
    const feed = await assertFeedInOrder(f.s);
    const created = feed.filter((e) => e.type === 'created').map((e) => e.taskId);
    assert.equal(created, ids, 'one created event per task, in the order they were made');
    assert.is(feed.length, created.length, 'and nothing else');
    // Both callers are requesters of the one task: the first to withdraw leaves it to the other.
    for (let i = 0; i < 50; i++) {
      assert.is((await f.s.tasks.withdraw(ids[i], `a${i}`))?.kind, 'left', `round ${i}: b still wants it`);
      assert.is((await f.s.tasks.withdraw(ids[i], `b${i}`))?.kind, 'cancelled', `round ${i}`);
    }
  });

  test('processes: cancel races: a cancel or withdraw in one process against a claim or completion in another ends in one terminal state', async () => {
    const f = await fresh('cancel');
    const [w, c] = await Promise.all([portProcess(f.env, children), portProcess(f.env, children)]);
    const tally = new Map<string, number>();
    for (let i = 0; i < 40; i++) {
      const running = i % 2 === 1;
      const byWithdraw = Math.floor(i / 2) % 2 === 1;
      const { task } = await f.s.tasks.enqueue({
        action: 'create_mosaic',
        username: `c${i}`,
        params: month,
        requester: { clientKey: 'x', cancelToken: `t${i}` },
      });
      const id = task.id;
      let work: PortCommand = { op: 'claimAndFinish', worker: 'w' };
      if (running) {
        const claimed = await w.send({ op: 'claim', worker: 'w' });
        assert.is(claimed.id, id, `round ${i}: claimed`);
        work = { op: 'finish', id, token: claimed.token! };
      }
      const stop: PortCommand = byWithdraw ? { op: 'withdraw', id, token: `t${i}` } : { op: 'cancel', id };
      const [wr, cr] = await race(w, work, c, stop, Math.floor(i / 4));
      const what = `round ${i} (${running ? 'running' : 'queued'}, ${stop.op}): worker ${wr.outcome}, ${stop.op} ${cr.status}${cr.finished ? ' finished' : ''}`;
      assert.equal([wr.error, cr.error], [undefined, undefined], what);

      const end = (await f.s.tasks.get(id))!;
      const types = (await eventsOf(f, id)).map((e) => e.type);
      const count = (t: string) => types.filter((x) => x === t).length;
      assert.ok(count('cancel_requested') <= 1, what);
      if (count('cancel_requested'))
        assert.ok(types.indexOf('claimed') < types.indexOf('cancel_requested'), `${what}: flagged while running`);
      switch (wr.outcome) {
        case 'none': // the cancel took it from the queue before the claim
          assert.ok(!running, what);
          assert.equal([end.status, cr.status, cr.finished, count('claimed')], ['CANCELLED', 'CANCELLED', false, 0], what);
          assert.equal(types, ['created', 'cancelled'], what);
          break;
        case 'completed': // the cancel came after (409) or only flagged it: the completion stands
          assert.equal([end.status, types[types.length - 1], count('claimed')], ['COMPLETE', 'completed', 1], what);
          assert.ok(await f.s.results.image(id), `${what}: its result`);
          if (cr.finished) assert.equal([cr.status, count('cancel_requested')], ['COMPLETE', 0], what);
          else assert.equal([cr.status, count('cancel_requested')], ['RUNNING', 1], what);
          break;
        case 'cancelled': // the worker saw the flag and stopped
          assert.equal([end.status, types[types.length - 1], count('cancel_requested')], ['CANCELLED', 'cancelled', 1], what);
          assert.equal([cr.status, cr.finished], ['RUNNING', false], what);
          assert.is(await f.s.results.image(id), undefined, what);
          break;
        default:
          assert.unreachable(`${what}: a worker holding the lease must be able to finish the task`);
      }
      tally.set(`${wr.outcome}`, (tally.get(`${wr.outcome}`) ?? 0) + 1);
    }
    await assertFeedInOrder(f.s);
    assert.is((await f.s.tasks.counts()).queued + (await f.s.tasks.counts()).running, 0, 'every task ended');
    if (process.env.RACE_TALLY) console.log('cancel races:', Object.fromEntries(tally));
  });
}
