/** /setup and the CA downloads, through a real Koa app on plain HTTP and HTTPS (127.0.0.1, port 0). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { request as httpRequest, createServer as createHttp, type Server } from 'node:http';
import { request as httpsRequest, createServer as createHttps } from 'node:https';
import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { createSetupRoutes, type SetupDeps } from '../../../server/setup/routes.js';
import { openOwnCa, httpsRedirect, httpsServerOptions, type TlsSource } from '../../../server/tls/index.js';
import { createCaCert, issueServerCert, readCert } from '../../../server/tls/x509.js';
import { systemClock } from '../../../common/clock.js';
import { tmpDir } from '../../helpers/tmp.js';
import { memoryLog } from '../../helpers/tls.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
}

/** One request with a chosen Host header (fetch cannot set it). */
function get(
  port: number,
  path: string,
  opts: { host?: string; secure?: boolean; ca?: string; method?: string; ua?: string } = {},
): Promise<Reply> {
  const request = opts.secure ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: opts.method ?? 'GET',
        headers: { Host: opts.host ?? `localhost:${port}`, ...(opts.ua ? { 'User-Agent': opts.ua } : {}) },
        ca: opts.ca,
        servername: 'localhost',
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode!, headers: res.headers, body, text: body.toString('utf8') });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const NAMES = ['localhost', 'pi', 'pi.local', '192.168.1.20', 'fe80::1'];

let data: { dir: string; cleanup(): void };
let tls: TlsSource;
let plain: Server;
let secure: Server;
let httpPort = 0;
let httpsPort = 0;

/** A Koa app with the redirect and the setup routes in front of a stand-in for the rest of the app. */
function app(deps: SetupDeps, redirect: boolean): Koa {
  const a = new Koa();
  if (redirect) a.use(httpsRedirect({ httpsPort: () => httpsPort }));
  a.use(createSetupRoutes(deps));
  a.use((ctx) => {
    ctx.body = 'the app';
  });
  return a;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

test.before(async () => {
  data = tmpDir('mm-setup-');
  tls = await openOwnCa({ dir: `${data.dir}/tls`, hostname: 'pi', names: () => NAMES, clock: systemClock, log: memoryLog().log });
  const deps: SetupDeps = {
    names: () => NAMES,
    bindHost: '0.0.0.0',
    hostname: 'pi',
    httpPort: () => httpPort,
    https: { port: () => httpsPort, tls },
  };
  const callback = app(deps, true).callback();
  plain = createHttp(callback);
  secure = createHttps(httpsServerOptions(tls), callback);
  httpPort = await listen(plain);
  httpsPort = await listen(secure);
});

test.after(async () => {
  for (const s of [plain, secure]) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  data.cleanup();
});

test('the setup page: addresses, QR, downloads, steps, fingerprint; no inline script or style', async () => {
  const r = await get(httpPort, '/setup', {
    host: `192.168.1.20:${httpPort}`,
    ua: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)',
  });
  assert.is(r.status, 200);
  assert.is(r.headers['content-type'], 'text/html; charset=utf-8');
  assert.is(r.headers['cache-control'], 'no-store');
  for (const url of [
    `https://localhost:${httpsPort}/`,
    `https://pi.local:${httpsPort}/`,
    `https://pi:${httpsPort}/`,
    `https://192.168.1.20:${httpsPort}/`,
  ]) {
    assert.ok(r.text.includes(`href="${url}"`), `lists ${url}`);
  }
  assert.not.ok(r.text.includes('fe80'), 'no IPv6 link-local address to type');
  assert.ok(r.text.includes('<img class="qr" src="/setup/qr.svg"'));
  assert.ok(r.text.includes(`alt="QR code for https://192.168.1.20:${httpsPort}/"`), 'the QR code is for the address this phone used');
  for (const link of ['/ca.mobileconfig', '/ca.der', '/ca.crt']) assert.ok(r.text.includes(`href="${link}"`), link);
  assert.ok(r.text.includes(readCert(tls.caCertPem()!).fingerprint256));
  assert.ok(r.text.includes('Certificate Trust Settings'));
  assert.ok(r.text.includes('moviemosaic local CA (pi)'));
  assert.match(r.text, /<details open>\s*<summary>iPhone and iPad/, 'the iPhone steps open for an iPhone');
  assert.match(r.text, /<link rel="stylesheet" href="\/setup\/setup.css">/);
  assert.not.match(r.text, /<script|<style|\sstyle=|\son[a-z]+=/i);

  const android = await get(httpPort, '/setup', { ua: 'Mozilla/5.0 (Linux; Android 14; Pixel 8)' });
  assert.match(android.text, /<details open>\s*<summary>Android/);
});

test('the setup page from this machine (localhost) puts the LAN address in the QR code', async () => {
  const r = await get(httpPort, '/setup', { host: `localhost:${httpPort}` });
  assert.ok(r.text.includes(`alt="QR code for https://192.168.1.20:${httpsPort}/"`));
});

test('the setup page over HTTPS says so', async () => {
  const r = await get(httpsPort, '/setup', { secure: true, ca: tls.caCertPem()!, host: `localhost:${httpsPort}` });
  assert.is(r.status, 200);
  assert.ok(r.text.includes('You opened this page over HTTPS'));
});

test('stylesheet and QR code', async () => {
  const css = await get(httpPort, '/setup/setup.css');
  assert.is(css.status, 200);
  assert.is(css.headers['content-type'], 'text/css; charset=utf-8');
  assert.match(css.text, /\.qr \{/);
  const qr = await get(httpPort, '/setup/qr.svg', { host: `pi.local:${httpPort}` });
  assert.is(qr.status, 200);
  assert.is(qr.headers['content-type'], 'image/svg+xml');
  assert.match(qr.text, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.not.match(qr.text, /style=|<script/i);
  const again = await get(httpPort, '/setup/qr.svg', { host: `192.168.1.20:${httpPort}` });
  assert.is.not(again.text, qr.text, 'the code follows the address the page was opened on');
});

test('/ca.crt (PEM), /ca.der (DER) and /ca.mobileconfig hold the same CA certificate, never a key', async () => {
  const pem = await get(httpPort, '/ca.crt');
  assert.is(pem.status, 200);
  assert.is(pem.headers['content-type'], 'application/x-pem-file');
  assert.match(String(pem.headers['content-disposition']), /attachment; filename="moviemosaic-ca.crt"/);
  assert.match(pem.text, /^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n$/);
  assert.is((pem.text.match(/BEGIN/g) ?? []).length, 1);

  const der = await get(httpPort, '/ca.der');
  assert.is(der.status, 200);
  assert.is(der.headers['content-type'], 'application/x-x509-ca-cert');
  assert.ok(new X509Certificate(der.body).raw.equals(new X509Certificate(pem.text).raw), 'DER and PEM are the same certificate');
  assert.ok(der.body.equals(new X509Certificate(tls.caCertPem()!).raw));
  assert.ok(new X509Certificate(der.body).ca);

  const profile = await get(httpPort, '/ca.mobileconfig');
  assert.is(profile.status, 200);
  assert.is(profile.headers['content-type'], 'application/x-apple-aspen-config');
  assert.match(profile.text, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<!DOCTYPE plist/);
  assert.match(profile.text, /<key>PayloadType<\/key>\s*<string>com.apple.security.root<\/string>/);
  assert.match(profile.text, /<key>PayloadType<\/key>\s*<string>Configuration<\/string>/);
  const data = /<data>([\s\S]*?)<\/data>/.exec(profile.text)![1].replace(/\s+/g, '');
  assert.ok(Buffer.from(data, 'base64').equals(der.body), 'the profile carries the same DER');
  const uuids = [...profile.text.matchAll(/<key>PayloadUUID<\/key>\s*<string>([^<]+)<\/string>/g)].map((m) => m[1]);
  assert.is(uuids.length, 2);
  for (const u of uuids) assert.match(u, /^[0-9A-F]{8}-[0-9A-F]{4}-5[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
  assert.is.not(uuids[0], uuids[1]);
  assert.is((await get(httpPort, '/ca.mobileconfig')).text, profile.text, 'stable: a second download replaces the first on the device');

  for (const r of [pem, der, profile]) assert.not.match(r.body.toString('latin1'), /PRIVATE KEY/);
});

test('HEAD is answered, other methods get 405; other paths pass through', async () => {
  const head = await get(httpPort, '/ca.der', { method: 'HEAD' });
  assert.is(head.status, 200);
  assert.is(head.body.length, 0);
  const post = await get(httpPort, '/setup', { method: 'POST' });
  assert.is(post.status, 405);
  assert.is(post.headers.allow, 'GET, HEAD');
  assert.is((await get(httpsPort, '/setup/other', { secure: true, ca: tls.caCertPem()! })).text, 'the app');
  assert.is((await get(httpPort, '/setup/', {})).status, 200);
});

test('with TLS_CERT/TLS_KEY: no CA downloads, only names the certificate covers', async () => {
  const ca = await createCaCert({ commonName: 'some CA', now: new Date(), days: 30 });
  const own = await issueServerCert({ ca, names: { dns: ['movies.example.net'], ips: [] }, now: new Date(), days: 20 });
  const files: Pick<TlsSource, 'kind' | 'caCertPem' | 'covers'> = {
    kind: 'files',
    caCertPem: () => null,
    covers: (h) => new X509Certificate(own.cert).checkHost(h) !== undefined,
  };
  const server = createHttp(
    app(
      {
        names: () => [...NAMES, 'movies.example.net'],
        bindHost: '0.0.0.0',
        hostname: 'pi',
        httpPort: () => 1,
        https: { port: () => 443, tls: files },
      },
      false,
    ).callback(),
  );
  const port = await listen(server);
  try {
    const page = await get(port, '/setup', { host: 'movies.example.net' });
    assert.ok(page.text.includes('href="https://movies.example.net/"'), 'port 443 left out');
    assert.not.ok(page.text.includes('pi.local'), 'names the certificate does not cover are not offered');
    assert.not.ok(page.text.includes('/ca.mobileconfig'));
    assert.ok(page.text.includes('TLS_CERT'));
    for (const p of ['/ca.crt', '/ca.der', '/ca.mobileconfig']) {
      const r = await get(port, p);
      assert.is(r.status, 404, p);
      assert.match(r.text, /no local CA/);
    }
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test('with HTTPS off: the page explains how to turn it on; no downloads', async () => {
  const server = createHttp(
    app({ names: () => NAMES, bindHost: '0.0.0.0', hostname: 'pi', httpPort: () => 8080, https: null }, false).callback(),
  );
  const port = await listen(server);
  try {
    const page = await get(port, '/setup', { host: 'pi.local:8080' });
    assert.ok(page.text.includes('HTTPS=1'));
    assert.ok(page.text.includes('href="http://pi.local:8080/"'));
    assert.ok(page.text.includes('alt="QR code for http://pi.local:8080/"'));
    assert.is((await get(port, '/ca.crt')).status, 404);
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test.run();
