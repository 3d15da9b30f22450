/**
 * Real Chromium against a small HTTPS server using the built-in CA's server certificate for a
 * LAN-style name: once the CA is trusted (as /setup has a device do), the page is a secure context, a
 * service worker registers and activates, and a wss: socket works under the CSP connect-src helper.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { openOwnCa, keepSecureContext, httpsServerOptions, connectSources, type TlsSource } from '../../../server/tls/index.js';
import { systemClock } from '../../../common/clock.js';
import { tmpDir } from '../../helpers/tmp.js';
import { launchTrustingBrowser, type TrustingBrowser } from '../../helpers/browser/trustingBrowser.js';
import { memoryLog } from '../../helpers/tls.js';
import { wsText } from '../../../server/live/wsText.js';

const LAN = 'moviemosaic-test.lan';
const LATER = 'moviemosaic-later.lan';

const PAGE = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>tls test</title></head><body><p>hello</p></body></html>';
const SW = `self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));
self.addEventListener('fetch', () => {});
`;

let data: { dir: string; cleanup(): void };
let tls: TlsSource;
let server: Server;
let wss: WebSocketServer;
let port = 0;
let names = ['localhost', LAN];
let trusted: TrustingBrowser;

test.before(async () => {
  data = tmpDir('mm-tls-browser-');
  tls = await openOwnCa({
    dir: `${data.dir}/tls`,
    hostname: 'moviemosaic-test',
    names: () => names,
    pinned: [LAN],
    clock: systemClock,
    log: memoryLog().log,
  });
  server = createServer(httpsServerOptions(tls), (req, res) => {
    // The app's CSP shape, with connect-src from the helper under test.
    res.setHeader(
      'Content-Security-Policy',
      `default-src 'self'; script-src 'self'; style-src 'self'; connect-src ${connectSources(req.headers.host, true).join(' ')}; worker-src 'self'`,
    );
    if (req.url === '/sw.js') {
      res.setHeader('Content-Type', 'text/javascript');
      res.end(SW);
    } else if (req.url === '/') {
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      res.end(PAGE);
    } else if (req.url === '/favicon.ico') {
      res.statusCode = 204; // the browser asks for it; a 404 would show as a console error
      res.end();
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  keepSecureContext(server, tls);
  wss = new WebSocketServer({ server, path: '/ws' });
  wss.on('connection', (socket, req) => {
    socket.on('message', (m) => socket.send(`echo ${wsText(m)} from ${req.headers.origin}`));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  trusted = await launchTrustingBrowser({ caPem: tls.caCertPem(), hostMap: [LAN, LATER] });
});

test.after(async () => {
  await trusted?.close();
  for (const c of wss?.clients ?? []) c.terminate();
  wss?.close();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  data?.cleanup();
});

test('with the CA trusted, the LAN name is a secure context with a service worker and a wss: socket', async () => {
  const { page } = trusted;
  const origin = `https://${LAN}:${port}`;
  const res = await page.goto(`${origin}/`);
  assert.is(res?.status(), 200);
  const state = await page.evaluate(async () => {
    const secure = window.isSecureContext;
    const reg = await navigator.serviceWorker.register('/sw.js');
    const ready = await navigator.serviceWorker.ready;
    const active = ready.active;
    if (active && active.state !== 'activated') {
      await new Promise<void>((resolve) => active.addEventListener('statechange', () => active.state === 'activated' && resolve()));
    }
    const echo = await new Promise<string>((resolve, reject) => {
      const ws = new WebSocket(`wss://${location.host}/ws`);
      ws.onopen = () => ws.send('ping');
      ws.onmessage = (e) => {
        resolve(String(e.data));
        ws.close();
      };
      ws.onerror = () => reject(new Error('websocket failed'));
    });
    return { secure, scope: reg.scope, active: ready.active?.state, echo, protocol: location.protocol };
  });
  assert.is(state.secure, true, 'window.isSecureContext');
  assert.is(state.protocol, 'https:');
  assert.is(state.scope, `${origin}/`);
  assert.is(state.active, 'activated');
  assert.is(state.echo, `echo ping from ${origin}`);
  assert.equal(trusted.problems, [], 'no console errors or CSP violations');
});

test('after a renewal for a new name (same CA), the new name is trusted too', async () => {
  names = ['localhost', LAN, LATER];
  assert.is(await tls.checkOnce(), true);
  const res = await trusted.page.goto(`https://${LATER}:${port}/`);
  assert.is(res?.status(), 200);
  assert.is(await trusted.page.evaluate(() => window.isSecureContext), true);
});

test('control: a browser that does not trust the CA refuses the certificate', async () => {
  const untrusted = await launchTrustingBrowser({ caPem: null, hostMap: [LAN] });
  try {
    let error = '';
    try {
      await untrusted.page.goto(`https://${LAN}:${port}/`);
    } catch (err) {
      error = (err as Error).message;
    }
    assert.match(error, /ERR_CERT_AUTHORITY_INVALID/);
  } finally {
    await untrusted.close();
  }
});

test.run();
