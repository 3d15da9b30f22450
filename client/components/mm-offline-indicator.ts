import { LitElement, css, html } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import { base } from '../styles/shared.js';

/** A small "Offline" badge while the browser reports no network; saved mosaics still open. */
@customElement('mm-offline-indicator')
export class MmOfflineIndicator extends LitElement {
  static override styles = [
    base,
    css`
      span {
        display: inline-flex;
        align-items: center;
        gap: 0.4em;
        padding: 0.25em 0.7em;
        border-radius: 999px;
        background: var(--mm-warn-bg);
        color: var(--mm-warn-text);
        font-size: 0.85rem;
        font-weight: 600;
      }
      span::before {
        content: '';
        width: 0.55em;
        height: 0.55em;
        border-radius: 50%;
        background: currentColor;
      }
    `,
  ];

  @state() private online = navigator.onLine;
  #update = () => {
    this.online = navigator.onLine;
  };

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('online', this.#update);
    window.addEventListener('offline', this.#update);
    this.#update();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('online', this.#update);
    window.removeEventListener('offline', this.#update);
  }

  override render() {
    // The status region stays in the DOM so that going offline is announced, not just shown.
    return html`<div role="status">
      ${this.online ? '' : html`<span title="Saved mosaics still open; new ones need the server.">Offline</span>`}
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mm-offline-indicator': MmOfflineIndicator;
  }
}
