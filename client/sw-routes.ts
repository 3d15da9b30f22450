/** URL rules of the service worker, pure so tests can check them without a worker. */

/**
 * Paths the server answers itself: never replaced by the app shell (docs/architecture.md#https). Workbox tests
 * these against pathname + search.
 */
export const NAVIGATION_DENYLIST: readonly RegExp[] = [
  /^\/api(\/|\?|$)/,
  /^\/ws(\/|\?|$)/,
  /^\/setup(\/|\?|$)/,
  /^\/healthz(\?|$)/,
  // Anything with a file extension (/ca.crt, /sw.js.map, a missing asset) is a file, not a page.
  /\/[^/?]+\.[^/?]+(\?.*)?$/,
];

/** Whether a navigation to `pathAndSearch` gets the cached app shell. */
export function isShellNavigation(pathAndSearch: string): boolean {
  return !NAVIGATION_DENYLIST.some((re) => re.test(pathAndSearch));
}

const RESULT_PATH = /^\/api\/tasks\/[^/]+\/result(\/thumb|\/screen)?$/;

/**
 * Whether a request is a result image (full, screen copy or thumbnail) as the pages of this device's
 * mosaics load it (cache-first, kept offline). List thumbnails of other mosaics carry `?via=list` and
 * stay out, so the gallery never evicts this device's mosaics.
 */
export function isCachedResult(url: URL, origin: string, method = 'GET'): boolean {
  return method === 'GET' && url.origin === origin && url.search === '' && RESULT_PATH.test(url.pathname);
}

/**
 * Whether an image answer may be kept: a 200 the server did not mark `no-store`. The server answers a
 * rendition not made yet with the full image, `no-store`; the copy, made meanwhile, comes next time.
 */
export function isCacheableImage(response: Pick<Response, 'status' | 'headers'>): boolean {
  return response.status === 200 && !/(^|,)\s*no-store\s*(,|$)/i.test(response.headers.get('Cache-Control') ?? '');
}

/** The Cache Storage cache of result images; store.ts deletes from it when it evicts a mosaic. */
export const RESULT_CACHE = 'mosaic-results';
