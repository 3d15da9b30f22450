/** The shipped fonts and the fontconfig file that makes them the only ones the renderer sees. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findFontsDir, useBundledFonts } from '../../../worker/compose/fonts.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

test('assets/fonts is found from the source tree and from a bundle folder, not from elsewhere', () => {
  const fonts = join(root, 'assets', 'fonts');
  assert.is(findFontsDir(), fonts);
  assert.is(findFontsDir(join(root, 'dist')), fonts);
  assert.is(findFontsDir('/'), null);
});

test('the fonts, their licences and a fonts.conf that lists only them', () => {
  const fonts = join(root, 'assets', 'fonts');
  for (const file of ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf', 'NotoColorEmoji.ttf', 'LICENSE-DejaVu.txt', 'LICENSE-NotoColorEmoji.txt']) {
    assert.ok(existsSync(join(fonts, file)), file);
  }
  const conf = readFileSync(join(fonts, 'fonts.conf'), 'utf8');
  assert.equal(conf.match(/<dir[^>]*>[^<]*<\/dir>/g), ['<dir prefix="relative">.</dir>']);
  assert.not.match(conf, /<include/);
});

test('useBundledFonts points fontconfig at assets/fonts/fonts.conf, once', () => {
  const path = useBundledFonts();
  assert.is(path, join(root, 'assets', 'fonts', 'fonts.conf'));
  assert.is(process.env.FONTCONFIG_FILE, path);
  assert.is(useBundledFonts(), path);
});

test.run();
