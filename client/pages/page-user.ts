import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { MosaicSummary } from '../../common/task.js';
import { ApiError } from '../api.js';
import { filmListText, formatDate, layoutName, mosaicFileName, mosaicTitle } from '../format.js';
import { mergeMosaics } from '../retention.js';
import { paths } from '../router.js';
import type { Services } from '../services.js';
import { requestPersistentStorage } from '../store.js';
import { base, controls } from '../styles/shared.js';
import '../components/mm-film-list.js';
import '../components/mm-review-figures.js';
import '../components/mm-mosaic-list.js';
import '../components/mm-mosaic-view.js';
import '../components/mm-share-menu.js';

type Source = 'server' | 'device';

/**
 * `/user/:username` (the member's latest) and `/user/:username/:taskId`: the mosaic, download, share,
 * the film list, "make another" and the member's other mosaics. Renders from this device's copy at
 * once (and offline); the server's answer replaces it and refreshes the copy.
 */
@customElement('page-user')
export class PageUser extends LitElement {
  static override styles = [
    base,
    controls,
    css`
      :host {
        display: grid;
        grid-template-columns: minmax(0, 1fr);
        gap: 1.6rem;
      }
      header p {
        margin: 0;
      }
      .layout {
        display: grid;
        gap: 1.6rem;
      }
      .notice {
        margin: 0;
        padding: 0.6em 0.9em;
        border-radius: var(--mm-radius);
        background: var(--mm-warn-bg);
        color: var(--mm-warn-text);
      }
      .actions {
        align-items: center;
      }
    `,
  ];

  @property({ attribute: false }) services?: Services;
  @property({ attribute: false }) username = '';
  /** Null for `/user/:username` (the latest mosaic). */
  @property({ attribute: false }) taskId: string | null = null;

  @state() private mosaic: MosaicSummary | null = null;
  @state() private source: Source | null = null;
  @state() private problem: { title: string; text: string } | null = null;
  @state() private others: MosaicSummary[] = [];
  /** Ids this device keeps, whose thumbnails load from the offline image cache. */
  @state() private savedIds: ReadonlySet<string> = new Set();
  @state() private shareStatus = '';
  @state() private loading = true;
  /** The image as a File for the Web Share API, once read (for the mosaic shown). */
  #shareFile: { taskId: string; file: File } | null = null;
  #loadToken = 0;

  protected override willUpdate(changed: PropertyValues<this>): void {
    if ((changed.has('username') || changed.has('taskId') || changed.has('services')) && this.services && this.username) {
      void this.#load(this.username, this.taskId);
    }
    document.title = this.mosaic ? `${mosaicTitle(this.mosaic)} · moviemosaic` : `${this.username} · moviemosaic`;
  }

  async #load(username: string, taskId: string | null): Promise<void> {
    const token = ++this.#loadToken;
    const stale = () => token !== this.#loadToken;
    const { api, store, router } = this.services!;
    this.loading = true;
    this.problem = null;
    this.shareStatus = '';
    if (this.mosaic && (taskId ? this.mosaic.taskId !== taskId : this.mosaic.username !== username)) this.#show(null, null);

    // This device's copy first: instant, and all there is offline.
    const localList = await store.listByUser(username);
    const local = taskId ? await store.get(taskId) : (localList[0] ?? null);
    if (stale()) return;
    if (local && !this.mosaic) this.#show(local, 'device');
    this.others = localList;
    this.savedIds = new Set(localList.map((x) => x.taskId));

    let serverList: MosaicSummary[] | null = null;
    try {
      let fresh: MosaicSummary | null;
      if (taskId) {
        fresh = await api.getMosaic(taskId);
        if (stale()) return;
        if (fresh.username !== username) {
          // The id belongs to another member: fix the address rather than show a mismatch.
          router.navigate(paths.user(fresh.username, fresh.taskId), { replace: true });
          return;
        }
      } else {
        serverList = await api.listUserMosaics(username);
        if (stale()) return;
        fresh = serverList[0] ?? null;
      }
      if (fresh) {
        this.#show(fresh, 'server');
        void store.save(fresh).then(() => requestPersistentStorage());
      } else if (!local) {
        this.problem = { title: `No mosaics of ${username} yet`, text: 'Make the first one.' };
      }
    } catch (err) {
      if (stale()) return;
      if (!(err instanceof ApiError)) throw err;
      if (err.code === 'RESULT_NOT_READY' && taskId) {
        router.navigate(paths.task(taskId), { replace: true });
        return;
      }
      if (!local) {
        this.problem =
          err.code === 'TASK_NOT_FOUND'
            ? { title: 'No such mosaic', text: 'It may have been cleaned up on the server, and this device has no copy of it.' }
            : err.offline
              ? { title: 'Offline', text: 'This mosaic is not saved on this device. Open it again once the server can be reached.' }
              : { title: 'Could not load this mosaic', text: err.message };
      }
    } finally {
      if (!stale()) this.loading = false;
    }

    // The member's other mosaics: the server's list plus this device's copies of pruned ones.
    if (!serverList) serverList = await api.listUserMosaics(username).catch(() => null);
    if (stale()) return;
    this.others = mergeMosaics(serverList ?? [], localList);
  }

  #show(m: MosaicSummary | null, source: Source | null): void {
    if (m?.taskId !== this.#shareFile?.taskId) this.#shareFile = null;
    this.mosaic = m;
    this.source = source;
  }

  /**
   * Reads the image for sharing ahead of the click: `navigator.share` needs the click's user
   * activation, which a download started inside the click handler could outlast. Runs once the
   * <img> has loaded, so the bytes come from the cache instead of a second download.
   */
  async #prepareShare(m: MosaicSummary): Promise<void> {
    if (typeof navigator.canShare !== 'function' || this.#shareFile?.taskId === m.taskId) return;
    try {
      const res = await fetch(m.resultUrl);
      if (!res.ok) return;
      const blob = await res.blob();
      const file = new File([blob], mosaicFileName(m), { type: m.contentType });
      if (this.mosaic?.taskId === m.taskId && navigator.canShare({ files: [file] })) this.#shareFile = { taskId: m.taskId, file };
    } catch {
      // Sharing falls back to the link.
    }
  }

  async #share(): Promise<void> {
    const m = this.mosaic;
    if (!m) return;
    const title = mosaicTitle(m);
    const url = new URL(paths.user(m.username, m.taskId), location.origin).href;
    try {
      if (this.#shareFile?.taskId === m.taskId) {
        await navigator.share({ files: [this.#shareFile.file], title, text: title });
      } else if (typeof navigator.share === 'function') {
        await navigator.share({ title, text: filmListText(m), url });
      } else {
        await navigator.clipboard.writeText(url);
        this.shareStatus = 'Link copied.';
      }
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') return;
      this.shareStatus = 'Sharing is not available here; use Download instead.';
    }
  }

  override render() {
    const m = this.mosaic;
    if (!m) {
      return html`<h1 tabindex="-1">${this.problem ? this.problem.title : `${this.username}`}</h1>
        ${this.problem
          ? html`<p>${this.problem.text}</p>
              <p><a class="button primary" href=${paths.home({ user: this.username })}>Make a mosaic of ${this.username}</a></p>`
          : html`<p role="status">${this.loading ? 'Loading…' : ''}</p>`}
        ${this.#othersSection(null)}`;
    }
    const canShare = typeof navigator.share === 'function' || (window.isSecureContext && !!navigator.clipboard);
    return html`
      <header>
        <h1 tabindex="-1">${mosaicTitle(m)}</h1>
        <p class="muted">${m.filmCount} film${m.filmCount === 1 ? '' : 's'} · made ${formatDate(m.createdAt)} · ${layoutName(m.params)}</p>
      </header>
      ${this.source === 'device' && !this.loading
        ? html`<p class="notice" role="status">Showing this device’s saved copy; the server could not be reached or no longer has it.</p>`
        : nothing}
      ${m.partial ? html`<p class="notice">${m.note ?? 'This mosaic is partial: not every film of the period could be read.'}</p>` : nothing}
      <mm-mosaic-view .mosaic=${m} @mm-image-load=${(e: CustomEvent<MosaicSummary>) => void this.#prepareShare(e.detail)}></mm-mosaic-view>
      <div class="actions">
        <a class="button primary" href=${m.resultUrl} download=${mosaicFileName(m)}>Download</a>
        ${canShare ? html`<button type="button" @click=${this.#share}>Share</button>` : nothing}
        <a class="button" href=${paths.home({ user: m.username })}>Make another</a>
        <span class="muted" role="status">${this.shareStatus}</span>
      </div>
      ${this.source === 'device' ? nothing : html`<mm-share-menu .mosaic=${m}></mm-share-menu>`}
      ${m.review ? html`<mm-review-figures .mosaic=${m}></mm-review-figures>` : nothing}
      <mm-film-list .mosaic=${m}></mm-film-list>
      ${this.#othersSection(m.taskId)}
    `;
  }

  #othersSection(currentId: string | null) {
    const list = this.others.filter((o) => o.taskId !== currentId);
    if (list.length === 0) return nothing;
    return html`<section aria-labelledby="others">
      <h2 id="others">More mosaics of ${this.username}</h2>
      <mm-mosaic-list .mosaics=${list} .savedIds=${this.savedIds} stableLinks></mm-mosaic-list>
    </section>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'page-user': PageUser;
  }
}
