/**
 * Group commit: the tasks that finish in the same turn of the event loop are completed in one
 * transaction (the port's `completeAndClaim`), which also claims the next tasks for the slots they
 * free (no wait for the next claim pass). Each completion stands alone there, so one whose lease was
 * lost, or whose result could not be stored, is undone alone and its task takes the error path as
 * before.
 */
import type { ClaimedTask, CompletionWrite, NewResult, TaskQueue } from '../../db/port.js';

export interface GroupCommitDeps {
  tasks: Pick<TaskQueue, 'completeAndClaim'>;
  workerId: string;
  /** Runs a final write, retried while the database is busy. */
  finalWrite: (write: () => Promise<void>) => Promise<void>;
  /** How many tasks to claim for the slots a batch of `finished` tasks frees (reserved until `start`). */
  claimSlots: (finished: number) => number;
  /** Starts what the batch claimed, once it is settled, and gives back the `slots` reserved. */
  start: (claimed: ClaimedTask[], slots: number) => void;
}

interface Pending {
  task: ClaimedTask;
  result: NewResult | void;
  writes: CompletionWrite[];
  settle(err?: Error): void;
}

/** Returns `complete`: resolves once the task's completion is committed, rejects if it was undone. */
export function createGroupCommit(deps: GroupCommitDeps) {
  let pending: Pending[] = [];

  async function commit(): Promise<void> {
    const batch = pending;
    pending = [];
    const slots = deps.claimSlots(batch.length);
    const completions = batch.map(({ task, result, writes }) => ({
      id: task.id,
      leaseToken: task.leaseToken,
      result: result || undefined,
      writes: writes.length ? writes : undefined,
    }));
    let errors: (Error | undefined)[] = [];
    let next: ClaimedTask[] = [];
    try {
      await deps.finalWrite(async () => {
        const outcome = await deps.tasks.completeAndClaim(completions, deps.workerId, slots);
        errors = outcome.errors;
        next = outcome.claimed;
      });
    } catch (err) {
      const failure = err instanceof Error ? err : new Error(String(err));
      errors = batch.map(() => failure);
    }
    batch.forEach((c, i) => c.settle(errors[i]));
    deps.start(next, slots);
  }

  return function complete(task: ClaimedTask, result: NewResult | void, writes: CompletionWrite[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      pending.push({ task, result, writes, settle: (err) => (err === undefined ? resolve() : reject(err)) });
      if (pending.length === 1) queueMicrotask(() => void commit());
    });
  };
}
