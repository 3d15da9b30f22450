/**
 * The worker's upstreams, built on one transport (worker/http.ts): Letterboxd's pages and feed
 * (worker/sources/letterboxd.ts), posters from the allowed image hosts (worker/posters/download.ts)
 * and TMDB's API when configured (worker/posters/tmdbApi.ts). One transport means one set of
 * keep-alive sockets to close and one retry policy; each upstream module reads its own answers.
 */
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/log.js';
import { createTransport, type Timeouts } from './http.js';
import { createImageAllowlist } from './posters/allowlist.js';
import { createPosterDownloader, type PosterDownloader } from './posters/download.js';
import type { ImageInfo } from './posters/probe.js';
import { createTmdbApi, type TmdbApi, type TmdbHttpConfig } from './posters/tmdbApi.js';
import { createLetterboxdPages, type LetterboxdPages } from './sources/letterboxd.js';

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

export interface HttpDeps {
  clock?: Clock;
  /** Jitter source, 0 ≤ x < 1. */
  random?: () => number;
  log?: Logger;
  probe?: (buf: Buffer) => Promise<ImageInfo | null>;
}

/**
 * Who is asking, honestly: moviemosaic reads the member's feed as a feed reader does and does not pass
 * itself off as a browser (LETTERBOXD_USER_AGENT overrides it).
 */
export const DEFAULT_USER_AGENT = 'moviemosaic/0.1 (self-hosted Letterboxd poster mosaics; feed reader)';

export interface Http extends LetterboxdPages, PosterDownloader, TmdbApi {
  /** Drops the keep-alive sockets. */
  close(): void;
}

/** Builds the upstreams. Call `close()` when done to drop the keep-alive sockets. */
export function createHttp(config: HttpConfig, deps: HttpDeps = {}): Http {
  const transport = createTransport(
    {
      timeouts: config.timeouts,
      retries: config.retries,
      retryBaseMs: config.retryBaseMs,
      longWaitMs: config.longWaitMs,
      rateLimitCooldownMs: config.rateLimitCooldownMs,
      userAgent: config.userAgent ?? DEFAULT_USER_AGENT,
    },
    { clock: deps.clock, random: deps.random, log: deps.log },
  );
  const tmdb = config.tmdb ?? null;
  // TMDB's image CDN is an allowed poster host only while TMDB is configured.
  const tmdbImageHost = tmdb ? new URL(tmdb.imageUrl).host.toLowerCase() : null;
  const allowlist = createImageAllowlist(tmdbImageHost ? [...config.imageHosts, tmdbImageHost] : config.imageHosts);
  const pages = createLetterboxdPages(transport, config);
  const tmdbApi = createTmdbApi(transport, tmdb);
  const posters = createPosterDownloader(transport, {
    allowlist,
    imageConcurrency: config.imageConcurrency,
    tmdbImageHost,
    probe: deps.probe,
  });
  return {
    page: pages.page,
    tmdb: tmdbApi.tmdb,
    image: posters.image,
    isAllowedImageUrl: posters.isAllowedImageUrl,
    close: () => transport.close(),
  };
}
