/**
 * One WebSocket to `/ws` shared by every subscriber (docs/architecture.md#live-socket): subscribes per task, resumes after a
 * reconnect with the last `seq` seen (the server replays what was missed from `task_events`), drops
 * replayed duplicates, reconnects with exponential backoff and full jitter, and detects dead peers
 * with ping/pong. No DOM: the socket, timers and randomness are injected.
 */
import type { ErrorCode } from '../common/errors.js';
import type { ClientMessage, ServerMessage } from '../common/protocol.js';
import type { Task } from '../common/task.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';

/**
 * A handler property checked bivariantly (method syntax), so the browser's WebSocket, whose handlers
 * take richer event types, fits `SocketLike` without a cast.
 */
type Handler<E> = { bivariant(ev: E): void }['bivariant'];

/** The part of the browser's WebSocket the client uses. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onclose: Handler<unknown> | null;
  onerror: Handler<unknown> | null;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export type LiveStatus = 'idle' | 'connecting' | 'open' | 'waiting';

/** What a task subscriber receives. */
export type LiveUpdate =
  { type: 'task'; seq: number; task: Task } | { type: 'queue'; position: number } | { type: 'error'; code: ErrorCode; message: string };

export interface LiveOptions {
  url: string;
  createSocket: (url: string) => SocketLike;
  timers?: Timers;
  random?: () => number;
  backoff?: BackoffOptions;
  /** Send a ping after this much silence; a socket silent for another `pongTimeoutMs` is dead. */
  pingIntervalMs?: number;
  pongTimeoutMs?: number;
  /** Close the socket this long after the last subscriber leaves. */
  idleCloseMs?: number;
}

const OPEN = 1;

interface Subscription {
  /** The highest `seq` delivered; null until the first task event. */
  lastSeq: number | null;
  handlers: Set<(u: LiveUpdate) => void>;
}

/** `ws:` or `wss:` to `/ws` on the page's own host. */
export function socketUrl(loc: { protocol: string; host: string }): string {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/ws`;
}

export class LiveClient {
  #opts: Required<Omit<LiveOptions, 'timers'>> & { timers: Timers };
  #socket: SocketLike | null = null;
  #subs = new Map<string, Subscription>();
  #status: LiveStatus = 'idle';
  #statusListeners = new Set<(s: LiveStatus) => void>();
  #attempt = 0;
  #retryTimer: unknown = null;
  #pingTimer: unknown = null;
  #deadTimer: unknown = null;
  #idleTimer: unknown = null;

  constructor(options: LiveOptions) {
    this.#opts = {
      timers: options.timers ?? { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as number) },
      random: Math.random,
      backoff: DEFAULT_BACKOFF,
      pingIntervalMs: 25_000,
      pongTimeoutMs: 10_000,
      idleCloseMs: 30_000,
      ...options,
    };
  }

  get status(): LiveStatus {
    return this.#status;
  }

  /** Calls `listener` on every status change; returns the unsubscribe function. */
  onStatus(listener: (s: LiveStatus) => void): () => void {
    this.#statusListeners.add(listener);
    return () => this.#statusListeners.delete(listener);
  }

  /**
   * Follows a task. `after` is the last `seq` the caller already has (omit it for a snapshot of the
   * current task). Returns the function that stops following.
   */
  subscribe(taskId: string, handler: (u: LiveUpdate) => void, after?: number): () => void {
    let sub = this.#subs.get(taskId);
    const isNew = !sub;
    if (!sub) {
      sub = { lastSeq: after ?? null, handlers: new Set() };
      this.#subs.set(taskId, sub);
    }
    sub.handlers.add(handler);
    this.#cancelIdleClose();
    if (isNew && this.#status === 'open') this.#sendSubscribe(taskId, sub);
    else if (this.#status === 'idle') this.#connect();
    return () => this.#unsubscribe(taskId, handler);
  }

  /** Skips the backoff wait and reconnects now (the browser came back online, the page became visible). */
  reconnectNow(): void {
    if (this.#subs.size === 0 || this.#status === 'open' || this.#status === 'connecting') return;
    this.#clear('retry');
    this.#attempt = 0;
    this.#connect();
  }

  /** Closes the socket and forgets every subscription. */
  close(): void {
    this.#subs.clear();
    this.#teardown();
    this.#setStatus('idle');
  }

  #unsubscribe(taskId: string, handler: (u: LiveUpdate) => void): void {
    const sub = this.#subs.get(taskId);
    if (!sub) return;
    sub.handlers.delete(handler);
    if (sub.handlers.size > 0) return;
    this.#subs.delete(taskId);
    if (this.#status === 'open') this.#send({ type: 'unsubscribe', taskId });
    if (this.#subs.size === 0) {
      if (this.#status === 'waiting') {
        this.#clear('retry');
        this.#setStatus('idle');
      } else if (this.#status !== 'idle') {
        // Keep the socket a little while: the next page (e.g. another task) usually subscribes again.
        this.#idleTimer = this.#opts.timers.setTimeout(() => {
          this.#idleTimer = null;
          if (this.#subs.size === 0) {
            this.#teardown();
            this.#setStatus('idle');
          }
        }, this.#opts.idleCloseMs);
      }
    }
  }

  #connect(): void {
    this.#setStatus('connecting');
    let socket: SocketLike;
    try {
      socket = this.#opts.createSocket(this.#opts.url);
    } catch {
      this.#scheduleReconnect();
      return;
    }
    this.#socket = socket;
    socket.onopen = () => {
      if (this.#socket !== socket) return;
      this.#setStatus('open');
      for (const [taskId, sub] of this.#subs) this.#sendSubscribe(taskId, sub);
      this.#armPing();
    };
    socket.onmessage = (ev) => {
      if (this.#socket !== socket) return;
      // Any message proves the connection works end to end: the backoff starts over.
      this.#attempt = 0;
      this.#armPing();
      this.#handle(ev.data);
    };
    socket.onclose = () => {
      if (this.#socket !== socket) return;
      this.#dropSocket();
      this.#scheduleReconnect();
    };
    // An error is always followed by close; handling both would reconnect twice.
    socket.onerror = () => {};
  }

  #scheduleReconnect(): void {
    if (this.#subs.size === 0) {
      this.#setStatus('idle');
      return;
    }
    this.#setStatus('waiting');
    const delay = backoffDelay(this.#attempt++, this.#opts.backoff, this.#opts.random);
    this.#retryTimer = this.#opts.timers.setTimeout(() => {
      this.#retryTimer = null;
      this.#connect();
    }, delay);
  }

  #handle(raw: unknown): void {
    if (typeof raw !== 'string') return;
    let msg: ServerMessage;
    try {
      msg = JSON.parse(raw) as ServerMessage;
    } catch {
      return;
    }
    switch (msg.type) {
      case 'task': {
        const sub = this.#subs.get(msg.task?.id);
        if (!sub || typeof msg.seq !== 'number') return;
        // A resume replays from `after`; anything at or below what we delivered is a duplicate.
        if (sub.lastSeq !== null && msg.seq <= sub.lastSeq) return;
        sub.lastSeq = msg.seq;
        this.#deliver(sub, { type: 'task', seq: msg.seq, task: msg.task });
        return;
      }
      case 'queue': {
        const sub = this.#subs.get(msg.taskId);
        if (sub) this.#deliver(sub, { type: 'queue', position: msg.position });
        return;
      }
      case 'error': {
        const sub = msg.taskId ? this.#subs.get(msg.taskId) : undefined;
        if (sub) this.#deliver(sub, { type: 'error', code: msg.code, message: msg.message });
        return;
      }
      case 'pong':
        return;
    }
  }

  #deliver(sub: Subscription, update: LiveUpdate): void {
    for (const h of [...sub.handlers]) h(update);
  }

  #sendSubscribe(taskId: string, sub: Subscription): void {
    this.#send(sub.lastSeq === null ? { type: 'subscribe', taskId } : { type: 'subscribe', taskId, after: sub.lastSeq });
  }

  #send(msg: ClientMessage): void {
    const s = this.#socket;
    if (s && s.readyState === OPEN) s.send(JSON.stringify(msg));
  }

  /** After `pingIntervalMs` of silence send a ping; no answer within `pongTimeoutMs` means a dead peer. */
  #armPing(): void {
    this.#clear('ping');
    this.#clear('dead');
    this.#pingTimer = this.#opts.timers.setTimeout(() => {
      this.#pingTimer = null;
      this.#send({ type: 'ping' });
      this.#deadTimer = this.#opts.timers.setTimeout(() => {
        this.#deadTimer = null;
        // close() on a half-open TCP connection can take minutes to fire onclose: stop waiting for it.
        this.#dropSocket();
        this.#scheduleReconnect();
      }, this.#opts.pongTimeoutMs);
    }, this.#opts.pingIntervalMs);
  }

  #dropSocket(): void {
    const s = this.#socket;
    this.#socket = null;
    this.#clear('ping');
    this.#clear('dead');
    if (s) {
      s.onopen = s.onmessage = s.onclose = s.onerror = null;
      try {
        s.close();
      } catch {
        // already closed
      }
    }
  }

  #teardown(): void {
    this.#clear('retry');
    this.#cancelIdleClose();
    this.#dropSocket();
  }

  #cancelIdleClose(): void {
    if (this.#idleTimer !== null) {
      this.#opts.timers.clearTimeout(this.#idleTimer);
      this.#idleTimer = null;
    }
  }

  #clear(which: 'retry' | 'ping' | 'dead'): void {
    const t = this.#opts.timers;
    if (which === 'retry' && this.#retryTimer !== null) {
      t.clearTimeout(this.#retryTimer);
      this.#retryTimer = null;
    } else if (which === 'ping' && this.#pingTimer !== null) {
      t.clearTimeout(this.#pingTimer);
      this.#pingTimer = null;
    } else if (which === 'dead' && this.#deadTimer !== null) {
      t.clearTimeout(this.#deadTimer);
      this.#deadTimer = null;
    }
  }

  #setStatus(s: LiveStatus): void {
    if (s === this.#status) return;
    this.#status = s;
    for (const l of this.#statusListeners) l(s);
  }
}
