/** Fetching a member's feed or pages, where a refusal means the list of films itself is refused. */
import { AppError, isAppError } from '../../common/errors.js';
import type { PageKind } from './letterboxd.js';
import type { CollectDeps } from './types.js';

/** The body of `path`; a refusal becomes LETTERBOXD_BLOCKED with `refused`, a sentence a person can act on. */
export async function memberPage(
  deps: Pick<CollectDeps, 'http' | 'signal'>,
  path: string,
  kind: PageKind,
  refused: string,
  background = false,
): Promise<string> {
  try {
    return (await deps.http.page(path, { signal: deps.signal, kind, background })).body;
  } catch (err) {
    if (isAppError(err) && err.code === 'LETTERBOXD_BLOCKED') throw new AppError('LETTERBOXD_BLOCKED', refused, { cause: err });
    throw err;
  }
}
