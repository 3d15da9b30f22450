/** How the transport says a request gave up, before the module that owns the upstream reads it. */
import type { IncomingHttpHeaders } from 'node:http';

/** A whole response, body read under its size cap. */
export interface RawResponse {
  status: number;
  /** The URL that answered (after the redirects the policy allowed). */
  url: URL;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export type TransportFailureKind = 'network' | 'too-large' | 'redirect' | 'rate-limited' | 'status';

/**
 * Why a request gave up: a network error or timeout after retries, a body over the cap, a redirect the
 * policy refused, rate limiting that outlasted the retries. Only our own words and got's message text
 * are in it, never got's error object.
 */
export class TransportError extends Error {
  constructor(
    readonly kind: TransportFailureKind,
    /** Technical detail, for logs. */
    message: string,
    /** `phrase`: what happened, in words for the person reading the task's error ("did not answer in time"). */
    readonly extra: { retryAfterMs?: number; status?: number; phrase?: string } = {},
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

export function phraseFor(name: string, code: string): string {
  if (name === 'TimeoutError' || code === 'ETIMEDOUT') return 'did not answer in time';
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH'].includes(code)) return 'could not be reached';
  if (name === 'ReadError' || ['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE'].includes(code))
    return 'dropped the connection';
  return 'failed to answer';
}

/** A header's first value, or null. */
export function header(headers: IncomingHttpHeaders, name: string): string | null {
  const v = headers[name];
  return Array.isArray(v) ? (v[0] ?? null) : (v ?? null);
}

export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}
