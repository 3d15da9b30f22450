/** Pure text helpers for mosaics: file names, stars, film lines, alt text, durations. */
import { periodLabel, type Film, type MosaicParams, type MosaicSummary } from '../common/task.js';
import type { MemberResponse } from '../common/protocol.js';

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

/** The image's alt text: what it is, then every film in the order shown. */
export function mosaicAlt(m: Pick<MosaicSummary, 'username' | 'params' | 'films' | 'filmCount'>): string {
  const head = `Poster mosaic of ${m.filmCount} film${m.filmCount === 1 ? '' : 's'} ${m.username} watched, ${periodLabel(m.params)}`;
  if (m.films.length === 0) return `${head}.`;
  return `${head}: ${m.films.map(filmTitle).join('; ')}.`;
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

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** "2026-03-03" → "3 March 2026" (a calendar day as it is, whatever this device's time zone). */
export function formatDay(day: string): string {
  const [y, m, d] = day.split('-').map(Number);
  return `${d} ${MONTHS[m - 1]} ${y}`;
}

/** "3 – 9 March 2026", "28 February – 2 March 2026", "30 December 2025 – 2 January 2026". */
export function formatDayRange(from: string, to: string): string {
  if (from === to) return formatDay(from);
  const [a, b] = [formatDay(from).split(' '), formatDay(to).split(' ')];
  if (a[2] !== b[2]) return `${a.join(' ')} – ${b.join(' ')}`;
  if (a[1] !== b[1]) return `${a[0]} ${a[1]} – ${b.join(' ')}`;
  return `${a[0]} – ${b.join(' ')}`;
}

/** What the member's page says of the diary this server keeps (null: nothing kept). */
export function historyText(m: MemberResponse['member']): { kept: string; gaps: string | null } | null {
  if (m.entries === 0 && !m.followed) return null;
  const kept = m.wholeDiary
    ? `History kept on this server: ${m.username}’s whole diary.`
    : m.historySince
      ? `History kept on this server since ${formatDay(m.historySince)}.`
      : 'History kept on this server from the next read of the feed.';
  const gaps = m.gaps.length
    ? `${m.earliest ? `Earlier history from ${formatDay(m.earliest)}, with` : 'With'} ${m.gaps.length === 1 ? 'a gap' : 'gaps'}: ${m.gaps.map((g) => formatDayRange(g.from, g.to)).join(', ')}.`
    : null;
  return { kept, gaps };
}
