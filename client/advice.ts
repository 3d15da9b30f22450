/** What a person sees when a mosaic could not be made: a title and what to do next, per error code (docs/architecture.md#error-codes). */
import type { ErrorCode } from '../common/errors.js';

export interface Advice {
  title: string;
  /** What to do about it, as a sentence. */
  action: string;
  /** Where the fix is, when it is on this site (the export upload on `/`). */
  link?: { href: string; label: string };
}

/** The export upload on the home page: the error banner links here (page-home focuses it). */
export const EXPORT_UPLOAD_LINK = { href: '#export', label: 'Upload your Letterboxd export' } as const;

const ADVICE: Partial<Record<ErrorCode, Advice>> = {
  INVALID_REQUEST: { title: 'That request was not valid', action: 'Check the username and period, then try again.' },
  RATE_LIMITED: { title: 'Too many mosaics at once', action: 'Wait a minute, then try again.' },
  QUEUE_FULL: { title: 'The server is busy', action: 'Many mosaics are waiting already; try again in a minute.' },
  FORBIDDEN: { title: 'That was refused', action: 'Open moviemosaic itself (not a link from another site) and try again.' },
  USER_NOT_FOUND: {
    title: 'No such Letterboxd member',
    action: 'Check the spelling: it is the name in the profile address, letterboxd.com/name.',
  },
  NO_FILMS: {
    title: 'No films in that period',
    action: 'Pick another period, such as the last 30 films, or check that the diary is public.',
  },
  LETTERBOXD_BLOCKED: {
    title: 'Letterboxd refused the request',
    action:
      'Try a recent period (this month or the last films come from the feed), or upload your Letterboxd data export below: the whole history then comes from it.',
    link: EXPORT_UPLOAD_LINK,
  },
  INVALID_EXPORT: {
    title: 'That file is not a Letterboxd export',
    action: 'Choose the ZIP that Letterboxd’s “Export your data” gives, without unpacking or renaming what is inside.',
    link: EXPORT_UPLOAD_LINK,
  },
  LETTERBOXD_RATE_LIMITED: {
    title: 'Letterboxd asked us to slow down',
    action: 'Wait a few minutes, then try again.',
  },
  LETTERBOXD_UNREACHABLE: {
    title: 'Letterboxd could not be reached',
    action: 'Check the server’s internet connection, then try again in a little while.',
  },
  LETTERBOXD_CHANGED: {
    title: 'Letterboxd’s pages changed',
    action: 'This needs an update of moviemosaic; a recent period may still work.',
  },
  CANCELLED: { title: 'Mosaic cancelled', action: 'Make another whenever you like.' },
  WORKER_LOST: {
    title: 'The mosaic maker stopped',
    action: 'The worker process stopped while drawing; try again, and check the server if it keeps happening.',
  },
  TASK_NOT_FOUND: {
    title: 'That mosaic request no longer exists',
    action: 'Old requests are cleaned up after a while; make a new one.',
  },
  INTERNAL: { title: 'Something went wrong on the server', action: 'Try again; if it keeps happening, check the server log.' },
};

const FALLBACK: Advice = { title: 'The mosaic could not be made', action: 'Try again in a moment.' };

/** Advice for an error code (unknown codes get a generic, still actionable sentence). */
export function adviceFor(code: string | null | undefined): Advice {
  return (code && ADVICE[code as ErrorCode]) || FALLBACK;
}
