/**
 * Who follows which task, and what each is sent (docs/architecture.md#events-and-replay). A subscribe
 * replays the task's events after `after` from `task_events`, or sends one snapshot; the feed's events
 * then follow. Each subscription remembers the last seq it was sent, so replay and live delivery can
 * overlap without a duplicate or a step back: events go out in seq order, exactly once. Queue moves go
 * to the followers of queued tasks. Reads the database only through the storage port it is given.
 *
 * Reads are asynchronous, so a subscription is registered before its start is read: events the feed
 * publishes meanwhile are held and sent after the replay or snapshot, those at or below its seq
 * skipped, so nothing published during the read is lost or sent twice.
 */
import type { Task } from '../../common/task.js';
import type { ServerMessage } from '../../common/protocol.js';
import { WS_MAX_SUBSCRIPTIONS } from '../../common/protocol.js';
import type { LiveFeed, TaskEvent, TaskQueue } from '../../db/port.js';
import { queuePositions, type PositionOf } from '../queuePositions.js';
import type { LiveSocket, Subscription } from './socket.js';

export interface SubscriptionDeps {
  /** A task's replay or snapshot, read in one consistent snapshot of the database. */
  feed: Pick<LiveFeed, 'replay'>;
  tasks: Pick<TaskQueue, 'queuedIds'>;
}

export interface Subscriptions {
  subscribe(socket: LiveSocket, taskId: string, after: number | undefined): Promise<void>;
  unsubscribe(socket: LiveSocket, taskId: string): void;
  /** Forgets every subscription of a socket that is gone. */
  forget(socket: LiveSocket): void;
  /** Sends feed events (in seq order) to their subscribers, then queue moves. */
  publish(events: TaskEvent[]): Promise<void>;
}

/** Events that cannot move the queue (everything else may: created, claimed, cancelled, requeued…). */
const QUEUE_NEUTRAL = new Set(['progress', 'cancel_requested']);

function taskMessage(seq: number, task: Task, queuePosition: number | null): string {
  return JSON.stringify({ type: 'task', seq, task: { ...task, queuePosition } } satisfies ServerMessage);
}

export function createSubscriptions(deps: SubscriptionDeps): Subscriptions {
  const { feed, tasks } = deps;
  const byTask = new Map<string, Set<LiveSocket>>();
  /** Subscriptions whose start is still being read: the events published meanwhile, held in order. */
  const held = new WeakMap<Subscription, TaskEvent[]>();

  function unlink(s: LiveSocket, taskId: string): void {
    const set = byTask.get(taskId);
    set?.delete(s);
    if (set?.size === 0) byTask.delete(taskId);
  }

  /**
   * Queue positions for what is sent: read once per batch, and best effort. A failed read of the
   * queue sends the events without a position (null) and no queue moves; it must not stop the batch,
   * whose events the feed has already handed over and would not hand over again.
   */
  function livePositions(): PositionOf {
    const of = queuePositions(tasks);
    return (taskId) => of(taskId).catch(() => null);
  }

  /** Sends one event to one subscriber unless it was sent already; false when the socket is full. */
  function deliver(s: LiveSocket, sub: Subscription, e: TaskEvent, text: string, position: number | null): boolean {
    if (e.seq <= sub.lastSeq) return true; // already sent by a replay
    sub.lastSeq = e.seq;
    sub.lastPosition = position;
    return s.send(text);
  }

  /** Reads where a subscription starts, sends it, then what the feed published meanwhile (held in `pending`). */
  async function start(
    s: LiveSocket,
    sub: Subscription,
    taskId: string,
    after: number | undefined,
    fresh: boolean,
    pending: TaskEvent[],
  ): Promise<void> {
    const found = await feed.replay(taskId, after);
    // Unsubscribed (or the socket dropped) while reading: nothing more to send.
    if (s.subs.get(taskId) !== sub) return;
    if (!found) {
      if (fresh) {
        s.subs.delete(taskId);
        unlink(s, taskId);
      }
      s.sendError('TASK_NOT_FOUND', 'There is no mosaic task with this id. It may have been cleaned up; start a new mosaic.', taskId);
      return;
    }
    const positionOf = livePositions();
    const position = found.task.status === 'QUEUED' ? await positionOf(taskId) : null;
    if (s.subs.get(taskId) !== sub) return;
    sub.lastPosition = position;
    if (found.kind === 'replay') {
      sub.lastSeq = after!;
      for (const e of found.events) {
        sub.lastSeq = e.seq;
        // Positions are computed when sent; a replayed QUEUED state gets today's position if still queued.
        if (!s.send(taskMessage(e.seq, e.task, e.task.status === 'QUEUED' ? position : null))) return;
      }
    } else {
      sub.lastSeq = found.seq;
      if (!s.send(taskMessage(found.seq, found.task, position))) return;
    }
    // What the feed published while the start was read, in seq order, each at most once (the list
    // may grow while a position is read). Released in the same turn as the check that found it
    // drained: a publish that ran between the two would push to a list nobody reads any more.
    for (let i = 0; i < pending.length; i++) {
      const e = pending[i];
      const p = e.task.status === 'QUEUED' ? await positionOf(e.taskId) : null;
      if (s.subs.get(taskId) !== sub) return;
      if (!deliver(s, sub, e, taskMessage(e.seq, e.task, p), p)) return;
    }
    release(sub, pending);
  }

  /** Ends the holding of `pending` (not a later subscribe's list for the same subscription). */
  function release(sub: Subscription, pending: TaskEvent[]): void {
    if (held.get(sub) === pending) held.delete(sub);
  }

  return {
    async subscribe(s, taskId, after) {
      let sub = s.subs.get(taskId);
      if (!sub && s.subs.size >= WS_MAX_SUBSCRIPTIONS) {
        s.sendError(
          'TOO_MANY_SUBSCRIPTIONS',
          `One connection can follow at most ${WS_MAX_SUBSCRIPTIONS} tasks; unsubscribe from some first.`,
          taskId,
        );
        return;
      }
      const fresh = !sub;
      if (!sub) {
        sub = { lastSeq: Number.MAX_SAFE_INTEGER, lastPosition: null };
        s.subs.set(taskId, sub);
        let set = byTask.get(taskId);
        if (!set) byTask.set(taskId, (set = new Set()));
        set.add(s);
      }
      const pending: TaskEvent[] = [];
      held.set(sub, pending);
      try {
        await start(s, sub, taskId, after, fresh, pending);
      } catch (err) {
        // A failed read leaves no subscription that would wait for its start forever.
        if (fresh && s.subs.get(taskId) === sub) {
          s.subs.delete(taskId);
          unlink(s, taskId);
        }
        throw err;
      } finally {
        release(sub, pending);
      }
    },

    unsubscribe(s, taskId) {
      if (s.subs.delete(taskId)) unlink(s, taskId);
    },

    forget(s) {
      for (const taskId of s.subs.keys()) unlink(s, taskId);
      s.subs.clear();
    },

    async publish(batch) {
      if (byTask.size === 0) return;
      const positionOf = livePositions();
      for (const e of batch) {
        const subscribers = byTask.get(e.taskId);
        if (!subscribers) continue;
        const position = e.task.status === 'QUEUED' ? await positionOf(e.taskId) : null;
        // One string per event, whatever the number of subscribers.
        const text = taskMessage(e.seq, e.task, position);
        for (const s of byTask.get(e.taskId) ?? []) {
          const sub = s.subs.get(e.taskId);
          if (!sub) continue;
          const pending = held.get(sub);
          if (pending) pending.push(e);
          else deliver(s, sub, e, text, position);
        }
      }
      if (batch.every((e) => QUEUE_NEUTRAL.has(e.type))) return;
      for (const taskId of [...byTask.keys()]) {
        const position = await positionOf(taskId);
        if (position === null) continue;
        const text = JSON.stringify({ type: 'queue', taskId, position } satisfies ServerMessage);
        for (const s of byTask.get(taskId) ?? []) {
          const sub = s.subs.get(taskId);
          if (!sub || held.has(sub)) continue;
          if (sub.lastPosition !== position && s.send(text, true)) sub.lastPosition = position;
        }
      }
    },
  };
}
