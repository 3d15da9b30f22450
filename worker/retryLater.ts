/**
 * The generic "try this task again in N ms" signal. An action throws an AppError with `retryAfterMs`
 * (an upstream asked it to wait); the loop parks the task that long, within its budget, or ends it. The
 * words a person reads about the wait belong to the module that knows the upstream, so a
 * RetryLaterError carries them; a plain AppError with `retryAfterMs` gets the neutral sentences below.
 */
import { AppError, type AppErrorOptions, type ErrorCode } from '../common/errors.js';

/** "40 seconds", "60 minutes", "3 hours", "11574 days". */
export function waitPhrase(ms: number): string {
  const s = Math.ceil(ms / 1000);
  if (s < 120) return `${s} seconds`;
  if (s < 2 * 3600) return `${Math.ceil(s / 60)} minutes`;
  if (s < 2 * 86_400) return `${Math.ceil(s / 3600)} hours`;
  return `${Math.ceil(s / 86_400)} days`;
}

/** What a task's progress and final error say about a wait. */
export interface RetryWording {
  /** The progress note of a task parked until `atUtc` ("HH:MM:SS"). */
  delayed(atUtc: string): string;
  /** The final error when the wait asked for (`wait`, in words) is beyond the budget. */
  tooLong(wait: string): string;
  /** The final error when the task was parked `times` times already. */
  persisted(times: number): string;
}

export const NEUTRAL_RETRY_WORDING: RetryWording = {
  delayed: (at) => `Asked to wait; trying again at ${at} UTC.`,
  tooLong: (wait) => `The source of the films asked this server to wait ${wait}; try again after that.`,
  persisted: (times) => `The source of the films kept asking this server to wait (${times} times); try again in a few minutes.`,
};

export class RetryLaterError extends AppError {
  declare readonly retryAfterMs: number;

  constructor(
    code: ErrorCode,
    message: string,
    retryAfterMs: number,
    readonly wording: RetryWording,
    options: Omit<AppErrorOptions, 'retryAfterMs'> = {},
  ) {
    super(code, message, { retryable: true, ...options, retryAfterMs });
    this.name = 'RetryLaterError';
  }
}

/** The wording for a retry signalled by `err` (its own, or the neutral one). */
export function retryWording(err: AppError): RetryWording {
  return err instanceof RetryLaterError ? err.wording : NEUTRAL_RETRY_WORDING;
}
