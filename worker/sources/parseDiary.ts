/**
 * Diary pages `/{user}/diary/films/for/YYYY/MM/page/N/` (docs/letterboxd.md#diary-pages): 50 viewings a page, newest
 * first, each `tr.diary-entry-row` with the film (LazyPoster or legacy div), rating, rewatch and day.
 */
// htmlparser2 (cheerio/slim): about 12× faster than parse5 on a films page, and lenient enough for scraping.
import { load } from 'cheerio/slim';
import {
  countFilmLinks,
  filmFromPoster,
  pagination,
  parseYear,
  posterElements,
  ratingFromStars,
  viewingData,
  type ListedFilm,
  type Pagination,
} from './parseCommon.js';

export interface DiaryRow extends ListedFilm {
  viewingId: string | null;
  /** YYYY-MM-DD from the day link, or null when the row has none. */
  watchedDate: string | null;
  rewatch: boolean;
}

export interface ParsedDiaryPage extends Pagination {
  rows: DiaryRow[];
  /** Diary rows found that could not be read (a sign the markup changed). */
  unparsed: number;
  filmLinks: number;
}

const DAY_LINK = /\/for\/(\d{4})\/(\d{2})\/(\d{2})\/?/;

export function parseDiary(html: string): ParsedDiaryPage {
  const $ = load(html);
  const rows: DiaryRow[] = [];
  let unparsed = 0;
  $('tr.diary-entry-row').each((_, tr) => {
    const row = $(tr);
    const poster = posterElements($, row)[0];
    const film = poster ? filmFromPoster(poster) : null;
    const title = film?.title || row.find('h2.name a, h3.headline-3 a, .name a').first().text().trim();
    if (!title) {
      unparsed++;
      return;
    }
    const day = DAY_LINK.exec(row.find('a.daydate, td.col-daydate a, td.td-day a').first().attr('href') ?? '');
    const ratingCell = row.find('td.col-rating, td.td-rating');
    const { rating, liked } = viewingData(tr);
    const rewatchCell = row.find('td.col-rewatch, td.td-rewatch');
    rows.push({
      title,
      year: film?.year ?? parseYear(row.find('.releasedate, td.col-releaseyear, td.td-released').first().text()),
      slug: film?.slug ?? null,
      rating: rating ?? ratingFromStars(halfStars(ratingCell.find('input.rateit-field').attr('value'))),
      liked,
      viewingId: row.attr('data-viewing-id') ?? null,
      watchedDate: day ? `${day[1]}-${day[2]}-${day[3]}` : null,
      rewatch: rewatchCell.length > 0 && !rewatchCell.is('.icon-status-off') && rewatchCell.find('.icon-status-off').length === 0,
    });
  });
  return { rows, unparsed, filmLinks: countFilmLinks($), ...pagination($) };
}

/** The owner's rating input holds half-stars ("9" = 4.5): convert to stars. */
function halfStars(value: string | undefined): string | undefined {
  if (value === undefined || !/^\d{1,2}$/.test(value.trim()) || Number(value) === 0) return undefined;
  return String(Number(value) / 2);
}
