/**
 * Per-client-IP token bucket: `perMinute` requests, refilled continuously, so a burst of `perMinute`
 * is allowed and then one request every 60/perMinute seconds. Over the limit → 429 RATE_LIMITED with
 * Retry-After. Memory stays bounded: when the table is full, buckets that have refilled completely
 * (they carry no information) are dropped, and failing that the oldest one.
 */
import type { Middleware } from 'koa';
import { HttpError } from './errors.js';
import { clientKey } from '../clientKey.js';

interface Bucket {
  tokens: number;
  at: number;
}

export interface RateLimiter {
  /** Takes one token for `key`; returns 0 when allowed, else the milliseconds until a token is back. */
  take(key: string): number;
  size(): number;
}

export function createRateLimiter(perMinute: number, now: () => number, maxKeys = 10_000): RateLimiter {
  const buckets = new Map<string, Bucket>();
  const perMs = perMinute / 60_000;
  const refill = (b: Bucket, t: number) => {
    b.tokens = Math.min(perMinute, b.tokens + (t - b.at) * perMs);
    b.at = t;
  };
  return {
    take(key) {
      const t = now();
      let b = buckets.get(key);
      if (!b) {
        if (buckets.size >= maxKeys) {
          for (const [k, old] of buckets) {
            refill(old, t);
            if (old.tokens >= perMinute) buckets.delete(k);
          }
          // Still full (many busy clients): forget the oldest entry rather than grow without bound.
          if (buckets.size >= maxKeys) buckets.delete(buckets.keys().next().value!);
        }
        b = { tokens: perMinute, at: t };
        buckets.set(key, b);
      }
      refill(b, t);
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return 0;
      }
      return Math.ceil((1 - b.tokens) / perMs);
    },
    size: () => buckets.size,
  };
}

/** The 429's sentence, given the seconds to wait; says what was limited. */
export type LimitMessage = (seconds: number) => string;

export const tooManyMosaics: LimitMessage = (s) => `Too many new mosaics from this device; try again in ${s} s.`;

/** One bucket per client (server/clientKey.ts). */
export function rateLimit(limiter: RateLimiter, message: LimitMessage = tooManyMosaics): Middleware {
  return async function limit(ctx, next) {
    const waitMs = limiter.take(clientKey(ctx));
    if (waitMs > 0) {
      const seconds = Math.max(1, Math.ceil(waitMs / 1000));
      throw new HttpError(429, 'RATE_LIMITED', message(seconds), {
        headers: { 'Retry-After': String(seconds) },
      });
    }
    return next();
  };
}
