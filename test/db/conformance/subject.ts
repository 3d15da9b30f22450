/**
 * The storage port's conformance suite: test bodies written once against `Storage` (db/port.ts) and
 * run against both adapters (sqlite.test.ts on a real temporary file, postgres.test.ts on a throwaway
 * cluster). What one adapter does, the other must do the same way.
 */
import * as assert from 'uvu/assert';
import type { Test } from 'uvu';
import type { Eviction, NewResult, Storage } from '../../../db/port.js';
import type { FeedEntry } from '../../../worker/sources/parseRss.js';
import type { MosaicParams } from '../../../common/task.js';
import type { FakeClock } from '../../helpers/fakeClock.js';

/** One test's storage: made fresh (empty) before each test by the runner. */
export interface Subject {
  s: Storage;
  clock: FakeClock;
  /** What storing results pushed out of RESULTS_MB (budget: 10,000 bytes). */
  evictions: Eviction[];
  /** A second handle on the same database, as another process would open it (closed with the subject). */
  another(): Promise<Storage>;
}

/** The options every runner opens its adapter with, so both run the same rules. */
export const OPTIONS = { random: () => 0.5, leaseMs: 30_000, backoffBaseMs: 2_000, resultsBudgetBytes: 10_000 };

export type Register = (test: Test, subject: () => Subject) => void;

export const month: MosaicParams = { mode: 'month', month: '2026-11', layout: 'classic', format: 'jpeg' };
export const recent: MosaicParams = { mode: 'recent', count: 30, layout: 'grid', format: 'png' };
export const POLL = 'poll_feed';

export const result = (bytes: number, films = 2, fill = 7): NewResult => ({
  image: Buffer.alloc(bytes, fill),
  contentType: 'image/jpeg',
  width: 10,
  height: 10,
  films: Array.from({ length: films }, (_, i) => ({
    title: `Film ${i}`,
    year: 2000 + i,
    rating: null,
    slug: `film-${i}`,
    watchedDate: `2026-11-0${i + 1}`,
  })),
  partial: false,
  note: null,
});

export const feedEntries = (n: number, from = 0): FeedEntry[] =>
  Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return {
      viewingId: String(9_000 + i),
      title: `Archived film ${i}`,
      year: 2000 + i,
      rating: 3,
      watchedDate: `2026-11-${String(1 + i).padStart(2, '0')}`,
      rewatch: i % 2 === 1,
      liked: i % 3 === 0,
      slug: `archived-film-${i}`,
      posterUrl: `https://a.ltrbxd.com/resized/film-poster/${i}.jpg`,
      posterMissing: false,
      tmdbMovieId: i === 0 ? 123 : null,
      tmdbTvId: null,
      publishedDay: `2026-11-${String(1 + i).padStart(2, '0')}`,
      publishedAt: Date.UTC(2026, 10, 1 + i, 22),
    };
  });

/** Awaits `p` and returns what it rejected with (fails when it resolves). */
export async function rejection(p: Promise<unknown>, what: string): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  assert.unreachable(`${what}: did not reject`);
  return undefined;
}

/** Fails (rather than hangs) when an awaited signal never comes: a guard, not a wait. */
export async function within<T>(p: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, guard]);
  } finally {
    clearTimeout(timer);
  }
}
