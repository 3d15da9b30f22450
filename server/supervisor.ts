/**
 * Supervises the worker child processes `npm start` runs beside the server (docs/architecture.md#processes-and-commands): starts
 * `count` of them at a lower CPU priority, prefixes their output lines, restarts one that exits with
 * exponential backoff, and stops them gracefully.
 *
 * Stopping is asked through the IPC channel, not with a signal. A terminal's Ctrl-C, systemd and
 * npm already deliver the signal to every process of the group, and a worker treats a second
 * signal as "exit now, abandon leases"; a signal from here as well would turn every Ctrl-C into a
 * hard stop. CHILD_GUARD, preloaded into each child, turns "the parent let go" (disconnect, which
 * also happens when the server dies) into one SIGTERM, unless a signal has already arrived.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import type { Logger } from '../common/log.js';

/** Preloaded with `--import`: see the file comment. Its twin lives in scripts/start.mjs. */
export const CHILD_GUARD =
  'data:text/javascript,' +
  encodeURIComponent(
    'let signalled=false;' +
      'for(const s of ["SIGINT","SIGTERM"])process.prependListener(s,()=>{signalled=true;if(process.listenerCount(s)===1)process.exit(130)});' +
      'process.on("disconnect",()=>setTimeout(()=>{if(!signalled)process.kill(process.pid,"SIGTERM")},250).unref());',
  );

export interface SupervisorOptions {
  count: number;
  /** The worker's node arguments, e.g. ['dist/worker/main.js'] or ['--import', 'tsx', 'worker/main.ts']. */
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  log: Logger;
  /** Where prefixed child output goes. */
  stdout?: Writable;
  stderr?: Writable;
  /** Nice value for workers (higher = lower priority): building images never slows the pages. */
  niceness?: number;
  backoff?: { initialMs: number; maxMs: number; resetAfterMs: number };
  node?: string;
}

export interface Supervisor {
  start(): void;
  /** Asks every worker to stop, waits up to `graceMs`, then SIGKILLs the rest. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL now (the second signal). */
  kill(): void;
  /** PIDs of the running workers (tests, logs). */
  pids(): number[];
  /** Fires after worker `index` (re)started. */
  onStart(listener: (index: number, pid: number) => void): void;
}

interface Slot {
  index: number;
  child: ChildProcess | null;
  startedAt: number;
  delayMs: number;
  restartTimer: ReturnType<typeof setTimeout> | null;
}

/** Copies `from` to `to` line by line with `prefix` in front of each line. */
function prefixLines(from: Readable, to: Writable, prefix: string): void {
  let rest = '';
  from.setEncoding('utf8');
  from.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!;
    if (lines.length) to.write(lines.map((l) => `${prefix}${l}\n`).join(''));
  });
  from.on('end', () => {
    if (rest) to.write(`${prefix}${rest}\n`);
    rest = '';
  });
}

export function createSupervisor(options: SupervisorOptions): Supervisor {
  const { log } = options;
  const backoff = options.backoff ?? { initialMs: 1000, maxMs: 60_000, resetAfterMs: 60_000 };
  const niceness = options.niceness ?? 10;
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const slots: Slot[] = Array.from({ length: options.count }, (_, index) => ({
    index,
    child: null,
    startedAt: 0,
    delayMs: backoff.initialMs,
    restartTimer: null,
  }));
  const startListeners: ((index: number, pid: number) => void)[] = [];
  let stopping = false;

  function launch(slot: Slot): void {
    slot.restartTimer = null;
    if (stopping) return;
    const name = `worker-${slot.index + 1}`;
    const child = spawn(options.node ?? process.execPath, ['--import', CHILD_GUARD, ...options.args], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    slot.child = child;
    slot.startedAt = Date.now();
    prefixLines(child.stdout!, stdout, `[${name}] `);
    prefixLines(child.stderr!, stderr, `[${name}] `);
    let exited = false;
    const onGone = (code: number | null, signal: NodeJS.Signals | null, error?: Error) => {
      if (exited) return;
      exited = true;
      slot.child = null;
      if (stopping) return;
      const ranMs = Date.now() - slot.startedAt;
      // A worker that ran a good while before dying gets a quick restart; a crash loop slows down.
      if (ranMs >= backoff.resetAfterMs) slot.delayMs = backoff.initialMs;
      log.warn('worker exited; restarting', { worker: name, code, signal, error: error?.message, ranMs, restartInMs: slot.delayMs });
      slot.restartTimer = setTimeout(() => launch(slot), slot.delayMs);
      slot.delayMs = Math.min(backoff.maxMs, slot.delayMs * 2);
    };
    child.on('exit', (code, signal) => onGone(code, signal));
    child.on('error', (err) => onGone(null, null, err));
    // Without a listener an IPC write error would be thrown; the channel only ever carries the disconnect.
    child.on('disconnect', () => {});
    if (child.pid === undefined) return;
    try {
      setPriority(child.pid, niceness);
    } catch (err) {
      log.warn('could not lower the worker priority', { worker: name, error: (err as Error).message });
    }
    log.info('worker started', { worker: name, pid: child.pid });
    for (const l of startListeners) l(slot.index, child.pid);
  }

  const running = () => slots.map((s) => s.child).filter((c): c is ChildProcess => c !== null);

  return {
    start() {
      for (const slot of slots) launch(slot);
    },
    async stop(graceMs = 15_000) {
      stopping = true;
      for (const slot of slots) if (slot.restartTimer) clearTimeout(slot.restartTimer);
      const children = running();
      const exits = children.map(
        (c) => new Promise<void>((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve() : c.once('exit', () => resolve()))),
      );
      for (const c of children) if (c.connected) c.disconnect();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)));
      if ((await Promise.race([Promise.all(exits), timedOut])) === 'timeout') {
        log.warn('workers did not stop in time; killing them', { graceMs });
        for (const c of running()) c.kill('SIGKILL');
        await Promise.all(exits);
      }
      clearTimeout(timer);
    },
    kill() {
      stopping = true;
      for (const slot of slots) if (slot.restartTimer) clearTimeout(slot.restartTimer);
      for (const c of running()) c.kill('SIGKILL');
    },
    pids: () =>
      running()
        .map((c) => c.pid!)
        .filter((p) => p !== undefined),
    onStart(listener) {
      startListeners.push(listener);
    },
  };
}
