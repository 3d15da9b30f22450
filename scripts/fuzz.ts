/**
 * Hostile-input fuzzing (issue 8), the long run of test/resilience/hostile.test.ts:
 * `npm run fuzz -- [--seed n] [--seeds k] [--scale s]`; and `npm run fuzz -- --faults`, the long run of
 * faults.serial.test.ts: got's real timeouts, trickling bodies and 429 storms waited out (minutes),
 * plus every fast scenario without fast-forwarding, against real worker processes.
 *
 * For each seed (n, n+1, … k of them) a fresh in-process server over a real database file and a client
 * folder with a dotfile and symlinks out of it, then: `2000·s` API requests, raw HTTP, `500·s` static
 * paths, Host and Origin, path-trick usernames, `40·s` socket sessions of 40 frames, and the socket
 * abuse (floods, thousands of subscriptions, crowds) at scale s. Prints each finding with its seed and
 * case number (re-run with `--seed` to reproduce) and exits 1 when there is any.
 */
import { parseArgs } from 'node:util';
import { cleanup } from '../test/helpers/server.js';
import { createRng } from '../test/helpers/resilience/rng.js';
import { auditTasks, integrity } from '../test/helpers/resilience/kit.js';
import { LONG_SCENARIOS, runScenarios, SCENARIOS, startFaultWorld } from '../test/helpers/resilience/faultWorld.js';
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
} from '../test/helpers/resilience/hostile.js';

const { values: args } = parseArgs({
  options: {
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    seeds: { type: 'string', default: '1' },
    scale: { type: 'string', default: '10' },
    faults: { type: 'boolean', default: false },
  },
});
const first = Number(args.seed);
const seeds = Number(args.seeds);
const scale = Math.max(1, Number(args.scale));

async function runSeed(seed: number): Promise<{ cases: number; findings: string[] }> {
  const rng = createRng(seed);
  const target = await startTarget({ tasks: 150 });
  const findings: string[] = [];
  let cases = 0;
  const step = async (name: string, run: () => Promise<{ cases: number; failures: string[] }>) => {
    const t0 = Date.now();
    const r = await run();
    cases += r.cases;
    findings.push(...r.failures.map((f) => `[seed ${seed}] ${name}: ${f}`));
    console.log(`  ${name}: ${r.cases} cases, ${r.failures.length} findings (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  };
  try {
    await step('api', () => runHttpCases(target, rng.fork('http'), 2000 * scale, 16));
    await step('raw http', () => runRawCases(target));
    await step('static', () => runStaticCases(target, rng.fork('static'), 500 * scale));
    await step('host/origin', () => runHostCases(target));
    await step('usernames', () => runUsernameTricks(target));
    await step('socket frames', () => runWsFrames(target, rng.fork('ws'), 40 * scale, 40));
    await step('socket abuse', () => runWsAbuse(target, Math.min(scale, 5)));
    findings.push(...targetFindings(target).map((f) => `[seed ${seed}] target: ${f}`));
  } finally {
    await target.close();
  }
  return { cases, findings };
}

/** The long fault scenarios: each task must still end right, and within a bound the table shows. */
async function runFaults(): Promise<void> {
  const scenarios = [...LONG_SCENARIOS, ...SCENARIOS.map((s) => ({ ...s, name: `x${s.name}`.slice(0, 15), fastForward: false }))];
  const t0 = Date.now();
  const world = await startFaultWorld(scenarios, { workers: 3 });
  console.log(`faults: ${scenarios.length} scenarios against 3 worker processes, no fast-forward (this takes minutes)`);
  const outcomes = await runScenarios(world, scenarios, { fastForward: false, timeoutMs: 20 * 60_000 });
  console.log('| scenario | outcome | task time | attempts | delays |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const o of [...outcomes].sort((a, b) => b.ms - a.ms)) {
    console.log(
      `| ${o.scenario.name} | ${o.status}${o.code ? ` ${o.code}` : ''}${o.wrong ? ` — WRONG: ${o.wrong}` : ''} | ${(o.ms / 1000).toFixed(1)} s | ${o.attempts} | ${o.delays} |`,
    );
  }
  const problems = [
    ...outcomes.filter((o) => o.wrong).map((o) => `${o.scenario.name}: ${o.wrong}`),
    ...auditTasks(
      world.stack.db,
      outcomes.map((o) => o.id),
      [...new Set(scenarios.flatMap((s) => s.expect.codes ?? []))],
    ).problems,
    ...world.canary.hits.map((h) => `canary hit: ${h}`),
  ];
  if (integrity(world.stack.db) !== 'ok') problems.push('integrity_check failed');
  await cleanup();
  for (const p of problems) console.log(p);
  console.log(
    `faults: ${scenarios.length} scenarios, ${problems.length} problems, slowest task ${(Math.max(...outcomes.map((o) => o.ms)) / 1000).toFixed(0)} s, ${((Date.now() - t0) / 1000).toFixed(0)} s in all`,
  );
  process.exit(problems.length ? 1 : 0);
}

async function main(): Promise<void> {
  if (args.faults) return runFaults();
  let cases = 0;
  const findings: string[] = [];
  const t0 = Date.now();
  for (let i = 0; i < seeds; i++) {
    const seed = first + i;
    console.log(`seed ${seed} (scale ${scale}):`);
    const r = await runSeed(seed);
    cases += r.cases;
    findings.push(...r.findings);
  }
  await cleanup();
  for (const f of findings) console.log(f);
  console.log(
    `fuzz: ${cases} cases over ${seeds} seed(s) from ${first}, ${findings.length} findings, ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
  process.exit(findings.length ? 1 : 0);
}

main().catch(async (err) => {
  console.error(err);
  await cleanup();
  process.exit(1);
});
