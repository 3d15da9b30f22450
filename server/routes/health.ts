/** `GET /healthz`: can the database answer, how long is the queue, which workers are alive. */
import Router from 'koa-router';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/log.js';
import type { HealthResponse } from '../../common/protocol.js';
import type { TaskQueue, WorkerRegistry } from '../../db/port.js';

/** A worker not seen for this long is left out (workers heartbeat every few seconds). */
export const WORKER_SEEN_MS = 30_000;

export interface HealthRouteDeps {
  tasks: Pick<TaskQueue, 'counts'>;
  workers: Pick<WorkerRegistry, 'live'>;
  clock: Pick<Clock, 'now'>;
  log: Logger;
}

export function createHealthRoutes(deps: HealthRouteDeps): Router {
  const router = new Router();
  router.get('/healthz', async (ctx) => {
    let body: HealthResponse;
    try {
      body = {
        ok: true,
        db: 'ok',
        queue: await deps.tasks.counts(),
        workers: await deps.workers.live(deps.clock.now() - WORKER_SEEN_MS),
      };
    } catch (err) {
      deps.log.error('health check: database unusable', { error: err instanceof Error ? err.message : String(err) });
      ctx.status = 503;
      ctx.body = { ok: false, db: 'unavailable', queue: { queued: 0, running: 0 }, workers: [] } satisfies HealthResponse;
      return;
    }
    ctx.body = body;
  });
  return router;
}
