/**
 * The live socket (docs/architecture.md#live-socket, docs/architecture.md#events-and-replay,
 * docs/architecture.md#edges): `ws` in noServer mode behind the HTTP server's `upgrade` event. This
 * folder owns everything about `/ws` and may read storage through the port it is handed (db/port.ts); it writes
 * nothing. The hub composes its units, each with one intent:
 * - upgrade.ts: the door (path, Host, Origin, socket caps) before the handshake;
 * - caps.ts: open sockets in all and per client;
 * - socket.ts: one socket's state and backpressure;
 * - subscriptions.ts: who follows which task, replay, and delivery in seq order exactly once;
 * - messages.ts: parsing what a client sends;
 * - feed.ts: the change-feed watcher whose events the hub publishes.
 * The hub itself keeps the open sockets, their heartbeat, the message dispatch and the shutdown.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import type { Logger } from '../../common/log.js';
import { WS_MAX_PAYLOAD } from '../../common/protocol.js';
import type { TaskEvent } from '../../db/port.js';
import type { HostPolicy } from '../hosts.js';
import { parseClientMessage } from './messages.js';
import { createSocketCaps } from './caps.js';
import { LiveSocket } from './socket.js';
import { createSubscriptions, type SubscriptionDeps } from './subscriptions.js';
import { createUpgradeHandler } from './upgrade.js';
import { wsText } from './wsText.js';

export interface HubDeps extends SubscriptionDeps {
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
  publish(events: TaskEvent[]): Promise<void>;
  stats(): { sockets: number; subscriptions: number };
  /** Closes every socket (1001) and stops the heartbeat. */
  close(): Promise<void>;
}

export function createHub(deps: HubDeps): Hub {
  const { log } = deps;
  const heartbeatMs = deps.heartbeatMs ?? 30_000;
  const limits = { maxBufferedBytes: deps.maxBufferedBytes ?? 1024 * 1024, maxBurstBytes: deps.maxBurstBytes ?? 8 * 1024 * 1024 };

  const wss = new WebSocketServer({ noServer: true, maxPayload: WS_MAX_PAYLOAD, perMessageDeflate: false, clientTracking: false });
  const sockets = new Set<LiveSocket>();
  const caps = createSocketCaps({
    maxSockets: deps.maxSockets ?? 5000,
    perClient: deps.maxSocketsPerClient ?? 20,
    open: () => sockets.size,
  });
  const subscriptions = createSubscriptions(deps);
  let closing = false;

  /** A dropped socket: forgotten everywhere (the socket is closed by the caller or already gone). */
  function forget(s: LiveSocket): void {
    sockets.delete(s);
    caps.release(s.key);
    subscriptions.forget(s);
  }

  const heartbeat = setInterval(() => {
    for (const s of sockets) {
      if (!s.alive) {
        log.debug('socket: no pong, terminating');
        s.drop();
        s.ws.terminate();
        continue;
      }
      s.alive = false;
      s.ws.ping();
    }
  }, heartbeatMs);
  heartbeat.unref();

  async function onMessage(s: LiveSocket, data: RawData, isBinary: boolean): Promise<void> {
    s.alive = true;
    if (s.closed) return;
    if (isBinary) return s.sendError('INVALID_MESSAGE', 'Messages must be JSON text, not binary.');
    const parsed = parseClientMessage(wsText(data));
    if (!parsed.ok) return s.sendError('INVALID_MESSAGE', parsed.error, parsed.taskId);
    const m = parsed.message;
    switch (m.type) {
      case 'ping':
        s.sendMessage({ type: 'pong' });
        return;
      case 'subscribe':
        return subscriptions.subscribe(s, m.taskId, m.after);
      case 'unsubscribe':
        subscriptions.unsubscribe(s, m.taskId);
        return;
    }
  }

  function onConnection(ws: WebSocket, key: string): void {
    const s = new LiveSocket(ws, key, limits, log, forget);
    sockets.add(s);
    // One message at a time per socket: answers go out in the order the messages came (a subscribe's
    // replay is read asynchronously, and a ping sent after it is answered after it).
    let handled: Promise<void> = Promise.resolve();
    ws.on('message', (data, isBinary) => {
      s.alive = true;
      handled = handled
        .then(() => onMessage(s, data, isBinary))
        .catch((err: unknown) => {
          log.error('socket message failed', { error: err instanceof Error ? err.stack : String(err) });
          s.sendError('INTERNAL', 'The server could not handle that message; try again.');
        });
    });
    ws.on('pong', () => (s.alive = true));
    ws.on('close', () => s.drop());
    // Oversized frames (maxPayload), bad UTF-8, protocol errors: ws closes the socket itself.
    ws.on('error', (err) => log.debug('socket error', { error: err.message }));
  }

  return {
    handleUpgrade: createUpgradeHandler({ wss, hosts: deps.hosts, caps, log, closing: () => closing, onConnection }),

    publish: (batch) => subscriptions.publish(batch),

    stats() {
      let subscriptions = 0;
      for (const s of sockets) subscriptions += s.subs.size;
      return { sockets: sockets.size, subscriptions };
    },

    async close() {
      closing = true;
      clearInterval(heartbeat);
      const open = [...sockets];
      await Promise.all(
        open.map(
          (s) =>
            new Promise<void>((resolve) => {
              if (s.ws.readyState === WebSocket.CLOSED) return resolve();
              const timer = setTimeout(() => {
                s.ws.terminate();
                resolve();
              }, 1000);
              s.ws.once('close', () => {
                clearTimeout(timer);
                resolve();
              });
              s.drop();
              s.ws.close(1001, 'Server is restarting');
            }),
        ),
      );
      wss.close();
    },
  };
}
