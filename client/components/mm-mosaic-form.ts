import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { live } from 'lit/directives/live.js';
import { currentMonth, MIN_YEAR } from '../../common/task.js';
import type { MosaicRequestBody } from '../api.js';
import {
  buildRequest,
  initialForm,
  layoutsFor,
  usernameProblem,
  validateForm,
  withPeriod,
  type FormErrors,
  type FormState,
  type PeriodChoice,
} from '../form-model.js';
import { base, card, controls } from '../styles/shared.js';

export type MosaicSubmitEvent = CustomEvent<MosaicRequestBody>;

const PERIODS: { value: PeriodChoice; label: string }[] = [
  { value: 'this-month', label: 'This month' },
  { value: 'month', label: 'A chosen month' },
  { value: 'recent', label: 'The last films watched' },
  { value: 'year', label: 'A year' },
  { value: 'all', label: 'Everything' },
];

/**
 * The mosaic form: username (validated as typed), period and layout. Fires `mm-submit` with the
 * request body; the page sends it and passes any server error back through `serverErrors`.
 */
@customElement('mm-mosaic-form')
export class MmMosaicForm extends LitElement {
  static override styles = [
    base,
    controls,
    card,
    css`
      :host {
        display: block;
      }
      form {
        display: grid;
        grid-template-columns: minmax(0, 1fr);
        gap: 1.1rem;
      }
      label,
      legend {
        font-weight: 700;
      }
      .field {
        display: grid;
        gap: 0.35rem;
      }
      .username {
        display: flex;
        align-items: stretch;
        border: 1px solid var(--mm-control-border);
        border-radius: 8px;
        background: var(--mm-surface);
        max-width: 24rem;
      }
      .username span {
        display: flex;
        align-items: center;
        padding-left: 0.7em;
        color: var(--mm-muted);
        white-space: nowrap;
      }
      .username input {
        flex: 1;
        /* Without a width the input's default size (20 chars) sets the form's minimum width. */
        width: 0;
        min-width: 0;
        border: 0;
        padding-left: 0.1em;
      }
      .username:has(input[aria-invalid='true']) {
        border-color: var(--mm-danger);
        box-shadow: 0 0 0 1px var(--mm-danger);
      }
      .username input[aria-invalid='true'] {
        box-shadow: none;
      }
      .hint {
        font-size: 0.9rem;
        color: var(--mm-muted);
        margin: 0;
      }
      .error {
        color: var(--mm-danger);
        font-weight: 600;
        margin: 0;
      }
      fieldset {
        border: 0;
        margin: 0;
        padding: 0;
        min-width: 0;
      }
      legend {
        padding: 0;
        margin-bottom: 0.4rem;
      }
      .choices {
        display: grid;
        gap: 0.35rem;
      }
      .choice {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.3em 0.7em;
        min-height: 40px;
      }
      .choice > label {
        display: inline-flex;
        align-items: center;
        gap: 0.5em;
        font-weight: 400;
        cursor: pointer;
      }
      input[type='radio'] {
        /* Never squeezed by a long label beside it (the Classic card's). */
        flex: none;
        width: 1.25em;
        height: 1.25em;
        min-height: 0;
        margin: 0;
        padding: 0;
        accent-color: var(--mm-accent);
      }
      .sub input {
        width: 9.5em;
      }
      .sub input[type='number'] {
        width: 6em;
      }
      .layouts {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(13rem, 1fr));
        gap: 0.6rem;
      }
      .layouts label {
        display: flex;
        gap: 0.6em;
        align-items: flex-start;
        font-weight: 400;
        border: 1px solid var(--mm-control-border);
        border-radius: var(--mm-radius);
        padding: 0.7em;
        cursor: pointer;
      }
      .layouts label:has(input:checked) {
        border-color: var(--mm-accent);
        box-shadow: 0 0 0 1px var(--mm-accent);
      }
      .layouts strong {
        display: block;
      }
      .submit {
        justify-self: start;
      }
    `,
  ];

  /** Values to start from (prefill after an error or "make another"). Replacing it resets the form. */
  @property({ attribute: false }) initial: FormState | null = null;
  /** True while the page is sending the request. */
  @property({ type: Boolean }) busy = false;
  /** Errors the server reported for the last submit, by field. */
  @property({ attribute: false }) serverErrors: FormErrors = {};
  /** Today, for the month and year limits; a property so tests can pin it. */
  @property({ attribute: false }) now: Date = new Date();

  @state() private form: FormState = initialForm(new Date());
  @state() private errors: FormErrors = {};
  /** Inline checks start after the first blur or submit, so typing the first letter is not an error. */
  @state() private touched = false;

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('initial')) {
      this.form = this.initial ? { ...this.initial } : initialForm(this.now);
      this.errors = {};
    }
    if (changed.has('serverErrors')) this.errors = { ...this.serverErrors };
  }

  /** Moves focus to the username field (the page calls this on load). */
  focusUsername(): void {
    this.renderRoot.querySelector<HTMLInputElement>('#username')?.focus();
  }

  override render() {
    const f = this.form;
    const e = this.errors;
    const maxMonth = currentMonth(this.now);
    const thisYear = this.now.getFullYear();
    return html`<form class="card" novalidate @submit=${this.#submit} aria-labelledby="form-title">
      <h2 id="form-title">Make a mosaic</h2>
      <div class="field">
        <label for="username">Letterboxd username</label>
        <div class="username">
          <span aria-hidden="true">letterboxd.com/</span>
          <input
            id="username"
            name="username"
            autocomplete="username"
            autocapitalize="none"
            autocorrect="off"
            spellcheck="false"
            inputmode="text"
            enterkeyhint="go"
            required
            maxlength="15"
            .value=${live(f.username)}
            aria-invalid=${e.username ? 'true' : 'false'}
            aria-describedby=${e.username ? 'username-error' : 'username-hint'}
            @input=${this.#onUsername}
            @blur=${this.#onUsernameBlur}
          />
        </div>
        ${
          e.username
            ? html`<p class="error" id="username-error">${e.username}</p>`
            : html`<p class="hint" id="username-hint">2–15 letters, digits or underscores, as in the profile address.</p>`
        }
      </div>

      <fieldset>
        <legend>Period</legend>
        <div class="choices">
          ${PERIODS.map(
            (p) =>
              html`<div class="choice">
                <label>
                  <input type="radio" name="period" .value=${p.value} .checked=${live(f.period === p.value)} @change=${this.#onPeriod} />
                  ${p.label}
                </label>
                ${f.period === p.value ? this.#periodDetail(p.value, maxMonth, thisYear) : nothing}
              </div>`,
          )}
        </div>
      </fieldset>

      <fieldset>
        <legend>Layout</legend>
        <div class="layouts">
          <label>
            <input type="radio" name="layout" value="classic" .checked=${live(f.layout === 'classic')} @change=${this.#onLayout} />
            <span><strong>Classic</strong><span class="muted">Posters with a header and the ratings beside them.</span></span>
          </label>
          <label>
            <input type="radio" name="layout" value="grid" .checked=${live(f.layout === 'grid')} @change=${this.#onLayout} />
            <span><strong>Grid</strong><span class="muted">Posters only, edge to edge.</span></span>
          </label>
          ${
            layoutsFor(f.period).includes('review')
              ? html`<label>
                  <input type="radio" name="layout" value="review" .checked=${live(f.layout === 'review')} @change=${this.#onLayout} />
                  <span
                    ><strong>Year in review</strong
                    ><span class="muted"
                      >The posters, then the figures: films, average rating, ratings, diary entries over time, rewatches, likes, first and
                      last film.</span
                    ></span
                  >
                </label>`
              : nothing
          }
        </div>
      </fieldset>

      ${e.form ? html`<p class="error" role="alert">${e.form}</p>` : nothing}
      <button class="primary submit" type="submit" ?disabled=${this.busy}>${this.busy ? 'Sending…' : 'Make mosaic'}</button>
    </form>`;
  }

  #periodDetail(p: PeriodChoice, maxMonth: string, thisYear: number) {
    const f = this.form;
    const e = this.errors;
    const field = (id: 'month' | 'count' | 'year', label: string, input: unknown) =>
      html`<span class="sub">
        <label class="visually-hidden" for=${id}>${label}</label>
        ${input} ${e[id] ? html`<p class="error" id="${id}-error">${e[id]}</p>` : nothing}
      </span>`;
    switch (p) {
      case 'month':
        return field(
          'month',
          'Month',
          html`<input
            id="month"
            type="month"
            min="${MIN_YEAR}-01"
            max=${maxMonth}
            placeholder="2026-11"
            .value=${live(f.month)}
            aria-invalid=${e.month ? 'true' : 'false'}
            aria-describedby=${e.month ? 'month-error' : nothing}
            @input=${(ev: Event) => this.#set({ month: (ev.target as HTMLInputElement).value }, 'month')}
          />`,
        );
      case 'recent':
        return field(
          'count',
          'Number of films (1 to 50)',
          html`<input
              id="count"
              type="number"
              inputmode="numeric"
              min="1"
              max="50"
              .value=${live(f.count)}
              aria-invalid=${e.count ? 'true' : 'false'}
              aria-describedby=${e.count ? 'count-error' : nothing}
              @input=${(ev: Event) => this.#set({ count: (ev.target as HTMLInputElement).value }, 'count')}
            />
            <span class="muted" aria-hidden="true">films (up to 50)</span>`,
        );
      case 'year':
        return field(
          'year',
          'Year',
          html`<input
            id="year"
            type="number"
            inputmode="numeric"
            min=${MIN_YEAR}
            max=${thisYear}
            .value=${live(f.year)}
            aria-invalid=${e.year ? 'true' : 'false'}
            aria-describedby=${e.year ? 'year-error' : nothing}
            @input=${(ev: Event) => this.#set({ year: (ev.target as HTMLInputElement).value }, 'year')}
          />`,
        );
      case 'all':
        return html`<span class="muted">Long histories take a while.</span>`;
      default:
        return nothing;
    }
  }

  #set(patch: Partial<FormState>, clear?: keyof FormErrors): void {
    this.form = { ...this.form, ...patch };
    if (clear && this.errors[clear]) {
      const { [clear]: _gone, ...rest } = this.errors;
      this.errors = rest;
    }
  }

  #onUsername(ev: Event): void {
    const value = (ev.target as HTMLInputElement).value;
    this.#set({ username: value });
    // Once a problem is showing, re-check on every keystroke so it clears as soon as it is fixed.
    if (this.touched || this.errors.username) this.#checkUsername(false);
  }

  #onUsernameBlur(): void {
    if (this.form.username.trim() === '') return;
    this.touched = true;
    this.#checkUsername(false);
  }

  #checkUsername(submitting: boolean): void {
    const problem = usernameProblem(this.form.username, submitting);
    const { username: _old, ...rest } = this.errors;
    this.errors = problem ? { ...rest, username: problem } : rest;
  }

  #onPeriod(ev: Event): void {
    // A year in review is offered for a year or everything only: another period falls back to classic.
    this.#set(withPeriod(this.form, (ev.target as HTMLInputElement).value as PeriodChoice), 'form');
  }

  #onLayout(ev: Event): void {
    this.#set({ layout: (ev.target as HTMLInputElement).value as FormState['layout'] });
  }

  async #submit(ev: Event): Promise<void> {
    ev.preventDefault();
    if (this.busy) return;
    this.touched = true;
    const errors = validateForm(this.form, this.now);
    this.errors = errors;
    if (Object.keys(errors).length > 0) {
      await this.updateComplete;
      // Focus the first field with a problem, in the order they appear.
      const first = (['username', 'month', 'count', 'year'] as const).find((k) => errors[k]);
      const target = first ? this.renderRoot.querySelector<HTMLElement>(`#${first}`) : null;
      target?.focus();
      return;
    }
    this.dispatchEvent(new CustomEvent('mm-submit', { detail: buildRequest(this.form), bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mm-mosaic-form': MmMosaicForm;
  }
  interface HTMLElementEventMap {
    'mm-submit': MosaicSubmitEvent;
  }
}
