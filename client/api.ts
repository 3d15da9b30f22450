/** The REST API (docs/architecture.md#http-api) as typed functions. Every failure is an ApiError; nothing else is thrown. */
import type { ErrorBody, ErrorCode } from '../common/errors.js';
import {
  IDEMPOTENCY_KEY_HEADER,
  type ImportResponse,
  type MemberResponse,
  type MosaicListResponse,
  type MosaicResponse,
  type TaskResponse,
} from '../common/protocol.js';
import { renditionUrl, type Layout, type MosaicListItem, type MosaicSummary, type Task } from '../common/task.js';
import { cancelTokenStore, type CancelTokens } from './cancelTokens.js';

/** `NETWORK`: the request never got an answer (offline, server down, timeout). */
export type ApiErrorCode = ErrorCode | 'NETWORK';

export class ApiError extends Error {
  readonly code: ApiErrorCode;
  /** HTTP status, 0 when there was no response. */
  readonly status: number;
  readonly field?: string;

  constructor(code: ApiErrorCode, message: string, status: number, field?: string) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
    this.field = field;
  }

  get offline(): boolean {
    return this.code === 'NETWORK';
  }
}

/** The body of `POST /api/mosaics`. */
export interface MosaicRequestBody {
  username: string;
  mode: 'month' | 'recent' | 'year' | 'all';
  month?: string;
  count?: number;
  year?: number;
  layout: Layout;
  columns?: number;
  format?: 'jpeg' | 'png' | 'webp';
  refresh?: boolean;
}

export interface Api {
  createMosaic(body: MosaicRequestBody): Promise<{ task: Task; created: boolean }>;
  getTask(id: string): Promise<Task>;
  /**
   * Cancels with this device's token for the task (403 FORBIDDEN without one). `left`: others still
   * want the task, so it goes on without this device.
   */
  cancelTask(id: string): Promise<{ task: Task; left: boolean }>;
  getMosaic(taskId: string): Promise<MosaicSummary>;
  /** Summaries without film lists: `getMosaic` before showing or keeping one. */
  listUserMosaics(username: string): Promise<MosaicListItem[]>;
  listGallery(limit?: number): Promise<MosaicListItem[]>;
  /** Uploads a Letterboxd data-export ZIP for `username` (the file's raw bytes, not a form). */
  uploadExport(username: string, zip: Blob, options?: { signal?: AbortSignal }): Promise<ImportResponse['import']>;
  /** What this server keeps of the member's diary, and whether it follows them. */
  getMember(username: string): Promise<MemberResponse['member']>;
  /** Stops following the member; the server deletes the history it kept. */
  stopFollowing(username: string): Promise<MemberResponse['member']>;
}

/** What the import of an export reports. */
export type ImportSummary = ImportResponse['import'];

const TIMEOUT_MS = 15_000;
/** An upload of up to 20 MB over slow Wi-Fi, then the server's read of it. */
const UPLOAD_TIMEOUT_MS = 180_000;
/** The server's limit (docs/architecture.md#export-upload): larger files are refused here, before a byte is sent. */
export const EXPORT_MAX_BYTES = 20 * 1024 * 1024;

type Fetch = typeof fetch;

/** 16 random bytes, base64url (22 characters): getRandomValues works on plain HTTP too, unlike randomUUID. */
function idempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

/** Builds the API client on a fetch function (tests pass their own fetch and token store). */
export function createApi(fetchFn: Fetch = (input, init) => fetch(input, init), base = '', tokens: CancelTokens = cancelTokenStore()): Api {
  async function request<T>(
    method: string,
    path: string,
    body?: unknown,
    options: { zip?: Blob; timeoutMs?: number; signal?: AbortSignal; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; data: T }> {
    let res: Response;
    const timeout = typeof AbortSignal.timeout === 'function' ? AbortSignal.timeout(options.timeoutMs ?? TIMEOUT_MS) : undefined;
    const signal =
      options.signal && timeout && typeof AbortSignal.any === 'function'
        ? AbortSignal.any([options.signal, timeout])
        : (options.signal ?? timeout);
    try {
      res = await fetchFn(base + path, {
        method,
        headers: options.zip
          ? { accept: 'application/json', 'content-type': 'application/zip' }
          : body === undefined
            ? { accept: 'application/json', ...options.headers }
            : { accept: 'application/json', 'content-type': 'application/json', ...options.headers },
        body: options.zip ?? (body === undefined ? undefined : JSON.stringify(body)),
        signal,
      });
    } catch (err) {
      if (options.signal?.aborted) throw err;
      const timedOut = err instanceof DOMException && err.name === 'TimeoutError';
      throw new ApiError(
        'NETWORK',
        timedOut ? 'The server took too long to answer.' : 'The server could not be reached. Check the connection.',
        0,
      );
    }
    let data: unknown = null;
    try {
      data = await res.json();
    } catch {
      // A proxy's HTML error page or an empty body: the status decides below.
    }
    if (!res.ok) {
      const e = (data as Partial<ErrorBody> | null)?.error;
      if (e && typeof e.code === 'string' && typeof e.message === 'string') {
        throw new ApiError(e.code, e.message, res.status, e.field);
      }
      throw new ApiError('INTERNAL', `The server answered ${res.status}. Try again in a moment.`, res.status);
    }
    if (data === null) throw new ApiError('INTERNAL', 'The server sent an unreadable answer.', res.status);
    return { status: res.status, data: data as T };
  }

  /**
   * The last mosaic request whose outcome is unknown (no answer, or a 5xx: the server may have queued
   * it): the same request sent again carries the same Idempotency-Key, so if the first attempt did
   * reach the server the retry joins it as the same share, which this device's token can cancel.
   */
  let unanswered: { body: string; key: string } | null = null;

  const id = (s: string) => encodeURIComponent(s);
  return {
    async createMosaic(body) {
      const text = JSON.stringify(body);
      const key = unanswered?.body === text ? unanswered.key : idempotencyKey();
      unanswered = { body: text, key };
      try {
        const { status, data } = await request<TaskResponse>('POST', '/api/mosaics', body, { headers: { [IDEMPOTENCY_KEY_HEADER]: key } });
        unanswered = null;
        if (data.cancelToken) tokens.set(data.task.id, data.cancelToken);
        return { task: data.task, created: status === 202 };
      } catch (err) {
        // A refusal (4xx) is an answer: nothing was queued, so the next attempt is a new request.
        if (err instanceof ApiError && err.status >= 400 && err.status < 500) unanswered = null;
        throw err;
      }
    },
    async getTask(taskId) {
      return (await request<TaskResponse>('GET', `/api/tasks/${id(taskId)}`)).data.task;
    },
    async cancelTask(taskId) {
      const token = tokens.get(taskId);
      const { data } = await request<TaskResponse>('DELETE', `/api/tasks/${id(taskId)}`, undefined, {
        headers: token ? { 'cancel-token': token } : {},
      });
      tokens.remove(taskId);
      return { task: data.task, left: data.left === true };
    },
    async getMosaic(taskId) {
      return (await request<MosaicResponse>('GET', `/api/tasks/${id(taskId)}/mosaic`)).data.mosaic;
    },
    async listUserMosaics(username) {
      return (await request<MosaicListResponse>('GET', `/api/users/${id(username)}/mosaics`)).data.mosaics;
    },
    async listGallery(limit = 24) {
      return (await request<MosaicListResponse>('GET', `/api/mosaics?limit=${limit}`)).data.mosaics;
    },
    async uploadExport(username, zip, options = {}) {
      const path = `/api/users/${id(username)}/export`;
      return (await request<ImportResponse>('POST', path, undefined, { zip, timeoutMs: UPLOAD_TIMEOUT_MS, signal: options.signal })).data
        .import;
    },
    async getMember(username) {
      return (await request<MemberResponse>('GET', `/api/users/${id(username)}`)).data.member;
    },
    async stopFollowing(username) {
      return (await request<MemberResponse>('DELETE', `/api/users/${id(username)}/follow`)).data.member;
    },
  };
}

/**
 * A mosaic's image URLs: `thumb` for cards, `screen` for the mosaic page, `full` for zoom, download
 * and share. A copy saved on this device before renditions existed has only `resultUrl`; the
 * rendition URLs follow from it.
 */
export function mosaicImages(m: Pick<MosaicSummary, 'resultUrl' | 'thumbUrl' | 'screenUrl'>): {
  thumb: string;
  screen: string;
  full: string;
} {
  return {
    thumb: m.thumbUrl ?? renditionUrl(m.resultUrl, 'thumb'),
    screen: m.screenUrl ?? renditionUrl(m.resultUrl, 'screen'),
    full: m.resultUrl,
  };
}

/**
 * The URL a list thumbnail loads a result image from. The service worker caches the plain result URL
 * (the mosaics this device has opened, newest 50); list views add `?via=list` so browsing the gallery
 * never pushes this device's own mosaics out of that cache. The server ignores the query.
 */
export function listImageUrl(resultUrl: string): string {
  return resultUrl + (resultUrl.includes('?') ? '&' : '?') + 'via=list';
}
