/**
 * The PWA in real Chromium against the whole app (test/helpers/browser/app.ts): the real server and worker
 * processes making real mosaics from the fake Letterboxd, on http://localhost (a secure context) and
 * on a LAN-style name over plain HTTP (not one). One persistent browser profile for the file: later
 * tests use what earlier ones left (mosaics seen, the service worker). Screenshots of each page at
 * phone and desktop widths go to test-output/screenshots/.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { currentMonth, periodLabel, type MosaicParams } from '../../common/task.js';
import { expectedFilms } from '../helpers/fakeLetterboxd.js';
import type { TrustingBrowser } from '../helpers/browser/trustingBrowser.js';
import type { App } from '../helpers/browser/app.js';
import { startBrowserWorld, type BrowserWorld } from '../helpers/browser/world.js';
import { axeInBothSchemes } from '../helpers/browser/axe.js';
import {
  DESKTOP,
  DEVICE_THUMBS,
  PHONE,
  ID,
  MOSAIC_IMG,
  screenshots,
  taskFrames,
  waitForImages,
  waitForProgress,
  watchSockets,
  type SocketLog,
} from '../helpers/browser/page.js';

/** A LAN-style name (mapped to 127.0.0.1 in the browser): plain HTTP there is not a secure context. */
const LAN = 'moviemosaic-test.lan';

let world: BrowserWorld | undefined;
let app: App;
let base = '';
let b: TrustingBrowser;
let sockets: SocketLog;
/** Mosaic pages made by earlier tests, reused by the offline and layout tests. */
const made: { marathon?: string; dave?: string } = {};

test.before(async () => {
  // marathon's posters come through the gate: the progress tests decide how far downloads get.
  world = await startBrowserWorld({ app: { allowedHosts: [LAN], gated: ['marathon'] }, browser: { hostMap: [LAN] } });
  ({ app, b, base } = world);
  sockets = watchSockets(b.page);
});

test.after(() => world?.close());

const form = (page: Page) => page.locator('page-home mm-mosaic-form');

/** Opens `/` and fills the form for `username` (period as its label, e.g. "A chosen month"). */
async function fillForm(page: Page, username: string, period?: string): Promise<void> {
  await page.goto(`${base}/`);
  await form(page).locator('#username').fill(username);
  if (period) await form(page).locator('label', { hasText: period }).click();
}

function monthBefore(now = new Date()): string {
  return currentMonth(new Date(now.getFullYear(), now.getMonth() - 1, 1));
}

/** The focused element, through shadow roots: tag, the page element it is in, and its text. */
function focusedElement(page: Page): Promise<{ tag: string; page: string | null; text: string }> {
  return page.evaluate(() => {
    let a: Element | null = document.activeElement;
    let host: string | null = null;
    while (a?.shadowRoot?.activeElement) {
      if (/^PAGE-/.test(a.tagName)) host = a.tagName.toLowerCase();
      a = a.shadowRoot.activeElement;
    }
    return { tag: a?.tagName.toLowerCase() ?? '', page: host, text: a?.textContent?.trim() ?? '' };
  });
}

/** After an in-app navigation to a mosaic: once its image is in, focus is on the page's one heading. */
async function assertFocusOnMosaicHeading(page: Page, title: string, path: string): Promise<void> {
  await page.locator('page-user h1', { hasText: title }).waitFor();
  await waitForImages(page, MOSAIC_IMG);
  // The page has settled (mosaic, list and image in): the heading kept focus through the re-render.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  assert.equal(await focusedElement(page), { tag: 'h1', page: 'page-user', text: title }, `focus after ${path}`);
  assert.is(await page.locator('page-user h1').count(), 1, 'one heading');
}

/**
 * Records what the progress page's live region says, each time it changes, into
 * `window.mmAnnounced` (its first text included), until the page goes.
 */
async function recordAnnouncements(page: Page): Promise<void> {
  await page.locator('page-task mm-task-progress [role="status"]').waitFor({ state: 'attached' });
  await page.evaluate(() => {
    const region = window.mmQueryAll?.(['mm-app', 'page-task', 'mm-task-progress', '[role="status"]'])[0] as HTMLElement;
    const log: string[] = [region.textContent?.trim() ?? ''];
    (window as unknown as { mmAnnounced: string[] }).mmAnnounced = log;
    new MutationObserver(() => log.push(region.textContent?.trim() ?? '')).observe(region, {
      childList: true,
      characterData: true,
      subtree: true,
    });
  });
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
  for (const [sizes, purpose] of [
    ['192x192', 'any'],
    ['512x512', 'any'],
    ['512x512', 'maskable'],
  ]) {
    const icon = icons.find((i) => i.sizes === sizes && i.purpose === purpose);
    assert.ok(icon, `${sizes} ${purpose}`);
    const png = Buffer.from(await (await fetch(base + icon.src)).arrayBuffer());
    assert.is(`${png.readUInt32BE(16)}x${png.readUInt32BE(20)}`, sizes, `${icon.src} really is ${sizes}`);
  }

  // A persistent profile on http://localhost: nothing stands in the way of installing.
  const cdp = await b.context.newCDPSession(page);
  const { installabilityErrors } = (await cdp.send('Page.getInstallabilityErrors')) as { installabilityErrors: { errorId: string }[] };
  assert.equal(
    installabilityErrors.map((e) => e.errorId),
    [],
  );
  await cdp.detach();
  assert.equal(b.problems, [], 'no console errors or CSP violations');
});

test('a mosaic through the form: socket frames move the progress bar, without a reload, until the mosaic shows', async () => {
  const { page } = b;
  const month = currentMonth(new Date());
  const total = expectedFilms(app.lb.members.get('marathon')!, { mode: 'month', month } as MosaicParams).length;
  assert.ok(total >= 30, `marathon watched ${total} films this month`);

  await fillForm(page, 'marathon');
  // A reload would lose this; a single-page navigation keeps it.
  await page.evaluate(() => (window.mmSameDocument = true));
  app.gate.hold();
  try {
    await form(page).locator('button[type=submit]').click();
    await page.waitForURL(new RegExp(`/task/${ID}$`));
    const taskId = page.url().split('/').pop()!;
    await recordAnnouncements(page);
    await app.gate.held(1);
    assert.is(await waitForProgress(page, total, 0), 0, 'downloading: 0 so far');
    app.gate.release(10);
    const first = await waitForProgress(page, total, 10);
    app.gate.release(10);
    const second = await waitForProgress(page, total, 20);
    assert.ok(first < second && second < total, `the bar moved: ${first} → ${second} of ${total}`);
    assert.match((await page.locator('page-task mm-task-progress .row').textContent()) ?? '', `${second} of ${total}`);
    app.gate.release();

    await page.waitForURL(new RegExp(`/user/marathon/${taskId}$`));
    made.marathon = page.url();
    // Path 1 of 3: a task completes and the page moves on to the mosaic.
    await assertFocusOnMosaicHeading(page, `marathon · ${periodLabel({ mode: 'month', month } as MosaicParams)}`, 'a task completed');
    assert.is(await page.evaluate(() => window.mmSameDocument), true, 'no page load from submit to mosaic');

    // The live region spoke each stage once, in order, and never a count.
    const said = await page.evaluate(() => (window as unknown as { mmAnnounced: string[] }).mmAnnounced);
    const order = [
      'Waiting in line',
      'Reading the diary',
      'Fetching posters',
      'Drawing the mosaic',
      'Saving',
      'Done: the mosaic is ready.',
    ];
    assert.ok(
      said.every((x) => order.includes(x)),
      `only stages and the ending: ${JSON.stringify(said)}`,
    );
    const positions = said.map((x) => order.indexOf(x));
    assert.equal(
      positions,
      [...new Set(positions)].sort((x, y) => x - y),
      `each once, in order: ${JSON.stringify(said)}`,
    );
    assert.ok(said.includes('Fetching posters') && said.includes('Drawing the mosaic'), JSON.stringify(said));

    // What the socket delivered: this task's changes in seq order, moving forward, ending COMPLETE.
    const frames = taskFrames(sockets, taskId);
    assert.ok(frames.length >= 4, `${frames.length} task frames`);
    assert.ok(
      frames.every((f) => f.url === `ws://localhost:${app.httpPort}/ws`),
      'over the page’s own socket',
    );
    const seqs = frames.map((f) => f.seq);
    assert.equal(
      seqs,
      [...seqs].sort((x, y) => x - y),
      'in seq order',
    );
    const done = frames.filter((f) => f.task.stage === 'downloading').map((f) => f.task.progress?.done ?? -1);
    assert.equal(
      done,
      [...done].sort((x, y) => x - y),
      'progress never goes back',
    );
    assert.ok(done.includes(first) && done.includes(second), `frames carried ${first} and ${second}: ${done.join(', ')}`);
    assert.is(frames[frames.length - 1].task.status, 'COMPLETE');
  } finally {
    app.gate.release();
  }
  const { phoneScrollWidth } = await screenshots(page, 'mosaic');
  assert.ok(phoneScrollWidth <= 360, `mosaic page is ${phoneScrollWidth} px wide at 360`);
  assert.equal(b.problems, []);
});

test('the mosaic page: image, alt text, download name, escaped film list, make another; survives a reload', async () => {
  const { page } = b;
  const params = { mode: 'recent', count: 5 } as MosaicParams;
  const films = expectedFilms(app.lb.members.get('dave')!, params);
  await fillForm(page, 'Dave', 'The last films watched');
  await form(page).locator('#count').fill('5');
  await form(page).locator('#username').press('Enter');
  await page.waitForURL(new RegExp(`/user/dave/${ID}$`));
  made.dave = page.url();
  const taskId = made.dave.split('/').pop()!;

  const check = async () => {
    await page.locator('page-user h1', { hasText: 'dave · last 5 films' }).waitFor();
    await waitForImages(page, MOSAIC_IMG);
    const alt = 'Poster mosaic of the last 5 films dave watched; the list follows';
    const img = page.locator('page-user mm-mosaic-view img');
    assert.is(await img.getAttribute('alt'), alt);
    assert.is(await img.getAttribute('fetchpriority'), 'high');
    assert.is(await img.getAttribute('src'), `/api/tasks/${taskId}/result/screen`, 'the screen copy');
    // The film list is the image's accessible description, as Chromium's accessibility tree has it.
    const cdp = await b.context.newCDPSession(page);
    const { result } = (await cdp.send('Runtime.evaluate', { expression: 'document' })) as { result: { objectId: string } };
    const { nodes } = (await cdp.send('Accessibility.queryAXTree', { objectId: result.objectId, accessibleName: alt })) as {
      nodes: { role?: { value: string }; description?: { value: string } }[];
    };
    await cdp.detach();
    const described = nodes.find((n) => n.role?.value === 'image')?.description?.value ?? '';
    for (const f of films) assert.ok(described.includes(f.title), `the description names ${f.title}: ${described.slice(0, 200)}`);
    const download = page.locator('page-user a[download]');
    assert.is(await download.getAttribute('download'), 'dave-last-5-films.jpg');
    assert.is(await download.getAttribute('href'), `/api/tasks/${taskId}/result`);
    const list = (await page.locator('page-user mm-film-list ol').textContent())?.replace(/\s+/g, ' ') ?? '';
    for (const f of films) assert.ok(list.includes(f.title), `the list names ${f.title}`);
    assert.ok(
      films.some((f) => /[&<"]/.test(f.title)),
      'titles that need escaping are among them',
    );
    assert.match(list, '★');
    assert.is(await page.locator('page-user a', { hasText: 'Make another' }).getAttribute('href'), '/?user=dave');
  };
  const fullImages: string[] = [];
  const onRequest = (r: { url(): string }) => {
    if (new URL(r.url()).pathname === `/api/tasks/${taskId}/result`) fullImages.push(r.url());
  };
  page.on('request', onRequest);
  try {
    await check();
    await page.reload();
    await check();
    assert.equal(fullImages, [], 'the full image only on zoom, download or share');
    await page.locator('page-user mm-mosaic-view button', { hasText: 'Zoom to full size' }).click();
    await waitForImages(page, MOSAIC_IMG);
    assert.is(await page.locator('page-user mm-mosaic-view img').getAttribute('src'), `/api/tasks/${taskId}/result`);
    assert.is(fullImages.length, 1, 'zoom loads the full image');
  } finally {
    page.off('request', onRequest);
  }

  // Path 2 of 3: the same request again returns the finished mosaic at once.
  await fillForm(page, 'Dave', 'The last films watched');
  await form(page).locator('#count').fill('5');
  await page.evaluate(() => (window.mmSameDocument = true));
  await form(page).locator('button[type=submit]').click();
  await page.waitForURL(made.dave);
  await assertFocusOnMosaicHeading(page, 'dave · last 5 films', 'a submit returning an existing mosaic');
  assert.is(await page.evaluate(() => window.mmSameDocument), true);
  assert.equal(b.problems, []);
});

test('the member page: the history this server keeps of the diary, and stopping deletes it', async () => {
  const { page } = b;
  assert.ok(made.dave, 'needs the mosaic of the previous test');
  await page.goto(made.dave);
  // The mosaic completed, so the server follows dave; his feed (36 items) holds his whole diary.
  const history = page.locator('page-user mm-member-history');
  await history.locator('text=History kept on this server: dave’s whole diary.').waitFor();
  assert.match((await history.locator('section').textContent()) ?? '', /reads their RSS feed every few hours/);
  await screenshots(page, 'member-history');
  await history.locator('button', { hasText: 'Stop following and delete this history' }).click();
  await history.locator('section').waitFor({ state: 'detached' });
  const member = await page.evaluate(async () => (await fetch('/api/users/dave')).json());
  assert.equal([member.member.followed, member.member.entries], [false, 0]);
  assert.equal(b.problems, []);
});

test('gallery cards: thumbnails, not mosaics; Enter on a card lands on the mosaic’s heading', async () => {
  const { page } = b;
  assert.ok(made.marathon && made.dave, 'needs the mosaics of the earlier tests');
  await page.goto(`${base}/`);
  const gallery = page.locator('page-home section[aria-labelledby="gallery"] mm-mosaic-list');
  await gallery.scrollIntoViewIfNeeded();
  const thumbs = ['mm-app', 'page-home', 'section[aria-labelledby="gallery"] mm-mosaic-list', 'img'];
  const count = await gallery.locator('img').count();
  assert.ok(count >= 2, `${count} cards`);
  await waitForImages(page, thumbs, count);
  const loaded = await page.evaluate(
    (path) =>
      (window.mmQueryAll?.(path) as HTMLImageElement[]).map((i) => ({
        src: i.getAttribute('src'),
        w: i.naturalWidth,
        h: i.naturalHeight,
        lazy: i.loading,
      })),
    thumbs,
  );
  for (const t of loaded) {
    assert.match(t.src ?? '', new RegExp(`^/api/tasks/${ID}/result/thumb(\\?via=list)?$`));
    assert.equal([t.w, t.h, t.lazy], [320, 240, 'lazy'], JSON.stringify(t));
  }
  // Path 3 of 3: Enter on a gallery card.
  const card = gallery.locator(`a[href="${new URL(made.dave).pathname}"]`);
  await card.focus();
  await page.evaluate(() => (window.mmSameDocument = true));
  await page.keyboard.press('Enter');
  await page.waitForURL(made.dave);
  await assertFocusOnMosaicHeading(page, 'dave · last 5 films', 'Enter on a gallery card');
  assert.is(await page.evaluate(() => window.mmSameDocument), true);
  assert.equal(b.problems, []);
});

test('axe-core: no WCAG 2.1 A/AA violation on any page state, phone and desktop, light and dark', async () => {
  const { page } = b;
  assert.ok(made.dave, 'needs the mosaics of the earlier tests');
  const states: [string, string, string][] = [
    ['home with gallery', `${base}/`, 'page-home h1'],
    ['mosaic page', made.dave, 'page-user mm-mosaic-view img'],
    ['member without mosaics', `${base}/user/nobody`, 'page-user h1'],
    ['page not found (app)', `${base}/no/such/page`, 'page-not-found h1'],
    ['page not found (server)', `${base}/no-such-file.txt`, 'main h1'],
  ];
  const violations: string[] = [];
  try {
    for (const viewport of [PHONE, DESKTOP]) {
      await page.setViewportSize(viewport);
      for (const [name, url, ready] of states) {
        await page.goto(url);
        await page.locator(ready).first().waitFor();
        if (name === 'mosaic page') await waitForImages(page, MOSAIC_IMG);
        if (name === 'member without mosaics') await page.locator('page-user h1', { hasText: 'No mosaics of nobody yet' }).waitFor();
        violations.push(...(await axeInBothSchemes(page, `${name} at ${viewport.width} px`)));
      }
    }
  } finally {
    await page.setViewportSize(DESKTOP);
  }
  assert.equal(violations, []);
  // The server's 404 is a page of its own: language, title, the way home.
  const res = await page.goto(`${base}/no-such-file.txt`);
  assert.is(res?.status(), 404);
  assert.is(await page.locator('html').getAttribute('lang'), 'en');
  assert.is(await page.title(), 'Page not found · moviemosaic');
  assert.is(await page.locator('a', { hasText: 'Make a mosaic' }).getAttribute('href'), '/');
  b.problems.length = 0; // the 404 itself is logged as a failed load
});

test('the progress page: stage, counts and time; survives a reload and keeps moving; cancel goes home saying so', async () => {
  const { page } = b;
  const month = monthBefore();
  const total = expectedFilms(app.lb.members.get('marathon')!, { mode: 'month', month } as MosaicParams).length;
  const label = periodLabel({ mode: 'month', month } as MosaicParams);
  app.gate.hold();
  try {
    await fillForm(page, 'marathon', 'A chosen month');
    await form(page).locator('#month').fill(month);
    await form(page).locator('button[type=submit]').click();
    await page.waitForURL(new RegExp(`/task/${ID}$`));
    const taskUrl = page.url();
    await app.gate.held(1);
    app.gate.release(5);
    await waitForProgress(page, total, 5);
    const live = page.locator('page-task mm-task-progress [role="status"]');
    assert.is((await live.textContent())?.trim(), 'Fetching posters', 'the stage, never the counts');
    assert.equal(await axeInBothSchemes(page, 'progress page'), []);
    assert.match(
      (await page.locator('page-task mm-task-progress .row').textContent()) ?? '',
      new RegExp(`5 of ${total}[\\s\\S]*\\d:\\d\\d`),
    );
    assert.match((await page.locator('page-task h1').textContent()) ?? '', `Making marathon · ${label}`);
    const { phoneScrollWidth } = await screenshots(page, 'task-progress');
    assert.ok(phoneScrollWidth <= 360, `progress page is ${phoneScrollWidth} px wide at 360`);

    await page.reload();
    assert.is(page.url(), taskUrl);
    await waitForProgress(page, total, 5);
    // Only the socket can bring what happens after the reloaded page's first REST read.
    app.gate.release(5);
    await waitForProgress(page, total, 10);

    await page.locator('page-task button', { hasText: 'Cancel' }).click();
    await page.waitForURL(new RegExp(`/\\?task=${ID}$`));
    const banner = page.locator('page-home mm-error-banner section');
    assert.match((await banner.textContent()) ?? '', `You cancelled the mosaic marathon · ${label}`);
    await page.reload();
    await banner.waitFor();
    assert.match((await banner.textContent()) ?? '', 'You cancelled');
  } finally {
    app.gate.release();
  }
  assert.equal(b.problems, []);
});

test('a submit whose answer was lost, sent again, is one request: Cancel stops the mosaic', async () => {
  const { page } = b;
  app.gate.hold();
  try {
    await fillForm(page, 'marathon', 'A chosen month');
    await form(page).locator('#month').fill(monthBefore());
    // The first POST reaches the server and queues the mosaic, but its answer is lost on the way back.
    let lost: string | undefined;
    await page.route('**/api/mosaics', async (route) => {
      lost = (await (await route.fetch()).json()).task.id;
      await route.abort('failed');
    });
    await form(page).locator('button[type=submit]').click();
    await form(page).getByText('The server could not be reached').waitFor();
    await page.unroute('**/api/mosaics');
    assert.ok(lost, 'the first attempt queued a task');

    // The person tries again: the retry joins that task as the same request, not a second one.
    await form(page).locator('button[type=submit]').click();
    await page.waitForURL(new RegExp(`/task/${lost}$`));
    await app.gate.held(1);
    await page.locator('page-task button', { hasText: 'Cancel' }).click();
    await page.waitForURL(new RegExp(`/\\?task=${lost}$`));
    assert.match((await page.locator('page-home mm-error-banner section').textContent()) ?? '', 'You cancelled the mosaic marathon');
    const res = await page.request.get(`${base}/api/tasks/${lost}`);
    assert.is((await res.json()).task.status, 'CANCELLED', 'nobody else holds a share that keeps it going');
  } finally {
    app.gate.release();
  }
  // The aborted POST is logged as a failed load, and nothing else is.
  assert.equal(
    b.problems.filter((p) => !/Failed to load resource: net::ERR_FAILED/.test(p)),
    [],
  );
  b.problems.length = 0;
});

test('an unknown member: back on / with the message and what to do, focused, and after a reload too', async () => {
  const { page } = b;
  await fillForm(page, 'nosuchmember');
  await form(page).locator('button[type=submit]').click();
  await page.waitForURL(new RegExp(`/\\?task=${ID}$`));
  const banner = page.locator('page-home mm-error-banner section[role="alert"]');
  await banner.waitFor();
  const text = (await banner.textContent())?.replace(/\s+/g, ' ') ?? '';
  assert.match(text, 'No such Letterboxd member');
  assert.match(text, 'Letterboxd has no member called "nosuchmember"');
  assert.match(text, 'letterboxd.com/name');
  await page.waitForFunction(() => {
    const banner = window.mmQueryAll?.(['mm-app', 'page-home', 'mm-error-banner'])[0];
    return banner?.shadowRoot?.activeElement?.id === 'error-title';
  });
  assert.equal(await axeInBothSchemes(page, 'error banner'), []);
  const { phoneScrollWidth } = await screenshots(page, 'error-banner');
  assert.ok(phoneScrollWidth <= 360, `error page is ${phoneScrollWidth} px wide at 360`);
  await page.reload();
  await banner.waitFor();
  assert.is(await form(page).locator('#username').inputValue(), 'nosuchmember', 'the form keeps the request');
  await page.locator('page-home mm-error-banner button', { hasText: 'Dismiss' }).click();
  assert.is(new URL(page.url()).search, '');
  assert.is(await page.locator('page-home mm-error-banner section').count(), 0);
  assert.equal(b.problems, []);
});

test('offline: after two mosaics, reloading / and each /user/... page still shows both images', async () => {
  const { page, context } = b;
  assert.ok(made.marathon && made.dave, 'needs the mosaics of the earlier tests');
  await page.goto(`${base}/`);
  const deviceList = page.locator('page-home mm-mosaic-list').first();
  await deviceList.scrollIntoViewIfNeeded();
  await waitForImages(page, DEVICE_THUMBS, 2);
  // The gallery's thumbnails load lazily: bring them in for the screenshot.
  await page.locator('page-home section[aria-labelledby="gallery"] mm-mosaic-list').scrollIntoViewIfNeeded();
  await waitForImages(page, ['mm-app', 'page-home', 'section[aria-labelledby="gallery"] mm-mosaic-list', 'img'], 2);
  const { phoneScrollWidth } = await screenshots(page, 'home');
  assert.ok(phoneScrollWidth <= 360, `home is ${phoneScrollWidth} px wide at 360`);

  // The member's latest (/user/dave) comes from a list without film lists: the page fetches the
  // mosaic's summary before showing it and keeping it for offline use, so its film list is whole.
  await page.goto(`${base}/user/dave`);
  await page.locator('page-user h1', { hasText: 'dave · last 5 films' }).waitFor();
  await page.locator('page-user mm-film-list ol li').nth(4).waitFor();
  assert.is(await page.locator('page-user mm-film-list ol li').count(), 5);
  await page.goto(`${base}/`);
  await deviceList.scrollIntoViewIfNeeded();

  await context.setOffline(true);
  try {
    await page.reload();
    await page.locator('page-home p', { hasText: 'The gallery needs a connection to the server.' }).waitFor();
    await deviceList.scrollIntoViewIfNeeded();
    await waitForImages(page, DEVICE_THUMBS, 2);
    for (const path of [made.marathon, made.dave].map((u) => new URL(u).pathname)) {
      assert.is(await deviceList.locator(`a[href="${path}"]`).count(), 1, `${path} is listed on this device`);
    }
    await page.locator('mm-offline-indicator span', { hasText: 'Offline' }).waitFor();
    for (const [url, title] of [
      [made.marathon, 'marathon · '],
      [made.dave, 'dave · last 5 films'],
    ]) {
      await page.goto(url);
      await page.reload();
      await page.locator('page-user h1', { hasText: title }).waitFor();
      await waitForImages(page, MOSAIC_IMG);
    }
  } finally {
    await context.setOffline(false);
    // Offline fetches (the gallery, the socket) log network errors by design.
    b.problems.length = 0;
  }
});

/** What the page has run and fetched of the client's code: its page elements and the /assets/ scripts. */
function pageCode(page: Page): Promise<{ user: boolean; task: boolean; scripts: string[] }> {
  return page.evaluate(() => ({
    user: customElements.get('page-user') !== undefined,
    task: customElements.get('page-task') !== undefined,
    scripts: performance
      .getEntriesByType('resource')
      .map((e) => new URL(e.name).pathname)
      .filter((p) => p.startsWith('/assets/')),
  }));
}

const PAGE_USER_CHUNK = /^\/assets\/page-user-[A-Z0-9]{8}\.js$/;

test('the build: / waits only for the entry and its static imports; each other page is a chunk of its own, precached', () => {
  const dir = join(app.root, 'dist/client');
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  const html = read('index.html');
  const named = [...html.matchAll(/<(?:script type="module" src|link rel="modulepreload" href)="\/([^"]+)"/g)].map((m) => m[1]);
  const entry = /<script type="module" src="\/(assets\/main-[A-Z0-9]{8}\.js)"/.exec(html)?.[1];
  assert.ok(entry, 'index.html runs the entry');
  // The entry's static imports, transitively, read from the built files themselves.
  const staticImports = (file: string) =>
    [...read(file).matchAll(/\b(?:import|export)\s*(?:[^"'()]*?\bfrom\s*)?"\.\/([^"]+\.js)"/g)].map((m) => `assets/${m[1]}`);
  const initial = new Set<string>();
  const visit = (f: string) => {
    if (initial.has(f)) return;
    initial.add(f);
    staticImports(f).forEach(visit);
  };
  visit(entry);
  assert.equal(new Set(named), initial, 'index.html names exactly the entry and its static imports');
  assert.ok(
    [...initial].every((f) => !/page-/.test(f)),
    `no page chunk in the initial set: ${[...initial].join(', ')}`,
  );
  const pages = JSON.parse(read('page-chunks.json')) as Record<string, string[]>;
  const dynamic = [...initial].flatMap((f) => [...read(f).matchAll(/\bimport\(\s*"\.\/([^"]+\.js)"\s*\)/g)].map((m) => `/assets/${m[1]}`));
  for (const route of ['task', 'user', 'not-found']) {
    const [chunk] = pages[route];
    assert.match(chunk, new RegExp(`^/assets/page-${route}-[A-Z0-9]{8}\\.js$`), route);
    assert.ok(dynamic.includes(chunk), `${chunk} is loaded with import()`);
    assert.not.ok(initial.has(chunk.slice(1)), `${chunk} is not in the initial set`);
  }
  // The service worker precaches every script, so each page also opens offline.
  const sw = read('sw.js');
  for (const f of readdirSync(join(dir, 'assets')).filter((f) => f.endsWith('.js')))
    assert.ok(sw.includes(`assets/${f}`), `sw.js precaches ${f}`);
});

test('the split in the browser: / runs no other page’s code; a gallery card loads the mosaic page’s chunk and shows the mosaic', async () => {
  const { page } = b;
  assert.ok(made.dave, 'needs the mosaics of the earlier tests');
  await page.goto(`${base}/`);
  await form(page).locator('#username').waitFor();
  const before = await pageCode(page);
  assert.equal([before.user, before.task], [false, false], 'no page code but home’s has run');
  assert.ok(!before.scripts.some((p) => /\/page-/.test(p)), `fetched on /: ${before.scripts.join(', ')}`);
  await page.evaluate(() => (window.mmSameDocument = true));
  await page.locator(`page-home section[aria-labelledby="gallery"] mm-mosaic-list a[href="${new URL(made.dave).pathname}"]`).click();
  await assertFocusOnMosaicHeading(page, 'dave · last 5 films', 'a click on a gallery card');
  const after = await pageCode(page);
  assert.ok(after.user, 'page-user is defined');
  assert.ok(
    after.scripts.some((p) => PAGE_USER_CHUNK.test(p)),
    `fetched: ${after.scripts.join(', ')}`,
  );
  assert.is(await page.evaluate(() => window.mmSameDocument), true, 'no page load');
  assert.equal(b.problems, []);
});

test('offline after install: from /, a mosaic page’s chunk comes from the precache', async () => {
  const { page, context } = b;
  assert.ok(made.marathon, 'needs the mosaics of the earlier tests');
  const path = new URL(made.marathon).pathname;
  await context.setOffline(true);
  try {
    await page.goto(`${base}/`);
    await form(page).locator('#username').waitFor();
    assert.is((await pageCode(page)).user, false, 'a fresh document: the mosaic page’s code has not run');
    await page.locator(`page-home mm-mosaic-list a[href="${path}"]`).first().click();
    const title = `marathon · ${periodLabel({ mode: 'month', month: currentMonth(new Date()) } as MosaicParams)}`;
    await assertFocusOnMosaicHeading(page, title, 'a click on a device card, offline');
    assert.ok((await pageCode(page)).scripts.some((p) => PAGE_USER_CHUNK.test(p)));
  } finally {
    await context.setOffline(false);
    // Offline fetches (the gallery, the socket) log network errors by design.
    b.problems.length = 0;
  }
});

test('a page whose code cannot arrive (offline, no service worker): says so, keeps the address, and Try again shows it', async () => {
  // The LAN name over plain HTTP has no service worker, so nothing there has the mosaic page's code.
  const page = await b.context.newPage();
  const origin = `http://${LAN}:${app.httpPort}`;
  const path = new URL(made.dave!).pathname;
  try {
    await page.goto(`${origin}/`);
    const card = page.locator(`page-home section[aria-labelledby="gallery"] mm-mosaic-list a[href="${path}"]`);
    await card.waitFor();
    // Routing also bypasses the HTTP cache, so the chunk cannot come from there either.
    await page.route('**/assets/page-user-*.js', (route) => route.abort('failed'));
    // Online, the server did not send it (as after an update removed the build this tab runs).
    await card.click();
    const state = page.locator('mm-app section.page-code');
    await state.locator('h1', { hasText: 'This page could not be loaded' }).waitFor();
    assert.equal(await focusedElement(page), { tag: 'h1', page: null, text: 'This page could not be loaded' }, 'focus on the error');
    const reload = state.locator('a', { hasText: 'reload the page' });
    assert.equal(
      [await reload.getAttribute('href'), await reload.getAttribute('data-native')],
      [path, ''],
      'a real reload of this address',
    );
    // Offline, Try again fails again and says what to do.
    await b.context.setOffline(true);
    await state.locator('button', { hasText: 'Try again' }).click();
    await state.locator('h1', { hasText: 'This page needs a connection' }).waitFor();
    assert.match((await state.textContent()) ?? '', 'Connect to the network, then try again.');
    assert.equal(await focusedElement(page), { tag: 'h1', page: null, text: 'This page needs a connection' }, 'focus on the error');
    assert.is(new URL(page.url()).pathname, path, 'the address stays the mosaic’s');

    await b.context.setOffline(false);
    await page.unroute('**/assets/page-user-*.js');
    await state.locator('button', { hasText: 'Try again' }).click();
    await assertFocusOnMosaicHeading(page, 'dave · last 5 films', 'Try again');
    assert.is(await page.locator('mm-app section.page-code').count(), 0);
  } finally {
    await b.context.setOffline(false);
    await page.close();
    // The refused chunk and offline fetches log network errors by design.
    b.problems.length = 0;
  }
});

test('a submit fetches the progress page’s code while the server answers, not after', async () => {
  // The LAN name over plain HTTP has no service worker: the chunk can only come from the network.
  const page = await b.context.newPage();
  try {
    await page.goto(`http://${LAN}:${app.httpPort}/`);
    await form(page).locator('#username').fill('erin');
    let chunkRequested!: () => void;
    const chunk = new Promise<void>((resolve) => (chunkRequested = resolve));
    page.on('request', (r) => {
      if (/\/assets\/page-task-[A-Z0-9]{8}\.js$/.test(new URL(r.url()).pathname)) chunkRequested();
    });
    // The POST's answer is held until the progress page's code has been asked for: without the early
    // fetch it would be asked for only after the answer, and the bound below fails the test.
    let chunkBeforeAnswer = false;
    await page.route('**/api/mosaics', async (route) => {
      let bound: ReturnType<typeof setTimeout> | undefined;
      chunkBeforeAnswer = await Promise.race([
        chunk.then(() => true),
        new Promise<boolean>((r) => (bound = setTimeout(() => r(false), 15_000))),
      ]);
      clearTimeout(bound);
      await route.continue();
    });
    await form(page).locator('button[type="submit"]').click();
    await page.locator('page-task h1').waitFor();
    assert.ok(chunkBeforeAnswer, 'the page-task chunk was requested before the POST was answered');
  } finally {
    await page.close();
    // Chromium warns that plain HTTP on a LAN name ignores the Cross-Origin-Opener-Policy header: by design here.
    b.problems.splice(0, b.problems.length, ...b.problems.filter((p) => !p.includes('Cross-Origin-Opener-Policy')));
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
  await waitForImages(page, MOSAIC_IMG);
  assert.is(await page.locator('page-user a[download]').getAttribute('download'), 'dave-all-films-grid.jpg');
  assert.equal(b.problems, []);
});

test('from 360 px phones to desktops, light and dark: no page scrolls sideways', async () => {
  const { page } = b;
  await page.setViewportSize({ width: 360, height: 740 });
  try {
    for (const url of [`${base}/`, made.dave!, `${base}/user/dave`, `${base}/nope`]) {
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
    await page.setViewportSize(DESKTOP);
  }
});

test('a new version: after a rebuild the waiting service worker shows a prompt, and Reload switches to it', async () => {
  const { page } = b;
  await page.goto(`${base}/`);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  // A change to any precached file gives sw.js a new precache manifest: the browser installs it as an update.
  const template = join(app.root, 'client/index.html');
  const marker = `<!-- changed ${Date.now()} -->`;
  writeFileSync(template, readFileSync(template, 'utf8').replace('</body>', `${marker}</body>`));
  await app.rebuild();
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
  assert.ok((await page.content()).includes(marker), 'the page now comes from the new build');
  assert.equal(b.problems, []);
});

test('plain HTTP on a LAN name with HTTPS off: a banner says why install and offline are off and links to /setup', async () => {
  const page = await b.context.newPage();
  try {
    const origin = `http://${LAN}:${app.httpPort}`;
    await page.goto(`${origin}/`);
    await page.locator('page-home h1').waitFor();
    assert.is(await page.evaluate(() => window.isSecureContext), false);
    const banner = page.locator('mm-insecure-banner aside');
    assert.match((await banner.textContent()) ?? '', 'install');
    assert.is(await page.evaluate(() => 'serviceWorker' in navigator), false);
    // Everything else works: the form makes a mosaic over REST and the ws: socket.
    await page.locator('page-home mm-mosaic-form #username').fill('erin');
    await page.locator('page-home mm-mosaic-form button[type=submit]').click();
    await page.waitForURL(new RegExp(`/user/erin/${ID}$`));
    await waitForImages(page, MOSAIC_IMG);
    // The banner's link leads to the server's setup page.
    await page.goto(`${origin}/`);
    assert.is(await banner.locator('a').getAttribute('href'), '/setup');
    const setup = await page.evaluate(async () => {
      const res = await fetch('/setup');
      return { status: res.status, html: await res.text() };
    });
    assert.is(setup.status, 200);
    assert.match(setup.html, '<h1>Set up moviemosaic on this device</h1>');
  } finally {
    await page.close();
  }
  // Chromium notes that the server's COOP header does not apply to an untrustworthy origin: expected here.
  assert.equal(
    b.problems.filter((p) => !p.includes('Cross-Origin-Opener-Policy header has been ignored')),
    [],
  );
});

test.run();
