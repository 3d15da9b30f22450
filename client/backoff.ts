/** Reconnect delays: exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"). */

export interface BackoffOptions {
  /** Delay ceiling of the first retry, in ms. */
  baseMs: number;
  /** Largest delay ever returned, in ms. */
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, capMs: 30_000 };

/**
 * The delay before retry number `attempt` (0-based): uniform in [0, min(cap, base·2^attempt)).
 * Full jitter spreads the reconnects of many phones after a server restart instead of syncing them.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const n = Math.max(0, Math.floor(attempt));
  // 2 ** n overflows to Infinity for huge n, which min() then clamps to the cap.
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** n);
  return Math.floor(random() * ceiling);
}
