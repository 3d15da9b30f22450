/** The mosaic form's state, its validation and the request it sends, kept pure for tests. */
import { isAppError } from '../common/errors.js';
import {
  currentMonth,
  LAYOUTS,
  MIN_YEAR,
  normalizeRequest,
  REVIEW_MODES,
  USERNAME_RE,
  type Layout,
  type MosaicParams,
} from '../common/task.js';
import type { MosaicRequestBody } from './api.js';

export type PeriodChoice = 'this-month' | 'month' | 'recent' | 'year' | 'all';

export interface FormState {
  username: string;
  period: PeriodChoice;
  /** YYYY-MM, for `month`. */
  month: string;
  /** As typed, for `recent`. */
  count: string;
  /** As typed, for `year`. */
  year: string;
  layout: Layout;
}

export type FormErrors = Partial<Record<'username' | 'month' | 'count' | 'year' | 'form', string>>;

/** The form as a person first sees it. */
export function initialForm(now: Date, username = ''): FormState {
  return { username, period: 'this-month', month: currentMonth(now), count: '30', year: String(now.getFullYear()), layout: 'classic' };
}

/** The form filled in from an earlier request ("try again", "make another"). */
export function formFromParams(username: string, params: MosaicParams, now: Date): FormState {
  const f = initialForm(now, username);
  f.layout = params.layout;
  switch (params.mode) {
    case 'month':
      f.period = params.month === currentMonth(now) ? 'this-month' : 'month';
      f.month = params.month;
      break;
    case 'recent':
      f.period = 'recent';
      f.count = String(params.count);
      break;
    case 'year':
      f.period = 'year';
      f.year = String(params.year);
      break;
    case 'all':
      f.period = 'all';
      break;
  }
  return f;
}

/** The layouts a period offers: a year in review only for a year or everything. */
export function layoutsFor(period: PeriodChoice): Layout[] {
  const mode = buildRequest({ ...initialForm(new Date(0)), period }).mode;
  return LAYOUTS.filter((l) => l !== 'review' || REVIEW_MODES.includes(mode));
}

/** The form with another period; a layout that period does not offer goes back to classic. */
export function withPeriod(f: FormState, period: PeriodChoice): FormState {
  return { ...f, period, layout: layoutsFor(period).includes(f.layout) ? f.layout : 'classic' };
}

/** The inline message for a username as typed, or null when it is fine (empty counts as fine until submit). */
export function usernameProblem(value: string, submitting = false): string | null {
  const v = value.trim();
  if (v === '') return submitting ? 'Enter a Letterboxd username.' : null;
  if (v.length < 2) return 'A Letterboxd username has at least 2 characters.';
  if (v.length > 15) return 'A Letterboxd username has at most 15 characters.';
  if (!USERNAME_RE.test(v)) return 'Use only letters, digits and underscores, as in letterboxd.com/name.';
  return null;
}

function toInt(s: string): number {
  return /^\s*\d+\s*$/.test(s) ? Number(s) : NaN;
}

/** The `POST /api/mosaics` body for the form (this month leaves `month` to the server's clock). */
export function buildRequest(f: FormState): MosaicRequestBody {
  const base = { username: f.username.trim(), layout: f.layout };
  switch (f.period) {
    case 'this-month':
      return { ...base, mode: 'month' };
    case 'month':
      return { ...base, mode: 'month', month: f.month.trim() };
    case 'recent':
      return { ...base, mode: 'recent', count: toInt(f.count) };
    case 'year':
      return { ...base, mode: 'year', year: toInt(f.year) };
    case 'all':
      return { ...base, mode: 'all' };
  }
}

const FIELD_OF: Record<string, keyof FormErrors> = { username: 'username', month: 'month', count: 'count', year: 'year' };

/**
 * Validates the form with the same rules the server applies (common/task.ts normalizeRequest), so
 * the person sees the problem next to the field before anything is sent.
 */
export function validateForm(f: FormState, now: Date): FormErrors {
  const errors: FormErrors = {};
  const u = usernameProblem(f.username, true);
  if (u) errors.username = u;
  const body = buildRequest(f);
  const count = body.count ?? NaN;
  if (f.period === 'recent' && !(Number.isInteger(count) && count >= 1 && count <= 50)) errors.count = 'Choose from 1 to 50 films.';
  if (f.period === 'year' && !Number.isInteger(body.year)) errors.year = `Enter a year from ${MIN_YEAR} on.`;
  if (f.period === 'month' && f.month.trim() === '') errors.month = 'Choose a month.';
  if (errors.count || errors.year || errors.month) return errors;
  // The server's own rules for the period (a future month, a year out of range), checked whatever the
  // username's state, so every problem shows at once: with a stand-in name when the typed one is bad.
  try {
    normalizeRequest(errors.username ? { ...body, username: 'member' } : body, now);
  } catch (err) {
    if (!isAppError(err)) throw err;
    const field = FIELD_OF[err.field ?? ''] ?? 'form';
    errors[field] ??= err.message;
  }
  return errors;
}

/** Maps a server-side 400's `field` to the form field it belongs to. */
export function fieldForServerError(field: string | undefined): keyof FormErrors {
  return FIELD_OF[field ?? ''] ?? 'form';
}
