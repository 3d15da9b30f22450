/** Why the loop stopped a task itself, as the errors it aborts the task's signal with. */

/** The task was cancelled (by its owner, seen on a progress write, a heartbeat or the cancel check). */
export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

/** The worker is shutting down: the task is released for another worker, its attempt not counted. */
export class ShutdownError extends Error {
  constructor() {
    super('worker shutting down');
    this.name = 'ShutdownError';
  }
}
