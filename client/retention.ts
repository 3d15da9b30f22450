/** Pure rules for this device's store of past mosaics (docs/architecture.md#offline): which to keep, in what order. */
import type { MosaicSummary } from '../common/task.js';

/** How many mosaics a device keeps (metadata in IndexedDB, images in Cache Storage). */
export const KEEP_MOSAICS = 50;

/** A mosaic as this device stores it: the server's summary plus when this device last opened it. */
export interface SavedMosaic extends MosaicSummary {
  /** ms since the epoch; the store keeps the most recently seen, like the image cache's expiration. */
  seenAt: number;
}

/** Task ids to evict so that at most `keep` remain, least recently seen first. */
export function planEviction(records: readonly Pick<SavedMosaic, 'taskId' | 'seenAt'>[], keep = KEEP_MOSAICS): string[] {
  if (records.length <= keep) return [];
  return [...records]
    .sort((a, b) => b.seenAt - a.seenAt || (a.taskId < b.taskId ? -1 : 1))
    .slice(keep)
    .map((r) => r.taskId);
}

/** Newest mosaic first by when it was made (ISO strings compare in time order). */
export function newestFirst<T extends Pick<MosaicSummary, 'createdAt' | 'taskId'>>(list: readonly T[]): T[] {
  return [...list].sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.taskId < b.taskId ? 1 : -1));
}

/**
 * Merges the server's list with this device's copies: the server's entries win (fresher), the
 * device adds what the server has pruned (docs/architecture.md#offline), newest first.
 */
export function mergeMosaics<T extends Pick<MosaicSummary, 'createdAt' | 'taskId'>>(server: readonly T[], local: readonly T[]): T[] {
  const byId = new Map<string, T>();
  for (const m of local) byId.set(m.taskId, m);
  for (const m of server) byId.set(m.taskId, m);
  return newestFirst([...byId.values()]);
}

/** Strips the device-only field before a summary is handed to components. */
export function toSummary(saved: SavedMosaic): MosaicSummary {
  const { seenAt: _seenAt, ...summary } = saved;
  return summary;
}
