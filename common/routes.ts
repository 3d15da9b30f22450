/**
 * The client's page routes (docs/architecture.md#pages-and-offline): which path is which page. Pure and
 * browser-safe; the client's router navigates by it, and the server uses it to tell page routes (served
 * index.html) from everything else (the 404 page) and to find the mosaic a link preview shows.
 */
import { USERNAME_RE } from './task.js';
import { isTaskIdSegment } from './taskId.js';

export type Route =
  | { name: 'home'; taskId: string | null; username: string | null }
  | { name: 'task'; id: string }
  | { name: 'user'; username: string; taskId: string | null }
  | { name: 'not-found' };

function decode(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/** Matches a path (and its query, for `/?task=ID`) to a route; unknown paths are `not-found`. */
export function matchRoute(pathname: string, search = ''): Route {
  // One trailing slash is tolerated ("/user/dave/"), empty segments elsewhere are not.
  const trimmed = pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname;
  const parts = trimmed.split('/').slice(1).map(decode);
  if (parts.some((p) => p === null || p === '')) {
    return trimmed === '/' ? homeRoute(search) : { name: 'not-found' };
  }
  const seg = parts as string[];
  if (seg.length === 0) return homeRoute(search);
  if (seg[0] === 'task' && seg.length === 2 && isTaskIdSegment(seg[1])) return { name: 'task', id: seg[1] };
  if (seg[0] === 'user' && (seg.length === 2 || seg.length === 3) && USERNAME_RE.test(seg[1])) {
    if (seg.length === 3 && !isTaskIdSegment(seg[2])) return { name: 'not-found' };
    return { name: 'user', username: seg[1].toLowerCase(), taskId: seg[2] ?? null };
  }
  return { name: 'not-found' };
}

/** `/?task=ID` shows that failed task's error banner; `/?user=name` prefills the form ("make another"). */
function homeRoute(search: string): Route {
  const q = new URLSearchParams(search);
  const taskId = q.get('task');
  const username = q.get('user');
  return {
    name: 'home',
    taskId: taskId && isTaskIdSegment(taskId) ? taskId : null,
    username: username && USERNAME_RE.test(username) ? username.toLowerCase() : null,
  };
}
