/**
 * Posters (docs/architecture.md#posters, docs/architecture.md#outcomes): downloaded once at the tile size from the allowed image hosts (TMDB's
 * at the smallest of its sizes at least the tile's width), kept on
 * disk (shared by every worker process: temp file, then rename) with metadata in SQLite, pruned least
 * recently used first under a byte budget. A missing, refused or broken poster is a null tile and a
 * note, never a failed task.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { systemClock, type Clock } from '../common/clock.js';
import type { PosterStore } from '../db/posters.js';
import { PosterError, type Http, type ImageResponse } from './http.js';
import { isTmdbRef, tmdbImageUrl } from './tmdb.js';
import type { CollectedFilm, Progress } from './sources/types.js';

/** The CDN renders any `-0-{W}-0-{H}-crop` size of a poster it was asked for. */
const CDN_SIZE = /-0-\d+-0-\d+-crop(?=\.[a-z]+(?:[?#]|$))/i;
const MAX_POSTER_BYTES = 2 * 1024 * 1024;
const DOWNLOAD_CONCURRENCY = 8;
/** A temp file this old belongs to no download in progress. */
const STALE_TEMP_MS = 60 * 60 * 1000;

/**
 * The URL of `url` at `tileWidth` × 1.5·`tileWidth`. Only the size part is rewritten, and only in a
 * URL Letterboxd gave us (the name part is not always the slug, and a wrong name is a 403); a URL
 * without the size pattern is returned as given.
 */
export function sizedPosterUrl(url: string, tileWidth: number): string {
  return url.replace(CDN_SIZE, `-0-${tileWidth}-0-${Math.round(tileWidth * 1.5)}-crop`);
}

/** The on-disk cache, as fetchPosters sees it: nothing else in the database is within its reach. */
export interface PosterCache {
  get(url: string): Promise<Buffer | null>;
  put(url: string, image: ImageResponse): Promise<void>;
  /** Deletes least recently used posters until the cache fits its budget. */
  prune(): Promise<void>;
}

export interface PosterCacheOptions {
  /** The posters folder (DATA_DIR/posters). */
  dir: string;
  store: Pick<PosterStore, 'cachedPoster' | 'recordCachedPoster' | 'markPosterUsed' | 'forgetCachedPoster' | 'evictToBudget' | 'cachedFiles'>;
  /** POSTER_CACHE_MB in bytes. */
  budgetBytes: number;
  clock?: Clock;
}

const EXTENSIONS: Record<string, string> = { jpeg: 'jpg', png: 'png', webp: 'webp', gif: 'gif', avif: 'avif', heif: 'heif' };

/**
 * The file system's own clock, read from a file written now. A file's age is measured on the clock that
 * stamped it, which need not be this process's: a folder on another machine, a Raspberry Pi whose clock
 * NTP set after boot, a faked clock in tests. Measured on the process clock, a poster another worker
 * had just written could look hours old and be deleted before its row was recorded.
 */
function fileSystemNow(dir: string): number {
  const probe = join(dir, `.now.${process.pid}.${randomUUID().slice(0, 8)}.tmp`);
  writeFileSync(probe, '');
  try {
    return statSync(probe).mtimeMs;
  } finally {
    rmSync(probe, { force: true });
  }
}

export function createPosterCache(options: PosterCacheOptions): PosterCache {
  const { dir, store, budgetBytes } = options;
  const clock = options.clock ?? systemClock;
  mkdirSync(dir, { recursive: true });
  // What a worker that died mid-way leaves behind: a temp file it never renamed, or a poster whose row
  // it never recorded (or whose row was evicted before its file was deleted). Such a file counts
  // against no budget, so it would stay for good. Only old ones go: a file just renamed by another
  // worker gets its row a moment later.
  const known = store.cachedFiles();
  const now = fileSystemNow(dir);
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.tmp') && known.has(name)) continue;
    const path = join(dir, name);
    try {
      if (now - statSync(path).mtimeMs > STALE_TEMP_MS) unlinkSync(path);
    } catch {
      // Another worker renamed or removed it first.
    }
  }

  return {
    async get(url) {
      const row = store.cachedPoster(url);
      if (!row) return null;
      try {
        const buf = await readFile(join(dir, row.file));
        store.markPosterUsed(url, clock.now());
        return buf;
      } catch (err) {
        // Another process pruned the file between our read of the row and of the file.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        store.forgetCachedPoster(url);
        return null;
      }
    },

    async put(url, image) {
      const name = `${createHash('sha256').update(url).digest('hex').slice(0, 40)}.${EXTENSIONS[image.info.format] ?? 'img'}`;
      // Several workers share the folder: a reader must never see a half-written file.
      const tmp = join(dir, `.${name}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`);
      await writeFile(tmp, image.body);
      try {
        await rename(tmp, join(dir, name));
      } catch (err) {
        await unlink(tmp).catch(() => {});
        throw err;
      }
      store.recordCachedPoster(
        {
          url,
          file: name,
          bytes: image.body.length,
          contentType: image.contentType,
          etag: image.etag,
          width: image.info.width,
          height: image.info.height,
        },
        clock.now(),
      );
    },

    async prune() {
      for (const { file } of store.evictToBudget(budgetBytes)) {
        await unlink(join(dir, file)).catch(() => {});
      }
    },
  };
}

export interface PosterDeps {
  http: Pick<Http, 'image'>;
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
