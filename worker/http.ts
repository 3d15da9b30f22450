/**
 * The worker's HTTP transport (docs/letterboxd.md#blocking; the only place got is imported, with
 * worker/http/once.ts): per-host concurrency limits and keep-alive agents, spacing between request
 * starts with foreground requests ahead of background ones, retries with backoff on network errors,
 * timeouts, 5xx and short rate limits, redirects only where the caller's policy allows, per-phase
 * timeouts and body size caps. It knows no upstream: what an answer means (a missing member, a
 * refused poster, a bad TMDB key) is read by the module that owns that upstream
 * (worker/sources/letterboxd.ts, worker/posters/download.ts, worker/posters/tmdbApi.ts), which passes
 * its own reading of "slow down" and "do not retry" as policy. Every outcome leaves here as a
 * RawResponse, a TransportError or the caller's abort reason: got's error classes never do.
 */
import got, { type Got } from 'got';
import { systemClock, type Clock } from '../common/clock.js';
import type { Logger } from '../common/log.js';
import { abortReason, header, TransportError, type RawResponse } from './http/failure.js';
import { getOnce } from './http/once.js';
import { asForeground, backgroundTurn, createUpstream, spacingGate, type Upstream } from './http/upstream.js';

export { header, TransportError, type RawResponse } from './http/failure.js';
export type { Upstream } from './http/upstream.js';

/** got's per-phase timeouts, in ms (got has none by default). */
export interface Timeouts {
  lookup: number;
  connect: number;
  secureConnect: number;
  send: number;
  /** Time to the first response byte. */
  response: number;
  /** Longest silence on the socket while reading. */
  socket: number;
  /** The whole request, body included. */
  request: number;
}

export interface TransportConfig {
  timeouts?: Partial<Timeouts>;
  /** Retries after the first attempt on network errors, timeouts, 5xx and short 429s. Default 2. */
  retries?: number;
  /** First backoff step; doubles each retry, with jitter. Default 1000. */
  retryBaseMs?: number;
  /** A 429 asking for a longer wait than this goes back to the queue instead of sleeping. Default 10 000. */
  longWaitMs?: number;
  /** Wait suggested to the queue when 429s persist without a Retry-After. Default 40 000 (observed cool-down). */
  rateLimitCooldownMs?: number;
  /** The default User-Agent (a policy may send its own). */
  userAgent: string;
}

export interface TransportDeps {
  clock?: Clock;
  /** Jitter source, 0 ≤ x < 1. */
  random?: () => number;
  log?: Logger;
}

/** How one request is made: who it goes to, what it may do, and how its answers are read. */
export interface RequestPolicy {
  upstream: Upstream;
  accept: string;
  /** Extra headers (undefined removes a default one). */
  headers?: Record<string, string | undefined>;
  maxBytes: number;
  signal: AbortSignal;
  /** Whether a redirect to `to` may be followed. */
  mayRedirect(from: URL, to: URL): boolean;
  /** Whether an answer asks us to slow down (default: a 429). */
  isRateLimited?(res: RawResponse): boolean;
  /** Whether a retryable status (5xx, 408) is final all the same (a challenge page served as a 503). */
  isFinal?(res: RawResponse): boolean;
  /**
   * `foreground` requests are counted while under way; a `background` one (a feed poll) waits until
   * none is, and takes a spacing slot only when one is free at once. Unset: neither.
   */
  priority?: 'foreground' | 'background';
}

export interface Transport {
  /** The upstream of `url`'s origin, made on first use with these limits. */
  upstream(url: URL, limits: { concurrency: number; spacingMs: number }): Upstream;
  /**
   * A GET with redirects, retries and rate limits. Returns the final response for any status it does
   * not handle itself (2xx, 4xx, final 5xx); throws TransportError after retries, or the abort reason.
   */
  get(url: URL, policy: RequestPolicy): Promise<RawResponse>;
  /** The wait suggested when rate limiting persists without a Retry-After. */
  readonly rateLimitCooldownMs: number;
  /** Drops the keep-alive sockets. */
  close(): void;
}

const DEFAULT_TIMEOUTS: Timeouts = {
  lookup: 5_000,
  connect: 5_000,
  secureConnect: 5_000,
  send: 10_000,
  response: 15_000,
  socket: 20_000,
  request: 45_000,
};
const MAX_REDIRECTS = 5;
const RETRY_STATUSES = new Set([408, 500, 502, 503, 504, 520, 521, 522, 523, 524]);

export function createTransport(config: TransportConfig, deps: TransportDeps = {}): Transport {
  const clock = deps.clock ?? systemClock;
  const random = deps.random ?? Math.random;
  const log = deps.log;
  const timeouts: Timeouts = { ...DEFAULT_TIMEOUTS, ...config.timeouts };
  const retries = config.retries ?? 2;
  const retryBaseMs = config.retryBaseMs ?? 1000;
  const longWaitMs = config.longWaitMs ?? 10_000;
  const cooldownMs = config.rateLimitCooldownMs ?? 40_000;

  // got's own retry is off: the loop below owns retries, so that every attempt passes the per-host
  // limiter and the spacing gate, and backoff sleeps on the injected clock (tests need not wait).
  const client: Got = got.extend({
    throwHttpErrors: false,
    followRedirect: false,
    retry: { limit: 0, maxRetryAfter: longWaitMs },
    timeout: timeouts,
    decompress: true,
    headers: {
      'user-agent': config.userAgent,
      'accept-language': 'en-GB,en;q=0.9',
    },
  });

  const upstreams = new Map<string, Upstream>();
  function upstream(url: URL, limits: { concurrency: number; spacingMs: number }): Upstream {
    const key = `${url.protocol}//${url.host}`;
    let up = upstreams.get(key);
    if (!up) {
      up = createUpstream(limits.concurrency, limits.spacingMs);
      upstreams.set(key, up);
    }
    return up;
  }

  function backoffMs(retry: number): number {
    const step = Math.min(retryBaseMs * 2 ** (retry - 1), retryBaseMs * 16);
    return Math.round(step / 2 + random() * (step / 2));
  }

  function retryAfterMs(res: RawResponse): number | null {
    const raw = header(res.headers, 'retry-after');
    if (!raw) return null;
    if (/^\d+$/.test(raw.trim())) return Number(raw.trim()) * 1000;
    const at = Date.parse(raw);
    return Number.isNaN(at) ? null : Math.max(0, at - clock.now());
  }

  async function request(start: URL, policy: RequestPolicy): Promise<RawResponse> {
    const { signal, upstream: up } = policy;
    const isRateLimited = policy.isRateLimited ?? ((res: RawResponse) => res.status === 429);
    let lastRateLimitWait: number | null = null;
    for (let attempt = 0; ; attempt++) {
      let url = start;
      let res: RawResponse | null = null;
      let failure: TransportError | null = null;
      try {
        for (let hops = 0; ; hops++) {
          const target = url;
          res = await up.limit(async () => {
            if (signal.aborted) throw abortReason(signal);
            await spacingGate(up, clock, signal);
            return getOnce(client, target, policy);
          });
          const location = res.status >= 300 && res.status < 400 ? header(res.headers, 'location') : null;
          if (!location) break;
          const next = new URL(location, url);
          if (hops >= MAX_REDIRECTS || !policy.mayRedirect(url, next)) {
            throw new TransportError('redirect', `${url.pathname} redirects to ${next.origin}, which is not allowed`, {
              phrase: `redirected to ${next.host}`,
            });
          }
          url = next;
        }
      } catch (err) {
        if (signal.aborted) throw abortReason(signal);
        if (!(err instanceof TransportError) || err.kind !== 'network') throw err;
        failure = err;
      }

      let waitMs: number;
      if (failure) {
        if (attempt >= retries) throw failure;
        waitMs = backoffMs(attempt + 1);
      } else if (res && isRateLimited(res)) {
        const asked = retryAfterMs(res);
        lastRateLimitWait = asked;
        if (asked !== null && asked > longWaitMs) {
          throw new TransportError('rate-limited', `asked to wait ${Math.ceil(asked / 1000)} s`, {
            retryAfterMs: asked,
            status: res.status,
          });
        }
        if (attempt >= retries) {
          throw new TransportError('rate-limited', 'still rate limited after retries', {
            retryAfterMs: Math.max(lastRateLimitWait ?? 0, cooldownMs),
            status: res.status,
          });
        }
        waitMs = asked ?? backoffMs(attempt + 1);
      } else if (res && RETRY_STATUSES.has(res.status) && !policy.isFinal?.(res)) {
        if (attempt >= retries) return res;
        waitMs = backoffMs(attempt + 1);
      } else {
        return res!;
      }
      log?.debug('http retry', { path: start.pathname, attempt: attempt + 1, waitMs, status: res?.status, error: failure?.message });
      await clock.sleep(waitMs, signal);
    }
  }

  return {
    upstream,
    async get(url, policy) {
      const up = policy.upstream;
      if (policy.priority === 'background') {
        await backgroundTurn(up, clock, policy.signal);
        return request(url, policy);
      }
      if (policy.priority === 'foreground') return asForeground(up, () => request(url, policy));
      return request(url, policy);
    },
    rateLimitCooldownMs: cooldownMs,
    close() {
      for (const up of upstreams.values()) {
        up.agent.http.destroy();
        up.agent.https.destroy();
      }
      upstreams.clear();
    },
  };
}
