/** The queue's vocabulary: what callers hand in and get back, and the two errors a write can end in. */
import type { ErrorCode } from '../../../common/errors.js';
import type { NowClock } from '../../../common/clock.js';
import type { MosaicParams, Stage, Task, TaskStatus } from '../../../common/task.js';

/** A worker's write found its lease gone (reclaimed, cancelled-and-finished, or swept): discard the work. */
export class LeaseLostError extends Error {
  constructor(readonly taskId: string) {
    super(`Lease lost on task ${taskId}`);
    this.name = 'LeaseLostError';
  }
}

/** What a claimed task carries into the worker. */
export interface ClaimedTask {
  id: string;
  action: string;
  username: string;
  /** The raw params JSON: the action validates it (a malformed row must fail the task, not the worker). */
  paramsJson: string;
  attempt: number;
  maxAttempts: number;
  delayCount: number;
  leaseToken: string;
  leaseExpiresAt: number;
  /** When the request was made (ms): the moment its "this month" and "the future" were judged. */
  createdAt: number;
}

/** The columns of a claimed row both engines return (snake_case, as stored). */
export interface ClaimedColumns {
  id: string;
  action: string;
  username: string;
  params: string;
  attempt: number;
  max_attempts: number;
  delay_count: number;
  lease_token: string;
  lease_expires_at: number;
  created_at: number;
}

export interface TaskRow {
  id: string;
  action: string;
  username: string;
  params: string;
  dedupe_key: string;
  status: TaskStatus;
  progress_msg: string;
  stage: Stage;
  progress_done: number | null;
  progress_total: number | null;
  error_code: ErrorCode | null;
  error_msg: string | null;
  attempt: number;
  max_attempts: number;
  delay_count: number;
  run_at: number;
  lease_owner: string | null;
  lease_token: string | null;
  lease_expires_at: number | null;
  cancel_requested_at: number | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  updated_at: number;
  /** The seq of the task's first and latest events (migration 5): its events lie in that range. */
  first_seq: number | null;
  last_seq: number | null;
  /** 1 for background tasks (feed polls, migration 9). */
  background: number;
}

export interface QueueOptions {
  clock?: NowClock;
  leaseMs?: number;
  maxAttempts?: number;
  /** Base of the exponential retry backoff (ms); jitter is applied on top. */
  backoffBaseMs?: number;
  resultFreshMs?: number;
  /** A refresh of a mosaic completed less than this long ago makes no new task (default one minute). */
  refreshEveryMs?: number;
  random?: () => number;
}

export interface EnqueueInput {
  action: string;
  username: string;
  params: MosaicParams;
  refresh?: boolean;
  /**
   * When the request arrived. A refresh still takes a COMPLETE twin that finished after this moment
   * (strictly: a result of the same millisecond may predate the request):
   * it is newer than what was asked for, so a crowd of refreshes at once makes one new mosaic.
   */
  requestedAt?: number;
  /** Complete results finished before this time are stale (e.g. the member imported an export since). */
  staleBefore?: number;
  /** Records the request as one of the task's requesters (a new or a joined live task). */
  requester?: Requester;
  /** Refuses a new task (QueueLimitError) over these caps; joining a live task is always allowed. */
  limits?: QueueLimits;
}

/** Who is asking (the server's clientKey) and the cancel token they were handed. */
export interface Requester {
  clientKey: string;
  cancelToken: string;
}

/** Caps on unfinished tasks of the enqueued action: per client (QUEUE_PER_CLIENT) and queued in all (QUEUE_MAX). */
export interface QueueLimits {
  perClient: number;
  max: number;
}

/** A new task was refused by a QueueLimits cap; nothing was written. */
export class QueueLimitError extends Error {
  constructor(
    readonly limit: 'client' | 'queue',
    readonly count: number,
    readonly cap: number,
  ) {
    super(limit === 'client' ? `client has ${count} of ${cap} tasks` : `queue holds ${count} of ${cap} tasks`);
    this.name = 'QueueLimitError';
  }
}

/** What a cancel-token DELETE did; `forbidden`: the token is not one of this task's. */
export type WithdrawOutcome =
  | { kind: 'forbidden' }
  | { kind: 'finished'; task: Task }
  /** The requester's share is withdrawn; others still want the task, which goes on. */
  | { kind: 'left'; task: Task }
  /** The last requester withdrew: the task is cancelled (or its worker asked to stop). */
  | { kind: 'cancelled'; task: Task };

export interface EnqueueOutcome {
  task: Task;
  /** true when an existing live task or a fresh complete result was returned instead of a new task. */
  deduped: boolean;
  /**
   * Set when a refresh was refused: the same mosaic was made less than a minute ago (`task` is that
   * one). Milliseconds until it may be refreshed.
   */
  refreshIn?: number;
}

/** What a cancel did: the task as it now stands; `finished` when it had already ended (the caller says 409). */
export interface CancelOutcome {
  task: Task;
  finished: boolean;
}
