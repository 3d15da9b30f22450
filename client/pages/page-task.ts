import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { isFinished, type Task } from '../../common/task.js';
import { ApiError } from '../api.js';
import { TaskController } from '../controllers/task-controller.js';
import { mosaicTitle } from '../format.js';
import { paths } from '../router.js';
import type { Services } from '../services.js';
import { base, card, controls } from '../styles/shared.js';
import '../components/mm-task-progress.js';
import type { FailedTaskState } from './page-home.js';

/**
 * `/task/:id`: live progress of one task, with cancel. COMPLETE goes on to the mosaic; ERROR and
 * CANCELLED go back to `/` with the task in history.state and `?task=ID` in the URL (so the banner
 * survives a reload).
 */
@customElement('page-task')
export class PageTask extends LitElement {
  static override styles = [
    base,
    controls,
    card,
    css`
      :host {
        display: grid;
        grid-template-columns: minmax(0, 1fr);
        gap: 1.2rem;
      }
      .card {
        display: grid;
        gap: 0.4rem;
      }
      .note {
        margin: 0;
        font-size: 0.9rem;
      }
      .error {
        color: var(--mm-danger);
        font-weight: 600;
        margin: 0;
      }
    `,
  ];

  @property({ attribute: false }) services?: Services;
  @property({ attribute: false }) taskId = '';

  @state() private cancelling = false;
  @state() private cancelError: string | null = null;
  @state() private nowMs = Date.now();
  #tasks?: TaskController;
  #tick: ReturnType<typeof setInterval> | null = null;
  #waiters: (() => void)[] = [];

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (!this.services || !this.taskId) return;
    if (!this.#tasks) {
      this.#tasks = new TaskController(this, this.taskId, {
        api: this.services.api,
        live: this.services.live,
        onFinished: (t) => this.#finished(t),
      });
    } else if (changed.has('taskId')) {
      this.#tasks.setTaskId(this.taskId);
      this.cancelling = false;
      this.cancelError = null;
    }
    const t = this.#tasks.task;
    document.title = t ? `Making ${mosaicTitle(t)} · moviemosaic` : 'Making a mosaic · moviemosaic';
  }

  override connectedCallback(): void {
    super.connectedCallback();
    // Elapsed time ticks on screen; the clock is the only thing that changes between events.
    this.#tick = setInterval(() => {
      const t = this.#tasks?.task;
      if (t && !isFinished(t.status)) this.nowMs = this.services?.now() ?? Date.now();
    }, 1000);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    if (this.#tick) clearInterval(this.#tick);
    this.#tick = null;
  }

  #finished(task: Task): void {
    const router = this.services?.router;
    if (!router) return;
    // Replace, not push: Back from the result should not land on a finished progress page.
    if (task.status === 'COMPLETE') router.navigate(paths.user(task.username, task.id), { replace: true });
    else router.navigate(paths.home({ task: task.id }), { replace: true, state: { failedTask: task } satisfies FailedTaskState });
  }

  async #cancel(): Promise<void> {
    const s = this.services;
    if (!s || this.cancelling) return;
    this.cancelling = true;
    this.cancelError = null;
    try {
      const { task, left } = await s.api.cancelTask(this.taskId);
      // Others asked for the same mosaic: it goes on for them, and this device stops following it.
      if (left) s.router.navigate(paths.home(), { replace: true });
      else this.#tasks?.accept(task);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'TASK_FINISHED') {
        // It finished first; the refresh shows (and follows) how.
        void this.#tasks?.refresh();
      } else {
        this.cancelError = err instanceof Error ? err.message : 'Could not cancel.';
        this.cancelling = false;
      }
    }
  }

  /** For mm-app: resolves once the task (or why it cannot be shown) is on the page. */
  async settled(): Promise<void> {
    while (this.#tasks && !this.#tasks.task && !this.#tasks.error) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    await this.updateComplete;
  }

  protected override updated(): void {
    if (this.#tasks?.task || this.#tasks?.error) for (const resolve of this.#waiters.splice(0)) resolve();
  }

  override render() {
    const c = this.#tasks;
    const t = c?.task ?? null;
    const gone = c?.error?.code === 'TASK_NOT_FOUND';
    // One template whatever the state, so the h1 is the same element throughout and keeps its focus.
    const heading = c?.error
      ? gone
        ? 'No such mosaic request'
        : 'Could not load this mosaic request'
      : t
        ? `Making ${mosaicTitle(t)}`
        : 'Making your mosaic';
    return html`<h1 tabindex="-1">${heading}</h1>
      ${c?.error ? this.#problem(c.error, gone) : this.#progress(c, t)}`;
  }

  #problem(error: ApiError, gone: boolean) {
    return html`<p>${gone ? 'It may have been cleaned up, or the link is wrong.' : error.message}</p>
      <p><a class="button primary" href="/">Make a mosaic</a></p>`;
  }

  #progress(c: TaskController | undefined, t: Task | null) {
    const elapsed = t ? Math.max(0, this.nowMs - Date.parse(t.createdAt)) : 0;
    const running = t !== null && !isFinished(t.status);
    const cancelRequested = this.cancelling && running;
    return html`
      <div class="card">
        ${t ? html`<mm-task-progress .task=${t} .elapsedMs=${elapsed}></mm-task-progress>` : html`<p role="status">Loading…</p>`}
      </div>
      ${
        c?.offline
          ? html`<p class="note" role="status">
              The server cannot be reached right now. This page keeps trying and picks up where it left off.
            </p>`
          : c && c.connection !== 'open' && t
            ? html`<p class="note muted">Live updates are reconnecting; progress refreshes every few seconds meanwhile.</p>`
            : nothing
      }
      ${
        running
          ? html`<div class="actions">
              <button type="button" @click=${this.#cancel} ?disabled=${cancelRequested}>
                ${cancelRequested ? 'Cancelling…' : 'Cancel'}
              </button>
            </div>`
          : nothing
      }
      ${this.cancelError ? html`<p class="error" role="alert">${this.cancelError}</p>` : nothing}
      <p class="muted note">You can leave this page: the mosaic keeps going on the server, and this address shows its progress.</p>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'page-task': PageTask;
  }
}
