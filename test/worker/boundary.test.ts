/**
 * The worker depends on the storage port (db/port.ts) only: no file under worker/ imports an engine
 * (db/sqlite/, db/postgres/) except worker/main.ts, which opens SQLite and builds the port over it,
 * and the poster cache, whose entries describe files on this host's disk and so stay local to each
 * worker host (db/sqlite/posterCache.ts, wired in main.ts).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ENGINES = ['db/sqlite/', 'db/postgres/'];
/** File (from the repository root) → the engine modules it may import. */
const ALLOWED: Record<string, (target: string) => boolean> = {
  'worker/main.ts': () => true,
  'worker/posters/cache.ts': (target) => target === 'db/sqlite/posterCache.ts',
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every module a file imports or re-exports (static, type-only and dynamic), from the repository root. */
export function importsOf(file: string, text: string): string[] {
  const specifiers = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g)].map((m) => m[1]);
  return specifiers
    .filter((s) => s.startsWith('.'))
    .map((s) =>
      relative(root, resolve(dirname(file), s))
        .replaceAll('\\', '/')
        .replace(/\.js$/, '.ts'),
    );
}

function engineImports(file: string): string[] {
  return importsOf(file, readFileSync(file, 'utf8')).filter((t) => ENGINES.some((e) => t.startsWith(e)));
}

test('no worker file imports db/sqlite/ or db/postgres/ but worker/main.ts (and the host-local poster cache)', () => {
  const files = sources(join(root, 'worker'));
  assert.ok(files.length > 40, `found ${files.length} worker files`);
  const offences = files.flatMap((file) => {
    const name = relative(root, file).replaceAll('\\', '/');
    const allowed = ALLOWED[name] ?? (() => false);
    return engineImports(file)
      .filter((t) => !allowed(t))
      .map((t) => `${name} imports ${t}`);
  });
  assert.equal(offences, [], 'use the storage port (db/port.ts) instead');
});

test('the scan sees the imports it guards against (main.ts wires SQLite; every import form is read)', () => {
  assert.ok(
    engineImports(join(root, 'worker/main.ts')).includes('db/sqlite/open.ts'),
    'main.ts opens SQLite (checkpoints, the host-local poster cache)',
  );
  const file = join(root, 'worker/x.ts');
  const text = `import type { A } from '../db/sqlite/a.js';\nexport { B } from "../db/postgres/b.js";\nimport '../db/sqlite/c.js';\nconst d = await import('../db/sqlite/d.js');\nimport { e } from '../db/port.js';`;
  assert.equal(importsOf(file, text), ['db/sqlite/a.ts', 'db/postgres/b.ts', 'db/sqlite/c.ts', 'db/sqlite/d.ts', 'db/port.ts']);
});

test.run();
