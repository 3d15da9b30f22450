/**
 * The `make_renditions` action: the thumbnail and screen copies of a result made before renditions
 * existed. The server queues it on the first request for one (and serves the full image meanwhile):
 * it never draws, so the pixels are the worker's job. Params: `{"of": resultId}`.
 */
import { AppError } from '../common/errors.js';
import type { Action } from './loop.js';
import type { NewRendition } from '../db/port.js';

export interface RenditionParts {
  /** The stored full image, or undefined when the result has gone (pruned) meanwhile. */
  image(resultId: string): Promise<Buffer | undefined>;
  render(image: Buffer): Promise<NewRendition[]>;
  store(resultId: string, renditions: NewRendition[]): Promise<void>;
}

function resultId(paramsJson: string): string {
  let of: unknown;
  try {
    of = (JSON.parse(paramsJson) as { of?: unknown }).of;
  } catch {
    // reported below
  }
  if (typeof of !== 'string' || of === '') {
    throw new AppError('INVALID_REQUEST', 'This renditions task names no result; request the thumbnail again to queue a new one.');
  }
  return of;
}

export function makeRenditionsAction(parts: RenditionParts): Action {
  return async ({ task, progress }) => {
    const id = resultId(task.paramsJson);
    const image = await parts.image(id);
    if (!image) return; // pruned since: nothing to make
    progress('building', null, null, 'Making the thumbnail and screen copies');
    const renditions = await parts.render(image);
    progress('saving', null, null, 'Saving the copies');
    await parts.store(id, renditions);
  };
}
