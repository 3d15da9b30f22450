/** Task, request and mosaic types shared by server, worker and client (docs/architecture.md#tables, docs/architecture.md#http-api). Browser-safe. */
import { AppError, type ErrorCode } from './errors.js';

export const TASK_STATUSES = ['QUEUED', 'RUNNING', 'COMPLETE', 'ERROR', 'CANCELLED'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const FINISHED_STATUSES: readonly TaskStatus[] = ['COMPLETE', 'ERROR', 'CANCELLED'];

export const STAGES = ['queued', 'collecting', 'downloading', 'building', 'saving', 'done'] as const;
export type Stage = (typeof STAGES)[number];

export const MODES = ['month', 'recent', 'year', 'all'] as const;
export type Mode = (typeof MODES)[number];
export const LAYOUTS = ['classic', 'grid', 'review'] as const;
export type Layout = (typeof LAYOUTS)[number];
/** Modes whose mosaic may be a year in review (`review` needs a year's or a whole history's figures). */
export const REVIEW_MODES: readonly Mode[] = ['year', 'all'];
export const FORMATS = ['jpeg', 'png', 'webp'] as const;
export type Format = (typeof FORMATS)[number];

/**
 * Smaller copies of a result made by the worker: `thumb` for gallery cards, `screen` for the mosaic
 * page. The full image stays at `resultUrl` for zoom, download and share.
 */
export const RENDITION_KINDS = ['thumb', 'screen'] as const;
export type RenditionKind = (typeof RENDITION_KINDS)[number];

/** The URL of a result's rendition (the full image's URL + `/thumb` or `/screen`). */
export function renditionUrl(resultUrl: string, kind: RenditionKind): string {
  return `${resultUrl}/${kind}`;
}

export const CONTENT_TYPES: Record<Format, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
};

/** Normalised mosaic parameters: only the fields that matter to the mode and layout (docs/architecture.md#dedupe). */
export type MosaicParams =
  | { mode: 'month'; month: string; layout: Layout; columns?: number; format: Format }
  | { mode: 'recent'; count: number; layout: Layout; columns?: number; format: Format }
  | { mode: 'year'; year: number; layout: Layout; columns?: number; format: Format }
  | { mode: 'all'; layout: Layout; columns?: number; format: Format };

export interface MosaicRequest {
  username: string;
  params: MosaicParams;
  refresh: boolean;
}

/** One film as shown in a mosaic (docs/architecture.md#tables: `results.films`). */
export interface Film {
  title: string;
  year: number | null;
  /** 0.5–5 in halves, or null when unrated. */
  rating: number | null;
  slug: string | null;
  /** YYYY-MM-DD, or null when the source has no date (films pages). */
  watchedDate: string | null;
}

/** A film named by a review figure (first and last film of the period). */
export interface ReviewFilm {
  title: string;
  year: number | null;
  /** YYYY-MM-DD of the viewing. */
  watchedDate: string;
}

/**
 * The figures of a year in review (layout `review`), computed from the films the mosaic shows. A
 * figure that no source gave (likes from an export, dates on films pages) is null, and is not drawn.
 */
export interface ReviewFigures {
  /** Films in the mosaic (each once, however often watched). */
  films: number;
  /** Diary entries in the period, rewatches included; null when the source has no dates. */
  entries: number | null;
  /** Films with a rating. */
  rated: number;
  /** Mean of the films' ratings, to two decimals; null when none is rated. */
  averageRating: number | null;
  /** How many films have each rating, ½ star to 5 stars: ten counts. */
  ratings: number[];
  /**
   * Diary entries per month of the year (`year`: twelve, January first) or per year from the first
   * to the last entry (`all`); null when the source has no dates.
   */
  timeline: { unit: 'month' | 'year'; periods: { label: string; count: number }[] } | null;
  /** Diary entries marked as rewatches; null when the source has no dates. */
  rewatches: number | null;
  /** Films the member likes; null when a source does not say (an export). */
  likes: number | null;
  /** The period's first and last diary entries; null when the source has no dates. */
  first: ReviewFilm | null;
  last: ReviewFilm | null;
}

/**
 * What a change-feed event says happened to its task. Written by the queue (db/) in the transaction of
 * the change, read by the server's socket hub (which pushes the task, and recomputes queue positions
 * unless the event leaves the queue's order alone).
 */
export const EVENT_TYPES = [
  'created',
  'claimed',
  'progress',
  'completed',
  'retry',
  'failed',
  'delayed',
  'released',
  'cancel_requested',
  'cancelled',
  'reclaimed',
  'lost',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface Task {
  id: string;
  action: string;
  username: string;
  params: MosaicParams;
  status: TaskStatus;
  stage: Stage;
  progressMsg: string;
  progress: { done: number; total: number } | null;
  queuePosition: number | null;
  errorCode: ErrorCode | null;
  errorMsg: string | null;
  createdAt: string;
  updatedAt: string;
  resultUrl: string | null;
}

export interface MosaicSummary {
  taskId: string;
  username: string;
  params: MosaicParams;
  label: string;
  filmCount: number;
  width: number;
  height: number;
  contentType: string;
  resultUrl: string;
  /** The card thumbnail and the mosaic page's screen rendition (each falls back to the full image until made). */
  thumbUrl?: string;
  screenUrl?: string;
  createdAt: string;
  partial: boolean;
  note: string | null;
  films: Film[];
  /** The year in review's figures (layout `review`), else null (absent in mosaics kept from before). */
  review?: ReviewFigures | null;
}

/**
 * A mosaic as the lists carry it (`/api/mosaics`, `/api/users/:u/mosaics`): the summary without its
 * film list, which can hold 3,000 films; `GET /api/tasks/:id/mosaic` has the whole summary.
 */
export type MosaicListItem = Omit<MosaicSummary, 'films' | 'review'>;

export const USERNAME_RE = /^[A-Za-z0-9_]{2,15}$/;
const MONTH_RE = /^(\d{4})-(0[1-9]|1[0-2])$/;
const REQUEST_FIELDS = new Set(['username', 'mode', 'month', 'count', 'year', 'layout', 'columns', 'format', 'refresh']);
export const MAX_COLUMNS = 100;
/** Films one mosaic draws at most (docs/architecture.md#where-the-films-come-from): over it, the newest are drawn and the note says so. */
export const MAX_MOSAIC_FILMS = 3000;
export const MIN_YEAR = 2000;

function invalid(field: string, message: string): AppError {
  return new AppError('INVALID_REQUEST', message, { field });
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** The current month as YYYY-MM in the process's local time (TZ decides, docs/architecture.md#configuration). */
export function currentMonth(now: Date): string {
  return `${now.getFullYear()}-${pad2(now.getMonth() + 1)}`;
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

/** Validates a username and returns it lowercased, or throws INVALID_REQUEST naming the field. */
export function normalizeUsername(value: unknown, field = 'username'): string {
  if (typeof value !== 'string') throw invalid(field, `${field} must be a string.`);
  if (!USERNAME_RE.test(value)) {
    throw invalid(field, `${field} must be 2–15 letters, digits or underscores, as in a Letterboxd profile URL.`);
  }
  return value.toLowerCase();
}

/**
 * Validates a `POST /api/mosaics` body and normalises it (docs/architecture.md#http-api, docs/architecture.md#dedupe): unknown fields, wrong
 * types and out-of-range values throw `INVALID_REQUEST` naming the field; fields that do not matter to
 * the mode are dropped. `now` decides the default month and year and what counts as the future.
 */
export function normalizeRequest(body: unknown, now: Date): MosaicRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid('body', 'The request body must be a JSON object.');
  }
  const input = body as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!REQUEST_FIELDS.has(key)) throw invalid(key, `Unknown field "${key.slice(0, 40)}".`);
  }
  const username = normalizeUsername(input.username);

  const mode = input.mode ?? 'month';
  if (typeof mode !== 'string' || !(MODES as readonly string[]).includes(mode)) {
    throw invalid('mode', `mode must be one of ${MODES.join(', ')}.`);
  }
  const layout = input.layout ?? 'classic';
  if (typeof layout !== 'string' || !(LAYOUTS as readonly string[]).includes(layout)) {
    throw invalid('layout', `layout must be one of ${LAYOUTS.join(', ')}.`);
  }
  const format = input.format ?? 'jpeg';
  if (typeof format !== 'string' || !(FORMATS as readonly string[]).includes(format)) {
    throw invalid('format', `format must be one of ${FORMATS.join(', ')}.`);
  }
  if (layout === 'review' && !(REVIEW_MODES as readonly string[]).includes(mode)) {
    throw invalid('layout', `layout review is a year in review: choose mode ${REVIEW_MODES.join(' or ')}, or layout classic or grid.`);
  }
  const refresh = input.refresh ?? false;
  if (typeof refresh !== 'boolean') throw invalid('refresh', 'refresh must be true or false.');

  let columns: number | undefined;
  if (input.columns !== undefined) {
    if (!isInt(input.columns) || input.columns < 1 || input.columns > MAX_COLUMNS) {
      throw invalid('columns', `columns must be a whole number from 1 to ${MAX_COLUMNS}.`);
    }
    // Columns shape the posters of grid and review; for classic they are ignored (not part of the dedupe key).
    if (layout === 'grid' || layout === 'review') columns = input.columns;
  }
  const common = { layout: layout as Layout, format: format as Format, ...(columns ? { columns } : {}) };

  // Validate every supplied field even when the mode ignores it, so a typo is never silently dropped.
  const thisMonth = currentMonth(now);
  let month = thisMonth;
  if (input.month !== undefined) {
    if (typeof input.month !== 'string' || !MONTH_RE.test(input.month)) {
      throw invalid('month', 'month must look like 2026-11 (year-month).');
    }
    const y = Number(input.month.slice(0, 4));
    if (y < MIN_YEAR) throw invalid('month', `month must be ${MIN_YEAR}-01 or later.`);
    if (input.month > thisMonth) throw invalid('month', `month ${input.month} is in the future.`);
    month = input.month;
  }
  let count = 30;
  if (input.count !== undefined) {
    if (!isInt(input.count) || input.count < 1 || input.count > 50) {
      throw invalid('count', 'count must be a whole number from 1 to 50.');
    }
    count = input.count;
  }
  let year = now.getFullYear();
  if (input.year !== undefined) {
    if (!isInt(input.year) || input.year < MIN_YEAR) throw invalid('year', `year must be a whole number from ${MIN_YEAR}.`);
    if (input.year > now.getFullYear()) throw invalid('year', `year ${input.year} is in the future.`);
    year = input.year;
  }

  let params: MosaicParams;
  switch (mode as Mode) {
    case 'month':
      params = { mode: 'month', month, ...common };
      break;
    case 'recent':
      params = { mode: 'recent', count, ...common };
      break;
    case 'year':
      params = { mode: 'year', year, ...common };
      break;
    case 'all':
      params = { mode: 'all', ...common };
      break;
  }
  return { username, params, refresh };
}

/** Canonical JSON of params with keys in a fixed order, so equal requests give equal keys. */
export function canonicalParams(params: MosaicParams): string {
  const keys = ['mode', 'month', 'count', 'year', 'layout', 'columns', 'format'] as const;
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const v = (params as unknown as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = v;
  }
  return JSON.stringify(out);
}

/** The dedupe key of a request: same action, member and normalised params → same key. */
export function dedupeKey(action: string, username: string, params: MosaicParams): string {
  return `${action}:${username}:${canonicalParams(params)}`;
}

/** English month names, January first (period labels here, the page's month names in client/format.ts). */
export const MONTH_NAMES = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/** The period label used in headers and lists: "November 2026", "last 30 films", "2025", "all films". */
export function periodLabel(params: MosaicParams): string {
  switch (params.mode) {
    case 'month': {
      const [y, m] = params.month.split('-');
      return `${MONTH_NAMES[Number(m) - 1]} ${y}`;
    }
    case 'recent':
      return `last ${params.count} film${params.count === 1 ? '' : 's'}`;
    case 'year':
      return String(params.year);
    case 'all':
      return 'all films';
  }
}

export function isFinished(status: TaskStatus): boolean {
  return FINISHED_STATUSES.includes(status);
}
