/** The feed as a source: one request, up to 50 diary entries with ratings, dates and poster URLs. */
import { AppError } from '../../common/errors.js';
import { memberPage } from './memberPage.js';
import { parseRss, type FeedEntry, type ParsedFeed } from './parseRss.js';
import type { CollectDeps } from './types.js';

/**
 * Letterboxd's feed holds the this many most recently logged diary entries (reviews are diary
 * entries); the member's lists are appended after them and do not count (a real feed: 72 items, 50
 * diary entries and 22 lists). Fewer diary entries than this: the feed holds the whole diary.
 */
export const FEED_LIMIT = 50;

export interface Feed {
  /** Diary entries, newest published first. */
  entries: FeedEntry[];
  /**
   * Every viewing watched after this day is in the feed (null: the feed holds the whole diary).
   * Entries missing from a full feed were published before its oldest item, and a viewing is never
   * published before the day it was watched, so they were watched on or before that item's day (its
   * latest day anywhere, as `publishedDay` gives it: the member's own zone is unknown).
   */
  completeAfter: string | null;
}

/** Reads `username`'s feed; `background` for a poll, which lets mosaics' requests go first. */
export async function readFeed(
  deps: Pick<CollectDeps, 'http' | 'signal' | 'progress'>,
  username: string,
  background = false,
): Promise<Feed> {
  deps.progress('collecting', 0, 1, 'Collecting data: reading the feed');
  const body = await memberPage(
    deps,
    `/${username}/rss/`,
    'feed',
    `Letterboxd refused the RSS feed of ${username}; try again later, or upload your Letterboxd export on the home page.`,
    background,
  );
  const feed = parseRss(body);
  // No diary entry, yet items we could not read, or of a kind we do not know: the feed changed. (An
  // empty mosaic would hide that.)
  if (!feed.isFeed || (feed.entries.length === 0 && feed.unparsed + feed.unknown > 0)) {
    throw new AppError('LETTERBOXD_CHANGED', `Letterboxd's RSS feed for ${username} no longer reads as expected; the app needs an update.`);
  }
  deps.progress('collecting', 1, 1, 'Collecting data: read the feed');
  let completeAfter: string | null = null;
  if (feedIsFull(feed)) {
    for (const e of feed.entries) {
      const day = e.publishedDay ?? e.watchedDate;
      if (day && (completeAfter === null || day < completeAfter)) completeAfter = day;
    }
    completeAfter ??= '9999-12-31';
  }
  return { entries: feed.entries, completeAfter };
}

/**
 * Whether the feed is full, so that older diary entries may exist that it does not hold. The one place
 * that decides it: the feed's range (`completeAfter`) and the diary archive's coverage both ask here.
 */
export function feedIsFull(feed: ParsedFeed): boolean {
  return feed.diaryItems >= FEED_LIMIT;
}

/** Whether the feed holds every viewing from `day` (YYYY-MM-DD) on. */
export function feedCovers(feed: Feed, day: string): boolean {
  return feed.completeAfter === null || feed.completeAfter < day;
}
