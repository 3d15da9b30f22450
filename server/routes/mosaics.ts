/** Finished mosaics: one member's, and the server's recent gallery. */
import type Router from 'koa-router';
import { AppError } from '../../common/errors.js';
import { normalizeUsername } from '../../common/task.js';
import type { MosaicListResponse } from '../../common/protocol.js';
import type { AppDeps } from '../app.js';

export const GALLERY_DEFAULT = 24;
export const GALLERY_MAX = 100;

/** `?limit=` as a whole number from 1 to GALLERY_MAX (default GALLERY_DEFAULT). */
function galleryLimit(raw: string | string[] | undefined): number {
  if (raw === undefined) return GALLERY_DEFAULT;
  const n = typeof raw === 'string' && /^\d{1,3}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= GALLERY_MAX)) {
    throw new AppError('INVALID_REQUEST', `limit must be a whole number from 1 to ${GALLERY_MAX}.`, { field: 'limit' });
  }
  return n;
}

export function mosaicRoutes(router: Router, deps: Pick<AppDeps, 'results'>): void {
  const { results } = deps;

  router.get('/api/users/:username/mosaics', (ctx) => {
    const username = normalizeUsername(ctx.params.username);
    ctx.body = { mosaics: results.listByUser(username) } satisfies MosaicListResponse;
  });

  router.get('/api/mosaics', (ctx) => {
    ctx.body = { mosaics: results.listRecent(galleryLimit(ctx.query.limit)) } satisfies MosaicListResponse;
  });
}
