/**
 * One rule for what a poster may be (worker/posters/formats.ts), held by the probe that checks a
 * download and by the composer that draws it: the same formats, the same pixel limit.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import sharp from 'sharp';
import { composeMosaic, configureSharp } from '../../../worker/compose/compose.js';
import { looksLikePoster, MAX_POSTER_PIXELS, mostRefused } from '../../../worker/posters/formats.js';
import { probeImage } from '../../../worker/posters/probe.js';

configureSharp();

const solid = (width: number, height: number) => sharp({ create: { width, height, channels: 3, background: { r: 200, g: 40, b: 40 } } });

/** Which of `posters` the composer draws as placeholders. */
async function placeholders(posters: Buffer[]): Promise<number[]> {
  const films = posters.map((_, i) => ({ title: `Film ${i + 1}`, year: 2000, rating: null, slug: `film-${i + 1}`, watchedDate: null }));
  const out = await composeMosaic({ username: 'dave', label: 'x', films, tiles: posters, layout: 'grid', format: 'png', tileWidth: 60 });
  return out.placeholders;
}

test('the pixel limit: a poster of exactly 2000×3000 passes the probe and is drawn; one pixel row more fails both', async () => {
  assert.is(MAX_POSTER_PIXELS, 2000 * 3000);
  const largest = await solid(2000, 3000).png().toBuffer();
  const over = await solid(2000, 3001).png().toBuffer();
  assert.ok(await probeImage(largest), 'the largest poster passes the probe');
  assert.is(await probeImage(over), null, 'one row more is refused by the probe');
  assert.equal(await placeholders([largest, over]), [1], 'and by the composer, which used to allow 40 Mpx');
});

test('the formats: JPEG, PNG, WebP and GIF pass both; AVIF and SVG pass neither', async () => {
  const accepted = await Promise.all([
    solid(60, 90).jpeg().toBuffer(),
    solid(60, 90).png().toBuffer(),
    solid(60, 90).webp().toBuffer(),
    solid(60, 90).gif().toBuffer(),
  ]);
  for (const buf of accepted) {
    assert.ok(looksLikePoster(buf));
    assert.ok(await probeImage(buf));
  }
  const avif = await solid(60, 90).avif().toBuffer();
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="60" height="90"><rect width="60" height="90" fill="red"/></svg>');
  for (const buf of [avif, svg]) {
    assert.not.ok(looksLikePoster(buf));
    assert.is(await probeImage(buf), null);
  }
  assert.equal(await placeholders([...accepted, avif, svg]), [4, 5], 'the composer used to draw AVIF the probe refused');
});

test('"more than half refused": half is not more than half', () => {
  assert.not.ok(mostRefused(5, 10));
  assert.ok(mostRefused(6, 10));
  assert.ok(mostRefused(1, 1));
  assert.not.ok(mostRefused(0, 0));
});

test.run();
