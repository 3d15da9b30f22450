import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backoffDelay, DEFAULT_BACKOFF } from '../../client/backoff.js';

const opts = { baseMs: 500, capMs: 30_000 };

test('the ceiling doubles per attempt up to the cap', () => {
  const top = () => 0.999999999;
  assert.is(backoffDelay(0, opts, top), 499);
  assert.is(backoffDelay(1, opts, top), 999);
  assert.is(backoffDelay(5, opts, top), 15_999);
  assert.is(backoffDelay(6, opts, top), 29_999);
  assert.is(backoffDelay(60, opts, top), 29_999);
  assert.is(backoffDelay(5000, opts, top), 29_999, 'no overflow to NaN or Infinity');
});

test('full jitter: anywhere from 0 to the ceiling, driven by the random source', () => {
  assert.is(
    backoffDelay(4, opts, () => 0),
    0,
  );
  assert.is(
    backoffDelay(4, opts, () => 0.5),
    4000,
  );
  assert.is(
    backoffDelay(-3, opts, () => 0.5),
    250,
    'negative attempts count as the first',
  );
});

test('with Math.random, delays stay within bounds and actually spread', () => {
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const d = backoffDelay(3);
    assert.ok(d >= 0 && d < DEFAULT_BACKOFF.baseMs * 8, String(d));
    seen.add(d);
  }
  assert.ok(seen.size > 50, 'jittered, not synchronized');
});

test.run();
