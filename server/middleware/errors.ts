/**
 * The server's one error translator (style habit 9): AppError → its status and
 * `{"error": {"code", "message", "field"?}}`; a client error raised by Koa or a library (http-errors
 * with `expose`) → INVALID_REQUEST at its own status; anything else → 500 INTERNAL with a generic
 * sentence, the details going to the log only.
 */
import type { Middleware } from 'koa';
import { AppError, isAppError, type AppErrorOptions, type ErrorBody, type ErrorCode } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';

/** An AppError answered with an HTTP status of its own (413, 415, 405…) rather than its code's. */
export class HttpError extends AppError {
  readonly httpStatus: number;
  readonly headers: Record<string, string>;
  constructor(httpStatus: number, code: ErrorCode, message: string, options: AppErrorOptions & { headers?: Record<string, string> } = {}) {
    super(code, message, options);
    this.httpStatus = httpStatus;
    this.headers = options.headers ?? {};
  }
}

/** Busy, not broken: 503 with Retry-After and what to do (see server/busy.ts). */
export function busyError(): HttpError {
  return new HttpError(
    503,
    'INTERNAL',
    'The database is busy (another program is writing to it) or briefly out of reach. Try again in a moment.',
    {
      expose: true,
      headers: { 'Retry-After': '2' },
    },
  );
}

interface HttpLikeError {
  status?: unknown;
  expose?: unknown;
  message?: unknown;
  headers?: unknown;
}

/** `isBusy`: the storage's test for a database locked by another program (Storage.isBusy), answered 503. */
export function errorHandler(log: Logger, isBusy: (err: unknown) => boolean = () => false): Middleware {
  return async function errors(ctx, next) {
    try {
      await next();
    } catch (caught) {
      // A write that found the database locked by another program: busy, not broken (server/busy.ts).
      const err = isBusy(caught) ? busyError() : caught;
      let status: number;
      let body: ErrorBody;
      let headers: Record<string, string> = {};
      if (isAppError(err)) {
        status = err instanceof HttpError ? err.httpStatus : err.status;
        headers = err instanceof HttpError ? err.headers : {};
        const message = err.expose ? err.message : 'Something went wrong on the server. Try again in a moment.';
        body = { error: { code: err.code, message, ...(err.field ? { field: err.field } : {}) } };
        if (status >= 500) log.error('request failed', { path: ctx.path, code: err.code, error: err.message });
      } else {
        const e = (err ?? {}) as HttpLikeError;
        const s = typeof e.status === 'number' ? e.status : 500;
        if (s >= 400 && s < 500 && e.expose === true) {
          status = s;
          body = { error: { code: 'INVALID_REQUEST', message: String(e.message) } };
        } else {
          status = 500;
          body = { error: { code: 'INTERNAL', message: 'Something went wrong on the server. Try again in a moment.' } };
          log.error('request crashed', {
            method: ctx.method,
            path: ctx.path,
            error: err instanceof Error ? err.message : String(err),
            stack: err instanceof Error ? err.stack : undefined,
          });
        }
      }
      if (ctx.headerSent || !ctx.writable) return;
      // Whatever a failed downstream step set (a file's type and length, encodings) must not leak into this answer.
      for (const name of ctx.res.getHeaderNames()) ctx.res.removeHeader(name);
      ctx.set(headers);
      ctx.set('Cache-Control', 'no-store');
      ctx.status = status;
      ctx.body = body;
    }
  };
}
