/** The page side of the app: security headers, the Host guard, the built client and the SPA fallback. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, symlinkSync, writeFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { testApp, request, postJson, cleanup, track, completeWithResult } from '../helpers/server.js';
import { tmpDir } from '../helpers/tmp.js';
import { createHostPolicy, hostOf } from '../../server/hosts.js';

test.after.each(cleanup);

const INDEX = '<!doctype html><html><head><script type="module" src="/assets/main-ABCD1234.js"></script></head></html>';

/** A dist/client look-alike, with traps: a dotfile, symlinks out of and within the folder. */
function clientFolder() {
  const t = tmpDir('mm-client-');
  const dir = join(t.dir, 'client');
  mkdirSync(join(dir, 'assets'), { recursive: true });
  mkdirSync(join(dir, 'icons'));
  writeFileSync(join(dir, 'index.html'), INDEX);
  writeFileSync(join(dir, 'assets', 'main-ABCD1234.js'), 'console.log("app")');
  writeFileSync(join(dir, 'sw.js'), 'self.addEventListener("fetch", () => {})');
  // Source maps (an old build left sw.js.map, with the build machine's paths): never served.
  writeFileSync(join(dir, 'sw.js.map'), '{"sources":["/home/builder/SECRET/client/sw.ts"]}');
  writeFileSync(join(dir, 'assets', 'main-ABCD1234.js.map'), '{"sources":["/home/builder/SECRET/client/main.ts"]}');
  writeFileSync(join(dir, 'manifest.webmanifest'), '{"name":"moviemosaic"}');
  writeFileSync(join(dir, 'icons', 'icon-192.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  writeFileSync(join(dir, '.env'), 'SECRET=1');
  writeFileSync(join(t.dir, 'outside.txt'), 'private data');
  symlinkSync(join(t.dir, 'outside.txt'), join(dir, 'leak.txt'));
  symlinkSync(t.dir, join(dir, 'up'));
  symlinkSync(join(dir, 'assets', 'main-ABCD1234.js'), join(dir, 'alias.js'));
  const old = new Date('2026-01-01T00:00:00Z');
  utimesSync(join(dir, 'sw.js'), old, old);
  return { dir, cleanup: track(t.cleanup) };
}

function assertSecurityHeaders(headers: Record<string, unknown>, what: string): void {
  const csp = String(headers['content-security-policy']);
  for (const directive of [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
  ]) {
    assert.ok(csp.includes(directive), `${what}: CSP has ${directive}`);
  }
  assert.not.match(csp, /unsafe-inline|unsafe-eval/, what);
  assert.is(headers['x-content-type-options'], 'nosniff', what);
  assert.is(headers['referrer-policy'], 'no-referrer', what);
  assert.is(headers['cross-origin-opener-policy'], 'same-origin', what);
}

test('security headers on every kind of response', async () => {
  const c = clientFolder();
  const t = await testApp({ clientDir: c.dir });
  const responses = {
    page: await request(t.port, '/'),
    asset: await request(t.port, '/assets/main-ABCD1234.js'),
    api: await request(t.port, '/api/mosaics'),
    apiError: await postJson(t.port, '/api/mosaics', { username: '!' }),
    notFound: await request(t.port, '/nope.js'),
    badHost: await request(t.port, '/', { headers: { host: 'evil.example' } }),
    crossSite: await postJson(t.port, '/api/mosaics', { username: 'dave' }, { origin: 'https://evil.example' }),
    wrongType: await request(t.port, '/api/mosaics', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' }),
    noMethod: await request(t.port, '/api/mosaics', { method: 'PUT' }),
    socketPath: await request(t.port, '/ws'),
    head: await request(t.port, '/', { method: 'HEAD' }),
    crash: await request(t.port, '/%E0%A4%A'),
  };
  for (const [what, res] of Object.entries(responses)) assertSecurityHeaders(res.headers, what);
  assert.match(String(responses.page.headers['content-security-policy']), new RegExp(`connect-src 'self' ws://127\\.0\\.0\\.1:${t.port};`));
  await t.close();
  await c.cleanup();
});

test('Host guard: 421 with guidance for foreign names; our names pass', async () => {
  const t = await testApp();
  for (const host of ['evil.example', 'evil.example:80', 'raspberrypi.evil.example', '192.168.1.99', '[::2]', 'localhost.evil.example']) {
    const res = await request(t.port, '/healthz', { headers: { host } });
    assert.is(res.status, 421, `host ${JSON.stringify(host)}`);
    assert.match(res.text, /ALLOWED_HOSTS/);
  }
  for (const host of [
    'localhost',
    `localhost:${t.port}`,
    '127.0.0.1',
    '127.1.2.3:8080',
    '[::1]:8080',
    'raspberrypi',
    'RaspberryPi.local:8080',
    'raspberrypi.local.',
    '192.168.1.20:8080',
    '[fe80::1]',
    'mosaic.example',
    'pi.lan',
    'app.localhost',
  ]) {
    const res = await request(t.port, '/healthz', { headers: { host } });
    assert.is(res.status, 200, host);
  }
  // HTTP/1.0 may leave Host out: not one of ours either.
  const raw = await new Promise<string>((resolve) => {
    const s = connect(t.port, '127.0.0.1', () => s.end('GET /healthz HTTP/1.0\r\n\r\n'));
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString('latin1')));
    s.on('close', () => resolve(out));
  });
  assert.match(raw, /^HTTP\/1\.1 421 /);
  await t.close();
});

test('host policy: parsing, and LAN addresses re-read when they change', () => {
  assert.is(hostOf('Example.COM:8080'), 'example.com');
  assert.is(hostOf('[::1]:80'), '::1');
  assert.is(hostOf('[zz]'), null);
  assert.is(hostOf('a b'), null);
  assert.is(hostOf(undefined), null);
  let addresses = ['10.0.0.5'];
  let now = 0;
  const policy = createHostPolicy({ extra: [], hostname: 'pi', addresses: () => addresses, now: () => now, refreshMs: 1000 });
  assert.ok(policy.allows('10.0.0.5:8080'));
  addresses = ['10.0.0.6'];
  assert.not.ok(policy.allows('10.0.0.6'), 'within the refresh interval');
  now = 2000;
  assert.ok(policy.allows('10.0.0.6'), 'after it, a miss re-reads');
  assert.ok(policy.names().includes('pi.local'));
});

test('static files from the client folder only: types, caching, 304, no dotfiles, no symlinks out', async () => {
  const c = clientFolder();
  const t = await testApp({ clientDir: c.dir });
  const js = await request(t.port, '/assets/main-ABCD1234.js');
  assert.is(js.status, 200);
  assert.match(js.headers['content-type']!, /javascript/);
  assert.is(js.headers['cache-control'], 'public, max-age=31536000, immutable');
  const sw = await request(t.port, '/sw.js');
  assert.equal([sw.status, sw.headers['cache-control']], [200, 'no-cache']);
  const revalidated = await request(t.port, '/sw.js', { headers: { 'if-modified-since': sw.headers['last-modified']! } });
  assert.equal([revalidated.status, revalidated.body.length], [304, 0]);
  assert.is((await request(t.port, '/manifest.webmanifest')).status, 200);
  assert.is((await request(t.port, '/icons/icon-192.png')).headers['content-type'], 'image/png');
  assert.is((await request(t.port, '/alias.js')).status, 200, 'a link inside the folder is fine');

  for (const path of [
    '/.env',
    '/leak.txt',
    '/up/outside.txt',
    '/../outside.txt',
    '/%2e%2e/outside.txt',
    '/assets/',
    '/assets',
    '/icons/missing.png',
    '/nope.js',
    '/sw.js.map',
    '/sw.js%2emap',
    '/SW.JS.MAP',
    '/assets/main-ABCD1234.js.map',
  ]) {
    const res = await request(t.port, path);
    assert.ok(res.status === 404 || res.status === 400 || res.status === 403, `${path}: ${res.status}`);
    assert.not.match(res.text, /private data|SECRET/, path);
    assert.is.not(res.text, INDEX, `${path} is not the SPA`);
  }
  await t.close();
  await c.cleanup();
});

test('SPA fallback: index.html for page routes only; never /api, /ws or missing assets', async () => {
  const c = clientFolder();
  const t = await testApp({ clientDir: c.dir });
  for (const path of [
    '/',
    '/?task=abc',
    '/task/3f0e4a1c-0000-4000-8000-000000000000',
    '/user/dave',
    '/user/Dave/',
    '/user/dave/3f0e4a1c-0000-4000-8000-000000000000',
  ]) {
    const res = await request(t.port, path);
    assert.is(res.status, 200, path);
    assert.is(res.text, INDEX, path);
    assert.match(res.headers['content-type']!, /text\/html/);
    assert.is(res.headers['cache-control'], 'no-cache');
  }
  const mosaicPage = await request(t.port, '/user/dave/3f0e4a1c-0000-4000-8000-000000000000');
  assert.is(
    mosaicPage.headers.link,
    '</api/tasks/3f0e4a1c-0000-4000-8000-000000000000/result/screen>; rel=preload; as=image; fetchpriority=high, ' +
      '</api/tasks/3f0e4a1c-0000-4000-8000-000000000000/mosaic>; rel=preload; as=fetch; crossorigin=anonymous',
    'the screen copy and the mosaic’s JSON start with the script',
  );
  assert.is((await request(t.port, '/user/dave')).headers.link, undefined);
  const head = await request(t.port, '/user/dave', { method: 'HEAD' });
  assert.equal([head.status, head.body.length], [200, 0]);
  for (const path of [
    '/index',
    '/user',
    '/user/x',
    '/user/dave/a/b',
    '/task',
    '/task/a/b',
    '/assets/app.js',
    '/favicon.ico',
    '/setup/',
    '/users/dave',
  ]) {
    const res = await request(t.port, path);
    assert.is(res.status, 404, path);
    assert.is.not(res.text, INDEX, path);
    assert.match(res.text, /<title>Page not found/, path);
  }
  const api = await request(t.port, '/api/tasks');
  assert.equal([api.status, api.json.error.code], [404, 'INVALID_REQUEST']);
  const ws = await request(t.port, '/ws');
  assert.is(ws.status, 426);
  assert.is((await request(t.port, '/user/dave', { method: 'POST' })).status, 404);
  await t.close();
  await c.cleanup();
});

test('a page in its own chunk: a direct visit to its route preloads it (Link rel=modulepreload, from the build’s page-chunks.json)', async () => {
  const c = clientFolder();
  const t = await testApp({ clientDir: c.dir });
  const id = '3f0e4a1c-0000-4000-8000-000000000000';
  const chunks = {
    // Only the build's own scripts are named: anything else in the file is left out.
    task: ['/assets/page-task-AAAA1111.js', 'https://elsewhere.example/x.js', '/assets/a.js>; rel=preload', 7],
    user: ['/assets/page-user-BBBB2222.js', '/assets/chunk-CCCC3333.js'],
    'not-found': ['/assets/page-not-found-DDDD4444.js'],
  };
  writeFileSync(join(c.dir, 'page-chunks.json'), JSON.stringify(chunks));
  const user = ['</assets/page-user-BBBB2222.js>; rel=modulepreload', '</assets/chunk-CCCC3333.js>; rel=modulepreload'];
  assert.is((await request(t.port, '/user/dave')).headers.link, user.join(', '));
  assert.is(
    (await request(t.port, `/user/dave/${id}`)).headers.link,
    [
      `</api/tasks/${id}/result/screen>; rel=preload; as=image; fetchpriority=high`,
      `</api/tasks/${id}/mosaic>; rel=preload; as=fetch; crossorigin=anonymous`,
      ...user,
    ].join(', '),
    'the mosaic page: its image and JSON, then its code',
  );
  assert.is((await request(t.port, `/task/${id}`)).headers.link, '</assets/page-task-AAAA1111.js>; rel=modulepreload');
  assert.is((await request(t.port, '/')).headers.link, undefined, 'home is in the entry, which index.html names');
  // A rebuild shows at once; an unreadable file preloads nothing and breaks nothing.
  writeFileSync(join(c.dir, 'page-chunks.json'), '{not json');
  const res = await request(t.port, '/user/dave');
  assert.equal([res.status, res.headers.link, res.text], [200, undefined, INDEX]);
  await t.close();
  await c.cleanup();
});

test('the 404 page: HTML with lang, title, viewport, its own stylesheet in the app colours, and a link home', async () => {
  const c = clientFolder();
  const t = await testApp({ clientDir: c.dir });
  const res = await request(t.port, '/no/such/page');
  assert.is(res.status, 404);
  assert.match(res.headers['content-type']!, /^text\/html; charset=utf-8/);
  assertSecurityHeaders(res.headers, '404 page');
  assert.match(res.text, /^<!doctype html>\n<html lang="en">/);
  assert.match(res.text, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
  assert.match(res.text, /<title>Page not found · moviemosaic<\/title>/);
  assert.match(res.text, /<a class="button" href="\/">Make a mosaic<\/a>/);
  const href = /<link rel="stylesheet" href="([^"]+)">/.exec(res.text)![1];
  const css = await request(t.port, href);
  assert.equal([css.status, css.headers['content-type']], [200, 'text/css; charset=utf-8']);
  assert.match(css.text, /--mm-accent: #a84300/, 'the app’s palette');
  assert.match(css.text, /prefers-color-scheme: dark/);
  await t.close();
  await c.cleanup();
});

test('compression: brotli or gzip as Accept-Encoding asks, none without it; images and small answers as they are', async () => {
  const c = clientFolder();
  const big = `console.log(${JSON.stringify('moviemosaic '.repeat(2000))});`;
  writeFileSync(join(c.dir, 'assets', 'big-ABCD1234.js'), big);
  writeFileSync(join(c.dir, 'icons', 'big.png'), Buffer.alloc(50_000, 7));
  const t = await testApp({ clientDir: c.dir });
  for (const [accept, encoding] of [
    ['gzip, deflate, br', 'br'],
    ['gzip', 'gzip'],
    [undefined, undefined],
    ['identity', undefined],
  ] as const) {
    const headers: Record<string, string> = accept ? { 'accept-encoding': accept } : {};
    const js = await request(t.port, '/assets/big-ABCD1234.js', { headers });
    assert.is(js.status, 200);
    assert.is(js.headers['content-encoding'], encoding, `JS with ${accept}`);
    assert.match(js.headers.vary ?? '', /Accept-Encoding/i);
    const plain = encoding === 'br' ? brotliDecompressSync(js.body) : encoding === 'gzip' ? gunzipSync(js.body) : js.body;
    assert.is(plain.toString(), big, `JS with ${accept} decodes to the file`);
    if (encoding) assert.ok(js.body.length < big.length / 10, `${encoding}: ${js.body.length} of ${big.length} bytes`);
    const css = await request(t.port, '/not-found.css', { headers });
    assert.is(css.headers['content-encoding'], encoding, `CSS with ${accept}`);
    const png = await request(t.port, '/icons/big.png', { headers });
    assert.equal([png.headers['content-encoding'], png.body.length], [undefined, 50_000], 'images as they are');
  }
  // JSON answers: the gallery list with many items.
  for (let i = 0; i < 20; i++) {
    const task = (await postJson(t.port, '/api/mosaics', { username: `member${i}` })).json.task as { id: string };
    completeWithResult(t.tasks, t.results, task.id, t.clock.now(), Buffer.alloc(30_000, i));
  }
  const list = await request(t.port, '/api/mosaics', { headers: { 'accept-encoding': 'br' } });
  assert.is(list.headers['content-encoding'], 'br');
  assert.is(JSON.parse(brotliDecompressSync(list.body).toString()).mosaics.length, 20);
  const image = await request(t.port, `/api/mosaics`, { headers: { 'accept-encoding': 'br' } });
  const firstId = JSON.parse(brotliDecompressSync(image.body).toString()).mosaics[0].taskId as string;
  const result = await request(t.port, `/api/tasks/${firstId}/result`, { headers: { 'accept-encoding': 'br' } });
  assert.equal([result.headers['content-encoding'], result.body.length], [undefined, 30_000], 'mosaic images as they are');
  const small = await request(t.port, '/healthz', { headers: { 'accept-encoding': 'br' } });
  assert.is(small.headers['content-encoding'], undefined, 'under 1 KB: not worth it');
  await t.close();
  await c.cleanup();
});

test('pages without a built client: 503 naming the build command', async () => {
  const t = await testApp({ clientDir: '/nonexistent/dist/client' });
  const res = await request(t.port, '/');
  assert.is(res.status, 503);
  assert.match(res.text, /npm run build/);
  assert.is((await request(t.port, '/app.js')).status, 404);
  await t.close();
});

test('forwarded headers are not trusted: Host decides, the scheme is the connection’s, and there is no CORS', async () => {
  const t = await testApp();
  const fooled = await request(t.port, '/healthz', {
    headers: { host: 'evil.example', 'x-forwarded-host': 'localhost', forwarded: 'host=localhost' },
  });
  assert.is(fooled.status, 421, 'X-Forwarded-Host does not pass the Host guard');
  const plain = await request(t.port, '/healthz', { headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' } });
  assert.is(plain.status, 200);
  assert.match(
    String(plain.headers['content-security-policy']),
    /connect-src 'self' ws:\/\/127\.0\.0\.1:/,
    'still plain: ws://, not wss://',
  );
  assert.is(plain.headers['strict-transport-security'], undefined);
  for (const [method, headers] of [
    ['GET', { origin: 'https://evil.example' }],
    [
      'OPTIONS',
      {
        origin: 'https://evil.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, cancel-token',
      },
    ],
    ['OPTIONS', { origin: 'https://evil.example', 'access-control-request-method': 'DELETE' }],
  ] as const) {
    const res = await request(t.port, '/api/mosaics', { method, headers });
    for (const h of Object.keys(res.headers)) assert.not.ok(h.startsWith('access-control-'), `${method}: ${h}`);
    if (method === 'OPTIONS') assert.ok(res.status >= 400, `a preflight is not granted (${res.status})`);
  }
  await t.close();
});

test.run();
