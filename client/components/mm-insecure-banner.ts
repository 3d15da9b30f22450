import { LitElement, css, html, nothing } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import { base, controls } from '../styles/shared.js';

const DISMISSED = 'mm-insecure-banner-dismissed';

/**
 * Explains, on plain HTTP to a LAN address, why the app cannot be installed or work offline:
 * browsers allow service workers only in secure contexts (HTTPS or localhost).
 */
@customElement('mm-insecure-banner')
export class MmInsecureBanner extends LitElement {
  static override styles = [
    base,
    controls,
    css`
      :host {
        display: block;
      }
      aside {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.5em 1em;
        padding: 0.75em 16px;
        background: var(--mm-warn-bg);
        color: var(--mm-warn-text);
        border-bottom: 1px solid var(--mm-border);
      }
      p {
        margin: 0;
        flex: 1 1 28em;
      }
      a {
        color: inherit;
        font-weight: 700;
      }
      button.link {
        color: inherit;
      }
    `,
  ];

  /** Secure contexts (HTTPS, localhost) never show the banner. */
  @state() private show = !window.isSecureContext && localStorage.getItem(DISMISSED) !== '1';

  override render() {
    if (!this.show) return nothing;
    return html`<aside aria-label="Connection notice">
      <p>
        This page is served over plain HTTP, so your browser will not let moviemosaic install as an app or keep mosaics for offline use.
        Everything else works.
        <a href="/setup">Set up HTTPS on this server</a> to get both.
      </p>
      <button class="link" type="button" @click=${this.#dismiss}>Hide this notice</button>
    </aside>`;
  }

  #dismiss(): void {
    try {
      localStorage.setItem(DISMISSED, '1');
    } catch {
      // Storage may be off; hiding for this page view is enough.
    }
    this.show = false;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mm-insecure-banner': MmInsecureBanner;
  }
}
