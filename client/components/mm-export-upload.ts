import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { live } from 'lit/directives/live.js';
import { ApiError, type Api, type ImportSummary } from '../api.js';
import { importedSentence, uploadProblems, type UploadErrors } from '../export-model.js';
import { base, card, controls } from '../styles/shared.js';

export type ExportImportedEvent = CustomEvent<ImportSummary>;

type Phase = { name: 'idle' } | { name: 'uploading' } | { name: 'done'; summary: ImportSummary } | { name: 'failed'; message: string };

/**
 * Uploading a Letterboxd data export (docs/architecture.md#export-upload): for histories Letterboxd refuses to page through,
 * `all`, years and old months then come from it. Sends the chosen file's raw bytes; shows progress,
 * the import's counts or what was wrong. Fires `mm-export-imported` with the summary.
 */
@customElement('mm-export-upload')
export class MmExportUpload extends LitElement {
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
        gap: 1rem;
      }
      .field {
        display: grid;
        gap: 0.35rem;
        max-width: 24rem;
        min-width: 0;
      }
      .field input {
        width: 100%;
      }
      label {
        font-weight: 700;
      }
      p {
        margin: 0;
        max-width: 42rem;
      }
      input[type='file'] {
        padding: 0.35em;
      }
      .error {
        color: var(--mm-danger);
        font-weight: 600;
      }
      .done {
        color: var(--mm-ok);
        font-weight: 600;
      }
      .status {
        display: grid;
        gap: 0.4rem;
      }
      progress {
        width: min(100%, 24rem);
        accent-color: var(--mm-accent);
      }
      h2:focus {
        outline: none;
      }
      .intro {
        display: grid;
        gap: 0.5rem;
        margin-bottom: 1rem;
      }
    `,
  ];

  @property({ attribute: false }) api?: Pick<Api, 'uploadExport'>;
  /** The username to start from (the mosaic form's); the person may change it here. */
  @property() username = '';

  @state() private name = '';
  @state() private file: File | null = null;
  @state() private errors: UploadErrors = {};
  @state() private phase: Phase = { name: 'idle' };
  /** Whether the person typed a name here: then the form's name no longer replaces it. */
  #edited = false;
  #abort: AbortController | null = null;

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('username') && !this.#edited) this.name = this.username;
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#abort?.abort();
  }

  /** Brings the upload into view and puts focus on the file picker (the error banner links here). */
  focusUpload(): void {
    this.scrollIntoView({ block: 'start', behavior: 'smooth' });
    const target = this.renderRoot.querySelector<HTMLElement>(this.name.trim() ? '#export-file' : '#export-username');
    target?.focus({ preventScroll: true });
  }

  override render() {
    const e = this.errors;
    const busy = this.phase.name === 'uploading';
    return html`<section class="card" aria-labelledby="export-title">
      <div class="intro">
        <h2 id="export-title">Use your Letterboxd export</h2>
        <p>
          Letterboxd sometimes refuses to show a whole history to other sites. Your data export has all of it: on Letterboxd, open Settings
          → Import &amp; Export → <strong>Export your data</strong>, then choose that ZIP file here (as it is, up to 20 MB). “Everything”,
          years and older months are then made from it.
        </p>
      </div>
      <form novalidate @submit=${this.#submit} aria-describedby="export-status">
        <div class="field">
          <label for="export-username">Letterboxd username</label>
          <input
            id="export-username"
            autocomplete="username"
            autocapitalize="none"
            spellcheck="false"
            maxlength="15"
            required
            .value=${live(this.name)}
            aria-invalid=${e.username ? 'true' : 'false'}
            aria-describedby=${e.username ? 'export-username-error' : nothing}
            @input=${this.#onName}
          />
          ${e.username ? html`<p class="error" id="export-username-error">${e.username}</p>` : nothing}
        </div>
        <div class="field">
          <label for="export-file">Export file (.zip)</label>
          <input
            id="export-file"
            type="file"
            accept=".zip,application/zip,application/x-zip-compressed"
            required
            aria-invalid=${e.file ? 'true' : 'false'}
            aria-describedby=${e.file ? 'export-file-error' : nothing}
            @change=${this.#onFile}
          />
          ${e.file ? html`<p class="error" id="export-file-error">${e.file}</p>` : nothing}
        </div>
        <div class="actions">
          <button class="primary" type="submit" ?disabled=${busy}>${busy ? 'Uploading…' : 'Upload export'}</button>
          ${busy ? html`<button type="button" @click=${this.#cancel}>Cancel</button>` : nothing}
        </div>
      </form>
      <div class="status" id="export-status" role="status" aria-live="polite">${this.#status()}</div>
      ${this.phase.name === 'failed' ? html`<p class="error" role="alert">${this.phase.message}</p>` : nothing}
    </section>`;
  }

  #status() {
    switch (this.phase.name) {
      case 'idle':
      case 'failed':
        return nothing;
      case 'uploading':
        return html`<progress aria-label="Uploading the export"></progress>
          <p>Uploading and reading the export…</p>`;
      case 'done':
        return html`<p class="done">${importedSentence(this.phase.summary)}</p>
          <p>Mosaics of “Everything”, years and older months for ${this.phase.summary.username} now come from it.</p>`;
    }
  }

  #onName(ev: Event): void {
    this.#edited = true;
    this.name = (ev.target as HTMLInputElement).value;
    if (this.errors.username) this.errors = { ...this.errors, username: undefined };
  }

  #onFile(ev: Event): void {
    this.file = (ev.target as HTMLInputElement).files?.[0] ?? null;
    if (this.errors.file) this.errors = { ...this.errors, file: undefined };
    if (this.phase.name !== 'uploading') this.phase = { name: 'idle' };
  }

  #cancel(): void {
    this.#abort?.abort();
  }

  async #submit(ev: Event): Promise<void> {
    ev.preventDefault();
    if (this.phase.name === 'uploading' || !this.api) return;
    const errors = uploadProblems(this.name, this.file);
    this.errors = errors;
    if (errors.username || errors.file) {
      await this.updateComplete;
      this.renderRoot.querySelector<HTMLElement>(errors.username ? '#export-username' : '#export-file')?.focus();
      return;
    }
    const abort = new AbortController();
    this.#abort = abort;
    this.phase = { name: 'uploading' };
    try {
      const summary = await this.api.uploadExport(this.name.trim(), this.file!, { signal: abort.signal });
      this.phase = { name: 'done', summary };
      this.dispatchEvent(new CustomEvent('mm-export-imported', { detail: summary, bubbles: true, composed: true }));
    } catch (err) {
      if (abort.signal.aborted) {
        this.phase = { name: 'failed', message: 'Upload cancelled; the earlier export, if any, is still in use.' };
      } else if (err instanceof ApiError) {
        const field = err.code === 'INVALID_REQUEST' ? 'username' : null;
        if (field) this.errors = { username: err.message };
        this.phase = {
          name: 'failed',
          message: err.code === 'INVALID_EXPORT' ? `${err.message} Any earlier export is still in use.` : err.message,
        };
      } else {
        throw err;
      }
    } finally {
      if (this.#abort === abort) this.#abort = null;
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mm-export-upload': MmExportUpload;
  }
  interface HTMLElementEventMap {
    'mm-export-imported': ExportImportedEvent;
  }
}
