/**
 * The live socket (docs/architecture.md#live-socket, docs/architecture.md#events-and-replay, docs/architecture.md#edges): `ws` in noServer mode behind the HTTP server's `upgrade`
 * event. Path, Host and Origin are checked before the handshake. A subscribe replays the task's events
 * after `after` from `task_events`, or sends one snapshot; the feed watcher's events then follow.
 * Each subscription remembers the last seq it was sent, so replay and live delivery can overlap
 * without a duplicate or a step back: events go out in seq order, exactly once.
 */
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import type { ErrorCode } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { ServerMessage } from '../../common/protocol.js';
import { WS_MAX_PAYLOAD, WS_MAX_SUBSCRIPTIONS } from '../../common/protocol.js';
import type { Task } from '../../common/task.js';
import type { EventStore, TaskEvent } from '../../db/sqlite/events.js';
import type { TaskStore } from '../../db/sqlite/tasks.js';
import { sameOrigin, type HostPolicy } from '../hosts.js';
import { parseClientMessage } from './messages.js';
import { clientKey, requestFrom } from '../clientKey.js';

export interface HubDeps {
  events: Pick<EventStore, 'listTaskAfter' | 'latestForTask' | 'maxSeq'>;
  tasks: Pick<TaskStore, 'get' | 'queuePosition' | 'queuedIds'>;
  /** Runs `fn`'s reads in one snapshot of the database (a read transaction). */
  snapshot: <T>(fn: () => T) => T;
  hosts: HostPolicy;
  log: Logger;
  /** ws-level ping every this often; a peer that has not answered the previous ping is terminated. */
  heartbeatMs?: number;
  /** A socket this far behind (bytes still queued from earlier turns) is closed: it resumes from its last seq. */
  maxBufferedBytes?: number;
  /** At most this many bytes queued for one socket within one turn of the event loop (replays). */
  maxBurstBytes?: number;
  maxSockets?: number;
  /** Open sockets per client (server/clientKey.ts; SOCKETS_PER_CLIENT): one guest cannot take them all. */
  maxSocketsPerClient?: number;
}

export interface Hub {
  /** The HTTP server's `upgrade` listener. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Sends feed events (in seq order) to their subscribers, then queue moves. */
  publish(events: TaskEvent[]): void;
  stats(): { sockets: number; subscriptions: number };
  /** Closes every socket (1001) and stops the heartbeat. */
  close(): Promise<void>;
}

interface Subscription {
  /** The highest seq this subscriber was sent; live events at or below it are skipped. */
  lastSeq: number;
  /** The queue position it last heard of (null when not queued). */
  lastPosition: number | null;
}

interface Client {
  ws: WebSocket;
  /** Whose socket this is (clientKey). */
  key: string;
  subs: Map<string, Subscription>;
  alive: boolean;
  closed: boolean;
  /** Bytes queued during the current turn of the event loop (reset by setImmediate). */
  turnBytes: number;
}

type SubscriptionStart = { kind: 'replay'; task: Task; replay: TaskEvent[] } | { kind: 'snapshot'; task: Task; seq: number };

/** Events that cannot move the queue (everything else may: created, claimed, cancelled, requeued…). */
const QUEUE_NEUTRAL = new Set(['progress', 'cancel_requested']);

/** Answers an upgrade request with a plain HTTP error and closes the connection. */
export function rejectUpgrade(socket: Duplex, status: number, message: string): void {
  const body = `${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    () => socket.destroy(),
  );
}

function taskMessage(seq: number, task: Task, queuePosition: number | null): string {
  return JSON.stringify({ type: 'task', seq, task: { ...task, queuePosition } } satisfies ServerMessage);
}

export function createHub(deps: HubDeps): Hub {
  const { events, tasks, hosts, log } = deps;
  const heartbeatMs = deps.heartbeatMs ?? 30_000;
  const maxBuffered = deps.maxBufferedBytes ?? 1024 * 1024;
  const maxBurst = deps.maxBurstBytes ?? 8 * 1024 * 1024;
  const maxSockets = deps.maxSockets ?? 5000;
  const perClient = deps.maxSocketsPerClient ?? 20;
  /** Open (or opening) sockets per client key; an entry goes when its count reaches 0. */
  const perKey = new Map<string, number>();
  const release = (key: string) => {
    const n = (perKey.get(key) ?? 1) - 1;
    if (n <= 0) perKey.delete(key);
    else perKey.set(key, n);
  };

  const wss = new WebSocketServer({ noServer: true, maxPayload: WS_MAX_PAYLOAD, perMessageDeflate: false, clientTracking: false });
  const clients = new Set<Client>();
  const byTask = new Map<string, Set<Client>>();
  let closing = false;

  const heartbeat = setInterval(() => {
    for (const c of clients) {
      if (!c.alive) {
        log.debug('socket: no pong, terminating');
        drop(c);
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }, heartbeatMs);
  heartbeat.unref();

  /** Forgets a client and its subscriptions (the socket is closed by the caller or already gone). */
  function drop(c: Client): void {
    if (c.closed) return;
    c.closed = true;
    clients.delete(c);
    release(c.key);
    for (const taskId of c.subs.keys()) unlink(c, taskId);
    c.subs.clear();
  }

  function unlink(c: Client, taskId: string): void {
    const set = byTask.get(taskId);
    set?.delete(c);
    if (set?.size === 0) byTask.delete(taskId);
  }

  /**
   * Sends unless the peer has fallen too far behind. `bufferedAmount` only shrinks after the current
   * turn (Node acknowledges even the writes the kernel took at once on the next tick), so what counts
   * is the backlog left from earlier turns; this turn's own burst (a replay) has its own bound. A
   * droppable message (a queue move) is skipped early; anything else closes the socket instead,
   * because a gap in the events must never go unnoticed: the client reconnects and resumes from the
   * last seq it got.
   */
  function send(c: Client, text: string, droppable = false): boolean {
    if (c.closed || c.ws.readyState !== WebSocket.OPEN) return false;
    const backlog = c.ws.bufferedAmount - c.turnBytes;
    if (droppable && backlog > maxBuffered / 4) return false;
    if (backlog > maxBuffered || c.turnBytes > maxBurst) {
      log.warn('socket too slow; closing it', { backlogBytes: backlog, burstBytes: c.turnBytes });
      drop(c);
      c.ws.close(1013, 'Too far behind; reconnect to resume');
      return false;
    }
    if (c.turnBytes === 0) setImmediate(() => (c.turnBytes = 0));
    c.turnBytes += Buffer.byteLength(text);
    c.ws.send(text);
    return true;
  }

  function sendMessage(c: Client, message: ServerMessage): boolean {
    return send(c, JSON.stringify(message));
  }

  function sendError(c: Client, code: ErrorCode, message: string, taskId?: string): void {
    sendMessage(c, { type: 'error', code, message, ...(taskId ? { taskId } : {}) });
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

  function subscribe(c: Client, taskId: string, after: number | undefined): void {
    let sub = c.subs.get(taskId);
    if (!sub && c.subs.size >= WS_MAX_SUBSCRIPTIONS) {
      sendError(c, 'TOO_MANY_SUBSCRIPTIONS', `One connection can follow at most ${WS_MAX_SUBSCRIPTIONS} tasks; unsubscribe from some first.`, taskId);
      return;
    }
    const found = readSubscription(taskId, after);
    if (!found) {
      sendError(c, 'TASK_NOT_FOUND', 'There is no mosaic task with this id. It may have been cleaned up; start a new mosaic.', taskId);
      return;
    }
    if (!sub) {
      sub = { lastSeq: 0, lastPosition: null };
      c.subs.set(taskId, sub);
      let set = byTask.get(taskId);
      if (!set) byTask.set(taskId, (set = new Set()));
      set.add(c);
    }
    const position = found.task.status === 'QUEUED' ? tasks.queuePosition(taskId) : null;
    sub.lastPosition = position;
    if (found.kind === 'replay') {
      sub.lastSeq = after!;
      for (const e of found.replay) {
        sub.lastSeq = e.seq;
        // Positions are computed when sent; a replayed QUEUED state gets today's position if still queued.
        if (!send(c, taskMessage(e.seq, e.task, e.task.status === 'QUEUED' ? position : null))) return;
      }
    } else {
      sub.lastSeq = found.seq;
      send(c, taskMessage(found.seq, found.task, position));
    }
  }

  function unsubscribe(c: Client, taskId: string): void {
    if (c.subs.delete(taskId)) unlink(c, taskId);
  }

  function onMessage(c: Client, data: RawData, isBinary: boolean): void {
    c.alive = true;
    if (c.closed) return;
    if (isBinary) return sendError(c, 'INVALID_MESSAGE', 'Messages must be JSON text, not binary.');
    const parsed = parseClientMessage(data.toString());
    if (!parsed.ok) return sendError(c, 'INVALID_MESSAGE', parsed.error, parsed.taskId);
    const m = parsed.message;
    switch (m.type) {
      case 'ping':
        sendMessage(c, { type: 'pong' });
        return;
      case 'subscribe':
        subscribe(c, m.taskId, m.after);
        return;
      case 'unsubscribe':
        unsubscribe(c, m.taskId);
        return;
    }
  }

  function onConnection(ws: WebSocket, key: string): void {
    const c: Client = { ws, key, subs: new Map(), alive: true, closed: false, turnBytes: 0 };
    clients.add(c);
    ws.on('message', (data, isBinary) => {
      try {
        onMessage(c, data, isBinary);
      } catch (err) {
        log.error('socket message failed', { error: err instanceof Error ? err.stack : String(err) });
        sendError(c, 'INTERNAL', 'The server could not handle that message; try again.');
      }
    });
    ws.on('pong', () => (c.alive = true));
    ws.on('close', () => drop(c));
    // Oversized frames (maxPayload), bad UTF-8, protocol errors: ws closes the socket itself.
    ws.on('error', (err) => log.debug('socket error', { error: err.message }));
  }

  return {
    handleUpgrade(req, socket, head) {
      const onSocketError = (err: Error) => log.debug('upgrade socket error', { error: err.message });
      socket.on('error', onSocketError);
      const path = (req.url ?? '').split('?')[0];
      if (path !== '/ws') return rejectUpgrade(socket, 404, 'Not found');
      if (closing) return rejectUpgrade(socket, 503, 'The server is restarting; reconnect in a moment.');
      const seen = requestFrom(req);
      if (!hosts.allows(seen.host)) {
        return rejectUpgrade(socket, 403, 'This server does not answer to that host name; add it to ALLOWED_HOSTS if you use it.');
      }
      if (!sameOrigin(req.headers.origin, seen.host, seen.schemeForwarded ? seen.scheme : undefined)) {
        return rejectUpgrade(socket, 403, 'Only pages served by this server may open its live socket.');
      }
      if (clients.size >= maxSockets) return rejectUpgrade(socket, 503, 'Too many live connections; try again later.');
      const key = clientKey({ req });
      if ((perKey.get(key) ?? 0) >= perClient) {
        return rejectUpgrade(socket, 429, `This device already has ${perClient} live connections open; close some pages and try again.`);
      }
      // Counted from now: a handshake still under way holds its place, so a burst cannot overshoot.
      perKey.set(key, (perKey.get(key) ?? 0) + 1);
      socket.off('error', onSocketError);
      let connected = false;
      socket.once('close', () => {
        if (!connected) release(key);
      });
      wss.handleUpgrade(req, socket, head, (ws) => {
        connected = true;
        onConnection(ws, key);
      });
    },

    publish(batch) {
      if (byTask.size === 0) return;
      let positions: Map<string, number> | null = null;
      const positionOf = (taskId: string): number | null => {
        positions ??= new Map(tasks.queuedIds().map((id, i) => [id, i + 1]));
        return positions.get(taskId) ?? null;
      };
      for (const e of batch) {
        const subscribers = byTask.get(e.taskId);
        if (!subscribers) continue;
        const position = e.task.status === 'QUEUED' ? positionOf(e.taskId) : null;
        // One string per event, whatever the number of subscribers.
        const text = taskMessage(e.seq, e.task, position);
        for (const c of subscribers) {
          const sub = c.subs.get(e.taskId)!;
          if (e.seq <= sub.lastSeq) continue; // already sent by a replay
          sub.lastSeq = e.seq;
          sub.lastPosition = position;
          send(c, text);
        }
      }
      if (batch.every((e) => QUEUE_NEUTRAL.has(e.type))) return;
      for (const [taskId, subscribers] of byTask) {
        const position = positionOf(taskId);
        if (position === null) continue;
        const text = JSON.stringify({ type: 'queue', taskId, position } satisfies ServerMessage);
        for (const c of subscribers) {
          const sub = c.subs.get(taskId)!;
          if (sub.lastPosition !== position && send(c, text, true)) sub.lastPosition = position;
        }
      }
    },

    stats() {
      let subscriptions = 0;
      for (const c of clients) subscriptions += c.subs.size;
      return { sockets: clients.size, subscriptions };
    },

    async close() {
      closing = true;
      clearInterval(heartbeat);
      const open = [...clients];
      await Promise.all(
        open.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.ws.readyState === WebSocket.CLOSED) return resolve();
              const timer = setTimeout(() => {
                c.ws.terminate();
                resolve();
              }, 1000);
              c.ws.once('close', () => {
                clearTimeout(timer);
                resolve();
              });
              drop(c);
              c.ws.close(1001, 'Server is restarting');
            }),
        ),
      );
      wss.close();
    },
  };
}
