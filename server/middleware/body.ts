/**
 * Bounded request bodies (no body-parser dependency): `readBody` reads at most `limit` bytes (a declared
 * Content-Length over the limit is refused before a byte is read); `readJson` adds the JSON rules.
 */
import type { Context, Middleware } from 'koa';
import { HttpError } from './errors.js';

export const JSON_BODY_LIMIT = 4096;

export interface BodyErrors {
  /** Over the limit. Answer with `Connection: close`: the rest of the upload is not worth reading. */
  tooLarge: () => Error;
  /** The client stopped sending before the end. */
  cutShort: () => Error;
}

/** A floor on the sending rate: a body that arrives slower is cut (a trickle must not hold a slot). */
export interface MinRate {
  bytesPerSec: number;
  /** The first stretch is not judged (connection start-up); after it, the average since the start counts. */
  graceMs: number;
  tooSlow: () => Error;
  now?: () => number;
}

/** The raw request body, at most `limit` bytes (and, with `minRate`, no slower than it). */
export function readBody(ctx: Context, limit: number, errors: BodyErrors, minRate?: MinRate): Promise<Buffer> {
  const declared = ctx.request.length;
  if (declared !== undefined && declared > limit) return Promise.reject(errors.tooLarge());
  return new Promise((resolve, reject) => {
    const req = ctx.req;
    const chunks: Buffer[] = [];
    let size = 0;
    const now = minRate?.now ?? Date.now;
    const started = now();
    const check = minRate
      ? setInterval(
          () => {
            const elapsedMs = now() - started;
            if (elapsedMs < minRate.graceMs || size >= (minRate.bytesPerSec * elapsedMs) / 1000) return;
            cleanup();
            req.pause();
            reject(minRate.tooSlow());
          },
          Math.min(1000, Math.max(50, minRate.graceMs / 2)),
        )
      : null;
    const cleanup = () => {
      if (check) clearInterval(check);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.pause();
        reject(errors.tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onAborted = () => {
      cleanup();
      reject(errors.cutShort());
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

const invalid = (status: number, message: string) => new HttpError(status, 'INVALID_REQUEST', message, { field: 'body' });

const JSON_ERRORS: BodyErrors = {
  tooLarge: () =>
    new HttpError(413, 'INVALID_REQUEST', `The request body is larger than ${JSON_BODY_LIMIT} bytes.`, {
      field: 'body',
      headers: { Connection: 'close' },
    }),
  cutShort: () => invalid(400, 'The request body was cut short.'),
};

/** The headers of a JSON request body: `application/json` in UTF-8, identity encoding (else 415). */
export function checkJsonHeaders(ctx: Context): void {
  if (!ctx.is('application/json')) throw invalid(415, 'Send the request body as JSON, with Content-Type: application/json.');
  const charset = /;\s*charset=("?)([^";]+)\1/i.exec(ctx.get('content-type'))?.[2]?.toLowerCase();
  if (charset && charset !== 'utf-8' && charset !== 'utf8') throw invalid(415, 'The request body must be UTF-8 JSON.');
  const encoding = ctx.get('content-encoding').toLowerCase();
  if (encoding && encoding !== 'identity') throw invalid(415, 'Compressed request bodies are not accepted.');
}

/**
 * Middleware form of checkJsonHeaders, to run before a rate limiter: a request that can only be
 * refused (e.g. another site's `text/plain` form post) must not spend the client's tokens.
 */
export const requireJson: Middleware = (ctx, next) => {
  checkJsonHeaders(ctx);
  return next();
};

/** A JSON request body: `application/json` in UTF-8, identity encoding, at most JSON_BODY_LIMIT bytes. */
export async function readJson(ctx: Context): Promise<unknown> {
  checkJsonHeaders(ctx);
  const text = (await readBody(ctx, JSON_BODY_LIMIT, JSON_ERRORS)).toString('utf8');
  if (text.trim() === '') throw invalid(400, 'The request body is empty; send a JSON object.');
  try {
    return JSON.parse(text);
  } catch {
    throw invalid(400, 'The request body is not valid JSON.');
  }
}
