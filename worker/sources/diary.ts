/** Diary pages as a source: every viewing of a month or a year, page after page (50 a page). */
import { AppError } from '../../common/errors.js';
import { memberPage } from './memberPage.js';
import { parseDiary, type DiaryRow } from './parseDiary.js';
import { BLOCKED_ADVICE, type CollectDeps } from './types.js';

/** A diary period: a year, or a month of it (1–12). */
export interface DiaryPeriod {
  year: number;
  month?: number;
  /** "October 2026", "2025": for messages. */
  label: string;
}

/** Reads all the period's diary pages; a refusal is LETTERBOXD_BLOCKED with guidance. */
export async function readDiary(
  deps: Pick<CollectDeps, 'http' | 'signal' | 'progress'>,
  username: string,
  period: DiaryPeriod,
): Promise<DiaryRow[]> {
  const mm = period.month === undefined ? null : String(period.month).padStart(2, '0');
  const prefix = mm === null ? `${period.year}-` : `${period.year}-${mm}-`;
  const base = `/${username}/diary/films/for/${period.year}/${mm === null ? '' : `${mm}/`}`;
  const rows: DiaryRow[] = [];
  let lastPage = 1;
  for (let page = 1; page <= lastPage; page++) {
    deps.progress('collecting', page - 1, lastPage, `Collecting data: diary page ${page} of ${lastPage}`);
    const path = page === 1 ? base : `${base}page/${page}/`;
    const body = await memberPage(deps, path, 'member', `Letterboxd refused the diary pages for ${period.label}; ${BLOCKED_ADVICE}`);
    const parsed = parseDiary(body);
    if (parsed.rows.length === 0 && (page > 1 || parsed.unparsed > 0 || parsed.filmLinks > 0)) {
      throw new AppError('LETTERBOXD_CHANGED', `Letterboxd's diary page ${path} no longer reads as expected; the app needs an update.`);
    }
    lastPage = Math.max(lastPage, parsed.lastPage);
    // A row outside the period would be a markup or URL change; drop it rather than draw it.
    rows.push(...parsed.rows.filter((r) => r.watchedDate === null || r.watchedDate.startsWith(prefix)));
  }
  deps.progress('collecting', lastPage, lastPage, `Collecting data: diary page ${lastPage} of ${lastPage}`);
  return rows;
}
