/** What the sources hand the pipeline, and the small bag of collaborators they get. */
import type { Clock } from '../../common/clock.js';
import type { Film, Stage } from '../../common/task.js';
import type { PosterStore } from '../../db/posters.js';
import type { Http } from '../http.js';

/**
 * A film to draw, with the poster URL Letterboxd gave for it (null: no poster, or none could be had).
 * `posterRefused` marks a film whose poster lookup Letterboxd refused (counts toward design §10.4).
 */
export type CollectedFilm = Film & { posterUrl: string | null; posterRefused?: boolean };

export interface CollectResult {
  /** Newest watched first (feed, diary), or the films pages' own order (`all`). */
  films: CollectedFilm[];
  /** True when the list is knowingly incomplete (a month the feed only partly covers). */
  partial: boolean;
  note: string | null;
}

/** The worker loop's progress call (throttled there; throws when the task was cancelled). */
export type Progress = (stage: Stage, done: number | null, total: number | null, msg: string) => void;

export interface CollectDeps {
  http: Pick<Http, 'page'>;
  posterUrls: Pick<PosterStore, 'knownPosterUrls' | 'rememberPosterUrls'>;
  progress: Progress;
  signal: AbortSignal;
  clock?: Clock;
}

/** The guidance every "Letterboxd refused the list of films" message ends with (design §10.4). */
export const BLOCKED_ADVICE = 'upload your Letterboxd export on the home page, or set TMDB_API_KEY.';
