/**
 * The on-disk poster cache's entries (`poster_cache`: URL → file, size, last use), pruned least
 * recently used first under a byte budget. Local to the worker host that holds the files: never
 * shared through the storage port.
 */
import type { Db } from './open.js';
import { writeTx } from './open.js';

export interface CachedPoster {
  url: string;
  /** File name inside the posters directory. */
  file: string;
  bytes: number;
  contentType: string | null;
  etag: string | null;
  width: number | null;
  height: number | null;
}

interface CachedPosterRow {
  url: string;
  file: string;
  bytes: number;
  content_type: string | null;
  etag: string | null;
  width: number | null;
  height: number | null;
}

export type PosterCacheStore = ReturnType<typeof createPosterCacheStore>;

/** Builds the cache-entry functions over one connection, with statements prepared once. */
export function createPosterCacheStore(db: Db) {
  const s = {
    files: db.prepare<[], string>(`SELECT file FROM poster_cache`).pluck(),
    cached: db.prepare<[string], CachedPosterRow>(`
      SELECT url, file, bytes, content_type, etag, width, height FROM poster_cache WHERE url = ?`),
    recordCached: db.prepare<[string, string, number, string | null, string | null, number | null, number | null, number, number]>(`
      INSERT INTO poster_cache (url, file, bytes, content_type, etag, width, height, created_at, last_used_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (url) DO UPDATE SET
        file = excluded.file, bytes = excluded.bytes, content_type = excluded.content_type,
        etag = excluded.etag, width = excluded.width, height = excluded.height,
        last_used_at = excluded.last_used_at`),
    touch: db.prepare<[number, string]>(`UPDATE poster_cache SET last_used_at = ? WHERE url = ?`),
    forget: db.prepare<[string]>(`DELETE FROM poster_cache WHERE url = ?`),
    size: db.prepare<[], { files: number; bytes: number }>(`SELECT count(*) AS files, coalesce(sum(bytes), 0) AS bytes FROM poster_cache`),
    oldest: db.prepare<[number], { url: string; file: string; bytes: number }>(`
      SELECT url, file, bytes FROM poster_cache ORDER BY last_used_at, url LIMIT ?`),
  };

  return {
    cachedPoster(url: string): CachedPoster | undefined {
      const r = s.cached.get(url);
      return (
        r && {
          url: r.url,
          file: r.file,
          bytes: r.bytes,
          contentType: r.content_type,
          etag: r.etag,
          width: r.width,
          height: r.height,
        }
      );
    },

    /** Every file name the cache has a row for. */
    cachedFiles(): Set<string> {
      return new Set(s.files.all());
    },

    /** Records a poster just written to disk (as most recently used). */
    recordCachedPoster(p: CachedPoster, now: number): void {
      writeTx(db, () => s.recordCached.run(p.url, p.file, p.bytes, p.contentType, p.etag, p.width, p.height, now, now));
    },

    markPosterUsed(url: string, now: number): void {
      writeTx(db, () => s.touch.run(now, url));
    },

    /** Drops a cache row whose file has gone (another process pruned it). */
    forgetCachedPoster(url: string): void {
      writeTx(db, () => s.forget.run(url));
    },

    cacheSize(): { files: number; bytes: number } {
      return s.size.get()!;
    },

    /**
     * Deletes the least recently used rows until the cache fits `budgetBytes`, and returns them so
     * the caller can delete their files (after the transaction: no file I/O while holding the lock).
     */
    evictToBudget(budgetBytes: number): { url: string; file: string }[] {
      return writeTx(db, () => {
        let { bytes } = s.size.get()!;
        const evicted: { url: string; file: string }[] = [];
        while (bytes > budgetBytes) {
          const batch = s.oldest.all(100);
          if (batch.length === 0) break;
          for (const r of batch) {
            if (bytes <= budgetBytes) break;
            s.forget.run(r.url);
            bytes -= r.bytes;
            evicted.push({ url: r.url, file: r.file });
          }
        }
        return evicted;
      });
    },
  };
}
