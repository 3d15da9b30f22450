#!/usr/bin/env node
/**
 * `node scripts/bench-compare.mjs --base DIR --head DIR [--rounds 5] [--suites queue,compose]`: runs the
 * same benchmarks in two checkouts (e.g. main before a reshaping and after), alternating which goes first
 * each round so a machine whose speed drifts treats both alike, and prints each figure's median in both
 * with the ratio head / base. A figure is every number in a `report()` line's figure column (a line
 * "p50 5.0 ms, p99 10.2 ms" gives two), keyed by the line's label.
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    base: { type: 'string' },
    head: { type: 'string' },
    rounds: { type: 'string', default: '5' },
    suites: { type: 'string', default: 'queue,collect,compose,server,client' },
  },
});
if (!values.base || !values.head) {
  console.error('usage: node scripts/bench-compare.mjs --base DIR --head DIR [--rounds 5] [--suites a,b]');
  process.exit(2);
}
const rounds = Number(values.rounds);
const suites = values.suites.split(',').filter(Boolean);

/**
 * Line template → numbers, from one run's output. Benchmarks print "label   figure   [note]" or
 * "label: figure"; the template is the line with each number replaced by #, so one line's figures keep
 * their key from run to run (a line whose counts change from run to run is skipped: its key changes).
 */
export function parseReport(text) {
  const figures = new Map();
  for (const line of text.split('\n')) {
    if (line.startsWith('==') || !/\d/.test(line)) continue;
    const numbers = [...line.matchAll(/\d[\d,]*(?:\.\d+)?/g)].map((m) => Number(m[0].replaceAll(',', '')));
    const template = line
      .replace(/\d[\d,]*(?:\.\d+)?/g, '#')
      .replace(/\s+/g, ' ')
      .trim();
    numbers.forEach((n, i) => figures.set(`${template.slice(0, 48)}… #${i + 1}`, n));
  }
  return figures;
}

function run(dir, suite) {
  const out = execFileSync('npm', ['run', '--silent', 'bench', '--', suite], { cwd: dir, encoding: 'utf8', maxBuffer: 64 << 20 });
  return parseReport(out);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

for (const suite of suites) {
  const samples = { base: new Map(), head: new Map() };
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? ['base', 'head'] : ['head', 'base'];
    for (const side of order) {
      for (const [k, v] of run(values[side], suite)) {
        if (!samples[side].has(k)) samples[side].set(k, []);
        samples[side].get(k).push(v);
      }
    }
    process.stderr.write(`${suite}: round ${r + 1}/${rounds} done\n`);
  }
  console.log(`\n== ${suite} (medians of ${rounds} alternating rounds)`);
  console.log(`${'figure'.padEnd(60)} ${'base'.padStart(10)} ${'head'.padStart(10)}  head/base`);
  for (const [k, xs] of samples.base) {
    const ys = samples.head.get(k);
    if (!ys) continue;
    // Numbers that never change (sizes in labels, counts) are not figures.
    if ([...xs, ...ys].every((v) => v === xs[0])) continue;
    const b = median(xs);
    const h = median(ys);
    console.log(
      `${k.slice(0, 60).padEnd(60)} ${String(+b.toFixed(2)).padStart(10)} ${String(+h.toFixed(2)).padStart(10)}  ${b === 0 ? '-' : (h / b).toFixed(2)}×`,
    );
  }
}
