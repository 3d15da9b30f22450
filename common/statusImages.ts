/**
 * The images a stable link (`/m/…`) answers when it has no mosaic to show: an `<img>` in a forum or a
 * chat cannot show JSON, so each outcome is a small picture that says it, with the HTTP status that
 * goes with it. They are drawn once at build time (scripts/status-images.ts → dist/status/), one per
 * outcome and format: the server itself never draws. Browser-safe.
 */
import type { Format } from './task.js';

export interface StatusImage {
  status: number;
  /** The picture's two lines: what happened, and what to do. */
  title: string;
  hint: string;
}

export const STATUS_IMAGES = {
  MAKING: { status: 202, title: 'This mosaic is being made…', hint: 'It will be here in a few seconds: reload.' },
  USER_NOT_FOUND: { status: 404, title: 'No such Letterboxd member', hint: 'Check the name in the link.' },
  NO_FILMS: { status: 404, title: 'No films in this period', hint: 'Try another period, or log some films.' },
  LETTERBOXD_BLOCKED: { status: 503, title: 'Letterboxd refused the request', hint: 'Try again later.' },
  LETTERBOXD_UNREACHABLE: { status: 503, title: 'Letterboxd cannot be reached', hint: 'Try again later.' },
  LETTERBOXD_RATE_LIMITED: { status: 503, title: 'Letterboxd asked us to slow down', hint: 'Try again in a few minutes.' },
  LETTERBOXD_CHANGED: { status: 503, title: 'Letterboxd’s pages changed', hint: 'The server needs an update.' },
  RATE_LIMITED: { status: 429, title: 'Too many new mosaics from here', hint: 'Try again in a minute.' },
  QUEUE_FULL: { status: 503, title: 'The server is busy', hint: 'Try again in a minute.' },
  INVALID_REQUEST: { status: 400, title: 'This link names no mosaic', hint: 'Like /m/dave/2026-11.png or /m/dave/month.jpg' },
  INTERNAL: { status: 500, title: 'This mosaic could not be made', hint: 'Try again later.' },
} as const satisfies Record<string, StatusImage>;

export type StatusImageName = keyof typeof STATUS_IMAGES;

/** The picture for an error code: its own if it has one, else INTERNAL's. */
export function statusImageFor(code: string | null | undefined): StatusImageName {
  return code && code !== 'MAKING' && Object.hasOwn(STATUS_IMAGES, code) ? (code as StatusImageName) : 'INTERNAL';
}

/** Its file under dist/status/. */
export function statusImageFile(name: StatusImageName, format: Format): string {
  return `${name}.${format === 'jpeg' ? 'jpg' : format}`;
}

export const STATUS_IMAGE_SIZE = { width: 480, height: 160 };
