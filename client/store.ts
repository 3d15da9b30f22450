/**
 * This device's past mosaics in IndexedDB (newest 50 seen), so `/` and `/user/...` render offline.
 * Every method degrades to "nothing stored" when IndexedDB is unavailable (some private modes).
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { MosaicSummary } from '../common/task.js';
import { RESULT_CACHE } from './sw-routes.js';
import { mosaicImages } from './api.js';
import { KEEP_MOSAICS, newestFirst, planEviction, toSummary, type SavedMosaic } from './retention.js';

interface MosaicDb extends DBSchema {
  mosaics: {
    key: string;
    value: SavedMosaic;
    indexes: { 'by-username': string };
  };
}

export interface MosaicStore {
  /** Records that this device has seen the mosaic; returns the task ids evicted to stay at 50. */
  save(summary: MosaicSummary): Promise<string[]>;
  get(taskId: string): Promise<MosaicSummary | null>;
  /** Every stored mosaic, newest first. */
  list(): Promise<MosaicSummary[]>;
  listByUser(username: string): Promise<MosaicSummary[]>;
  remove(taskId: string): Promise<void>;
}

export function openMosaicStore(name = 'moviemosaic'): MosaicStore {
  let dbp: Promise<IDBPDatabase<MosaicDb> | null> | null = null;
  const db = () =>
    (dbp ??= openDB<MosaicDb>(name, 1, {
      upgrade(d) {
        const s = d.createObjectStore('mosaics', { keyPath: 'taskId' });
        s.createIndex('by-username', 'username');
      },
    }).catch(() => null));

  async function dropImages(resultUrls: string[]): Promise<void> {
    if (typeof caches === 'undefined' || resultUrls.length === 0) return;
    try {
      const cache = await caches.open(RESULT_CACHE);
      await Promise.all(resultUrls.map((u) => cache.delete(u)));
    } catch {
      // The image cache has its own expiration; this is only tidying.
    }
  }

  return {
    async save(summary) {
      const d = await db();
      if (!d) return [];
      try {
        const tx = d.transaction('mosaics', 'readwrite');
        await tx.store.put({ ...summary, seenAt: Date.now() });
        const all = await tx.store.getAll();
        const evict = planEviction(all, KEEP_MOSAICS);
        const urls = all.filter((m) => evict.includes(m.taskId)).flatMap((m) => Object.values(mosaicImages(m)));
        await Promise.all(evict.map((id) => tx.store.delete(id)));
        await tx.done;
        await dropImages(urls);
        return evict;
      } catch {
        return [];
      }
    },
    async get(taskId) {
      const d = await db();
      const m = d ? await d.get('mosaics', taskId).catch(() => undefined) : undefined;
      return m ? toSummary(m) : null;
    },
    async list() {
      const d = await db();
      const all = d ? await d.getAll('mosaics').catch(() => []) : [];
      return newestFirst(all.map(toSummary));
    },
    async listByUser(username) {
      const d = await db();
      const all = d ? await d.getAllFromIndex('mosaics', 'by-username', username.toLowerCase()).catch(() => []) : [];
      return newestFirst(all.map(toSummary));
    },
    async remove(taskId) {
      const d = await db();
      if (!d) return;
      const m = await d.get('mosaics', taskId).catch(() => undefined);
      await d.delete('mosaics', taskId).catch(() => undefined);
      if (m) await dropImages(Object.values(mosaicImages(m)));
    },
  };
}

/** Asks the browser not to evict this origin's storage (the offline mosaics); resolves the outcome. */
export async function requestPersistentStorage(): Promise<boolean> {
  try {
    if (!navigator.storage?.persist) return false;
    if (await navigator.storage.persisted()) return true;
    return await navigator.storage.persist();
  } catch {
    return false;
  }
}
