/**
 * Both poster stores over one connection, for the worker (which today keeps its knowledge and its
 * cache entries in the same SQLite file): poster knowledge (posterKnowledge.ts, shared per film) and
 * the cache entries (posterCache.ts, local to the worker host).
 */
import type { Db } from './open.js';
import { createPosterKnowledge } from './posterKnowledge.js';
import { createPosterCacheStore } from './posterCache.js';

export * from './posterKnowledge.js';
export * from './posterCache.js';

export type PosterStore = ReturnType<typeof createPosterStore>;

export function createPosterStore(db: Db) {
  return { ...createPosterKnowledge(db), ...createPosterCacheStore(db) };
}
