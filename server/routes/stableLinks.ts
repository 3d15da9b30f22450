/**
 * Stable image links, `GET /m/{member}/{period}[.{layout}].{ext}` (common/stableLink.ts): the newest
 * mosaic for a request, always current. A mosaic older than RESULT_FRESH_SEC is answered at once and
 * a refresh queued (stale while revalidating; a crowd of requests joins one task). With none yet, a
 * task is queued and given WAIT_MS; then a "being made" picture (202, no-store, Retry-After). Errors
 * are pictures too, with their status, since an `<img>` cannot show JSON; a recent error (within
 * RESULT_FRESH_SEC) is answered again without a new task. The pictures are files drawn at build time
 * (dist/status): the server never draws.
 *
 * Queuing work here costs what `POST /api/mosaics` costs: a token from the same per-client limiter
 * and a place under the same per-client and total queue caps. Answering, or joining a task already
 * under way, costs nothing.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Middleware, ParameterizedContext } from 'koa';
import { isAppError } from '../../common/errors.js';
import { CONTENT_TYPES, dedupeKey, isFinished, type Format, type MosaicRequest, type Task } from '../../common/task.js';
import { stableLinkFormat, stableLinkRequest } from '../../common/stableLink.js';
import { STATUS_IMAGES, statusImageFile, statusImageFor, type StatusImageName } from '../../common/statusImages.js';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/log.js';
import { QueueLimitError, type ImportStore, type QueueLimits, type ResultStore, type StableLinks, type TaskQueue } from '../../db/port.js';
import { writeOnce, type RetryBusy } from '../busy.js';
import { clientKey } from '../clientKey.js';
import type { RateLimiter } from '../middleware/rateLimit.js';
import { CREATE_MOSAIC } from './mosaics.js';

/** How long a request with no mosaic yet waits for a new one before answering "being made". */
export const WAIT_MS = 5000;
/** How long a shared cache (a forum's image proxy, a CDN) may reuse a mosaic answer. */
const MAX_AGE_SEC = 300;

export interface StableLinkDeps {
  tasks: Pick<TaskQueue, 'enqueue' | 'get'>;
  results: Pick<ResultStore, 'etag' | 'image'>;
  clock: Pick<Clock, 'now'>;
  /** A newer export import makes that member's earlier results stale. */
  imports: Pick<ImportStore, 'importedAt'>;
  /** Runs a task write, waiting out a lock held elsewhere (server/busy.ts). */
  retryBusy?: RetryBusy;
  /** The same caps as `POST /api/mosaics` (QUEUE_PER_CLIENT, QUEUE_MAX). */
  queueLimits?: QueueLimits;
  log: Logger;
  links: StableLinks;
  /** The limiter `POST /api/mosaics` takes from. */
  limiter: RateLimiter;
  /** RESULT_FRESH_SEC in milliseconds. */
  freshMs: number;
  /** Wakes on a task's finish (server/taskWaiters.ts); without one, only what is finished already counts. */
  waitForTask?: (id: string, ms: number) => Promise<Task | null>;
  /** dist/status: the pictures drawn at build time. */
  statusDir: string | null;
  /** How long to wait for a new mosaic (tests shorten it). */
  waitMs?: number;
}

const PATH = /^\/m\/([^/]{1,40})\/([^/]{1,40})$/;

export function createStableLinkRoutes(deps: StableLinkDeps): Middleware {
  const { tasks, results, links, clock, limiter } = deps;
  const write = deps.retryBusy ?? writeOnce;
  const waitMs = deps.waitMs ?? WAIT_MS;
  const pictures = new Map<string, Buffer>();

  /** A status picture (cached after the first read), with its status and no caching downstream. */
  async function answerPicture(ctx: ParameterizedContext, name: StatusImageName, format: Format, headers: Record<string, string> = {}) {
    const { status, title, hint } = STATUS_IMAGES[name];
    const file = statusImageFile(name, format);
    let image = pictures.get(file);
    if (!image && deps.statusDir) {
      image = await readFile(join(deps.statusDir, file)).catch(() => undefined);
      if (image) pictures.set(file, image);
    }
    ctx.status = status;
    ctx.set('Cache-Control', 'no-store');
    ctx.set(headers);
    if (image) {
      ctx.type = CONTENT_TYPES[format];
      ctx.body = image;
    } else {
      // Not built (`npm run build` draws them): say so in words rather than fail.
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = `${title} ${hint}\n`;
    }
  }

  async function answerMosaic(ctx: ParameterizedContext, id: string, finishedAt: number): Promise<boolean> {
    const meta = await results.etag(id);
    if (!meta) return false; // pruned meanwhile
    ctx.status = 200;
    ctx.set('Cache-Control', `public, max-age=${MAX_AGE_SEC}`);
    ctx.set('ETag', meta.etag);
    ctx.lastModified = new Date(finishedAt);
    ctx.type = meta.contentType;
    if (ctx.fresh) {
      ctx.status = 304;
      return true;
    }
    const stored = await results.image(id);
    if (!stored) return false;
    ctx.body = ctx.method === 'HEAD' ? null : stored.image;
    if (ctx.method === 'HEAD') ctx.length = stored.image.length;
    return true;
  }

  /**
   * Queues the request's task (or joins the live one), paying what the API pays. Returns the task, or
   * the picture to answer when the limiter or a queue cap refuses.
   */
  async function queue(
    ctx: ParameterizedContext,
    request: MosaicRequest,
    liveId: string | null,
  ): Promise<Task | { refused: StatusImageName; headers: Record<string, string> }> {
    const key = clientKey(ctx);
    if (!liveId) {
      const waitMsLimit = limiter.take(key);
      if (waitMsLimit > 0)
        return { refused: 'RATE_LIMITED', headers: { 'Retry-After': String(Math.max(1, Math.ceil(waitMsLimit / 1000))) } };
    }
    const staleBefore = (await deps.imports.importedAt(request.username)) ?? undefined;
    const requester = { clientKey: key, cancelToken: randomBytes(24).toString('base64url') };
    try {
      const { task } = await write(() =>
        tasks.enqueue({
          action: CREATE_MOSAIC,
          username: request.username,
          params: request.params,
          refresh: false,
          staleBefore,
          requestedAt: clock.now(),
          requester,
          limits: deps.queueLimits,
        }),
      );
      return task;
    } catch (err) {
      if (err instanceof QueueLimitError) {
        return err.limit === 'client'
          ? { refused: 'RATE_LIMITED', headers: { 'Retry-After': '30' } }
          : { refused: 'QUEUE_FULL', headers: { 'Retry-After': '60' } };
      }
      throw err;
    }
  }

  return async function stableLink(ctx, next) {
    const m = PATH.exec(ctx.path);
    if (!m || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    // Embeddable anywhere: a forum's <img> is a cross-origin, no-cors load.
    ctx.set('Cross-Origin-Resource-Policy', 'cross-origin');
    // The picture of a bad link still comes in the format its name ends with.
    const format = stableLinkFormat(m[2]);
    let file: string;
    let username: string;
    try {
      username = decodeURIComponent(m[1]);
      file = decodeURIComponent(m[2]);
    } catch {
      return answerPicture(ctx, 'INVALID_REQUEST', format);
    }
    let request: MosaicRequest;
    try {
      request = stableLinkRequest(username, file, new Date(clock.now()));
    } catch (err) {
      if (isAppError(err)) return answerPicture(ctx, 'INVALID_REQUEST', format);
      throw err;
    }

    const now = clock.now();
    const dedupe = dedupeKey(CREATE_MOSAIC, request.username, request.params);
    const state = await links.state(dedupe);
    const staleBefore = (await deps.imports.importedAt(request.username)) ?? 0;
    const recentError =
      state.error && now - state.error.finishedAt < deps.freshMs && (!state.complete || state.error.finishedAt > state.complete.finishedAt)
        ? state.error
        : null;

    if (state.complete) {
      const stale = now - state.complete.finishedAt >= deps.freshMs || state.complete.finishedAt < staleBefore;
      // Stale: refresh behind the answer, unless one is under way or the last attempt failed just now.
      if (stale && !state.liveId && !recentError) {
        await queue(ctx, request, null).catch((err) => deps.log.warn('stable link refresh not queued', { error: String(err) }));
      }
      if (await answerMosaic(ctx, state.complete.id, state.complete.finishedAt)) return;
    }
    if (recentError) return answerPicture(ctx, statusImageFor(recentError.code), format);

    const queued = await queue(ctx, request, state.liveId);
    if (!('id' in queued)) return answerPicture(ctx, queued.refused, format, queued.headers);
    let task: Task | null | undefined = queued;
    if (!isFinished(task.status)) {
      const waiting = deps.waitForTask ? deps.waitForTask(task.id, waitMs) : Promise.resolve(null);
      // Finished between the enqueue and the wait? Then no event will come for it.
      const current = await tasks.get(task.id);
      task = current && isFinished(current.status) ? current : await waiting;
    }
    if (task?.status === 'COMPLETE') {
      const done = (await links.state(dedupe)).complete;
      if (done && (await answerMosaic(ctx, done.id, done.finishedAt))) return;
    }
    if (task?.status === 'ERROR') return answerPicture(ctx, statusImageFor(task.errorCode), format);
    return answerPicture(ctx, 'MAKING', format, { 'Retry-After': '5' });
  };
}
