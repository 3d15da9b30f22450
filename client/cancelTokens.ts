/**
 * The cancel tokens this device was handed by `POST /api/mosaics`, by task id: only the requests that
 * share a task may cancel it, so a reload or a new tab still needs the token. Kept in localStorage (a
 * few dozen short strings; synchronous, so the token is saved before the page moves on), newest
 * `KEEP_TOKENS` only. Without storage (some private modes) the tokens live as long as the page.
 */
export const KEEP_TOKENS = 100;
const KEY = 'moviemosaic.cancelTokens';

export interface CancelTokens {
  get(taskId: string): string | null;
  set(taskId: string, token: string): void;
  remove(taskId: string): void;
}

/** The tokens in `storage` (localStorage by default), under one key as `[taskId, token]` pairs, oldest first. */
export function cancelTokenStore(storage: Pick<Storage, 'getItem' | 'setItem'> | null = defaultStorage()): CancelTokens {
  let memory: [string, string][] = [];
  let inMemory = storage === null;
  const read = (): [string, string][] => {
    if (inMemory) return memory;
    try {
      const parsed: unknown = JSON.parse(storage!.getItem(KEY) ?? '[]');
      return Array.isArray(parsed)
        ? parsed.filter((p): p is [string, string] => Array.isArray(p) && typeof p[0] === 'string' && typeof p[1] === 'string')
        : [];
    } catch {
      return [];
    }
  };
  const write = (pairs: [string, string][]) => {
    memory = pairs.slice(-KEEP_TOKENS);
    if (inMemory) return;
    try {
      storage!.setItem(KEY, JSON.stringify(memory));
    } catch {
      // Storage full or refused: the page keeps them in memory from now on.
      inMemory = true;
    }
  };
  return {
    get: (taskId) => read().find((p) => p[0] === taskId)?.[1] ?? null,
    set: (taskId, token) => write([...read().filter((p) => p[0] !== taskId), [taskId, token]]),
    remove: (taskId) => write(read().filter((p) => p[0] !== taskId)),
  };
}

function defaultStorage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}
