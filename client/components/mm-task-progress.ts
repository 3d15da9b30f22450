import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { STAGES, type Stage, type Task } from '../../common/task.js';
import { describeElapsed, formatElapsed } from '../format.js';
import { base } from '../styles/shared.js';

/** What each stage is called on screen. */
export const STAGE_LABELS: Record<Stage, string> = {
  queued: 'Waiting in line',
  collecting: 'Reading the diary',
  downloading: 'Fetching posters',
  building: 'Drawing the mosaic',
  saving: 'Saving',
  done: 'Done',
};

/** Counts as words: "12 of 30". */
export function progressText(p: Task['progress']): string | null {
  if (!p || p.total <= 0) return null;
  return `${Math.min(p.done, p.total)} of ${p.total}`;
}

/** What the live region says for a task: its stage, or how it ended. Never counts. */
export function announcement(t: Pick<Task, 'status' | 'stage'>): string {
  if (t.status === 'COMPLETE') return 'Done: the mosaic is ready.';
  if (t.status === 'ERROR') return 'The mosaic could not be made.';
  if (t.status === 'CANCELLED') return 'Cancelled.';
  return STAGE_LABELS[t.stage];
}

/**
 * A task's progress: the stages as steps, a real progress bar with counts, the progress message,
 * queue position and elapsed time. Only a visually hidden live region speaks, and only when the stage
 * changes or the task ends, each once; the counts stay in the progress bar (its value is its
 * aria-valuenow), so a screen reader is not read every poster.
 */
@customElement('mm-task-progress')
export class MmTaskProgress extends LitElement {
  static override styles = [
    base,
    css`
      :host {
        display: block;
      }
      ol {
        list-style: none;
        margin: 0 0 1.2rem;
        padding: 0;
        display: flex;
        flex-wrap: wrap;
        gap: 0.4rem;
      }
      li {
        font-size: 0.85rem;
        padding: 0.25em 0.7em;
        border-radius: 999px;
        border: 1px solid var(--mm-border);
        color: var(--mm-muted);
      }
      li.done {
        color: var(--mm-text);
      }
      li.done::before {
        content: '✓ ';
        color: var(--mm-ok);
      }
      li[aria-current='step'] {
        border-color: var(--mm-accent);
        color: var(--mm-text);
        font-weight: 700;
      }
      .stage {
        font-size: 1.2rem;
        font-weight: 700;
        margin: 0 0 0.3rem;
      }
      .message {
        margin: 0 0 0.9rem;
        min-height: 1.4em;
        overflow-wrap: anywhere;
      }
      progress {
        display: block;
        width: 100%;
        height: 1.1rem;
        accent-color: var(--mm-accent);
      }
      .row {
        display: flex;
        flex-wrap: wrap;
        justify-content: space-between;
        gap: 0.3rem 1rem;
        margin-top: 0.5rem;
        font-variant-numeric: tabular-nums;
      }
    `,
  ];

  @property({ attribute: false }) task: Task | null = null;
  /** Milliseconds since the task was created (the page ticks it once a second). */
  @property({ type: Number }) elapsedMs = 0;

  override render() {
    const t = this.task;
    if (!t) return nothing;
    const current = STAGES.indexOf(t.stage);
    const counts = progressText(t.progress);
    const queued = t.status === 'QUEUED';
    const label = STAGE_LABELS[t.stage];
    return html`
      <ol aria-label="Stages">
        ${STAGES.filter((s) => s !== 'done').map((s, i) => {
          const state = i < current ? 'done' : i === current ? 'current' : 'todo';
          return html`<li class=${state} aria-current=${state === 'current' ? 'step' : 'false'}>
            ${STAGE_LABELS[s]}${state === 'done' ? html`<span class="visually-hidden"> (done)</span>` : nothing}
          </li>`;
        })}
      </ol>
      <p class="visually-hidden" role="status">${announcement(t)}</p>
      <p class="stage">${label}${queued && t.queuePosition ? html` · number ${t.queuePosition} in line` : nothing}</p>
      <p class="message">${t.progressMsg === label ? '' : t.progressMsg}</p>
      ${
        t.progress && t.progress.total > 0
          ? html`<progress
              max=${t.progress.total}
              .value=${Math.min(t.progress.done, t.progress.total)}
              aria-label="Progress"
              aria-valuetext=${counts ?? ''}
            ></progress>`
          : html`<progress aria-label="Progress"></progress>`
      }
      <div class="row">
        <span>${counts ?? (queued ? 'Not started yet' : 'Working…')}</span>
        <span
          ><span class="visually-hidden">Elapsed time: ${describeElapsed(this.elapsedMs)}</span
          ><span aria-hidden="true">${formatElapsed(this.elapsedMs)}</span></span
        >
      </div>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mm-task-progress': MmTaskProgress;
  }
}
