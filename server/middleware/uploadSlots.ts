/**
 * The export upload's slots: at most `slots` uploads read and parsed at once (each may hold 20 MB and
 * its CSVs in memory), at most one per client (server/clientKey.ts), and the others wait in a fair
 * queue: first come, first served, one place per client, so one guest cannot take every slot or every
 * place in line. A wait is bounded (`maxWaitMs`); a full line or a second upload from the same client
 * is refused at once with 429. Slow senders are cut by the body reader's minimum rate, so a held slot
 * frees within seconds of a trickle starting. Hand-written rather than p-limit (already a dependency):
 * p-limit queues without keys, so it cannot give each client one place, nor drop a waiter who left.
 */
import { HttpError } from './errors.js';

export interface UploadSlotOptions {
  slots: number;
  /** Clients waiting for a slot at most (default 20). */
  maxWaiting?: number;
  /** How long one waits before a 429 (default 20 s; the whole request must finish within 30 s). */
  maxWaitMs?: number;
}

export interface UploadSlots {
  /**
   * Resolves with the release function once `key` holds a slot. Rejects with 429 RATE_LIMITED when
   * this client already holds or waits for one, the line is full, or the wait ran out; `gone`
   * (the client hung up) takes the client out of the line.
   */
  acquire(key: string, gone?: Promise<void>): Promise<() => void>;
  stats(): { busy: number; waiting: number };
}

interface Waiter {
  key: string;
  grant: () => void;
}

const busyError = (message: string, seconds: number) =>
  new HttpError(429, 'RATE_LIMITED', message, { headers: { 'Retry-After': String(seconds), Connection: 'close' } });

export function createUploadSlots(options: UploadSlotOptions): UploadSlots {
  const maxWaiting = options.maxWaiting ?? 20;
  const maxWaitMs = options.maxWaitMs ?? 20_000;
  const holders = new Set<string>();
  const line: Waiter[] = [];

  const releaseFor = (key: string) => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      holders.delete(key);
      const next = line.shift();
      if (next) next.grant();
    };
  };
  const take = (key: string) => {
    holders.add(key);
    return releaseFor(key);
  };

  return {
    acquire(key, gone) {
      if (holders.has(key) || line.some((w) => w.key === key)) {
        return Promise.reject(busyError('Another upload from this device is still being read; wait for it to finish.', 5));
      }
      if (holders.size < options.slots && line.length === 0) return Promise.resolve(take(key));
      if (line.length >= maxWaiting) {
        return Promise.reject(busyError('Many exports are being uploaded right now; try again in a minute.', 60));
      }
      return new Promise((resolve, reject) => {
        const leave = () => {
          clearTimeout(timer);
          const i = line.indexOf(waiter);
          if (i >= 0) line.splice(i, 1);
        };
        const waiter: Waiter = {
          key,
          grant: () => {
            leave();
            resolve(take(key));
          },
        };
        const timer = setTimeout(() => {
          leave();
          reject(busyError('Other exports are being read right now; try again in a few seconds.', 5));
        }, maxWaitMs);
        line.push(waiter);
        void gone?.then(() => {
          if (!line.includes(waiter)) return;
          leave();
          reject(busyError('The upload was abandoned while waiting.', 5));
        });
      });
    },
    stats: () => ({ busy: holders.size, waiting: line.length }),
  };
}
