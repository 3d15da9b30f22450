/**
 * The whole app for the browser suites, as `npm start` runs it: the JavaScript build.mjs produces,
 * as a real server process and a real worker process (collect → posters → compose with sharp) over a
 * temporary DATA_DIR, pointed at the fake Letterboxd, with a poster gate in front of chosen members'
 * posters. Ports are chosen by the OS.
 *
 * The app is built from a copy of the sources in a temporary folder, never in dist/: others may be
 * building or serving dist/ meanwhile (a rebuild there would show this suite an update prompt, or
 * pull the client from under its server), and the update test rebuilds its own copy for real.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, spawnTs, waitFor, type Child } from '../processes.js';
import { startFakeLetterboxd, type FakeLetterboxd } from '../fakeLetterboxd.js';
import { startPosterGate, type PosterGate } from './posterGate.js';

/** What build.mjs reads (its SOURCES), copied; what it and the built code only read, linked. */
const COPIED = ['build.mjs', 'package.json', 'tsconfig.json', 'client', 'common', 'server', 'worker', 'db', 'scripts'];
const LINKED = ['node_modules', 'assets'];

export interface App {
  lb: FakeLetterboxd;
  gate: PosterGate;
  /** The app's own copy of the project (its client sources in `client/`, the build in `dist/`). */
  root: string;
  dataDir: string;
  httpPort: number;
  /** The HTTPS port with `https: true`, else null. */
  httpsPort: number | null;
  /** Runs build.mjs again in the app's copy (after a test changed a source there); the server keeps running. */
  rebuild(): Promise<void>;
  /** Server and worker output so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

export interface AppOptions {
  https?: boolean;
  /** ALLOWED_HOSTS: names the server answers to (and, with HTTPS, puts in its certificate). */
  allowedHosts?: string[];
  /** Members whose posters come through the gate. */
  gated?: string[];
}

/** `node build.mjs` in `root` (async: the browser can start meanwhile). */
function build(root: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['build.mjs'], { cwd: root }, (err, stdout, stderr) =>
      err ? reject(new Error(`build failed:\n${stdout}${stderr}`)) : resolve(),
    );
  });
}

/** Polls an async check until it is truthy (a condition, not a guessed sleep). */
async function until<T>(check: () => Promise<T | null | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function startApp(opts: AppOptions = {}): Promise<App> {
  const top = mkdtempSync(join(tmpdir(), 'mm-browser-'));
  const root = join(top, 'app');
  const dataDir = join(top, 'data');
  mkdirSync(root);
  mkdirSync(dataDir);
  let lb: FakeLetterboxd | null = null;
  let gate: PosterGate | null = null;
  const children: Child[] = [];
  const output = () => children.map((c, i) => `--- ${i === 0 ? 'server' : 'worker'}\n${c.output()}`).join('\n');
  const stop = async () => {
    // Held poster requests would keep a running task (and the worker's graceful stop) waiting.
    await gate?.close();
    for (const c of children) c.kill();
    await Promise.all(children.map((c) => c.exited));
    await lb?.close();
    rmSync(top, { recursive: true, force: true });
  };
  try {
    for (const name of COPIED) cpSync(join(ROOT, name), join(root, name), { recursive: true });
    for (const name of LINKED) symlinkSync(join(ROOT, name), join(root, name));
    await build(root);

    // The server and Chromium decide "this month" from this machine's clock: the members are dated
    // from the same reading (under `npm run test:dates` every process reads the same faked clock).
    lb = await startFakeLetterboxd({ now: new Date() });
    gate = await startPosterGate(lb);
    gate.route(opts.gated ?? []);
    const env: Record<string, string> = {
      ...lb.env,
      LETTERBOXD_IMAGE_HOSTS: `${lb.env.LETTERBOXD_IMAGE_HOSTS},${gate.host}`,
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      PORT: '0',
      WORKERS: '0',
      RATE_LIMIT_PER_MIN: '1000',
      // Every page here comes from 127.0.0.1: the per-client caps have their own tests.
      QUEUE_PER_CLIENT: '1000',
      ALLOWED_HOSTS: (opts.allowedHosts ?? []).join(','),
      ...(opts.https ? { HTTPS: '1', HTTPS_PORT: '0' } : {}),
    };
    // Info level for the server: its "listening" line carries the ports it got.
    const server = spawnTs(join(root, 'dist/server/main.js'), { ...env, LOG_LEVEL: 'info' });
    const worker = spawnTs(join(root, 'dist/worker/main.js'), env);
    children.push(server, worker);
    const listening = await waitFor(
      () => {
        for (const c of children) if (c.proc.exitCode !== null) throw new Error(`a process exited early:\n${output()}`);
        const line = server
          .output()
          .split('\n')
          .find((l) => l.startsWith('{') && l.includes('"msg":"listening"') && l.endsWith('}'));
        return line ? (JSON.parse(line) as { port: number; httpsPort: number | null }) : null;
      },
      30_000,
      'the server to listen',
    );
    const httpPort = listening.port;
    await until(
      async () => {
        if (worker.proc.exitCode !== null) throw new Error(`the worker exited:\n${output()}`);
        const health = (await fetch(`http://127.0.0.1:${httpPort}/healthz`).then((r) => r.json())) as { workers?: unknown[] };
        return (health.workers?.length ?? 0) > 0;
      },
      30_000,
      'the worker to register',
    );
    return {
      lb,
      gate,
      root,
      dataDir,
      httpPort,
      httpsPort: listening.httpsPort ?? null,
      rebuild: () => build(root),
      output,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
