/** `npm run bench`: every benchmark, each printing its figures and the ratio to its reference. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const only = process.argv.slice(2);
const suites: [string, string, string][] = [
  ['queue', './queue.ts', 'benchQueue'],
  ['collect', './collect.ts', 'benchCollect'],
  ['compose', './compose.ts', 'benchCompose'],
  ['server', './server.ts', 'benchServer'],
  ['client', './client.ts', 'benchClient'],
  ['poll', './poll.ts', 'benchPoll'],
  ['phone', './phone.ts', 'benchPhone'],
  ['slowlink', './slowlink.ts', 'benchSlowlink'],
  ['postgres', './postgres.ts', 'benchPostgres'],
];
console.log(`moviemosaic benchmarks on ${process.platform}/${process.arch}, node ${process.version}`);
for (const [name, file, fn] of suites) {
  if (only.length && !only.includes(name)) continue;
  if (!existsSync(here(file))) continue;
  console.log(`\n== ${name}`);
  const mod = (await import(file)) as Record<string, () => Promise<void>>;
  await mod[fn]();
}
