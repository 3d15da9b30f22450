/// <reference lib="webworker" />
/**
 * The service worker (bundled by esbuild, then workbox-build injects the precache manifest at
 * `self.__WB_MANIFEST`). Precaches the shell, answers navigations with index.html (except server
 * paths), keeps result images and their copies cache-first (their URLs are immutable), newest 50.
 */
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute, type PrecacheEntry } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';
import { CacheFirst } from 'workbox-strategies';
import { ExpirationPlugin } from 'workbox-expiration';
import { clientsClaim } from 'workbox-core';
import { KEEP_MOSAICS } from './retention.js';
import { isCacheableImage, isCachedResult, NAVIGATION_DENYLIST, RESULT_CACHE } from './sw-routes.js';

declare const self: ServiceWorkerGlobalScope & { __WB_MANIFEST: Array<PrecacheEntry | string> };

precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();

registerRoute(new NavigationRoute(createHandlerBoundToURL('/index.html'), { denylist: [...NAVIGATION_DENYLIST] }));

registerRoute(
  ({ url, request }) => isCachedResult(url, self.location.origin, request.method),
  new CacheFirst({
    cacheName: RESULT_CACHE,
    plugins: [
      // workbox's CacheableResponsePlugin matches statuses and exact header values; "not no-store" needs this.
      { cacheWillUpdate: async ({ response }) => (isCacheableImage(response) ? response : null) },
      // A mosaic kept offline is up to three images: its screen copy, thumbnail and (once zoomed) the full one.
      new ExpirationPlugin({ maxEntries: KEEP_MOSAICS * 3, purgeOnQuotaError: true }),
    ],
  }),
);

// The first install takes the open page at once, so a mosaic made on the very first visit is cached.
// Updates wait for the page's "reload" prompt (workbox-window sends SKIP_WAITING).
clientsClaim();
self.addEventListener('message', (event) => {
  if ((event.data as { type?: string } | null)?.type === 'SKIP_WAITING') void self.skipWaiting();
});
