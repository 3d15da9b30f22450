/**
 * Hostile input (issue 8), a bounded, seeded sample in `npm test` (`npm run fuzz` runs many more):
 * the API, raw HTTP, the static server, Host and Origin, usernames that are path tricks, and the
 * socket protocol. 0 crashes, 0 5xx, 0 files read outside the client folder, 0 prototype pollution.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cleanup } from '../helpers/server.js';
import { createRng, suiteSeed } from '../helpers/resilience/rng.js';
import { figures } from '../helpers/resilience/kit.js';
import {
  runHostCases,
  runHttpCases,
  runRawCases,
  runStaticCases,
  runUsernameTricks,
  runWsAbuse,
  runWsFrames,
  startTarget,
  targetFindings,
  type Target,
} from '../helpers/resilience/hostile.js';

const SEED = suiteSeed(80_803);
const rng = createRng(SEED);
let target: Target;
const counts: Record<string, number> = {};

let last = Date.now();
test.before.each(() => {
  last = Date.now();
});
test.after.each(() => {
  if (process.env.DEBUG_RZ) console.log(`(${Date.now() - last} ms)`);
});

test.before(async () => {
  target = await startTarget();
});
test.after(async () => {
  await target.close();
  await cleanup();
});

test(`API: ${600} seeded requests (seed ${SEED}): no 5xx, errors well-formed, nothing bad accepted`, async () => {
  const r = await runHttpCases(target, rng.fork('http'), 600);
  counts.api = r.cases;
  assert.equal(r.failures, []);
  figures('hostile-api', { seed: SEED, cases: r.cases, p99Ms: r.p99, statuses: JSON.stringify(r.statuses) });
});

test('raw HTTP: malformed request lines, smuggling, oversize, NUL', async () => {
  const r = await runRawCases(target);
  counts.raw = r.cases;
  assert.equal(r.failures, []);
});

test('static server: traversal, encodings, dotfiles and symlinks never leave the client folder', async () => {
  const r = await runStaticCases(target, rng.fork('static'), 250);
  counts.static = r.cases;
  assert.equal(r.failures, []);
  figures('hostile-static', { cases: r.cases, statuses: JSON.stringify(r.statuses) });
});

test('Host and Origin: DNS rebinding and cross-site sockets are refused, our names served', async () => {
  const r = await runHostCases(target);
  counts.host = r.cases;
  assert.equal(r.failures, []);
});

test('usernames that are path tricks', async () => {
  const r = await runUsernameTricks(target);
  counts.usernames = r.cases;
  assert.equal(r.failures, []);
});

test('socket protocol: malformed, binary, huge, prototype keys', async () => {
  const r = await runWsFrames(target, rng.fork('ws'), 20, 25);
  counts.wsFrames = r.cases;
  assert.equal(r.failures, []);
});

test('socket abuse: thousands of subscriptions, a flood from a non-reader, 300 sockets; a witness misses nothing', async () => {
  const r = await runWsAbuse(target);
  counts.wsAbuse = r.cases;
  assert.equal(r.failures, []);
  figures('hostile-socket', r.figures);
});

test('the target itself: no crash, no server error logged, no file read outside the client folder, no pollution', () => {
  assert.equal(targetFindings(target), []);
  assert.ok(
    target.reads.paths.some((p) => p.startsWith(target.clientDir)),
    'the monitor saw the client files being read',
  );
  figures('hostile', { seed: SEED, ...counts, total: Object.values(counts).reduce((a, b) => a + b, 0) });
});

test.run();
