/** Pure text helpers for mosaics: file names, stars, film lines, alt text, durations. */
import { MONTH_NAMES, periodLabel, type Film, type MosaicParams, type MosaicSummary, type ReviewFigures } from '../common/task.js';
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

/** The download name of a mosaic, e.g. `dave-november-2026.jpg` (grid and review layouts get `-grid`, `-review`). */
export function mosaicFileName(m: Pick<MosaicSummary, 'username' | 'params' | 'contentType'>): string {
  const ext = EXTENSIONS[m.contentType.split(';')[0].trim().toLowerCase()] ?? 'jpg';
  // Usernames are [A-Za-z0-9_]; underscores are safe in file names and part of the name, so they stay.
  const user = m.username.toLowerCase().replace(/[^a-z0-9_]/g, '') || 'mosaic';
  const parts = [user, slugify(periodLabel(m.params))];
  if (m.params.layout !== 'classic') parts.push(m.params.layout);
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
 * the image's accessible description: a screen reader is not read a thousand titles twice. A year in
 * review's figures are written out on the page beside it.
 */
export function mosaicAlt(m: Pick<MosaicSummary, 'username' | 'params' | 'filmCount' | 'review'>): string {
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
  // A year in review's figures are drawn below the posters and written out on the page too.
  return m.review
    ? `Poster mosaic of ${what}, with the year's figures below; the figures and the list follow`
    : `Poster mosaic of ${what}; the list follows`;
}

/** How the layout is named on the page: "classic layout", "grid layout", "year in review". */
export function layoutName(params: MosaicParams): string {
  return params.layout === 'review' ? 'year in review' : `${params.layout} layout`;
}

/** A rating in words: "½ star", "1 star", "3½ stars". */
export function ratingWords(rating: number): string {
  const halves = Math.round(rating * 2);
  const whole = Math.floor(halves / 2);
  const text = `${whole > 0 ? whole : ''}${halves % 2 ? '½' : ''}`;
  return `${text} star${halves <= 2 ? '' : 's'}`;
}

/** A year in review's figures as label and value, in the image's order; the ones no source gave are left out. */
export function reviewFacts(r: ReviewFigures): { label: string; value: string }[] {
  const out = [{ label: 'films', value: String(r.films) }];
  if (r.entries !== null) out.push({ label: 'diary entries', value: String(r.entries) });
  if (r.averageRating !== null) out.push({ label: 'average rating', value: `${r.averageRating.toFixed(2)} stars` });
  if (r.rewatches !== null) out.push({ label: 'rewatches', value: String(r.rewatches) });
  if (r.likes !== null) out.push({ label: 'likes', value: String(r.likes) });
  if (r.first) out.push({ label: 'first film', value: `${filmTitle(r.first)}, ${formatDay(r.first.watchedDate)}` });
  if (r.last) out.push({ label: 'last film', value: `${filmTitle(r.last)}, ${formatDay(r.last.watchedDate)}` });
  return out;
}

/** A timeline period as read: "2025-03" → "March", "2024" → "2024". */
export function timelineLabel(label: string): string {
  const m = /^\d{4}-(\d{2})$/.exec(label);
  return m ? MONTH_NAMES[Number(m[1]) - 1] : label;
}

/**
 * "3 Jan 2025" from a calendar day (YYYY-MM-DD) in the reader's locale. The day is read as UTC and
 * shown in UTC: a local-time reading would move it back a day west of Greenwich.
 */
export function formatDay(day: string, locale?: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return day;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toLocaleDateString(locale, { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
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
export function formatLongDay(day: string): string {
  const [y, m, d] = day.split('-').map(Number);
  return `${d} ${MONTHS[m - 1]} ${y}`;
}

/** "3 – 9 March 2026", "28 February – 2 March 2026", "30 December 2025 – 2 January 2026". */
export function formatDayRange(from: string, to: string): string {
  if (from === to) return formatLongDay(from);
  const [a, b] = [formatLongDay(from).split(' '), formatLongDay(to).split(' ')];
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
      ? `History kept on this server since ${formatLongDay(m.historySince)}.`
      : 'History kept on this server from the next read of the feed.';
  const gaps = m.gaps.length
    ? `${m.earliest ? `Earlier history from ${formatLongDay(m.earliest)}, with` : 'With'} ${m.gaps.length === 1 ? 'a gap' : 'gaps'}: ${m.gaps.map((g) => formatDayRange(g.from, g.to)).join(', ')}.`
    : null;
  return { kept, gaps };
}
