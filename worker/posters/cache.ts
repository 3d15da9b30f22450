/**
 * The poster disk cache (docs/architecture.md#posters): files shared by every worker process (temp file,
 * then rename) with metadata in SQLite, pruned least recently used first under a byte budget.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { systemClock, type Clock } from '../../common/clock.js';
// The cache's entries describe files on this host's disk, so they stay local to each worker host by
// design, outside the storage port: worker/main.ts wires this SQLite store here.
import type { PosterCacheStore } from '../../db/sqlite/posterCache.js';
import type { ImageResponse } from './download.js';
import { POSTER_EXTENSIONS } from './formats.js';

/** A temp file this old belongs to no download in progress. */
const STALE_TEMP_MS = 60 * 60 * 1000;

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
  store: Pick<
    PosterCacheStore,
    'cachedPoster' | 'recordCachedPoster' | 'markPosterUsed' | 'forgetCachedPoster' | 'evictToBudget' | 'cachedFiles'
  >;
  /** POSTER_CACHE_MB in bytes. */
  budgetBytes: number;
  clock?: Clock;
}

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
      const name = `${createHash('sha256').update(url).digest('hex').slice(0, 40)}.${POSTER_EXTENSIONS[image.info.format] ?? 'img'}`;
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
