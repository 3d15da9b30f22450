/** TRUST_PROXY (server/forwarded.ts): forwarded headers believed only from the proxies named. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { IncomingMessage } from 'node:http';
import { forwarded, parseTrustProxy } from '../../server/forwarded.js';
import { clientKey, requestFrom, trustProxies } from '../../server/clientKey.js';
import { loadConfig } from '../../common/config.js';
import { cleanup, postJson, request, testApp } from '../helpers/server.js';

test.after.each(cleanup);

const req = (remoteAddress: string, headers: Record<string, string> = {}, encrypted = false) =>
  ({ socket: { remoteAddress, encrypted }, headers: { host: 'pi.lan:8080', ...headers } }) as unknown as IncomingMessage;

const forged = { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' };

test('off (the default, and every spelling of it): headers change nothing', () => {
  for (const raw of [undefined, '', 'off', 'false', '0']) assert.is(parseTrustProxy(raw), null, String(raw));
  const r = req('192.168.1.9', forged);
  assert.equal(forwarded(r, null), { address: '192.168.1.9', scheme: 'http', host: 'pi.lan:8080', schemeForwarded: false });
  assert.is(clientKey({ req: r }), '192.168.1.9', 'an unmarked request trusts nobody');
});

test('a list: X-Forwarded-* believed from a listed proxy, and only from it', () => {
  const trust = parseTrustProxy('127.0.0.1, 10.0.0.0/8')!;
  const viaProxy = req('127.0.0.1', {
    'x-forwarded-for': '203.0.113.7',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'mosaic.example',
  });
  assert.equal(forwarded(viaProxy, trust), { address: '203.0.113.7', scheme: 'https', host: 'mosaic.example', schemeForwarded: true });
  // A visitor who connects directly and forges the headers is still itself.
  assert.equal(forwarded(req('198.51.100.4', forged), trust), {
    address: '198.51.100.4',
    scheme: 'http',
    host: 'pi.lan:8080',
    schemeForwarded: false,
  });
  // A forged entry the visitor put before the proxy's: the walk stops at the first untrusted address.
  const chained = req('127.0.0.1', { 'x-forwarded-for': '6.6.6.6, 203.0.113.7, 10.1.2.3' });
  assert.is(forwarded(chained, trust).address, '203.0.113.7');
  assert.is(forwarded(req('::ffff:127.0.0.1', { 'x-forwarded-for': '203.0.113.7' }), trust).address, '203.0.113.7', 'mapped IPv4 peer');
});

test('a hop count: that many nearest addresses are proxies', () => {
  const one = parseTrustProxy('1')!;
  const r = req('192.168.1.2', { 'x-forwarded-for': '6.6.6.6, 203.0.113.7' });
  assert.is(forwarded(r, one).address, '203.0.113.7', 'the one proxy vouches for its peer only');
  assert.is(forwarded(r, parseTrustProxy('2')).address, '6.6.6.6');
  assert.is(forwarded(req('192.168.1.2'), one).address, '192.168.1.2', 'no header: the peer');
});

test('Forwarded (RFC 7239) is read like X-Forwarded-*, ports and brackets removed', () => {
  const trust = parseTrustProxy('loopback')!;
  const r = req('::1', { forwarded: 'for=6.6.6.6, for="[2001:db8::7]:4711";proto=https;host=mosaic.example' });
  assert.equal(forwarded(r, trust), { address: '2001:db8::7', scheme: 'https', host: 'mosaic.example', schemeForwarded: true });
  assert.is(forwarded(req('::1', { forwarded: 'for="203.0.113.7:5000"' }), trust).address, '203.0.113.7');
  assert.is(forwarded(req('::1', { forwarded: 'for=;;;===' }), trust).address, '::1', 'a malformed header says nothing');
});

test('clientKey and requestFrom see the forwarded visitor once the request is marked', () => {
  const r = req('127.0.0.1', { 'x-forwarded-for': '2001:db8:1:2::99', 'x-forwarded-proto': 'https' });
  assert.is(clientKey({ req: r }), '127.0.0.1');
  trustProxies(r, parseTrustProxy('127.0.0.1'));
  assert.is(clientKey({ req: r }), '2001:db8:1:2::/64');
  assert.is(requestFrom(r).scheme, 'https');
});

test('a bad list is refused with a sentence', () => {
  assert.throws(() => parseTrustProxy('10.0.0.0/99'), /TRUST_PROXY/);
  assert.throws(() => parseTrustProxy('nginx.local'), /TRUST_PROXY/);
  assert.throws(() => parseTrustProxy('50'), /at most 20/);
});

test('the cross-site check compares Origin with the origin the visitor used behind a trusted proxy', async () => {
  const t = await testApp({ trustProxy: parseTrustProxy('127.0.0.1') });
  const viaProxy = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'mosaic.example', 'x-forwarded-for': '203.0.113.9' };
  const post = (origin: string, headers: Record<string, string> = viaProxy) =>
    postJson(t.port, '/api/mosaics', { username: 'dave' }, { origin, ...headers });
  assert.is((await post('https://mosaic.example')).status, 202, 'the visitor’s own page');
  assert.is((await post('http://mosaic.example')).status, 403, 'the same name over http is another origin');
  assert.is((await post(`http://127.0.0.1:${t.port}`)).status, 403, 'the proxy’s side of the connection is not the visitor’s origin');
  // The Host guard sees the forwarded host too.
  const rebound = await request(t.port, '/api/mosaics', { headers: { ...viaProxy, 'x-forwarded-host': 'evil.example' } });
  assert.is(rebound.status, 421);
  await t.close();
  // Untrusted (the default): the headers are ignored, and the connection's own Host and Origin count.
  const plain = await testApp();
  assert.is(
    (await postJson(plain.port, '/api/mosaics', { username: 'dave' }, { origin: 'https://mosaic.example', ...viaProxy })).status,
    403,
  );
  assert.is(
    (await postJson(plain.port, '/api/mosaics', { username: 'dave' }, { origin: `http://127.0.0.1:${plain.port}`, ...viaProxy })).status,
    202,
  );
  await plain.close();
});

test('the setting: off by default, anything else checked at start with a sentence', () => {
  assert.is(loadConfig({}).trustProxy, null);
  assert.is(loadConfig({ TRUST_PROXY: 'off' }).trustProxy, null);
  assert.is(loadConfig({ TRUST_PROXY: '127.0.0.1, 10.0.0.0/8' }).trustProxy, '127.0.0.1, 10.0.0.0/8');
  assert.throws(() => loadConfig({ TRUST_PROXY: 'true; rm -rf' }), /TRUST_PROXY=.*hop count/);
});

test.run();
