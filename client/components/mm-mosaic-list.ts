import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { stableLinkPath } from '../../common/stableLink.js';
import { repeat } from 'lit/directives/repeat.js';
import type { MosaicListItem } from '../../common/task.js';
import { listImageUrl, mosaicImages } from '../api.js';
import { formatDate, mosaicTitle } from '../format.js';
import { paths } from '../router.js';
import { base } from '../styles/shared.js';

/** A grid of mosaic cards, each a link to its page. */
@customElement('mm-mosaic-list')
export class MmMosaicList extends LitElement {
  static override styles = [
    base,
    css`
      :host {
        display: block;
      }
      ul {
        list-style: none;
        margin: 0;
        padding: 0;
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(min(100%, 9.5rem), 1fr));
        gap: 0.8rem;
      }
      a {
        display: flex;
        flex-direction: column;
        height: 100%;
        color: var(--mm-text);
        text-decoration: none;
        background: var(--mm-surface);
        border: 1px solid var(--mm-border);
        border-radius: var(--mm-radius);
        overflow: hidden;
      }
      li {
        display: flex;
        flex-direction: column;
        gap: 0.3em;
      }
      li > a:first-child {
        flex: 1;
        height: auto;
      }
      a.stable {
        display: inline;
        background: none;
        border: 0;
        border-radius: 0;
        font-size: 0.85rem;
        text-decoration: underline;
      }
      a:hover .title {
        text-decoration: underline;
      }
      .thumb {
        aspect-ratio: 4 / 3;
        background: var(--mm-surface-2);
        display: block;
        width: 100%;
        height: auto;
        object-fit: cover;
        object-position: top left;
      }
      .meta {
        padding: 0.5em 0.65em 0.65em;
        display: grid;
        gap: 0.15em;
        font-size: 0.9rem;
      }
      .title {
        font-weight: 700;
        overflow-wrap: anywhere;
      }
      .empty {
        margin: 0;
      }
    `,
  ];

  @property({ attribute: false }) mosaics: readonly MosaicListItem[] = [];
  /** Shown when the list is empty. */
  @property() empty = 'Nothing here yet.';
  /**
   * Mosaics this device keeps: their thumbnails (a 320 × 240 copy the worker made, never the whole
   * mosaic) use the plain URL, which the service worker keeps offline; the rest load with `?via=list`
   * and stay out of it. All load lazily: the cards sit below the form or the mosaic.
   */
  @property({ attribute: false }) savedIds: ReadonlySet<string> = new Set();
  /** A member's gallery: each mosaic also offers its stable image link (always that request's newest). */
  @property({ type: Boolean }) stableLinks = false;

  override render() {
    if (this.mosaics.length === 0) return html`<p class="empty muted">${this.empty}</p>`;
    return html`<ul>
      ${repeat(
        this.mosaics,
        (m) => m.taskId,
        (m) =>
          html`<li>
            <a href=${paths.user(m.username, m.taskId)}>
              <img
                class="thumb"
                src=${this.savedIds.has(m.taskId) ? mosaicImages(m).thumb : listImageUrl(mosaicImages(m).thumb)}
                alt=""
                loading="lazy"
                decoding="async"
                width="320"
                height="240"
              />
              <span class="meta">
                <span class="title">${mosaicTitle(m)}</span>
                <span class="muted">${m.filmCount} film${m.filmCount === 1 ? '' : 's'} · ${formatDate(m.createdAt)}</span>
                ${m.partial ? html`<span class="muted">Partial</span>` : nothing}
              </span>
            </a>
            ${this.stableLinks ? html`<a class="stable muted" href=${stableLinkPath(m.username, m.params)} title="Always the newest mosaic of ${mosaicTitle(m)}">Image link</a>` : nothing}
          </li>`,
      )}
    </ul>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mm-mosaic-list': MmMosaicList;
  }
}
