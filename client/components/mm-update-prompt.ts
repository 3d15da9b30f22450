import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { base, controls } from '../styles/shared.js';

/** "A new version is ready" with a reload button; shown while a new service worker is waiting. */
@customElement('mm-update-prompt')
export class MmUpdatePrompt extends LitElement {
  static override styles = [
    base,
    controls,
    css`
      :host {
        position: fixed;
        z-index: 20;
        left: 50%;
        bottom: calc(16px + env(safe-area-inset-bottom));
        transform: translateX(-50%);
        width: min(calc(100vw - 32px), 30rem);
      }
      .box {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        justify-content: space-between;
        gap: 0.6em 1em;
        padding: 0.8em 1em;
        border-radius: var(--mm-radius);
        background: var(--mm-surface);
        border: 1px solid var(--mm-border);
        box-shadow: 0 6px 24px rgb(0 0 0 / 0.25);
      }
      p {
        margin: 0;
      }
    `,
  ];

  /** Applies the update (skip waiting, then reload); null while there is none. */
  @property({ attribute: false }) apply: (() => void) | null = null;
  @state() private later = false;
  @state() private reloading = false;

  override render() {
    // The live region is always present so the prompt's arrival is announced.
    return html`<div role="status">
      ${
        this.apply && !this.later
          ? html`<div class="box">
              <p>A new version of moviemosaic is ready.</p>
              <div class="actions">
                <button type="button" @click=${() => (this.later = true)}>Later</button>
                <button type="button" class="primary" ?disabled=${this.reloading} @click=${this.#reload}>
                  ${this.reloading ? 'Reloading…' : 'Reload'}
                </button>
              </div>
            </div>`
          : nothing
      }
    </div>`;
  }

  #reload(): void {
    this.reloading = true;
    this.apply?.();
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mm-update-prompt': MmUpdatePrompt;
  }
}
