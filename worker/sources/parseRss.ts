/** The member's RSS feed `/{user}/rss/` (docs/letterboxd.md#rss-feed): diary entries only, newest published first. */
// htmlparser2 (cheerio/slim): about 12× faster than parse5 on a films page, and lenient enough for scraping.
import { load } from 'cheerio/slim';
import { isPlaceholderPoster, parseYear, ratingFromStars, slugFromPath } from './parseCommon.js';

export interface FeedEntry {
  /** The number after `letterboxd-watch-` / `letterboxd-review-`. */
  viewingId: string;
  title: string;
  year: number | null;
  rating: number | null;
  /** YYYY-MM-DD, or null when the item has none. */
  watchedDate: string | null;
  rewatch: boolean;
  liked: boolean;
  slug: string | null;
  /** The description's poster, or null when it shows the empty-poster placeholder (no poster). */
  posterUrl: string | null;
  /** The description has no image at all: the poster is unknown, not absent. */
  posterMissing: boolean;
  tmdbMovieId: number | null;
  tmdbTvId: number | null;
  /**
   * The latest calendar day anywhere (UTC+14) at the moment the entry was published (YYYY-MM-DD), from
   * `pubDate`. Its offset is Letterboxd's own (+1200/+1300), not the member's, so the member's day is
   * unknown; no member's day is later than this one, so a full feed's reach (rss.ts) is never
   * overstated: the error always asks for more, never misses a viewing.
   */
  publishedDay: string | null;
  /** When it was published (ms since the epoch), from `pubDate`: orders entries across feed reads. */
  publishedAt: number | null;
}

export interface ParsedFeed {
  /** False when the body is not an RSS feed at all (an HTML page, say). */
  isFeed: boolean;
  /** Every `<item>`, lists included. */
  itemCount: number;
  /**
   * Diary items (watches and reviews, by guid), read or not: the feed holds the 50 most recently
   * logged, and the member's lists come after them, on top of the 50.
   */
  diaryItems: number;
  entries: FeedEntry[];
  /** Diary items (by guid) that lacked what every diary item has: a sign the feed changed. */
  unparsed: number;
  /** Items that are neither a diary entry nor a list (by guid): also a sign the feed changed. */
  unknown: number;
}

const DIARY_GUID = /^letterboxd-(?:watch|review)-(\d+)$/;
const LIST_GUID = /^letterboxd-list-\d+$/;
const MONTHS: Record<string, string> = {
  jan: '01',
  feb: '02',
  mar: '03',
  apr: '04',
  may: '05',
  jun: '06',
  jul: '07',
  aug: '08',
  sep: '09',
  oct: '10',
  nov: '11',
  dec: '12',
};

/** The earliest offset from UTC any place keeps (Kiribati's Line Islands): the world's latest day. */
const LATEST_OFFSET_MIN = 14 * 60;

/**
 * "Mon, 12 Jan 2026 09:03:05 +1300" → "2026-01-12": the day at UTC+14 at that moment. Without a
 * readable time and offset, the day as written.
 */
function publishedDay(pubDate: string): string | null {
  const m = /(\d{1,2})\s+([A-Za-z]{3})[a-z]*\s+(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s+([+-])(\d{2})(\d{2}))?/.exec(pubDate);
  const month = m && MONTHS[m[2].toLowerCase()];
  if (!m || !month) return null;
  if (m[4] === undefined) return `${m[3]}-${month}-${m[1].padStart(2, '0')}`;
  const offsetMin = (m[7] === '-' ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9]));
  const utc = Date.UTC(Number(m[3]), Number(month) - 1, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0)) - offsetMin * 60_000;
  return new Date(utc + LATEST_OFFSET_MIN * 60_000).toISOString().slice(0, 10);
}

function positiveInt(text: string): number | null {
  const n = Number(text.trim());
  return text.trim() !== '' && Number.isInteger(n) && n > 0 ? n : null;
}

export function parseRss(xml: string): ParsedFeed {
  const $ = load(xml, { xml: true });
  const isFeed = $('rss > channel, channel').length > 0;
  const items = $('item').toArray();
  const entries: FeedEntry[] = [];
  let unparsed = 0;
  let unknown = 0;
  let diaryItems = 0;
  for (const el of items) {
    const item = $(el);
    const child = (name: string) => item.children(name.replace(':', '\\:')).first().text().trim();
    const guid = DIARY_GUID.exec(child('guid'));
    if (!guid) {
      if (!LIST_GUID.test(child('guid'))) unknown++; // a list is dropped; anything else is news
      continue;
    }
    diaryItems++;
    const title = child('letterboxd:filmTitle');
    if (!title) {
      unparsed++;
      continue;
    }
    const watched = child('letterboxd:watchedDate');
    const description = child('description');
    const src = description ? load(description)('img').first().attr('src')?.trim() : undefined;
    const posterUrl = src && !isPlaceholderPoster(src) ? (src.startsWith('//') ? `https:${src}` : src) : null;
    entries.push({
      viewingId: guid[1],
      title,
      year: parseYear(child('letterboxd:filmYear')),
      rating: ratingFromStars(child('letterboxd:memberRating')),
      watchedDate: /^\d{4}-\d{2}-\d{2}$/.test(watched) ? watched : null,
      rewatch: /^yes$/i.test(child('letterboxd:rewatch')),
      liked: /^yes$/i.test(child('letterboxd:memberLike')),
      slug: slugFromPath(child('link')),
      posterUrl,
      posterMissing: !src,
      tmdbMovieId: positiveInt(child('tmdb:movieId')),
      tmdbTvId: positiveInt(child('tmdb:tvId')),
      publishedDay: publishedDay(child('pubDate')),
      publishedAt: Number.isNaN(Date.parse(child('pubDate'))) ? null : Date.parse(child('pubDate')),
    });
  }
  return { isFeed, itemCount: items.length, diaryItems, entries, unparsed, unknown };
}
