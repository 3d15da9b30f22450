/**
 * The names of the queue's actions, defined once: the server enqueues them, the worker registers one
 * handler per name, and the database stores them in `tasks.action`. Browser-safe.
 */
export const ACTIONS = {
  createMosaic: 'create_mosaic',
  pollFeed: 'poll_feed',
  makeRenditions: 'make_renditions',
} as const;

export type TaskAction = (typeof ACTIONS)[keyof typeof ACTIONS];
