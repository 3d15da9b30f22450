/**
 * Follows one task for a Lit host: live updates over the shared socket, REST `GET /api/tasks/:id`
 * for the first paint and as the fallback truth whenever the socket is not open (docs/architecture.md#live-socket).
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { isFinished, type Task } from '../../common/task.js';
import { ApiError, type Api } from '../api.js';
import type { LiveClient, LiveStatus, LiveUpdate, Timers } from '../live.js';

/** How often REST is asked while the socket is down. */
export const POLL_MS = 3000;

/**
 * Whether `incoming` should replace `current`. Socket events arrive in `seq` order, but REST answers
 * can overtake them, so the newer `updatedAt` wins and a finished task never goes back to running.
 */
export function isNewer(current: Task | null, incoming: Task): boolean {
  if (!current) return true;
  if (isFinished(current.status) && !isFinished(incoming.status)) return false;
  return incoming.updatedAt >= current.updatedAt;
}

export interface TaskControllerDeps {
  api: Pick<Api, 'getTask'>;
  live: Pick<LiveClient, 'subscribe' | 'onStatus' | 'status'>;
  /** Called once when the task reaches COMPLETE, ERROR or CANCELLED. */
  onFinished(task: Task): void;
  timers?: Timers;
}

const realTimers: Timers = { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as number) };

export class TaskController implements ReactiveController {
  task: Task | null = null;
  /** The REST error that stops the page (unknown task); network errors only set `offline`. */
  error: ApiError | null = null;
  /** True while neither the socket nor REST can reach the server. */
  offline = false;
  connection: LiveStatus;

  #host: ReactiveControllerHost;
  #deps: TaskControllerDeps;
  #taskId: string;
  #stop: (() => void)[] = [];
  #pollTimer: unknown = null;
  #timers: Timers;
  #finished = false;
  #active = false;

  constructor(host: ReactiveControllerHost, taskId: string, deps: TaskControllerDeps) {
    this.#host = host;
    this.#taskId = taskId;
    this.#deps = deps;
    this.#timers = deps.timers ?? realTimers;
    this.connection = deps.live.status;
    host.addController(this);
  }

  get taskId(): string {
    return this.#taskId;
  }

  /** Switches to another task (the page was reused for a new `/task/:id`). */
  setTaskId(id: string): void {
    if (id === this.#taskId) return;
    const active = this.#active;
    this.hostDisconnected();
    this.#taskId = id;
    this.task = null;
    this.error = null;
    this.#finished = false;
    if (active) this.hostConnected();
  }

  hostConnected(): void {
    if (this.#active) return;
    this.#active = true;
    const id = this.#taskId;
    this.#stop.push(this.#deps.live.subscribe(id, (u) => this.#onLive(id, u)));
    this.#stop.push(
      this.#deps.live.onStatus((s) => {
        this.connection = s;
        this.#host.requestUpdate();
        // Open: the re-subscribe brings the truth. Not open: REST takes over at once.
        if (s !== 'open') this.#schedulePoll(0);
      }),
    );
    this.connection = this.#deps.live.status;
    void this.refresh();
  }

  hostDisconnected(): void {
    this.#active = false;
    for (const stop of this.#stop.splice(0)) stop();
    if (this.#pollTimer !== null) this.#timers.clearTimeout(this.#pollTimer);
    this.#pollTimer = null;
  }

  /** Fetches the task over REST now (first paint, fallback polling, after a cancel). */
  async refresh(): Promise<void> {
    const id = this.#taskId;
    try {
      const task = await this.#deps.api.getTask(id);
      if (id !== this.#taskId || !this.#active) return;
      this.offline = false;
      this.#accept(task);
    } catch (err) {
      if (id !== this.#taskId || !this.#active) return;
      if (err instanceof ApiError && err.offline) this.offline = true;
      else if (err instanceof ApiError) this.error = err;
      else throw err;
      this.#host.requestUpdate();
    } finally {
      if (id === this.#taskId && this.#active && this.#deps.live.status !== 'open') this.#schedulePoll(POLL_MS);
    }
  }

  /** Applies a task the page got another way (the DELETE response). */
  accept(task: Task): void {
    if (task.id === this.#taskId) this.#accept(task);
  }

  #onLive(id: string, u: LiveUpdate): void {
    if (id !== this.#taskId) return;
    if (u.type === 'task') {
      this.offline = false;
      this.#accept(u.task);
    } else if (u.type === 'queue') {
      if (this.task && this.task.status === 'QUEUED') {
        this.task = { ...this.task, queuePosition: u.position };
        this.#host.requestUpdate();
      }
    } else if (u.code === 'TASK_NOT_FOUND') {
      // The socket's word is checked against REST, which sets `error` if the task is really gone.
      void this.refresh();
    }
  }

  #accept(task: Task): void {
    if (!isNewer(this.task, task)) return;
    this.task = task;
    this.error = null;
    this.#host.requestUpdate();
    if (isFinished(task.status) && !this.#finished) {
      this.#finished = true;
      this.#deps.onFinished(task);
    }
  }

  #schedulePoll(ms: number): void {
    if (this.#pollTimer !== null || this.#finished || !this.#active || this.error) return;
    this.#pollTimer = this.#timers.setTimeout(() => {
      this.#pollTimer = null;
      if (this.#deps.live.status !== 'open' && !this.#finished) void this.refresh();
    }, ms);
  }
}
