/**
 * Posters for a mosaic (docs/architecture.md#posters, docs/architecture.md#outcomes): each film's poster
 * downloaded once at the tile size from the allowed image hosts (TMDB's at the smallest of its sizes at
 * least the tile's width), or read from the disk cache. A missing, refused or broken poster is a null
 * tile and a note, never a failed task.
 */
import pLimit from 'p-limit';
import type { CollectedFilm, Progress } from '../sources/types.js';
import type { PosterCache } from './cache.js';
import { PosterError, type PosterDownloader } from './download.js';
import { MAX_POSTER_BYTES } from './formats.js';
import { isTmdbRef, tmdbImageUrl } from './tmdb.js';

/** The CDN renders any `-0-{W}-0-{H}-crop` size of a poster it was asked for. */
const CDN_SIZE = /-0-\d+-0-\d+-crop(?=\.[a-z]+(?:[?#]|$))/i;
const DOWNLOAD_CONCURRENCY = 8;

/**
 * The URL of `url` at `tileWidth` × 1.5·`tileWidth`. Only the size part is rewritten, and only in a
 * URL Letterboxd gave us (the name part is not always the slug, and a wrong name is a 403); a URL
 * without the size pattern is returned as given.
 */
export function sizedPosterUrl(url: string, tileWidth: number): string {
  return url.replace(CDN_SIZE, `-0-${tileWidth}-0-${Math.round(tileWidth * 1.5)}-crop`);
}

export interface PosterDeps {
  http: Pick<PosterDownloader, 'image'>;
  cache: PosterCache;
  progress: Progress;
  signal: AbortSignal;
  /** TMDB_IMAGE_URL when TMDB is configured: where `tmdb:` posters are drawn from (else placeholders). */
  tmdbImageUrl?: string | null;
}

export interface PosterResult {
  /** One per film, in order: the poster bytes at the tile size, or null for a placeholder tile. */
  tiles: (Buffer | null)[];
  /** One sentence per placeholder, saying why. */
  notes: string[];
  /** Placeholders because Letterboxd refused (the poster or its lookup): docs/architecture.md#outcomes counts these. */
  refused: number;
}

function named(f: CollectedFilm): string {
  return f.year === null ? `"${f.title}"` : `"${f.title} (${f.year})"`;
}

function failureNote(f: CollectedFilm, err: PosterError, fromTmdb: boolean): string {
  if (fromTmdb) {
    return err.reason === 'refused' || err.reason === 'not-found'
      ? `TMDB has no poster image for ${named(f)} any more.`
      : err.reason === 'not-allowed'
        ? `The poster of ${named(f)} is not on the TMDB image host (TMDB_IMAGE_URL).`
        : `The poster of ${named(f)} could not be downloaded from TMDB.`;
  }
  switch (err.reason) {
    case 'refused':
      return `Letterboxd refused the poster of ${named(f)}.`;
    case 'not-found':
      return `The poster of ${named(f)} is gone from Letterboxd.`;
    case 'not-allowed':
      return `The poster of ${named(f)} is not on an allowed image host (LETTERBOXD_IMAGE_HOSTS).`;
    case 'too-large':
    case 'not-image':
      return `The poster of ${named(f)} is not a readable image.`;
    case 'bad-status':
    case 'unreachable':
      return `The poster of ${named(f)} could not be downloaded.`;
  }
}

/** Downloads (or reads from the cache) each film's poster at `tileWidth` × 1.5·`tileWidth`. */
export async function fetchPosters(deps: PosterDeps, films: readonly CollectedFilm[], tileWidth: number): Promise<PosterResult> {
  const tiles: (Buffer | null)[] = films.map(() => null);
  const notes: (string | null)[] = films.map(() => null);
  let refused = 0;
  let done = 0;
  const total = films.length;
  const limit = pLimit(DOWNLOAD_CONCURRENCY);
  const failed = new AbortController();
  const signal = AbortSignal.any([deps.signal, failed.signal]);
  // One download per URL even when two films share a poster.
  const downloads = new Map<string, Promise<Buffer>>();

  const download = (url: string): Promise<Buffer> => {
    let p = downloads.get(url);
    if (!p) {
      p = (async () => {
        const cached = await deps.cache.get(url);
        if (cached) return cached;
        const image = await deps.http.image(url, { signal, maxBytes: MAX_POSTER_BYTES });
        await deps.cache.put(url, image);
        return image.body;
      })();
      downloads.set(url, p);
    }
    return p;
  };

  deps.progress('downloading', 0, total, `Downloading posters: 0 of ${total}`);
  try {
    await Promise.all(
      films.map((f, i) =>
        limit(async () => {
          if (f.posterRefused) {
            refused++;
            notes[i] = `Letterboxd refused the poster lookup of ${named(f)}.`;
          } else if (!f.posterUrl) {
            notes[i] = `${named(f)} has no poster on Letterboxd${deps.tmdbImageUrl ? ' or TMDB' : ''}.`;
          } else if (isTmdbRef(f.posterUrl) && !deps.tmdbImageUrl) {
            // Remembered while TMDB was configured; never fetched from a host that is not allowed now.
            notes[i] = `The poster of ${named(f)} is on TMDB, which is not configured (TMDB_API_KEY).`;
          } else {
            const fromTmdb = isTmdbRef(f.posterUrl);
            const url = fromTmdb ? tmdbImageUrl(deps.tmdbImageUrl!, f.posterUrl, tileWidth) : sizedPosterUrl(f.posterUrl, tileWidth);
            try {
              tiles[i] = await download(url);
            } catch (err) {
              if (!(err instanceof PosterError)) throw err;
              // Only Letterboxd's refusals count toward the "more than half refused" rule (docs/architecture.md#outcomes).
              if (err.reason === 'refused' && !fromTmdb) refused++;
              notes[i] = failureNote(f, err, fromTmdb);
            }
          }
          done++;
          deps.progress('downloading', done, total, `Downloading posters: ${done} of ${total}`);
        }),
      ),
    );
  } catch (err) {
    limit.clearQueue();
    failed.abort(err);
    throw err;
  } finally {
    // Pruning is housekeeping: it never fails a mosaic.
    await deps.cache.prune().catch(() => {});
  }
  return { tiles, notes: notes.filter((n): n is string => n !== null), refused };
}
