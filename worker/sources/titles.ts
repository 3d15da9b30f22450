/**
 * Titles as keys: an export names films only by title and year (docs/letterboxd.md#the-data-export), so the same film from
 * the feed, the films pages, an export and TMDB must meet under one normalised title; and Letterboxd's
 * film slugs are derived from titles the same way every time.
 */

const LETTERS: Record<string, string> = { ł: 'l', ø: 'o', đ: 'd', ß: 'ss', æ: 'ae', œ: 'oe', ħ: 'h', ı: 'i', þ: 'th', ð: 'd' };

/** Lowercase, accents dropped, a few letters without a decomposition spelled out. */
function fold(title: string): string {
  return title
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[łøđßæœħıþð]/g, (c) => LETTERS[c] ?? c);
}

/**
 * The key a title is matched under: folded, `&` read as "and", apostrophes dropped, every other run
 * of punctuation or space one space. "Kiki’s Delivery Service" and "kikis delivery service" meet;
 * a title of emoji alone keeps its emoji.
 */
export function titleKey(title: string): string {
  const key = fold(title)
    .replace(/&/g, ' and ')
    .replace(/['’‘`´]/g, '')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
  return key || title.trim().toLowerCase();
}

/** `year` as the integer key column (0: no year). */
export function yearKey(year: number | null): number {
  return year ?? 0;
}

/**
 * The slug Letterboxd derives from a title: "Kiki's Delivery Service" → "kikis-delivery-service".
 * Apostrophes and full stops are not word breaks: "E.T. the Extra-Terrestrial" →
 * "et-the-extra-terrestrial", "12.12: The Day" → "1212-the-day", "M.I.A." → "mia".
 */
export function slugFromTitle(title: string): string | null {
  const slug = fold(title)
    .replace(/['’‘`´.]/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug || null;
}

/** The film-page slugs to try for an export film (docs/architecture.md#export-films): the title's, then title-year. */
export function slugCandidates(title: string, year: number | null): string[] {
  const base = slugFromTitle(title);
  if (!base) return [];
  return year === null ? [base] : [base, `${base}-${year}`];
}
