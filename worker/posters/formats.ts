/**
 * What a poster may be, in one place: the formats accepted, the largest size decoded, the largest
 * download, and the "more than half refused" rule. The probe, the downloader, the cache and the
 * composer all read these, so a poster that passes one check passes them all.
 *
 * The rule chosen: JPEG, PNG, WebP and GIF up to 2000×3000 (6 Mpx). These are the formats Letterboxd's
 * CDN and TMDB serve; 2000×3000 is the largest either serves (TMDB's `original`). Before this module
 * the probe said 6 Mpx without AVIF while the composer said 40 Mpx with AVIF; the composer only ever
 * sees bytes the probe accepted, so the stricter rule changes nothing a poster can reach, and it keeps
 * the decompression-bomb bound (a 31 KB PNG declaring 16000×16000) at every decoder.
 */

/** sharp's names of the raster formats a poster may be; SVG and the rest can reference files or hide huge canvases. */
export const POSTER_FORMATS: ReadonlySet<string> = new Set(['jpeg', 'png', 'webp', 'gif']);

/** The Accept header a poster request sends: the formats above, and nothing a probe would refuse. */
export const POSTER_ACCEPT = 'image/webp,image/png,image/jpeg,image/gif;q=0.9,*/*;q=0.5';

/**
 * The largest poster decoded: 2000×3000 (Letterboxd serves up to 1000×1500, TMDB's `original` more).
 * Checked from the header before any pixel is decoded, and passed to every sharp() that reads a
 * poster as `limitInputPixels`.
 */
export const MAX_POSTER_PIXELS = 2000 * 3000;

/** The largest poster download accepted, in bytes. */
export const MAX_POSTER_BYTES = 2 * 1024 * 1024;

/** The file extension a cached poster of each accepted format gets. */
export const POSTER_EXTENSIONS: Readonly<Record<string, string>> = { jpeg: 'jpg', png: 'png', webp: 'webp', gif: 'gif' };

/**
 * Whether bytes start like one of the accepted formats: the cheap gate before a decoder sees them
 * (SVG above all, TIFF, PDF and HTML error pages never reach one).
 */
export function looksLikePoster(bytes: Buffer): boolean {
  if (bytes.length < 12) return false;
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return true; // JPEG
  if (bytes.readUInt32BE(0) === 0x89504e47) return true; // PNG
  if (bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP') return true;
  return bytes.toString('latin1', 0, 4) === 'GIF8';
}

/**
 * The outcome rule for refusals (docs/architecture.md#outcomes): when Letterboxd refused more than half of
 * a mosaic's posters (the poster itself or its lookup), the mosaic is not worth drawing. Once true, it
 * stays true, so URL resolution stops asking Letterboxd at that point.
 */
export function mostRefused(refused: number, films: number): boolean {
  return refused * 2 > films;
}
