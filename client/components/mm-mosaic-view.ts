import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { classMap } from 'lit/directives/class-map.js';
import type { MosaicSummary } from '../../common/task.js';
import { mosaicImages } from '../api.js';
import { mosaicAlt } from '../format.js';
import { base, controls } from '../styles/shared.js';

/**
 * The mosaic image: fits the screen by default, from the screen copy (≤ 1080 px, ≤ 100 KB); "Zoom"
 * (or a double-click) loads the full image in a scrollable frame, which on a phone pans with a
 * finger. Pinch-zoom is never disabled. The alt text says what the image is in one sentence; the film
 * list (`description`, an element of the page) is its accessible description.
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
  /** The element listing the films, the image's accessible description (ARIA element reflection). */
  @property({ attribute: false }) description: Element | null = null;
  @state() private zoomed = false;
  @state() private failed = false;
  /** The full image could not be loaded (offline, say): the fitted copy stays, with a word why. */
  @state() private zoomFailed = false;

  override willUpdate(changed: Map<PropertyKey, unknown>): void {
    if (changed.has('mosaic')) {
      this.zoomed = false;
      this.failed = false;
      this.zoomFailed = false;
    }
  }

  override render() {
    const m = this.mosaic;
    if (!m) return nothing;
    const images = mosaicImages(m);
    return html`
      <div
        class=${classMap({ frame: true, zoomed: this.zoomed })}
        tabindex=${this.zoomed ? '0' : nothing}
        role=${this.zoomed ? 'region' : nothing}
        aria-label=${this.zoomed ? 'Mosaic at full size, scrollable' : nothing}
      >
        ${
          this.failed
            ? html`<p class="failed">
                The image could not be loaded${navigator.onLine ? '' : ' while offline'}. The film list below is still here.
              </p>`
            : html`<img
                src=${this.zoomed ? images.full : images.screen}
                alt=${mosaicAlt(m)}
                width=${m.width}
                height=${m.height}
                fetchpriority="high"
                decoding="async"
                @dblclick=${this.#toggle}
                @error=${this.#error}
              />`
        }
      </div>
      <div class="bar">
        <span class="muted">${m.width} × ${m.height} px</span>
        <button type="button" aria-pressed=${this.zoomed ? 'true' : 'false'} ?disabled=${this.failed} @click=${this.#toggle}>
          ${this.zoomed ? 'Fit to screen' : 'Zoom to full size'}
        </button>
      </div>
      <div role="status" class="muted">
        ${this.zoomFailed ? `The full-size image could not be loaded${navigator.onLine ? '' : ' while offline'}.` : ''}
      </div>
    `;
  }

  protected override updated(): void {
    // An id reference cannot cross into the page's shadow root; element reflection can (to an
    // element of an enclosing tree).
    const img = this.renderRoot.querySelector('img') as (HTMLImageElement & { ariaDescribedByElements?: Element[] | null }) | null;
    if (img && 'ariaDescribedByElements' in img) img.ariaDescribedByElements = this.description ? [this.description] : null;
  }

  #toggle(): void {
    this.zoomed = !this.zoomed;
    this.zoomFailed = false;
  }

  #error(): void {
    if (this.zoomed) {
      this.zoomed = false;
      this.zoomFailed = true;
    } else this.failed = true;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mm-mosaic-view': MmMosaicView;
  }
}
