/**
 * One upstream host's share of the transport: its concurrency limit, its keep-alive agents, and the
 * spacing gate between request starts, with foreground requests ahead of background ones.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import pLimit, { type LimitFunction } from 'p-limit';
import type { Clock } from '../../common/clock.js';
import { abortReason } from './failure.js';

export interface Upstream {
  limit: LimitFunction;
  agent: { http: HttpAgent; https: HttpsAgent };
  spacingMs: number;
  /** Earliest start of the next request (the spacing gate's reservation). */
  nextAt: number;
  /** Foreground requests under way (waiting, in flight or between retries), and who waits for none. */
  foreground: number;
  idleWaiters: (() => void)[];
}

export function createUpstream(concurrency: number, spacingMs: number): Upstream {
  // p-limit is the concurrency limit; the agent must never queue behind it (a socket not yet back
  // in the pool would hold a spaced request and bunch it with the next one on the wire).
  const agentOptions = { keepAlive: true, maxFreeSockets: concurrency };
  return {
    limit: pLimit(concurrency),
    agent: { http: new HttpAgent(agentOptions), https: new HttpsAgent(agentOptions) },
    spacingMs,
    nextAt: 0,
    foreground: 0,
    idleWaiters: [],
  };
}

/** Reserves the next start slot on a spaced upstream and waits for it. */
export async function spacingGate(up: Upstream, clock: Clock, signal: AbortSignal): Promise<void> {
  if (up.spacingMs <= 0) return;
  const now = clock.now();
  const at = Math.max(now, up.nextAt);
  up.nextAt = at + up.spacingMs;
  if (at > now) await clock.sleep(at - now, signal);
}

/**
 * A background request's turn: once no foreground request is under way and the next spacing slot
 * is free now. It reserves nothing while it waits, so a foreground request arriving meanwhile goes first.
 */
export async function backgroundTurn(up: Upstream, clock: Clock, signal: AbortSignal): Promise<void> {
  for (;;) {
    if (signal.aborted) throw abortReason(signal);
    if (up.foreground > 0) {
      await new Promise<void>((resolve) => up.idleWaiters.push(resolve));
      continue;
    }
    const now = clock.now();
    if (up.nextAt > now) {
      await clock.sleep(up.nextAt - now, signal);
      continue;
    }
    return;
  }
}

/** Runs `fn` counted as a foreground request: background requests wait until none is under way. */
export async function asForeground<T>(up: Upstream, fn: () => Promise<T>): Promise<T> {
  up.foreground++;
  try {
    return await fn();
  } finally {
    up.foreground--;
    if (up.foreground === 0) for (const wake of up.idleWaiters.splice(0)) wake();
  }
}
