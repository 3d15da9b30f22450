/**
 * Posters, in one folder. It owns everything between a film and the bytes of its poster: resolving a
 * film's poster URL (resolveUrls.ts: known URLs, then TMDB, then Letterboxd's film endpoints), TMDB as a
 * source (tmdb.ts, its API client tmdbApi.ts), where posters may come from (allowlist.ts), downloading
 * one with its checks (download.ts, probe.ts), the disk cache (cache.ts), a mosaic's posters with their
 * placeholder notes (fetch.ts), and one module of formats and limits with the "more than half refused"
 * rule (formats.ts). It may touch the transport (../http.ts), Letterboxd's pages client and the film
 * types of ../sources/, and the poster and TMDB stores of db/ through the functions handed to it; it
 * never draws (that is ../compose/, which reads formats.ts for its decode limits) and never fails a
 * task for one poster: a poster that cannot be had is a placeholder and a note.
 */
export { createPosterCache, type PosterCache, type PosterCacheOptions } from './cache.js';
export { fetchPosters, sizedPosterUrl, type PosterDeps, type PosterResult } from './fetch.js';
export { createPosterDownloader, PosterError, type ImageResponse, type PosterDownloader, type PosterFailure } from './download.js';
export { createImageAllowlist, type ImageAllowlist } from './allowlist.js';
export { MAX_POSTER_BYTES, MAX_POSTER_PIXELS, mostRefused, POSTER_FORMATS } from './formats.js';
export { probeImage, type ImageInfo } from './probe.js';
export { createTmdb, isTmdbRef, tmdbImageUrl, type Tmdb, type TmdbSession } from './tmdb.js';
export { createTmdbApi, isTmdbBearerToken, TmdbError, type TmdbApi, type TmdbHttpConfig } from './tmdbApi.js';
