/** Creating mosaic tasks and following one: the task endpoints of docs/architecture.md#http-api. */
import { randomBytes } from 'node:crypto';
import type Router from 'koa-router';
import type { Middleware } from 'koa';
import { AppError } from '../../common/errors.js';
import { normalizeRequest, RENDITION_KINDS, type RenditionKind, type Task } from '../../common/task.js';
import { MAKE_RENDITIONS } from '../../db/sqlite/results.js';
import type { MosaicResponse, TaskResponse } from '../../common/protocol.js';
import type { AppDeps } from '../app.js';
import { readJson, requireJson } from '../middleware/body.js';
import { HttpError } from '../middleware/errors.js';
import { isTaskId } from '../taskId.js';
import { clientKey } from '../clientKey.js';
import { QueueLimitError } from '../../db/sqlite/tasks.js';

/** The action a mosaic request runs in the worker. */
export const CREATE_MOSAIC = 'create_mosaic';

type Deps = Pick<AppDeps, 'tasks' | 'results' | 'clock' | 'imports' | 'retryBusy' | 'queueLimits' | 'log'>;

/** The header a `DELETE /api/tasks/:id` carries its cancel token in (a custom header: another site cannot send it). */
export const CANCEL_TOKEN_HEADER = 'Cancel-Token';

/** The answer to a new task refused by a queue cap (QUEUE_PER_CLIENT → 429, QUEUE_MAX → 503). */
function queueRefusal(err: QueueLimitError): HttpError {
  if (err.limit === 'client') {
    return new HttpError(429, 'RATE_LIMITED',
      `This device already has ${err.cap} mosaics waiting or being made; wait for one to finish, or cancel one, before starting another.`,
      { headers: { 'Retry-After': '30' } });
  }
  return new HttpError(503, 'QUEUE_FULL',
    `The queue is full (${err.cap} mosaics waiting); try again in a minute.`, { headers: { 'Retry-After': '60' } });
}

function taskNotFound(): AppError {
  return new AppError('TASK_NOT_FOUND', 'There is no mosaic task with this id. It may have been cleaned up; start a new mosaic.');
}

/** The task with its queue position filled in (computed now, docs/architecture.md#events-and-replay). */
export function withQueuePosition(tasks: Deps['tasks'], task: Task): Task {
  return task.status === 'QUEUED' ? { ...task, queuePosition: tasks.queuePosition(task.id) } : task;
}

/** The `:id` parameter; a malformed one is a 404 without a query. */
function taskId(ctx: { params: Record<string, string> }): string {
  const id = ctx.params.id;
  if (!isTaskId(id)) throw taskNotFound();
  return id;
}

export function taskRoutes(router: Router, deps: Deps, limitNewTasks: Middleware): void {
  const { tasks, results, clock } = deps;
  // Without a retry policy a busy database is answered by the error handler (503) at once.
  const write = deps.retryBusy ?? (async <T>(fn: () => T) => fn());

  // The content type is checked before the limiter takes a token (a refused request costs nothing).
  router.post('/api/mosaics', requireJson, limitNewTasks, async (ctx) => {
    const requestedAt = clock.now();
    const request = normalizeRequest(await readJson(ctx), new Date(clock.now()));
    // A newer export import makes that member's earlier results stale for dedupe (docs/architecture.md#dedupe).
    const staleBefore = deps.imports.importedAt(request.username) ?? undefined;
    // Every request that creates or joins a live task gets its own token: its DELETE withdraws its share.
    const cancelToken = randomBytes(24).toString('base64url');
    const requester = { clientKey: clientKey(ctx), cancelToken };
    let outcome;
    try {
      outcome = await write(() =>
        tasks.enqueue({ action: CREATE_MOSAIC, ...request, staleBefore, requestedAt, requester, limits: deps.queueLimits }));
    } catch (err) {
      if (err instanceof QueueLimitError) throw queueRefusal(err);
      throw err;
    }
    const { task, deduped, refreshIn } = outcome;
    if (refreshIn !== undefined) {
      const wait = Math.max(1, Math.ceil(refreshIn / 1000));
      throw new HttpError(429, 'RATE_LIMITED', `This mosaic was made less than a minute ago (task ${task.id}), and a mosaic can be refreshed once a minute: open that one, or refresh again in ${wait} s.`, {
        headers: { 'Retry-After': String(wait) },
      });
    }
    const live = task.status === 'QUEUED' || task.status === 'RUNNING';
    ctx.status = deduped ? 200 : 202;
    if (!deduped) ctx.set('Location', `/api/tasks/${task.id}`);
    ctx.body = { task: withQueuePosition(tasks, task), cancelToken: live ? cancelToken : null } satisfies TaskResponse;
  });

  router.get('/api/tasks/:id', (ctx) => {
    const task = tasks.get(taskId(ctx));
    if (!task) throw taskNotFound();
    ctx.body = { task: withQueuePosition(tasks, task) } satisfies TaskResponse;
  });

  // Only the requests that share a task may cancel it, each with its own token, and the task stops
  // only once all of them have withdrawn (re-posting a request someone else started joins it).
  router.delete('/api/tasks/:id', async (ctx) => {
    const id = taskId(ctx);
    const token = ctx.get(CANCEL_TOKEN_HEADER);
    if (!token || token.length > 200) {
      if (!tasks.get(id)) throw taskNotFound();
      throw new HttpError(403, 'FORBIDDEN', `Only the device that started this mosaic can cancel it: send the cancelToken its request returned in a ${CANCEL_TOKEN_HEADER} header.`);
    }
    const outcome = await write(() => tasks.withdraw(id, token));
    if (!outcome) throw taskNotFound();
    if (outcome.kind === 'forbidden') {
      throw new HttpError(403, 'FORBIDDEN', 'This cancel token does not belong to this mosaic; only the requests that started or joined it can cancel it.');
    }
    if (outcome.kind === 'finished') {
      const status = outcome.task.status.toLowerCase();
      throw new AppError('TASK_FINISHED', `This mosaic task has already finished (${status}); there is nothing to cancel.`);
    }
    ctx.body = { task: withQueuePosition(tasks, outcome.task), left: outcome.kind === 'left' } satisfies TaskResponse;
  });

  /** 404 for an unknown task, 409 for one that has no result yet. */
  const noResult = (id: string): AppError => {
    const task = tasks.get(id);
    if (!task) return taskNotFound();
    if (task.status === 'COMPLETE') return new AppError('TASK_NOT_FOUND', 'This task finished without an image.');
    return new AppError('RESULT_NOT_READY', `The mosaic is not ready yet (the task is ${task.status.toLowerCase()}).`);
  };

  /**
   * An image that never changes under its URL: strong ETag, a year's cache. The ETag is read alone
   * first, so a revalidation (If-None-Match) never reads the image bytes.
   */
  const immutableImage = (
    ctx: Router.RouterContext,
    meta: { etag: string; contentType: string },
    read: () => { image: Buffer } | undefined,
    id: string,
  ): void => {
    ctx.set('Cache-Control', 'public, max-age=31536000, immutable');
    ctx.set('ETag', meta.etag);
    ctx.type = meta.contentType;
    ctx.status = 200; // Koa only judges freshness of a 2xx answer.
    if (ctx.fresh) {
      ctx.status = 304;
      return;
    }
    const stored = read();
    if (!stored) throw noResult(id);
    ctx.body = stored.image;
  };

  router.get('/api/tasks/:id/result', (ctx) => {
    const id = taskId(ctx);
    const meta = results.etag(id);
    if (!meta) throw noResult(id);
    // A view, revalidations included: the byte budget evicts the least recently viewed first.
    results.markViewed(id, clock.now());
    immutableImage(ctx, meta, () => results.image(id), id);
  });

  router.get('/api/tasks/:id/result/:kind', async (ctx) => {
    const id = taskId(ctx);
    const kind = ctx.params.kind as RenditionKind;
    if (!RENDITION_KINDS.includes(kind)) {
      throw new AppError('TASK_NOT_FOUND', `There is no "${String(kind).slice(0, 20)}" copy of a mosaic; use thumb or screen.`);
    }
    const meta = results.renditionEtag(id, kind);
    // A card or a mosaic page showing it is a view too (RESULTS_MB keeps what people look at).
    if (meta) {
      results.markViewed(id, clock.now());
      return immutableImage(ctx, meta, () => results.rendition(id, kind), id);
    }
    // A result from before renditions: a worker makes them (the server never draws); meanwhile the
    // full image answers, uncached, so the copy replaces it on a later visit.
    const owner = results.owner(id);
    if (!owner) throw noResult(id);
    try {
      tasks.enqueueKeyed(MAKE_RENDITIONS, owner, { of: id }, id);
    } catch (err) {
      // The image is still served; the next request queues the work again.
      deps.log.warn('could not queue renditions', { taskId: id, error: String(err) });
    }
    const stored = results.image(id);
    if (!stored) throw noResult(id);
    ctx.set('Cache-Control', 'no-store');
    ctx.type = stored.contentType;
    ctx.body = stored.image;
  });

  router.get('/api/tasks/:id/mosaic', (ctx) => {
    const id = taskId(ctx);
    const mosaic = results.summary(id);
    if (!mosaic) throw noResult(id);
    results.markViewed(id, clock.now());
    ctx.body = { mosaic } satisfies MosaicResponse;
  });
}
