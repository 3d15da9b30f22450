/**
 * The full app over HTTPS on a LAN-style name (issue 7), in real Chromium: the real server with
 * HTTPS=1 and its own CA under DATA_DIR/tls, the real worker, the fake Letterboxd. The browser trusts
 * that CA (as a device does after /setup) and resolves the name to 127.0.0.1. The same name over plain
 * HTTP with HTTPS off (the insecure-context banner and the setup link) is in pwa.serial.test.ts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { currentMonth, type MosaicParams } from '../../common/task.js';
import { OWN_CA_FILES } from '../../server/tls/index.js';
import { expectedFilms } from '../helpers/fakeLetterboxd.js';
import { request } from '../helpers/server.js';
import { launchTrustingBrowser, type TrustingBrowser } from '../helpers/browser/trustingBrowser.js';
import { startApp, type App } from '../helpers/browser/app.js';
import {
  DESKTOP,
  ID,
  MOSAIC_IMG,
  installPageHelpers,
  taskFrames,
  waitForImages,
  waitForProgress,
  watchSockets,
  type SocketLog,
} from '../helpers/browser/page.js';

const LAN = 'moviemosaic-test.lan';

let app: App;
let b: TrustingBrowser;
let sockets: SocketLog;
let origin = '';
let mosaicPath = '';

test.before(async () => {
  app = await startApp({ https: true, allowedHosts: [LAN], gated: ['marathon'] });
  assert.ok(app.httpsPort, 'HTTPS is listening');
  origin = `https://${LAN}:${app.httpsPort}`;
  const caPem = readFileSync(join(app.dataDir, 'tls', OWN_CA_FILES.caCert), 'utf8');
  b = await launchTrustingBrowser({ caPem, hostMap: [LAN], viewport: DESKTOP });
  b.context.setDefaultTimeout(20_000);
  await installPageHelpers(b.context);
  sockets = watchSockets(b.page);
});

test.after(async () => {
  await b?.close();
  await app?.stop();
});

/** A plain-HTTP request to the server under the LAN name (Node does not resolve it; the Host header says it). */
const plainGet = (path: string) => request(app.httpPort, path, { headers: { host: `${LAN}:${app.httpPort}` } });

test('on https://LAN-name/: a secure context, an active service worker, nothing in the way of installing', async () => {
  const { page } = b;
  const res = await page.goto(`${origin}/`);
  assert.is(res?.status(), 200);
  assert.match(res?.headers()['content-security-policy'] ?? '', `connect-src 'self' wss://${LAN}:${app.httpsPort}`);
  await page.locator('page-home h1').waitFor();
  assert.is(await page.evaluate(() => window.isSecureContext), true);
  await page.waitForFunction(
    async () => navigator.serviceWorker.controller !== null && (await navigator.serviceWorker.ready).active?.state === 'activated',
  );
  assert.is(await page.locator('mm-insecure-banner aside').count(), 0, 'no insecure-context banner');

  const cdp = await b.context.newCDPSession(page);
  const { installabilityErrors } = (await cdp.send('Page.getInstallabilityErrors')) as { installabilityErrors: { errorId: string }[] };
  assert.equal(
    installabilityErrors.map((e) => e.errorId),
    [],
  );
  await cdp.detach();
  assert.equal(b.problems, [], 'no console errors, certificate errors or CSP violations');
});

test('a mosaic through the form completes with live progress over wss:', async () => {
  const { page } = b;
  const total = expectedFilms(app.lb.members.get('marathon')!, { mode: 'month', month: currentMonth(new Date()) } as MosaicParams).length;
  await page.goto(`${origin}/`);
  await page.locator('page-home mm-mosaic-form #username').fill('marathon');
  app.gate.hold();
  try {
    await page.locator('page-home mm-mosaic-form button[type=submit]').click();
    await page.waitForURL(new RegExp(`/task/${ID}$`));
    const taskId = page.url().split('/').pop()!;
    await app.gate.held(1);
    await waitForProgress(page, total, 0);
    app.gate.release(15);
    await waitForProgress(page, total, 15);
    app.gate.release();
    await page.waitForURL(`${origin}/user/marathon/${taskId}`);
    await waitForImages(page, MOSAIC_IMG);
    mosaicPath = new URL(page.url()).pathname;

    const frames = taskFrames(sockets, taskId);
    assert.ok(frames.length > 0 && frames.every((f) => f.url === `wss://${LAN}:${app.httpsPort}/ws`), 'task frames came over wss:');
    assert.ok(
      frames.some((f) => f.task.progress?.done === 15 && f.task.progress.total === total),
      'the frames carried the progress',
    );
    assert.is(frames[frames.length - 1].task.status, 'COMPLETE');
  } finally {
    app.gate.release();
  }
  assert.equal(b.problems, []);
});

test('a past mosaic loads offline', async () => {
  const { page, context } = b;
  assert.ok(mosaicPath, 'needs the mosaic of the earlier test');
  await context.setOffline(true);
  try {
    await page.goto(`${origin}${mosaicPath}`);
    await page.reload();
    await page.locator('page-user h1', { hasText: 'marathon · ' }).waitFor();
    await waitForImages(page, MOSAIC_IMG);
    await page.locator('mm-offline-indicator span', { hasText: 'Offline' }).waitFor();
  } finally {
    await context.setOffline(false);
    // Offline fetches (the gallery, the socket) log network errors by design.
    b.problems.length = 0;
  }
});

test('plain HTTP on the LAN name redirects to HTTPS, except /setup and the CA', async () => {
  const { page } = b;
  const res = await page.goto(`http://${LAN}:${app.httpPort}${mosaicPath}?from=http`);
  assert.is(page.url(), `${origin}${mosaicPath}?from=http`);
  assert.is(res?.status(), 200);
  await waitForImages(page, MOSAIC_IMG);

  const setupUrl = `http://${LAN}:${app.httpPort}/setup`;
  const setup = await page.goto(setupUrl);
  assert.is(setup?.status(), 200);
  assert.is(page.url(), setupUrl, '/setup stays on plain HTTP');
  await page.locator('h1', { hasText: 'Set up moviemosaic on this device' }).waitFor();
  assert.ok((await page.locator('a[href="/ca.crt"]').count()) > 0, 'the page offers the CA');
  const ca = await plainGet('/ca.crt');
  assert.is(ca.status, 200);
  assert.match(ca.text, '-----BEGIN CERTIFICATE-----');
  const api = await plainGet('/api/mosaics');
  assert.is(api.status, 308);
  assert.is(api.headers.location, `${origin}/api/mosaics`);
  // Known defect (reported): the setup page names no icon, so Chromium asks for /favicon.ico, which
  // plain HTTP redirects to HTTPS, where the page's img-src 'self' blocks it. Tolerated only while the
  // page names no icon.
  const namesIcon = (await page.locator('link[rel~="icon"]').count()) > 0;
  const expected = (p: string) =>
    p.includes('Cross-Origin-Opener-Policy header has been ignored') || (!namesIcon && p.includes('/favicon.ico'));
  assert.equal(
    b.problems.filter((p) => !expected(p)),
    [],
  );
});

test.run();
