/**
 * `POST /api/users/:username/export` (docs/architecture.md#export-upload): the raw bytes of a Letterboxd data-export ZIP in,
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
import type { ImportStore } from '../../db/port.js';
import { readBody, type MinRate } from '../middleware/body.js';
import { createUploadSlots } from '../middleware/uploadSlots.js';
import { clientKey } from '../clientKey.js';
import { HttpError } from '../middleware/errors.js';
import { DEFAULT_EXPORT_LIMITS, parseExport, type ExportLimits } from '../export/parseExport.js';

export const EXPORT_PATH = '/api/users/:username/export';
/** The largest upload read (docs/architecture.md#export-upload). A real export is well under 1 MB. */
export const EXPORT_MAX_BYTES = 20 * 1024 * 1024;
/** Uploads read and parsed at once, one per client; more wait in a fair line (server/middleware/uploadSlots.ts). */
export const EXPORT_CONCURRENCY = 2;
/** Uploads slower than this (after the first seconds) are cut: a trickle must not hold a slot. */
export const EXPORT_MIN_BYTES_PER_SEC = 20 * 1024;
export const EXPORT_RATE_GRACE_MS = 3000;

/** What a ZIP upload may be labelled as (browsers label .zip files differently; curl sends octet-stream). */
const ZIP_TYPES = ['application/zip', 'application/x-zip-compressed', 'application/x-zip', 'application/octet-stream'];

export interface ExportRouteDeps {
  imports: Pick<ImportStore, 'replace'>;
  clock: Pick<Clock, 'now'>;
  log?: Logger;
  /** Runs before the body is read, after its headers are checked (e.g. the server's per-client rate limiter). */
  limit?: Middleware;
  maxBytes?: number;
  concurrency?: number;
  /** The minimum sending rate and how long the start is spared (tests shorten it). */
  minBytesPerSec?: number;
  rateGraceMs?: number;
  /** How long an upload waits for a slot. */
  maxWaitMs?: number;
  limits?: ExportLimits;
}

function tooLarge(max: number): HttpError {
  // The rest of an oversized upload is not worth reading: close the connection after answering.
  return new HttpError(
    413,
    'INVALID_EXPORT',
    `The upload is larger than ${Math.round(max / (1024 * 1024))} MB; a Letterboxd export is far smaller. Upload the ZIP Letterboxd gave, not a folder of other files.`,
    {
      headers: { Connection: 'close' },
    },
  );
}

/** The raw request body, at most `max` bytes (the shared bounded reader, with the export's errors). */
function readRaw(ctx: Context, max: number, minRate: MinRate): Promise<Buffer> {
  return readBody(
    ctx,
    max,
    {
      tooLarge: () => tooLarge(max),
      cutShort: () => new HttpError(400, 'INVALID_EXPORT', 'The upload was cut short; try again.'),
    },
    minRate,
  );
}

/** The upload's headers, checked before the limiter takes a token (a refused request costs nothing). */
const checkHeaders: Middleware = (ctx, next) => {
  const type = (ctx.get('content-type').split(';')[0] ?? '').trim().toLowerCase();
  if (!ZIP_TYPES.includes(type)) {
    const how = type.startsWith('multipart/') ? 'as the request body itself, not as a form upload' : 'as the request body';
    throw new HttpError(415, 'INVALID_EXPORT', `Send the export ZIP’s bytes ${how}, with Content-Type: application/zip.`);
  }
  const encoding = ctx.get('content-encoding').toLowerCase();
  if (encoding && encoding !== 'identity') {
    throw new HttpError(415, 'INVALID_EXPORT', 'Compressed request bodies are not accepted; send the ZIP as it is.');
  }
  return next();
};

/** The export upload route, as a router of its own (mount its `routes()` before the API router). */
export function createExportRoutes(deps: ExportRouteDeps): Router {
  const maxBytes = deps.maxBytes ?? EXPORT_MAX_BYTES;
  const concurrency = deps.concurrency ?? EXPORT_CONCURRENCY;
  const limits = deps.limits ?? DEFAULT_EXPORT_LIMITS;
  const passLimit: Middleware = (_ctx, next) => next();
  const slots = createUploadSlots({ slots: concurrency, maxWaitMs: deps.maxWaitMs });
  const bytesPerSec = deps.minBytesPerSec ?? EXPORT_MIN_BYTES_PER_SEC;
  const minRate: MinRate = {
    bytesPerSec,
    graceMs: deps.rateGraceMs ?? EXPORT_RATE_GRACE_MS,
    tooSlow: () =>
      new HttpError(
        408,
        'INVALID_EXPORT',
        `The upload arrived slower than ${Math.round(bytesPerSec / 1024)} KB/s and was stopped; try again on a better connection.`,
        {
          headers: { Connection: 'close' },
        },
      ),
  };

  const router = new Router();
  router.post(
    EXPORT_PATH,
    (ctx, next) => {
      ctx.set('Cache-Control', 'no-store');
      normalizeUsername(ctx.params.username);
      return next();
    },
    checkHeaders,
    deps.limit ?? passLimit,
    async (ctx) => {
      const username = normalizeUsername(ctx.params.username);
      // A client that hangs up while waiting leaves the line.
      let onClose!: () => void;
      const gone = new Promise<void>((resolve) => (onClose = resolve));
      ctx.req.socket.once('close', onClose);
      let release: () => void;
      try {
        release = await slots.acquire(clientKey(ctx), gone);
      } finally {
        ctx.req.socket.off('close', onClose);
      }
      try {
        const started = deps.clock.now();
        const body = await readRaw(ctx, maxBytes, minRate);
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
        release();
      }
    },
  );
  return router;
}
