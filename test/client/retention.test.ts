import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { MosaicSummary } from '../../common/task.js';
import { KEEP_MOSAICS, mergeMosaics, newestFirst, planEviction, toSummary, type SavedMosaic } from '../../client/retention.js';
import { isCacheableImage, isCachedResult, isShellNavigation, RESULT_CACHE } from '../../client/sw-routes.js';
import { listImageUrl } from '../../client/api.js';

function summary(taskId: string, createdAt: string): MosaicSummary {
  return {
    taskId,
    username: 'dave',
    params: { mode: 'all', layout: 'grid', format: 'jpeg' },
    label: 'all films',
    filmCount: 1,
    width: 10,
    height: 10,
    contentType: 'image/jpeg',
    resultUrl: `/api/tasks/${taskId}/result`,
    createdAt,
    partial: false,
    note: null,
    films: [],
  };
}

test('planEviction keeps the 50 most recently seen', () => {
  const records = Array.from({ length: 53 }, (_, i) => ({ taskId: `t${i}`, seenAt: 1000 + i }));
  assert.is(KEEP_MOSAICS, 50);
  assert.equal(planEviction(records).sort(), ['t0', 't1', 't2']);
  assert.equal(planEviction(records.slice(0, 50)), []);
  assert.equal(
    planEviction(
      [
        { taskId: 'x', seenAt: 1 },
        { taskId: 'y', seenAt: 2 },
      ],
      1,
    ),
    ['x'],
  );
});

test('newestFirst and mergeMosaics: server copy wins, pruned ones stay', () => {
  const a = summary('a', '2026-11-01T00:00:00.000Z');
  const b = summary('b', '2026-11-03T00:00:00.000Z');
  const c = summary('c', '2026-11-02T00:00:00.000Z');
  assert.equal(
    newestFirst([a, b, c]).map((m) => m.taskId),
    ['b', 'c', 'a'],
  );
  const serverA = { ...a, note: 'fresh' };
  const merged = mergeMosaics([serverA, b], [a, c]);
  assert.equal(
    merged.map((m) => m.taskId),
    ['b', 'c', 'a'],
  );
  assert.is(merged[2].note, 'fresh');
});

test('toSummary strips the device-only field', () => {
  const saved: SavedMosaic = { ...summary('a', '2026-11-01T00:00:00.000Z'), seenAt: 5 };
  assert.not.ok('seenAt' in toSummary(saved));
});

test('navigations that get the app shell, and those the server keeps', () => {
  for (const p of ['/', '/?task=abc', '/task/abc', '/user/dave', '/user/dave/abc', '/nope']) assert.ok(isShellNavigation(p), p);
  for (const p of [
    '/api/tasks/x',
    '/api',
    '/api?x=1',
    '/ws',
    '/setup',
    '/setup/ios',
    '/ca.crt',
    '/ca.der',
    '/ca.mobileconfig',
    '/healthz',
    '/sw.js',
    '/assets/missing.js',
    '/ca.crt?dl=1',
  ]) {
    assert.not.ok(isShellNavigation(p), p);
  }
});

test('only the plain result URL goes to the offline image cache', () => {
  const o = 'https://pi.local';
  const u = (p: string) => new URL(p, o);
  assert.ok(isCachedResult(u('/api/tasks/abc/result'), o));
  assert.ok(isCachedResult(u('/api/tasks/abc/result/screen'), o), 'the mosaic page’s copy');
  assert.ok(isCachedResult(u('/api/tasks/abc/result/thumb'), o), 'a saved mosaic’s card');
  assert.not.ok(isCachedResult(u(listImageUrl('/api/tasks/abc/result/thumb')), o), 'other cards stay out');
  assert.not.ok(isCachedResult(u('/api/tasks/abc/result/poster'), o));
  const res = (status: number, cacheControl?: string) =>
    new Response(null, { status, headers: cacheControl ? { 'Cache-Control': cacheControl } : {} });
  assert.ok(isCacheableImage(res(200, 'public, max-age=31536000, immutable')));
  assert.ok(isCacheableImage(res(200)));
  assert.not.ok(isCacheableImage(res(200, 'no-store')), 'the full image standing in for a copy not made yet');
  assert.not.ok(isCacheableImage(res(404)));
  assert.not.ok(isCachedResult(u(listImageUrl('/api/tasks/abc/result')), o), 'gallery thumbnails stay out');
  assert.not.ok(isCachedResult(u('/api/tasks/abc/result'), o, 'DELETE'));
  assert.not.ok(isCachedResult(u('/api/tasks/abc/mosaic'), o));
  assert.not.ok(isCachedResult(new URL('https://evil.example/api/tasks/abc/result'), o));
  assert.is(RESULT_CACHE, 'mosaic-results');
  assert.is(listImageUrl('/r?x=1'), '/r?x=1&via=list');
});

test.run();
