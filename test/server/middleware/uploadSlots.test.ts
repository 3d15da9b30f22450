/** The export upload's slots (server/middleware/uploadSlots.ts): per client, a fair line, bounded waits. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createUploadSlots } from '../../../server/middleware/uploadSlots.js';
import { HttpError } from '../../../server/middleware/errors.js';

const refusal = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  assert.instance(err, HttpError);
  return err as HttpError;
};

test('one slot per client; others wait in arrival order, one place each; a release hands the slot on', async () => {
  const slots = createUploadSlots({ slots: 2 });
  const a = await slots.acquire('a');
  const b = await slots.acquire('b');
  assert.equal(slots.stats(), { busy: 2, waiting: 0 });
  const second = await refusal(slots.acquire('a'));
  assert.equal([second.httpStatus, second.code], [429, 'RATE_LIMITED']);
  assert.match(second.message, /Another upload from this device/);

  const order: string[] = [];
  const c = slots.acquire('c').then((r) => (order.push('c'), r));
  const d = slots.acquire('d').then((r) => (order.push('d'), r));
  assert.match((await refusal(slots.acquire('c'))).message, /Another upload/, 'a client waiting already has its place');
  assert.equal(slots.stats(), { busy: 2, waiting: 2 });
  a();
  a(); // a second release is harmless
  const rc = await c;
  assert.equal(order, ['c']);
  b();
  const rd = await d;
  assert.equal(order, ['c', 'd']);
  rc();
  rd();
  assert.equal(slots.stats(), { busy: 0, waiting: 0 });
});

test('the line is bounded in length and in time; a client that hangs up leaves it', async () => {
  const slots = createUploadSlots({ slots: 1, maxWaiting: 2, maxWaitMs: 50 });
  const held = await slots.acquire('a');
  let hangUp!: () => void;
  const gone = new Promise<void>((r) => (hangUp = r));
  const b = slots.acquire('b', gone);
  const c = slots.acquire('c');
  const full = await refusal(slots.acquire('d'));
  assert.match(full.message, /Many exports/);
  hangUp();
  assert.match((await refusal(b)).message, /abandoned/);
  assert.equal(slots.stats(), { busy: 1, waiting: 1 });
  // c waits longer than maxWaitMs: refused, with Retry-After.
  const late = await refusal(c);
  assert.is(late.headers['Retry-After'], '5');
  assert.equal(slots.stats(), { busy: 1, waiting: 0 });
  held();
  assert.equal(slots.stats(), { busy: 0, waiting: 0 });
});

test.run();
