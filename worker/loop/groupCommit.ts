/**
 * Group commit: the tasks that finish in the same turn of the event loop are completed in one
 * transaction, which also claims the next tasks for the slots they free (no wait for the next claim
 * pass). Each completion runs under its own savepoint, so one whose lease was lost, or whose result
 * could not be stored, is undone alone and its task takes the error path as before.
 */
import { isSqliteBusy } from '../../db/sqlite/open.js';
import type { NewResult } from '../../db/sqlite/results.js';
import type { ClaimedTask, TaskStore } from '../../db/sqlite/tasks.js';

export interface GroupCommitDeps {
  tasks: Pick<TaskStore, 'transaction' | 'savepoint' | 'complete'>;
  storeResult: (taskId: string, result: NewResult) => void;
  /** Runs a final write, retried while the database is locked. */
  finalWrite: (write: () => void) => Promise<void>;
  /** Inside the batch's transaction: claims tasks for the slots a batch of `finished` tasks frees. */
  claimNext: (finished: number) => ClaimedTask[];
  /** Starts what `claimNext` claimed, once the batch is settled. */
  start: (claimed: ClaimedTask[]) => void;
}

interface Completion {
  task: ClaimedTask;
  result: NewResult | void;
  writes: (() => void)[];
  settle(err?: unknown): void;
}

/** Returns `complete`: resolves once the task's completion is committed, rejects if it was undone. */
export function createGroupCommit(deps: GroupCommitDeps) {
  let completions: Completion[] = [];

  async function commit(): Promise<void> {
    const batch = completions;
    completions = [];
    const failed = new Map<Completion, unknown>();
    let next: ClaimedTask[] = [];
    try {
      await deps.finalWrite(() => {
        failed.clear();
        next = deps.tasks.transaction(() => {
          for (const c of batch) {
            try {
              deps.tasks.savepoint(() => {
                const { task, result, writes } = c;
                deps.tasks.complete(task.id, task.leaseToken, result || writes.length ? () => {
                  if (result) deps.storeResult(task.id, result);
                  for (const write of writes) write();
                } : undefined);
              });
            } catch (err) {
              if (isSqliteBusy(err)) throw err; // the whole batch waits and tries again
              failed.set(c, err);
            }
          }
          return deps.claimNext(batch.length);
        });
      });
    } catch (err) {
      for (const c of batch) if (!failed.has(c)) failed.set(c, err);
    }
    for (const c of batch) c.settle(failed.get(c));
    deps.start(next);
  }

  return function complete(task: ClaimedTask, result: NewResult | void, writes: (() => void)[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      completions.push({ task, result, writes, settle: (err) => (err === undefined ? resolve() : reject(err)) });
      if (completions.length === 1) queueMicrotask(() => void commit());
    });
  };
}
