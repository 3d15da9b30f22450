/**
 * Text widths without a renderer: DejaVu Sans advance widths (fontWidths.ts, generated from the shipped
 * fonts) summed per grapheme, each rounded to whole pixels the way Pango places glyphs. Kerning is
 * ignored, so a measured width is at most a pixel or two over what is drawn, never much under.
 */
import { BOLD, EMOJI_EM, REGULAR, UNITS_PER_EM } from './fontWidths.js';

export type Weight = 'regular' | 'bold';

function decode(rows: ReadonlyArray<readonly [number, string]>): Map<number, number> {
  const map = new Map<number, number>();
  for (const [start, widths] of rows) {
    widths.split(',').forEach((w, i) => {
      if (w !== '') map.set(start + i, parseInt(w, 36));
    });
  }
  return map;
}

let tables: Record<Weight, Map<number, number>> | null = null;
function widthsOf(weight: Weight): Map<number, number> {
  tables ??= { regular: decode(REGULAR), bold: decode(BOLD) };
  return tables[weight];
}

const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });
/** Drawn from the colour emoji font: emoji presentation, or a sequence (VS16, ZWJ, a flag). */
const EMOJI_SEQUENCE = /\p{Emoji_Presentation}|\uFE0F|\u200D/u;
const PICTOGRAPHIC = /\p{Extended_Pictographic}/u;
const FLAG = /[\u{1F1E6}-\u{1F1FF}]/u;
const INVISIBLE = /^[\p{Cf}\p{M}]+$/u;

/** Width in px of one grapheme cluster. */
function graphemeWidth(g: string, px: number, weight: Weight): number {
  if ((PICTOGRAPHIC.test(g) && EMOJI_SEQUENCE.test(g)) || FLAG.test(g)) return Math.round(EMOJI_EM * px);
  const cp = g.codePointAt(0)!;
  // Bold falls back to regular widths for what its table does not list (close enough for a header).
  const units = widthsOf(weight).get(cp) ?? widthsOf('regular').get(cp);
  if (units !== undefined) return Math.round((units / UNITS_PER_EM) * px);
  if (INVISIBLE.test(g)) return 0;
  if (PICTOGRAPHIC.test(g)) return Math.round(EMOJI_EM * px);
  // No shipped font has it (CJK, Thai, …), or it is outside the tables: Pango draws a box with the code
  // point in 4 or 6 hex digits (measured: 13 and 17 px wide at 8 px, 23 and 32 at 22 px). Too wide is
  // the safe side for a character DejaVu does have outside the tables.
  return Math.ceil(cp > 0xffff ? 14 + 0.85 * px : 10 + 0.6 * px);
}

/** Width in pixels of `text` set in DejaVu Sans at `px` pixels (upper bound of what Pango draws). */
export function textWidth(text: string, px: number, weight: Weight = 'regular'): number {
  let total = 0;
  for (const { segment } of segmenter.segment(text)) total += graphemeWidth(segment, px, weight);
  return total;
}

/** Splits text into grapheme clusters (what a reader counts as characters, emoji sequences included). */
export function graphemes(text: string): string[] {
  return Array.from(segmenter.segment(text), (s) => s.segment);
}
