/**
 * The built client (dist/client) and the single-page fallback. koa-static serves files from that
 * folder only: no dotfiles, no directory indexes, and no file whose real path (symlinks resolved)
 * leaves the folder, since koa-send follows symlinks. Page routes (the client's own `matchRoute`)
 * get index.html; anything else goes on to the 404 page (server/notFound.ts).
 */
import { realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join, sep } from 'node:path';
import type { Middleware, ParameterizedContext } from 'koa';
import serve from 'koa-static';
import { matchRoute } from '../../common/routes.js';
import { renditionUrl } from '../../common/task.js';

/**
 * Source maps are not served: they are for whoever debugs the build, who has the sources, and a map
 * can carry the build machine's paths (workbox's map of sw.js did).
 */
const SOURCE_MAP = /\.map$/i;

/** esbuild's `[name]-[hash]` output: the content decides the name, so the file never changes. */
const HASHED = /-[A-Z0-9]{8}\.[a-z0-9]+$/;

function realpathOrNull(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

/** Whether `path` really (symlinks resolved) lies inside `dir`. */
function inside(dir: string, path: string): boolean {
  const root = realpathOrNull(dir);
  const real = realpathOrNull(path);
  return root !== null && real !== null && real.startsWith(root + sep);
}

export function staticClient(clientDir: string): Middleware {
  const files = serve(clientDir, {
    index: false,
    hidden: false,
    // The build writes no .br/.gz twins; not looking for them also means a refused file never leaves
    // a Content-Encoding header behind for the 404 that follows.
    brotli: false,
    gzip: false,
    setHeaders(res, path) {
      // A thrown 404 makes koa-static fall through to the next middleware, as for a missing file.
      // Judged on the file's own path, after koa-send decoded the URL (`/sw.js%2emap` is the same file).
      if (!inside(clientDir, path) || SOURCE_MAP.test(path)) throw Object.assign(new Error('Not found'), { status: 404 });
      res.setHeader('Cache-Control', HASHED.test(basename(path)) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  return async function client(ctx, next) {
    await files(ctx, next);
    // koa-send sets Last-Modified but never answers a conditional request: do it here.
    if (ctx.status === 200 && ctx.body && ctx.fresh) {
      ctx.status = 304;
      ctx.body = null;
    }
  };
}

/** What dist/client/page-chunks.json may name: the build's own hashed scripts, nothing else. */
const CHUNK_PATH = /^\/assets\/[\w-]+\.js$/;

/**
 * The build's page-chunks.json (route name → the script files its page adds), read per request like
 * index.html so a rebuild shows at once; a build without it (or an unreadable one) preloads nothing.
 */
async function pageChunks(clientDir: string): Promise<Record<string, string[]>> {
  const file = join(clientDir, 'page-chunks.json');
  if (!inside(clientDir, file)) return {};
  try {
    const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
    if (!parsed || typeof parsed !== 'object') return {};
    return Object.fromEntries(
      Object.entries(parsed).map(([route, files]) => [
        route,
        Array.isArray(files) ? files.filter((f): f is string => typeof f === 'string' && CHUNK_PATH.test(f)) : [],
      ]),
    );
  } catch {
    return {};
  }
}

/**
 * index.html for the client's page routes (GET/HEAD), read per request (a few KiB, in the page cache)
 * so a rebuild shows at once. Never for /api or /ws (those answer before this runs) nor unknown paths.
 */
export function spaFallback(
  clientDir: string | null,
  head?: (ctx: ParameterizedContext, html: string) => string | Promise<string>,
): Middleware {
  return async function pages(ctx, next) {
    const route = matchRoute(ctx.path);
    if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || route.name === 'not-found') return next();
    const index = clientDir ? join(clientDir, 'index.html') : null;
    const html = index && inside(clientDir!, index) ? await readFile(index).catch(() => null) : null;
    if (!html) {
      ctx.status = 503;
      ctx.type = 'text/plain; charset=utf-8';
      ctx.set('Cache-Control', 'no-store');
      ctx.body = 'The moviemosaic client is not built yet. Run `npm run build` (or `npm start`, which builds first).\n';
      return;
    }
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Cache-Control', 'no-cache');
    const links: string[] = [];
    // A mosaic's page: its screen copy (the page's largest paint) starts downloading with the script
    // instead of after it has run and fetched the mosaic's JSON, two round trips later; so does that
    // JSON, which the page's fetch() then takes from the preload (same URL, CORS mode, same-origin
    // credentials: `crossorigin=anonymous`).
    if (route.name === 'user' && route.taskId) {
      const result = `/api/tasks/${route.taskId}/result`;
      links.push(
        `<${renditionUrl(result, 'screen')}>; rel=preload; as=image; fetchpriority=high`,
        `</api/tasks/${route.taskId}/mosaic>; rel=preload; as=fetch; crossorigin=anonymous`,
      );
    }
    // Every page but home is its own chunk, which the entry would ask for only once it has run: named
    // here, it downloads beside the entry (build.mjs writes which files each route's page adds).
    for (const file of (await pageChunks(clientDir!))[route.name] ?? []) links.push(`<${file}>; rel=modulepreload`);
    if (links.length) ctx.set('Link', links.join(', '));
    // Link previews (server/preview.ts): the page's own tags in the HTML, for crawlers without JavaScript.
    ctx.body = head ? await head(ctx, html.toString('utf8')) : html;
  };
}
