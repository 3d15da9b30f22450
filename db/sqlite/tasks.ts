/**
 * Folder db/sqlite/tasks/: the queue, one SQL intent per file (graphile-worker's habit): context.ts
 * (settings, the Task JSON, the event append), types.ts, enqueue, requesters (shares and caps), claim
 * (lease, heartbeat, progress), finish (complete, fail, delay, release), cancel, sweep, read. The units
 * touch only the tasks, task_events and task_requesters tables (and read results and workers); they
 * see one another only through what this file hands each.
 *
 * The task queue (docs/architecture.md#queue-rules): enqueue with race-safe dedupe, atomic claim with a lease, lease-fenced
 * worker writes, cancel, sweep of expired leases. Every state change appends its `task_events` row in
 * the same transaction, so the change feed never misses or invents a change.
 * `createTaskStore` composes the units over one connection, statements prepared once.
 */
import type { Db } from './open.js';
import { savepoint, writeTx } from './open.js';
import { createQueueContext } from './tasks/context.js';
import { createReads } from './tasks/read.js';
import { createRequesters } from './tasks/requesters.js';
import { createEnqueue } from './tasks/enqueue.js';
import { createClaims } from './tasks/claim.js';
import { createFinishes } from './tasks/finish.js';
import { createCancel } from './tasks/cancel.js';
import { createSweep } from './tasks/sweep.js';
import type { QueueOptions, WithdrawOutcome } from './tasks/types.js';

export * from './tasks/types.js';
export { iso, TASK_JSON } from './tasks/context.js';

export type TaskStore = ReturnType<typeof createTaskStore>;

/** Builds the queue's functions over one connection, with statements prepared once. */
export function createTaskStore(db: Db, options: QueueOptions = {}) {
  const ctx = createQueueContext(db, options);
  const reads = createReads(ctx);
  const requesters = createRequesters(ctx, reads);
  const cancel = createCancel(ctx, reads);
  // taskJson is for the units (the raw JSON, parsed only when needed); callers get Tasks.
  const { taskJson: _internal, ...readApi } = reads;
  return {
    ...createEnqueue(ctx, requesters),

    /**
     * A requester's DELETE: withdraws the share `cancelToken` names; when no requester is left, the
     * task is cancelled as `cancel` does. Undefined for an unknown id.
     */
    withdraw(id: string, cancelToken: string): WithdrawOutcome | undefined {
      return requesters.withdraw(id, cancelToken, cancel);
    },

    ...createClaims(ctx),

    /**
     * Runs several of these calls in one write transaction (all or none): the worker completes the
     * tasks that finished together and claims the next ones in one commit.
     */
    transaction<T>(fn: () => T): T {
      return writeTx(db, fn);
    },

    /** Inside `transaction`: a part that, when it throws, is undone alone. */
    savepoint<T>(fn: () => T): T {
      return savepoint(db, fn);
    },

    ...createFinishes(ctx, reads),
    cancel,
    sweep: createSweep(ctx),
    ...readApi,
  };
}
