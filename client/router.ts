/** A tiny History API router for the client's pages; which path is which page is common/routes.ts. Link rules are pure. */
import { matchRoute, type Route } from '../common/routes.js';

export { matchRoute, type Route };

export const paths = {
  home: (query: { task?: string; user?: string } = {}): string => {
    const q = new URLSearchParams();
    if (query.task) q.set('task', query.task);
    if (query.user) q.set('user', query.user);
    const s = q.toString();
    return s ? `/?${s}` : '/';
  },
  task: (id: string): string => `/task/${encodeURIComponent(id)}`,
  user: (username: string, taskId?: string): string =>
    `/user/${encodeURIComponent(username.toLowerCase())}${taskId ? `/${encodeURIComponent(taskId)}` : ''}`,
};

/** What a click needs for the interception decision; a MouseEvent and an anchor both fit. */
export interface ClickLike {
  button: number;
  metaKey: boolean;
  ctrlKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
  defaultPrevented: boolean;
}
export interface AnchorLike {
  href: string;
  target: string;
  hasAttribute(name: string): boolean;
}

/**
 * The in-app URL a click on `anchor` should navigate to without a page load, or null to let the
 * browser handle it: other origins, new tabs, downloads, modified clicks and every path that is not
 * a client route (`/setup`, `/ca.crt`, `/api/...` belong to the server).
 */
export function interceptedUrl(event: ClickLike, anchor: AnchorLike, origin: string, currentHref?: string): URL | null {
  if (event.defaultPrevented || event.button !== 0) return null;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return null;
  if ((anchor.target && anchor.target !== '_self') || anchor.hasAttribute('download')) return null;
  if (anchor.hasAttribute('data-native')) return null;
  let url: URL;
  try {
    url = new URL(anchor.href, origin);
  } catch {
    return null;
  }
  if (url.origin !== origin) return null;
  if (currentHref && url.hash) {
    // An in-page anchor ("#main") is the browser's business, not a navigation.
    const cur = new URL(currentHref);
    if (cur.pathname === url.pathname && cur.search === url.search) return null;
  }
  if (matchRoute(url.pathname, url.search).name === 'not-found') return null;
  return url;
}

export interface Location {
  route: Route;
  /** pathname + search */
  url: string;
  /** history.state: carries data a page wants to survive a reload (e.g. the failed task). */
  state: unknown;
}

/** Keeps the current route in sync with the History API and intercepts in-app link clicks. */
export class Router {
  #listeners = new Set<(loc: Location) => void>();
  #win: Window;
  current: Location;

  constructor(win: Window = window) {
    this.#win = win;
    this.current = this.#read();
    win.addEventListener('popstate', () => this.#emit());
    // composedPath() sees anchors inside shadow roots, which event.target (retargeted) does not.
    win.document.addEventListener('click', (event) => {
      const anchor = event.composedPath().find((n): n is HTMLAnchorElement => n instanceof HTMLAnchorElement);
      if (!anchor) return;
      const url = interceptedUrl(event, anchor, win.location.origin, win.location.href);
      if (!url) return;
      event.preventDefault();
      this.navigate(url.pathname + url.search + url.hash);
    });
  }

  /** Calls `listener` on every route change; returns the unsubscribe function. */
  subscribe(listener: (loc: Location) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  navigate(url: string, options: { replace?: boolean; state?: unknown } = {}): void {
    const target = url.startsWith('/') ? url : new URL(url, this.#win.location.href).pathname;
    const state = options.state ?? null;
    if (options.replace) this.#win.history.replaceState(state, '', target);
    else {
      if (target === this.current.url && state === null) return;
      this.#win.history.pushState(state, '', target);
      this.#win.scrollTo(0, 0);
    }
    this.#emit();
  }

  /** Changes the current entry's URL and state without announcing a new page (e.g. dismissing a banner). */
  replaceQuietly(url: string, state: unknown = null): void {
    this.#win.history.replaceState(state, '', url);
    this.current = this.#read();
  }

  #read(): Location {
    const { pathname, search } = this.#win.location;
    return { route: matchRoute(pathname, search), url: pathname + search, state: this.#win.history.state };
  }

  #emit(): void {
    this.current = this.#read();
    for (const l of this.#listeners) l(this.current);
  }
}
