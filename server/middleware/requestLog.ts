/** One structured log line per request: method, path, final status, time spent in the middleware, client IP. */
import { requestFrom } from '../clientKey.js';
import type { Middleware } from 'koa';
import type { Logger } from '../../common/log.js';

export function requestLog(log: Logger, now: () => number = () => performance.now()): Middleware {
  return async function logRequest(ctx, next) {
    const start = now();
    try {
      await next();
    } finally {
      const status = ctx.status;
      const fields = {
        method: ctx.method,
        path: ctx.path.slice(0, 200),
        status,
        ms: Math.round((now() - start) * 10) / 10,
        ip: requestFrom(ctx.req).address, // behind a trusted proxy, the visitor's
        bytes: ctx.response.length ?? null,
      };
      if (status >= 500) log.warn('request', fields);
      else log.info('request', fields);
    }
  };
}
