/**
 * TMDB's API as the transport reaches it (docs/letterboxd.md#tmdb): its own limiter and spacing, our
 * own User-Agent, the key sent as TMDB expects it (a v3 key as `api_key`, a v4 token as a Bearer
 * header), and TMDB's trouble as a TmdbError the caller falls back from. The key never appears in a
 * message: only the path does.
 */
import { TransportError, type Transport } from '../http.js';
import { CLOUDFLARE_POLICY } from '../cloudflare.js';

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

export interface TmdbApi {
  /** GETs TMDB API JSON (`/3/...`), authenticated; TmdbError 'not-configured' without TMDB_API_KEY. */
  tmdb(path: string, query: Record<string, string | number | null | undefined>, options: { signal: AbortSignal }): Promise<TmdbResponse>;
}

/** A v4 read access token (a JWT: three base64url parts) rather than a v3 API key (32 hex digits). */
export function isTmdbBearerToken(key: string): boolean {
  return /^[\w-]+\.[\w-]+\.[\w-]+$/.test(key) && key.length > 40;
}

const MAX_TMDB_BYTES = 2 * 1024 * 1024;

/** `config` null: TMDB is not configured, and every call says so. */
export function createTmdbApi(transport: Transport, config: TmdbHttpConfig | null): TmdbApi {
  const base = config ? new URL(config.apiUrl) : null;
  const upstream =
    config && base ? transport.upstream(base, { concurrency: config.concurrency ?? 4, spacingMs: config.spacingMs ?? 25 }) : null;

  return {
    async tmdb(path, query, options) {
      if (!config || !base || !upstream) throw new TmdbError('not-configured', 'TMDB_API_KEY is not set');
      const url = new URL(path, base);
      if (url.origin !== base.origin) throw new Error(`tmdb(): ${url.origin} is not the TMDB origin ${base.origin}`);
      for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
      const bearer = isTmdbBearerToken(config.apiKey);
      if (!bearer) url.searchParams.set('api_key', config.apiKey);
      let body: Buffer;
      let status: number;
      try {
        ({ body, status } = await transport.get(url, {
          ...CLOUDFLARE_POLICY,
          upstream,
          accept: 'application/json',
          // TMDB gets our own name, never a LETTERBOXD_USER_AGENT meant for Letterboxd.
          headers: {
            'user-agent': 'moviemosaic (self-hosted poster mosaics)',
            authorization: bearer ? `Bearer ${config.apiKey}` : undefined,
          },
          maxBytes: MAX_TMDB_BYTES,
          signal: options.signal,
          mayRedirect: (_from, to) => to.origin === base.origin,
        }));
      } catch (err) {
        if (!(err instanceof TransportError)) throw err;
        // The key is in the query: only the path goes into messages.
        if (err.kind === 'rate-limited')
          throw new TmdbError('rate-limited', `TMDB is rate limiting requests (${url.pathname})`, err.extra.retryAfterMs);
        throw new TmdbError(
          err.kind === 'too-large' ? 'too-large' : 'unreachable',
          `TMDB ${err.extra.phrase ?? 'failed to answer'} (${url.pathname})`,
        );
      }
      let json: unknown = null;
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch {
        // A proxy's HTML page: the status says enough.
      }
      return { status, body: json };
    },
  };
}
