/**
 * PWA budget (issue 6): the initial JS size (from the build's own report) and how fast a repeat
 * visit's shell paints when the service worker serves it, against the first (network) visit.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { liveServer, cleanup } from '../test/helpers/server.js';
import { launchTrustingBrowser } from '../test/helpers/browser/trustingBrowser.js';
import { percentile, report } from './report.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** First contentful paint and the time until the app's first heading is in the DOM, in ms. */
async function paint(page: import('playwright-core').Page): Promise<{ fcp: number; shell: number }> {
  await page.waitForFunction(
    () => {
      const app = document.querySelector('mm-app');
      const root = app?.shadowRoot;
      return !!root && root.innerHTML.length > 0 && performance.getEntriesByName('first-contentful-paint').length > 0;
    },
    undefined,
    { timeout: 20_000 },
  );
  return page.evaluate(() => ({
    fcp: performance.getEntriesByName('first-contentful-paint')[0].startTime,
    shell: performance.now(),
  }));
}

export async function benchClient(): Promise<void> {
  const out = execFileSync(process.execPath, ['build.mjs'], { cwd: ROOT, encoding: 'utf8' });
  const line = out
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.startsWith('initial JS'));
  report('PWA initial JS (build report)', line?.replace(/^initial JS:\s*/, '') ?? 'see build output', 'budget ≤ 60 KB gzipped');

  const live = await liveServer({ clientDir: join(ROOT, 'dist/client') });
  const browser = await launchTrustingBrowser({ caPem: null, viewport: { width: 390, height: 844 } });
  try {
    const url = `http://localhost:${live.port}/`;
    await browser.page.goto(url);
    const first = await paint(browser.page);
    await browser.page.evaluate(async () => {
      await navigator.serviceWorker.ready;
      if (!navigator.serviceWorker.controller) {
        await new Promise((r) => navigator.serviceWorker.addEventListener('controllerchange', r, { once: true }));
      }
    });
    const fcps: number[] = [];
    for (let i = 0; i < 7; i++) {
      await browser.page.goto(url);
      const served = await browser.page.evaluate(() => !!navigator.serviceWorker.controller);
      if (!served) throw new Error('repeat visit was not served by the service worker');
      fcps.push((await paint(browser.page)).fcp);
    }
    report('PWA first visit (network), first contentful paint', `${first.fcp.toFixed(0)} ms`);
    report(
      'PWA repeat visit (service worker), first contentful paint',
      `p50 ${percentile(fcps, 50).toFixed(0)} ms, max ${Math.max(...fcps).toFixed(0)} ms`,
      `target ≤ 300 ms; ratio to first visit ${(percentile(fcps, 50) / first.fcp).toFixed(2)}×`,
    );
  } finally {
    await browser.close();
    await live.close();
    await cleanup();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await benchClient();
