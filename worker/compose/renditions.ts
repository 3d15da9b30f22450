/**
 * Smaller copies of a finished mosaic for the screens that show it small: a card thumbnail (the
 * gallery shows a 4:3 top-left crop, at most ~160 px wide: 320 × 240 covers a 2× screen) and a
 * screen rendition for the mosaic page (fits 1080 px, ≤ 100 KB). Each stays under its byte budget: WebP at
 * falling quality, then at smaller sizes, until it fits. The full image stays for zoom and download.
 */
import sharp from 'sharp';
import type { RenditionKind } from '../../common/task.js';

export interface Rendition {
  kind: RenditionKind;
  image: Buffer;
  contentType: string;
  width: number;
  height: number;
}

interface Spec {
  kind: RenditionKind;
  width: number;
  height: number;
  /** 'cover': crop to exactly width × height from the top left (what a card shows); 'inside': fit. */
  fit: 'cover' | 'inside';
  maxBytes: number;
}

export const RENDITION_SPECS: readonly Spec[] = [
  { kind: 'thumb', width: 320, height: 240, fit: 'cover', maxBytes: 40 * 1024 },
  // The page shows the mosaic fitted to the screen: a phone's ~360 CSS px at 3× is ~1080 device pixels,
  // and a 1,000-film grid's posters are then ~10 CSS px wide, so more pixels would not be seen. 100 KB,
  // not the 400 KB a screen copy may weigh: on a 1.6 Mbit/s phone link each 100 KB is half a second
  // before the page's largest paint (bench/phone.ts). A 1,000-film grid fits at ~860 px, quality ~45.
  // One copy rather than a srcset of several: a phone at 3× would pick the largest anyway, and "Zoom
  // to full size" is there for the detail.
  { kind: 'screen', width: 1080, height: 1080, fit: 'inside', maxBytes: 100 * 1024 },
];

const QUALITIES = [80, 68, 55, 45, 35];
/** The whole mosaic may be up to ~6,300 px square (a 3,000-film grid) and is our own output. */
const MAX_INPUT_PIXELS = 120_000_000;

async function encode(input: Buffer, spec: Spec, scale: number, quality: number) {
  const width = Math.max(16, Math.round(spec.width * scale));
  const height = Math.max(16, Math.round(spec.height * scale));
  const { data, info } = await sharp(input, { limitInputPixels: MAX_INPUT_PIXELS })
    .resize({ width, height, fit: spec.fit, position: 'left top', withoutEnlargement: spec.fit === 'inside' })
    .webp({ quality, effort: 4 })
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** One rendition within its budget: lower quality first, then 80 % of the size, a few times over. */
export async function makeRendition(input: Buffer, spec: Spec): Promise<Rendition> {
  let last: Awaited<ReturnType<typeof encode>> | null = null;
  for (let scale = 1; scale > 0.2; scale *= 0.8) {
    for (const q of QUALITIES) {
      last = await encode(input, spec, scale, q);
      if (last.data.length <= spec.maxBytes) {
        return { kind: spec.kind, image: last.data, contentType: 'image/webp', width: last.width, height: last.height };
      }
    }
  }
  throw new RangeError(`the ${spec.kind} rendition stays over ${spec.maxBytes} bytes (${last?.data.length ?? 0} at the smallest size)`);
}

/** Both renditions of a mosaic image. */
export async function makeRenditions(input: Buffer): Promise<Rendition[]> {
  const out: Rendition[] = [];
  for (const spec of RENDITION_SPECS) out.push(await makeRendition(input, spec));
  return out;
}
