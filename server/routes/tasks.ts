/**
 * Following one mosaic task: `GET` and `DELETE /api/tasks/:id` (docs/architecture.md#http-api), the finished
 * image and its copies, and the mosaic's summary. Creating a task is `POST /api/mosaics` (routes/mosaics.ts).
 */
import Router from 'koa-router';
import { AppError } from '../../common/errors.js';
import { RENDITION_KINDS, type RenditionKind } from '../../common/task.js';
import { isTaskId } from '../../common/taskId.js';
import type { MosaicResponse, TaskResponse } from '../../common/protocol.js';
import type { Logger } from '../../common/log.js';
import type { Clock } from '../../common/clock.js';
import { ACTIONS } from '../../common/actions.js';
import type { ResultStore, TaskQueue } from '../../db/port.js';
import { HttpError } from '../middleware/errors.js';
import { writeOnce, type RetryBusy } from '../busy.js';
import { withQueuePosition } from '../queuePositions.js';

export interface TaskRouteDeps {
  tasks: Pick<TaskQueue, 'get' | 'withdraw' | 'queuedIds' | 'enqueueKeyed'>;
  results: Pick<
    ResultStore,
    'etag' | 'image' | 'summary' | 'markViewed' | 'renditionEtag' | 'rendition' | 'owner' | 'renditionsFailedSince'
  >;
  clock: Pick<Clock, 'now'>;
  log: Logger;
  /** Runs a task write, waiting out a lock held elsewhere (server/busy.ts). */
  retryBusy?: RetryBusy;
}

/**
 * After a make_renditions task for a result ends in ERROR, requests for its copies serve the full
 * image without queueing another for this long: a result sharp cannot read would otherwise cost a
 * worker run on every card and page view. Long enough to be cheap, short enough that a fixed worker
 * gets to it the same day.
 */
export const RENDITIONS_RETRY_MS = 6 * 60 * 60 * 1000;

/** The header a `DELETE /api/tasks/:id` carries its cancel token in (a custom header: another site cannot send it). */
export const CANCEL_TOKEN_HEADER = 'Cancel-Token';

function taskNotFound(): AppError {
  return new AppError('TASK_NOT_FOUND', 'There is no mosaic task with this id. It may have been cleaned up; start a new mosaic.');
}

/** The `:id` parameter; a malformed one is a 404 without a query. */
function taskId(ctx: { params: Record<string, string> }): string {
  const id = ctx.params.id;
  if (!isTaskId(id)) throw taskNotFound();
  return id;
}

export function createTaskRoutes(deps: TaskRouteDeps): Router {
  const { tasks, results, clock } = deps;
  const write = deps.retryBusy ?? writeOnce;
  const router = new Router();

  router.get('/api/tasks/:id', async (ctx) => {
    const task = await tasks.get(taskId(ctx));
    if (!task) throw taskNotFound();
    ctx.body = { task: await withQueuePosition(tasks, task) } satisfies TaskResponse;
  });

  // Only the requests that share a task may cancel it, each with its own token, and the task stops
  // only once all of them have withdrawn (re-posting a request someone else started joins it).
  router.delete('/api/tasks/:id', async (ctx) => {
    const id = taskId(ctx);
    const token = ctx.get(CANCEL_TOKEN_HEADER);
    if (!token || token.length > 200) {
      if (!(await tasks.get(id))) throw taskNotFound();
      throw new HttpError(
        403,
        'FORBIDDEN',
        `Only the device that started this mosaic can cancel it: send the cancelToken its request returned in a ${CANCEL_TOKEN_HEADER} header.`,
      );
    }
    const outcome = await write(() => tasks.withdraw(id, token));
    if (!outcome) throw taskNotFound();
    if (outcome.kind === 'forbidden') {
      throw new HttpError(
        403,
        'FORBIDDEN',
        'This cancel token does not belong to this mosaic; only the requests that started or joined it can cancel it.',
      );
    }
    if (outcome.kind === 'finished') {
      const status = outcome.task.status.toLowerCase();
      throw new AppError('TASK_FINISHED', `This mosaic task has already finished (${status}); there is nothing to cancel.`);
    }
    ctx.body = { task: await withQueuePosition(tasks, outcome.task), left: outcome.kind === 'left' } satisfies TaskResponse;
  });

  /** 404 for an unknown task, 409 for one that has no result yet. */
  const noResult = async (id: string): Promise<AppError> => {
    const task = await tasks.get(id);
    if (!task) return taskNotFound();
    if (task.status === 'COMPLETE') return new AppError('TASK_NOT_FOUND', 'This task finished without an image.');
    return new AppError('RESULT_NOT_READY', `The mosaic is not ready yet (the task is ${task.status.toLowerCase()}).`);
  };

  /**
   * An image that never changes under its URL: strong ETag, a year's cache. The ETag is read alone
   * first, so a revalidation (If-None-Match) never reads the image bytes.
   */
  const immutableImage = async (
    ctx: Router.RouterContext,
    meta: { etag: string; contentType: string },
    read: () => Promise<{ image: Buffer } | undefined>,
    id: string,
  ): Promise<void> => {
    ctx.set('Cache-Control', 'public, max-age=31536000, immutable');
    ctx.set('ETag', meta.etag);
    ctx.type = meta.contentType;
    ctx.status = 200; // Koa only judges freshness of a 2xx answer.
    if (ctx.fresh) {
      ctx.status = 304;
      return;
    }
    const stored = await read();
    if (!stored) throw await noResult(id);
    ctx.body = stored.image;
  };

  router.get('/api/tasks/:id/result', async (ctx) => {
    const id = taskId(ctx);
    const meta = await results.etag(id);
    if (!meta) throw await noResult(id);
    // A view, revalidations included: the byte budget evicts the least recently viewed first.
    await results.markViewed(id, clock.now());
    await immutableImage(ctx, meta, () => results.image(id), id);
  });

  router.get('/api/tasks/:id/result/:kind', async (ctx) => {
    const id = taskId(ctx);
    const kind = ctx.params.kind as RenditionKind;
    if (!RENDITION_KINDS.includes(kind)) {
      throw new AppError('TASK_NOT_FOUND', `There is no "${String(kind).slice(0, 20)}" copy of a mosaic; use thumb or screen.`);
    }
    const meta = await results.renditionEtag(id, kind);
    // A card or a mosaic page showing it is a view too (RESULTS_MB keeps what people look at).
    if (meta) {
      await results.markViewed(id, clock.now());
      return immutableImage(ctx, meta, () => results.rendition(id, kind), id);
    }
    // A result from before renditions: a worker makes them (the server never draws); meanwhile the
    // full image answers, uncached, so the copy replaces it on a later visit.
    const owner = await results.owner(id);
    if (!owner) throw await noResult(id);
    try {
      if (!(await results.renditionsFailedSince(id, clock.now() - RENDITIONS_RETRY_MS)))
        await tasks.enqueueKeyed(ACTIONS.makeRenditions, owner, { of: id }, id);
    } catch (err) {
      // The image is still served; the next request queues the work again.
      deps.log.warn('could not queue renditions', { taskId: id, error: String(err) });
    }
    const stored = await results.image(id);
    if (!stored) throw await noResult(id);
    ctx.set('Cache-Control', 'no-store');
    ctx.type = stored.contentType;
    ctx.body = stored.image;
  });

  router.get('/api/tasks/:id/mosaic', async (ctx) => {
    const id = taskId(ctx);
    const mosaic = await results.summary(id);
    if (!mosaic) throw await noResult(id);
    await results.markViewed(id, clock.now());
    ctx.body = { mosaic } satisfies MosaicResponse;
  });
  return router;
}
