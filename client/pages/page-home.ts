import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { isFinished, type MosaicListItem, type MosaicSummary, type Task } from '../../common/task.js';
import { ApiError, type MosaicRequestBody } from '../api.js';
import { fieldForServerError, formFromParams, initialForm, type FormErrors, type FormState } from '../form-model.js';
import { loadPage } from '../page-code.js';
import { paths } from '../router.js';
import type { Services } from '../services.js';
import { base, controls } from '../styles/shared.js';
import '../components/mm-error-banner.js';
import '../components/mm-mosaic-form.js';
import '../components/mm-mosaic-list.js';
import '../components/mm-export-upload.js';
import type { MosaicSubmitEvent } from '../components/mm-mosaic-form.js';

/** The fragment that leads to the export upload (the error banner's link, README, bookmarks). */
const EXPORT_HASH = '#export';

const LAST_USERNAME = 'mm-last-username';

/** What the task page leaves in history.state when it sends the person back here. */
export interface FailedTaskState {
  failedTask: Task;
}

function failedTaskFrom(state: unknown, id: string): Task | null {
  const t = (state as Partial<FailedTaskState> | null)?.failedTask;
  return t && typeof t === 'object' && t.id === id ? t : null;
}

function remembered(): string {
  try {
    return localStorage.getItem(LAST_USERNAME) ?? '';
  } catch {
    return '';
  }
}

/**
 * `/`: the form, the error banner of a failed task (`/?task=ID`; the task comes from history.state at
 * once and from the API after a reload), this device's past mosaics and the server's gallery.
 */
@customElement('page-home')
export class PageHome extends LitElement {
  static override styles = [
    base,
    controls,
    css`
      :host {
        display: grid;
        grid-template-columns: minmax(0, 1fr);
        gap: 2rem;
      }
      .intro p {
        margin: 0;
        max-width: 40rem;
      }
      section > h2 {
        margin-bottom: 0.8rem;
      }
      .banner-note {
        margin: 0;
      }
      .about p {
        margin: 0 0 0.6em;
        max-width: 42rem;
      }
    `,
  ];

  @property({ attribute: false }) services?: Services;
  /** `?task=ID`: the task whose failure to explain. */
  @property({ attribute: false }) failedTaskId: string | null = null;
  /** `?user=name`: prefill the form ("make another"). */
  @property({ attribute: false }) prefillUser: string | null = null;
  @property({ attribute: false }) historyState: unknown = null;

  @state() private failedTask: Task | null = null;
  @state() private failedLookup: string | null = null;
  @state() private formInitial: FormState | null = null;
  @state() private busy = false;
  @state() private serverErrors: FormErrors = {};
  @state() private local: MosaicSummary[] = [];
  @state() private savedIds: ReadonlySet<string> = new Set();
  @state() private gallery: MosaicListItem[] | null = null;
  @state() private galleryError: string | null = null;
  /** The username as typed in the form, so the export upload starts from it. */
  @state() private formUsername = '';

  /** The failed task's look-up (what the banner explains), for `settled`. */
  #lookup: Promise<void> = Promise.resolve();

  #onHashChange = () => {
    if (location.hash === EXPORT_HASH) this.#showExport();
  };

  override connectedCallback(): void {
    super.connectedCallback();
    document.title = 'moviemosaic';
    window.addEventListener('hashchange', this.#onHashChange);
    void this.#loadLists();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('hashchange', this.#onHashChange);
  }

  protected override firstUpdated(): void {
    // A visit to /#export (a bookmark, the README) starts at the upload.
    if (location.hash === EXPORT_HASH) this.#showExport();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (!this.services) return;
    const now = new Date(this.services.now());
    if (changed.has('failedTaskId') || changed.has('services')) {
      const id = this.failedTaskId;
      this.failedTask = id ? failedTaskFrom(this.historyState, id) : null;
      this.failedLookup = null;
      this.#lookup = id ? this.#lookUpFailed(id) : Promise.resolve();
    }
    if (changed.has('failedTaskId') || changed.has('prefillUser') || changed.has('services')) {
      const t = this.failedTask;
      this.formInitial = t ? formFromParams(t.username, t.params, now) : initialForm(now, this.prefillUser ?? remembered());
      this.formUsername = this.formInitial.username;
    }
  }

  async #lookUpFailed(id: string): Promise<void> {
    try {
      const task = await this.services!.api.getTask(id);
      if (id !== this.failedTaskId) return;
      if (task.status === 'COMPLETE') {
        // Finished after all (e.g. a stale link): show the mosaic instead of an error.
        this.services!.router.navigate(paths.user(task.username, task.id), { replace: true });
        return;
      }
      if (!isFinished(task.status)) {
        this.services!.router.navigate(paths.task(task.id), { replace: true });
        return;
      }
      const hadTask = this.failedTask !== null;
      this.failedTask = task;
      if (!hadTask) {
        this.formInitial = formFromParams(task.username, task.params, new Date(this.services!.now()));
        this.formUsername = this.formInitial.username;
      }
    } catch (err) {
      if (id !== this.failedTaskId || this.failedTask) return;
      this.failedLookup =
        err instanceof ApiError && err.code === 'TASK_NOT_FOUND'
          ? 'That mosaic request no longer exists on the server.'
          : 'Could not load what happened to that mosaic. ' + (err instanceof Error ? err.message : '');
    }
  }

  async #loadLists(): Promise<void> {
    if (!this.services) return;
    const { store, api } = this.services;
    this.local = await store.list();
    this.savedIds = new Set(this.local.map((m) => m.taskId));
    try {
      this.gallery = await api.listGallery(24);
      this.galleryError = null;
    } catch (err) {
      this.galleryError =
        err instanceof ApiError && err.offline ? 'The gallery needs a connection to the server.' : 'The gallery could not be loaded.';
    }
  }

  override render() {
    return html`
      <div class="intro">
        <h1 tabindex="-1">Your films, as a poster mosaic</h1>
        <p class="muted">Type a Letterboxd username, pick a period, and get one image of every poster, ready to share.</p>
      </div>
      ${
        this.failedTask
          ? html`<mm-error-banner
              .task=${this.failedTask}
              @mm-retry=${this.#retry}
              @mm-dismiss=${this.#dismiss}
              @mm-show-export=${this.#showExport}
            ></mm-error-banner>`
          : this.failedLookup
            ? html`<p class="banner-note" role="status">
                ${this.failedLookup} <button class="link" type="button" @click=${this.#dismiss}>Dismiss</button>
              </p>`
            : nothing
      }
      <mm-mosaic-form
        .initial=${this.formInitial}
        .busy=${this.busy}
        .serverErrors=${this.serverErrors}
        .now=${new Date(this.services?.now() ?? Date.now())}
        @mm-submit=${this.#onSubmit}
        @input=${this.#onFormInput}
      ></mm-mosaic-form>
      <mm-export-upload id="export" .api=${this.services?.api} .username=${this.formUsername}></mm-export-upload>
      <section aria-labelledby="mine">
        <h2 id="mine">On this device</h2>
        <mm-mosaic-list
          .mosaics=${this.local}
          .savedIds=${this.savedIds}
          empty="Mosaics you open are kept here, also for offline use."
        ></mm-mosaic-list>
      </section>
      <section aria-labelledby="gallery">
        <h2 id="gallery">Recently made on this server</h2>
        ${
          this.galleryError
            ? html`<p class="muted">${this.galleryError}</p>`
            : this.gallery === null
              ? html`<p class="muted">Loading…</p>`
              : html`<mm-mosaic-list
                  .mosaics=${this.gallery}
                  .savedIds=${this.savedIds}
                  empty="No mosaics yet. Make the first one."
                ></mm-mosaic-list>`
        }
      </section>
      <section class="about" aria-labelledby="about">
        <h2 id="about">About</h2>
        <p class="muted">
          moviemosaic runs on its owner’s own server. Films, ratings and posters come from Letterboxd’s public pages and feed, or from the
          data export a member uploads; when the server has a TMDB API key, posters may also come from TMDB.
        </p>
        <p class="muted">This product uses the TMDB API but is not endorsed or certified by TMDB.</p>
      </section>
    `;
  }

  /** For mm-app: resolves once the banner of a failed task (if any) is on the page. */
  async settled(): Promise<void> {
    await this.#lookup.catch(() => {});
    await this.updateComplete;
  }

  /** After a failed task sends the person here, focus lands on the explanation (on /#export: the upload). */
  async focusTarget(): Promise<HTMLElement | null> {
    if (location.hash === EXPORT_HASH) {
      const upload = this.renderRoot.querySelector('mm-export-upload');
      await upload?.updateComplete;
      return upload?.shadowRoot?.querySelector<HTMLElement>('#export-file') ?? null;
    }
    const banner = this.renderRoot.querySelector('mm-error-banner');
    if (!banner) return null;
    await banner.updateComplete;
    return banner.heading;
  }

  /** The form's username field, as typed (input events cross its shadow root). */
  #onFormInput(ev: Event): void {
    const field = ev.composedPath()[0];
    if (field instanceof HTMLInputElement && field.id === 'username') this.formUsername = field.value;
  }

  #showExport(): void {
    void this.updateComplete.then(() => this.renderRoot.querySelector('mm-export-upload')?.focusUpload());
  }

  #onSubmit(ev: MosaicSubmitEvent): void {
    void this.#send(ev.detail);
  }

  async #send(body: MosaicRequestBody): Promise<void> {
    const s = this.services;
    if (!s || this.busy) return;
    this.busy = true;
    this.serverErrors = {};
    // The progress page's code travels while the server answers, not after (a first visit, before the
    // service worker has it, would otherwise wait one more round trip). A failure here is shown, with
    // Try again, when the page itself is opened.
    loadPage('task').catch(() => {});
    try {
      const { task } = await s.api.createMosaic(body);
      try {
        localStorage.setItem(LAST_USERNAME, task.username);
      } catch {
        // Remembering the name is a convenience only.
      }
      // A fresh identical mosaic comes back COMPLETE at once (docs/architecture.md#dedupe): skip the progress page.
      s.router.navigate(task.status === 'COMPLETE' ? paths.user(task.username, task.id) : paths.task(task.id));
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      const key = err.code === 'INVALID_REQUEST' ? fieldForServerError(err.field) : 'form';
      const message = err.code === 'RATE_LIMITED' ? `${err.message} Wait a minute, then try again.` : err.message;
      this.serverErrors = { [key]: message };
    } finally {
      this.busy = false;
    }
  }

  #retry(ev: CustomEvent<Task>): void {
    const t = ev.detail;
    this.#clearBanner();
    void this.#send({ username: t.username, ...t.params });
  }

  #dismiss(): void {
    this.#clearBanner();
    this.renderRoot.querySelector('mm-mosaic-form')?.focusUsername();
  }

  #clearBanner(): void {
    this.failedTask = null;
    this.failedLookup = null;
    this.services?.router.replaceQuietly('/');
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'page-home': PageHome;
  }
}
