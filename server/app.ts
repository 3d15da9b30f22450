/**
 * The Koa application: every middleware in the order a request meets it, on one screen. The live
 * socket (/ws) is not here: it attaches to the HTTP server's `upgrade` event (server/live/).
 */
import Koa, { type Middleware } from 'koa';
import Router from 'koa-router';
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/log.js';
import type { DiaryArchive, ImportStore, QueueLimits, ResultStore, TaskQueue, WorkerRegistry } from '../db/port.js';
import type { HostPolicy } from './hosts.js';
import type { RetryBusy } from './busy.js';
import type { ProxyTrust } from './forwarded.js';
import { requestFrom, trustProxies } from './clientKey.js';
import { previewMosaic, previewTags, withPreview } from './preview.js';
import { matchRoute } from '../common/routes.js';
import { requestLog } from './middleware/requestLog.js';
import { compression } from './middleware/compression.js';
import { securityHeaders, hostGuard, originGuard } from './middleware/security.js';
import { errorHandler, HttpError } from './middleware/errors.js';
import { createRateLimiter, rateLimit } from './middleware/rateLimit.js';
import { staticClient, spaFallback } from './middleware/client.js';
import { notFoundPage } from './notFound.js';
import { createTaskRoutes } from './routes/tasks.js';
import { createMosaicRoutes } from './routes/mosaics.js';
import { createHealthRoutes } from './routes/health.js';
import { createStableLinkRoutes, type StableLinkDeps } from './routes/stableLinks.js';
import { createExportRoutes } from './routes/export.js';
import { createMemberRoutes } from './routes/members.js';

/** What the HTTP app needs; each route narrows it further. */
export interface AppDeps {
  tasks: Pick<TaskQueue, 'enqueue' | 'enqueueKeyed' | 'get' | 'withdraw' | 'queuedIds' | 'counts'>;
  results: Pick<
    ResultStore,
    | 'etag'
    | 'image'
    | 'summary'
    | 'listByUser'
    | 'listRecent'
    | 'markViewed'
    | 'renditionEtag'
    | 'rendition'
    | 'owner'
    | 'renditionsFailedSince'
  >;
  workers: Pick<WorkerRegistry, 'live'>;
  /** Members' Letterboxd exports: the upload route replaces them; an import makes older results stale. */
  imports: Pick<ImportStore, 'replace' | 'importedAt'>;
  /** Members' diary archives: what the member's page shows, and "stop following". */
  archive: Pick<DiaryArchive, 'summary' | 'forget'>;
  hosts: HostPolicy;
  clock: Pick<Clock, 'now'>;
  log: Logger;
  /** Stable links (/m/…): their reads, RESULT_FRESH_SEC, the wait for a new mosaic, and dist/status's pictures. */
  stableLinks?: Pick<StableLinkDeps, 'links' | 'freshMs' | 'waitForTask' | 'statusDir' | 'waitMs'> | null;
  /** The built client (dist/client), or null to serve the API alone. */
  clientDir: string | null;
  /** TRUST_PROXY compiled: the proxies whose forwarded headers clientKey and the host checks believe. */
  trustProxy?: ProxyTrust | null;
  /** `POST /api/mosaics` per client IP per minute (RATE_LIMIT_PER_MIN). */
  rateLimitPerMin: number;
  /** Caps on new mosaic tasks: unfinished per client (QUEUE_PER_CLIENT), queued in all (QUEUE_MAX). None: uncapped. */
  queueLimits?: QueueLimits;
  /** Runs a task write, waiting out a lock held elsewhere without blocking the loop (server/busy.ts). */
  retryBusy?: RetryBusy;
  /** The storage's test for a database locked by another program (Storage.isBusy): answered 503, not 500. */
  isBusy?: (err: unknown) => boolean;
  /** With HTTPS on: plain HTTP → HTTPS, except the setup paths (server/tls/redirect.ts). */
  httpsRedirect?: Middleware | null;
  /** Whether HTTPS answers carry Strict-Transport-Security (HTTPS on port 443 only). */
  hsts?: () => boolean;
  /** /setup and the CA downloads (server/setup/routes.ts). */
  setup?: Middleware | null;
}

export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  // Errors are answered and logged by errorHandler; Koa's own printer would only repeat them.
  app.silent = true;

  const api = new Router();
  api.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store'); // JSON answers are live state; the result route overrides this
    await next();
  });
  // The export upload reads its own raw body (20 MB cap); there is no global body parser to bypass.
  api.use(
    createExportRoutes({
      imports: deps.imports,
      clock: deps.clock,
      log: deps.log,
      // uploads per client per minute
      limit: rateLimit(createRateLimiter(10, deps.clock.now), (s) => `Too many export uploads from this device; try again in ${s} s.`),
    }).routes(),
  );
  // One limiter for new mosaics, whether asked for by the API or by a stable link.
  const newMosaics = createRateLimiter(deps.rateLimitPerMin, deps.clock.now);
  api.use(createMosaicRoutes({ ...deps, limitNewTasks: rateLimit(newMosaics) }).routes());
  api.use(createTaskRoutes(deps).routes());
  api.use(createMemberRoutes(deps).routes());
  api.use(createHealthRoutes(deps).routes());

  app.use((ctx, next) => {
    // TRUST_PROXY: whose forwarded headers are believed (clientKey.ts)
    trustProxies(ctx.req, deps.trustProxy);
    return next();
  });
  app.use(requestLog(deps.log)); // one line per request, whatever happens below
  app.use(securityHeaders(deps.hosts, deps.hsts)); // CSP & co. on every response, set on the way out
  app.use(compression()); // brotli/gzip for text answers as the client accepts; never images
  app.use(errorHandler(deps.log, deps.isBusy)); // AppError → {"error": {code, message}}; others → 500 INTERNAL
  app.use(hostGuard(deps.hosts)); // DNS-rebinding guard: 421 unless Host is one of ours
  app.use(originGuard); // another site's POST/DELETE: 403 before any limiter
  if (deps.httpsRedirect) app.use(deps.httpsRedirect); // HTTPS on: plain HTTP → https, but /setup, CA, /healthz
  if (deps.setup) app.use(deps.setup); // /setup, /ca.crt, /ca.der, /ca.mobileconfig
  app.use(api.routes()); // /api/..., /healthz
  app.use(async (ctx, next) => {
    // /api and /ws never fall through to files or pages
    if (ctx.path === '/api' || ctx.path.startsWith('/api/'))
      throw apiNotFound(ctx.method, ctx.path, (ctx as { matched?: Router.Layer[] }).matched);
    if (ctx.path === '/ws')
      throw new HttpError(426, 'INVALID_REQUEST', 'Connect to /ws with a WebSocket.', { headers: { Upgrade: 'websocket' } });
    return next();
  });
  if (deps.stableLinks) app.use(createStableLinkRoutes({ ...deps, ...deps.stableLinks, limiter: newMosaics })); // /m/{member}/{period}.{ext}
  if (deps.clientDir) app.use(staticClient(deps.clientDir)); // files of dist/client, nothing else
  app.use(spaFallback(deps.clientDir, (ctx, html) => pageHead(deps, ctx, html))); // index.html for the client's page routes
  app.use(notFoundPage); // everything else: the 404 page
  return app;
}

/** index.html for a member's or a mosaic's page carries its link preview (server/preview.ts). */
async function pageHead(deps: AppDeps, ctx: Koa.ParameterizedContext, html: string): Promise<string> {
  const mosaic = await previewMosaic(matchRoute(ctx.path), {
    summary: (id) => deps.results.summary(id),
    newestOf: async (username) => (await deps.results.listByUser(username, 1))[0],
  });
  if (!mosaic) return html;
  const seen = requestFrom(ctx.req);
  const origin = `${seen.scheme}://${seen.host}`;
  return withPreview(html, previewTags(mosaic, origin, ctx.path));
}

/** 405 with Allow when the path exists under other methods, else 404. */
function apiNotFound(method: string, path: string, matched: Router.Layer[] | undefined): HttpError {
  const allow = [...new Set((matched ?? []).flatMap((layer) => layer.methods))];
  if (allow.length > 0) {
    return new HttpError(405, 'INVALID_REQUEST', `${method} is not supported here; use ${allow.join(' or ')}.`, {
      headers: { Allow: allow.join(', ') },
    });
  }
  return new HttpError(404, 'INVALID_REQUEST', `There is no API endpoint at ${path.slice(0, 100)}.`);
}
