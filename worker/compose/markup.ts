/**
 * Pango markup for the mosaic's text, pure. Every piece of user text goes through escapeMarkup; the
 * only tags are the spans built here, and Pango markup has no way to load a file or a URL.
 *
 * sharp's text input crops its image to the ink, which loses where a line sits. Every block therefore
 * starts with an anchor: an invisible (alpha 1/65535) full block "█", which spans exactly one natural
 * line of the font from the left edge, so the image's (0, 0) is the top-left of the layout. Each
 * content line starts with an anchor too (a glyph with a negative side bearing cannot move the origin)
 * and has an absolute height, so content line k starts at y = anchorHeight + the heights before it and
 * its text at x = the anchor's advance.
 */

const ANCHOR = '<span fgalpha="1">█</span>';
/** Left-to-right mark: a line starting with a Hebrew or Arabic title stays a left-aligned line. */
const LRM = '\u200E';
/** First-strong isolate … pop isolate: a right-to-left title cannot reorder the text around it. */
const FSI = '\u2068';
const PDI = '\u2069';

export function escapeMarkup(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Escaped text in one colour (#rrggbb); `isolate` wraps it in a bidi isolate. */
export function colored(text: string, color: string, options: { bold?: boolean; isolate?: boolean } = {}): string {
  const body = options.isolate ? `${FSI}${escapeMarkup(text)}${PDI}` : escapeMarkup(text);
  return `<span foreground="${color}"${options.bold ? ' weight="bold"' : ''}>${body}</span>`;
}

export interface BlockLine {
  /** Whole pixels, at least 1. */
  height: number;
  /** Markup built with colored(), or '' for a spacer. */
  markup: string;
}

/** The anchor line alone: rendered, its height is the natural line height the block offsets by. */
export const ANCHOR_MARKUP = LRM + ANCHOR;

/** The markup of a block of lines laid out as described at the top of this file. */
export function blockMarkup(lines: readonly BlockLine[]): string {
  const out = [ANCHOR_MARKUP];
  for (const line of lines) {
    const height = Math.max(1, Math.round(line.height));
    // Absolute line heights are in Pango units: 1024 per point, and a point is a pixel at 72 dpi.
    out.push(`<span line_height="${height * 1024}">${LRM}${ANCHOR}${line.markup}</span>`);
  }
  return out.join('\n');
}
