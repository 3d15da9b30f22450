/**
 * Which element shows each route, and how its code arrives. The home page is in the entry: a first
 * visit's form must not wait for a second download. Every other page is its own chunk (build.mjs
 * names them `page-*`), loaded the first time its route is shown; the server preloads it on a direct
 * visit to that route, and the service worker precaches them all for offline use.
 */
import type { Route } from '../common/routes.js';

export const PAGE_TAGS = {
  home: 'page-home',
  task: 'page-task',
  user: 'page-user',
  'not-found': 'page-not-found',
} as const satisfies Record<Route['name'], string>;

// Literal specifiers, so esbuild sees each import() and makes the page its own chunk.
const LOADERS: Record<Exclude<Route['name'], 'home'>, () => Promise<unknown>> = {
  task: () => import('./pages/page-task.js'),
  user: () => import('./pages/page-user.js'),
  'not-found': () => import('./pages/page-not-found.js'),
};

/** Whether the route's element is defined (its code has run). */
export function pageDefined(name: Route['name'], registry: CustomElementRegistry = customElements): boolean {
  return registry.get(PAGE_TAGS[name]) !== undefined;
}

/** Loads the route's page code; rejects when it cannot be fetched (offline and not cached, a removed build). */
export async function loadPage(name: Route['name']): Promise<void> {
  if (name === 'home' || pageDefined(name)) return;
  await LOADERS[name]();
}
