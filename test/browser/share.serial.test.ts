/**
 * Sharing in real Chromium against the whole app (real server and worker processes, the fake
 * Letterboxd): a mosaic's page offers the page link and the stable image link, which another site can
 * embed and which shows that mosaic; a crawler that runs no JavaScript reads the page's Open Graph tags
 * and fetches the image they name.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { get } from 'node:http';
import * as cheerio from 'cheerio';
import sharp from 'sharp';
import { currentMonth } from '../../common/task.js';
import type { TrustingBrowser } from '../helpers/browser/trustingBrowser.js';
import { startBrowserWorld, type BrowserWorld } from '../helpers/browser/world.js';
import { ID, MOSAIC_IMG, waitForImages } from '../helpers/browser/page.js';

let world: BrowserWorld | undefined;
let base = '';
let b: TrustingBrowser;

test.before(async () => {
  world = await startBrowserWorld();
  ({ b, base } = world);
});

test.after(() => world?.close());

/** A plain GET with no JavaScript, no cookies, a crawler's User-Agent. */
function crawl(url: string): Promise<{ status: number; type: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(url, { headers: { 'user-agent': 'Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

let pageUrl = '';
let resultUrl = '';

test('a mosaic page shares the page link and the stable image link, which another site can embed', async () => {
  const { page } = b;
  await b.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  await page.goto(`${base}/`);
  const form = page.locator('page-home mm-mosaic-form');
  await form.locator('#username').fill('dave');
  await form.locator('button[type=submit]').click();
  await page.waitForURL(new RegExp(`/user/dave/${ID}$`), { timeout: 60_000 });
  await waitForImages(page, MOSAIC_IMG);
  pageUrl = page.url();
  // The full image (the page itself shows the screen copy): the Download link's.
  resultUrl = new URL((await page.locator('page-user a[download]').getAttribute('href'))!, base).href;

  const menu = page.locator('page-user mm-share-menu');
  await menu.locator('summary').click();
  const field = (key: string) => menu.locator(`input[data-share=${key}]`);
  const stable = `${base}/m/dave/${currentMonth(new Date())}.jpg`;
  assert.is(await field('page').inputValue(), pageUrl);
  assert.is(await field('image').inputValue(), stable);
  assert.match(await field('markdown').inputValue(), `](${stable})](${pageUrl})`);
  assert.match(await field('bbcode').inputValue(), `[img]${stable}[/img]`);
  assert.match(await field('html').inputValue(), `<img src="${stable}"`);
  // Copy puts the stable link on the clipboard.
  await menu.locator('input[data-share=image] + button').click();
  await menu.locator('input[data-share=image] + button', { hasText: 'Copied' }).waitFor();
  assert.is(await page.evaluate(() => navigator.clipboard.readText()), stable);

  // Another site's page embeds it: a cross-origin <img> loads, and it is this mosaic.
  const other = await b.context.newPage();
  await other.setContent(`<img id="embed" src="${stable}">`);
  await other.waitForFunction(() => (document.getElementById('embed') as HTMLImageElement).complete);
  const size = await other.evaluate(() => {
    const img = document.getElementById('embed') as HTMLImageElement;
    return [img.naturalWidth, img.naturalHeight];
  });
  const [linked, original] = await Promise.all([crawl(stable), crawl(resultUrl)]);
  assert.is(linked.status, 200);
  assert.ok(linked.body.equals(original.body), 'the stable link shows the mosaic just made');
  const meta = await sharp(original.body).metadata();
  assert.equal(size, [meta.width, meta.height], 'the embed loaded the whole image');
  await other.close();
  assert.equal(b.problems, [], 'no console errors or CSP violations');
});

test('a crawler without JavaScript reads the page’s Open Graph tags and fetches the image', async () => {
  assert.ok(pageUrl, 'the first test made a mosaic');
  const html = await crawl(pageUrl);
  assert.is(html.status, 200);
  const $ = cheerio.load(html.body.toString());
  const og = (p: string) => $(`meta[property="${p}"]`).attr('content');
  assert.match(og('og:title') ?? '', /^dave · \w+ \d{4}$/);
  assert.match(og('og:description') ?? '', /^\d+ films?$/);
  assert.is(og('og:url'), pageUrl);
  assert.is(og('og:image'), resultUrl);
  assert.is($('meta[name="twitter:card"]').attr('content'), 'summary_large_image');
  const image = await crawl(og('og:image')!);
  assert.equal([image.status, image.type], [200, og('og:image:type')]);
  const meta = await sharp(image.body).metadata();
  assert.equal([String(meta.width), String(meta.height)], [og('og:image:width'), og('og:image:height')]);
});

test('the member’s gallery gives each of their other mosaics its stable link', async () => {
  const { page } = b;
  await page.goto(`${base}/`);
  const form = page.locator('page-home mm-mosaic-form');
  await form.locator('#username').fill('dave');
  await form.locator('label', { hasText: 'The last films watched' }).click();
  await form.locator('button[type=submit]').click();
  await page.waitForURL((url) => new RegExp(`/user/dave/${ID}$`).test(url.pathname) && url.href !== pageUrl, { timeout: 60_000 });
  const link = page.locator('page-user mm-mosaic-list a.stable');
  await link.waitFor();
  assert.is(await link.getAttribute('href'), `/m/dave/${currentMonth(new Date())}.jpg`, 'the month mosaic made first');
  const res = await crawl(new URL((await link.getAttribute('href'))!, base).href);
  assert.is(res.status, 200);
  assert.equal(b.problems, []);
});

test.run();
