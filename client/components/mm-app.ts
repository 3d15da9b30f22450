import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { Route } from '../../common/routes.js';
import { loadPage, pageDefined } from '../page-code.js';
import type { Location } from '../router.js';
import type { Services } from '../services.js';
import { base, controls } from '../styles/shared.js';
import '../pages/page-home.js';
import './mm-offline-indicator.js';
import './mm-insecure-banner.js';
import './mm-update-prompt.js';

/** What mm-app may ask of a page element. */
export interface RoutedPage {
  updateComplete: Promise<unknown>;
  /** Where focus goes after navigating to the page, when not its h1 (e.g. an error banner). */
  focusTarget(): Promise<HTMLElement | null> | HTMLElement | null;
  /** Resolves once the page has its content (loaded, or known to be missing). */
  settled(): Promise<unknown>;
}

/** The focused element, looking inside shadow roots. */
function deepActiveElement(): Element | null {
  let el = document.activeElement;
  while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
  return el;
}

/** The shell: header, banners, and the page for the current route. */
@customElement('mm-app')
export class MmApp extends LitElement {
  static override styles = [
    base,
    controls,
    css`
      :host {
        display: flex;
        flex-direction: column;
        min-height: 100vh;
        min-height: 100dvh;
      }
      .skip {
        position: absolute;
        left: 8px;
        top: -60px;
        z-index: 10;
        background: var(--mm-surface);
        padding: 0.5em 1em;
        border-radius: var(--mm-radius);
      }
      .skip:focus {
        top: 8px;
      }
      header {
        display: flex;
        align-items: center;
        justify-content: space-between;
        gap: 1em;
        padding: 0.6em max(16px, env(safe-area-inset-right)) 0.6em max(16px, env(safe-area-inset-left));
        border-bottom: 1px solid var(--mm-border);
        background: var(--mm-surface);
      }
      .brand {
        display: inline-flex;
        align-items: center;
        gap: 0.5em;
        color: var(--mm-text);
        text-decoration: none;
        font-weight: 800;
        font-size: 1.15rem;
        letter-spacing: -0.01em;
      }
      .brand img {
        width: 28px;
        height: 28px;
        border-radius: 6px;
      }
      main {
        flex: 1;
        width: 100%;
        max-width: var(--mm-max);
        margin: 0 auto;
        padding: 20px max(16px, env(safe-area-inset-left)) 40px;
      }
      main:focus {
        outline: none;
      }
      footer {
        text-align: center;
        font-size: 0.85rem;
        padding: 1em 16px calc(1em + env(safe-area-inset-bottom));
        color: var(--mm-muted);
      }
    `,
  ];

  @property({ attribute: false }) services?: Services;
  /** Set when a new version is installed and waiting; calling it reloads into that version. */
  @property({ attribute: false }) applyUpdate: (() => void) | null = null;
  @state() private location: Location | null = null;
  /** Whether the current route's page code is here ('ready'), on its way, or failed to arrive. */
  @state() private pageCode: 'ready' | 'loading' | 'failed' = 'ready';
  /** The route whose code `pageCode` describes, and the load that settles it (never rejects). */
  #codeFor: Route['name'] | null = null;
  #codeLoad: Promise<void> = Promise.resolve();
  #unsubscribe?: () => void;
  #navigated = false;
  /** Counts navigations, so a page that settles late never moves focus after the next one. */
  #navigations = 0;

  override connectedCallback(): void {
    super.connectedCallback();
    this.#listen();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('services')) this.#listen();
    // A new route's page code, or another go at code that failed to arrive.
    const name = this.location?.route.name;
    if (name && (name !== this.#codeFor || ((changed as PropertyValues).has('location') && this.pageCode === 'failed')))
      this.#loadPageCode(name);
  }

  /** Starts loading the code of route `name`'s page, unless it is already defined. */
  #loadPageCode(name: Route['name']): void {
    this.#codeFor = name;
    if (pageDefined(name)) {
      this.pageCode = 'ready';
      this.#codeLoad = Promise.resolve();
      return;
    }
    this.pageCode = 'loading';
    this.#codeLoad = loadPage(name).then(
      () => {
        if (this.#codeFor === name) this.pageCode = 'ready';
      },
      () => {
        if (this.#codeFor === name) this.pageCode = 'failed';
      },
    );
  }

  #retryPageCode(): void {
    if (!this.location) return;
    this.#loadPageCode(this.location.route.name);
    void this.#focusNewPage();
  }

  #listen(): void {
    if (!this.services || this.#unsubscribe) return;
    const router = this.services.router;
    this.location = router.current;
    this.#unsubscribe = router.subscribe((loc) => {
      this.#navigated = true;
      this.location = loc;
    });
  }

  // Lit calls updated() and drops what it returns, so the async focus work is started here on purpose.
  protected override updated(changed: PropertyValues): void {
    if (!changed.has('location') || !this.#navigated) return;
    void this.#focusNewPage();
  }

  async #focusNewPage(): Promise<void> {
    // After an in-app navigation, focus goes to the new page's heading (or its focusTarget) so screen
    // readers announce it and keyboard users start at the top of the new content (a full load starts
    // there anyway): at once, and again once the page has settled, in case its content arrived since
    // (a banner to focus, an element replaced) and focus was left nowhere. Pages keep one heading
    // element from loading to loaded, so the second move is usually nothing to do. A page whose code
    // is still on its way (client/page-code.ts) is a placeholder first, whose heading gets focus; once
    // the code has arrived the page replaces it, or an error does, and focus moves there.
    const navigation = ++this.#navigations;
    await this.updateComplete;
    let page = this.#routedPage();
    await page?.updateComplete;
    let target = await this.#focusPage(page);
    await this.#codeLoad;
    await this.updateComplete;
    if (navigation !== this.#navigations) return;
    if (this.#routedPage() !== page) {
      page = this.#routedPage();
      await page?.updateComplete;
      if (navigation !== this.#navigations) return;
      target = await this.#focusPage(page);
    }
    await page?.settled?.();
    await page?.updateComplete;
    if (navigation !== this.#navigations || !page?.isConnected) return;
    const active = deepActiveElement();
    const moved = active !== null && active !== document.body && active !== target && active !== this;
    if (!moved || !active.isConnected) await this.#focusPage(page);
  }

  #routedPage(): (HTMLElement & Partial<RoutedPage>) | null {
    return this.renderRoot.querySelector<HTMLElement & Partial<RoutedPage>>('main > *');
  }

  async #focusPage(page: (HTMLElement & Partial<RoutedPage>) | null): Promise<HTMLElement | null> {
    const target =
      (await page?.focusTarget?.()) ??
      (page?.shadowRoot ?? page)?.querySelector<HTMLElement>('h1') ??
      this.renderRoot.querySelector<HTMLElement>('main');
    target?.focus();
    return target;
  }

  override render() {
    const s = this.services;
    const loc = this.location;
    return html`
      <a class="skip" href="#main" @click=${this.#skip}>Skip to content</a>
      <header>
        <a class="brand" href="/"><img src="/icons/icon-192.png" alt="" width="28" height="28" />moviemosaic</a>
        <mm-offline-indicator></mm-offline-indicator>
      </header>
      <mm-insecure-banner></mm-insecure-banner>
      <mm-update-prompt .apply=${this.applyUpdate}></mm-update-prompt>
      <main id="main" tabindex="-1">${s && loc ? this.#page(s, loc) : nothing}</main>
      <footer>Posters and data from Letterboxd. Made on your own server.</footer>
    `;
  }

  #skip(e: Event): void {
    e.preventDefault();
    this.renderRoot.querySelector<HTMLElement>('main')?.focus();
  }

  #page(s: Services, loc: Location) {
    if (this.pageCode === 'loading') {
      return html`<section class="page-code" aria-busy="true"><h1 tabindex="-1">Loading…</h1></section>`;
    }
    if (this.pageCode === 'failed') return this.#pageCodeFailed();
    const r = loc.route;
    switch (r.name) {
      case 'home':
        return html`<page-home .services=${s} .failedTaskId=${r.taskId} .prefillUser=${r.username} .historyState=${loc.state}></page-home>`;
      case 'task':
        return html`<page-task .services=${s} .taskId=${r.id}></page-task>`;
      case 'user':
        return html`<page-user .services=${s} .username=${r.username} .taskId=${r.taskId}></page-user>`;
      case 'not-found':
        return html`<page-not-found></page-not-found>`;
    }
  }

  /** The page's code did not arrive: offline before the app was installed, or a build the server no longer has. */
  #pageCodeFailed() {
    const offline = !navigator.onLine;
    return html`<section class="page-code">
      <h1 tabindex="-1">${offline ? 'This page needs a connection' : 'This page could not be loaded'}</h1>
      <p>
        ${
          offline
            ? 'Its code is not on this device yet. Connect to the network, then try again.'
            : html`The server did not send its code. Try again; if moviemosaic was updated since this tab opened,
                <a href=${this.location?.url ?? '/'} data-native>reload the page</a> to get the new version.`
        }
      </p>
      <p><button class="primary" type="button" @click=${this.#retryPageCode}>Try again</button> <a href="/">Make a mosaic</a></p>
    </section>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mm-app': MmApp;
  }
}
