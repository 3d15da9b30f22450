/** What the sources hand the pipeline, and the small bag of collaborators they get. */
import type { Clock } from '../../common/clock.js';
import type { Film, Stage } from '../../common/task.js';
import type { ArchiveEntry, ImportStore, PosterKnowledge } from '../../db/port.js';
import type { Segment } from '../../common/archive.js';
import type { Feed } from './rss.js';
import type { LetterboxdPages } from './letterboxd.js';
import type { TmdbSession } from '../posters/tmdb.js';

/** One diary entry of a film within the period collected: its day and whether it was a rewatch. */
export interface FilmViewing {
  /** YYYY-MM-DD */
  date: string;
  rewatch: boolean;
}

/**
 * A film to draw, with the poster URL Letterboxd gave for it (null: no poster, or none could be had;
 * `tmdb:/x.jpg`: a TMDB poster). `posterRefused` marks a film whose poster lookup Letterboxd refused
 * (counts toward docs/architecture.md#outcomes). `liked` and `viewings` feed a year in review's figures: `liked` is null
 * when the source does not say (an export), `viewings` (oldest first) null when it has no dates (the
 * films pages); absent counts as null.
 */
export type CollectedFilm = Film & {
  posterUrl: string | null;
  posterRefused?: boolean;
  liked?: boolean | null;
  viewings?: FilmViewing[] | null;
};

/** A film's TMDB id, as the feed names it (`tmdb:movieId` / `tmdb:tvId`). */
export interface TmdbId {
  kind: 'movie' | 'tv';
  id: number;
}

export interface CollectResult {
  /** Newest watched first (feed, diary, export), or the films pages' own order (`all`). */
  films: CollectedFilm[];
  /** True when the list is knowingly incomplete (a month the feed only partly covers). */
  partial: boolean;
  note: string | null;
  /** The list came from the member's imported export (docs/architecture.md#where-the-films-come-from). */
  fromExport?: boolean;
  /** Set when the period held more films than a mosaic draws: how many it held (`films` are the newest). */
  of?: number;
}

/** The worker loop's progress call (throttled there; throws when the task was cancelled). */
export type Progress = (stage: Stage, done: number | null, total: number | null, msg: string) => void;

export interface CollectDeps {
  http: LetterboxdPages;
  posterUrls: Pick<
    PosterKnowledge,
    'knownPosterUrls' | 'rememberPosterUrls' | 'knownPostersByTitle' | 'titlePosters' | 'rememberTitlePosters'
  >;
  /** The diary archive: every feed read is kept there, and what it covers spares Letterboxd's pages. */
  archive?: DiaryArchive | null;
  /** Members' imported exports; absent: Letterboxd's pages are the only source. */
  imports?: Pick<ImportStore, 'load'> | null;
  /** TMDB for this task (TMDB_API_KEY set); absent: posters come from Letterboxd only. */
  tmdb?: TmdbSession | null;
  progress: Progress;
  signal: AbortSignal;
  clock?: Clock;
  /** Films a mosaic draws at most (default MAX_MOSAIC_FILMS). */
  maxFilms?: number;
}

/** The guidance every "Letterboxd refused the list of films" message ends with (docs/architecture.md#outcomes). */
export const BLOCKED_ADVICE = 'upload your Letterboxd export on the home page, or set TMDB_API_KEY.';

/** The diary archive as collection uses it (worker/main.ts binds it to the port's DiaryArchive). */
export interface DiaryArchive {
  /** Keeps a read of the member's feed (its entries, deletions and coverage). */
  record(username: string, feed: Feed): Promise<void>;
  /** The member's kept entries, newest published first, and the watched days they cover. */
  load(username: string): Promise<{ entries: ArchiveEntry[]; coverage: Segment[] }>;
}
