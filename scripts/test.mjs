#!/usr/bin/env node
// Runs the typecheck, the linter and the format check (LINT), and every test file (each in its own process, uvu style),
// then prints the one summary line CI reads: "N passed, N failed". Usage: npm test [-- filter-substring ...]
import { spawn } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { availableParallelism } from 'node:os';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);
const jobs = Number(process.env.TEST_JOBS ?? Math.max(1, Math.min(2, availableParallelism())));

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out.sort();
}

// A file that hangs fails after this long instead of holding CI for its whole 90 minutes.
const FILE_TIMEOUT_MS = Number(process.env.TEST_FILE_TIMEOUT_MS ?? 10 * 60_000);

function run(cmd, args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      out += `\nTIMEOUT: still running after ${FILE_TIMEOUT_MS / 1000} s; killed (TEST_FILE_TIMEOUT_MS)\n`;
      child.kill('SIGKILL');
    }, FILE_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, signal, out });
    });
  });
}

let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];
const skipNotes = [];

if (filters.length === 0) {
  const t0 = Date.now();
  const tc = await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json']);
  let ok = tc.code === 0;
  let out = tc.out;
  if (ok && existsSync(join(root, 'client/tsconfig.json'))) {
    const tcc = await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'client/tsconfig.json']);
    ok = tcc.code === 0;
    out += tcc.out;
  }
  console.log(`${ok ? 'ok  ' : 'FAIL'} typecheck (${Date.now() - t0} ms)`);
  if (ok) passed++;
  else {
    failed++;
    failures.push('typecheck');
    console.log(out);
  }
}

// ESLint over the whole tree (eslint.config.js) and Prettier's check (.prettierrc) count as one more
// check each. LINT=1 runs them (also with a filter), LINT=0 never; unset, a full run runs them. ESLint
// takes ~16 s of one core and ~1.3 GB of memory, so they run alone, before the test files.
const LINT_BY_DEFAULT = true;
if (process.env.LINT === '1' || (process.env.LINT !== '0' && LINT_BY_DEFAULT && filters.length === 0)) {
  const checks = [
    ['lint', [join(root, 'node_modules/eslint/bin/eslint.js'), '.'], (out) => /(\d+) problems?/.exec(out)?.[0] ?? 'eslint failed'],
    [
      'format',
      [join(root, 'node_modules/prettier/bin/prettier.cjs'), '--check', '.', '--log-level', 'warn'],
      (out) =>
        `${out.split('\n').filter((l) => l.startsWith('[warn] ') && !l.includes('Code style issues')).length} files not formatted (npm run format)`,
    ],
  ];
  for (const [name, args, summary] of checks) {
    const t0 = Date.now();
    const r = await run(process.execPath, args);
    const ok = r.code === 0;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${name} (${Date.now() - t0} ms)${ok ? '' : `: ${summary(r.out)}`}`);
    if (ok) passed++;
    else {
      failed++;
      failures.push(name);
      console.log(r.out);
    }
  }
}

const files = findTests(join(root, 'test')).filter((f) => filters.length === 0 || filters.some((s) => relative(root, f).includes(s)));
// Browser and process-heavy suites run one at a time after the rest; unit files share the cores.
const serial = files.filter((f) => f.includes('/browser/') || f.includes('.serial.'));
const parallel = files.filter((f) => !serial.includes(f));

async function runFile(file) {
  const t0 = Date.now();
  const r = await run(process.execPath, ['--import', 'tsx', file]);
  const total = /Total:\s+(\d+)/.exec(r.out);
  const pass = /Passed:\s+(\d+)/.exec(r.out);
  const name = relative(root, file);
  const nSkip = Number(/Skipped:\s+(\d+)/.exec(r.out)?.[1] ?? 0);
  skipped += nSkip;
  // A file that skips says why in a line starting "SKIP " (e.g. PostgreSQL not installed).
  if (nSkip) skipNotes.push(...(r.out.match(/^SKIP .*$/gm) ?? [`SKIP ${relative(root, file)}: ${nSkip} skipped`]));
  const nTotal = total ? Number(total[1]) : 0;
  const nPass = pass ? Number(pass[1]) : 0;
  const ok = r.code === 0 && total !== null && nPass === nTotal;
  // A file that crashes before its summary counts as one failure, never as silence.
  const nFail = ok ? 0 : Math.max(1, nTotal - nPass);
  passed += nPass;
  failed += nFail;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${nPass}/${nTotal}${nSkip ? `, ${nSkip} skipped` : ''} (${Date.now() - t0} ms)`);
  if (!ok) {
    failures.push(name);
    console.log(
      r.out
        .split('\n')
        .map((l) => '    ' + l)
        .join('\n'),
    );
  }
}

async function pool(list, n) {
  const queue = [...list];
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (queue.length) await runFile(queue.shift());
    }),
  );
}

await pool(parallel, jobs);
await pool(serial, 1);

if (skipNotes.length) console.log(`\n${skipped} skipped:\n${skipNotes.join('\n')}`);
if (failures.length) console.log(`\nfailed: ${failures.join(', ')}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
