#!/usr/bin/env node
// The project's one build (docs/architecture.md#processes-and-commands). `node build.mjs` builds everything into dist/:
//   dist/client/   the Lit PWA: hashed, minified ES modules with source maps, index.html naming them,
//                  manifest + icons (drawn with sharp), and sw.js (esbuild bundle + workbox precache manifest)
//   dist/server/main.js, dist/worker/main.js   Node entry points (packages stay external), when their source exists
// `node build.mjs --if-stale` builds only when a source file is newer than the last build.
import { build } from 'esbuild';
import { injectManifest } from 'workbox-build';
import sharp from 'sharp';
import { gzipSync } from 'node:zlib';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const r = (...p) => join(root, ...p);
const DIST = r('dist');
const OUT = r('dist/client');
const STAMP = r('dist/.build-stamp');
/** Initial JavaScript (entry + its static imports), gzipped. */
const BUDGET_GZIP = 60 * 1024;

/** Everything whose change must trigger a rebuild. */
const SOURCES = [
  'client',
  'common',
  'server',
  'worker',
  'db',
  'build.mjs',
  'scripts/status-images.ts',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
];

const NODE_ENTRIES = [
  { src: 'server/main.ts', out: 'dist/server/main.js' },
  { src: 'worker/main.ts', out: 'dist/worker/main.js' },
];

const APP = {
  name: 'moviemosaic',
  description: 'Turn a Letterboxd username into a poster mosaic of the films watched.',
  background: '#14161b',
  theme: '#14161b',
};

function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs; // a deleted file changes its folder's mtime
  for (const name of readdirSync(path)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    newest = Math.max(newest, newestMtime(join(path, name)));
  }
  return newest;
}

function isStale() {
  if (!existsSync(STAMP) || !existsSync(join(OUT, 'index.html'))) return true;
  const built = statSync(STAMP).mtimeMs;
  return SOURCES.some((s) => newestMtime(r(s)) > built);
}

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

/**
 * The pages other than home, each its own chunk (client/page-code.ts loads them with import()):
 * named entry points, so their files say which page they are. Keys are common/routes.ts route names.
 */
const PAGE_CHUNKS = {
  task: 'client/pages/page-task.ts',
  user: 'client/pages/page-user.ts',
  'not-found': 'client/pages/page-not-found.ts',
};

async function buildClient() {
  const pageEntries = Object.fromEntries(Object.values(PAGE_CHUNKS).map((src) => [src.replace(/^.*\/|\.ts$/g, ''), r(src)]));
  const result = await build({
    entryPoints: { main: r('client/main.ts'), ...pageEntries },
    outdir: join(OUT, 'assets'),
    entryNames: '[name]-[hash]',
    chunkNames: 'chunk-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome111', 'firefox115', 'safari16.4'],
    minify: true,
    sourcemap: 'linked',
    metafile: true,
    tsconfig: r('client/tsconfig.json'),
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
  });
  const outputs = result.metafile.outputs;
  const rel = (p) => relative(OUT, r(p)).split('\\').join('/');
  const outputOf = (src) => {
    const out = Object.keys(outputs).find((p) => outputs[p].entryPoint === src && p.endsWith('.js'));
    if (!out) throw new Error(`esbuild produced no output for ${src}`);
    return out;
  };
  const entry = outputOf('client/main.ts');

  // A file and every chunk it imports statically, transitively: what must arrive before it runs.
  const closure = (start) => {
    const files = [];
    const visit = (p) => {
      if (files.includes(p)) return;
      files.push(p);
      for (const imp of outputs[p].imports) if (imp.kind === 'import-statement' && !imp.external) visit(imp.path);
    };
    visit(start);
    return files;
  };
  // The initial set (what `/` waits for), then what each page adds to it when its route is shown.
  const initial = closure(entry);
  const pages = Object.fromEntries(
    Object.entries(PAGE_CHUNKS).map(([route, src]) => [
      route,
      closure(outputOf(src))
        .filter((p) => !initial.includes(p))
        .map(rel),
    ]),
  );
  for (const [route, files] of Object.entries(pages)) {
    if (files.length === 0) throw new Error(`the ${route} page is in the initial JavaScript: something imports it statically`);
  }
  const lazy = Object.keys(outputs).filter((p) => p.endsWith('.js') && !initial.includes(p));
  return { entry: rel(entry), initial: initial.map(rel), lazy: lazy.map(rel), pages };
}

/**
 * dist/client/page-chunks.json: for each route other than home, the files its page adds to the initial
 * set, page first. The server names them in a `Link: rel=modulepreload` header on a direct visit to
 * that route, so they download beside the entry instead of one round trip after it has run.
 */
function writePageChunks({ pages }) {
  const paths = Object.fromEntries(Object.entries(pages).map(([route, files]) => [route, files.map((f) => `/${f}`)]));
  writeFileSync(join(OUT, 'page-chunks.json'), JSON.stringify(paths, null, 2) + '\n');
}

function writeIndexHtml({ entry, initial }) {
  const template = readFileSync(r('client/index.html'), 'utf8');
  const marker = /<!-- build:assets[^>]*-->/;
  if (!marker.test(template)) throw new Error('client/index.html lost its <!-- build:assets --> marker');
  const preloads = initial.filter((f) => f !== entry).map((f) => `<link rel="modulepreload" href="/${f}" />`);
  const tags = [...preloads, `<script type="module" src="/${entry}"></script>`].join('\n    ');
  writeFileSync(join(OUT, 'index.html'), template.replace(marker, tags));
}

async function writeIcons() {
  const dir = join(OUT, 'icons');
  mkdirSync(dir, { recursive: true });
  const any = readFileSync(r('client/icons/icon.svg'));
  const maskable = readFileSync(r('client/icons/icon-maskable.svg'));
  const png = (svg, size, name) =>
    sharp(svg, { density: Math.ceil((72 * size) / 512) + 1 })
      .resize(size, size)
      .png({ compressionLevel: 9 })
      .toFile(join(dir, name));
  await Promise.all([
    png(any, 192, 'icon-192.png'),
    png(any, 512, 'icon-512.png'),
    png(maskable, 192, 'icon-maskable-192.png'),
    png(maskable, 512, 'icon-maskable-512.png'),
    // iOS rounds home-screen icons itself and shows transparency as black: use the full-bleed art.
    png(maskable, 180, 'apple-touch-icon.png'),
    png(any, 32, 'favicon-32.png'),
  ]);
  copyFileSync(r('client/icons/icon.svg'), join(dir, 'favicon.svg'));
}

function writeManifest() {
  const manifest = {
    id: '/',
    name: APP.name,
    short_name: APP.name,
    description: APP.description,
    start_url: '/',
    scope: '/',
    display: 'standalone',
    orientation: 'any',
    background_color: APP.background,
    theme_color: APP.theme,
    categories: ['entertainment', 'photo'],
    icons: [
      { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
      { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
      { src: '/icons/icon-maskable-192.png', sizes: '192x192', type: 'image/png', purpose: 'maskable' },
      { src: '/icons/icon-maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
    ],
  };
  writeFileSync(join(OUT, 'manifest.webmanifest'), JSON.stringify(manifest, null, 2) + '\n');
}

async function buildServiceWorker() {
  // workbox-build injects, it does not bundle: esbuild first, into a scratch folder at the same depth
  // as dist/client so the source map's relative paths stay right after injection.
  const scratch = r('.tmp/sw-build');
  rmSync(scratch, { recursive: true, force: true });
  await build({
    entryPoints: [r('client/sw.ts')],
    outfile: join(scratch, 'sw.js'),
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['es2022', 'chrome111', 'firefox115', 'safari16.4'],
    minify: true,
    // No map: workbox rewrites it with the build machine's absolute paths, which the site would then serve.
    sourcemap: false,
    tsconfig: r('client/tsconfig.json'),
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
  });
  const { count, size, warnings } = await injectManifest({
    swSrc: join(scratch, 'sw.js'),
    swDest: join(OUT, 'sw.js'),
    globDirectory: OUT,
    globPatterns: ['index.html', 'manifest.webmanifest', 'assets/*.js', 'icons/*.{png,svg}'],
    globIgnores: ['**/*.map'],
    // esbuild's [hash] names are already unique per content: no ?__WB_REVISION__ needed.
    dontCacheBustURLsMatching: /^assets\/.+-[A-Z0-9]{8}\.js$/,
  });
  for (const w of warnings) console.warn(`workbox: ${w}`);
  rmSync(scratch, { recursive: true, force: true });
  return { count, size };
}

async function buildNode() {
  const built = [];
  for (const { src, out } of NODE_ENTRIES) {
    rmSync(r(dirname(out)), { recursive: true, force: true });
    if (!existsSync(r(src))) continue; // not written yet
    await build({
      entryPoints: [r(src)],
      outfile: r(out),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      sourcemap: 'linked',
      tsconfig: r('tsconfig.json'),
      logLevel: 'warning',
    });
    built.push(out);
  }
  return built;
}

function sizeReport(client, sw) {
  const rows = [];
  const size = (f) => {
    const buf = readFileSync(join(OUT, f));
    return { raw: buf.length, gz: gzipSync(buf, { level: 9 }).length };
  };
  let initialGz = 0;
  let initialRaw = 0;
  for (const f of client.initial) {
    const s = size(f);
    initialGz += s.gz;
    initialRaw += s.raw;
    rows.push([f, 'initial', s]);
  }
  for (const f of client.lazy) rows.push([f, 'lazy', size(f)]);
  rows.push(['sw.js', 'worker', size('sw.js')]);
  rows.push(['index.html', 'html', size('index.html')]);
  const width = Math.max(...rows.map(([f]) => f.length));
  console.log('\nsize report (gzip -9):');
  for (const [f, kind, s] of rows)
    console.log(`  ${f.padEnd(width)}  ${kind.padEnd(7)} ${kb(s.raw).padStart(9)}  ${kb(s.gz).padStart(9)} gz`);
  console.log(
    `  initial JS (entry + its static imports, all / waits for): ${kb(initialRaw)} raw, ${kb(initialGz)} gzipped (budget ${kb(BUDGET_GZIP)})`,
  );
  for (const [route, files] of Object.entries(client.pages)) {
    const sizes = files.map(size);
    const raw = sizes.reduce((n, x) => n + x.raw, 0);
    const gz = sizes.reduce((n, x) => n + x.gz, 0);
    console.log(`  + ${route} page, loaded when first shown: ${kb(raw)} raw, ${kb(gz)} gzipped (${files.join(', ')})`);
  }
  console.log(`  precached: ${sw.count} files, ${kb(sw.size)}`);
  return initialGz;
}

/**
 * The stable links' status pictures (being made, each error), drawn here once so the server never
 * draws: the worker's drawing code, run through tsx (the TypeScript sources are what it draws with).
 */
function writeStatusImages() {
  const dir = r('dist/status');
  rmSync(dir, { recursive: true, force: true });
  const out = execFileSync(process.execPath, ['--import', 'tsx', r('scripts/status-images.ts'), dir], { cwd: root, encoding: 'utf8' });
  return out.trim();
}

async function main() {
  const ifStale = process.argv.includes('--if-stale');
  if (ifStale && !isStale()) {
    console.log('build: dist is up to date');
    return;
  }
  const t0 = Date.now();
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });

  const client = await buildClient();
  writeIndexHtml(client);
  writePageChunks(client);
  await writeIcons();
  writeManifest();
  const sw = await buildServiceWorker();
  const node = await buildNode();
  const statusImages = writeStatusImages();

  const initialGz = sizeReport(client, sw);
  console.log(`  node entries: ${node.length ? node.join(', ') : 'none yet'}`);
  console.log(`  ${statusImages}`);
  if (initialGz > BUDGET_GZIP) {
    throw new Error(`initial JS is ${kb(initialGz)} gzipped, over the ${kb(BUDGET_GZIP)} budget`);
  }
  mkdirSync(DIST, { recursive: true });
  writeFileSync(STAMP, new Date().toISOString() + '\n');
  console.log(`build: done in ${Date.now() - t0} ms`);
}

main().catch((err) => {
  console.error(`build failed: ${err instanceof Error ? err.message : err}`);
  process.exitCode = 1;
});
