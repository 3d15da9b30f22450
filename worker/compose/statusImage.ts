/**
 * Draws the small pictures a stable link answers instead of a mosaic (common/statusImages.ts): a
 * dark card with what happened and what to do, in the bundled fonts. Run at build time
 * (scripts/status-images.ts), so the server only ever sends files.
 */
import sharp from 'sharp';
import type { Format } from '../../common/task.js';
import { STATUS_IMAGE_SIZE, type StatusImage } from '../../common/statusImages.js';
import { useBundledFonts } from './fonts.js';
import { colored } from './markup.js';

const BACKGROUND = '#14161b';

export async function drawStatusImage(image: StatusImage, format: Format): Promise<Buffer> {
  useBundledFonts();
  const { width, height } = STATUS_IMAGE_SIZE;
  const markup = `${colored(image.title, '#f2f2f2', { bold: true })}\n${colored(image.hint, '#9aa3b2')}`;
  const text = await sharp({
    text: { text: markup, font: 'DejaVu Sans 15', width: width - 48, rgba: true, spacing: 8, wrap: 'word' },
  })
    .png()
    .toBuffer();
  const meta = await sharp(text).metadata();
  const card = sharp({ create: { width, height, channels: 3, background: BACKGROUND } }).composite([
    { input: text, left: 24, top: Math.max(8, Math.round((height - (meta.height ?? 0)) / 2)) },
  ]);
  if (format === 'png') return card.png({ compressionLevel: 9, palette: true }).toBuffer();
  if (format === 'webp') return card.webp({ quality: 80 }).toBuffer();
  return card.jpeg({ quality: 85, mozjpeg: true }).toBuffer();
}
