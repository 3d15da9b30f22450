/**
 * The server's edges, read from its source: it never imports client/ (what both sides need lives in
 * common/), no route file imports app.ts, each route file exports one route factory, and storage is
 * reached through the port (db/port.ts) only: server/main.ts alone names an engine (SQLite).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SERVER = join(ROOT, 'server');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return name.endsWith('.ts') ? [p] : [];
  });
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'"]*?\bfrom\s+'([^']+)'|\bimport\(\s*'([^']+)'\s*\)/g;

/** The relative modules a source text imports or re-exports, as paths from the repository root. */
function relativeImports(text: string, file: string): string[] {
  const specs = [...text.matchAll(IMPORT)].map((m) => m[1] ?? m[2]);
  return specs.filter((s) => s.startsWith('.')).map((s) => relative(ROOT, join(file, '..', s)));
}

const importsOf = (file: string) => relativeImports(readFileSync(file, 'utf8'), file);

test('imports are found whether static, type-only, multi-line, re-exported or dynamic', () => {
  const text =
    "import type { A } from '../app.js';\nexport { b } from '../../client/x.js';\n" +
    "const c = await import('../../client/y.js');\nimport {\n  d,\n} from './d.js';\nimport e from 'koa';";
  assert.equal(relativeImports(text, join(SERVER, 'routes', 'probe.ts')), [
    'server/app.js',
    'client/x.js',
    'client/y.js',
    'server/routes/d.js',
  ]);
});

test('no server module imports client/', () => {
  const offenders = sources(SERVER).flatMap((f) =>
    importsOf(f)
      .filter((p) => p.startsWith('client/'))
      .map((p) => `${relative(ROOT, f)} → ${p}`),
  );
  assert.equal(offenders, []);
});

test('route files do not import app.ts, and each exports one createXRoutes factory', () => {
  for (const file of sources(join(SERVER, 'routes'))) {
    const name = relative(ROOT, file);
    assert.not.ok(importsOf(file).includes('server/app.js'), `${name} imports app.ts`);
    const factories = [...readFileSync(file, 'utf8').matchAll(/export function (create\w*Routes)\b/g)].map((m) => m[1]);
    assert.is(factories.length, 1, `${name}: ${factories.join(', ') || 'no createXRoutes'}`);
    const otherRouteFns = [...readFileSync(file, 'utf8').matchAll(/export function (\w*[rR]outes)\b/g)]
      .map((m) => m[1])
      .filter((n) => !n.startsWith('create'));
    assert.equal(otherRouteFns, [], name);
  }
});

/** Every module of db/ but the port: the engines' own code. */
const ENGINE = /^db\/(?!port\.js$)/;

test('server modules reach storage through db/port.ts only; main.ts alone names the engine', () => {
  const offenders = sources(SERVER)
    .filter((f) => relative(ROOT, f) !== join('server', 'main.ts'))
    .flatMap((f) =>
      importsOf(f)
        .filter((p) => ENGINE.test(p))
        .map((p) => `${relative(ROOT, f)} → ${p}`),
    );
  assert.equal(offenders, []);
  // The check sees what it must refuse: an adapter's module, of either engine, type-only or not.
  const probe = join(SERVER, 'live', 'probe.ts');
  const text =
    "import type { Db } from '../../db/sqlite/open.js';\nimport { x } from '../../db/postgres/index.js';\nimport type { Storage } from '../../db/port.js';";
  assert.equal(
    relativeImports(text, probe).filter((p) => ENGINE.test(p)),
    ['db/sqlite/open.js', 'db/postgres/index.js'],
  );
  // main.ts is where the engine is chosen (db/openStorage.ts: DATABASE_URL).
  assert.ok(importsOf(join(SERVER, 'main.ts')).includes('db/openStorage.js'));
});

test.run();
