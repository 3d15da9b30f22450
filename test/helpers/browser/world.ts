/**
 * The boot the plain-HTTP browser suites share: the whole app (app.ts) and a Chromium with an empty
 * trust store (trustingBrowser.ts) started side by side, the page helpers installed, and one close for
 * both. If either fails to start, the other is closed before the error is rethrown, so a failed boot
 * leaves no server, worker or browser behind.
 */
import { launchTrustingBrowser, type LaunchOptions, type TrustingBrowser } from './trustingBrowser.js';
import { startApp, type App, type AppOptions } from './app.js';
import { DESKTOP, installPageHelpers } from './page.js';

export interface BrowserWorld {
  app: App;
  b: TrustingBrowser;
  /** `http://localhost:<port>`: a secure context over plain HTTP. */
  base: string;
  close(): Promise<void>;
}

export interface BrowserWorldOptions {
  app?: AppOptions;
  /** Launch options besides the trust store (always empty here); the viewport defaults to DESKTOP. */
  browser?: Omit<LaunchOptions, 'caPem'>;
}

/** Locator waits in these suites run against a real build and a real worker: 20 s, not Playwright's 30. */
const DEFAULT_TIMEOUT_MS = 20_000;

export async function startBrowserWorld(opts: BrowserWorldOptions = {}): Promise<BrowserWorld> {
  // The build (in startApp) and Chromium's start are the slow parts: run them side by side.
  const [started, launched] = await Promise.allSettled([
    startApp(opts.app),
    launchTrustingBrowser({ viewport: DESKTOP, ...opts.browser, caPem: null }),
  ]);
  if (started.status === 'rejected' || launched.status === 'rejected') {
    if (launched.status === 'fulfilled') await launched.value.close();
    if (started.status === 'fulfilled') await started.value.stop();
    throw started.status === 'rejected' ? started.reason : (launched as PromiseRejectedResult).reason;
  }
  const app = started.value;
  const b = launched.value;
  const close = async () => {
    await b.close();
    await app.stop();
  };
  try {
    b.context.setDefaultTimeout(DEFAULT_TIMEOUT_MS);
    await installPageHelpers(b.context);
  } catch (err) {
    await close();
    throw err;
  }
  return { app, b, base: `http://localhost:${app.httpPort}`, close };
}
