/**
 * Seeded randomness for the resilience suites: every random choice comes from one seed, printed by
 * each suite, so a failure reproduces with `SEED=<n>` (tests) or `npm run fuzz -- --seed <n>`.
 */
export interface Rng {
  readonly seed: number;
  /** 0 ≤ x < 1. */
  next(): number;
  /** Whole number in [lo, hi]. */
  int(lo: number, hi: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  shuffle<T>(items: readonly T[]): T[];
  /** An independent stream (e.g. one per case), derived from this one's seed and `label`. */
  fork(label: string | number): Rng;
}

/** mulberry32: tiny, fast, and good enough to pick test cases. */
export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng: Rng = {
    seed,
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    chance: (p) => next() < p,
    pick: (items) => items[Math.floor(next() * items.length)],
    shuffle(items) {
      const out = [...items];
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [out[i], out[j]] = [out[j], out[i]];
      }
      return out;
    },
    fork(label) {
      let h = seed ^ 0x9e3779b9;
      for (const ch of String(label)) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
      return createRng(h >>> 0);
    },
  };
  return rng;
}

/** The suite's seed: `SEED` from the environment, else a fixed default (so `npm test` is repeatable). */
export function suiteSeed(defaultSeed: number): number {
  const raw = process.env.SEED;
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isSafeInteger(n) ? n : defaultSeed;
}
