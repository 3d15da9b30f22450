/**
 * Cloudflare's answers (docs/letterboxd.md#blocking): Cloudflare fronts Letterboxd's pages and image
 * CDN, and its challenge and rate-limit pages look alike whoever is behind it. Each upstream's module
 * passes these to the transport as its policy and reads them in its own terms.
 */
import { header, type RawResponse } from './http.js';

function isHtml(res: RawResponse): boolean {
  return /text\/html|text\/plain/i.test(header(res.headers, 'content-type') ?? '');
}

/** A Cloudflare challenge: the header, or the interstitial's title. Never retried: it will not change. */
export function isChallenge(res: RawResponse): boolean {
  if (header(res.headers, 'cf-mitigated') === 'challenge') return true;
  return isHtml(res) && /<title>\s*Just a moment\.\.\.\s*<\/title>/i.test(res.body.subarray(0, 4096).toString('utf8'));
}

/** A 429, or Cloudflare's rate-limit page, which sometimes comes as a 403: read as the 429 it means. */
export function isRateLimited(res: RawResponse): boolean {
  if (res.status === 429) return true;
  return res.status === 403 && isHtml(res) && /You are being rate limited/i.test(res.body.subarray(0, 16384).toString('utf8'));
}

/** The policy hooks for a request to a host behind Cloudflare. */
export const CLOUDFLARE_POLICY = { isRateLimited, isFinal: isChallenge } as const;
