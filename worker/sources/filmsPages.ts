/** The films pages as a source for `all`: every page, both markups, in the pages' own order. */
import { AppError } from '../../common/errors.js';
import { memberPage } from './memberPage.js';
import type { ListedFilm } from './parseCommon.js';
import { parseFilmsPage } from './parseFilmsPage.js';
import { BLOCKED_ADVICE, type CollectDeps } from './types.js';

/** Reads every films page of the member; a refusal of any page is LETTERBOXD_BLOCKED with guidance. */
export async function readFilmsPages(deps: Pick<CollectDeps, 'http' | 'signal' | 'progress'>, username: string): Promise<ListedFilm[]> {
  const films: ListedFilm[] = [];
  const seen = new Set<string>();
  let lastPage = 1;
  for (let page = 1; page <= lastPage; page++) {
    deps.progress('collecting', page - 1, lastPage, `Collecting data: page ${page} of ${lastPage}`);
    // Page 1 is linked as /films/ (no /page/1/).
    const path = page === 1 ? `/${username}/films/` : `/${username}/films/page/${page}/`;
    const parsed = parseFilmsPage(await memberPage(deps, path, 'member', `Letterboxd refused the films pages; ${BLOCKED_ADVICE}`));
    if (parsed.films.length === 0 && (page > 1 || parsed.filmLinks > 0)) {
      throw new AppError('LETTERBOXD_CHANGED', `Letterboxd's films page ${path} no longer reads as expected; the app needs an update.`);
    }
    lastPage = Math.max(lastPage, parsed.lastPage);
    for (const f of parsed.films) {
      const key = f.slug ?? `${f.title}\u0000${f.year}`;
      if (seen.has(key)) continue; // the order can shift between page requests
      seen.add(key);
      films.push(f);
    }
  }
  deps.progress('collecting', lastPage, lastPage, `Collecting data: page ${lastPage} of ${lastPage}`);
  return films;
}
