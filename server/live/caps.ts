/**
 * Caps on open live sockets: in all (a server cannot hold unbounded sockets) and per client
 * (server/clientKey.ts; SOCKETS_PER_CLIENT), so one guest cannot take them all. A socket is counted
 * from its upgrade request on, so a burst of handshakes still under way cannot overshoot.
 */
export interface SocketCaps {
  /** Why a new socket from `key` is refused now (status and sentence), or null to let it in. */
  refusal(key: string): { status: number; message: string } | null;
  /** Counts a socket of `key` as open (from its upgrade request on). */
  take(key: string): void;
  /** One socket of `key` is gone (closed, or its handshake failed). */
  release(key: string): void;
}

export function createSocketCaps(options: { maxSockets: number; perClient: number; open: () => number }): SocketCaps {
  const { maxSockets, perClient } = options;
  /** Open (or opening) sockets per client key; an entry goes when its count reaches 0. */
  const perKey = new Map<string, number>();
  return {
    refusal(key) {
      if (options.open() >= maxSockets) return { status: 503, message: 'Too many live connections; try again later.' };
      if ((perKey.get(key) ?? 0) >= perClient) {
        return { status: 429, message: `This device already has ${perClient} live connections open; close some pages and try again.` };
      }
      return null;
    },
    take(key) {
      perKey.set(key, (perKey.get(key) ?? 0) + 1);
    },
    release(key) {
      const n = (perKey.get(key) ?? 1) - 1;
      if (n <= 0) perKey.delete(key);
      else perKey.set(key, n);
    },
  };
}
