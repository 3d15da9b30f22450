/**
 * Letterboxd's pages and feed (docs/letterboxd.md#blocking), read through the transport: spaced and
 * concurrency-limited on LETTERBOXD_URL's origin, redirects kept on that origin, feed polls behind
 * every mosaic's requests. What Letterboxd's answers mean is read here: the outage page, a Cloudflare
 * challenge or a 403 (LETTERBOXD_BLOCKED), a member's 404 (USER_NOT_FOUND), rate limiting
 * (LETTERBOXD_RATE_LIMITED, a task retried later), and a network failure (LETTERBOXD_UNREACHABLE).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { AppError } from '../../common/errors.js';
import { CLOUDFLARE_POLICY, isChallenge } from '../cloudflare.js';
import { TransportError, type RawResponse, type Transport } from '../http.js';
import { RetryLaterError, type RetryWording } from '../retryLater.js';

/**
 * How a page's answer is read: a 404 on a member's feed or pages means the member does not exist,
 * while a 404 on a film page or poster lookup is returned to the caller as data.
 */
export type PageKind = 'feed' | 'member' | 'film' | 'film-json';

export interface PageResponse {
  status: number;
  /** The URL that answered (after same-origin redirects). */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface PageOptions {
  signal: AbortSignal;
  kind: PageKind;
  /**
   * A background request (a feed poll): it waits until no foreground request is waiting for or
   * holding the host, and takes a spacing slot only when one is free at once, so mosaics go first.
   */
  background?: boolean;
}

export interface LetterboxdPages {
  /** GETs a Letterboxd page or feed (a path, or an absolute URL on LETTERBOXD_URL's origin). */
  page(pathOrUrl: string, options: PageOptions): Promise<PageResponse>;
}

export interface LetterboxdConfig {
  /** Base URL of Letterboxd's pages and feed (LETTERBOXD_URL). */
  letterboxdUrl: string;
  /** Minimum gap between request starts to the Letterboxd host (LETTERBOXD_SPACING_MS). Default 1000. */
  spacingMs?: number;
  /** Requests at once to the Letterboxd host. Default 2. */
  pageConcurrency?: number;
  /** Largest page or feed body accepted. Default 5 MiB. */
  maxPageBytes?: number;
}

const ACCEPT: Record<PageKind, string> = {
  feed: 'application/rss+xml,application/xml;q=0.9,text/xml;q=0.8,*/*;q=0.5',
  member: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  film: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'film-json': 'application/json,text/javascript,*/*;q=0.01',
};

/** What a task held back by Letterboxd's rate limiting says, while parked and when it ends. */
const RATE_LIMIT_WORDING: RetryWording = {
  delayed: (at) => `Letterboxd asked us to slow down; trying again at ${at} UTC.`,
  tooLong: (wait) => `Letterboxd is rate limiting this server and asked it to wait ${wait}; try again after that.`,
  persisted: (times) => `Letterboxd kept rate limiting this server (asked to wait ${times} times); try again in a few minutes.`,
};

/** Letterboxd (pages or its image CDN) is rate limiting us: the task goes back to the queue for a while. */
export function letterboxdRateLimited(err: TransportError, what: string, cooldownMs: number): RetryLaterError {
  const waitMs = err.extra.retryAfterMs ?? cooldownMs;
  const seconds = Math.ceil(waitMs / 1000);
  return new RetryLaterError(
    'LETTERBOXD_RATE_LIMITED',
    `Letterboxd is rate limiting requests for ${what}; the task will be tried again in about ${seconds} s.`,
    waitMs,
    RATE_LIMIT_WORDING,
  );
}

/**
 * Letterboxd's maintenance page (`<base href="/_maint/">`, "Letterboxd is offline due to a server
 * outage"): served in place of any page, the feed included, and possibly with status 200.
 */
function isOutage(res: RawResponse): boolean {
  const head = res.body.subarray(0, 16384).toString('utf8');
  return /<base\s+href=["']?\/_maint\//i.test(head) || /Letterboxd is offline due to a server outage/i.test(head);
}

export function createLetterboxdPages(transport: Transport, config: LetterboxdConfig): LetterboxdPages {
  const base = new URL(config.letterboxdUrl);
  const maxPageBytes = config.maxPageBytes ?? 5 * 1024 * 1024;
  const upstream = transport.upstream(base, { concurrency: config.pageConcurrency ?? 2, spacingMs: config.spacingMs ?? 1000 });

  async function page(pathOrUrl: string, options: PageOptions): Promise<PageResponse> {
    const url = new URL(pathOrUrl, base);
    if (url.origin !== base.origin) throw new Error(`page(): ${url.origin} is not the Letterboxd origin ${base.origin}`);
    const path = url.pathname;
    let res: RawResponse;
    try {
      res = await transport.get(url, {
        ...CLOUDFLARE_POLICY,
        upstream,
        priority: options.background ? 'background' : 'foreground',
        accept: ACCEPT[options.kind],
        maxBytes: maxPageBytes,
        signal: options.signal,
        mayRedirect: (_from, to) => to.origin === base.origin,
      });
    } catch (err) {
      if (!(err instanceof TransportError)) throw err;
      if (err.kind === 'rate-limited') throw letterboxdRateLimited(err, path, transport.rateLimitCooldownMs);
      const retryable = err.kind === 'network';
      throw new AppError(
        'LETTERBOXD_UNREACHABLE',
        `Letterboxd ${err.extra.phrase ?? 'failed to answer'} (${path}); Letterboxd may be down or your connection may be out: try again in a few minutes.`,
        {
          retryable,
          cause: err,
        },
      );
    }
    // Before anything reads the status: the page says what is wrong whatever status it came with.
    if (isOutage(res)) throw new AppError('LETTERBOXD_UNREACHABLE', 'Letterboxd is down for maintenance; try again later.');
    if (isChallenge(res) || res.status === 403) {
      throw new AppError('LETTERBOXD_BLOCKED', `Letterboxd refused ${path} (${isChallenge(res) ? 'Cloudflare challenge' : '403'}).`);
    }
    const memberKind = options.kind === 'feed' || options.kind === 'member';
    if (res.status === 404 && memberKind) {
      const user = decodeURIComponent(path.split('/')[1] ?? '');
      throw new AppError('USER_NOT_FOUND', `Letterboxd has no member called "${user}": check the spelling of the username.`);
    }
    if (res.status >= 500 || (memberKind && (res.status < 200 || res.status >= 300))) {
      throw new AppError(
        'LETTERBOXD_UNREACHABLE',
        `Letterboxd answered ${res.status} for ${path}; it may be down: try again in a few minutes.`,
        {
          retryable: res.status >= 500,
        },
      );
    }
    return { status: res.status, url: res.url.href, headers: res.headers, body: res.body.toString('utf8') };
  }

  return { page };
}
