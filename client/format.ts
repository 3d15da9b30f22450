/** Pure text helpers for mosaics: file names, stars, film lines, alt text, durations. */
import { periodLabel, type Film, type MosaicParams, type MosaicSummary } from '../common/task.js';

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
};

/** "November 2026" → "november-2026", "last 30 films" → "last-30-films". */
export function slugify(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** The download name of a mosaic, e.g. `dave-november-2026.jpg` (grid layouts get `-grid`). */
export function mosaicFileName(m: Pick<MosaicSummary, 'username' | 'params' | 'contentType'>): string {
  const ext = EXTENSIONS[m.contentType.split(';')[0].trim().toLowerCase()] ?? 'jpg';
  // Usernames are [A-Za-z0-9_]; underscores are safe in file names and part of the name, so they stay.
  const user = m.username.toLowerCase().replace(/[^a-z0-9_]/g, '') || 'mosaic';
  const parts = [user, slugify(periodLabel(m.params))];
  if (m.params.layout === 'grid') parts.push('grid');
  return `${parts.filter(Boolean).join('-')}.${ext}`;
}

/** A rating as the mosaic draws it: "★★★½", "★★★★★", "—" when unrated. */
export function ratingStars(rating: number | null): string {
  if (rating === null || !Number.isFinite(rating) || rating <= 0) return '—';
  const halves = Math.round(Math.min(5, rating) * 2);
  return '★'.repeat(Math.floor(halves / 2)) + (halves % 2 ? '½' : '');
}

/** "Title (Year)", or just the title when the year is unknown. */
export function filmTitle(film: Pick<Film, 'title' | 'year'>): string {
  return film.year ? `${film.title} (${film.year})` : film.title;
}

/** One line of the film list: "★★★½ Title (Year)". */
export function filmLine(film: Film): string {
  return `${ratingStars(film.rating)} ${filmTitle(film)}`;
}

/** The heading a mosaic is known by: "dave · November 2026". */
export function mosaicTitle(m: Pick<MosaicSummary, 'username' | 'params'>): string {
  return `${m.username} · ${periodLabel(m.params)}`;
}

/** The film list as plain text, for copying and sharing. */
export function filmListText(m: Pick<MosaicSummary, 'username' | 'params' | 'films'>): string {
  return [mosaicTitle(m), '', ...m.films.map((f, i) => `${i + 1}. ${filmLine(f)}`)].join('\n');
}

/**
 * The image's alt text: what it shows, in one sentence ("Poster mosaic of 1,000 films dave watched in
 * 2026; the list follows"). The films themselves are the list below the image, which the page makes
 * the image's accessible description: a screen reader is not read a thousand titles twice.
 */
export function mosaicAlt(m: Pick<MosaicSummary, 'username' | 'params' | 'filmCount'>): string {
  const n = m.filmCount;
  const count = n.toLocaleString('en');
  const films = `film${n === 1 ? '' : 's'}`;
  const p = m.params;
  const what =
    p.mode === 'recent'
      ? `the last ${n === 1 ? 'film' : `${count} films`} ${m.username} watched`
      : p.mode === 'all'
        ? `${n === 1 ? 'the 1 film' : `all ${count} films`} ${m.username} watched`
        : `${count} ${films} ${m.username} watched in ${periodLabel(p)}`;
  return `Poster mosaic of ${what}; the list follows`;
}

/** "0:07", "3:05", "1:02:03": the elapsed time of a task. */
export function formatElapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** A short spoken form of the same: "7 seconds", "3 minutes 5 seconds". */
export function describeElapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const m = Math.floor(total / 60);
  const s = total % 60;
  const sec = `${s} second${s === 1 ? '' : 's'}`;
  return m > 0 ? `${m} minute${m === 1 ? '' : 's'} ${sec}` : sec;
}

/** "12 Nov 2026" in the reader's locale, or the raw string when it does not parse. */
export function formatDate(iso: string, locale?: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleDateString(locale, { day: 'numeric', month: 'short', year: 'numeric' });
}

/** Params as the form shows them again ("make another" keeps the member and period). */
export function describeParams(params: MosaicParams): string {
  return `${periodLabel(params)}, ${params.layout}`;
}
