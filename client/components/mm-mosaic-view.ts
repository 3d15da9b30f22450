import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { classMap } from 'lit/directives/class-map.js';
import type { MosaicSummary } from '../../common/task.js';
import { mosaicAlt } from '../format.js';
import { base, controls } from '../styles/shared.js';

/**
 * The mosaic image: fits the screen by default; "Zoom" (or a double-click) shows it at full size in a
 * scrollable frame, which on a phone pans with a finger. Pinch-zoom is never disabled.
 */
@customElement('mm-mosaic-view')
export class MmMosaicView extends LitElement {
  static override styles = [
    base,
    controls,
    css`
      :host {
        display: block;
      }
      .frame {
        display: flex;
        justify-content: center;
        overflow: hidden;
        line-height: 0;
      }
      .frame.zoomed {
        overflow: auto;
        max-height: min(85vh, 85dvh);
        overscroll-behavior: contain;
        -webkit-overflow-scrolling: touch;
      }
      img {
        display: block;
        width: auto;
        height: auto;
        max-width: 100%;
        /* Fit: the whole mosaic on screen at once, however tall. */
        max-height: 80vh;
        max-height: 80dvh;
        border-radius: 6px;
        background: rgb(50 50 50);
        cursor: zoom-in;
      }
      .zoomed {
        justify-content: flex-start;
        border-radius: 6px;
      }
      .zoomed img {
        max-width: none;
        max-height: none;
        border-radius: 0;
        cursor: zoom-out;
      }
      .bar {
        display: flex;
        justify-content: space-between;
        align-items: center;
        gap: 1em;
        margin-top: 0.5rem;
      }
      .failed {
        width: 100%;
        margin: 0;
        padding: 2rem 1rem;
        line-height: 1.4;
        border-radius: 6px;
        background: rgb(50 50 50);
        color: #f0f0f0;
      }
    `,
  ];

  @property({ attribute: false }) mosaic: MosaicSummary | null = null;
  @state() private zoomed = false;
  @state() private failed = false;

  override willUpdate(changed: Map<PropertyKey, unknown>): void {
    if (changed.has('mosaic')) {
      this.zoomed = false;
      this.failed = false;
    }
  }

  override render() {
    const m = this.mosaic;
    if (!m) return nothing;
    return html`
      <div class=${classMap({ frame: true, zoomed: this.zoomed })} tabindex=${this.zoomed ? '0' : nothing} role=${this.zoomed ? 'region' : nothing} aria-label=${this.zoomed ? 'Mosaic at full size, scrollable' : nothing}>
        ${this.failed
          ? html`<p class="failed">The image could not be loaded${navigator.onLine ? '' : ' while offline'}. The film list below is still here.</p>`
          : html`<img
              src=${m.resultUrl}
              alt=${mosaicAlt(m)}
              width=${m.width}
              height=${m.height}
              decoding="async"
              @dblclick=${this.#toggle}
              @load=${this.#loaded}
              @error=${() => (this.failed = true)}
            />`}
      </div>
      <div class="bar">
        <span class="muted">${m.width} × ${m.height} px</span>
        <button type="button" aria-pressed=${this.zoomed ? 'true' : 'false'} ?disabled=${this.failed} @click=${this.#toggle}>
          ${this.zoomed ? 'Fit to screen' : 'Zoom to full size'}
        </button>
      </div>
    `;
  }

  /** Tells the page the image is here (and, through the service worker, cached). */
  #loaded(): void {
    this.dispatchEvent(new CustomEvent('mm-image-load', { detail: this.mosaic, bubbles: true, composed: true }));
  }

  #toggle(): void {
    this.zoomed = !this.zoomed;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mm-mosaic-view': MmMosaicView;
  }
}
