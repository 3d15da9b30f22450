/**
 * What a stable link (`/m/{member}/{period}.{ext}`) needs to know about one request's dedupe key:
 * its newest mosaic, its newest error, and whether a task for it is under way. Read-only.
 */
import type { ErrorCode } from '../../common/errors.js';
import type { Db } from './open.js';

export interface LinkState {
  /** The newest finished mosaic (its task id, when it finished), if any. */
  complete: { id: string; finishedAt: number } | null;
  /** The newest task that ended in ERROR, if any. */
  error: { code: ErrorCode; finishedAt: number } | null;
  /** The live (queued or running) task, if any. */
  liveId: string | null;
}

export type LinkStore = ReturnType<typeof createLinkStore>;

export function createLinkStore(db: Db) {
  const s = {
    complete: db.prepare<[string], { id: string; finished_at: number }>(`
      SELECT t.id, t.finished_at FROM tasks t JOIN results r ON r.id = t.id
      WHERE t.dedupe_key = ? AND t.status = 'COMPLETE' ORDER BY t.finished_at DESC LIMIT 1`),
    error: db.prepare<[string], { error_code: ErrorCode | null; finished_at: number }>(`
      SELECT error_code, finished_at FROM tasks
      WHERE dedupe_key = ? AND status = 'ERROR' ORDER BY finished_at DESC LIMIT 1`),
    live: db.prepare<[string], string>(`SELECT id FROM tasks WHERE dedupe_key = ? AND live = 1`).pluck(),
  };
  return {
    state(dedupeKey: string): LinkState {
      const c = s.complete.get(dedupeKey);
      const e = s.error.get(dedupeKey);
      return {
        complete: c ? { id: c.id, finishedAt: c.finished_at } : null,
        error: e ? { code: e.error_code ?? 'INTERNAL', finishedAt: e.finished_at } : null,
        liveId: s.live.get(dedupeKey) ?? null,
      };
    },
  };
}
