import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { MemberResponse } from '../../common/protocol.js';
import { historyText } from '../format.js';
import { base, controls } from '../styles/shared.js';

export type Member = MemberResponse['member'];

/**
 * What this server keeps of a member's diary ("History kept on this server since 3 March 2026", with
 * its gaps) and the control to stop following them. Properties down: the member; events up:
 * `mm-stop-following` (the page asks the server, which deletes the kept history).
 */
@customElement('mm-member-history')
export class MmMemberHistory extends LitElement {
  static override styles = [
    base,
    controls,
    css`
      :host {
        display: block;
      }
      section {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.5em 1em;
      }
      .text {
        flex: 1 1 24em;
      }
      p {
        margin: 0;
      }
    `,
  ];

  @property({ attribute: false }) member: Member | null = null;
  /** True while the stop request is under way. */
  @property({ type: Boolean }) busy = false;

  override render() {
    const m = this.member;
    const text = m ? historyText(m) : null;
    if (!m || !text) return nothing;
    return html`<section aria-label="History kept on this server">
      <div class="text">
        <p>${text.kept}</p>
        ${text.gaps ? html`<p class="muted">${text.gaps}</p>` : nothing}
        <p class="muted">
          ${
            m.followed
              ? 'This server reads their RSS feed every few hours and keeps every diary entry, so older months and years need no page Letterboxd may refuse.'
              : 'Not followed: the feed is read only when a mosaic is made.'
          }
        </p>
      </div>
      <button type="button" ?disabled=${this.busy} @click=${this.#stop}>
        ${m.followed ? 'Stop following and delete this history' : 'Delete this history'}
      </button>
    </section>`;
  }

  #stop(): void {
    this.dispatchEvent(new CustomEvent('mm-stop-following', { detail: this.member!.username, bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mm-member-history': MmMemberHistory;
  }
}
