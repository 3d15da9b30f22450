/** A minimal TrueType reader (cmap + hmtx) for checking and regenerating worker/compose/metrics.ts. */
import { readFileSync } from 'node:fs';

export interface FontWidths {
  unitsPerEm: number;
  /** Advance width in font units of a code point's glyph, or null when the font has no glyph for it. */
  advance(codePoint: number): number | null;
}

export function readFontWidths(path: string): FontWidths {
  const buf = readFileSync(path);
  const tables = new Map<string, number>();
  const numTables = buf.readUInt16BE(4);
  for (let i = 0; i < numTables; i++) {
    const rec = 12 + i * 16;
    tables.set(buf.toString('latin1', rec, rec + 4), buf.readUInt32BE(rec + 8));
  }
  const table = (tag: string): number => {
    const off = tables.get(tag);
    if (off === undefined) throw new Error(`${path} has no ${tag} table`);
    return off;
  };
  const unitsPerEm = buf.readUInt16BE(table('head') + 18);
  const numberOfHMetrics = buf.readUInt16BE(table('hhea') + 34);
  const hmtx = table('hmtx');
  const glyphAdvance = (glyph: number): number => buf.readUInt16BE(hmtx + 4 * Math.min(glyph, numberOfHMetrics - 1));

  const cmap = table('cmap');
  let format4 = -1;
  let format12 = -1;
  for (let i = 0; i < buf.readUInt16BE(cmap + 2); i++) {
    const rec = cmap + 4 + i * 8;
    const platform = buf.readUInt16BE(rec);
    const encoding = buf.readUInt16BE(rec + 2);
    const sub = cmap + buf.readUInt32BE(rec + 4);
    const format = buf.readUInt16BE(sub);
    if (platform === 3 && encoding === 10 && format === 12) format12 = sub;
    if (platform === 3 && encoding === 1 && format === 4) format4 = sub;
  }

  function glyphFor(cp: number): number {
    if (format12 >= 0) {
      const groups = buf.readUInt32BE(format12 + 12);
      for (let g = 0; g < groups; g++) {
        const rec = format12 + 16 + g * 12;
        const start = buf.readUInt32BE(rec);
        const end = buf.readUInt32BE(rec + 4);
        if (cp >= start && cp <= end) return buf.readUInt32BE(rec + 8) + (cp - start);
      }
      return 0;
    }
    if (format4 < 0 || cp > 0xffff) return 0;
    const segX2 = buf.readUInt16BE(format4 + 6);
    const ends = format4 + 14;
    const starts = ends + segX2 + 2;
    const deltas = starts + segX2;
    const rangeOffsets = deltas + segX2;
    for (let s = 0; s < segX2 / 2; s++) {
      const end = buf.readUInt16BE(ends + 2 * s);
      if (cp > end) continue;
      const start = buf.readUInt16BE(starts + 2 * s);
      if (cp < start) return 0;
      const delta = buf.readInt16BE(deltas + 2 * s);
      const ro = buf.readUInt16BE(rangeOffsets + 2 * s);
      if (ro === 0) return (cp + delta) & 0xffff;
      const glyph = buf.readUInt16BE(rangeOffsets + 2 * s + ro + 2 * (cp - start));
      return glyph === 0 ? 0 : (glyph + delta) & 0xffff;
    }
    return 0;
  }

  return {
    unitsPerEm,
    advance(cp) {
      const glyph = glyphFor(cp);
      return glyph === 0 ? null : glyphAdvance(glyph);
    },
  };
}
