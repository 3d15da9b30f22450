/**
 * Pieces of Letterboxd markup that several pages share (docs/letterboxd.md#films-pages): the LazyPoster component and
 * the legacy poster div, star ratings, pagination, poster placeholders. Pure: HTML in, data out.
 */
import type { CheerioAPI, Cheerio } from 'cheerio';
import type { AnyNode, Element } from 'domhandler';

/** A film as a grid or diary row names it. */
export interface ListedFilm {
  title: string;
  year: number | null;
  slug: string | null;
  /** 0.5–5 in halves, or null when unrated. */
  rating: number | null;
  liked: boolean;
}

export interface Pagination {
  /** The largest page number the pagination block shows (1 when there is none). */
  lastPage: number;
  /** The "Older" link's path, or null on the last page. */
  nextPath: string | null;
}

/** `empty-poster-…` placeholder images mean "this film has no poster". */
export function isPlaceholderPoster(url: string): boolean {
  return /\/empty-poster[-.]/i.test(url) || /\/static\/img\/empty-poster/i.test(url);
}

/** `rated-9` → 4.5; null when there is no rated-N class or N is out of range. */
export function ratingFromClass(className: string | undefined): number | null {
  const m = /(?:^|\s)rated-(\d{1,2})(?:\s|$)/.exec(className ?? '');
  if (!m) return null;
  const n = Number(m[1]);
  return n >= 1 && n <= 10 ? n / 2 : null;
}

/** A rating written as a number of stars ("4.5", "4"), or null when absent or out of range. */
export function ratingFromStars(value: string | undefined | null): number | null {
  if (value === undefined || value === null || value.trim() === '') return null;
  const n = Number(value.trim());
  if (!Number.isFinite(n) || n < 0.5 || n > 5 || Math.round(n * 2) !== n * 2) return null;
  return n;
}

/** The slug from `/film/slug/`, `/dave/film/slug/2/`, a full URL or a bare slug. */
export function slugFromPath(value: string | undefined | null): string | null {
  if (!value) return null;
  const v = value.trim();
  const m = /(?:^|\/)film\/([^/?#]+)/.exec(v);
  if (m) return decodeURIComponent(m[1]);
  return /^[a-z0-9][a-z0-9-]*$/i.test(v) ? v : null;
}

export function parseYear(value: string | undefined | null): number | null {
  const m = /^\s*(\d{4})\b/.exec(value ?? '');
  return m ? Number(m[1]) : null;
}

/**
 * Splits a `data-item-name` ("Title (2024)", or "Title" when the film has no year) into title and year:
 * a trailing " (YYYY)" is the year. The name is the only source of the title: Letterboxd's own scripts
 * rewrite the poster's `alt` to "Poster for Title (2024)" once a page loads, so an `alt` that differs
 * says nothing. `bareTitle` (that `alt`) only settles a title ending in a parenthesised year of its own
 * ("Summer of (1985)", no year): when it equals the whole name, the name carries no year.
 */
export function splitNameYear(name: string | undefined, bareTitle?: string): { title: string; year: number | null } {
  const full = (name ?? '').trim();
  if (bareTitle !== undefined && full === bareTitle.trim()) return { title: full, year: null };
  const m = /^(.*\S)\s+\((\d{4})\)$/.exec(full);
  return m ? { title: m[1], year: Number(m[2]) } : { title: full, year: null };
}

/** Elements under `root` in document order (a plain walk: css-select costs ~1 ms a call per item). */
function* descendants(root: AnyNode): Generator<Element> {
  for (const child of (root as Element).children ?? []) {
    if ((child as Element).attribs !== undefined) {
      yield child as Element;
      yield* descendants(child);
    }
  }
}

function hasClass(el: Element, name: string): boolean {
  return ` ${el.attribs.class ?? ''} `.replace(/\s+/g, ' ').includes(` ${name} `);
}

/** The nearest ancestor element named `tag`, or null. */
export function closestTag(el: Element, tag: string): Element | null {
  for (let p = el.parent as Element | null; p && p.attribs !== undefined; p = p.parent as Element | null) {
    if (p.name === tag) return p;
  }
  return null;
}

/** The film a LazyPoster component (2026) or a legacy poster div describes, or null when it names no title. */
export function filmFromPoster(el: Element): Omit<ListedFilm, 'rating' | 'liked'> | null {
  const attr = (name: string): string | undefined => el.attribs[name];
  let alt: string | undefined;
  for (const d of descendants(el)) {
    if (d.name === 'img') {
      alt = d.attribs.alt;
      break;
    }
  }
  if ((attr('data-component-class') ?? '').includes('LazyPoster')) {
    const slug = slugFromPath(attr('data-item-slug')) ?? slugFromPath(attr('data-item-link')) ?? slugFromPath(attr('data-target-link'));
    const { title, year } = splitNameYear(attr('data-item-name') ?? attr('data-item-full-display-name'), alt);
    return title ? { title, year, slug } : null;
  }
  // Legacy (2022–mid 2025): data-film-slug is a path on some pages and a bare slug on others.
  const slug = slugFromPath(attr('data-film-slug')) ?? slugFromPath(attr('data-target-link'));
  const title = (alt ?? attr('data-film-name') ?? '').trim();
  if (!title) return null;
  const year = parseYear(attr('data-film-release-year')) ?? splitNameYear(attr('data-item-name'), title).year;
  return { title, year, slug };
}

/** Every film poster element, 2026 component or legacy div, in document order. */
export function posterElements($: CheerioAPI, scope?: Cheerio<Element>): Element[] {
  const sel = '[data-component-class*="LazyPoster"], [data-film-slug]';
  return (scope ? scope.find(sel) : $(sel)).toArray();
}

/** The rating and like shown beside a poster (in its grid item or diary row). */
export function viewingData(container: Element): { rating: number | null; liked: boolean } {
  let rating: number | null = null;
  let liked = false;
  for (const el of descendants(container)) {
    if (rating === null && hasClass(el, 'rating')) rating = ratingFromClass(el.attribs.class);
    if (hasClass(el, 'icon-liked') || hasClass(el, 'liked-micro')) liked = true;
  }
  return { rating, liked };
}

/** Pagination: the last page is the largest number shown (an ellipsis hides the ones between). */
export function pagination($: CheerioAPI): Pagination {
  let lastPage = 1;
  $('.pagination .paginate-page, .paginate-pages li').each((_, li) => {
    const n = Number($(li).text().trim());
    if (Number.isInteger(n) && n > lastPage) lastPage = n;
  });
  const next = $('.pagination a.next, a.next').first().attr('href');
  return { lastPage, nextPath: next ? next.trim() : null };
}

/** How many links to films the page holds: a page that lists films always has some. */
export function countFilmLinks($: CheerioAPI): number {
  let n = 0;
  $('[href], [data-target-link], [data-item-link], [data-film-slug]').each((_, el) => {
    const a = $(el);
    const v = a.attr('data-target-link') ?? a.attr('data-item-link') ?? a.attr('data-film-slug') ?? a.attr('href') ?? '';
    if (/^(?:https?:\/\/[^/]+)?\/(?:[^/]+\/)?film\/[^/]+/.test(v) || (a.attr('data-film-slug') ?? '') !== '') n++;
  });
  return n;
}
