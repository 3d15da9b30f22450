/**
 * Mosaics: `POST /api/mosaics` (ask for one: a new task, or a share of the same one already under way),
 * one member's finished mosaics, and the server's recent gallery (docs/architecture.md#http-api).
 */
import { randomBytes } from 'node:crypto';
import Router from 'koa-router';
import type { Context, Middleware } from 'koa';
import { ACTIONS } from '../../common/actions.js';
import { AppError } from '../../common/errors.js';
import type { Clock } from '../../common/clock.js';
import { normalizeRequest, normalizeUsername } from '../../common/task.js';
import { IDEMPOTENCY_KEY_HEADER, IDEMPOTENCY_KEY_PATTERN, type MosaicListResponse, type TaskResponse } from '../../common/protocol.js';
import { QueueLimitError, type ImportStore, type QueueLimits, type ResultStore, type TaskQueue } from '../../db/port.js';
import { readJson, requireJson } from '../middleware/body.js';
import { HttpError } from '../middleware/errors.js';
import { clientKey } from '../clientKey.js';
import { writeOnce, type RetryBusy } from '../busy.js';
import { withQueuePosition } from '../queuePositions.js';

/** The action a mosaic request runs in the worker. */
export const CREATE_MOSAIC = ACTIONS.createMosaic;

export const GALLERY_DEFAULT = 24;
export const GALLERY_MAX = 100;

export interface MosaicRouteDeps {
  tasks: Pick<TaskQueue, 'enqueue' | 'queuedIds'>;
  results: Pick<ResultStore, 'listByUser' | 'listRecent'>;
  /** A newer export import makes that member's earlier results stale. */
  imports: Pick<ImportStore, 'importedAt'>;
  clock: Pick<Clock, 'now'>;
  /** Runs before a new task is queued: the per-client limiter new mosaics take a token from. */
  limitNewTasks: Middleware;
  /** Caps on new mosaic tasks: unfinished per client (QUEUE_PER_CLIENT), queued in all (QUEUE_MAX). None: uncapped. */
  queueLimits?: QueueLimits;
  /** Runs a task write, waiting out a lock held elsewhere (server/busy.ts). */
  retryBusy?: RetryBusy;
}

/** `?limit=` as a whole number from 1 to GALLERY_MAX (default GALLERY_DEFAULT). */
function galleryLimit(raw: string | string[] | undefined): number {
  if (raw === undefined) return GALLERY_DEFAULT;
  const n = typeof raw === 'string' && /^\d{1,3}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= GALLERY_MAX)) {
    throw new AppError('INVALID_REQUEST', `limit must be a whole number from 1 to ${GALLERY_MAX}.`, { field: 'limit' });
  }
  return n;
}

/** The answer to a new task refused by a queue cap (QUEUE_PER_CLIENT → 429, QUEUE_MAX → 503). */
function queueRefusal(err: QueueLimitError): HttpError {
  if (err.limit === 'client') {
    return new HttpError(
      429,
      'RATE_LIMITED',
      `This device already has ${err.cap} mosaics waiting or being made; wait for one to finish, or cancel one, before starting another.`,
      { headers: { 'Retry-After': '30' } },
    );
  }
  return new HttpError(503, 'QUEUE_FULL', `The queue is full (${err.cap} mosaics waiting); try again in a minute.`, {
    headers: { 'Retry-After': '60' },
  });
}

/** The request's Idempotency-Key (checked), or undefined when it has none. */
function idempotencyKey(ctx: Context): string | undefined {
  const key = ctx.get(IDEMPOTENCY_KEY_HEADER);
  if (!key) return undefined;
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw new AppError('INVALID_REQUEST', `${IDEMPOTENCY_KEY_HEADER} must be 22 to 64 characters of letters, digits, "-" and "_".`, {
      field: IDEMPOTENCY_KEY_HEADER,
    });
  }
  return key;
}

export function createMosaicRoutes(deps: MosaicRouteDeps): Router {
  const { tasks, results, clock } = deps;
  const write = deps.retryBusy ?? writeOnce;
  const router = new Router();

  // The content type is checked before the limiter takes a token (a refused request costs nothing).
  router.post('/api/mosaics', requireJson, deps.limitNewTasks, async (ctx) => {
    const requestedAt = clock.now();
    const request = normalizeRequest(await readJson(ctx), new Date(clock.now()));
    // A newer export import makes that member's earlier results stale for dedupe (docs/architecture.md#dedupe).
    const staleBefore = (await deps.imports.importedAt(request.username)) ?? undefined;
    // Every request that creates or joins a live task gets its own token: its DELETE withdraws its share.
    // A request with an Idempotency-Key uses the key, so its retries are the same share, not new ones.
    const cancelToken = idempotencyKey(ctx) ?? randomBytes(24).toString('base64url');
    const requester = { clientKey: clientKey(ctx), cancelToken };
    let outcome;
    try {
      outcome = await write(() =>
        tasks.enqueue({ action: CREATE_MOSAIC, ...request, staleBefore, requestedAt, requester, limits: deps.queueLimits }),
      );
    } catch (err) {
      if (err instanceof QueueLimitError) throw queueRefusal(err);
      throw err;
    }
    const { task, deduped, refreshIn } = outcome;
    if (refreshIn !== undefined) {
      const wait = Math.max(1, Math.ceil(refreshIn / 1000));
      throw new HttpError(
        429,
        'RATE_LIMITED',
        `This mosaic was made less than a minute ago (task ${task.id}), and a mosaic can be refreshed once a minute: open that one, or refresh again in ${wait} s.`,
        {
          headers: { 'Retry-After': String(wait) },
        },
      );
    }
    const live = task.status === 'QUEUED' || task.status === 'RUNNING';
    ctx.status = deduped ? 200 : 202;
    if (!deduped) ctx.set('Location', `/api/tasks/${task.id}`);
    ctx.body = { task: await withQueuePosition(tasks, task), cancelToken: live ? cancelToken : null } satisfies TaskResponse;
  });

  router.get('/api/users/:username/mosaics', async (ctx) => {
    const username = normalizeUsername(ctx.params.username);
    ctx.body = { mosaics: await results.listByUser(username) } satisfies MosaicListResponse;
  });

  router.get('/api/mosaics', async (ctx) => {
    ctx.body = { mosaics: await results.listRecent(galleryLimit(ctx.query.limit)) } satisfies MosaicListResponse;
  });
  return router;
}
