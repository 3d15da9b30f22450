/**
 * Draws a mosaic (docs/architecture.md#the-mosaic): the only module that uses sharp to compose. Tiles are decoded in
 * parallel, each straight into a raw RGB canvas (a Buffer copy per tile row), and the canvas is encoded
 * without a second pass over it: a JPEG strip by strip while the rows below still decode (jpegJoin.ts),
 * PNG and WebP in one go. sharp's composite() of 100 overlays and a default encode cost several times
 * that. Text is Pango (sharp's text input) with the shipped fonts, placed by layout.ts and markup.ts and
 * blended into the canvas.
 */
import sharp from 'sharp';
import { CONTENT_TYPES, type Film, type Format, type Layout, type ReviewFigures } from '../../common/task.js';
import { useBundledFonts } from './fonts.js';
import { placeholderLines, planMosaic, type MosaicPlan, type PlacedText, type Rect } from './layout.js';
import { ANCHOR_MARKUP, blockMarkup, colored, type BlockLine } from './markup.js';
import { joinJpegStrips, stripAlignment } from './jpegJoin.js';
import { textWidth } from './metrics.js';
import { looksLikePoster, MAX_POSTER_PIXELS } from '../posters/formats.js';

export interface ComposeInput {
  username: string;
  /** periodLabel(params): "November 2026", "last 30 films", … */
  label: string;
  films: Film[];
  /** Poster bytes per film, usually a JPEG at the tile size; null when there is no poster. */
  tiles: (Buffer | null)[];
  layout: Layout;
  /** Grid columns (grid layout only). */
  columns?: number;
  format: Format;
  /** Requested tile width (TILE_WIDTH); tiles shrink when the image would exceed its size bound. */
  tileWidth: number;
  /** The figures a `review` layout draws in its band. */
  review?: ReviewFigures | null;
  signal?: AbortSignal;
}

export interface ComposeOutput {
  image: Buffer;
  width: number;
  height: number;
  contentType: string;
  note: string | null;
  /** The layout actually drawn: classic above 100 films is drawn as grid. */
  layout: Layout;
  /** Indexes of the films drawn as placeholder cards (no poster, or one that did not decode). */
  placeholders: number[];
}

export interface ComposeOptions {
  /** Tiles decoded at once; sharp queues them on libuv's pool (4 threads unless UV_THREADPOOL_SIZE). */
  decodeConcurrency?: number;
  /** JPEG and WebP quality, default 80. */
  quality?: number;
}

const BACKGROUND = 50; // rgb(50,50,50): one byte value, so filling the canvas is a memset
const CARD = [74, 74, 74] as const;
const CARD_EDGE = [92, 92, 92] as const;
const TEXT = '#e6e6e6';
const DIM = '#9a9a9a';
const STARS = '#00e054';
const STARS_RGB = [0, 224, 84] as const;
const TIMELINE_RGB = [64, 188, 244] as const;
const BASELINE_RGB = [110, 110, 110] as const;
const BAND_RGB = [36, 36, 36] as const;
const HEADER_NAME = '#ffffff';
const HEADER_REST = '#b4b4b4';
const FONT = 'DejaVu Sans';
/** cairo draws into surfaces at most 32767 px high; a batch of placeholder titles stays below. */
const MAX_BLOCK_HEIGHT = 30_000;

/**
 * sharp settings for a process that composes mosaics; call once from worker/main.ts. libvips' operation
 * cache only holds memory here (every tile is a different buffer), and one libvips thread per pipeline
 * suits many small parallel decodes on a small machine.
 */
export function configureSharp(options: { concurrency?: number } = {}): void {
  sharp.cache(false);
  sharp.concurrency(options.concurrency ?? 1);
}

/**
 * Loads fontconfig and the fonts once (tens of ms, the first text a process draws) so that the first
 * mosaic does not pay for it; worker/main.ts may call it at start-up.
 */
export async function warmUpText(): Promise<void> {
  useBundledFonts();
  await renderMarkup(blockMarkup([{ height: 20, markup: colored('★½ Amélie 🎬', TEXT, { bold: true }) }]), 13);
}

/** Builds the mosaic image. Missing or undecodable posters become placeholder cards, never an error. */
export async function composeMosaic(input: ComposeInput, options: ComposeOptions = {}): Promise<ComposeOutput> {
  useBundledFonts();
  const { films, tiles, signal } = input;
  if (tiles.length !== films.length) {
    throw new RangeError(`composeMosaic got ${films.length} films and ${tiles.length} tiles; they must match.`);
  }
  signal?.throwIfAborted();
  const plan = planMosaic({
    username: input.username,
    label: input.label,
    films,
    layout: input.layout,
    columns: input.columns,
    tileWidth: input.tileWidth,
    format: input.format,
    review: input.review,
  });
  const quality = options.quality ?? 80;
  const canvas = new Canvas(plan.width, plan.height, input.format === 'jpeg' ? jpegStripHeight(plan.width, plan.height) : plan.height);

  // Header and film list are queued first so that their Pango work overlaps the tile decodes.
  const text = Promise.all([drawHeader(canvas, plan), drawTextColumn(canvas, plan), drawReviewBand(canvas, plan)]);
  text.catch(() => {}); // awaited below; this only keeps an early failure from being "unhandled"
  const strips = input.format === 'jpeg' ? new StripEncoder(canvas, quality, text) : null;

  // Tile rows are released top to bottom as they fill up (placeholders drawn), so JPEG strips above
  // them can be encoded while the rows below are still decoding.
  const rowTop = (row: number) => (row < plan.rows ? (plan.cells[row * plan.columns]?.y ?? plan.height) : plan.height);
  const pending = Array.from({ length: plan.rows }, (_, r) => Math.max(0, Math.min(plan.columns, films.length - r * plan.columns)));
  const missing: number[][] = Array.from({ length: plan.rows }, () => []);
  let released = 0;
  let drawn: Promise<void> = Promise.resolve();
  const releaseRows = () => {
    const from = released;
    while (released < plan.rows && pending[released] === 0) released++;
    if (released === from) return;
    const cards = missing.slice(from, released).flatMap((row) => row.sort((a, b) => a - b));
    const bottom = released === plan.rows ? plan.height : rowTop(released);
    drawn = drawn.then(async () => {
      await drawPlaceholders(canvas, plan, films, cards, signal);
      strips?.release(bottom);
    });
    drawn.catch(() => {});
  };
  releaseRows();
  await forEachLimited(films.length, options.decodeConcurrency ?? 8, async (i) => {
    signal?.throwIfAborted();
    const pixels = await decodeTile(tiles[i], plan.tileWidth, plan.tileHeight);
    const row = Math.floor(i / plan.columns);
    if (pixels) canvas.putTile(pixels, plan.cells[i], plan.tileWidth, plan.tileHeight);
    else missing[row].push(i);
    pending[row]--;
    releaseRows();
  });
  await Promise.all([drawn, text]);
  signal?.throwIfAborted();

  const { data, width, height } = strips ? await strips.finish() : await encode(canvas, input.format as 'png' | 'webp', quality);
  return {
    image: data,
    width,
    height,
    contentType: CONTENT_TYPES[input.format],
    note: plan.note,
    layout: plan.layout,
    placeholders: missing.flat(),
  };
}

/**
 * A raw RGB image kept as horizontal strips, each its own Buffer, allocated (filled with the
 * background) when first drawn into and let go once taken for encoding. A JPEG mosaic is encoded strip
 * by strip as tile rows complete, so only the strips around the rows being decoded are in memory; other
 * formats use one strip, the whole image.
 */
class Canvas {
  private readonly strips: Array<Buffer | null>;
  private readonly taken: boolean[];
  /** Encoded strips' buffers, reused for strips further down: their pages are already mapped. */
  private readonly spare: Buffer[] = [];

  constructor(
    readonly width: number,
    readonly height: number,
    readonly stripHeight = height,
  ) {
    const count = Math.ceil(height / stripHeight);
    this.strips = new Array<Buffer | null>(count).fill(null);
    this.taken = new Array<boolean>(count).fill(false);
  }

  get stripCount(): number {
    return this.strips.length;
  }

  stripRows(k: number): { y0: number; y1: number } {
    return { y0: k * this.stripHeight, y1: Math.min(this.height, (k + 1) * this.stripHeight) };
  }

  /** The buffer holding row y and the byte offset of (x, y) in it. */
  private at(x: number, y: number): { buf: Buffer; offset: number } {
    const k = Math.floor(y / this.stripHeight);
    if (this.taken[k]) throw new Error(`mosaic row ${y} drawn after its strip was encoded`);
    let buf = this.strips[k];
    if (!buf) {
      const { y0, y1 } = this.stripRows(k);
      const size = this.width * (y1 - y0) * 3;
      const reused = this.spare.length && this.spare[this.spare.length - 1].length === size ? this.spare.pop() : undefined;
      buf = this.strips[k] = reused ? reused.fill(BACKGROUND) : Buffer.alloc(size, BACKGROUND);
    }
    return { buf, offset: ((y - k * this.stripHeight) * this.width + x) * 3 };
  }

  /** Hands strip k over (for encoding) and forgets it. */
  take(k: number): Buffer {
    this.at(0, this.stripRows(k).y0);
    const buf = this.strips[k]!;
    this.strips[k] = null;
    this.taken[k] = true;
    return buf;
  }

  /** Gives back a taken strip's buffer once nothing reads it any more. */
  recycle(buf: Buffer): void {
    if (this.spare.length < 4) this.spare.push(buf);
  }

  putTile(pixels: Buffer, at: { x: number; y: number }, width: number, height: number): void {
    const rowBytes = width * 3;
    for (let row = 0; row < height; row++) {
      const { buf, offset } = this.at(at.x, at.y + row);
      pixels.copy(buf, offset, row * rowBytes, (row + 1) * rowBytes);
    }
  }

  fill(rect: Rect, rgb: readonly [number, number, number]): void {
    const line = Buffer.alloc(rect.width * 3);
    for (let x = 0; x < rect.width; x++) line.set(rgb, x * 3);
    for (let y = rect.y; y < rect.y + rect.height; y++) {
      const { buf, offset } = this.at(rect.x, y);
      line.copy(buf, offset);
    }
  }

  /** Blends a straight-alpha RGBA image whose (0, 0) lands at (originX, originY), only inside `clip`. */
  blend(image: RenderedText, originX: number, originY: number, clip: Rect): void {
    const x0 = Math.max(clip.x, originX, 0);
    const x1 = Math.min(clip.x + clip.width, originX + image.width, this.width);
    const y0 = Math.max(clip.y, originY, 0);
    const y1 = Math.min(clip.y + clip.height, originY + image.height, this.height);
    const src = image.data;
    for (let y = y0; y < y1; y++) {
      let s = ((y - originY) * image.width + (x0 - originX)) * 4;
      const { buf: dst, offset } = this.at(x0, y);
      let d = offset;
      for (let x = x0; x < x1; x++, s += 4, d += 3) {
        const a = src[s + 3];
        if (a === 0) continue;
        if (a === 255) {
          dst[d] = src[s];
          dst[d + 1] = src[s + 1];
          dst[d + 2] = src[s + 2];
        } else {
          dst[d] += ((src[s] - dst[d]) * a + 127) / 255;
          dst[d + 1] += ((src[s + 1] - dst[d + 1]) * a + 127) / 255;
          dst[d + 2] += ((src[s + 2] - dst[d + 2]) * a + 127) / 255;
        }
      }
    }
  }
}

/** Runs `task(0..count-1)` with at most `limit` running at once; the first failure rejects. */
async function forEachLimited(count: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, count)) }, worker));
}

/** A poster as raw RGB at exactly the tile size, or null when it is missing or does not decode. */
async function decodeTile(bytes: Buffer | null, width: number, height: number): Promise<Buffer | null> {
  if (!bytes || !looksLikePoster(bytes)) return null;
  try {
    const { data, info } = await sharp(bytes, { failOn: 'truncated', limitInputPixels: MAX_POSTER_PIXELS })
      // A no-op for a poster already at the tile size; otherwise cover the tile, cropping the overflow.
      .resize(width, height, { fit: 'cover' })
      .flatten({ background: { r: CARD[0], g: CARD[1], b: CARD[2] } })
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    return info.width === width && info.height === height && info.channels === 3 ? data : null;
  } catch {
    return null; // corrupt, truncated, not an image, too large: a placeholder says so better than a failed task
  }
}

interface RenderedText {
  data: Buffer;
  width: number;
  height: number;
}

async function renderMarkup(markup: string, fontPx: number): Promise<RenderedText> {
  const { data, info } = await sharp({ text: { text: markup, font: `${FONT} ${fontPx}px`, rgba: true, dpi: 72 } })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

const anchorHeights = new Map<number, Promise<number>>();
/** Natural line height of the font at fontPx, as the anchor line renders (see markup.ts). */
function anchorHeight(fontPx: number): Promise<number> {
  let height = anchorHeights.get(fontPx);
  if (!height) {
    height = renderMarkup(ANCHOR_MARKUP, fontPx).then((r) => r.height);
    height.catch(() => anchorHeights.delete(fontPx));
    anchorHeights.set(fontPx, height);
  }
  return height;
}

/**
 * Renders lines as one block and blends them so that the first line's top is at `top` and text
 * starts at `left`, drawing only inside `clip`.
 */
async function drawBlock(canvas: Canvas, lines: BlockLine[], fontPx: number, left: number, top: number, clip: Rect) {
  if (lines.length === 0) return;
  const [image, anchor] = await Promise.all([renderMarkup(blockMarkup(lines), fontPx), anchorHeight(fontPx)]);
  canvas.blend(image, left - textWidth('█', fontPx), top - anchor, clip);
}

async function drawHeader(canvas: Canvas, plan: MosaicPlan): Promise<void> {
  const header = plan.header;
  if (!header) return;
  const markup = colored(header.username, HEADER_NAME, { bold: true }) + colored(header.rest, HEADER_REST);
  await drawBlock(canvas, [{ height: header.box.height, markup }], header.fontPx, header.box.x, header.box.y, header.box);
}

async function drawTextColumn(canvas: Canvas, plan: MosaicPlan): Promise<void> {
  const column = plan.textColumn;
  if (!column || column.rows.length === 0) return;
  const stars: BlockLine[] = [];
  const titles: BlockLine[] = [];
  let y = column.rows[0].top;
  for (const row of column.rows) {
    if (row.top > y) {
      stars.push({ height: row.top - y, markup: '' });
      titles.push({ height: row.top - y, markup: '' });
    }
    for (const line of row.lines) {
      const rated = line.stars !== '—';
      stars.push({ height: column.lineHeight, markup: colored(line.stars, rated ? STARS : DIM) });
      titles.push({
        height: column.lineHeight,
        markup: colored(line.title, TEXT, { isolate: true }) + (line.year ? colored(line.year, DIM) : ''),
      });
    }
    y = row.top + row.lines.length * column.lineHeight;
  }
  const { box, titleOffset, fontPx } = column;
  const top = column.rows[0].top;
  await Promise.all([
    drawBlock(canvas, stars, fontPx, box.x, top, { ...box, width: titleOffset }),
    drawBlock(canvas, titles, fontPx, box.x + titleOffset, top, { ...box, x: box.x + titleOffset, width: box.width - titleOffset }),
  ]);
}

/** One line of text whose line box's top-left is at `at`, clipped to `clip`. */
function drawLine(canvas: Canvas, at: PlacedText, markup: string, fontPx: number, height: number, clip: Rect): Promise<void> {
  return drawBlock(canvas, [{ height, markup }], fontPx, at.x, at.top, clip);
}

/**
 * The year in review's band: a darker panel with the figures, the ratings and timeline bar charts
 * (plain fills) and the first and last film. Every piece of text is its own small Pango render; they
 * run on libuv's pool beside the tile decodes.
 */
async function drawReviewBand(canvas: Canvas, plan: MosaicPlan): Promise<void> {
  const band = plan.review;
  if (!band) return;
  canvas.fill(band.box, BAND_RGB);
  const jobs: Promise<void>[] = [];
  const { lineHeight: lh } = band;
  for (const st of band.stats) {
    jobs.push(drawLine(canvas, st.value, colored(st.value.text, HEADER_NAME, { bold: true }), band.valuePx, lh.value, st.box));
    jobs.push(drawLine(canvas, st.label, colored(st.label.text, HEADER_REST), band.labelPx, lh.label, st.box));
  }
  for (const chart of band.charts) {
    const rgb = chart.kind === 'ratings' ? STARS_RGB : TIMELINE_RGB;
    for (const bar of chart.bars) if (bar.rect.height > 0) canvas.fill(bar.rect, rgb);
    canvas.fill(chart.baseline, BASELINE_RGB);
    jobs.push(drawLine(canvas, chart.title, colored(chart.title.text, HEADER_REST), band.labelPx, lh.label, chart.box));
    for (const label of chart.labels) {
      const color = chart.kind === 'ratings' ? STARS : DIM;
      jobs.push(drawLine(canvas, label, colored(label.text, color), band.labelPx, lh.label, chart.box));
    }
  }
  for (const line of band.lines) {
    const clip = { x: band.box.x, y: line.lead.top, width: band.box.width, height: lh.text };
    jobs.push(drawLine(canvas, line.lead, colored(line.lead.text, DIM), band.textPx, lh.text, clip));
    jobs.push(drawLine(canvas, line.text, colored(line.text.text, TEXT, { isolate: true }), band.textPx, lh.text, clip));
  }
  await Promise.all(jobs);
}

/**
 * Placeholder cards: a flat card with the title (and year) in it. Titles are rendered in batches, each
 * batch one Pango layout with one card-high slice per film, so a grid of 3,000 missing posters costs
 * tens of text renders, not thousands.
 */
async function drawPlaceholders(
  canvas: Canvas,
  plan: MosaicPlan,
  films: readonly Film[],
  indexes: readonly number[],
  signal: AbortSignal | undefined,
): Promise<void> {
  const { tileWidth: w, tileHeight: h, placeholder: style } = plan;
  for (const i of indexes) {
    const { x, y } = plan.cells[i];
    canvas.fill({ x, y, width: w, height: h }, CARD_EDGE);
    if (w > 2 && h > 2) canvas.fill({ x: x + 1, y: y + 1, width: w - 2, height: h - 2 }, CARD);
  }
  if (!style || indexes.length === 0) return;
  const perBatch = Math.max(1, Math.min(64, Math.floor(MAX_BLOCK_HEIGHT / h)));
  for (let start = 0; start < indexes.length; start += perBatch) {
    signal?.throwIfAborted();
    const batch = indexes.slice(start, start + perBatch);
    const lines: BlockLine[] = [];
    for (const i of batch) {
      const card = placeholderLines(films[i], w, h, style);
      const used = card.length * style.lineHeight;
      const above = Math.max(0, Math.floor((h - used) / 2));
      if (above > 0) lines.push({ height: above, markup: '' });
      for (const line of card) {
        lines.push({ height: style.lineHeight, markup: colored(line.text, line.dim ? DIM : TEXT, { isolate: !line.dim }) });
      }
      if (h - above - used > 0) lines.push({ height: h - above - used, markup: '' });
    }
    const [image, anchor] = await Promise.all([renderMarkup(blockMarkup(lines), style.fontPx), anchorHeight(style.fontPx)]);
    const anchorAdvance = textWidth('█', style.fontPx);
    batch.forEach((i, k) => {
      const { x, y } = plan.cells[i];
      const inner = { x: x + 1, y: y + 1, width: w - 2, height: h - 2 };
      canvas.blend(image, x + style.padding - anchorAdvance, y - k * h - anchor, inner);
    });
  }
}

interface Encoded {
  data: Buffer;
  width: number;
  height: number;
}

const JPEG = { optimiseCoding: false, chromaSubsampling: '4:2:0' } as const;
/** At least this many strips, so that encoding overlaps decoding… */
const MIN_STRIPS = 8;
/** …and strips of about this size, so that a big grid never holds its whole raw image. */
const STRIP_BYTES = 4 * 1024 * 1024;

/** Strip height for a JPEG canvas: whole MCU rows, at most 65535 MCUs per strip (a restart interval). */
function jpegStripHeight(width: number, height: number): number {
  const align = stripAlignment(JPEG.chromaSubsampling);
  const mcusPerRow = Math.ceil(width / align);
  const mcuRows = Math.ceil(height / align);
  const bySize = Math.floor(STRIP_BYTES / (width * 3 * align));
  return align * Math.max(1, Math.min(Math.floor(0xffff / mcusPerRow), Math.ceil(mcuRows / MIN_STRIPS), bySize));
}

function rawImage(pixels: Buffer, width: number, height: number) {
  return sharp(pixels, { raw: { width, height, channels: 3 } });
}

async function encodeJpeg(pixels: Buffer, width: number, height: number, quality: number): Promise<Encoded> {
  // Huffman optimisation costs about 3× the encode time for under 1% fewer bytes.
  const { data, info } = await rawImage(pixels, width, height)
    .jpeg({ quality, ...JPEG })
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** PNG or WebP of a one-strip canvas. */
async function encode(canvas: Canvas, format: 'png' | 'webp', quality: number): Promise<Encoded> {
  const image = rawImage(canvas.take(0), canvas.width, canvas.height);
  const { data, info } =
    format === 'png'
      ? await image.png({ compressionLevel: 3, adaptiveFiltering: false }).toBuffer({ resolveWithObject: true })
      : await image.webp({ quality, effort: 2 }).toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/**
 * Encodes a JPEG canvas strip by strip as rows become final, then joins the strips losslessly
 * (jpegJoin.ts). Nothing is encoded before `gate` (the text that spans every strip) has settled.
 */
class StripEncoder {
  private readonly jobs: Array<Promise<Buffer>> = [];
  private readyTo = 0;
  private next = 0;
  private open = false;

  constructor(
    private readonly canvas: Canvas,
    private readonly quality: number,
    private readonly gate: Promise<unknown>,
  ) {
    gate.then(
      () => {
        this.open = true;
        this.pump();
      },
      () => {},
    );
  }

  /** Rows above y are final. */
  release(y: number): void {
    this.readyTo = Math.max(this.readyTo, y);
    this.pump();
  }

  private pump(): void {
    if (!this.open) return;
    while (this.next < this.canvas.stripCount) {
      const { y0, y1 } = this.canvas.stripRows(this.next);
      if (y1 > this.readyTo) break;
      const pixels = this.canvas.take(this.next);
      const job = encodeJpeg(pixels, this.canvas.width, y1 - y0, this.quality).then((e) => {
        this.canvas.recycle(pixels);
        return e.data;
      });
      job.catch(() => {}); // awaited in finish()
      this.jobs.push(job);
      this.next++;
    }
  }

  async finish(): Promise<Encoded> {
    await this.gate;
    this.open = true;
    this.release(this.canvas.height);
    const parts = await Promise.all(this.jobs);
    const joined = joinJpegStrips(parts);
    if (joined) return { data: joined, width: this.canvas.width, height: this.canvas.height };
    // Not expected with sharp's baseline output; decoding the strips back keeps the result correct.
    const rows = await Promise.all(parts.map((part) => sharp(part).raw().toBuffer()));
    return encodeJpeg(Buffer.concat(rows), this.canvas.width, this.canvas.height, this.quality);
  }
}
