import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { ref } from 'lit/directives/ref.js';
import { periodLabel, type MosaicSummary } from '../../common/task.js';
import { ratingStars, ratingWords, reviewFacts, timelineLabel } from '../format.js';
import { base } from '../styles/shared.js';

/**
 * A year in review's figures as text, for everyone the image does not reach (screen readers, copy,
 * search): the figures as a description list, the ratings and the timeline as tables. Figures no
 * source gave are left out, as in the image.
 */
@customElement('mm-review-figures')
export class MmReviewFigures extends LitElement {
  static override styles = [
    base,
    css`
      :host {
        display: block;
      }
      dl {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(9rem, 1fr));
        gap: 0.6rem 1.2rem;
        margin: 0.5rem 0 1rem;
      }
      dl div {
        display: flex;
        flex-direction: column-reverse;
        justify-content: flex-end;
      }
      dl .wide {
        grid-column: 1 / -1;
      }
      dt {
        color: var(--mm-muted);
      }
      dd {
        margin: 0;
        font-size: 1.35rem;
        font-weight: 700;
        overflow-wrap: anywhere;
      }
      dl .wide dd {
        font-size: 1rem;
      }
      .charts {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(16rem, 1fr));
        gap: 1rem 2rem;
      }
      table {
        border-collapse: collapse;
        width: 100%;
      }
      caption {
        text-align: left;
        font-weight: 700;
        padding-bottom: 0.3rem;
      }
      th,
      td {
        padding: 0.1rem 0;
        text-align: left;
        font-weight: 400;
      }
      th {
        width: 7.5em;
        white-space: nowrap;
      }
      .stars {
        color: var(--mm-accent);
      }
      .count {
        display: flex;
        align-items: center;
        gap: 0.5em;
        font-variant-numeric: tabular-nums;
      }
      .bar {
        display: inline-block;
        height: 0.7em;
        min-width: 1px;
        border-radius: 2px;
        background: var(--mm-accent);
      }
      .bar.zero {
        display: none;
      }
    `,
  ];

  @property({ attribute: false }) mosaic: MosaicSummary | null = null;

  override render() {
    const m = this.mosaic;
    const r = m?.review;
    if (!m || !r) return nothing;
    const facts = reviewFacts(r);
    const maxRating = Math.max(1, ...r.ratings);
    const timeline = r.timeline && r.timeline.periods.length > 0 ? r.timeline : null;
    const maxPeriod = timeline ? Math.max(1, ...timeline.periods.map((p) => p.count)) : 1;
    // The width is set through CSSOM: a style attribute (which styleMap writes on first render) is
    // refused by the strict CSP (style-src 'self').
    const bar = (count: number, max: number) =>
      html`<span
        class="bar ${count === 0 ? 'zero' : ''}"
        aria-hidden="true"
        ${ref((el) => el && ((el as HTMLElement).style.width = `${(count / max) * 70}%`))}
      ></span>`;
    return html`<section aria-labelledby="review-title">
      <h2 id="review-title">${periodLabel(m.params)} in review</h2>
      <dl>
        ${facts.map(
          (f) =>
            html`<div class=${f.label.endsWith('film') ? 'wide' : ''}>
              <dt>${f.label}</dt>
              <dd>${f.value}</dd>
            </div>`,
        )}
      </dl>
      <div class="charts">
        ${
          r.rated > 0
            ? html`<table>
                <caption>
                  Ratings (${r.rated} rated film${r.rated === 1 ? '' : 's'})
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Rating</th>
                    <th scope="col">Films</th>
                  </tr>
                </thead>
                <tbody>
                  ${r.ratings.map(
                    (count, i) =>
                      html`<tr>
                        <th scope="row">
                          <span class="stars" aria-hidden="true">${ratingStars((i + 1) / 2)}</span
                          ><span class="visually-hidden">${ratingWords((i + 1) / 2)}</span>
                        </th>
                        <td><div class="count">${bar(count, maxRating)}${count}</div></td>
                      </tr>`,
                  )}
                </tbody>
              </table>`
            : nothing
        }
        ${
          timeline
            ? html`<table>
                <caption>
                  Diary entries per ${timeline.unit}
                </caption>
                <thead>
                  <tr>
                    <th scope="col">${timeline.unit === 'month' ? 'Month' : 'Year'}</th>
                    <th scope="col">Entries</th>
                  </tr>
                </thead>
                <tbody>
                  ${timeline.periods.map(
                    (p) =>
                      html`<tr>
                        <th scope="row">${timelineLabel(p.label)}</th>
                        <td><div class="count">${bar(p.count, maxPeriod)}${p.count}</div></td>
                      </tr>`,
                  )}
                </tbody>
              </table>`
            : nothing
        }
      </div>
    </section>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mm-review-figures': MmReviewFigures;
  }
}
