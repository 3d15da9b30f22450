/**
 * A year in review in real Chromium against the whole app (test/helpers/browser/app.ts): the form offers the
 * layout only for a year or everything, and the mosaic page shows the figures as text and tables
 * (what a screen reader reads), not only in the image.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Page } from 'playwright-core';
import type { MosaicParams } from '../../common/task.js';
import { expectedFilms } from '../helpers/fakeLetterboxd.js';
import type { TrustingBrowser } from '../helpers/browser/trustingBrowser.js';
import type { App } from '../helpers/browser/app.js';
import { startBrowserWorld, type BrowserWorld } from '../helpers/browser/world.js';
import { ID, MOSAIC_IMG, screenshots, waitForImages } from '../helpers/browser/page.js';

let world: BrowserWorld | undefined;
let app: App;
let base = '';
let b: TrustingBrowser;

test.before(async () => {
  world = await startBrowserWorld();
  ({ app, b, base } = world);
});

test.after(() => world?.close());

const form = (page: Page) => page.locator('page-home mm-mosaic-form');
const reviewChoice = (page: Page) => form(page).locator('input[name=layout][value=review]');

test('the form offers "Year in review" for a year or everything only', async () => {
  const { page } = b;
  await page.goto(`${base}/`);
  await form(page).locator('#username').waitFor();
  assert.is(await reviewChoice(page).count(), 0, 'not for this month');
  await form(page).locator('label', { hasText: 'A year' }).click();
  await reviewChoice(page).check();
  await form(page).locator('label', { hasText: 'Everything' }).click();
  assert.is(await reviewChoice(page).isChecked(), true, 'kept for everything');
  await form(page).locator('label', { hasText: 'The last films watched' }).click();
  assert.is(await reviewChoice(page).count(), 0, 'gone for the last films');
  assert.is(await form(page).locator('input[name=layout][value=classic]').isChecked(), true, 'back to classic');
  assert.equal(b.problems, []);
});

test('a year in review through the form: the figures on the page as text and tables', async () => {
  const { page } = b;
  await page.goto(`${base}/`);
  await form(page).locator('#username').fill('dave');
  await form(page).locator('label', { hasText: 'A year' }).click();
  const year = Number(await form(page).locator('#year').inputValue());
  await reviewChoice(page).check();
  await form(page).locator('button[type=submit]').click();
  await page.waitForURL(new RegExp(`/user/dave/${ID}$`), { timeout: 60_000 });
  await waitForImages(page, MOSAIC_IMG);

  const films = expectedFilms(app.lb.members.get('dave')!, { mode: 'year', year } as MosaicParams);
  const section = page.getByRole('region', { name: `${year} in review` });
  await section.waitFor();
  const facts = await section
    .locator('dl > div')
    .evaluateAll((divs) =>
      divs.map((d): [string, string] => [d.querySelector('dt')!.textContent.trim(), d.querySelector('dd')!.textContent.trim()]),
    );
  const fact = new Map(facts);
  assert.is(fact.get('films'), String(films.length));
  const rated = films.filter((f) => f.rating !== null);
  const average = rated.reduce((s, f) => s + f.rating!, 0) / rated.length;
  assert.is(fact.get('average rating'), `${(Math.round(average * 100) / 100).toFixed(2)} stars`);
  assert.ok(fact.has('rewatches') && fact.has('likes') && fact.has('first film') && fact.has('last film'), JSON.stringify(facts));

  // The ratings table: one row per half star, named in words, counting the films.
  const ratings = page.getByRole('table', { name: /Ratings/ });
  const rows = await ratings
    .locator('tbody tr')
    .evaluateAll((trs) => trs.map((tr) => [tr.querySelector('th')!.innerText.trim(), tr.querySelector('td')!.innerText.trim()]));
  assert.is(rows.length, 10);
  const fives = films.filter((f) => f.rating === 5).length;
  assert.equal(await ratings.getByRole('rowheader', { name: '5 stars' }).count(), 1);
  assert.is(rows[9][1], String(fives));
  const months = page.getByRole('table', { name: 'Diary entries per month' });
  assert.is(await months.locator('tbody tr').count(), 12);
  assert.match(
    (await page.locator('page-user mm-mosaic-view img').getAttribute('alt')) ?? '',
    /, with the year's figures below; the figures and the list follow$/,
  );
  assert.is(await page.locator('page-user a[download]').getAttribute('download'), `dave-${year}-review.jpg`);

  const { phoneScrollWidth } = await screenshots(page, 'review');
  assert.ok(phoneScrollWidth <= 360, `the review page is ${phoneScrollWidth} px wide at 360`);
  assert.equal(b.problems, [], 'no console errors or CSP violations');
});

test.run();
