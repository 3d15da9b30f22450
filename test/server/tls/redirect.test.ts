/** The plain-HTTP redirect rules, the addresses shown to people, the CSP socket origin, the banner. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { request, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import {
  httpsRedirect,
  servedOnPlainHttp,
  appHosts,
  phoneHost,
  connectSources,
  originFor,
  startupBanner,
} from '../../../server/tls/index.js';
import { createCaCert, readCert } from '../../../server/tls/x509.js';

let server: Server;
let port = 0;

function send(method: string, path: string, host: string): Promise<{ status: number; location?: string; cache?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { Host: host } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, location: res.headers.location, cache: res.headers['cache-control'], body }));
    });
    req.on('error', reject);
    req.end(method === 'POST' ? '{"username":"dave"}' : undefined);
  });
}

test.before(async () => {
  const app = new Koa();
  app.use(httpsRedirect({ httpsPort: () => 8443 }));
  app.use((ctx) => {
    ctx.body = `served ${ctx.path}`;
  });
  server = createServer(app.callback());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

test.after(() => new Promise<void>((r) => server.close(() => r())));

test('everything else on plain HTTP goes to the HTTPS port: 308, same host, path and query kept', async () => {
  const cases: [string, string, string, string][] = [
    ['GET', '/', 'pi.local:8080', 'https://pi.local:8443/'],
    ['GET', '/user/dave/123?x=1&y=%20', 'pi.local:8080', 'https://pi.local:8443/user/dave/123?x=1&y=%20'],
    ['POST', '/api/mosaics', '192.168.1.20:8080', 'https://192.168.1.20:8443/api/mosaics'],
    ['GET', '/sw.js', '[fd00::5]:8080', 'https://[fd00::5]:8443/sw.js'],
    ['GET', '/manifest.webmanifest', 'PI.LOCAL', 'https://pi.local:8443/manifest.webmanifest'],
    ['GET', '/setupx', 'pi.local:8080', 'https://pi.local:8443/setupx'],
    ['GET', '/ca.crt.bak', 'pi.local:8080', 'https://pi.local:8443/ca.crt.bak'],
    ['GET', '//evil.example/x', 'pi.local:8080', 'https://pi.local:8443//evil.example/x'],
  ];
  for (const [method, path, host, location] of cases) {
    const r = await send(method, path, host);
    assert.is(r.status, 308, `${method} ${path}`);
    assert.is(r.location, location, `${method} ${path}`);
    assert.is(r.cache, 'no-store', 'a redirect the browser does not keep for ever');
    assert.ok(r.body.includes(location));
  }
});

test('setup, its assets, the CA downloads and the health check stay on plain HTTP', async () => {
  for (const path of [
    '/setup',
    '/setup/',
    '/setup/setup.css',
    '/setup/qr.svg',
    '/ca.crt',
    '/ca.der',
    '/ca.mobileconfig',
    '/healthz',
    '/healthz?x=1',
  ]) {
    const r = await send('GET', path, 'pi.local:8080');
    assert.is(r.status, 200, path);
    assert.is(r.body, `served ${path.replace(/\?.*/, '')}`);
  }
  assert.ok(servedOnPlainHttp('/setup/anything'));
  assert.not.ok(servedOnPlainHttp('/'));
  assert.not.ok(servedOnPlainHttp('/api/tasks/1'));
});

test('a request without a usable Host is left to the Host guard, never redirected', async () => {
  const r = await send('GET', '/', 'not a host!');
  assert.is(r.status, 200);
  assert.is(r.location, undefined);
});

test('the HTTPS port 443 is left out of the address', async () => {
  const app = new Koa();
  app.use(httpsRedirect({ httpsPort: () => 443 }));
  const s = createServer(app.callback());
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const saved = port;
  port = (s.address() as AddressInfo).port;
  try {
    assert.is((await send('GET', '/x', 'movies.example.net')).location, 'https://movies.example.net/x');
  } finally {
    port = saved;
    await new Promise((r) => s.close(r));
  }
});

test('requests that came over TLS pass through (one app serves both ports)', async () => {
  const app = new Koa();
  app.use(httpsRedirect({ httpsPort: () => 8443 }));
  app.use((ctx) => {
    ctx.body = 'app';
  });
  const ctx = app.createContext(
    Object.assign(Object.create(null), {
      url: '/',
      method: 'GET',
      headers: { host: 'pi.local:8443' },
      socket: { encrypted: true },
    }) as never,
    { getHeader() {}, setHeader() {}, removeHeader() {} } as never,
  );
  assert.ok(ctx.secure);
  let passed = false;
  await httpsRedirect({ httpsPort: () => 8443 })(ctx, async () => {
    passed = true;
  });
  assert.ok(passed);
});

test('appHosts: localhost, .local, other names, LAN IPv4; no IPv6 or loopback addresses', () => {
  const names = ['localhost', 'pi', 'pi.local', 'movies.lan', '192.168.1.20', '10.8.0.1', '127.0.0.1', '::1', 'fe80::1', '2001:db8::9'];
  assert.equal(appHosts({ names, bindHost: '0.0.0.0' }), ['localhost', 'pi.local', 'pi', 'movies.lan', '192.168.1.20', '10.8.0.1']);
  assert.equal(appHosts({ names, bindHost: '::' }).length, 6);
  assert.equal(appHosts({ names, bindHost: '192.168.1.20' }), ['192.168.1.20']);
  assert.equal(appHosts({ names, bindHost: '127.0.0.1' }), ['localhost']);
  assert.equal(appHosts({ names, bindHost: '0.0.0.0', covers: (h) => h.endsWith('.lan') }), ['movies.lan']);
});

test('phoneHost: the address the request came on, else LAN IPv4, else .local', () => {
  const hosts = ['localhost', 'pi.local', 'pi', '192.168.1.20'];
  assert.is(phoneHost(hosts, 'pi.local:8080'), 'pi.local');
  assert.is(phoneHost(hosts, 'localhost:8080'), '192.168.1.20');
  assert.is(phoneHost(hosts, 'unknown.example'), '192.168.1.20');
  assert.is(phoneHost(['localhost', 'pi.local']), 'pi.local');
  assert.is(phoneHost(['localhost']), null);
});

test('connectSources: the exact socket origin for the scheme, port included', () => {
  assert.equal(connectSources('pi.local:8443', true), ["'self'", 'wss://pi.local:8443']);
  assert.equal(connectSources('PI.local:8080', false), ["'self'", 'ws://pi.local:8080']);
  assert.equal(connectSources('movies.example.net', true), ["'self'", 'wss://movies.example.net']);
  assert.equal(connectSources('[fd00::5]:8443', true), ["'self'", 'wss://[fd00::5]:8443']);
  assert.equal(connectSources('evil; script-src *', true), ["'self'"]);
  assert.equal(connectSources(undefined, true), ["'self'"]);
  assert.is(originFor('http', 'pi.local', 80), 'http://pi.local');
});

test('startupBanner with the built-in CA: HTTPS addresses, the setup address for the phone, fingerprint, QR', async () => {
  const ca = await createCaCert({ commonName: 'moviemosaic local CA (pi)', now: new Date(), days: 10 });
  const text = await startupBanner({
    names: ['localhost', 'pi', 'pi.local', '192.168.1.20'],
    bindHost: '0.0.0.0',
    httpPort: 8080,
    https: { port: 8443, tls: { caCertPem: () => ca.cert, covers: () => true } },
  });
  for (const line of ['  https://localhost:8443/', '  https://pi.local:8443/', '  https://192.168.1.20:8443/'])
    assert.ok(text.includes(`${line}\n`), line);
  assert.ok(text.includes('open http://192.168.1.20:8080/setup'));
  assert.ok(text.includes(readCert(ca.cert).fingerprint256));
  assert.match(text, /[▀▄█]/, 'a QR code drawn with block characters');

  const quiet = await startupBanner({
    names: ['localhost'],
    bindHost: '0.0.0.0',
    httpPort: 8080,
    https: { port: 8443, tls: { caCertPem: () => ca.cert, covers: () => true } },
    qr: false,
  });
  assert.not.match(quiet, /[▀▄█]/);
  assert.ok(quiet.includes('open http://localhost:8080/setup'));
});

test('startupBanner with TLS_CERT or HTTPS off', async () => {
  const own = await startupBanner({
    names: ['localhost', 'pi.local', 'movies.example.net'],
    bindHost: '0.0.0.0',
    httpPort: 80,
    https: { port: 443, tls: { caCertPem: () => null, covers: (h) => h === 'movies.example.net' } },
    qr: false,
  });
  assert.ok(own.includes('  https://movies.example.net/'));
  assert.not.ok(own.includes('pi.local'));
  assert.ok(own.includes('open https://movies.example.net/'));
  const off = await startupBanner({ names: ['localhost', 'pi.local'], bindHost: '0.0.0.0', httpPort: 8080, https: null, qr: false });
  assert.ok(off.includes('  http://pi.local:8080/'));
  assert.ok(off.includes('HTTPS=1'));
});

test.run();
