/** Caps on open live sockets (server/live/caps.ts): in all, then per client, counted from the upgrade on. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSocketCaps } from '../../../server/live/caps.js';

test('per client: refused at the cap with 429, let in again once one is released', () => {
  const caps = createSocketCaps({ maxSockets: 100, perClient: 2, open: () => 0 });
  assert.is(caps.refusal('a'), null);
  caps.take('a');
  caps.take('a');
  assert.is(caps.refusal('a')?.status, 429);
  assert.match(caps.refusal('a')!.message, /already has 2 live connections/);
  assert.is(caps.refusal('b'), null, 'another client is not affected');
  caps.release('a');
  assert.is(caps.refusal('a'), null);
});

test('in all: 503 once the open sockets reach maxSockets, whoever asks', () => {
  let open = 0;
  const caps = createSocketCaps({ maxSockets: 3, perClient: 10, open: () => open });
  open = 3;
  assert.is(caps.refusal('fresh')?.status, 503);
  open = 2;
  assert.is(caps.refusal('fresh'), null);
});

test('releasing more than was taken never leaves a negative count behind', () => {
  const caps = createSocketCaps({ maxSockets: 100, perClient: 1, open: () => 0 });
  caps.release('a');
  caps.take('a');
  assert.is(caps.refusal('a')?.status, 429, 'the one socket taken still counts');
});

test.run();
