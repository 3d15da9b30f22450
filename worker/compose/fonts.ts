/**
 * The mosaic's text uses only the fonts in assets/fonts/ (DejaVu Sans, Noto Color Emoji), through a
 * fontconfig file of our own, so a title renders the same on a Pi, a laptop and in CI.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Finds assets/fonts/ by walking up from this module: works from the source tree and from a bundle. */
export function findFontsDir(from = dirname(fileURLToPath(import.meta.url))): string | null {
  let dir = from;
  for (let depth = 0; depth < 6; depth++) {
    const candidate = join(dir, 'assets', 'fonts');
    if (existsSync(join(candidate, 'fonts.conf'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return null;
}

let fontsConf: string | null = null;

/**
 * Points fontconfig at assets/fonts/fonts.conf and returns its path. fontconfig reads FONTCONFIG_FILE
 * once, when the process draws its first text, so this must run before that (composeMosaic calls it
 * first thing; nothing else in the worker draws text). Idempotent.
 */
export function useBundledFonts(): string {
  if (fontsConf) return fontsConf;
  const dir = findFontsDir();
  if (!dir) {
    throw new Error('assets/fonts/fonts.conf was not found above worker/compose: ship the assets folder next to the worker.');
  }
  fontsConf = join(dir, 'fonts.conf');
  process.env.FONTCONFIG_FILE = fontsConf;
  return fontsConf;
}
