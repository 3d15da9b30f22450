/**
 * The task id format, for the server and the client alike. Browser-safe.
 *
 * A task id is a UUID (db/tasks.ts makes them with randomUUID): the API and the live socket answer
 * anything else as "no such task" without a query. Page URLs are looser on purpose (`/task/{id}`,
 * `/user/{name}/{id}`, `?task=`): an id-like segment still opens the page, and the API's answer
 * ("no such task") is what the visitor sees, rather than the 404 page.
 */
const TASK_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An id-like URL segment: what a page route accepts where a task id goes. */
const TASK_ID_SEGMENT_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** Whether `value` is a task id the server could have made. */
export function isTaskId(value: unknown): value is string {
  return typeof value === 'string' && TASK_ID_RE.test(value);
}

/** Whether a URL segment may stand for a task id in a page route (the API decides whether it exists). */
export function isTaskIdSegment(value: string): boolean {
  return TASK_ID_SEGMENT_RE.test(value);
}
