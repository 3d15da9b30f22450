/** Lossless joining of strip JPEGs: the joined image decodes to exactly the single-encode pixels. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import sharp from 'sharp';
import { joinJpegStrips } from '../../../worker/compose/jpegJoin.js';

const WIDTH = 203; // not a multiple of the MCU width on purpose
const HEIGHT = 150;

function pattern(): Buffer {
  const raw = Buffer.alloc(WIDTH * HEIGHT * 3);
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      const o = (y * WIDTH + x) * 3;
      raw[o] = (x * 5 + y) & 255;
      raw[o + 1] = (y * 3) & 255;
      raw[o + 2] = ((x ^ y) * 7) & 255;
    }
  }
  return raw;
}

const options = { quality: 80, optimiseCoding: false, chromaSubsampling: '4:2:0' } as const;
const encode = (raw: Buffer, height: number, opts: object = options) =>
  sharp(raw, { raw: { width: WIDTH, height, channels: 3 } })
    .jpeg(opts)
    .toBuffer();

async function strips(raw: Buffer, stripHeight: number, opts: object = options): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let y = 0; y < HEIGHT; y += stripHeight) {
    const h = Math.min(stripHeight, HEIGHT - y);
    out.push(await encode(raw.subarray(y * WIDTH * 3, (y + h) * WIDTH * 3), h, opts));
  }
  return out;
}

test('joined strips decode to the same pixels as one encode', async () => {
  const raw = pattern();
  const whole = await sharp(await encode(raw, HEIGHT))
    .raw()
    .toBuffer();
  for (const stripHeight of [16, 48, 64]) {
    const joined = joinJpegStrips(await strips(raw, stripHeight));
    assert.ok(joined, `strip height ${stripHeight}`);
    const meta = await sharp(joined).metadata();
    assert.equal([meta.width, meta.height, meta.format], [WIDTH, HEIGHT, 'jpeg']);
    assert.ok((await sharp(joined).raw().toBuffer()).equals(whole), `strip height ${stripHeight}: pixels differ`);
  }
});

test('one strip is returned as it is', async () => {
  const one = await encode(pattern(), HEIGHT);
  assert.is(joinJpegStrips([one]), one);
  assert.is(joinJpegStrips([]), null);
});

test('refuses what cannot be joined losslessly', async () => {
  const raw = pattern();
  const parts = await strips(raw, 48);
  // A strip height that is not a whole number of MCU rows.
  assert.is(joinJpegStrips(await strips(raw, 40)), null);
  // Different quantisation tables.
  const other = await strips(raw, 48, { ...options, quality: 50 });
  assert.is(joinJpegStrips([parts[0], other[1], parts[2], parts[3]]), null);
  // Progressive JPEGs, and bytes that are no JPEG at all.
  assert.is(joinJpegStrips(await strips(raw, 48, { ...options, progressive: true })), null);
  assert.is(joinJpegStrips([parts[0], Buffer.from('not a jpeg')]), null);
});

test.run();
