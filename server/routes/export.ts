/**
 * `POST /api/users/:username/export` (design §3): the raw bytes of a Letterboxd data-export ZIP in,
 * the member's import replaced, `{"import": {...}}` out. Its own bounded body reader (20 MB, raw bytes,
 * not multipart), never the app's small JSON limit; at most a few uploads are read at once, and the
 * parse yields to the event loop (server/export/), so pages and sockets stay responsive.
 */
import Router from 'koa-router';
import type { Context, Middleware } from 'koa';
import { AppError } from '../../common/errors.js';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/log.js';
import { normalizeUsername } from '../../common/task.js';
import type { ImportResponse } from '../../common/protocol.js';
import type { ImportStore } from '../../db/imports.js';
import { readBody } from '../middleware/body.js';
import { HttpError } from '../middleware/errors.js';
import { DEFAULT_EXPORT_LIMITS, parseExport, type ExportLimits } from '../export/parseExport.js';

export const EXPORT_PATH = '/api/users/:username/export';
/** The largest upload read (design §3). A real export is well under 1 MB. */
export const EXPORT_MAX_BYTES = 20 * 1024 * 1024;
/** Uploads parsed at once; more get 429 (each may hold 20 MB plus its CSVs in memory). */
export const EXPORT_CONCURRENCY = 2;

/** What a ZIP upload may be labelled as (browsers label .zip files differently; curl sends octet-stream). */
const ZIP_TYPES = ['application/zip', 'application/x-zip-compressed', 'application/x-zip', 'application/octet-stream'];

export interface ExportRouteDeps {
  imports: Pick<ImportStore, 'replace'>;
  clock: Pick<Clock, 'now'>;
  log?: Logger;
  /** Runs before the body is read (e.g. the server's per-IP rate limiter). */
  limit?: Middleware;
  maxBytes?: number;
  concurrency?: number;
  limits?: ExportLimits;
}

function tooLarge(max: number): HttpError {
  // The rest of an oversized upload is not worth reading: close the connection after answering.
  return new HttpError(413, 'INVALID_EXPORT', `The upload is larger than ${Math.round(max / (1024 * 1024))} MB; a Letterboxd export is far smaller. Upload the ZIP Letterboxd gave, not a folder of other files.`, {
    headers: { Connection: 'close' },
  });
}

/** The raw request body, at most `max` bytes (the shared bounded reader, with the export's errors). */
function readRaw(ctx: Context, max: number): Promise<Buffer> {
  return readBody(ctx, max, {
    tooLarge: () => tooLarge(max),
    cutShort: () => new HttpError(400, 'INVALID_EXPORT', 'The upload was cut short; try again.'),
  });
}

function checkHeaders(ctx: Context): void {
  const type = (ctx.get('content-type').split(';')[0] ?? '').trim().toLowerCase();
  if (!ZIP_TYPES.includes(type)) {
    const how = type.startsWith('multipart/') ? 'as the request body itself, not as a form upload' : 'as the request body';
    throw new HttpError(415, 'INVALID_EXPORT', `Send the export ZIP’s bytes ${how}, with Content-Type: application/zip.`);
  }
  const encoding = ctx.get('content-encoding').toLowerCase();
  if (encoding && encoding !== 'identity') {
    throw new HttpError(415, 'INVALID_EXPORT', 'Compressed request bodies are not accepted; send the ZIP as it is.');
  }
}

/** The export upload route, as a router of its own (mount its `routes()` before the API router). */
export function createExportRoutes(deps: ExportRouteDeps): Router {
  const maxBytes = deps.maxBytes ?? EXPORT_MAX_BYTES;
  const concurrency = deps.concurrency ?? EXPORT_CONCURRENCY;
  const limits = deps.limits ?? DEFAULT_EXPORT_LIMITS;
  const passLimit: Middleware = (_ctx, next) => next();
  let reading = 0;

  const router = new Router();
  router.post(EXPORT_PATH, deps.limit ?? passLimit, async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const username = normalizeUsername(ctx.params.username);
    checkHeaders(ctx);
    if (reading >= concurrency) {
      throw new HttpError(429, 'RATE_LIMITED', 'Other exports are being read right now; try again in a few seconds.', {
        headers: { 'Retry-After': '5', Connection: 'close' },
      });
    }
    reading++;
    try {
      const started = deps.clock.now();
      const body = await readRaw(ctx, maxBytes);
      const data = await parseExport(body, limits);
      const summary = await deps.imports.replace(username, data, deps.clock.now());
      deps.log?.info('export imported', {
        username,
        bytes: body.length,
        films: summary.films,
        diaryEntries: summary.diaryEntries,
        ratings: data.ratings.length,
        ms: deps.clock.now() - started,
      });
      ctx.status = 200;
      ctx.body = { import: summary } satisfies ImportResponse;
    } catch (err) {
      if (err instanceof AppError && err.code === 'INVALID_EXPORT') deps.log?.info('export refused', { username, reason: err.message });
      throw err;
    } finally {
      reading--;
    }
  });
  return router;
}
