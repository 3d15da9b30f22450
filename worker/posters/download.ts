/**
 * Downloading one poster: only from an allowed image host, redirects kept on that host, the body
 * capped, and the bytes checked to decode as an accepted image (./probe.ts). A poster that cannot be
 * had is a PosterError, per-film data (a placeholder tile); only rate limiting by Letterboxd's CDN
 * holds up the whole task, as it would every other poster too.
 */
import { CLOUDFLARE_POLICY, isChallenge } from '../cloudflare.js';
import { header, TransportError, type RawResponse, type Transport } from '../http.js';
import { letterboxdRateLimited } from '../sources/letterboxd.js';
import type { ImageAllowlist } from './allowlist.js';
import { MAX_POSTER_BYTES, POSTER_ACCEPT } from './formats.js';
import { probeImage, type ImageInfo } from './probe.js';

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

export interface PosterDownloader {
  /** GETs a poster from an allowed image host; the bytes are checked to decode as an image. */
  image(url: string, options: { signal: AbortSignal; maxBytes?: number }): Promise<ImageResponse>;
  /** Whether `url` may be fetched as a poster (scheme, host and port in the allow list). */
  isAllowedImageUrl(url: string): boolean;
}

export interface PosterDownloadConfig {
  allowlist: ImageAllowlist;
  /** Requests at once to each image host. Default 6. */
  imageConcurrency?: number;
  /** TMDB's image host while TMDB is configured: its rate limiting costs only the one poster. */
  tmdbImageHost?: string | null;
  probe?: (buf: Buffer) => Promise<ImageInfo | null>;
}

export function createPosterDownloader(transport: Transport, config: PosterDownloadConfig): PosterDownloader {
  const { allowlist } = config;
  const probe = config.probe ?? probeImage;
  const tmdbImageHost = config.tmdbImageHost?.toLowerCase() ?? null;

  async function image(raw: string, options: { signal: AbortSignal; maxBytes?: number }): Promise<ImageResponse> {
    if (!allowlist(raw)) throw new PosterError('not-allowed', `${raw} is not on an allowed image host`);
    const url = new URL(raw);
    let res: RawResponse;
    try {
      res = await transport.get(url, {
        ...CLOUDFLARE_POLICY,
        upstream: transport.upstream(url, { concurrency: config.imageConcurrency ?? 6, spacingMs: 0 }),
        accept: POSTER_ACCEPT,
        maxBytes: options.maxBytes ?? MAX_POSTER_BYTES,
        signal: options.signal,
        mayRedirect: (from, to) => to.host === from.host && allowlist(to.href),
      });
    } catch (err) {
      if (!(err instanceof TransportError)) throw err;
      // Letterboxd's CDN rate limiting holds up the whole task; TMDB's costs only that poster.
      if (err.kind === 'rate-limited' && url.host.toLowerCase() !== tmdbImageHost)
        throw letterboxdRateLimited(err, 'posters', transport.rateLimitCooldownMs);
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

  return { image, isAllowedImageUrl: allowlist };
}
