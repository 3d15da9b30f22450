import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { Task } from '../../common/task.js';
import { adviceFor } from '../advice.js';
import { mosaicTitle } from '../format.js';
import { base, controls } from '../styles/shared.js';

/**
 * Why the last mosaic was not made: the task's own message and what to do (docs/architecture.md#pages-and-offline: "if the STATUS
 * becomes ERROR then url redirects to homepage with ERROR_MSG"). Fires `mm-retry` and `mm-dismiss`.
 */
@customElement('mm-error-banner')
export class MmErrorBanner extends LitElement {
  static override styles = [
    base,
    controls,
    css`
      :host {
        display: block;
      }
      section {
        border: 1px solid var(--mm-danger);
        border-left-width: 6px;
        background: var(--mm-danger-bg);
        border-radius: var(--mm-radius);
        padding: 1rem 1.1rem;
      }
      section.cancelled {
        border-color: var(--mm-border);
        background: var(--mm-surface-2);
      }
      h2:focus {
        outline: none;
      }
      h2 {
        font-size: 1.1rem;
        margin-bottom: 0.35em;
      }
      p {
        margin: 0 0 0.6em;
      }
      .what {
        font-weight: 600;
      }
    `,
  ];

  /** The task that ended in ERROR or CANCELLED. */
  @property({ attribute: false }) task: Task | null = null;

  override render() {
    const t = this.task;
    if (!t) return nothing;
    const cancelled = t.status === 'CANCELLED' || t.errorCode === 'CANCELLED';
    const advice = adviceFor(cancelled ? 'CANCELLED' : t.errorCode);
    const message = cancelled ? `You cancelled the mosaic ${mosaicTitle(t)}.` : (t.errorMsg ?? advice.title);
    return html`<section class=${cancelled ? 'cancelled' : ''} role=${cancelled ? 'status' : 'alert'} aria-labelledby="error-title">
      <h2 id="error-title" tabindex="-1">${advice.title}: ${mosaicTitle(t)}</h2>
      <p>${message}</p>
      ${cancelled ? nothing : html`<p class="what">${advice.action}</p>`}
      ${
        !cancelled && advice.link
          ? html`<p><a href=${advice.link.href} @click=${() => this.#fire('mm-show-export')}>${advice.link.label}</a></p>`
          : nothing
      }
      <div class="actions">
        <button type="button" class="primary" @click=${() => this.#fire('mm-retry')}>${cancelled ? 'Start it again' : 'Try again'}</button>
        <button type="button" @click=${() => this.#fire('mm-dismiss')}>Dismiss</button>
      </div>
    </section>`;
  }

  /** The heading, for the page to move focus to. */
  get heading(): HTMLElement | null {
    return this.renderRoot.querySelector('h2');
  }

  #fire(type: 'mm-retry' | 'mm-dismiss' | 'mm-show-export'): void {
    this.dispatchEvent(new CustomEvent(type, { detail: this.task, bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mm-error-banner': MmErrorBanner;
  }
}
