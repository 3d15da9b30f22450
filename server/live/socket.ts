/**
 * One live socket's own state and its backpressure: whose it is, the tasks it follows (the last seq and
 * queue position each was sent), whether it answered the last ping, and what it queued in this turn of
 * the event loop. A peer too far behind is closed rather than left with a gap in its events. Knows
 * nothing of tasks or the database; the hub decides what is sent.
 */
import { WebSocket } from 'ws';
import type { ErrorCode } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { ServerMessage } from '../../common/protocol.js';

export interface SocketLimits {
  /** A socket this far behind (bytes still queued from earlier turns) is closed: it resumes from its last seq. */
  maxBufferedBytes: number;
  /** At most this many bytes queued for one socket within one turn of the event loop (replays). */
  maxBurstBytes: number;
}

export interface Subscription {
  /** The highest seq this subscriber was sent; live events at or below it are skipped. */
  lastSeq: number;
  /** The queue position it last heard of (null when not queued). */
  lastPosition: number | null;
}

export class LiveSocket {
  /** Followed tasks by id. */
  readonly subs = new Map<string, Subscription>();
  /** Answered since the last heartbeat ping (any message or pong counts). */
  alive = true;
  /** Dropped: nothing more is sent, and the hub has forgotten it. */
  closed = false;
  /** Bytes queued during the current turn of the event loop (reset by setImmediate). */
  #turnBytes = 0;

  constructor(
    readonly ws: WebSocket,
    /** Whose socket this is (server/clientKey.ts). */
    readonly key: string,
    private readonly limits: SocketLimits,
    private readonly log: Logger,
    /** Called once, on the first drop: the hub releases the socket's place and its subscriptions. */
    private readonly onDrop: (socket: LiveSocket) => void,
  ) {}

  /** Forgets this socket (once); closing the ws is the caller's, or it is already gone. */
  drop(): void {
    if (this.closed) return;
    this.closed = true;
    this.onDrop(this);
  }

  /**
   * Sends unless the peer has fallen too far behind. `bufferedAmount` only shrinks after the current
   * turn (Node acknowledges even the writes the kernel took at once on the next tick), so what counts
   * is the backlog left from earlier turns; this turn's own burst (a replay) has its own bound. A
   * droppable message (a queue move) is skipped early; anything else closes the socket instead,
   * because a gap in the events must never go unnoticed: the client reconnects and resumes from the
   * last seq it got.
   */
  send(text: string, droppable = false): boolean {
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) return false;
    const backlog = this.ws.bufferedAmount - this.#turnBytes;
    if (droppable && backlog > this.limits.maxBufferedBytes / 4) return false;
    if (backlog > this.limits.maxBufferedBytes || this.#turnBytes > this.limits.maxBurstBytes) {
      this.log.warn('socket too slow; closing it', { backlogBytes: backlog, burstBytes: this.#turnBytes });
      this.drop();
      this.ws.close(1013, 'Too far behind; reconnect to resume');
      return false;
    }
    if (this.#turnBytes === 0) setImmediate(() => (this.#turnBytes = 0));
    this.#turnBytes += Buffer.byteLength(text);
    this.ws.send(text);
    return true;
  }

  sendMessage(message: ServerMessage): boolean {
    return this.send(JSON.stringify(message));
  }

  sendError(code: ErrorCode, message: string, taskId?: string): void {
    this.sendMessage({ type: 'error', code, message, ...(taskId ? { taskId } : {}) });
  }
}
