/** Creating mosaic tasks and following one: design §3's task endpoints. */
import type Router from 'koa-router';
import type { Middleware } from 'koa';
import { AppError } from '../../common/errors.js';
import { normalizeRequest, type Task } from '../../common/task.js';
import type { MosaicResponse, TaskResponse } from '../../common/protocol.js';
import type { AppDeps } from '../app.js';
import { readJson } from '../middleware/body.js';
import { HttpError } from '../middleware/errors.js';
import { isTaskId } from '../taskId.js';

/** The action a mosaic request runs in the worker. */
export const CREATE_MOSAIC = 'create_mosaic';

type Deps = Pick<AppDeps, 'tasks' | 'results' | 'clock' | 'imports' | 'retryBusy'>;

function taskNotFound(): AppError {
  return new AppError('TASK_NOT_FOUND', 'There is no mosaic task with this id. It may have been cleaned up; start a new mosaic.');
}

/** The task with its queue position filled in (computed now, design §10.7). */
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

  router.post('/api/mosaics', limitNewTasks, async (ctx) => {
    const requestedAt = clock.now();
    const request = normalizeRequest(await readJson(ctx), new Date(clock.now()));
    // A newer export import makes that member's earlier results stale for dedupe (design §10.3).
    const staleBefore = deps.imports.importedAt(request.username) ?? undefined;
    const { task, deduped, refreshIn } = await write(() => tasks.enqueue({ action: CREATE_MOSAIC, ...request, staleBefore, requestedAt }));
    if (refreshIn !== undefined) {
      const wait = Math.max(1, Math.ceil(refreshIn / 1000));
      throw new HttpError(429, 'RATE_LIMITED', `This mosaic was made less than a minute ago (task ${task.id}), and a mosaic can be refreshed once a minute: open that one, or refresh again in ${wait} s.`, {
        headers: { 'Retry-After': String(wait) },
      });
    }
    ctx.status = deduped ? 200 : 202;
    if (!deduped) ctx.set('Location', `/api/tasks/${task.id}`);
    ctx.body = { task: withQueuePosition(tasks, task) } satisfies TaskResponse;
  });

  router.get('/api/tasks/:id', (ctx) => {
    const task = tasks.get(taskId(ctx));
    if (!task) throw taskNotFound();
    ctx.body = { task: withQueuePosition(tasks, task) } satisfies TaskResponse;
  });

  router.delete('/api/tasks/:id', async (ctx) => {
    const id = taskId(ctx);
    const outcome = await write(() => tasks.cancel(id));
    if (!outcome) throw taskNotFound();
    if (outcome.finished) {
      const status = outcome.task.status.toLowerCase();
      throw new AppError('TASK_FINISHED', `This mosaic task has already finished (${status}); there is nothing to cancel.`);
    }
    ctx.body = { task: withQueuePosition(tasks, outcome.task) } satisfies TaskResponse;
  });

  /** 404 for an unknown task, 409 for one that has no result yet. */
  const noResult = (id: string): AppError => {
    const task = tasks.get(id);
    if (!task) return taskNotFound();
    if (task.status === 'COMPLETE') return new AppError('TASK_NOT_FOUND', 'This task finished without an image.');
    return new AppError('RESULT_NOT_READY', `The mosaic is not ready yet (the task is ${task.status.toLowerCase()}).`);
  };

  router.get('/api/tasks/:id/result', (ctx) => {
    const id = taskId(ctx);
    // The ETag alone first: a revalidation (If-None-Match) never reads the image bytes.
    const meta = results.etag(id);
    if (!meta) throw noResult(id);
    // A view, revalidations included: the byte budget evicts the least recently viewed first.
    results.markViewed(id, clock.now());
    // The URL names one task's one result, which never changes.
    ctx.set('Cache-Control', 'public, max-age=31536000, immutable');
    ctx.set('ETag', meta.etag);
    ctx.type = meta.contentType;
    ctx.status = 200; // Koa only judges freshness of a 2xx answer.
    if (ctx.fresh) {
      ctx.status = 304;
      return;
    }
    const stored = results.image(id);
    if (!stored) throw noResult(id);
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
