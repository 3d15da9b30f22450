/**
 * The `create_mosaic` action: collect films → fetch posters → build the mosaic → hand back the result
 * (the loop stores it with the COMPLETE, in one transaction). Reads like the product; every part it
 * calls is given to it, so tests can run it against the fake Letterboxd.
 */
import { AppError } from '../common/errors.js';
import type { Film, MosaicParams } from '../common/task.js';
import type { ComposeInput, ComposeOutput } from './compose/compose.js';
import { periodLabel, normalizeRequest } from '../common/task.js';
import type { Action, ActionHelpers } from './loop.js';
import type { CollectResult, CollectedFilm, Progress } from './sources/types.js';
import type { PosterResult } from './posters/fetch.js';
import { mostRefused } from './posters/formats.js';
import type { CompletionWrite, NewRendition } from '../db/port.js';
import { BLOCKED_ADVICE } from './sources/types.js';
import { reviewFigures } from './review.js';

/** The compose step's contract is compose.ts's own (a type-only import: sharp is not loaded here). */
export type ComposeRequest = ComposeInput;
export type ComposedMosaic = Pick<ComposeOutput, 'image' | 'width' | 'height' | 'contentType' | 'note'>;

/** What the action needs, each already bound to its collaborators (http, db, cache) by worker/main.ts. */
export interface MosaicParts {
  collect(username: string, params: MosaicParams, ctx: { progress: Progress; signal: AbortSignal }): Promise<CollectResult>;
  fetchPosters(films: readonly CollectedFilm[], tileWidth: number, ctx: { progress: Progress; signal: AbortSignal }): Promise<PosterResult>;
  compose(request: ComposeRequest): Promise<ComposedMosaic>;
  /** The thumbnail and screen copies of the finished image, stored with it. */
  renditions(image: Buffer): Promise<NewRendition[]>;
  /** The tile width the mosaic will really be drawn at (smaller than TILE_WIDTH for big sets). */
  plannedTileWidth(request: Omit<ComposeRequest, 'tiles' | 'signal'>): number;
  tileWidth: number;
  /** Whether TMDB is configured (decides what a "posters refused" message advises). */
  tmdbEnabled?: boolean;
  /** Written with the COMPLETE of a mosaic, as data (the member becomes followed). */
  completed?(username: string): CompletionWrite;
}

/** What to do when Letterboxd refused most posters: an export gives films, not posters; TMDB gives posters. */
function postersAdvice(tmdbEnabled: boolean, fromExport: boolean): string {
  if (tmdbEnabled) return 'try again later.';
  return fromExport ? 'set TMDB_API_KEY so posters come from TMDB, or try again later.' : BLOCKED_ADVICE;
}

/**
 * Stored params are re-validated: a malformed row ends INVALID_REQUEST instead of crashing the worker.
 * "The future" is judged as of when the request was made, as the server judged it: a worker never
 * refuses a month because its own clock (or zone, on another machine) has not reached it yet.
 */
function readParams(helpers: ActionHelpers): MosaicParams {
  let raw: unknown;
  try {
    raw = JSON.parse(helpers.task.paramsJson);
  } catch {
    throw new AppError('INVALID_REQUEST', 'This task was stored with unreadable parameters; make the mosaic again.');
  }
  const body = { ...(raw as object), username: helpers.task.username };
  return normalizeRequest(body, new Date(helpers.task.createdAt)).params;
}

function toFilm(f: CollectedFilm): Film {
  return { title: f.title, year: f.year, rating: f.rating, slug: f.slug, watchedDate: f.watchedDate };
}

/** Joins the notes worth telling the viewer, keeping the result's note short. */
function summarize(notes: (string | null)[], placeholders: string[]): string | null {
  const out = notes.filter((n): n is string => !!n);
  if (placeholders.length === 1) out.push(placeholders[0]);
  else if (placeholders.length > 1) {
    out.push(
      `${placeholders.length} posters are placeholders: ${placeholders.slice(0, 3).join(' ')}${placeholders.length > 3 ? ' …' : ''}`,
    );
  }
  return out.length ? out.join(' ') : null;
}

export function createMosaicAction(parts: MosaicParts): Action {
  return async (helpers) => {
    const { task, signal, progress } = helpers;
    const params = readParams(helpers);
    const ctx = { progress, signal };

    progress('collecting', null, null, 'Collecting data');
    const collected = await parts.collect(task.username, params, ctx);

    const films = collected.films.map(toFilm);
    // The figures come from the collected films, which carry likes and diary entries that `films` drops.
    const review =
      params.layout === 'review' ? reviewFigures(collected.films, params.mode === 'year' ? { year: params.year } : 'all') : null;
    const request = {
      username: task.username,
      label: periodLabel(params),
      films,
      layout: params.layout,
      columns: params.columns,
      format: params.format,
      tileWidth: parts.tileWidth,
      review,
    };
    // Download posters at the size they will be drawn: a 3,000-film grid draws 94 px tiles, not 120.
    const posters = await parts.fetchPosters(collected.films, parts.plannedTileWidth(request), ctx);
    if (mostRefused(posters.refused, collected.films.length)) {
      throw new AppError(
        'LETTERBOXD_BLOCKED',
        `Letterboxd refused ${posters.refused} of ${collected.films.length} posters; ${postersAdvice(!!parts.tmdbEnabled, !!collected.fromExport)}`,
        { retryable: false },
      );
    }

    progress('building', null, null, 'Building mosaic');
    const mosaic = await parts.compose({ ...request, tiles: posters.tiles, signal });

    progress('saving', null, null, 'Saving mosaic');
    const renditions = await parts.renditions(mosaic.image);
    if (parts.completed) helpers.onComplete(parts.completed(task.username));
    return {
      renditions,
      image: mosaic.image,
      contentType: mosaic.contentType,
      width: mosaic.width,
      height: mosaic.height,
      films,
      partial: collected.partial,
      note: summarize([collected.note, mosaic.note], posters.notes),
      review,
    };
  };
}
