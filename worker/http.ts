/**
 * The worker's only HTTP client (docs/letterboxd.md#blocking; the only module that imports got). Pages and the feed come
 * from LETTERBOXD_URL, spaced and concurrency-limited; posters come only from LETTERBOXD_IMAGE_HOSTS
 * (and TMDB_IMAGE_URL's host when TMDB is configured); TMDB's API has its own limiter and rate limit.
 * Every outcome leaves here as a page, an image, a TMDB answer, an AppError, a PosterError, a
 * TmdbError or the caller's abort reason: got's error classes never do.
 */
import got, { type Got } from 'got';
import { Agent as HttpAgent, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import pLimit, { type LimitFunction } from 'p-limit';
import { AppError } from '../common/errors.js';
import { systemClock, type Clock } from '../common/clock.js';
import type { Logger } from '../common/log.js';
import { probeImage, type ImageInfo } from './imageProbe.js';

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

export interface HttpConfig {
  /** Base URL of Letterboxd's pages and feed (LETTERBOXD_URL). */
  letterboxdUrl: string;
  /** `host` or `host:port` entries posters may come from (LETTERBOXD_IMAGE_HOSTS). */
  imageHosts: readonly string[];
  /** Minimum gap between request starts to the Letterboxd host (LETTERBOXD_SPACING_MS). Default 1000. */
  spacingMs?: number;
  /** Requests at once to the Letterboxd host. Default 2. */
  pageConcurrency?: number;
  /** Requests at once to each image host. Default 6. */
  imageConcurrency?: number;
  timeouts?: Partial<Timeouts>;
  /** Retries after the first attempt on network errors, timeouts, 5xx and short 429s. Default 2. */
  retries?: number;
  /** First backoff step; doubles each retry, with jitter. Default 1000. */
  retryBaseMs?: number;
  /** A 429 asking for a longer wait than this goes back to the queue instead of sleeping. Default 10 000. */
  longWaitMs?: number;
  /** Wait suggested to the queue when 429s persist without a Retry-After. Default 40 000 (observed cool-down). */
  rateLimitCooldownMs?: number;
  /** Largest page or feed body accepted. Default 5 MiB. */
  maxPageBytes?: number;
  /** LETTERBOXD_USER_AGENT; default DEFAULT_USER_AGENT. */
  userAgent?: string;
  /** TMDB as a poster source (TMDB_API_KEY set); its image host joins the allowed image hosts. */
  tmdb?: TmdbHttpConfig | null;
}

export interface TmdbHttpConfig {
  /** TMDB_URL, e.g. https://api.themoviedb.org */
  apiUrl: string;
  /** TMDB_IMAGE_URL, e.g. https://image.tmdb.org */
  imageUrl: string;
  /** A v3 API key (sent as `api_key`) or a v4 read access token (sent as `Authorization: Bearer`). */
  apiKey: string;
  /** Requests at once to the API. Default 4. */
  concurrency?: number;
  /** Minimum gap between request starts to the API: 25 ms keeps under TMDB's ~40 requests a second. */
  spacingMs?: number;
}

export interface HttpDeps {
  clock?: Clock;
  /** Jitter source, 0 ≤ x < 1. */
  random?: () => number;
  log?: Logger;
  probe?: (buf: Buffer) => Promise<ImageInfo | null>;
}

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

export interface ImageResponse {
  body: Buffer;
  info: ImageInfo;
  url: string;
  contentType: string | null;
  etag: string | null;
}

export type PosterFailure = 'not-allowed' | 'refused' | 'not-found' | 'too-large' | 'not-image' | 'bad-status' | 'unreachable';

/** One poster could not be had: per-film data (a placeholder tile), never a task failure. */
export class PosterError extends Error {
  constructor(
    readonly reason: PosterFailure,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'PosterError';
  }
}

/** A TMDB API answer: any status (401, 404 and the like are the caller's to read), its JSON or null. */
export interface TmdbResponse {
  status: number;
  body: unknown;
}

export type TmdbFailure = 'not-configured' | 'rate-limited' | 'unreachable' | 'too-large';

/** TMDB could not be asked: the caller falls back to Letterboxd for this film (or the whole task). */
export class TmdbError extends Error {
  constructor(
    readonly reason: TmdbFailure,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'TmdbError';
  }
}

/** A v4 read access token (a JWT: three base64url parts) rather than a v3 API key (32 hex digits). */
export function isTmdbBearerToken(key: string): boolean {
  return /^[\w-]+\.[\w-]+\.[\w-]+$/.test(key) && key.length > 40;
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

export interface Http {
  /** GETs a Letterboxd page or feed (a path, or an absolute URL on LETTERBOXD_URL's origin). */
  page(pathOrUrl: string, options: PageOptions): Promise<PageResponse>;
  /** GETs TMDB API JSON (`/3/...`), authenticated; TmdbError 'not-configured' without TMDB_API_KEY. */
  tmdb(path: string, query: Record<string, string | number | null | undefined>, options: { signal: AbortSignal }): Promise<TmdbResponse>;
  /** GETs a poster from an allowed image host; the bytes are checked to decode as an image. */
  image(url: string, options: { signal: AbortSignal; maxBytes?: number }): Promise<ImageResponse>;
  /** Whether `url` may be fetched as a poster (scheme, host and port in the allow list). */
  isAllowedImageUrl(url: string): boolean;
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
/**
 * Who is asking, honestly: moviemosaic reads the member's feed as a feed reader does and does not pass
 * itself off as a browser (LETTERBOXD_USER_AGENT overrides it).
 */
export const DEFAULT_USER_AGENT = 'moviemosaic/0.1 (self-hosted Letterboxd poster mosaics; feed reader)';
const ACCEPT: Record<PageKind | 'image' | 'tmdb', string> = {
  tmdb: 'application/json',
  feed: 'application/rss+xml,application/xml;q=0.9,text/xml;q=0.8,*/*;q=0.5',
  member: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  film: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'film-json': 'application/json,text/javascript,*/*;q=0.01',
  image: 'image/avif,image/webp,image/apng,image/*,*/*;q=0.8',
};
const MAX_REDIRECTS = 5;
const RETRY_STATUSES = new Set([408, 500, 502, 503, 504, 520, 521, 522, 523, 524]);
const NETWORK_CODES = new Set([
  'ETIMEDOUT', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ENOTFOUND', 'ENETUNREACH', 'EHOSTUNREACH',
  'EAI_AGAIN', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET',
]);

interface Upstream {
  limit: LimitFunction;
  agent: { http: HttpAgent; https: HttpsAgent };
  spacingMs: number;
  /** Earliest start of the next request (the spacing gate's reservation). */
  nextAt: number;
  /** Foreground requests under way (waiting, in flight or between retries), and who waits for none. */
  foreground: number;
  idleWaiters: (() => void)[];
}

interface RawResponse {
  status: number;
  url: URL;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Why a request gave up, before page() or image() translate it for their callers. */
class Failure extends Error {
  constructor(
    readonly kind: 'network' | 'too-large' | 'redirect' | 'rate-limited' | 'status',
    /** Technical detail, for logs. */
    message: string,
    /** `phrase`: what happened, in words for the person reading the task's error ("did not answer in time"). */
    readonly extra: { retryAfterMs?: number; status?: number; phrase?: string } = {},
  ) {
    super(message);
    this.name = 'Failure';
  }
}

function phraseFor(name: string, code: string): string {
  if (name === 'TimeoutError' || code === 'ETIMEDOUT') return 'did not answer in time';
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH'].includes(code)) return 'could not be reached';
  if (name === 'ReadError' || ['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE'].includes(code)) return 'dropped the connection';
  return 'failed to answer';
}

interface Policy {
  upstream: Upstream;
  accept: string;
  /** Extra headers (undefined removes a default one). */
  headers?: Record<string, string | undefined>;
  maxBytes: number;
  signal: AbortSignal;
  /** Whether a redirect to `to` may be followed (pages: same origin; posters: same allowed host). */
  mayRedirect(from: URL, to: URL): boolean;
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

function header(headers: IncomingHttpHeaders, name: string): string | null {
  const v = headers[name];
  return Array.isArray(v) ? (v[0] ?? null) : (v ?? null);
}

function isHtml(res: RawResponse): boolean {
  return /text\/html|text\/plain/i.test(header(res.headers, 'content-type') ?? '');
}

/** A Cloudflare challenge: the header, or the interstitial's title. */
function isChallenge(res: RawResponse): boolean {
  if (header(res.headers, 'cf-mitigated') === 'challenge') return true;
  return isHtml(res) && /<title>\s*Just a moment\.\.\.\s*<\/title>/i.test(res.body.subarray(0, 4096).toString('utf8'));
}

/**
 * Letterboxd's maintenance page (`<base href="/_maint/">`, "Letterboxd is offline due to a server
 * outage"): served in place of any page, the feed included, and possibly with status 200.
 */
function isOutage(res: RawResponse): boolean {
  const head = res.body.subarray(0, 16384).toString('utf8');
  return /<base\s+href=["']?\/_maint\//i.test(head) || /Letterboxd is offline due to a server outage/i.test(head);
}

/** Cloudflare's rate-limit page sometimes comes as a 403: read it as the 429 it means. */
function isRateLimited(res: RawResponse): boolean {
  if (res.status === 429) return true;
  return res.status === 403 && isHtml(res) && /You are being rate limited/i.test(res.body.subarray(0, 16384).toString('utf8'));
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** Builds the client. Call `close()` when done to drop the keep-alive sockets. */
export function createHttp(config: HttpConfig, deps: HttpDeps = {}): Http {
  const clock = deps.clock ?? systemClock;
  const random = deps.random ?? Math.random;
  const probe = deps.probe ?? probeImage;
  const log = deps.log;
  const timeouts: Timeouts = { ...DEFAULT_TIMEOUTS, ...config.timeouts };
  const retries = config.retries ?? 2;
  const retryBaseMs = config.retryBaseMs ?? 1000;
  const longWaitMs = config.longWaitMs ?? 10_000;
  const cooldownMs = config.rateLimitCooldownMs ?? 40_000;
  const maxPageBytes = config.maxPageBytes ?? 5 * 1024 * 1024;
  const base = new URL(config.letterboxdUrl);
  const allowedImageHosts = new Set(config.imageHosts.map((h) => h.trim().toLowerCase()).filter(Boolean));
  const tmdbConfig = config.tmdb ?? null;
  const tmdbBase = tmdbConfig ? new URL(tmdbConfig.apiUrl) : null;
  // TMDB's image CDN is an allowed poster host only while TMDB is configured.
  const tmdbImageHost = tmdbConfig ? new URL(tmdbConfig.imageUrl).host.toLowerCase() : null;
  if (tmdbImageHost) allowedImageHosts.add(tmdbImageHost);

  // got's own retry is off: the loop below owns retries, so that every attempt passes the per-host
  // limiter and the spacing gate, and backoff sleeps on the injected clock (tests need not wait).
  const client: Got = got.extend({
    throwHttpErrors: false,
    followRedirect: false,
    retry: { limit: 0, maxRetryAfter: longWaitMs },
    timeout: timeouts,
    decompress: true,
    headers: {
      'user-agent': config.userAgent ?? DEFAULT_USER_AGENT,
      'accept-language': 'en-GB,en;q=0.9',
    },
  });

  const upstreams = new Map<string, Upstream>();
  function upstream(url: URL, concurrency: number, spacingMs: number): Upstream {
    const key = `${url.protocol}//${url.host}`;
    let up = upstreams.get(key);
    if (!up) {
      // p-limit is the concurrency limit; the agent must never queue behind it (a socket not yet back
      // in the pool would hold a spaced request and bunch it with the next one on the wire).
      const agentOptions = { keepAlive: true, maxFreeSockets: concurrency };
      up = {
        limit: pLimit(concurrency),
        agent: { http: new HttpAgent(agentOptions), https: new HttpsAgent(agentOptions) },
        spacingMs,
        nextAt: 0,
        foreground: 0,
        idleWaiters: [],
      };
      upstreams.set(key, up);
    }
    return up;
  }
  const letterboxd = upstream(base, config.pageConcurrency ?? 2, config.spacingMs ?? 1000);
  const tmdbApi = tmdbBase ? upstream(tmdbBase, tmdbConfig!.concurrency ?? 4, tmdbConfig!.spacingMs ?? 25) : null;

  function isAllowedImageUrl(raw: string): boolean {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      return false;
    }
    if (u.username || u.password) return false;
    if (u.protocol !== 'https:' && !(u.protocol === 'http:' && isLoopback(u.hostname))) return false;
    const defaultPort = u.protocol === 'https:' ? '443' : '80';
    const port = u.port || defaultPort;
    const host = u.hostname.toLowerCase();
    return allowedImageHosts.has(`${host}:${port}`) || (port === defaultPort && allowedImageHosts.has(host));
  }

  /** Reserves the next start slot on a spaced upstream and waits for it. */
  async function spacingGate(up: Upstream, signal: AbortSignal): Promise<void> {
    if (up.spacingMs <= 0) return;
    const now = clock.now();
    const at = Math.max(now, up.nextAt);
    up.nextAt = at + up.spacingMs;
    if (at > now) await clock.sleep(at - now, signal);
  }

  /**
   * A background request's turn: once no foreground request is under way and the next spacing slot
   * is free now. It reserves nothing while it waits, so a mosaic arriving meanwhile goes first.
   */
  async function backgroundTurn(up: Upstream, signal: AbortSignal): Promise<void> {
    for (;;) {
      if (signal.aborted) throw abortReason(signal);
      if (up.foreground > 0) {
        await new Promise<void>((resolve) => up.idleWaiters.push(resolve));
        continue;
      }
      const now = clock.now();
      if (up.nextAt > now) {
        await clock.sleep(up.nextAt - now, signal);
        continue;
      }
      return;
    }
  }

  function foregroundDone(up: Upstream): void {
    up.foreground--;
    if (up.foreground === 0) for (const wake of up.idleWaiters.splice(0)) wake();
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

  /** One GET, body read to the end under a size cap. Throws Failure or the abort reason. */
  async function once(url: URL, policy: Policy): Promise<RawResponse> {
    const stream = client.stream(url, {
      agent: policy.upstream.agent,
      signal: policy.signal,
      headers: { ...policy.headers, accept: policy.accept },
    });
    let status = 0;
    let headers: IncomingHttpHeaders = {};
    let declaredTooLarge = false;
    stream.once('response', (res: { statusCode: number; headers: IncomingHttpHeaders }) => {
      status = res.statusCode;
      headers = res.headers;
      const declared = Number(header(res.headers, 'content-length') ?? NaN);
      if (declared > policy.maxBytes) {
        // got wraps whatever destroy() is given in its own error class: remember why instead.
        declaredTooLarge = true;
        stream.destroy();
      }
    });
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > policy.maxBytes) throw new Failure('too-large', `${url.pathname} is over ${policy.maxBytes} bytes`, { phrase: 'sent more than expected' });
        chunks.push(chunk);
      }
    } catch (err) {
      stream.destroy();
      if (policy.signal.aborted) throw abortReason(policy.signal);
      if (err instanceof Failure) throw err;
      if (declaredTooLarge) throw new Failure('too-large', `${url.pathname} declares more than ${policy.maxBytes} bytes`, { phrase: 'sent more than expected' });
      const code = (err as { code?: string }).code ?? '';
      const name = (err as { name?: string }).name ?? '';
      const network = NETWORK_CODES.has(code) || name === 'TimeoutError' || name === 'ReadError';
      // Only our own words and got's message text leave: never the got error object itself.
      const message = `${name || 'Error'} ${code} for ${url.pathname}: ${(err as Error).message}`;
      throw new Failure(network ? 'network' : 'status', message, { phrase: phraseFor(name, code) });
    }
    // got removes its abort listener only on destroy, even after a complete response; the socket
    // has gone back to the keep-alive pool by now, so this frees the listener and nothing else.
    stream.destroy();
    if (declaredTooLarge) throw new Failure('too-large', `${url.pathname} declares more than ${policy.maxBytes} bytes`, { phrase: 'sent more than expected' });
    return { status, url, headers, body: Buffer.concat(chunks, size) };
  }

  /**
   * Redirects, retries and rate limits, shared by pages and posters. Returns the final response for
   * any status it does not handle itself (2xx, 4xx, challenges); throws Failure after retries.
   */
  async function request(start: URL, policy: Policy): Promise<RawResponse> {
    const { signal, upstream: up } = policy;
    let lastRateLimitWait: number | null = null;
    for (let attempt = 0; ; attempt++) {
      let url = start;
      let res: RawResponse | null = null;
      let failure: Failure | null = null;
      try {
        for (let hops = 0; ; hops++) {
          const target = url;
          res = await up.limit(async () => {
            if (signal.aborted) throw abortReason(signal);
            await spacingGate(up, signal);
            return once(target, policy);
          });
          const location = res.status >= 300 && res.status < 400 ? header(res.headers, 'location') : null;
          if (!location) break;
          const next = new URL(location, url);
          if (hops >= MAX_REDIRECTS || !policy.mayRedirect(url, next)) {
            throw new Failure('redirect', `${url.pathname} redirects to ${next.origin}, which is not allowed`, { phrase: `redirected to ${next.host}` });
          }
          url = next;
        }
      } catch (err) {
        if (signal.aborted) throw abortReason(signal);
        if (!(err instanceof Failure) || err.kind !== 'network') throw err;
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
          throw new Failure('rate-limited', `asked to wait ${Math.ceil(asked / 1000)} s`, { retryAfterMs: asked, status: res.status });
        }
        if (attempt >= retries) {
          throw new Failure('rate-limited', 'still rate limited after retries', {
            retryAfterMs: Math.max(lastRateLimitWait ?? 0, cooldownMs),
            status: res.status,
          });
        }
        waitMs = asked ?? backoffMs(attempt + 1);
      } else if (res && RETRY_STATUSES.has(res.status) && !isChallenge(res)) {
        if (attempt >= retries) return res;
        waitMs = backoffMs(attempt + 1);
      } else {
        return res!;
      }
      log?.debug('http retry', { path: start.pathname, attempt: attempt + 1, waitMs, status: res?.status, error: failure?.message });
      await clock.sleep(waitMs, signal);
    }
  }

  function rateLimitedError(f: Failure, what: string): AppError {
    const seconds = Math.ceil((f.extra.retryAfterMs ?? cooldownMs) / 1000);
    return new AppError('LETTERBOXD_RATE_LIMITED', `Letterboxd is rate limiting requests for ${what}; the task will be tried again in about ${seconds} s.`, {
      retryable: true,
      retryAfterMs: f.extra.retryAfterMs ?? cooldownMs,
    });
  }

  async function page(pathOrUrl: string, options: PageOptions): Promise<PageResponse> {
    if (options.background) {
      await backgroundTurn(letterboxd, options.signal);
      return pageNow(pathOrUrl, options);
    }
    letterboxd.foreground++;
    try {
      return await pageNow(pathOrUrl, options);
    } finally {
      foregroundDone(letterboxd);
    }
  }

  async function pageNow(pathOrUrl: string, options: PageOptions): Promise<PageResponse> {
    const url = new URL(pathOrUrl, base);
    if (url.origin !== base.origin) throw new Error(`page(): ${url.origin} is not the Letterboxd origin ${base.origin}`);
    const path = url.pathname;
    let res: RawResponse;
    try {
      res = await request(url, {
        upstream: letterboxd,
        accept: ACCEPT[options.kind],
        maxBytes: maxPageBytes,
        signal: options.signal,
        mayRedirect: (_from, to) => to.origin === base.origin,
      });
    } catch (err) {
      if (!(err instanceof Failure)) throw err;
      if (err.kind === 'rate-limited') throw rateLimitedError(err, path);
      const retryable = err.kind === 'network';
      throw new AppError('LETTERBOXD_UNREACHABLE', `Letterboxd ${err.extra.phrase ?? 'failed to answer'} (${path}); Letterboxd may be down or your connection may be out: try again in a few minutes.`, {
        retryable,
        cause: err,
      });
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
      throw new AppError('LETTERBOXD_UNREACHABLE', `Letterboxd answered ${res.status} for ${path}; it may be down: try again in a few minutes.`, {
        retryable: res.status >= 500,
      });
    }
    return { status: res.status, url: res.url.href, headers: res.headers, body: res.body.toString('utf8') };
  }

  async function tmdb(
    path: string,
    query: Record<string, string | number | null | undefined>,
    options: { signal: AbortSignal },
  ): Promise<TmdbResponse> {
    if (!tmdbConfig || !tmdbBase || !tmdbApi) throw new TmdbError('not-configured', 'TMDB_API_KEY is not set');
    const url = new URL(path, tmdbBase);
    if (url.origin !== tmdbBase.origin) throw new Error(`tmdb(): ${url.origin} is not the TMDB origin ${tmdbBase.origin}`);
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
    const bearer = isTmdbBearerToken(tmdbConfig.apiKey);
    if (!bearer) url.searchParams.set('api_key', tmdbConfig.apiKey);
    let res: RawResponse;
    try {
      res = await request(url, {
        upstream: tmdbApi,
        accept: ACCEPT.tmdb,
        // TMDB gets our own name, never a LETTERBOXD_USER_AGENT meant for Letterboxd.
        headers: { 'user-agent': 'moviemosaic (self-hosted poster mosaics)', authorization: bearer ? `Bearer ${tmdbConfig.apiKey}` : undefined },
        maxBytes: 2 * 1024 * 1024,
        signal: options.signal,
        mayRedirect: (_from, to) => to.origin === tmdbBase.origin,
      });
    } catch (err) {
      if (!(err instanceof Failure)) throw err;
      // The key is in the query: only the path goes into messages.
      if (err.kind === 'rate-limited') throw new TmdbError('rate-limited', `TMDB is rate limiting requests (${url.pathname})`, err.extra.retryAfterMs);
      throw new TmdbError(err.kind === 'too-large' ? 'too-large' : 'unreachable', `TMDB ${err.extra.phrase ?? 'failed to answer'} (${url.pathname})`);
    }
    let body: unknown = null;
    try {
      body = JSON.parse(res.body.toString('utf8'));
    } catch {
      // A proxy's HTML page: the status says enough.
    }
    return { status: res.status, body };
  }

  async function image(raw: string, options: { signal: AbortSignal; maxBytes?: number }): Promise<ImageResponse> {
    if (!isAllowedImageUrl(raw)) throw new PosterError('not-allowed', `${raw} is not on an allowed image host`);
    const url = new URL(raw);
    let res: RawResponse;
    try {
      res = await request(url, {
        upstream: upstream(url, config.imageConcurrency ?? 6, 0),
        accept: ACCEPT.image,
        maxBytes: options.maxBytes ?? 5 * 1024 * 1024,
        signal: options.signal,
        mayRedirect: (from, to) => to.host === from.host && isAllowedImageUrl(to.href),
      });
    } catch (err) {
      if (!(err instanceof Failure)) throw err;
      // Letterboxd's CDN rate limiting holds up the whole task; TMDB's costs only that poster.
      if (err.kind === 'rate-limited' && url.host.toLowerCase() !== tmdbImageHost) throw rateLimitedError(err, 'posters');
      const reason: PosterFailure = err.kind === 'too-large' ? 'too-large' : err.kind === 'redirect' ? 'not-allowed' : 'unreachable';
      throw new PosterError(reason, err.message);
    }
    if (isChallenge(res) || res.status === 403) throw new PosterError('refused', `Letterboxd refused ${url.pathname}`, res.status);
    if (res.status === 404 || res.status === 410) throw new PosterError('not-found', `${url.pathname} not found`, res.status);
    if (res.status < 200 || res.status >= 300) {
      throw new PosterError(res.status >= 500 ? 'unreachable' : 'bad-status', `${url.pathname} answered ${res.status}`, res.status);
    }
    const info = await probe(res.body);
    if (!info) throw new PosterError('not-image', `${url.pathname} is not a readable image`);
    return {
      body: res.body,
      info,
      url: res.url.href,
      contentType: header(res.headers, 'content-type'),
      etag: header(res.headers, 'etag'),
    };
  }

  return {
    page,
    tmdb,
    image,
    isAllowedImageUrl,
    close() {
      for (const up of upstreams.values()) {
        up.agent.http.destroy();
        up.agent.https.destroy();
      }
      upstreams.clear();
    },
  };
}
