/**
 * Link previews: a crawler that runs no JavaScript (as Discord, Slack or iMessage do) reads the Open
 * Graph tags of a member's page and of a mosaic's page from the HTML the server sends, and fetches
 * the image they name; behind a trusted proxy the URLs use the visitor's scheme and host.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as cheerio from 'cheerio';
import sharp from 'sharp';
import { normalizeRequest } from '../../common/task.js';
import { parseTrustProxy } from '../../server/forwarded.js';
import { CREATE_MOSAIC } from '../../server/routes/mosaics.js';
import { cleanup, request, testApp, tmp } from '../helpers/server.js';

test.after.each(cleanup);

function clientDir(): string {
  const dir = join(tmp().dir, 'client');
  mkdirSync(dir);
  writeFileSync(join(dir, 'index.html'), readFileSync('client/index.html'));
  return dir;
}

/** What a crawler reads: the meta tags of the HTML, no script run. */
function metaTags(html: string): Record<string, string> {
  const $ = cheerio.load(html);
  const out: Record<string, string> = {};
  $('meta[property], meta[name]').each((_, el) => {
    out[$(el).attr('property') ?? $(el).attr('name')!] = $(el).attr('content')!;
  });
  out.title = $('title').text();
  return out;
}

async function withMosaic(options: Parameters<typeof testApp>[0] = {}) {
  const t = await testApp({ clientDir: clientDir(), ...options });
  const image = await sharp({ create: { width: 240, height: 360, channels: 3, background: '#246' } })
    .jpeg()
    .toBuffer();
  const r = normalizeRequest({ username: 'dave', mode: 'month', month: '2026-11' }, new Date(t.clock.now()));
  const task = t.tasks.enqueue({ action: CREATE_MOSAIC, ...r }).task;
  const claimed = t.tasks.claim('w', 1)[0];
  t.tasks.complete(claimed.id, claimed.leaseToken, () =>
    t.results.insert(
      task.id,
      {
        image,
        contentType: 'image/jpeg',
        width: 240,
        height: 360,
        partial: false,
        note: null,
        films: Array.from({ length: 30 }, (_, i) => ({
          title: `Film ${i}`,
          year: 2020,
          rating: null,
          slug: null,
          watchedDate: '2026-11-02',
        })),
      },
      t.clock.now(),
    ),
  );
  return { t, task, image };
}

test('a crawler reads the mosaic page’s Open Graph and Twitter tags and fetches the image they name', async () => {
  const { t, task, image } = await withMosaic();
  const host = `127.0.0.1:${t.port}`;
  for (const path of [`/user/dave/${task.id}`, '/user/dave', '/user/Dave/']) {
    const page = await request(t.port, path, { headers: { 'user-agent': 'Slackbot-LinkExpanding 1.0' } });
    assert.is(page.status, 200, path);
    const tags = metaTags(page.text);
    assert.is(tags['og:title'], 'dave · November 2026', path);
    assert.is(tags['og:description'], '30 films');
    assert.is(tags['og:image'], `http://${host}/api/tasks/${task.id}/result`);
    assert.equal([tags['og:image:width'], tags['og:image:height'], tags['og:image:type']], ['240', '360', 'image/jpeg']);
    assert.is(tags['og:url'], `http://${host}${path}`);
    assert.is(tags['twitter:card'], 'summary_large_image');
    assert.is(tags['twitter:image'], tags['og:image']);
    assert.is(tags.title, 'dave · November 2026 · moviemosaic');
    const fetched = await request(t.port, new URL(tags['og:image']).pathname);
    assert.is(fetched.status, 200);
    assert.ok(fetched.body.equals(image));
    const meta = await sharp(fetched.body).metadata();
    assert.equal([meta.width, meta.height], [240, 360], 'the size the tags say');
  }
  // No mosaic, another member's task, the home page: the plain page, no preview.
  for (const path of ['/user/nobody', `/user/carol/${task.id}`, '/']) {
    const tags = metaTags((await request(t.port, path)).text);
    assert.is(tags['og:image'], undefined, path);
    assert.is(tags.title, 'moviemosaic', path);
  }
  await t.close();
});

test('behind a trusted proxy the preview’s URLs are the visitor’s; a forged header elsewhere changes nothing', async () => {
  const headers = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'mosaic.example', 'x-forwarded-for': '203.0.113.9' };
  const trusted = await withMosaic({ trustProxy: parseTrustProxy('127.0.0.1') });
  const tags = metaTags((await request(trusted.t.port, '/user/dave', { headers })).text);
  assert.is(tags['og:image'], `https://mosaic.example/api/tasks/${trusted.task.id}/result`);
  await trusted.t.close();
  const untrusted = await withMosaic();
  const plain = metaTags((await request(untrusted.t.port, '/user/dave', { headers })).text);
  assert.is(plain['og:image'], `http://127.0.0.1:${untrusted.t.port}/api/tasks/${untrusted.task.id}/result`);
  await untrusted.t.close();
});

test.run();
