/**
 * A real worker process (worker/main.ts wiring, real database) whose `create_mosaic` action draws a
 * small PNG instead of visiting Letterboxd, so the browser suite tests the client against the real
 * server, socket and queue without depending on the scraping pipeline. Members with special names:
 *   nobody   → USER_NOT_FOUND
 *   slowpoke → 60 steps of 250 ms (time to reload, cancel, go offline)
 */
import { deflateSync } from 'node:zlib';
import { AppError } from '../../../common/errors.js';
import { systemClock } from '../../../common/clock.js';
import type { MosaicParams } from '../../../common/task.js';
import { runWorker } from '../../../worker/main.js';
import { FILMS } from './films.js';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** An RGB PNG of `cols`×`rows` coloured tiles (one per film), each 20×30 px. */
function tilesPng(cols: number, rows: number): { png: Buffer; width: number; height: number } {
  const tw = 20;
  const th = 30;
  const width = cols * tw;
  const height = rows * th;
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    for (let x = 0; x < width; x++) {
      const i = Math.floor(y / th) * cols + Math.floor(x / tw);
      raw[row + 1 + x * 3] = (i * 70) % 256;
      raw[row + 2 + x * 3] = (i * 130 + 60) % 256;
      raw[row + 3 + x * 3] = (i * 200 + 120) % 256;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.writeUInt8(8, 8); // bit depth
  ihdr.writeUInt8(2, 9); // RGB
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
  return { png, width, height };
}

runWorker(() => ({
  create_mosaic: async ({ task, signal, progress }) => {
    JSON.parse(task.paramsJson) as MosaicParams;
    if (task.username === 'nobody') {
      throw new AppError('USER_NOT_FOUND', 'Letterboxd has no member called "nobody"; check the spelling.');
    }
    const slow = task.username === 'slowpoke';
    progress('collecting', null, null, 'Reading the diary');
    const steps = slow ? 60 : 4;
    for (let i = 1; i <= steps; i++) {
      await systemClock.sleep(slow ? 250 : 60, signal);
      progress('downloading', i, steps, `Poster ${i} of ${steps}`);
    }
    progress('building', null, null, 'Drawing the mosaic');
    const { png, width, height } = tilesPng(3, 1);
    return { image: png, contentType: 'image/png', width, height, films: FILMS, partial: false, note: null };
  },
})).catch((err) => {
  console.error(err);
  process.exit(1);
});
