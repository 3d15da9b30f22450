/** REST and WebSocket message shapes (docs/architecture.md#http-api, docs/architecture.md#live-socket). Browser-safe. */
import type { ErrorBody, ErrorCode } from './errors.js';
import type { MosaicListItem, MosaicSummary, Task } from './task.js';

export type ClientMessage =
  { type: 'subscribe'; taskId: string; after?: number } | { type: 'unsubscribe'; taskId: string } | { type: 'ping' };

export type ServerMessage =
  | { type: 'task'; seq: number; task: Task }
  | { type: 'queue'; taskId: string; position: number }
  | { type: 'error'; code: ErrorCode; message: string; taskId?: string }
  | { type: 'pong' };

/**
 * `POST /api/mosaics` may carry this header: a random key the client makes for one request and sends
 * again with its retries (after an answer lost on the way). The key becomes that request's cancel
 * token, so a retry that reaches the server after the first attempt did joins with the same share
 * instead of adding a second one nobody holds the token of. 22 to 64 characters of A–Z, a–z, 0–9, `-`, `_`.
 */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9_-]{22,64}$/;

export interface TaskResponse {
  task: Task;
  /**
   * `POST /api/mosaics` only: this request's own token for `DELETE /api/tasks/:id` (header
   * `Cancel-Token`), or null when the answer is a finished result (nothing to cancel).
   */
  cancelToken?: string | null;
  /** `DELETE` only: true when this request's share was withdrawn but others still want the task, which goes on. */
  left?: boolean;
}
export interface MosaicResponse {
  mosaic: MosaicSummary;
}
/** Lists carry no film lists: a page fetches `/api/tasks/:id/mosaic` before it shows or keeps a mosaic. */
export interface MosaicListResponse {
  mosaics: MosaicListItem[];
}
export interface ImportResponse {
  import: { username: string; films: number; diaryEntries: number; importedAt: string };
}
/** `GET /api/users/:username`: what this server keeps of a member's diary (db/archive.ts MemberArchive). */
export interface MemberResponse {
  member: {
    username: string;
    /** The server polls their feed (a mosaic of them completed in the last 90 days). */
    followed: boolean;
    /** Start of continuous coverage up to the latest read (YYYY-MM-DD); null with wholeDiary or nothing kept. */
    historySince: string | null;
    /** The kept history reaches back to the member's first diary entry. */
    wholeDiary: boolean;
    /** The earliest day kept, when gaps follow it. */
    earliest: string | null;
    /** Watched days (inclusive) whose entries may be missing: polls that found no overlap. */
    gaps: { from: string; to: string }[];
    entries: number;
    lastPolledAt: string | null;
  };
}
export interface HealthResponse {
  ok: boolean;
  db: string;
  queue: { queued: number; running: number };
  workers: { id: string; lastSeenAt: string }[];
}
export type { ErrorBody };

/** Limits of the socket protocol, shared so the client knows them too. */
export const WS_MAX_PAYLOAD = 4096;
export const WS_MAX_SUBSCRIPTIONS = 100;
