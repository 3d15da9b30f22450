/**
 * A film's poster from Letterboxd (docs/letterboxd.md#poster-urls): the JSON of
 * `/film/{slug}/poster/std/{W}/`, or the film page's JSON-LD `image` (never og:image, a backdrop).
 */
// htmlparser2 (cheerio/slim): about 12× faster than parse5 on a films page, and lenient enough for scraping.
import { load } from 'cheerio/slim';
import { isPlaceholderPoster, parseYear, splitNameYear } from './parseCommon.js';

export interface ParsedFilmPage {
  /** Whether the page carried readable JSON-LD (false: the markup changed, or not a film page). */
  found: boolean;
  title: string | null;
  year: number | null;
  /** The poster, or null when the film has none. */
  posterUrl: string | null;
}

export interface ParsedPosterJson {
  /** Whether the body was JSON with a `url` (false: the endpoint changed). */
  ok: boolean;
  posterUrl: string | null;
}

function absolute(url: string): string {
  return url.startsWith('//') ? `https:${url}` : url;
}

/** `image` may be a string, a list, or an ImageObject with `url`. */
function imageUrl(image: unknown): string | null {
  if (typeof image === 'string') return image.trim() || null;
  if (Array.isArray(image)) return imageUrl(image[0]);
  if (image && typeof image === 'object' && 'url' in image) return imageUrl(image.url);
  return null;
}

/** Strips the `/* <![CDATA[ *\/ … /* ]]> *\/` wrapper Letterboxd puts around its JSON-LD. */
function unwrapCdata(text: string): string {
  return text
    .replace(/^\s*(?:\/\*\s*)?<!\[CDATA\[\s*(?:\*\/)?/, '')
    .replace(/(?:\/\*\s*)?\]\]>\s*(?:\*\/)?\s*$/, '')
    .trim();
}

export function parseFilmPage(html: string): ParsedFilmPage {
  const $ = load(html);
  for (const el of $('script[type="application/ld+json"]').toArray()) {
    let data: unknown;
    try {
      data = JSON.parse(unwrapCdata($(el).text()));
    } catch {
      continue;
    }
    const movie = (Array.isArray(data) ? data.find((d) => d && typeof d === 'object' && 'name' in d) : data) as
      Record<string, unknown> | undefined;
    if (!movie || typeof movie !== 'object') continue;
    const image = imageUrl(movie.image);
    const released = (movie.releasedEvent as { startDate?: unknown }[] | undefined)?.[0]?.startDate;
    const named = splitNameYear(typeof movie.name === 'string' ? movie.name : undefined);
    return {
      found: true,
      title: named.title || null,
      year: parseYear(typeof released === 'string' ? released : typeof released === 'number' ? String(released) : '') ?? named.year,
      posterUrl: image && !isPlaceholderPoster(image) ? absolute(image) : null,
    };
  }
  return { found: false, title: null, year: null, posterUrl: null };
}

export function parsePosterJson(text: string): ParsedPosterJson {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { ok: false, posterUrl: null };
  }
  const url = data && typeof data === 'object' ? (data as { url?: unknown }).url : undefined;
  if (typeof url !== 'string' || url.trim() === '') return { ok: false, posterUrl: null };
  return { ok: true, posterUrl: isPlaceholderPoster(url) ? null : absolute(url.trim()) };
}
