/** Every error code the app can report (docs/architecture.md#error-codes). Browser-safe: no node: imports. */
export const ERROR_CODES = [
  'INVALID_REQUEST',
  'INVALID_EXPORT',
  'INVALID_MESSAGE',
  'RATE_LIMITED',
  'QUEUE_FULL',
  'FORBIDDEN',
  'TASK_NOT_FOUND',
  'TASK_FINISHED',
  'TOO_MANY_SUBSCRIPTIONS',
  'RESULT_NOT_READY',
  'USER_NOT_FOUND',
  'NO_FILMS',
  'LETTERBOXD_BLOCKED',
  'LETTERBOXD_RATE_LIMITED',
  'LETTERBOXD_UNREACHABLE',
  'LETTERBOXD_CHANGED',
  'CANCELLED',
  'WORKER_LOST',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** HTTP status each code maps to when it crosses the API boundary. */
export const ERROR_STATUS: Record<ErrorCode, number> = {
  INVALID_REQUEST: 400,
  INVALID_EXPORT: 400,
  INVALID_MESSAGE: 400,
  RATE_LIMITED: 429,
  QUEUE_FULL: 503,
  FORBIDDEN: 403,
  TASK_NOT_FOUND: 404,
  TASK_FINISHED: 409,
  TOO_MANY_SUBSCRIPTIONS: 429,
  RESULT_NOT_READY: 409,
  USER_NOT_FOUND: 404,
  NO_FILMS: 404,
  LETTERBOXD_BLOCKED: 502,
  LETTERBOXD_RATE_LIMITED: 502,
  LETTERBOXD_UNREACHABLE: 502,
  LETTERBOXD_CHANGED: 502,
  CANCELLED: 409,
  WORKER_LOST: 500,
  INTERNAL: 500,
};

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

export interface AppErrorOptions {
  /** Whether a worker may try the task again (network trouble, not bad input). */
  retryable?: boolean;
  /** Whether the message may be shown to users (false hides internals behind a generic sentence). */
  expose?: boolean;
  cause?: unknown;
  /** Extra detail for API errors, e.g. the offending field. */
  field?: string;
  /** The upstream asked us to wait this long (429 Retry-After): the queue may re-run the task later. */
  retryAfterMs?: number;
}

/** The one error type that carries a stable code across every boundary (server, worker, socket). */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly expose: boolean;
  readonly retryable: boolean;
  readonly field?: string;
  readonly retryAfterMs?: number;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.expose = options.expose ?? code !== 'INTERNAL';
    this.retryable = options.retryable ?? false;
    this.field = options.field;
    this.retryAfterMs = options.retryAfterMs;
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/** The JSON body of every API error (docs/architecture.md#http-api). */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; field?: string };
}
