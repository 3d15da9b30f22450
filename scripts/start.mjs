#!/usr/bin/env node
// `npm start`: builds when sources are newer than dist (`node build.mjs --if-stale`), then runs the
// server, which supervises WORKERS worker processes.
// `npm run worker` (--worker-only): one worker alone, for WORKERS=0 setups or a second machine.
// `npm run demo` (--demo): a fake Letterboxd with invented members, and the app pointed at it
// (DATA_DIR=./data-demo). Extra arguments: --https sets HTTPS=1.
//
// Without build.mjs or an esbuild bundle the TypeScript runs through tsx. The child gets an IPC
// channel: a first signal here is passed on by closing it (a stop request, which the child counts
// once with the terminal's own Ctrl-C reaching it directly); a signal more than a second later is
// passed on as itself, which stops the child at once.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants, setPriority } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const mode = args.includes('--demo') ? 'demo' : args.includes('--worker-only') ? 'worker' : 'server';
const env = { ...process.env };
if (args.includes('--https')) env.HTTPS = '1';

// The twin of CHILD_GUARD in server/supervisor.ts (this file runs before anything is built).
const CHILD_GUARD =
  'data:text/javascript,' +
  encodeURIComponent(
    'let signalled=false;' +
      'for(const s of ["SIGINT","SIGTERM"])process.prependListener(s,()=>{signalled=true;if(process.listenerCount(s)===1)process.exit(130)});' +
      'process.on("disconnect",()=>setTimeout(()=>{if(!signalled)process.kill(process.pid,"SIGTERM")},250).unref());',
  );

function build() {
  if (!existsSync(join(root, 'build.mjs'))) {
    console.warn('start: build.mjs not found; running the TypeScript sources with tsx');
    return;
  }
  const r = spawnSync(process.execPath, [join(root, 'build.mjs'), '--if-stale'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('start: the build failed (see above); fix it or run `npm run build` for details.');
    process.exit(r.status ?? 1);
  }
}

/** dist/<name>/main.js when it was built, else the TypeScript source through tsx. */
function entry(name) {
  const built = join(root, 'dist', name, 'main.js');
  return existsSync(built) ? [built] : ['--import', 'tsx', join(root, name, 'main.ts')];
}

function run(nodeArgs, niceness = 0) {
  const child = spawn(process.execPath, nodeArgs, { cwd: root, env, stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
  if (niceness && child.pid !== undefined) {
    try {
      setPriority(child.pid, niceness);
    } catch {
      // Not allowed here (some containers): the worker runs at normal priority.
    }
  }
  let firstAt = 0;
  const pass = (signal) => {
    if (!firstAt) {
      firstAt = Date.now();
      if (child.connected) child.disconnect();
    } else if (Date.now() - firstAt >= 1000 && child.exitCode === null) {
      child.kill(signal);
    }
  };
  process.on('SIGINT', () => pass('SIGINT'));
  process.on('SIGTERM', () => pass('SIGTERM'));
  child.on('disconnect', () => {});
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
}

if (mode === 'demo') {
  build();
  run(['--import', 'tsx', join(root, 'scripts', 'demo.ts')]);
} else if (mode === 'worker') {
  build();
  // Niced like the workers the server supervises (server/supervisor.ts): the web server comes first.
  run(['--import', CHILD_GUARD, ...entry('worker')], 10);
} else {
  build();
  run(entry('server'));
}
