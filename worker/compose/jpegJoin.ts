/**
 * Joins JPEGs of horizontal strips of one image into one baseline JPEG, pure byte work, no re-encoding.
 *
 * Why: a JPEG encoder is single-threaded, and the mosaic's encode would otherwise start only after the
 * last tile is decoded. Encoded strip by strip, each strip as soon as its tiles are in, the encode runs
 * alongside the decodes on the other core. The strips become restart intervals: a restart marker resets
 * the DC predictors exactly as a fresh encoder starts, and each strip's entropy-coded data already ends
 * byte-aligned (padded with 1 bits). The decoded pixels equal those of a single encode, provided that
 * every strip but the last is a whole number of MCU rows high and all strips share their tables (same
 * encoder settings; with Huffman optimisation off the tables are the standard ones).
 */

interface Segments {
  /** Offset of the SOF0 marker. */
  sof: number;
  /** Offset of the SOS marker. */
  sos: number;
  /** Offset of the first byte of entropy-coded data. */
  data: number;
}

function segments(jpeg: Buffer): Segments | null {
  if (jpeg.length < 4 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8) return null;
  let sof = -1;
  let p = 2;
  while (p + 4 <= jpeg.length) {
    if (jpeg[p] !== 0xff) return null;
    const marker = jpeg[p + 1];
    const length = jpeg.readUInt16BE(p + 2);
    // Progressive, arithmetic or lossless frames, or restart intervals of their own: not for us.
    if (marker >= 0xc1 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8) return null;
    if (marker === 0xdd) return null;
    if (marker === 0xc0) sof = p;
    if (marker === 0xda) return sof < 0 ? null : { sof, sos: p, data: p + 2 + length };
    p += 2 + length;
  }
  return null;
}

/** MCU size in px of a baseline JPEG's frame (16 for 4:2:0), from the SOF0 sampling factors. */
function mcuSize(jpeg: Buffer, sof: number): { width: number; height: number } {
  const components = jpeg[sof + 9];
  let h = 1;
  let v = 1;
  for (let c = 0; c < components; c++) {
    const sampling = jpeg[sof + 11 + c * 3];
    h = Math.max(h, sampling >> 4);
    v = Math.max(v, sampling & 15);
  }
  return { width: 8 * h, height: 8 * v };
}

/** The MCU height strips must be a multiple of, for JPEGs made with `chromaSubsampling`. */
export function stripAlignment(chromaSubsampling: '4:2:0' | '4:4:4'): number {
  return chromaSubsampling === '4:2:0' ? 16 : 8;
}

/**
 * One JPEG from strip JPEGs (top to bottom), or null when they cannot be joined losslessly: different
 * tables or widths, a strip not a whole number of MCU rows, more than 65535 MCUs per strip, or a
 * marker layout other than a plain baseline JPEG. The caller then encodes the image in one piece.
 */
export function joinJpegStrips(strips: readonly Buffer[]): Buffer | null {
  if (strips.length === 0) return null;
  if (strips.length === 1) return strips[0];
  const parsed = strips.map(segments);
  const first = parsed[0];
  if (!first || parsed.some((s) => s === null)) return null;
  const head = strips[0];
  const width = head.readUInt16BE(first.sof + 7);
  const stripHeight = head.readUInt16BE(first.sof + 5);
  const mcu = mcuSize(head, first.sof);
  if (stripHeight % mcu.height !== 0) return null;
  const interval = Math.ceil(width / mcu.width) * (stripHeight / mcu.height);
  if (interval > 0xffff) return null;

  let totalHeight = 0;
  for (let k = 0; k < strips.length; k++) {
    const s = parsed[k]!;
    const jpeg = strips[k];
    const height = jpeg.readUInt16BE(s.sof + 5);
    totalHeight += height;
    if (k < strips.length - 1 && height !== stripHeight) return null;
    if (jpeg[jpeg.length - 2] !== 0xff || jpeg[jpeg.length - 1] !== 0xd9) return null;
    // Everything up to the scan data must match the first strip's, the frame height aside.
    if (s.data !== first.data || s.sof !== first.sof) return null;
    for (let i = 0; i < s.data; i++) {
      if (i === s.sof + 5 || i === s.sof + 6) continue;
      if (jpeg[i] !== head[i]) return null;
    }
    if (jpeg.readUInt16BE(s.sof + 7) !== width) return null;
  }
  if (totalHeight > 0xffff) return null;

  const header = Buffer.from(head.subarray(0, first.data));
  header.writeUInt16BE(totalHeight, first.sof + 5);
  const dri = Buffer.from([0xff, 0xdd, 0x00, 0x04, interval >> 8, interval & 0xff]);
  const chunks: Buffer[] = [header.subarray(0, first.sos), dri, header.subarray(first.sos)];
  strips.forEach((jpeg, k) => {
    chunks.push(jpeg.subarray(parsed[k]!.data, jpeg.length - 2));
    if (k < strips.length - 1) chunks.push(Buffer.from([0xff, 0xd0 + (k % 8)]));
  });
  chunks.push(Buffer.from([0xff, 0xd9]));
  return Buffer.concat(chunks);
}
