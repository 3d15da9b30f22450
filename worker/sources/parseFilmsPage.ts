/**
 * A member's films page `/{user}/films/page/N/` (docs/letterboxd.md#films-pages): 72 posters a page in the 2026
 * LazyPoster markup or the legacy poster-list markup, in the page's own order, with ratings.
 */
// htmlparser2 (cheerio/slim): about 12× faster than parse5 on a films page, and lenient enough for scraping.
import { load } from 'cheerio/slim';
import {
  closestTag,
  countFilmLinks,
  filmFromPoster,
  pagination,
  posterElements,
  viewingData,
  type ListedFilm,
  type Pagination,
} from './parseCommon.js';

export interface ParsedFilmsPage extends Pagination {
  films: ListedFilm[];
  markup: '2026' | 'legacy' | null;
  /**
   * Links to films found on the page. Zero films with links present means the markup changed
   * (LETTERBOXD_CHANGED); zero of both is a member with no films.
   */
  filmLinks: number;
}

export function parseFilmsPage(html: string): ParsedFilmsPage {
  const $ = load(html);
  const films: ListedFilm[] = [];
  let markup: ParsedFilmsPage['markup'] = null;
  for (const el of posterElements($)) {
    const film = filmFromPoster(el);
    if (!film) continue;
    markup ??= (el.attribs['data-component-class'] ?? '').includes('LazyPoster') ? '2026' : 'legacy';
    // The rating sits beside the poster in its grid item (li.griditem or li.poster-container).
    films.push({ ...film, ...viewingData(closestTag(el, 'li') ?? (el.parent as typeof el)) });
  }
  return { films, markup, filmLinks: countFilmLinks($), ...pagination($) };
}
