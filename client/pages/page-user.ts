import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { createRef, ref } from 'lit/directives/ref.js';
import type { MosaicListItem, MosaicSummary } from '../../common/task.js';
import { ApiError, mosaicImages } from '../api.js';
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
import '../components/mm-member-history.js';
import type { Member } from '../components/mm-member-history.js';
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
  @state() private others: MosaicListItem[] = [];
  /** Ids this device keeps, whose thumbnails load from the offline image cache. */
  @state() private savedIds: ReadonlySet<string> = new Set();
  @state() private shareStatus = '';
  @state() private loading = true;
  /** What the server keeps of this member's diary (null offline or before it answers). */
  @state() private member: Member | null = null;
  @state() private stopping = false;
  /** The full image as a File for the Web Share API, being read or read (for the mosaic shown). */
  #shareFile: { taskId: string; file: Promise<File | null> } | null = null;
  #filmList = createRef<HTMLElement>();
  /** The current load's first answer (this device's copy and the server's, or the failure). */
  #settled: Promise<void> = Promise.resolve();
  #settle: () => void = () => {};
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
    this.#settle(); // an earlier load's waiters need not wait for this one
    this.#settled = new Promise((resolve) => (this.#settle = resolve));
    const { api, store, router } = this.services!;
    this.loading = true;
    this.problem = null;
    this.shareStatus = '';
    if (this.mosaic && (taskId ? this.mosaic.taskId !== taskId : this.mosaic.username !== username)) this.#show(null, null);
    if (this.member?.username !== username) this.member = null;

    // The screen copy's URL follows from the id: start it now, beside the mosaic's JSON, instead of one
    // round trip later (the <img> then takes it from the memory cache). Its paint is the page's LCP.
    if (taskId) this.#preloadScreen(taskId);
    // The server's answer is asked for at once, beside reading this device's copy rather than after
    // it: on a first visit, opening the device's store takes longer than the answer (which the page's
    // HTML may already have preloaded). A failure is handled where it is awaited, below.
    const asked = taskId ? api.getMosaic(taskId) : null;
    asked?.catch(() => {});
    const localRead = (async () => {
      const list = await store.listByUser(username);
      return { list, one: taskId ? await store.get(taskId) : (list[0] ?? null) };
    })().catch(() => ({ list: [] as MosaicListItem[], one: null })); // no device store: no copy
    // This device's copy: instant, and all there is offline; shown unless the server's came first.
    const localShown = localRead.then(({ list, one }) => {
      if (stale()) return null;
      if (one && !this.mosaic) this.#show(one, 'device');
      this.others = list;
      this.savedIds = new Set(list.map((x) => x.taskId));
      return one;
    });

    let serverList: MosaicListItem[] | null = null;
    try {
      let fresh: MosaicSummary | null;
      if (asked) {
        fresh = await asked;
        if (stale()) return;
        if (fresh.username !== username) {
          // The id belongs to another member: fix the address rather than show a mismatch.
          router.navigate(paths.user(fresh.username, fresh.taskId), { replace: true });
          return;
        }
      } else {
        serverList = await api.listUserMosaics(username);
        if (stale()) return;
        // Lists carry no film lists: the latest's whole summary is fetched before it is shown or kept.
        fresh = serverList[0] ? await api.getMosaic(serverList[0].taskId) : null;
        if (stale()) return;
      }
      if (fresh) {
        this.#show(fresh, 'server');
        void store.save(fresh).then(() => requestPersistentStorage());
      } else if (!(await localShown)) {
        if (stale()) return;
        this.problem = { title: `No mosaics of ${username} yet`, text: 'Make the first one.' };
      }
    } catch (err) {
      if (stale()) return;
      if (!(err instanceof ApiError)) throw err;
      if (err.code === 'RESULT_NOT_READY' && taskId) {
        router.navigate(paths.task(taskId), { replace: true });
        return;
      }
      const local = await localShown;
      if (stale()) return;
      if (!local) {
        this.problem =
          err.code === 'TASK_NOT_FOUND'
            ? { title: 'No such mosaic', text: 'It may have been cleaned up on the server, and this device has no copy of it.' }
            : err.offline
              ? { title: 'Offline', text: 'This mosaic is not saved on this device. Open it again once the server can be reached.' }
              : { title: 'Could not load this mosaic', text: err.message };
      }
    } finally {
      if (!stale()) {
        this.loading = false;
        this.#settle();
      }
    }

    // The member's other mosaics: the server's list plus this device's copies of pruned ones.
    if (!serverList) serverList = await api.listUserMosaics(username).catch(() => null);
    if (stale()) return;
    const localList = (await localRead).list;
    if (stale()) return;
    this.others = mergeMosaics(serverList ?? [], localList);
    const member = await api.getMember(username).catch(() => null);
    if (stale()) return;
    this.member = member;
  }

  async #stopFollowing(): Promise<void> {
    if (!this.services || !this.member) return;
    this.stopping = true;
    try {
      this.member = await this.services.api.stopFollowing(this.member.username);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      this.shareStatus = err.message;
    } finally {
      this.stopping = false;
    }
  }

  #history() {
    return html`<mm-member-history
      .member=${this.member}
      ?busy=${this.stopping}
      @mm-stop-following=${this.#stopFollowing}
    ></mm-member-history>`;
  }

  #preloadScreen(taskId: string): void {
    // A loading image is kept alive by the browser until it has loaded; nothing needs to hold it.
    const img = new Image();
    img.fetchPriority = 'high';
    img.src = mosaicImages({ resultUrl: `/api/tasks/${encodeURIComponent(taskId)}/result` }).screen;
  }

  /** For mm-app: resolves once the mosaic (or why there is none) is on the page. */
  settled(): Promise<void> {
    return this.#settled;
  }

  #show(m: MosaicSummary | null, source: Source | null): void {
    if (m?.taskId !== this.#shareFile?.taskId) this.#shareFile = null;
    this.mosaic = m;
    this.source = source;
  }

  /**
   * Reads the full image for sharing once the person shows they may share (pointer over or down on
   * Share, or focus on it): `navigator.share` needs the click's user activation, which a download
   * started inside the click could outlast, and the page itself shows only the screen copy, so the full
   * image is never fetched for nothing.
   */
  #shareIntent(): void {
    const m = this.mosaic;
    if (m && typeof navigator.canShare === 'function' && this.#shareFile?.taskId !== m.taskId) {
      this.#shareFile = { taskId: m.taskId, file: this.#readShareFile(m) };
    }
  }

  async #readShareFile(m: MosaicSummary): Promise<File | null> {
    try {
      const res = await fetch(m.resultUrl);
      if (!res.ok) return null;
      const file = new File([await res.blob()], mosaicFileName(m), { type: m.contentType });
      return navigator.canShare({ files: [file] }) ? file : null;
    } catch {
      return null; // sharing falls back to the link
    }
  }

  async #share(): Promise<void> {
    const m = this.mosaic;
    if (!m) return;
    const title = mosaicTitle(m);
    const url = new URL(paths.user(m.username, m.taskId), location.origin).href;
    try {
      const file = this.#shareFile?.taskId === m.taskId ? await this.#shareFile.file : null;
      if (file) {
        await navigator.share({ files: [file], title, text: title });
      } else if (typeof navigator.share === 'function') {
        await navigator.share({ title, text: filmListText(m), url });
      } else {
        await navigator.clipboard.writeText(url);
        this.shareStatus = 'Link copied.';
      }
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') return;
      if (err instanceof DOMException && err.name === 'NotAllowedError' && this.#shareFile) {
        // The image took longer to arrive than the click's permission lasts; it is here now.
        this.shareStatus = 'The image is ready: press Share again.';
        return;
      }
      this.shareStatus = 'Sharing is not available here; use Download instead.';
    }
  }

  override render() {
    const m = this.mosaic;
    // One template whatever the state, so the h1 is the same element from "loading" to "loaded" and
    // keeps the focus mm-app gave it.
    const title = m ? mosaicTitle(m) : this.problem ? this.problem.title : this.username;
    const canShare = typeof navigator.share === 'function' || (window.isSecureContext && !!navigator.clipboard);
    return html`
      <header>
        <h1 tabindex="-1">${title}</h1>
        ${m ? html`<p class="muted">${m.filmCount} film${m.filmCount === 1 ? '' : 's'} · made ${formatDate(m.createdAt)} · ${layoutName(m.params)}</p>` : nothing}
      </header>
      ${
        m
          ? html`${
                this.source === 'device' && !this.loading
                  ? html`<p class="notice" role="status">
                      Showing this device’s saved copy; the server could not be reached or no longer has it.
                    </p>`
                  : nothing
              }
              ${m.partial ? html`<p class="notice">${m.note ?? 'This mosaic is partial: not every film of the period could be read.'}</p>` : nothing}
              <mm-mosaic-view .mosaic=${m}></mm-mosaic-view>
              <div class="actions">
                <a class="button primary" href=${m.resultUrl} download=${mosaicFileName(m)}>Download</a>
                ${
                  canShare
                    ? html`<button
                        type="button"
                        @click=${this.#share}
                        @pointerenter=${this.#shareIntent}
                        @pointerdown=${this.#shareIntent}
                        @focus=${this.#shareIntent}
                      >
                        Share
                      </button>`
                    : nothing
                }
                <a class="button" href=${paths.home({ user: m.username })}>Make another</a>
                <span class="muted" role="status">${this.shareStatus}</span>
              </div>
              ${this.source === 'device' ? nothing : html`<mm-share-menu .mosaic=${m}></mm-share-menu>`}`
          : this.problem
            ? html`<p>${this.problem.text}</p>
                <p><a class="button primary" href=${paths.home({ user: this.username })}>Make a mosaic of ${this.username}</a></p>`
            : html`<p role="status">${this.loading ? 'Loading…' : ''}</p>`
      }
      ${m?.review ? html`<mm-review-figures .mosaic=${m}></mm-review-figures>` : nothing}
      <mm-film-list ${ref(this.#filmList)} .mosaic=${m}></mm-film-list>
      ${this.#history()} ${this.#othersSection(m?.taskId ?? null)}
    `;
  }

  protected override updated(): void {
    // The film list exists from the first render; hand it to the image as its description once known.
    const view = this.renderRoot.querySelector('mm-mosaic-view');
    if (view && view.description !== this.#filmList.value) view.description = this.#filmList.value ?? null;
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
