/**
 * A slow phone (issue 18): Chromium at 360×740, 3× pixels, CPU slowed 4×, 1.6 Mbit/s down, 150 ms
 * round trip (through the DevTools protocol), against the real server and built client, with a
 * gallery of 12 mosaics: ten 30-film classic ones and two 1,000-film grids, drawn by the worker's own
 * compose code from poster-like tiles, with the renditions the worker stores beside them.
 *
 * Figures: first visit to `/` (bytes the server sent, the service worker's precache and all 12 cards
 * included; time until the form can be typed in), repeat visit (first contentful paint and form
 * ready, from the service worker), and the largest contentful paint of a 1,000-film mosaic's page on
 * a first visit. The reference, in the same run: the app as it was before renditions and compression
 * (the same results without renditions, so cards and the mosaic page get the full image; the server
 * sees no Accept-Encoding, so nothing is compressed).
 */
import { execFileSync } from 'node:child_process';
import type { Socket } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { MosaicParams } from '../common/task.js';
import { createResultStore, type NewResult } from '../db/sqlite/results.js';
import { composeMosaic, configureSharp } from '../worker/compose/compose.js';
import { plannedTileSize } from '../worker/compose/layout.js';
import { makeRenditions } from '../worker/compose/renditions.js';
import { CHROMIUM } from '../test/helpers/browser/trustingBrowser.js';
import { cleanup, liveServer, type LiveServer } from '../test/helpers/server.js';
import { films, makePoster } from './compose.js';
import { report } from './report.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PHONE = { viewport: { width: 360, height: 740 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true };
const GRAIN = 4;
const ROUNDS = 3;
const THROTTLE = { offline: false, latency: 150, downloadThroughput: 1.6e6 / 8, uploadThroughput: 750e3 / 8 };

interface GalleryItem {
  username: string;
  params: MosaicParams;
  result: NewResult;
}

/** The 12 mosaics, drawn once for both variants. */
export async function makeGallery(): Promise<GalleryItem[]> {
  configureSharp({ concurrency: 2 });
  const items: GalleryItem[] = [];
  // Less grain than the compose bench's posters: a 1,000-film grid then weighs what real ones do (~0.6–1 MB).
  const small = await Promise.all(Array.from({ length: 60 }, (_, i) => makePoster(i, 120, 180, GRAIN)));
  for (let i = 0; i < 10; i++) {
    const list = films(30);
    const out = await composeMosaic({
      username: `member${i}`,
      label: 'November 2026',
      films: list,
      tiles: list.map((_, j) => small[(i * 7 + j) % small.length]),
      layout: 'classic',
      format: 'jpeg',
      tileWidth: 120,
    });
    items.push({
      username: `member${i}`,
      params: { mode: 'month', month: '2026-11', layout: 'classic', format: 'jpeg' },
      result: { ...out, films: list, partial: false, note: null },
    });
  }
  for (const username of ['dave', 'erin']) {
    const list = films(1000);
    const size = plannedTileSize({ username, label: '2026', films: list, layout: 'grid', tileWidth: 120 });
    const distinct = await Promise.all(
      Array.from({ length: 150 }, (_, i) => makePoster(i + username.length * 1000, size.width, size.height, GRAIN)),
    );
    const out = await composeMosaic({
      username,
      label: '2026',
      films: list,
      tiles: list.map((_, i) => distinct[i % distinct.length]),
      layout: 'grid',
      format: 'jpeg',
      tileWidth: 120,
    });
    items.push({
      username,
      params: { mode: 'year', year: 2026, layout: 'grid', format: 'jpeg' },
      result: { ...out, films: list, partial: false, note: null },
    });
  }
  for (const item of items) item.result.renditions = await makeRenditions(item.result.image);
  return items;
}

/** Stores the gallery as finished tasks; `renditions: false` stores them as results made before renditions. */
export function storeGallery(live: LiveServer, items: GalleryItem[], renditions: boolean): string[] {
  const results = createResultStore(live.db);
  return items.map((item) => {
    const { task } = live.tasks.enqueue({ action: 'create_mosaic', username: item.username, params: item.params });
    const claimed = live.tasks.claim('bench', 1)[0];
    live.tasks.complete(claimed.id, claimed.leaseToken, () =>
      results.insert(task.id, { ...item.result, renditions: renditions ? item.result.renditions : undefined }, Date.now()),
    );
    return task.id;
  });
}

/** Bytes the server has written to every connection it ever had (headers and bodies, as on the wire). */
function byteCounter(live: LiveServer): () => number {
  const sockets = new Set<Socket>();
  live.server.http.on('connection', (s: Socket) => sockets.add(s));
  return () => [...sockets].reduce((n, s) => n + s.bytesWritten, 0);
}

/** Sets `window.mmFormReady` to the time of the first animation frame with the form's username field. */
const FORM_WATCH = `(() => {
  if (location.pathname !== '/') return; // the mosaic pages' figures need no watcher
  const tick = () => {
    const app = document.querySelector('mm-app')?.shadowRoot;
    const form = app?.querySelector('page-home')?.shadowRoot?.querySelector('mm-mosaic-form')?.shadowRoot;
    if (form?.querySelector('#username')) window.mmFormReady = performance.now();
    else requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();`;

export async function throttledPage(browser: Browser) {
  const context = await browser.newContext(PHONE);
  // Every document of the context watches for the form from its first frame (see formReady). A string:
  // tsx would add its `__name` helper, which the page lacks, to a function's named inner functions.
  await context.addInitScript({ content: FORM_WATCH });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', THROTTLE);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
  return { context, page };
}

/**
 * ms from navigation start until the form's username field is rendered: the first animation frame
 * that has it, recorded by the page itself from its first frame on. (Polling from here, as this once
 * did, cannot start before `goto` has seen the load event, and then adds the polling's own delay.)
 */
export async function formReady(page: Page): Promise<number> {
  const handle = await page.waitForFunction(() => (window as unknown as { mmFormReady?: number }).mmFormReady ?? null, undefined, {
    timeout: 60_000,
  });
  return (await handle.jsonValue()) as number;
}

interface Figures {
  firstBytes: number;
  firstReady: number;
  repeatFcp: number;
  repeatReady: number;
  repeatBytes: number;
  lcp: number;
  lcpElement: string;
  mosaicBytes: number;
  smallLcp: number;
}

/** A first visit straight to a mosaic's page: its largest contentful paint, what painted it, the bytes. */
export async function mosaicPage(
  browser: Browser,
  base: string,
  bytes: () => number,
  path: string,
): Promise<{ lcp: number; element: string; bytes: number }> {
  const fresh = await throttledPage(browser);
  try {
    const start = bytes();
    await fresh.page.goto(`${base}${path}`);
    await fresh.page.waitForFunction(
      () => {
        const view = document.querySelector('mm-app')?.shadowRoot?.querySelector('page-user')?.shadowRoot?.querySelector('mm-mosaic-view');
        const img = view?.shadowRoot?.querySelector('img');
        return !!img && img.complete && img.naturalWidth > 0;
      },
      undefined,
      { timeout: 120_000 },
    );
    const { lcp, element } = await fresh.page.evaluate(
      // Loaded is not yet painted: two frames later the image's paint (if it is the largest) is recorded.
      () =>
        new Promise<{ lcp: number; element: string }>((resolve) => {
          requestAnimationFrame(() =>
            requestAnimationFrame(() =>
              new PerformanceObserver((list) => {
                // An element inside a shadow root is not exposed; an image's URL is.
                const last = list.getEntries().at(-1) as PerformanceEntry & { element?: Element | null; url?: string };
                resolve({
                  lcp: last.startTime,
                  element: last.url
                    ? new URL(last.url).pathname.replace(/^\/api\/tasks\/[^/]+\//, '')
                    : (last.element?.tagName.toLowerCase() ?? 'text'),
                });
              }).observe({ type: 'largest-contentful-paint', buffered: true }),
            ),
          );
        }),
    );
    return { lcp, element, bytes: bytes() - start };
  } finally {
    await fresh.context.close();
  }
}

async function measure(browser: Browser, base: string, bytes: () => number, mosaicPaths: { big: string; small: string }): Promise<Figures> {
  const { context, page } = await throttledPage(browser);
  try {
    let start = bytes();
    await page.goto(`${base}/`);
    const firstReady = await formReady(page);
    // All twelve cards, as someone scrolling the gallery would load them, and the service worker installed.
    await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
    await page.waitForFunction(
      () => {
        const list = document
          .querySelector('mm-app')
          ?.shadowRoot?.querySelector('page-home')
          ?.shadowRoot?.querySelector('section[aria-labelledby="gallery"] mm-mosaic-list');
        const imgs = [...(list?.shadowRoot?.querySelectorAll('img') ?? [])];
        return imgs.length === 12 && imgs.every((i) => i.complete && i.naturalWidth > 0);
      },
      undefined,
      { timeout: 120_000 },
    );
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
      if (!navigator.serviceWorker.controller)
        await new Promise((r) => navigator.serviceWorker.addEventListener('controllerchange', r, { once: true }));
    });
    const firstBytes = bytes() - start;

    start = bytes();
    await page.goto(`${base}/`);
    const repeatReady = await formReady(page);
    const repeatFcp = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN);
    const repeatBytes = bytes() - start;
    await context.close();

    const big = await mosaicPage(browser, base, bytes, mosaicPaths.big);
    const small = await mosaicPage(browser, base, bytes, mosaicPaths.small);
    return {
      firstBytes,
      firstReady,
      repeatFcp,
      repeatReady,
      repeatBytes,
      lcp: big.lcp,
      lcpElement: big.element,
      mosaicBytes: big.bytes,
      smallLcp: small.lcp,
    };
  } finally {
    await context.close().catch(() => {});
  }
}

const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;
const ms = (n: number) => `${n.toFixed(0)} ms`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;

export async function benchPhone(): Promise<void> {
  execFileSync(process.execPath, ['build.mjs'], { cwd: ROOT, encoding: 'utf8' });
  const t0 = performance.now();
  const gallery = await makeGallery();
  const big = gallery.slice(-2).map((g) => g.result);
  console.log(
    `gallery drawn in ${ms(performance.now() - t0)}: 1,000-film grids ${big.map((r) => `${r.width}×${r.height} ${kb(r.image.length)}`).join(', ')}; ` +
      `their screen copies ${big.map((r) => kb(r.renditions!.find((x) => x.kind === 'screen')!.image.length)).join(', ')}, ` +
      `thumbnails ${kb(Math.max(...gallery.map((g) => g.result.renditions!.find((x) => x.kind === 'thumb')!.image.length)))} at most`,
  );

  const browser = await chromium.launch({ executablePath: CHROMIUM });
  const runs: Record<'before' | 'now', Figures[]> = { before: [], now: [] };
  try {
    // Alternating rounds, fresh server each: this machine's speed drifts between seconds.
    for (let round = 0; round < ROUNDS; round++) {
      for (const variant of ['before', 'now'] as const) {
        const live = await liveServer({ clientDir: join(ROOT, 'dist/client') });
        try {
          const ids = storeGallery(live, gallery, variant === 'now');
          // Before: no compression (the server never sees Accept-Encoding).
          if (variant === 'before') live.server.http.prependListener('request', (req) => delete req.headers['accept-encoding']);
          const bytes = byteCounter(live);
          runs[variant].push(
            await measure(browser, `http://localhost:${live.port}`, bytes, {
              big: `/user/dave/${ids[10]}`,
              small: `/user/member0/${ids[0]}`,
            }),
          );
        } finally {
          await live.close();
        }
      }
    }
  } finally {
    await browser.close();
    await cleanup();
  }
  const median = (list: Figures[]): Figures => {
    const mid = (k: keyof Figures) => [...list].sort((a, b) => (a[k] as number) - (b[k] as number))[Math.floor(list.length / 2)][k];
    return {
      firstBytes: mid('firstBytes') as number,
      firstReady: mid('firstReady') as number,
      repeatFcp: mid('repeatFcp') as number,
      repeatReady: mid('repeatReady') as number,
      repeatBytes: mid('repeatBytes') as number,
      lcp: mid('lcp') as number,
      lcpElement: list.map((f) => f.lcpElement).join(', '),
      mosaicBytes: mid('mosaicBytes') as number,
      smallLcp: mid('smallLcp') as number,
    };
  };
  const figures = { before: median(runs.before), now: median(runs.now) };
  console.log(
    `medians of ${ROUNDS} rounds; load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  console.log(`  now:    form ready ${runs.now.map((f) => ms(f.firstReady)).join(', ')}; LCP ${runs.now.map((f) => ms(f.lcp)).join(', ')}`);
  console.log(
    `  before: form ready ${runs.before.map((f) => ms(f.firstReady)).join(', ')}; LCP ${runs.before.map((f) => ms(f.lcp)).join(', ')}`,
  );
  const { before, now } = figures;
  report(
    'phone, first visit to / (all 12 cards, SW precache)',
    kb(now.firstBytes),
    `target ≤ 400 KB; before ${kb(before.firstBytes)}: ${ratio(now.firstBytes, before.firstBytes)}`,
  );
  report(
    'phone, first visit: form ready',
    ms(now.firstReady),
    `target ≤ 1.0 s; before ${ms(before.firstReady)}: ${ratio(now.firstReady, before.firstReady)}`,
  );
  report('phone, repeat visit: first contentful paint', ms(now.repeatFcp), `target ≤ 300 ms; before ${ms(before.repeatFcp)}`);
  report(
    'phone, repeat visit: form ready',
    ms(now.repeatReady),
    `before ${ms(before.repeatReady)}; ${kb(now.repeatBytes)} from the server`,
  );
  report(
    'phone, 1,000-film mosaic page, first visit: LCP',
    `${ms(now.lcp)} (${now.lcpElement})`,
    `target ≤ 1.5 s; before ${ms(before.lcp)} (${before.lcpElement}): ${ratio(now.lcp, before.lcp)}`,
  );
  report(
    'phone, 30-film mosaic page, first visit: LCP',
    ms(now.smallLcp),
    `target ≤ 1.5 s; before ${ms(before.smallLcp)}: ${ratio(now.smallLcp, before.smallLcp)}`,
  );
  report(
    'phone, 1,000-film mosaic page, bytes',
    kb(now.mosaicBytes),
    `before ${kb(before.mosaicBytes)}: ${ratio(now.mosaicBytes, before.mosaicBytes)}`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await benchPhone();
