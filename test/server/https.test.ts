/**
 * The server with HTTPS on (the built-in CA of server/tls): the app and the live socket on the HTTPS
 * port, plain HTTP redirecting everything but /setup, the CA downloads and /healthz.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { request as httpsRequest } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { systemClock } from '../../common/clock.js';
import { silentLogger } from '../../common/log.js';
import { openOwnCa } from '../../server/tls/index.js';
import { createTaskStore } from '../../db/sqlite/tasks.js';
import { cleanup, liveServer, request, testHosts, tmp, track } from '../helpers/server.js';
import { wsText } from '../../server/live/wsText.js';

test.after.each(cleanup);

function getTls(port: number, path: string, ca: string): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path, ca, servername: 'localhost', headers: { host: `localhost:${port}` } },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('HTTPS on: API, CSP and wss on the HTTPS port; plain HTTP redirects but keeps /setup, /ca.crt, /healthz', async () => {
  const t = tmp();
  const hosts = testHosts();
  const tls = await openOwnCa({
    dir: join(t.dir, 'tls'),
    hostname: 'raspberrypi',
    names: () => hosts.names(),
    clock: systemClock,
    log: silentLogger,
  });
  const { server, db, port: httpPort } = await liveServer({ hosts, tls, bindHost: '127.0.0.1', hostname: 'raspberrypi' });
  await new Promise<void>((r) => server.https!.listen(0, '127.0.0.1', r));
  const httpsPort = (server.https!.address() as AddressInfo).port;
  const ca = tls.caCertPem()!;

  const health = await getTls(httpsPort, '/healthz', ca);
  assert.is(health.status, 200);
  assert.match(String(health.headers['content-security-policy']), new RegExp(`connect-src 'self' wss://localhost:${httpsPort}`));
  const api = await getTls(httpsPort, '/api/mosaics', ca);
  assert.is(api.status, 200);
  assert.is(api.headers['strict-transport-security'], undefined, 'no HSTS on a port other than 443');

  const redirected = await request(httpPort, '/user/dave', { headers: { host: `localhost:${httpPort}` } });
  assert.is(redirected.status, 308);
  assert.is(redirected.headers.location, `https://localhost:${httpsPort}/user/dave`);
  for (const p of ['/setup', '/ca.crt', '/healthz']) {
    assert.is((await request(httpPort, p, { headers: { host: `localhost:${httpPort}` } })).status, 200, p);
  }
  const foreign = await request(httpPort, '/setup', { headers: { host: 'evil.example' } });
  assert.is(foreign.status, 421, 'the Host guard comes first');

  // The live socket over TLS, same-origin.
  const task = createTaskStore(db).enqueueRaw('steps', 'dave', '{}');
  const ws = new WebSocket(`wss://127.0.0.1:${httpsPort}/ws`, {
    ca,
    headers: { host: `localhost:${httpsPort}` },
    origin: `https://localhost:${httpsPort}`,
  });
  track(() => ws.terminate());
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  ws.send(JSON.stringify({ type: 'subscribe', taskId: task.id }));
  const message = await new Promise<string>((resolve) => ws.once('message', (d) => resolve(wsText(d))));
  assert.is(JSON.parse(message).task.id, task.id);
  ws.close();

  // The plain port refuses the socket: it would carry task state in clear beside an HTTPS site.
  const plain = new WebSocket(`ws://127.0.0.1:${httpPort}/ws`, {
    headers: { host: `localhost:${httpPort}` },
    origin: `http://localhost:${httpPort}`,
  });
  track(() => plain.terminate());
  const refused = await new Promise<number>((resolve, reject) => {
    plain.once('unexpected-response', (_req, res) => resolve(res.statusCode!));
    plain.once('open', () => reject(new Error('the plain port opened a socket with HTTPS on')));
    plain.once('error', reject);
  });
  assert.is(refused, 403);
  await t.cleanup();
});

test('HSTS only where HTTPS is on port 443 (here: the port the test got stands in for it), and never over plain HTTP', async () => {
  const t = tmp();
  const hosts = testHosts();
  const tls = await openOwnCa({
    dir: join(t.dir, 'tls'),
    hostname: 'raspberrypi',
    names: () => hosts.names(),
    clock: systemClock,
    log: silentLogger,
  });
  const { server, port: httpPort } = await liveServer({ hosts, tls });
  await new Promise<void>((r) => server.https!.listen(0, '127.0.0.1', r));
  const httpsPort = (server.https!.address() as AddressInfo).port;
  assert.is((await getTls(httpsPort, '/healthz', tls.caCertPem()!)).headers['strict-transport-security'], undefined);

  // A port known before the server is made stands in for 443.
  const probe = createNetServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const httpsPort2 = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const on = await liveServer({ hosts, tls, hstsPort: httpsPort2 });
  await new Promise<void>((r) => on.server.https!.listen(httpsPort2, '127.0.0.1', r));
  for (const path of ['/healthz', '/api/mosaics', '/nope']) {
    assert.is((await getTls(httpsPort2, path, tls.caCertPem()!)).headers['strict-transport-security'], 'max-age=31536000', path);
  }
  assert.is(
    (await request(on.port, '/healthz', { headers: { host: `localhost:${on.port}` } })).headers['strict-transport-security'],
    undefined,
  );
  assert.ok(httpPort > 0);
  await t.cleanup();
});

test.run();
