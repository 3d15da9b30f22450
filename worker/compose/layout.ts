/**
 * Mosaic geometry, pure (docs/architecture.md#the-mosaic, docs/architecture.md#grid-shape): grid shapes, where every tile and line of text goes, star
 * strings, title clean-up and fitting, and the size bound. compose.ts draws what this plans.
 */
import type { Film, Format, Layout, ReviewFigures } from '../../common/task.js';
import { graphemes, textWidth, type Weight } from './metrics.js';

/** Gap around and between classic tiles, in px. */
export const GAP = 10;
export const HEADER_HEIGHT = 50;
export const HEADER_FONT_PX = 22;
export const TEXT_COLUMN_MAX = 600;
/** Longest side of any mosaic. */
export const MAX_SIDE = 8192;
/**
 * Pixel budget of a JPEG mosaic. The longest-side bound alone still allows 67 Mpx for a square grid;
 * 40 Mpx keeps a 3,000-film grid's posters about 94×141 px.
 */
export const MAX_PIXELS = 40_000_000;
/**
 * PNG and WebP are encoded from the whole raw image at once (JPEG goes strip by strip) and their
 * encoders are slower and hungrier: a 40 Mpx grid takes seconds and over 300 MB, and a 40 Mpx PNG of
 * posters is some 100 MB. 16 Mpx keeps both bounded.
 */
export const MAX_PIXELS_PNG_WEBP = 16_000_000;

/** The longest side each format can hold (WebP's width and height are 14-bit; JPEG's 16-bit). */
export const FORMAT_MAX_SIDE: Record<Format, number> = { jpeg: 65_535, webp: 16_383, png: 2_147_483_647 };

const FORMAT_NAMES: Record<Format, string> = { jpeg: 'JPEG', webp: 'WebP', png: 'PNG' };

/** The longest side a mosaic in `format` may have: MAX_SIDE, or less when the format holds less. */
export function maxSide(format: Format = 'jpeg'): number {
  return Math.min(MAX_SIDE, FORMAT_MAX_SIDE[format]);
}

/** The pixel budget of a mosaic in `format`. */
export function maxPixels(format: Format = 'jpeg'): number {
  return format === 'jpeg' ? MAX_PIXELS : MAX_PIXELS_PNG_WEBP;
}
export const CLASSIC_MAX_FILMS = 100;
export const DEFAULT_TILE_WIDTH = 120;
const MIN_TILE_WIDTH = 4;
const COLUMN_MAX_LINE_HEIGHT = 22;
const PLACEHOLDER_MIN_TEXT_TILE = 40;

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface GridShape {
  columns: number;
  rows: number;
  /** Cells left empty after the last film. */
  empty: number;
}

/**
 * Classic grid shape (§10.2): for m = n, n+1, … the first m with a factor pair columns ≥ rows whose
 * ratio is in [1, 2.5]; of its pairs the ratio closest to 1.75, ties to fewer rows (13 → 5×3).
 */
export function computeGrid(n: number): GridShape {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`computeGrid needs a positive whole number, got ${n}`);
  for (let m = n; ; m++) {
    let best: { columns: number; rows: number } | null = null;
    for (let rows = 1; rows * rows <= m; rows++) {
      if (m % rows !== 0) continue;
      const columns = m / rows;
      const ratio = columns / rows;
      if (ratio < 1 || ratio > 2.5) continue;
      const distance = Math.abs(ratio - 1.75);
      const bestDistance = best ? Math.abs(best.columns / best.rows - 1.75) : Infinity;
      // Rows ascend, so on a tie the pair already held has fewer rows and stays.
      if (distance < bestDistance - 1e-9) best = { columns, rows };
    }
    if (best) return { ...best, empty: m - n };
  }
}

/** Grid-layout columns: the requested number (at most n), else round(sqrt(n·1.5)). */
export function gridColumns(n: number, columns?: number): number {
  const chosen = columns ?? Math.round(Math.sqrt(n * 1.5));
  return Math.max(1, Math.min(n, Math.floor(chosen)));
}

/** Tile height for a tile width: posters are 2:3. */
export function tileHeightFor(tileWidth: number): number {
  return Math.round(tileWidth * 1.5);
}

/** "★★★½" for 3.5, "½" for 0.5, "—" when unrated; ratings are rounded to the nearest half star. */
export function ratingStars(rating: number | null): string {
  if (rating === null || !Number.isFinite(rating) || rating <= 0) return '—';
  const halves = Math.min(10, Math.max(1, Math.round(rating * 2)));
  return '★'.repeat(Math.floor(halves / 2)) + (halves % 2 ? '½' : '');
}

// eslint-disable-next-line no-control-regex -- matching control characters is the point: they are stripped from titles before drawing
const CONTROLS = /[\u0000-\u001F\u007F-\u009F\u2028\u2029]/g;
const LONE_SURROGATES = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const NONCHARACTERS = /[\uFDD0-\uFDEF\uFFFE\uFFFF]/g;
// Directional overrides and isolates in a title would reorder our own line layout.
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/g;
// Stacks of combining marks ("Zalgo") would draw far outside their line.
const MARK_STACKS = /(\p{M}{2})\p{M}+/gu;

/**
 * A title (or any user text) made safe to lay out: NFC, no control or bidi-control characters, no lone
 * surrogates, combining marks capped at two per character, whitespace collapsed, at most `max`
 * graphemes. Markup escaping is separate (markup.ts); this only keeps the layout predictable.
 */
export function cleanText(text: string, max = 200): string {
  const cleaned = text
    .normalize('NFC')
    .replace(CONTROLS, ' ')
    .replace(LONE_SURROGATES, '')
    .replace(NONCHARACTERS, '')
    .replace(BIDI_CONTROLS, '')
    .replace(MARK_STACKS, '$1')
    .replace(/\s+/gu, ' ')
    .trim();
  const g = graphemes(cleaned);
  return g.length > max ? g.slice(0, max).join('').trimEnd() + '…' : cleaned;
}

/** `text` cut at a grapheme boundary and ended with "…" so that it is at most `maxWidth` px wide. */
export function ellipsize(text: string, maxWidth: number, px: number, weight: Weight = 'regular'): string {
  if (textWidth(text, px, weight) <= maxWidth) return text;
  const g = graphemes(text);
  let lo = 0;
  let hi = g.length;
  // Largest prefix that still fits with the ellipsis (widths only grow with the prefix).
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (textWidth(g.slice(0, mid).join('').trimEnd() + '…', px, weight) <= maxWidth) lo = mid;
    else hi = mid - 1;
  }
  return lo === 0 ? '…' : g.slice(0, lo).join('').trimEnd() + '…';
}

/** Greedy word wrap to `width` px; words wider than a line are broken; the last kept line is ellipsised. */
export function wrapText(text: string, width: number, px: number, maxLines: number): string[] {
  if (maxLines < 1 || text === '') return [];
  const lines: string[] = [];
  let line = '';
  const words = text.split(' ');
  for (let w = 0; w < words.length; w++) {
    let word = words[w];
    const candidate = line ? `${line} ${word}` : word;
    if (textWidth(candidate, px) <= width) {
      line = candidate;
      continue;
    }
    if (line) {
      lines.push(line);
      line = '';
    }
    // Break a word too long for a line of its own at grapheme boundaries.
    while (textWidth(word, px) > width) {
      const g = graphemes(word);
      let take = 1;
      while (take < g.length && textWidth(g.slice(0, take + 1).join(''), px) <= width) take++;
      lines.push(g.slice(0, take).join(''));
      word = g.slice(take).join('');
    }
    line = word;
    if (lines.length >= maxLines) break;
  }
  if (line) lines.push(line);
  if (lines.length <= maxLines) return lines;
  const kept = lines.slice(0, maxLines);
  kept[maxLines - 1] = ellipsize(`${kept[maxLines - 1]} ${lines[maxLines]}`, width, px);
  return kept;
}

/** One film's line in the classic text column. */
export interface ColumnLine {
  stars: string;
  /** Cleaned and, when needed, ellipsised title. */
  title: string;
  /** " (1999)" or "" when the year is unknown. */
  year: string;
}

export interface TextColumnPlan {
  box: Rect;
  fontPx: number;
  lineHeight: number;
  /** x of the titles relative to box.x (stars are drawn from box.x). */
  titleOffset: number;
  /** One entry per grid row: the y of its first line and its films' lines. */
  rows: Array<{ top: number; lines: ColumnLine[] }>;
}

export interface HeaderPlan {
  box: Rect;
  fontPx: number;
  username: string;
  /** " · November 2026" */
  rest: string;
}

export interface PlaceholderStyle {
  fontPx: number;
  lineHeight: number;
  padding: number;
}

export interface MosaicPlan {
  /** The layout actually drawn (classic above CLASSIC_MAX_FILMS films is drawn as grid). */
  layout: Layout;
  note: string | null;
  width: number;
  height: number;
  tileWidth: number;
  tileHeight: number;
  columns: number;
  rows: number;
  emptyCells: number;
  /** Top-left corner of each film's tile, in film order. */
  cells: Array<{ x: number; y: number }>;
  header: HeaderPlan | null;
  textColumn: TextColumnPlan | null;
  /** How titles are set in placeholder cards; null when tiles are too small for text. */
  placeholder: PlaceholderStyle | null;
  /** The year in review's band of figures under the posters (layout `review` only). */
  review: ReviewBandPlan | null;
}

/** A line of text at (x, top): top is the top of its line box, `px` its font size. */
export interface PlacedText {
  x: number;
  top: number;
  text: string;
}

/** A bar chart of the band: bars standing on a baseline, a title above and labels below. */
export interface ReviewChart {
  /** "Ratings", "Films per month", "Films per year". */
  title: PlacedText;
  /** The whole chart area, title and labels included. */
  box: Rect;
  /** One per count, left to right; a zero count has height 0. */
  bars: Array<{ rect: Rect; count: number }>;
  /** A 1 px line under the bars. */
  baseline: Rect;
  labels: PlacedText[];
  /** Bar colour role: ratings are drawn in the stars' green, the timeline in blue. */
  kind: 'ratings' | 'timeline';
}

/** The band of a year in review (design of issue 13): figures, two charts, the first and last film. */
export interface ReviewBandPlan {
  box: Rect;
  /** The big numbers across the top, each with its label under it. */
  stats: Array<{ value: PlacedText; label: PlacedText; box: Rect }>;
  valuePx: number;
  labelPx: number;
  lineHeight: { value: number; label: number; text: number };
  charts: ReviewChart[];
  /** "First film …" and "Last film …": a dim lead word and the film. */
  lines: Array<{ lead: PlacedText; text: PlacedText }>;
  textPx: number;
}

export interface PlanRequest {
  username: string;
  label: string;
  films: ReadonlyArray<Pick<Film, 'title' | 'year' | 'rating'>>;
  layout: Layout;
  /** The year in review's figures (layout `review`; without them the band shows the film count only). */
  review?: ReviewFigures | null;
  columns?: number;
  /** Requested tile width in px (TILE_WIDTH); tiles may come out smaller to respect the size bound. */
  tileWidth: number;
  /** The output format decides the pixel budget (default jpeg). */
  format?: Format;
}

function placeholderStyle(tileWidth: number): PlaceholderStyle | null {
  if (tileWidth < PLACEHOLDER_MIN_TEXT_TILE) return null;
  const fontPx = Math.max(8, Math.min(28, Math.round(tileWidth / 9)));
  return { fontPx, lineHeight: Math.round(fontPx * 1.3), padding: Math.max(4, Math.round(tileWidth * 0.07)) };
}

/** The lines of a placeholder card: the wrapped title, then the year (dim) when known. */
export function placeholderLines(
  film: Pick<Film, 'title' | 'year'>,
  tileWidth: number,
  tileHeight: number,
  style: PlaceholderStyle,
): Array<{ text: string; dim: boolean }> {
  const width = tileWidth - 2 * style.padding;
  const room = Math.floor((tileHeight - 2 * style.padding) / style.lineHeight);
  const year = film.year !== null && Number.isFinite(film.year) ? String(film.year) : null;
  const title = cleanText(film.title) || 'Untitled';
  const lines = wrapText(title, width, style.fontPx, Math.max(1, room - (year ? 1 : 0))).map((text) => ({ text, dim: false }));
  if (year && lines.length < room) lines.push({ text: year, dim: true });
  return lines;
}

/** Shrinks a tile width so that a layout of that tile width respects MAX_SIDE and the pixel budget. */
function fitTileWidth(requested: number, budget: number, size: (tileWidth: number) => { width: number; height: number }): number {
  let tw = requested;
  for (;;) {
    const { width, height } = size(tw);
    const over = Math.max(width / MAX_SIDE, height / MAX_SIDE, Math.sqrt((width * height) / budget));
    if (over <= 1 || tw <= MIN_TILE_WIDTH) return tw;
    tw = Math.max(MIN_TILE_WIDTH, Math.min(tw - 1, Math.floor(tw / over)));
  }
}

/**
 * Grid columns that keep the image inside its longest side even at the smallest tiles: `columns: 1`
 * on 3,000 films would make a 4×18,000 px strip, which no WebP can hold (and a JPEG only beyond the
 * design's bound). The note says when the columns asked for were changed.
 */
function fitColumns(n: number, requested: number, format: Format | undefined): { columns: number; note: string | null } {
  const side = maxSide(format);
  const fewest = Math.min(n, Math.ceil(n / Math.floor(side / tileHeightFor(MIN_TILE_WIDTH))));
  const most = Math.max(1, Math.floor(side / MIN_TILE_WIDTH));
  const columns = Math.max(fewest, Math.min(most, requested));
  if (columns === requested) return { columns, note: null };
  const name = FORMAT_NAMES[format ?? 'jpeg'];
  const binding =
    side < MAX_SIDE
      ? `the ${side.toLocaleString('en-US')} px a ${name} image can hold`
      : `the ${side.toLocaleString('en-US')} px a ${name} mosaic may have`;
  const why = columns > requested ? `taller` : `wider`;
  return {
    columns,
    note: `Drawn in ${columns} columns, not ${requested}: ${n.toLocaleString('en-US')} films in ${requested} column${requested === 1 ? '' : 's'} would make an image ${why} than ${binding}.`,
  };
}

function planGrid(req: PlanRequest, layoutNote: string | null): MosaicPlan {
  const n = req.films.length;
  const fitted = fitColumns(n, gridColumns(n, req.columns), req.format);
  const columns = fitted.columns;
  const note = [layoutNote, fitted.note].filter((x) => x !== null).join(' ') || null;
  const rows = Math.ceil(n / columns);
  const tileWidth = fitTileWidth(req.tileWidth, maxPixels(req.format), (tw) => ({ width: columns * tw, height: rows * tileHeightFor(tw) }));
  const tileHeight = tileHeightFor(tileWidth);
  return {
    layout: 'grid',
    note,
    width: columns * tileWidth,
    height: rows * tileHeight,
    tileWidth,
    tileHeight,
    columns,
    rows,
    emptyCells: columns * rows - n,
    cells: req.films.map((_, i) => ({ x: (i % columns) * tileWidth, y: Math.floor(i / columns) * tileHeight })),
    header: null,
    textColumn: null,
    placeholder: placeholderStyle(tileWidth),
    review: null,
  };
}

function classicGeometry(req: PlanRequest, shape: GridShape, tileWidth: number) {
  const { columns, rows } = shape;
  const tileHeight = tileHeightFor(tileWidth);
  const lineHeight = Math.max(1, Math.min(COLUMN_MAX_LINE_HEIGHT, Math.floor(tileHeight / columns)));
  const fontPx = Math.max(6, Math.min(16, Math.round(lineHeight * 0.72)));
  const titleOffset = textWidth('★★★★★', fontPx) + Math.round(fontPx * 0.6);

  const lines: ColumnLine[] = req.films.map((film) => {
    const year = film.year !== null && Number.isFinite(film.year) ? ` (${film.year})` : '';
    const room = TEXT_COLUMN_MAX - titleOffset - textWidth(year, fontPx);
    return { stars: ratingStars(film.rating), title: ellipsize(cleanText(film.title) || 'Untitled', room, fontPx), year };
  });
  const longest = Math.max(...lines.map((l) => titleOffset + textWidth(l.title + l.year, fontPx)));
  const columnWidth = Math.min(TEXT_COLUMN_MAX, longest);

  const username = cleanText(req.username, 40);
  const rest = ` · ${cleanText(req.label, 60)}`;
  const headerWidth = textWidth(username, HEADER_FONT_PX, 'bold') + textWidth(rest, HEADER_FONT_PX);

  const gridWidth = GAP + columns * (tileWidth + GAP);
  const width = Math.max(gridWidth + columnWidth + GAP, headerWidth + 2 * GAP);
  const height = HEADER_HEIGHT + GAP + rows * (tileHeight + GAP);
  return { tileHeight, lineHeight, fontPx, titleOffset, lines, columnWidth, username, rest, gridWidth, width, height };
}

function planClassic(req: PlanRequest): MosaicPlan {
  const n = req.films.length;
  const shape = computeGrid(n);
  const tileWidth = fitTileWidth(req.tileWidth, maxPixels(req.format), (tw) => classicGeometry(req, shape, tw));
  const g = classicGeometry(req, shape, tileWidth);
  const cellTop = (row: number) => HEADER_HEIGHT + GAP + row * (g.tileHeight + GAP);
  const rows: TextColumnPlan['rows'] = [];
  for (let r = 0; r < shape.rows; r++) {
    const lines = g.lines.slice(r * shape.columns, (r + 1) * shape.columns);
    if (lines.length) rows.push({ top: cellTop(r), lines });
  }
  return {
    layout: 'classic',
    note: null,
    width: g.width,
    height: g.height,
    tileWidth,
    tileHeight: g.tileHeight,
    columns: shape.columns,
    rows: shape.rows,
    emptyCells: shape.empty,
    cells: req.films.map((_, i) => ({
      x: GAP + (i % shape.columns) * (tileWidth + GAP),
      y: cellTop(Math.floor(i / shape.columns)),
    })),
    header: {
      box: { x: GAP, y: 0, width: g.width - 2 * GAP, height: HEADER_HEIGHT },
      fontPx: HEADER_FONT_PX,
      username: g.username,
      rest: g.rest,
    },
    textColumn: {
      box: { x: g.gridWidth, y: HEADER_HEIGHT + GAP, width: g.columnWidth, height: g.height - HEADER_HEIGHT - 2 * GAP },
      fontPx: g.fontPx,
      lineHeight: g.lineHeight,
      titleOffset: g.titleOffset,
      rows,
    },
    placeholder: placeholderStyle(tileWidth),
    review: null,
  };
}

/**
 * Where everything goes. `classic` above CLASSIC_MAX_FILMS films is planned as `grid`, with a note
 * saying so; tiles shrink (never grow) to keep the image within MAX_SIDE and the format's pixel budget.
 */
export function planMosaic(req: PlanRequest): MosaicPlan {
  const n = req.films.length;
  if (n < 1) throw new RangeError('A mosaic needs at least one film.');
  const request = { ...req, tileWidth: Math.max(MIN_TILE_WIDTH, Math.round(req.tileWidth)) };
  if (request.layout === 'grid') return planGrid(request, null);
  if (request.layout === 'review') return planReview(request);
  if (n > CLASSIC_MAX_FILMS) {
    return planGrid(
      request,
      `Drawn as a grid: the classic layout with its film list fits up to ${CLASSIC_MAX_FILMS} films, and this mosaic has ${n}.`,
    );
  }
  return planClassic(request);
}

/** The tile size a mosaic will be drawn at, so posters can be fetched at exactly that size (§6). */
export function plannedTileSize(req: PlanRequest): { width: number; height: number } {
  const plan = planMosaic(req);
  return { width: plan.tileWidth, height: plan.tileHeight };
}

// ---------------------------------------------------------------------------------------------
// Year in review: a header, the posters edge to edge, then a band of the period's figures.

/** The band is laid out for at least this width; narrower poster grids are centred above it. */
export const REVIEW_MIN_WIDTH = 720;
/** Band sizes are given for an 800 px wide mosaic and scale with the width, up to this factor. */
const REVIEW_MAX_SCALE = 4;
const MONTH_INITIALS = ['J', 'F', 'M', 'A', 'M', 'J', 'J', 'A', 'S', 'O', 'N', 'D'];
const MONTHS_SHORT = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "12 Mar 2025" from YYYY-MM-DD. */
function dayLabel(day: string): string {
  return `${Number(day.slice(8, 10))} ${MONTHS_SHORT[Number(day.slice(5, 7)) - 1]} ${day.slice(0, 4)}`;
}

/** "1,234" (grouping without a locale: the worker's ICU may be small). */
function count(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** The figures worth drawing, in order: a null figure is left out, never drawn as 0. */
function reviewStats(f: ReviewFigures): Array<{ value: string; label: string }> {
  const out = [{ value: count(f.films), label: f.films === 1 ? 'film' : 'films' }];
  if (f.entries !== null && f.entries !== f.films) out.push({ value: count(f.entries), label: 'diary entries' });
  if (f.averageRating !== null) out.push({ value: `${f.averageRating.toFixed(2)} ★`, label: 'average rating' });
  if (f.rewatches !== null) out.push({ value: count(f.rewatches), label: f.rewatches === 1 ? 'rewatch' : 'rewatches' });
  if (f.likes !== null) out.push({ value: count(f.likes), label: f.likes === 1 ? 'like' : 'likes' });
  return out;
}

/** Figures for a plan without any (a bare count), so the layout never depends on them being there. */
function bareFigures(films: number): ReviewFigures {
  return {
    films,
    entries: null,
    rated: 0,
    averageRating: null,
    ratings: new Array<number>(10).fill(0),
    timeline: null,
    rewatches: null,
    likes: null,
    first: null,
    last: null,
  };
}

function bandScale(width: number): number {
  return Math.min(REVIEW_MAX_SCALE, Math.max(1, width / 800));
}

/** Band geometry for a mosaic `width` px wide whose band starts at `top`. */
export function planReviewBand(figures: ReviewFigures, width: number, top: number): ReviewBandPlan {
  const s = bandScale(width);
  const px = (n: number) => Math.max(1, Math.round(n * s));
  const pad = px(20);
  const valuePx = px(30);
  const labelPx = px(14);
  const textPx = px(15);
  const lineHeight = { value: px(40), label: px(20), text: px(24) };
  const inner = width - 2 * pad;
  let y = top + pad;

  const statList = reviewStats(figures);
  const cell = Math.floor(inner / statList.length);
  const stats = statList.map((st, i) => {
    const box = { x: pad + i * cell, y, width: cell, height: lineHeight.value + lineHeight.label };
    const value = ellipsize(st.value, cell - px(8), valuePx, 'bold');
    return {
      box,
      value: { x: box.x, top: y, text: value },
      label: { x: box.x, top: y + lineHeight.value, text: ellipsize(st.label, cell - px(8), labelPx) },
    };
  });
  y += lineHeight.value + lineHeight.label + pad;

  const charts: ReviewChart[] = [];
  const chartWidth = Math.floor((inner - pad) / 2);
  const barsHeight = px(90);
  const chartHeight = lineHeight.label + px(6) + barsHeight + 1 + lineHeight.label;
  const chart = (
    kind: ReviewChart['kind'],
    title: string,
    counts: number[],
    labelFor: (i: number, slot: number) => string | null,
    x: number,
  ): ReviewChart => {
    const box = { x, y, width: chartWidth, height: chartHeight };
    const barsTop = y + lineHeight.label + px(6);
    const slot = chartWidth / Math.max(1, counts.length);
    const gap = slot >= 4 ? Math.max(1, Math.round(slot * 0.2)) : 0;
    const max = Math.max(1, ...counts);
    const baselineY = barsTop + barsHeight;
    const bars = counts.map((c, i) => {
      const left = x + Math.round(i * slot);
      const right = x + Math.round((i + 1) * slot) - gap;
      const height = c === 0 ? 0 : Math.max(1, Math.round((c / max) * barsHeight));
      return { rect: { x: left, y: baselineY - height, width: Math.max(1, right - left), height }, count: c };
    });
    const labels: PlacedText[] = [];
    counts.forEach((_, i) => {
      const text = labelFor(i, slot);
      if (text === null) return;
      const w = textWidth(text, labelPx);
      const centre = bars[i].rect.x + bars[i].rect.width / 2;
      // Centred under its bar, but never past the chart's edges.
      const left = Math.round(Math.min(x + chartWidth - w, Math.max(x, centre - w / 2)));
      labels.push({ x: left, top: baselineY + 1, text });
    });
    return {
      kind,
      title: { x, top: y, text: ellipsize(title, chartWidth, labelPx) },
      box,
      bars,
      baseline: { x, y: baselineY, width: chartWidth, height: 1 },
      labels,
    };
  };
  if (figures.rated > 0) {
    const last = figures.ratings.length - 1;
    charts.push(
      chart(
        'ratings',
        `Ratings (${count(figures.rated)} rated)`,
        figures.ratings,
        (i) => (i === 0 ? '½' : i === last ? '★★★★★' : null),
        pad,
      ),
    );
  }
  const timeline = figures.timeline;
  if (timeline && timeline.periods.length > 0) {
    const counts = timeline.periods.map((p) => p.count);
    const labels = timeline.periods.map((p) => (timeline.unit === 'month' ? MONTH_INITIALS[Number(p.label.slice(5, 7)) - 1] : p.label));
    const widest = Math.max(...labels.map((l) => textWidth(l, labelPx)));
    const lastIndex = labels.length - 1;
    charts.push(
      chart(
        'timeline',
        timeline.unit === 'month' ? 'Diary entries per month' : 'Diary entries per year',
        counts,
        // Every label when they fit under their bars; else the first and the last.
        (i, slot) => (widest + px(2) <= slot || i === 0 || i === lastIndex ? labels[i] : null),
        pad + charts.length * (chartWidth + pad),
      ),
    );
  }
  if (charts.length) y += chartHeight + pad;

  const lines: ReviewBandPlan['lines'] = [];
  for (const [lead, film] of [
    ['First film ', figures.first],
    ['Last film ', figures.last],
  ] as const) {
    if (!film) continue;
    const leadWidth = textWidth(lead, textPx);
    const year = film.year !== null ? ` (${film.year})` : '';
    const text = ellipsize(`${cleanText(film.title) || 'Untitled'}${year}, ${dayLabel(film.watchedDate)}`, inner - leadWidth, textPx);
    lines.push({ lead: { x: pad, top: y, text: lead }, text: { x: pad + leadWidth, top: y, text } });
    y += lineHeight.text;
  }
  if (lines.length) y += pad - px(4);
  return { box: { x: 0, y: top, width, height: y - top }, stats, valuePx, labelPx, lineHeight, charts, lines, textPx };
}

function reviewGeometry(req: PlanRequest, columns: number, rows: number, tileWidth: number) {
  const tileHeight = tileHeightFor(tileWidth);
  const username = cleanText(req.username, 40);
  const rest = ` · ${cleanText(req.label, 60)} in review`;
  const headerWidth = textWidth(username, HEADER_FONT_PX, 'bold') + textWidth(rest, HEADER_FONT_PX);
  const width = Math.max(columns * tileWidth, REVIEW_MIN_WIDTH, headerWidth + 2 * GAP);
  const figures = req.review ?? bareFigures(req.films.length);
  const band = planReviewBand(figures, width, HEADER_HEIGHT + rows * tileHeight);
  return { tileHeight, username, rest, width, height: band.box.y + band.box.height, band };
}

function planReview(req: PlanRequest): MosaicPlan {
  const n = req.films.length;
  const columns = gridColumns(n, req.columns);
  const rows = Math.ceil(n / columns);
  const tileWidth = fitTileWidth(req.tileWidth, maxPixels(req.format), (tw) => reviewGeometry(req, columns, rows, tw));
  const g = reviewGeometry(req, columns, rows, tileWidth);
  const left = Math.floor((g.width - columns * tileWidth) / 2);
  return {
    layout: 'review',
    note: null,
    width: g.width,
    height: g.height,
    tileWidth,
    tileHeight: g.tileHeight,
    columns,
    rows,
    emptyCells: columns * rows - n,
    cells: req.films.map((_, i) => ({ x: left + (i % columns) * tileWidth, y: HEADER_HEIGHT + Math.floor(i / columns) * g.tileHeight })),
    header: {
      box: { x: GAP, y: 0, width: g.width - 2 * GAP, height: HEADER_HEIGHT },
      fontPx: HEADER_FONT_PX,
      username: g.username,
      rest: g.rest,
    },
    textColumn: null,
    placeholder: placeholderStyle(tileWidth),
    review: g.band,
  };
}
