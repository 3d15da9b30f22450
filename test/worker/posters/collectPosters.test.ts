/**
 * The worker's first two stages together, through the fake: each mode ends in films with poster
 * bytes, and each fault the fake can inject ends in the outcome and code docs/architecture.md#error-codes and docs/architecture.md#outcomes name.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { AppError, type ErrorCode } from '../../../common/errors.js';
import type { MosaicParams } from '../../../common/task.js';
import { fetchPosters, type PosterResult } from '../../../worker/posters/fetch.js';
import { collectFilms, type CollectResult } from '../../../worker/sources/collect.js';
import { expectedFilms, startFakeLetterboxd, type Fault, type FakeLetterboxd } from '../../helpers/fakeLetterboxd.js';
import { tmpDir } from '../../helpers/tmp.js';
import { rig, type Rig } from '../../helpers/collectRig.js';

const now = new Date(2026, 10, 15, 12, 0, 0);
const base = { layout: 'grid', format: 'jpeg' } as const;
const MODES: Record<string, MosaicParams> = {
  month: { mode: 'month', month: '2026-11', ...base },
  'old month': { mode: 'month', month: '2026-05', ...base },
  recent: { mode: 'recent', count: 30, ...base },
  year: { mode: 'year', year: 2026, ...base },
  all: { mode: 'all', ...base },
};

let lb: FakeLetterboxd;
let r: Rig;
let tmp: { dir: string; cleanup(): void };

/** What the pipeline would do with the two stages, including the §10.4 rule on refused posters. */
async function run(user: string, params: MosaicParams): Promise<{ collected: CollectResult; posters: PosterResult }> {
  const collected = await collectFilms(r.collectDeps(), user, params);
  const posters = await fetchPosters(
    { http: r.http, cache: r.cache, signal: new AbortController().signal, progress: () => {} },
    collected.films,
    60,
  );
  if (posters.refused > collected.films.length / 2) throw new AppError('LETTERBOXD_BLOCKED', 'Letterboxd refused most posters.');
  return { collected, posters };
}

async function outcome(user: string, params: MosaicParams): Promise<ErrorCode | 'ok'> {
  try {
    await run(user, params);
    return 'ok';
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
}

test.before(async () => {
  lb = await startFakeLetterboxd({ now });
});
test.before.each(() => {
  lb.reset();
  tmp = tmpDir('mm-e2e-');
  // Timeouts short enough for the slow faults; backoff sleeps on the instant clock.
  r = rig(lb, join(tmp.dir, 'posters'), { timeouts: { response: 150 } });
});
test.after.each(() => {
  r.close();
  tmp.cleanup();
});
test.after(async () => {
  await lb.close();
});

for (const [name, params] of Object.entries(MODES)) {
  const user = name === 'old month' || name === 'year' ? 'erin' : 'dave';
  test(`${name}: ${user}'s films, in order, each with poster bytes (or a note)`, async () => {
    const { collected, posters } = await run(user, params);
    assert.equal(
      collected.films.map(({ posterUrl: _p, liked: _l, viewings: _v, ...f }) => f),
      expectedFilms(lb.members.get(user)!, params),
    );
    for (const [i, f] of collected.films.entries()) {
      if (f.posterUrl) assert.ok(posters.tiles[i] && posters.tiles[i].length > 100, f.title);
      else assert.is(posters.tiles[i], null);
    }
    assert.is(posters.notes.length, posters.tiles.filter((t) => t === null).length);
    assert.is(posters.refused, 0);
  });
}

const month = MODES.month;
const all = MODES.all;
const FAULTS: [string, Fault[], string, MosaicParams, ErrorCode | 'ok'][] = [
  ['feed challenged', [{ path: '/rss/', kind: 'challenge' }], 'dave', month, 'LETTERBOXD_BLOCKED'],
  ['feed 403', [{ path: '/rss/', kind: 'forbidden' }], 'dave', month, 'LETTERBOXD_BLOCKED'],
  ['feed 429, long Retry-After', [{ path: '/rss/', kind: 'rate-limit', retryAfter: 60 }], 'dave', month, 'LETTERBOXD_RATE_LIMITED'],
  ['feed 429, no Retry-After, persisting', [{ path: '/rss/', kind: 'rate-limit' }], 'dave', month, 'LETTERBOXD_RATE_LIMITED'],
  ['feed 429 once, short Retry-After', [{ path: '/rss/', kind: 'rate-limit', retryAfter: 2, times: 1 }], 'dave', month, 'ok'],
  ['feed 503 persisting', [{ path: '/rss/', kind: 'server-error' }], 'dave', month, 'LETTERBOXD_UNREACHABLE'],
  ['feed 500 twice', [{ path: '/rss/', kind: 'server-error', status: 500, times: 2 }], 'dave', month, 'ok'],
  ['feed slow', [{ path: '/rss/', kind: 'slow', delayMs: 3000 }], 'dave', month, 'LETTERBOXD_UNREACHABLE'],
  ['feed truncated', [{ path: '/rss/', kind: 'truncate' }], 'dave', month, 'LETTERBOXD_UNREACHABLE'],
  ['feed truncated once', [{ path: '/rss/', kind: 'truncate', times: 1 }], 'dave', month, 'ok'],
  ['feed connection reset', [{ path: '/rss/', kind: 'reset' }], 'dave', month, 'LETTERBOXD_UNREACHABLE'],
  ['feed unreadable', [{ path: '/rss/', kind: 'garbage' }], 'dave', month, 'LETTERBOXD_CHANGED'],
  ['feed corrupt bytes', [{ path: '/rss/', kind: 'corrupt' }], 'dave', month, 'LETTERBOXD_CHANGED'],
  ['unknown member', [], 'ghost', month, 'USER_NOT_FOUND'],
  ['feed redirects off-site', [{ path: '/rss/', kind: 'redirect' }], 'dave', month, 'LETTERBOXD_UNREACHABLE'],
  ['films page 2 challenged', [{ path: '/films/page/2/', kind: 'challenge' }], 'bigfan', all, 'LETTERBOXD_BLOCKED'],
  ['films page 1 rate-limited long', [{ path: '/films/', kind: 'rate-limit', retryAfter: 45 }], 'dave', all, 'LETTERBOXD_RATE_LIMITED'],
  ['films page unreadable', [{ path: '/dave/films/', kind: 'garbage' }], 'dave', all, 'LETTERBOXD_CHANGED'],
  ['diary challenged (old month)', [{ path: '/diary/', kind: 'challenge' }], 'erin', MODES['old month'], 'LETTERBOXD_BLOCKED'],
  ['diary slow (year)', [{ path: '/diary/', kind: 'slow', delayMs: 3000 }], 'erin', MODES.year, 'LETTERBOXD_UNREACHABLE'],
  ['every poster challenged', [{ path: '/resized/', kind: 'challenge', server: 'images' }], 'dave', month, 'LETTERBOXD_BLOCKED'],
  ['every poster lookup challenged', [{ path: /^\/film\//, kind: 'challenge' }], 'dave', all, 'LETTERBOXD_BLOCKED'],
  ['posters corrupt', [{ path: '/resized/', kind: 'corrupt', server: 'images' }], 'dave', month, 'ok'],
  ['posters slow', [{ path: '/resized/', kind: 'slow', delayMs: 3000, server: 'images' }], 'dave', month, 'ok'],
  ['posters 503', [{ path: '/resized/', kind: 'server-error', server: 'images' }], 'dave', month, 'ok'],
  ['posters redirect off-host', [{ path: '/resized/', kind: 'redirect', server: 'images' }], 'dave', month, 'ok'],
  ['posters truncated once', [{ path: '/resized/', kind: 'truncate', times: 3, server: 'images' }], 'dave', month, 'ok'],
  [
    'poster 429 long',
    [{ path: '/resized/', kind: 'rate-limit', retryAfter: 30, server: 'images' }],
    'dave',
    month,
    'LETTERBOXD_RATE_LIMITED',
  ],
];

test('every fault ends in the right outcome and code', async () => {
  for (const [name, faults, user, params, want] of FAULTS) {
    // A fake, store and cache of its own per case: a client that gives up mid-burst leaves requests
    // on the wire, and nothing learned in one case may help the next.
    const fake = await startFakeLetterboxd({ now, faults });
    const dir = tmpDir('mm-e2e-');
    const saved = [lb, r];
    [lb, r] = [fake, rig(fake, join(dir.dir, 'posters'), { timeouts: { response: 150 } })];
    try {
      assert.is(await outcome(user, params), want, name);
    } finally {
      r.close();
      [lb, r] = saved as [FakeLetterboxd, Rig];
      await fake.close();
      dir.cleanup();
    }
  }
});

test('placeholder faults leave notes, and a poster that came through once is not asked again', async () => {
  lb.setFaults([{ path: '/resized/', kind: 'corrupt', server: 'images', times: 2 }]);
  const { posters } = await run('dave', month);
  assert.is(posters.tiles.filter((t) => t === null).length, 3, 'two corrupt, one without poster');
  assert.is(posters.notes.filter((n) => n.endsWith('is not a readable image.')).length, 2);
  lb.reset();
  await run('dave', month);
  assert.is(lb.count('/resized/', 'images'), 2, 'only the two that failed are asked again');
});

test.run();
