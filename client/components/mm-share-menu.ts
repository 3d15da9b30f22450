import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { MosaicSummary } from '../../common/task.js';
import { shareSnippets, type ShareSnippets } from '../share.js';
import { base, controls } from '../styles/shared.js';

const ROWS: { key: keyof ShareSnippets; label: string }[] = [
  { key: 'page', label: 'Page link' },
  { key: 'image', label: 'Image link (always the newest)' },
  { key: 'markdown', label: 'Markdown' },
  { key: 'html', label: 'HTML' },
  { key: 'bbcode', label: 'BBCode (forums)' },
];

/**
 * The share menu: the page link, the stable image link and ready-to-paste Markdown, HTML and BBCode,
 * each in a read-only field (selected on focus, so a long press or Ctrl-C copies it) with a Copy
 * button where the clipboard is available (secure contexts only).
 */
@customElement('mm-share-menu')
export class MmShareMenu extends LitElement {
  static override styles = [
    base,
    controls,
    css`
      :host {
        display: block;
        margin-top: 0.75rem;
      }
      .row {
        display: grid;
        grid-template-columns: 1fr auto;
        gap: 0.25rem 0.5rem;
        align-items: end;
        margin-top: 0.5rem;
      }
      label {
        grid-column: 1 / -1;
        font-size: 0.9em;
      }
      input {
        width: 100%;
        min-width: 0;
        font-family: ui-monospace, monospace;
        font-size: 0.85em;
      }
    `,
  ];

  @property({ attribute: false }) mosaic: MosaicSummary | null = null;
  @state() private copied: keyof ShareSnippets | null = null;

  override render() {
    const m = this.mosaic;
    if (!m) return nothing;
    const snippets = shareSnippets(m, location.origin);
    const canCopy = window.isSecureContext && !!navigator.clipboard;
    return html`<details>
      <summary>Links and embed codes</summary>
      ${ROWS.map(
        ({ key, label }) =>
          html`<div class="row">
            <label for=${key}>${label}</label>
            <input
              id=${key}
              data-share=${key}
              readonly
              .value=${snippets[key]}
              @focus=${(e: FocusEvent) => (e.target as HTMLInputElement).select()}
            />
            ${canCopy ? html`<button type="button" @click=${() => this.#copy(key, snippets[key])}>${this.copied === key ? 'Copied' : 'Copy'}</button>` : nothing}
          </div>`,
      )}
    </details>`;
  }

  async #copy(key: keyof ShareSnippets, text: string): Promise<void> {
    try {
      await navigator.clipboard.writeText(text);
      this.copied = key;
    } catch {
      this.copied = null;
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mm-share-menu': MmShareMenu;
  }
}
