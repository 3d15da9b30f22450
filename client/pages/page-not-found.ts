import { LitElement, html } from 'lit';
import { customElement } from 'lit/decorators.js';
import { base, controls } from '../styles/shared.js';

/** Any path that is not a client route. */
@customElement('page-not-found')
export class PageNotFound extends LitElement {
  static override styles = [base, controls];

  override connectedCallback(): void {
    super.connectedCallback();
    document.title = 'Not found · moviemosaic';
  }

  override render() {
    return html`<h1 tabindex="-1">Page not found</h1>
      <p>There is nothing at this address.</p>
      <p><a class="button primary" href="/">Make a mosaic</a></p>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'page-not-found': PageNotFound;
  }
}
