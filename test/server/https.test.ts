/**
 * The server with HTTPS on (the built-in CA of server/tls): the app and the live socket on the HTTPS
 * port, plain HTTP redirecting everything but /setup, the CA downloads and /healthz.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { systemClock } from '../../common/clock.js';
import { silentLogger } from '../../common/log.js';
import { openOwnCa } from '../../server/tls/index.js';
import { createTaskStore } from '../../db/tasks.js';
import { cleanup, liveServer, request, testHosts, tmp, track } from './helpers.js';

test.after.each(cleanup);

function getTls(port: number, path: string, ca: string): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, ca, servername: 'localhost', headers: { host: `localhost:${port}` } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('HTTPS on: API, CSP and wss on the HTTPS port; plain HTTP redirects but keeps /setup, /ca.crt, /healthz', async () => {
  const t = tmp();
  const hosts = testHosts();
  const tls = await openOwnCa({ dir: join(t.dir, 'tls'), hostname: 'raspberrypi', names: () => hosts.names(), clock: systemClock, log: silentLogger });
  const { server, db, port: httpPort } = await liveServer({ hosts, tls, bindHost: '127.0.0.1', hostname: 'raspberrypi' });
  await new Promise<void>((r) => server.https!.listen(0, '127.0.0.1', r));
  const httpsPort = (server.https!.address() as AddressInfo).port;
  const ca = tls.caCertPem()!;

  const health = await getTls(httpsPort, '/healthz', ca);
  assert.is(health.status, 200);
  assert.match(String(health.headers['content-security-policy']), new RegExp(`connect-src 'self' wss://localhost:${httpsPort}`));
  const api = await getTls(httpsPort, '/api/mosaics', ca);
  assert.is(api.status, 200);

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
  const ws = new WebSocket(`wss://127.0.0.1:${httpsPort}/ws`, { ca, headers: { host: `localhost:${httpsPort}` }, origin: `https://localhost:${httpsPort}` });
  track(() => ws.terminate());
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  ws.send(JSON.stringify({ type: 'subscribe', taskId: task.id }));
  const message = await new Promise<string>((resolve) => ws.once('message', (d) => resolve(d.toString())));
  assert.is(JSON.parse(message).task.id, task.id);
  ws.close();
  await t.cleanup();
});

test.run();
