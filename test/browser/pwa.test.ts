/**
 * The PWA in real Chromium against the real server (server/main.ts), socket and database, with a real
 * worker process whose `create_mosaic` action draws a small PNG (helpers/mosaicWorker.ts).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { ROOT, spawnTs, waitFor, type Child } from '../helpers/processes.js';
import { tmpDir } from '../helpers/tmp.js';
import { freePort, launch, type Browser } from './helpers/browser.js';

const ID = '[0-9a-f-]{36}';
let base = '';
let port = 0;
let server: Child;
let worker: Child;
let data: { dir: string; cleanup(): void };
let b: Browser;
/** The mosaic made in the first test, reused by the offline and layout tests. */
let mosaicUrl = '';

async function healthy(): Promise<boolean> {
  try {
    const r = await fetch(`${base}/healthz`);
    const body = (await r.json()) as { workers?: unknown[] };
    return r.ok && (body.workers?.length ?? 0) > 0;
  } catch {
    return false;
  }
}

test.before(async () => {
  const built = spawnSync(process.execPath, ['build.mjs', '--if-stale'], { cwd: ROOT, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`build failed:\n${built.stdout}${built.stderr}`);
  data = tmpDir('mm-browser-');
  port = await freePort();
  base = `http://localhost:${port}`;
  const env = { DATA_DIR: data.dir, PORT: String(port), HOST: '127.0.0.1', WORKERS: '0', ALLOWED_HOSTS: 'lan.test', RATE_LIMIT_PER_MIN: '1000' };
  server = spawnTs('server/main.ts', env);
  worker = spawnTs('test/browser/helpers/mosaicWorker.ts', env);
  let ok = false;
  const deadline = Date.now() + 30_000;
  while (!ok && Date.now() < deadline && server.proc.exitCode === null) {
    ok = await healthy();
    if (!ok) await new Promise((r) => setTimeout(r, 100));
  }
  if (!ok) throw new Error(`server or worker did not come up:\n${server.output()}\n${worker.output()}`);
  b = await launch({ hostMap: ['lan.test'] });
});

test.after(async () => {
  await b?.close();
  server?.kill();
  worker?.kill();
  await Promise.all([server?.exited, worker?.exited]);
  data?.cleanup();
});

/** Fills and sends the form with the keyboard-free API of the page (the keyboard test does it by keys). */
async function makeMosaic(page: Page, username: string, period?: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.locator('page-home mm-mosaic-form #username').fill(username);
  if (period) await page.locator('page-home mm-mosaic-form label', { hasText: period }).click();
  await page.locator('page-home mm-mosaic-form button[type=submit]').click();
}

test('the shell loads under the strict CSP, is installable, and its service worker takes control', async () => {
  const { page } = b;
  const res = await page.goto(`${base}/`);
  assert.match(res?.headers()['content-security-policy'] ?? '', /script-src 'self'; style-src 'self'/);
  await page.locator('page-home h1').waitFor();
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);

  const manifest = await page.evaluate(async () => (await fetch('/manifest.webmanifest')).json());
  assert.is(manifest.display, 'standalone');
  assert.is(manifest.start_url, '/');
  assert.is(manifest.id, '/');
  assert.ok(manifest.name && manifest.short_name && manifest.theme_color && manifest.background_color);
  const icons = manifest.icons as { src: string; sizes: string; purpose: string }[];
  for (const [sizes, purpose] of [['192x192', 'any'], ['512x512', 'any'], ['512x512', 'maskable']]) {
    const icon = icons.find((i) => i.sizes === sizes && i.purpose === purpose);
    assert.ok(icon, `${sizes} ${purpose}`);
    const png = Buffer.from(await (await fetch(base + icon.src)).arrayBuffer());
    assert.is(`${png.readUInt32BE(16)}x${png.readUInt32BE(20)}`, sizes, `${icon.src} really is ${sizes}`);
  }

  const cdp = await b.context.newCDPSession(page);
  const { installabilityErrors } = (await cdp.send('Page.getInstallabilityErrors')) as { installabilityErrors: { errorId: string }[] };
  assert.equal(installabilityErrors.map((e) => e.errorId), []);
  await cdp.detach();
  assert.equal(b.problems, [], 'no console errors or CSP violations');
});

test('a mosaic: form → progress → its page with the image, alt text, download name and films; survives a reload', async () => {
  const { page } = b;
  await page.goto(`${base}/`);
  await page.locator('page-home mm-mosaic-form #username').fill('Dave');
  await page.locator('page-home mm-mosaic-form label', { hasText: 'The last films watched' }).click();
  await page.locator('page-home mm-mosaic-form #count').fill('3');
  await page.locator('page-home mm-mosaic-form #username').press('Enter');
  await page.waitForURL(new RegExp(`/task/${ID}$`));
  await page.waitForURL(new RegExp(`/user/dave/${ID}$`));
  mosaicUrl = page.url();
  const taskId = mosaicUrl.split('/').pop()!;

  const check = async () => {
    await page.locator('page-user h1', { hasText: 'dave · last 3 films' }).waitFor();
    const img = page.locator('page-user mm-mosaic-view img');
    await page.waitForFunction(() => {
      const el = document.querySelector('mm-app')?.shadowRoot?.querySelector('page-user')?.shadowRoot?.querySelector('mm-mosaic-view')?.shadowRoot?.querySelector('img');
      return el?.complete && el.naturalWidth > 0;
    });
    assert.is(await img.getAttribute('alt'), 'Poster mosaic of 3 films dave watched, last 3 films: Alien (1979); Amélie & <Friends> "2" (2001); Tár (2022).');
    const download = page.locator('page-user a[download]');
    assert.is(await download.getAttribute('download'), 'dave-last-3-films.png');
    assert.is(await download.getAttribute('href'), `/api/tasks/${taskId}/result`);
    const films = (await page.locator('page-user mm-film-list ol').textContent())?.replace(/\s+/g, ' ') ?? '';
    assert.match(films, '★★★★½');
    assert.match(films, 'Amélie & <Friends> "2" (2001)');
    assert.is(await page.locator('page-user a', { hasText: 'Make another' }).getAttribute('href'), '/?user=dave');
  };
  await check();
  await page.reload();
  await check();
  assert.equal(b.problems, []);
});

test('the progress page: stage, counts, elapsed time in a live region; survives a reload; cancel goes home saying so', async () => {
  const { page } = b;
  await makeMosaic(page, 'slowpoke');
  await page.waitForURL(new RegExp(`/task/${ID}$`));
  const taskUrl = page.url();
  const progress = page.locator('page-task mm-task-progress progress[max="60"]');
  await progress.waitFor();
  const live = page.locator('page-task mm-task-progress [aria-live="polite"]');
  assert.match((await live.textContent()) ?? '', 'Fetching posters');
  assert.match((await page.locator('page-task mm-task-progress .row').textContent()) ?? '', /\d+ of 60[\s\S]*\d:\d\d/);
  const before = Number(await progress.evaluate((p: HTMLProgressElement) => p.value));

  await page.reload();
  assert.is(page.url(), taskUrl);
  await page.waitForFunction(
    (min) => {
      const p = document.querySelector('mm-app')?.shadowRoot?.querySelector('page-task')?.shadowRoot?.querySelector('mm-task-progress')?.shadowRoot?.querySelector('progress');
      return p !== null && p !== undefined && p.value > min;
    },
    before,
  );

  await page.locator('page-task button', { hasText: 'Cancel' }).click();
  await page.waitForURL(new RegExp(`/\\?task=${ID}$`));
  const banner = page.locator('page-home mm-error-banner section');
  assert.match((await banner.textContent()) ?? '', 'You cancelled the mosaic slowpoke · November');
  await page.reload();
  await banner.waitFor();
  assert.match((await banner.textContent()) ?? '', 'You cancelled');
  assert.equal(b.problems, []);
});

test('a failed task comes back to / with its message and what to do, focused, and after a reload too', async () => {
  const { page } = b;
  await makeMosaic(page, 'nobody');
  await page.waitForURL(new RegExp(`/\\?task=${ID}$`));
  const banner = page.locator('page-home mm-error-banner section[role="alert"]');
  await banner.waitFor();
  const text = (await banner.textContent())?.replace(/\s+/g, ' ') ?? '';
  assert.match(text, 'No such Letterboxd member');
  assert.match(text, 'Letterboxd has no member called "nobody"');
  assert.match(text, 'letterboxd.com/name');
  await page.waitForFunction(() => {
    const banner = document.querySelector('mm-app')?.shadowRoot?.querySelector('page-home')?.shadowRoot?.querySelector('mm-error-banner');
    return banner?.shadowRoot?.activeElement?.id === 'error-title';
  });
  await page.reload();
  await banner.waitFor();
  assert.is(await page.locator('page-home mm-mosaic-form #username').inputValue(), 'nobody', 'the form keeps the request');
  await page.locator('page-home mm-error-banner button', { hasText: 'Dismiss' }).click();
  assert.is(new URL(page.url()).search, '');
  assert.is(await page.locator('page-home mm-error-banner section').count(), 0);
});

test('offline: a mosaic this device has seen still opens, from IndexedDB and the image cache', async () => {
  const { page, context } = b;
  assert.ok(mosaicUrl, 'needs the mosaic of the earlier test');
  await context.setOffline(true);
  try {
    await page.goto(mosaicUrl);
    await page.locator('page-user h1', { hasText: 'dave · last 3 films' }).waitFor();
    await page.waitForFunction(() => {
      const el = document.querySelector('mm-app')?.shadowRoot?.querySelector('page-user')?.shadowRoot?.querySelector('mm-mosaic-view')?.shadowRoot?.querySelector('img');
      return el?.complete && el.naturalWidth > 0;
    });
    await page.locator('mm-offline-indicator span', { hasText: 'Offline' }).waitFor();
    await page.goto(`${base}/`);
    await page.locator(`page-home mm-mosaic-list a[href="${new URL(mosaicUrl).pathname}"]`).first().waitFor();
    await page.locator('page-home p', { hasText: 'The gallery needs a connection to the server.' }).waitFor();
  } finally {
    await context.setOffline(false);
    // Offline fetches (the gallery, the socket) log network errors by design.
    b.problems.length = 0;
  }
});

test('keyboard only: fill in and send the form without a mouse', async () => {
  const { page } = b;
  await page.goto(`${base}/`);
  await page.locator('page-home h1').waitFor();
  const focused = () =>
    page.evaluate(() => {
      let a: Element | null = document.activeElement;
      while (a?.shadowRoot?.activeElement) a = a.shadowRoot.activeElement;
      return a ? `${a.tagName.toLowerCase()}${a.id ? '#' + a.id : ''}${a instanceof HTMLInputElement ? `[${a.type}=${a.value}]` : ''}` : '';
    });
  let presses = 0;
  while (!(await focused()).startsWith('input#username') && presses++ < 10) await page.keyboard.press('Tab');
  assert.match(await focused(), /^input#username/);
  assert.ok(presses <= 3, `the username is among the first stops (${presses} tabs)`);
  // The form remembers the last name used on this device; replace it.
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.type('dave');
  await page.keyboard.press('Tab');
  assert.is(await focused(), 'input[radio=this-month]');
  for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowDown');
  assert.is(await focused(), 'input[radio=all]');
  await page.keyboard.press('Tab');
  await page.keyboard.press('ArrowDown');
  assert.is(await focused(), 'input[radio=grid]');
  await page.keyboard.press('Tab');
  assert.is(await focused(), 'button');
  await page.keyboard.press('Enter');
  await page.waitForURL(new RegExp(`/user/dave/${ID}$`));
  await page.locator('page-user h1', { hasText: 'dave · all films' }).waitFor();
  assert.is(await page.locator('page-user a[download]').getAttribute('download'), 'dave-all-films-grid.png');
});

test('from 360 px phones to desktops, light and dark: no page scrolls sideways', async () => {
  const { page } = b;
  await page.setViewportSize({ width: 360, height: 740 });
  try {
    for (const url of [`${base}/`, mosaicUrl, `${base}/user/dave`, `${base}/nope`]) {
      await page.goto(url);
      await page.locator('main h1, main > * >> h1').first().waitFor();
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 360, `${url}: ${width} px wide`);
    }
    const bg = () => page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    await page.emulateMedia({ colorScheme: 'light' });
    const light = await bg();
    await page.emulateMedia({ colorScheme: 'dark' });
    const dark = await bg();
    assert.is.not(light, dark);
  } finally {
    await page.emulateMedia({ colorScheme: null });
    await page.setViewportSize({ width: 1100, height: 800 });
  }
});

test('a new version: the waiting service worker shows a prompt, and Reload switches to it', async () => {
  const { page } = b;
  await page.goto(`${base}/`);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  const swPath = join(ROOT, 'dist/client/sw.js');
  const original = readFileSync(swPath, 'utf8');
  try {
    // Any byte change makes the browser install the worker as an update (what a rebuild does).
    writeFileSync(swPath, `${original}\n// update ${Date.now()}\n`);
    await page.evaluate(async () => {
      await (await navigator.serviceWorker.getRegistration())?.update();
    });
    const prompt = page.locator('mm-update-prompt .box');
    await prompt.waitFor();
    assert.match((await prompt.textContent()) ?? '', 'A new version of moviemosaic is ready.');
    const reloaded = page.waitForEvent('load');
    await prompt.locator('button', { hasText: 'Reload' }).click();
    await reloaded;
    await page.locator('page-home h1').waitFor();
    const state = await page.evaluate(async () => {
      const reg = await navigator.serviceWorker.getRegistration();
      return { waiting: reg?.waiting ?? null, controlled: navigator.serviceWorker.controller !== null };
    });
    assert.equal(state, { waiting: null, controlled: true });
    assert.is(await page.locator('mm-update-prompt .box').count(), 0);
  } finally {
    writeFileSync(swPath, original);
  }
});

test('plain HTTP on a LAN name: a banner says why install and offline are off and links to /setup', async () => {
  const page = await b.context.newPage();
  try {
    await page.goto(`http://lan.test:${port}/`);
    await page.locator('page-home h1').waitFor();
    assert.is(await page.evaluate(() => window.isSecureContext), false);
    const banner = page.locator('mm-insecure-banner aside');
    assert.match((await banner.textContent()) ?? '', 'install');
    assert.is(await banner.locator('a').getAttribute('href'), '/setup');
    assert.is(await page.evaluate(() => 'serviceWorker' in navigator), false);
    // Everything else works: the form still makes a mosaic over REST and the socket.
    await page.locator('page-home mm-mosaic-form #username').fill('dave');
    await page.locator('page-home mm-mosaic-form button[type=submit]').click();
    await page.waitForURL(new RegExp(`/user/dave/${ID}$`));
  } finally {
    await page.close();
  }
  // Chromium notes that the server's COOP header does not apply to an untrustworthy origin: expected here.
  assert.equal(b.problems.filter((p) => !p.includes('Cross-Origin-Opener-Policy header has been ignored')), []);
});

test.run();
