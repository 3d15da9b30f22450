#!/usr/bin/env node
// Runs the whole suite (scripts/test.mjs) with every process's clock moved to awkward dates, in
// Europe/London (so DST exists): the tests must not depend on the day they run. Debian's libfaketime
// is preloaded into every process the suite starts (servers, workers, Chromium and its helpers) with
// one fixed offset from the real clock, so all of them read the same faked time and it moves at the
// real pace; monotonic clocks are left alone (FAKETIME_DONT_FAKE_MONOTONIC=1), so timers and
// timeouts behave. Not PostgreSQL's throwaway clusters: libfaketime makes its timeouts misfire, and
// the app never reads its clock (test/helpers/postgres.ts serverEnv). Needs `apt-get install faketime libfaketime`.
//
//   npm run test:dates                        every date below, one after the other
//   npm run test:dates -- 2026-12-01          one date (at its time below, else at noon)
//   npm run test:dates -- 2026-12-01T23:58 test/worker   a date and time, and test.mjs path filters
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

// Local times in Europe/London. A run takes minutes: the DST ones start two minutes before the change
// so the clocks jump (or fall back) while the suite runs; the others stay within their day.
const DATES = [
  '2026-12-01T00:05', // the first minutes of a month: "this month" has a few minutes of history
  '2026-12-04T12:00', // the 4th: the day the suite once failed
  '2026-11-30T21:00', // the last day of a month
  '2027-01-01T00:05', // 1 January: a new year with nothing in it yet
  '2026-03-29T00:58', // spring: 01:00 GMT becomes 02:00 BST
  '2026-10-25T01:58', // autumn: 02:00 BST becomes 01:00 GMT
];
const ZONE = 'Europe/London';
const LIBS = [
  process.env.FAKETIME_LIB,
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1',
  '/usr/lib/faketime/libfaketimeMT.so.1',
  '/usr/local/lib/faketime/libfaketimeMT.so.1',
].filter(Boolean);

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const asked = args.filter((a) => /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2})?$/.test(a));
const filters = args.filter((a) => !asked.includes(a));
const dates = asked.length === 0 ? DATES : asked.map((a) => (a.includes('T') ? a : (DATES.find((d) => d.startsWith(a)) ?? `${a}T12:00`)));

const lib = LIBS.find((p) => existsSync(p));
if (!lib) {
  console.error('libfaketime not found: install it (apt-get install faketime libfaketime) or set FAKETIME_LIB to libfaketimeMT.so.1.');
  process.exit(2);
}

/**
 * The epoch ms of a wall-clock time in ZONE. A time the autumn change repeats is taken the first
 * time round (01:58 on 25 October 2026 is 01:58 BST, two minutes before the clocks go back); a time the
 * spring change skips is taken at the offset before it.
 */
function zoned(local) {
  const [d, t] = local.split('T');
  const [y, mo, da] = d.split('-').map(Number);
  const [h, mi] = t.split(':').map(Number);
  const wall = Date.UTC(y, mo - 1, da, h, mi);
  const fmt = new Intl.DateTimeFormat('en-GB', {
    timeZone: ZONE,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  /** The zone's wall clock at `ms`, read as if it were UTC. */
  const wallAt = (ms) => {
    const p = Object.fromEntries(fmt.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
    return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  };
  const HOURS_12 = 12 * 3_600_000;
  // The offsets in force half a day either side; each gives a candidate instant for this wall time.
  const candidates = [wall - HOURS_12, wall + HOURS_12].map((probe) => wall - (wallAt(probe) - probe));
  const exact = candidates.filter((ms) => wallAt(ms) === wall).sort((a, b) => a - b);
  return exact[0] ?? candidates[0];
}

/** The environment that moves every clock of a child process tree to `local`. */
function fakedEnv(local) {
  const offsetSec = Math.round((zoned(local) - Date.now()) / 1000);
  return {
    ...process.env,
    TZ: ZONE,
    LD_PRELOAD: [lib, process.env.LD_PRELOAD].filter(Boolean).join(':'),
    FAKETIME: `${offsetSec >= 0 ? '+' : '-'}${Math.abs(offsetSec)}`,
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
    // Debian's build adjusts pthread_cond_timedwait for faked monotonic time by default; with monotonic
    // time not faked that only slows every wait: Chromium took 30 s to start and 50 s to open a page.
    FAKETIME_FORCE_MONOTONIC_FIX: '0',
  };
}

/** Proves the faked clock reaches Node and Chromium before spending minutes on a run. */
async function checkReach(local) {
  const env = fakedEnv(local);
  const offset = zoned(local) - Date.now();
  const faked = () => Date.now() + offset;
  const node = spawnSync(process.execPath, ['-e', 'console.log(Date.now(), Intl.DateTimeFormat().resolvedOptions().timeZone)'], {
    env,
    encoding: 'utf8',
  });
  const [nodeNow, nodeZone] = node.stdout.trim().split(' ');
  if (Math.abs(Number(nodeNow) - faked()) > 5_000 || nodeZone !== ZONE)
    throw new Error(`node does not see the faked clock: ${node.stdout}${node.stderr}`);
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless=new', '--no-sandbox', '--disable-gpu'],
    env,
  });
  try {
    const page = await browser.newPage();
    const [browserNow, browserZone] = await page.evaluate(() => [Date.now(), Intl.DateTimeFormat().resolvedOptions().timeZone]);
    if (Math.abs(browserNow - faked()) > 5_000 || browserZone !== ZONE)
      throw new Error(`Chromium does not see the faked clock: ${new Date(browserNow).toISOString()} ${browserZone}`);
  } finally {
    await browser.close();
  }
}

function runSuite(local) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`${root}scripts/test.mjs`, ...filters], {
      env: fakedEnv(local),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let last = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      const lines = String(chunk).trim().split('\n');
      last = lines[lines.length - 1] || last;
    });
    child.on('close', (code) => resolve({ code, last }));
  });
}

const results = [];
for (const local of dates) {
  console.log(`\n=== ${local} ${ZONE} (${new Date(zoned(local)).toISOString()}) ===`);
  const t0 = Date.now();
  try {
    await checkReach(local);
  } catch (err) {
    console.log(String(err));
    results.push({ local, ok: false, line: 'the faked clock does not reach every process' });
    continue;
  }
  const { code, last } = await runSuite(local);
  results.push({ local, ok: code === 0, line: `${last} (${Math.round((Date.now() - t0) / 1000)} s)` });
}
console.log('\n=== test:dates ===');
for (const r of results) console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.local} ${ZONE}: ${r.line}`);
const failedDates = results.filter((r) => !r.ok).length;
console.log(`${results.length - failedDates} dates passed, ${failedDates} failed`);
process.exit(failedDates === 0 ? 0 : 1);
