/** Text measurement: the committed width table matches the shipped fonts, and Pango agrees with it. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { graphemes, textWidth } from '../../../worker/compose/metrics.js';
import { useBundledFonts } from '../../../worker/compose/fonts.js';
import { FONT_WIDTHS_PATH, renderFontWidths } from '../../helpers/compose/genMetrics.js';

test('fontWidths.ts is what the fonts in assets/fonts/ say (regenerate: genMetrics.ts)', () => {
  assert.ok(readFileSync(FONT_WIDTHS_PATH, 'utf8') === renderFontWidths(), 'worker/compose/fontWidths.ts is stale');
});

test('textWidth: sums per grapheme, bold wider, emoji sequences count once', () => {
  assert.is(textWidth('', 13), 0);
  assert.ok(textWidth('Amélie', 13) > textWidth('Amelie', 13) - 1);
  assert.ok(textWidth('dave', 22, 'bold') > textWidth('dave', 22));
  assert.is(textWidth('👨‍👩‍👧', 20), textWidth('🎬', 20));
  assert.is(textWidth('🎬', 20), 25);
  assert.is(textWidth('e\u0301', 13), textWidth('é', 13));
  assert.is(textWidth('\u200E', 13), 0);
  assert.ok(textWidth('中文', 13) >= 26);
  assert.equal(graphemes('a👨‍👩‍👧b'), ['a', '👨‍👩‍👧', 'b']);
});

test('Pango draws text no wider than textWidth measures, and not much narrower', async () => {
  useBundledFonts();
  const samples = [
    'Everything Everywhere All at Once (2022)',
    'Amélie (2001)',
    '★★★★½',
    'WWWW iiii MMMM llll',
    'Żółć Привет Ελληνικά',
    'Spirited Away 🎬🔥',
    'Tom & Jerry <"quoted">',
    'Việt Nam',
    'שלום עולם',
    '千と千尋の神隠し',
  ];
  for (const px of [9, 13, 16, 22]) {
    for (const text of samples) {
      const markup = text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
      const { info } = await sharp({ text: { text: markup, font: `DejaVu Sans ${px}px`, rgba: true, dpi: 72 } })
        .raw()
        .toBuffer({ resolveWithObject: true });
      const measured = textWidth(text, px);
      assert.ok(info.width <= measured + 2, `${px}px "${text}": drawn ${info.width} > measured ${measured}`);
      assert.ok(info.width >= measured * 0.85 - 4, `${px}px "${text}": drawn ${info.width} ≪ measured ${measured}`);
    }
  }
});

test.run();
