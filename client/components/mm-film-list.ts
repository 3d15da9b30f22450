import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { MosaicSummary } from '../../common/task.js';
import { filmListText, filmTitle, ratingStars } from '../format.js';
import { base, controls } from '../styles/shared.js';

/** Rows in the first render: more than a phone shows below the mosaic, few enough to cost nothing. */
const FIRST_ROWS = 20;
/** Rows added per later pass; a pass on a slow phone stays well under a frame budget's worth of work. */
const MORE_ROWS = 150;

/** After the next paint, in idle time where the browser offers it (Safari has no requestIdleCallback). */
function afterPaint(run: () => void): void {
  requestAnimationFrame(() => {
    if (typeof requestIdleCallback === 'function') requestIdleCallback(run, { timeout: 500 });
    else setTimeout(run, 0);
  });
}

/**
 * The films of a mosaic in the order shown, with ratings as stars, and a button to copy them as text.
 * A long list (a year can hold 1,000 films) is rendered in passes: the first screenful with the
 * page, the rest after it has painted, so the mosaic above it is not kept waiting on a slow phone.
 * All rows arrive within a few idle moments; the copied text never depends on them.
 */
@customElement('mm-film-list')
export class MmFilmList extends LitElement {
  static override styles = [
    base,
    controls,
    css`
      :host {
        display: block;
      }
      .head {
        display: flex;
        flex-wrap: wrap;
        justify-content: space-between;
        align-items: baseline;
        gap: 0.5em 1em;
      }
      ol {
        margin: 0.5rem 0 0;
        padding: 0;
        list-style: none;
        counter-reset: film;
        columns: 24rem auto;
        column-gap: 2rem;
      }
      /* Number, stars and title in columns, so a long title wraps under itself. */
      li {
        display: grid;
        grid-template-columns: 2.4em 5.4em minmax(0, 1fr);
        break-inside: avoid;
        padding: 0.15em 0;
        counter-increment: film;
      }
      li::before {
        content: counter(film) '.';
        text-align: right;
        padding-right: 0.5em;
        color: var(--mm-muted);
        font-variant-numeric: tabular-nums;
      }
      .title {
        overflow-wrap: anywhere;
      }
      .stars {
        color: var(--mm-accent);
        letter-spacing: 0.02em;
      }
      .date {
        font-size: 0.85em;
      }
    `,
  ];

  @property({ attribute: false }) mosaic: MosaicSummary | null = null;
  @state() private copied: 'idle' | 'done' | 'failed' = 'idle';
  /** How many rows are rendered so far (all of them once the passes are done). */
  @state() private shown = FIRST_ROWS;
  #passQueued = false;

  override willUpdate(changed: Map<PropertyKey, unknown>): void {
    if (changed.has('mosaic')) this.shown = FIRST_ROWS;
  }

  protected override updated(): void {
    if (!this.mosaic || this.shown >= this.mosaic.films.length || this.#passQueued) return;
    this.#passQueued = true;
    afterPaint(() => {
      this.#passQueued = false;
      this.shown += MORE_ROWS;
    });
  }

  override render() {
    const m = this.mosaic;
    if (!m) return nothing;
    return html`
      <div class="head">
        <h2 id="films">Films</h2>
        <span>
          <button type="button" @click=${this.#copy}>Copy list</button>
          <span role="status" class="muted"
            >${this.copied === 'done' ? 'Copied.' : this.copied === 'failed' ? 'Copying is not allowed here.' : ''}</span
          >
        </span>
      </div>
      ${m.note ? html`<p class="muted">${m.note}</p>` : nothing}
      <ol role="list" aria-labelledby="films">
        ${m.films.slice(0, this.shown).map((f) => {
          const stars = ratingStars(f.rating);
          return html`<li>
            <span class="stars" aria-hidden="true">${stars}</span>
            <span class="title"
              ><span class="visually-hidden">${f.rating ? `rated ${f.rating} of 5, ` : 'not rated, '}</span>${filmTitle(f)}${
                f.watchedDate ? html` <span class="muted date">· ${f.watchedDate}</span>` : nothing
              }</span
            >
          </li>`;
        })}
      </ol>
    `;
  }

  async #copy(): Promise<void> {
    if (!this.mosaic) return;
    try {
      await navigator.clipboard.writeText(filmListText(this.mosaic));
      this.copied = 'done';
    } catch {
      this.copied = 'failed';
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mm-film-list': MmFilmList;
  }
}
