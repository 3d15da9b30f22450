/** Image helpers for the compose tests: solid-colour posters and pixel sampling of results. */
import sharp from 'sharp';

export type RGB = [number, number, number];

/** A JPEG poster of one colour (quality 95, so a decoded pixel is within a few levels of it). */
export function solidPoster(rgb: RGB, width = 120, height = 180): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
    .jpeg({ quality: 95, chromaSubsampling: '4:4:4' })
    .toBuffer();
}

/** A distinct, saturated colour per index (never the background grey or the card grey). */
export function colorFor(i: number): RGB {
  const palette: RGB[] = [
    [220, 40, 40],
    [40, 200, 60],
    [40, 80, 220],
    [230, 200, 30],
    [200, 40, 200],
    [30, 200, 210],
    [250, 140, 20],
    [120, 60, 200],
    [150, 230, 120],
    [240, 110, 150],
  ];
  return palette[i % palette.length];
}

export interface Pixels {
  width: number;
  height: number;
  at(x: number, y: number): RGB;
}

export async function pixelsOf(image: Buffer): Promise<Pixels> {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return {
    width: info.width,
    height: info.height,
    at(x, y) {
      const o = (y * info.width + x) * info.channels;
      return [data[o], data[o + 1], data[o + 2]];
    },
  };
}

export function near(a: RGB, b: RGB, tolerance: number): boolean {
  return a.every((v, i) => Math.abs(v - b[i]) <= tolerance);
}

/** How many pixels in the box differ from `rgb` by more than `tolerance` in some channel. */
export function countDiffering(p: Pixels, box: { x: number; y: number; width: number; height: number }, rgb: RGB, tolerance = 12): number {
  let n = 0;
  for (let y = box.y; y < box.y + box.height; y++) {
    for (let x = box.x; x < box.x + box.width; x++) if (!near(p.at(x, y), rgb, tolerance)) n++;
  }
  return n;
}
