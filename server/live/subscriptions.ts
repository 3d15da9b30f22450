/**
 * Who follows which task, and what each is sent (docs/architecture.md#events-and-replay). A subscribe
 * replays the task's events after `after` from `task_events`, or sends one snapshot; the feed's events
 * then follow. Each subscription remembers the last seq it was sent, so replay and live delivery can
 * overlap without a duplicate or a step back: events go out in seq order, exactly once. Queue moves go
 * to the followers of queued tasks. Reads the database only through the stores it is given.
 */
import type { Task } from '../../common/task.js';
import type { ServerMessage } from '../../common/protocol.js';
import { WS_MAX_SUBSCRIPTIONS } from '../../common/protocol.js';
import type { EventStore, TaskEvent } from '../../db/sqlite/events.js';
import type { TaskStore } from '../../db/sqlite/tasks.js';
import { queuePositions } from '../queuePositions.js';
import type { LiveSocket } from './socket.js';

export interface SubscriptionDeps {
  events: Pick<EventStore, 'listTaskAfter' | 'latestForTask' | 'maxSeq'>;
  tasks: Pick<TaskStore, 'get' | 'queuedIds'>;
  /** Runs `fn`'s reads in one snapshot of the database (a read transaction). */
  snapshot: <T>(fn: () => T) => T;
}

export interface Subscriptions {
  subscribe(socket: LiveSocket, taskId: string, after: number | undefined): void;
  unsubscribe(socket: LiveSocket, taskId: string): void;
  /** Forgets every subscription of a socket that is gone. */
  forget(socket: LiveSocket): void;
  /** Sends feed events (in seq order) to their subscribers, then queue moves. */
  publish(events: TaskEvent[]): void;
}

type SubscriptionStart = { kind: 'replay'; task: Task; replay: TaskEvent[] } | { kind: 'snapshot'; task: Task; seq: number };

/** Events that cannot move the queue (everything else may: created, claimed, cancelled, requeued…). */
const QUEUE_NEUTRAL = new Set(['progress', 'cancel_requested']);

function taskMessage(seq: number, task: Task, queuePosition: number | null): string {
  return JSON.stringify({ type: 'task', seq, task: { ...task, queuePosition } } satisfies ServerMessage);
}

export function createSubscriptions(deps: SubscriptionDeps): Subscriptions {
  const { events, tasks } = deps;
  const byTask = new Map<string, Set<LiveSocket>>();

  function unlink(s: LiveSocket, taskId: string): void {
    const set = byTask.get(taskId);
    set?.delete(s);
    if (set?.size === 0) byTask.delete(taskId);
  }

  /** Replay (events after `after`) when they are all still stored, else one snapshot with the latest seq. */
  function readSubscription(taskId: string, after: number | undefined): SubscriptionStart | null {
    return deps.snapshot((): SubscriptionStart | null => {
      const task = tasks.get(taskId);
      if (!task) return null;
      const latest = events.latestForTask(taskId);
      if (after !== undefined && latest && after <= latest.seq) {
        const first = events.listTaskAfter(taskId, 0, 1)[0];
        // Pruning removes a task's oldest events first: everything after `after` is still there when
        // `after` is not older than the first stored event, or when nothing was pruned at all.
        if (after >= first.seq || first.type === 'created') {
          const replay: TaskEvent[] = [];
          for (let cursor = after; ; ) {
            const batch = events.listTaskAfter(taskId, cursor, 1000);
            replay.push(...batch);
            if (batch.length < 1000) break;
            cursor = batch[batch.length - 1].seq;
          }
          return { kind: 'replay', task, replay };
        }
      }
      // A task whose events were all pruned still gets a seq that orders it before any later change.
      return { kind: 'snapshot', task, seq: latest?.seq ?? events.maxSeq() };
    });
  }

  return {
    subscribe(s, taskId, after) {
      let sub = s.subs.get(taskId);
      if (!sub && s.subs.size >= WS_MAX_SUBSCRIPTIONS) {
        s.sendError('TOO_MANY_SUBSCRIPTIONS', `One connection can follow at most ${WS_MAX_SUBSCRIPTIONS} tasks; unsubscribe from some first.`, taskId);
        return;
      }
      const found = readSubscription(taskId, after);
      if (!found) {
        s.sendError('TASK_NOT_FOUND', 'There is no mosaic task with this id. It may have been cleaned up; start a new mosaic.', taskId);
        return;
      }
      if (!sub) {
        sub = { lastSeq: 0, lastPosition: null };
        s.subs.set(taskId, sub);
        let set = byTask.get(taskId);
        if (!set) byTask.set(taskId, (set = new Set()));
        set.add(s);
      }
      const position = found.task.status === 'QUEUED' ? queuePositions(tasks)(taskId) : null;
      sub.lastPosition = position;
      if (found.kind === 'replay') {
        sub.lastSeq = after!;
        for (const e of found.replay) {
          sub.lastSeq = e.seq;
          // Positions are computed when sent; a replayed QUEUED state gets today's position if still queued.
          if (!s.send(taskMessage(e.seq, e.task, e.task.status === 'QUEUED' ? position : null))) return;
        }
      } else {
        sub.lastSeq = found.seq;
        s.send(taskMessage(found.seq, found.task, position));
      }
    },

    unsubscribe(s, taskId) {
      if (s.subs.delete(taskId)) unlink(s, taskId);
    },

    forget(s) {
      for (const taskId of s.subs.keys()) unlink(s, taskId);
      s.subs.clear();
    },

    publish(batch) {
      if (byTask.size === 0) return;
      const positionOf = queuePositions(tasks);
      for (const e of batch) {
        const subscribers = byTask.get(e.taskId);
        if (!subscribers) continue;
        const position = e.task.status === 'QUEUED' ? positionOf(e.taskId) : null;
        // One string per event, whatever the number of subscribers.
        const text = taskMessage(e.seq, e.task, position);
        for (const s of subscribers) {
          const sub = s.subs.get(e.taskId)!;
          if (e.seq <= sub.lastSeq) continue; // already sent by a replay
          sub.lastSeq = e.seq;
          sub.lastPosition = position;
          s.send(text);
        }
      }
      if (batch.every((e) => QUEUE_NEUTRAL.has(e.type))) return;
      for (const [taskId, subscribers] of byTask) {
        const position = positionOf(taskId);
        if (position === null) continue;
        const text = JSON.stringify({ type: 'queue', taskId, position } satisfies ServerMessage);
        for (const s of subscribers) {
          const sub = s.subs.get(taskId)!;
          if (sub.lastPosition !== position && s.send(text, true)) sub.lastPosition = position;
        }
      }
    },
  };
}
