/**
 * Stable image links: `/m/{member}/{period}[.{layout}].{ext}` names a request, not a task, so the same
 * URL always shows that member's newest mosaic for it. Periods: `month` (the current one), `YYYY-MM`,
 * `recent-N`, `YYYY`, `all`; layouts: classic (the default), grid, review; ext: jpg, png, webp.
 * Parsed into the same body `POST /api/mosaics` takes, so a link and the API share one dedupe key.
 * Browser-safe: the share menu builds links with `stableLinkPath`.
 */
import { AppError } from './errors.js';
import { normalizeRequest, type Format, type MosaicParams, type MosaicRequest } from './task.js';

const FILE_RE = /^(month|\d{4}-\d{2}|recent-\d{1,3}|\d{4}|all)(?:\.(classic|grid|review))?\.(jpg|jpeg|png|webp)$/;

const EXT_FORMAT: Record<string, Format> = { jpg: 'jpeg', jpeg: 'jpeg', png: 'png', webp: 'webp' };

/** The format a file name asks for (for the picture of an error about the rest of it), jpeg if none. */
export function stableLinkFormat(file: string): Format {
  return EXT_FORMAT[/\.([a-z]+)$/.exec(file)?.[1] ?? ''] ?? 'jpeg';
}

/** The request a stable link names; INVALID_REQUEST (with a sentence) when it names none. */
export function stableLinkRequest(username: string, file: string, now: Date): MosaicRequest {
  const m = FILE_RE.exec(file);
  if (!m) {
    throw new AppError(
      'INVALID_REQUEST',
      'A stable link looks like /m/NAME/PERIOD.EXT: PERIOD is month, YYYY-MM, recent-N, YYYY or all, optionally followed by .grid or .review; EXT is jpg, png or webp.',
      { field: 'period' },
    );
  }
  const [, period, layout, ext] = m;
  const body: Record<string, unknown> = { username, format: EXT_FORMAT[ext] };
  if (layout) body.layout = layout;
  if (period === 'month') body.mode = 'month';
  else if (period === 'all') body.mode = 'all';
  else if (period.startsWith('recent-')) Object.assign(body, { mode: 'recent', count: Number(period.slice(7)) });
  else if (period.length === 4) Object.assign(body, { mode: 'year', year: Number(period) });
  else Object.assign(body, { mode: 'month', month: period });
  return { ...normalizeRequest(body, now), refresh: false };
}

/** The stable link of a mosaic's parameters (columns are not part of a link: the default is used). */
export function stableLinkPath(username: string, params: MosaicParams): string {
  const period =
    params.mode === 'month'
      ? params.month
      : params.mode === 'recent'
        ? `recent-${params.count}`
        : params.mode === 'year'
          ? String(params.year)
          : 'all';
  const layout = params.layout === 'classic' ? '' : `.${params.layout}`;
  const ext = params.format === 'jpeg' ? 'jpg' : params.format;
  return `/m/${encodeURIComponent(username)}/${period}${layout}.${ext}`;
}
