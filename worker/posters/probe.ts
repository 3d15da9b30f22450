/** The poster check (docs/architecture.md#posters, docs/architecture.md#where-sharp-runs): do these bytes decode as an image, and what size is it? */
import sharp from 'sharp';

// libvips' operation cache keys a buffer input by its memory address, and Node reuses addresses
// (pooled small buffers, freed ones), so a cached result can answer for other bytes. Keep it off.
sharp.cache(false);

import { MAX_POSTER_PIXELS, POSTER_FORMATS } from './formats.js';

export interface ImageInfo {
  width: number;
  height: number;
  /** sharp's name for the format: 'jpeg', 'png', 'webp', 'gif', 'avif', 'heif', … */
  format: string;
}

/**
 * Whether a file of this format ends where its format says it ends. libvips' own truncation check
 * (failOn) is not reliable under concurrency: measured here, about 1 truncated JPEG in 200 passed
 * when probed while another image decoded. The structural check is exact and costs nothing.
 */
function isComplete(buf: Buffer, format: string): boolean {
  switch (format) {
    case 'jpeg': {
      let end = buf.length;
      while (end > 2 && buf[end - 1] === 0x00) end--; // some encoders pad after the end marker
      return buf[end - 2] === 0xff && buf[end - 1] === 0xd9;
    }
    case 'png':
      return buf.length >= 12 && buf.subarray(buf.length - 8, buf.length - 4).toString('latin1') === 'IEND';
    case 'webp':
      return buf.length >= 12 && buf.readUInt32LE(4) + 8 <= buf.length;
    case 'gif':
      return buf[buf.length - 1] === 0x3b;
    default:
      return true;
  }
}

/**
 * Returns the image's size and format, or null when the bytes are not a whole, decodable image.
 * The header alone is not enough: a JPEG cut off after its header still reports a size, so the
 * ending is checked and the pixels are decoded too (about 1 ms for a 120×180 tile).
 */
export async function probeImage(buf: Buffer): Promise<ImageInfo | null> {
  if (buf.length === 0) return null;
  try {
    const options = { failOn: 'truncated', limitInputPixels: MAX_POSTER_PIXELS } as const;
    const meta = await sharp(buf, options).metadata();
    if (!meta.format || !POSTER_FORMATS.has(meta.format) || !meta.width || !meta.height) return null;
    if (meta.width * meta.height > MAX_POSTER_PIXELS || !isComplete(buf, meta.format)) return null;
    // Decoding to raw pixels is the cheapest full decode (stats() costs ~8× more for its statistics).
    await sharp(buf, options).raw().toBuffer();
    return { width: meta.width, height: meta.height, format: meta.format };
  } catch {
    return null;
  }
}
