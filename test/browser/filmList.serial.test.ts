/**
 * A long film list on the mosaic page (a year can hold 1,000 films) is rendered in passes after the
 * first paint, so the mosaic is not kept waiting: in real Chromium against the whole app, every film
 * still arrives, in order, and the list stays the image's accessible description.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import sharp from 'sharp';
import { openDb } from '../../db/sqlite/open.js';
import { createResultStore } from '../../db/sqlite/results.js';
import { createTaskStore } from '../../db/sqlite/tasks.js';
import type { Film } from '../../common/task.js';
import { startBrowserWorld, type BrowserWorld } from '../helpers/browser/world.js';
import type { App } from '../helpers/browser/app.js';
import type { TrustingBrowser } from '../helpers/browser/trustingBrowser.js';
import { MOSAIC_IMG, PHONE, waitForImages } from '../helpers/browser/page.js';

let world: BrowserWorld;
let app: App;
let b: TrustingBrowser;

test.before(async () => {
  world = await startBrowserWorld({ browser: { viewport: PHONE } });
  ({ app, b } = world);
});

test.after(async () => {
  await world?.close();
});

const FILMS = 400;

/** A finished 400-film mosaic, stored as the worker would (renditions included), in the app's database. */
async function storeLongMosaic(): Promise<string> {
  const db = openDb(join(app.dataDir, 'moviemosaic.db'));
  try {
    const tasks = createTaskStore(db);
    const results = createResultStore(db);
    const films: Film[] = Array.from({ length: FILMS }, (_, i) => ({
      title: `Film number ${i + 1}`,
      year: 2026,
      rating: null,
      slug: null,
      watchedDate: null,
    }));
    const image = await sharp({ create: { width: 400, height: 600, channels: 3, background: '#385' } })
      .jpeg()
      .toBuffer();
    const thumb = await sharp(image).resize(320, 240).webp().toBuffer();
    const screen = await sharp(image).webp().toBuffer();
    const { task } = tasks.enqueue({
      action: 'create_mosaic',
      username: 'dave',
      params: { mode: 'year', year: 2026, layout: 'grid', format: 'jpeg' },
    });
    const claimed = tasks.claim('test', 10).find((t) => t.id === task.id)!;
    tasks.complete(claimed.id, claimed.leaseToken, () =>
      results.insert(
        task.id,
        {
          image,
          contentType: 'image/jpeg',
          width: 400,
          height: 600,
          films,
          partial: false,
          note: null,
          renditions: [
            { kind: 'thumb', image: thumb, contentType: 'image/webp', width: 320, height: 240 },
            { kind: 'screen', image: screen, contentType: 'image/webp', width: 400, height: 600 },
          ],
        },
        Date.now(),
      ),
    );
    return task.id;
  } finally {
    db.close();
  }
}

test('a 400-film mosaic page: the mosaic, then every film in order, described by the list', async () => {
  const id = await storeLongMosaic();
  const { page } = b;
  await page.goto(`http://localhost:${app.httpPort}/user/dave/${id}`);
  await waitForImages(page, MOSAIC_IMG);
  const rows = page.locator('page-user mm-film-list ol li');
  await page.waitForFunction((n) => (window.mmQueryAll?.(['mm-app', 'page-user', 'mm-film-list', 'ol li']) ?? []).length === n, FILMS);
  assert.is(await rows.count(), FILMS);
  assert.match((await rows.nth(0).textContent()) ?? '', /Film number 1\b/);
  assert.match((await rows.nth(FILMS - 1).textContent()) ?? '', new RegExp(`Film number ${FILMS}\\b`));
  const describedBy = await page.evaluate(() => {
    const img = window.mmQueryAll?.(['mm-app', 'page-user', 'mm-mosaic-view', 'img'])[0] as
      (HTMLImageElement & { ariaDescribedByElements?: Element[] }) | undefined;
    return img?.ariaDescribedByElements?.map((e) => e.tagName.toLowerCase()) ?? null;
  });
  assert.equal(describedBy, ['mm-film-list']);
});

test.run();
