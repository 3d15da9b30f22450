/**
 * A real reverse proxy in front of the app, started by the test on loopback: nginx and Caddy from
 * Debian's packages, each running the exact configuration file the README shows (deploy/), with only
 * the name's port, the listening address and the app's port put in. Through it: pages, the live
 * socket, the stable links, and rate limits per visitor (several loopback addresses stand for
 * several visitors; a forged X-Forwarded-For changes nothing). Under CI=true a missing proxy binary
 * fails the test; elsewhere it is skipped with a message.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer, connect, type AddressInfo } from 'node:net';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { ServerMessage } from '../../common/protocol.js';
import { createHostPolicy } from '../../server/hosts.js';
import { parseTrustProxy } from '../../server/forwarded.js';
import { createResultStore } from '../../db/sqlite/results.js';
import { writeStatusImages } from '../../scripts/status-images.js';
import { cleanup, completeWithResult, liveServer, track, type Res } from '../helpers/server.js';
import { tmpDir } from '../helpers/tmp.js';
import { ROOT } from '../helpers/processes.js';
import { wsText } from '../../server/live/wsText.js';

test.after.each(cleanup);

const NAME = 'mosaic.example.com';

function which(binary: string): string | null {
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin']) {
    const path = join(dir, binary);
    if (spawnSync('test', ['-x', path]).status === 0) return path;
  }
  return null;
}

async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** Resolves once something accepts connections on the port (the proxy has started). */
async function accepting(port: number, child: { exitCode: number | null }, output: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the proxy exited (${child.exitCode}):\n${output()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`the proxy did not listen on ${port}:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50)); // the next connection attempt, not a guess at readiness
  }
}

interface Proxy {
  port: number;
  stop(): Promise<void>;
}

function startChild(cmd: string, args: string[], env: Record<string, string>): { child: ReturnType<typeof spawn>; output: () => string } {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return { child, output: () => out };
}

function stopper(child: ReturnType<typeof spawn>): () => Promise<void> {
  return track(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM'); // by its own pid only
    await exited;
  });
}

/** README's nginx file inside a minimal nginx.conf of the test's own (pid, logs, temp folders in a temp dir). */
async function startNginx(binary: string, appPort: number): Promise<Proxy> {
  const t = tmpDir('mm-nginx-');
  track(t.cleanup);
  // nginx's workers run as nobody when started by root: they need to read and write in here.
  chmodSync(t.dir, 0o777);
  const port = await freePort();
  const site = readFileSync(join(ROOT, 'deploy/nginx.conf'), 'utf8')
    .replace('listen 80;', `listen 127.0.0.1:${port};`)
    .replace('http://127.0.0.1:8080', `http://127.0.0.1:${appPort}`);
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(t.dir, d), { mode: 0o777 });
  writeFileSync(join(t.dir, 'site.conf'), site);
  writeFileSync(
    join(t.dir, 'nginx.conf'),
    `
worker_processes 1;
pid ${t.dir}/nginx.pid;
error_log ${t.dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${t.dir}/body;
  proxy_temp_path ${t.dir}/proxy;
  fastcgi_temp_path ${t.dir}/fastcgi;
  uwsgi_temp_path ${t.dir}/uwsgi;
  scgi_temp_path ${t.dir}/scgi;
  include ${t.dir}/site.conf;
}
`,
  );
  const { child, output } = startChild(binary, ['-p', t.dir, '-c', join(t.dir, 'nginx.conf'), '-g', 'daemon off;'], {});
  const stop = stopper(child);
  await accepting(port, child, () => output() + readFileSync(join(t.dir, 'error.log'), 'utf8'));
  return { port, stop };
}

/** README's Caddyfile, the site address given the test's port, on loopback, with no admin API or certificates. */
async function startCaddy(binary: string, appPort: number): Promise<Proxy> {
  const t = tmpDir('mm-caddy-');
  track(t.cleanup);
  const port = await freePort();
  const site = readFileSync(join(ROOT, 'deploy/Caddyfile'), 'utf8')
    .replace(`${NAME} {`, `http://${NAME}:${port} {\n\tbind 127.0.0.1`)
    .replace('127.0.0.1:8080', `127.0.0.1:${appPort}`);
  writeFileSync(join(t.dir, 'Caddyfile'), `{\n\tadmin off\n\tauto_https off\n}\n${site}`);
  const { child, output } = startChild(binary, ['run', '--config', join(t.dir, 'Caddyfile'), '--adapter', 'caddyfile'], {
    HOME: t.dir,
    XDG_DATA_HOME: join(t.dir, 'data'),
    XDG_CONFIG_HOME: join(t.dir, 'config'),
  });
  const stop = stopper(child);
  await accepting(port, child, output);
  return { port, stop };
}

/** A visitor: requests through the proxy from its own loopback address, naming the public host. */
function visitor(n: number, proxyPort: number) {
  const localAddress = `127.0.0.${n}`;
  const host = `${NAME}:${proxyPort}`;
  return {
    request(path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Res> {
      return new Promise((resolve, reject) => {
        const req = httpRequest(
          {
            host: '127.0.0.1',
            port: proxyPort,
            path,
            method: options.method ?? 'GET',
            localAddress,
            agent: false,
            headers: { host, ...options.headers },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => {
              const body = Buffer.concat(chunks);
              let json: unknown;
              try {
                json = JSON.parse(body.toString());
              } catch {
                /* not JSON */
              }
              resolve({ status: res.statusCode!, headers: res.headers, body, text: body.toString(), json });
            });
          },
        );
        req.on('error', reject);
        req.end(options.body);
      });
    },
    socket(): Promise<{ ws: WebSocket; next(match: (m: ServerMessage) => boolean): Promise<ServerMessage> }> {
      const ws = new WebSocket(`ws://127.0.0.1:${proxyPort}/ws`, { headers: { host }, origin: `http://${host}`, localAddress });
      track(() => ws.terminate());
      const queue: ServerMessage[] = [];
      const waiting: { match: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }[] = [];
      ws.on('message', (d) => {
        const m = JSON.parse(wsText(d)) as ServerMessage;
        const i = waiting.findIndex((w) => w.match(m));
        if (i >= 0) waiting.splice(i, 1)[0].resolve(m);
        else queue.push(m);
      });
      const next = (match: (m: ServerMessage) => boolean) => {
        const i = queue.findIndex(match);
        if (i >= 0) return Promise.resolve(queue.splice(i, 1)[0]);
        return new Promise<ServerMessage>((resolve) => waiting.push({ match, resolve }));
      };
      return new Promise((resolve, reject) => {
        ws.once('open', () => resolve({ ws, next }));
        ws.once('unexpected-response', (_req, res) => reject(new Error(`socket refused: ${res.statusCode}`)));
        ws.once('error', reject);
      });
    },
  };
}

async function throughProxy(start: (appPort: number) => Promise<Proxy>): Promise<void> {
  const client = tmpDir('mm-proxy-client-');
  track(client.cleanup);
  writeFileSync(join(client.dir, 'index.html'), readFileSync(join(ROOT, 'client/index.html')));
  const pictures = join(client.dir, 'status');
  await writeStatusImages(pictures);
  const srv = await liveServer({
    hosts: createHostPolicy({ extra: [NAME], hostname: 'pi', addresses: () => [] }),
    trustProxy: parseTrustProxy('127.0.0.1'),
    clientDir: client.dir,
    statusDir: pictures,
    rateLimitPerMin: 3,
    stableLinkWaitMs: 100,
  });
  const proxy = await start(srv.port);
  const alice = visitor(2, proxy.port);
  const bob = visitor(3, proxy.port);

  // A page, with a CSP naming the socket at the public name.
  const page = await alice.request('/user/dave');
  assert.is(page.status, 200);
  assert.match(String(page.headers['content-security-policy']), `ws://${NAME}:${proxy.port}`);

  // A mosaic asked for through the proxy (token 1 of alice's 3), followed on the live socket.
  const origin = `http://${NAME}:${proxy.port}`;
  const made = await alice.request('/api/mosaics', {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin },
    body: JSON.stringify({ username: 'dave', mode: 'all' }),
  });
  assert.is(made.status, 202, made.text);
  const taskId = made.json.task.id as string;
  const s = await alice.socket();
  s.ws.send(JSON.stringify({ type: 'subscribe', taskId, after: 0 }));
  await s.next((m) => m.type === 'task' && m.task.id === taskId);
  completeWithResult(srv.tasks, createResultStore(srv.db), taskId, Date.now(), Buffer.from('MOSAIC'));
  const done = await s.next((m) => m.type === 'task' && m.task.status === 'COMPLETE');
  assert.is(done.type, 'task');
  // The origin guard sees the visitor's origin, so another site is still refused.
  const crossSite = await alice.request('/api/mosaics', {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: 'http://evil.example' },
    body: '{"username":"dave"}',
  });
  assert.is(crossSite.status, 403);

  // The stable link of that request answers the mosaic, embeddable elsewhere.
  const link = await alice.request('/m/dave/all.jpg');
  assert.equal([link.status, link.text, link.headers['cross-origin-resource-policy']], [200, 'MOSAIC', 'cross-origin']);

  // Rate limits per visitor: alice spends her other two tokens on new links, then is refused,
  // even when she claims in X-Forwarded-For to be someone else; bob is unaffected.
  assert.is((await alice.request('/m/dave/2024.jpg')).status, 202);
  assert.is((await alice.request('/m/dave/2023.jpg')).status, 202);
  const refused = await alice.request('/m/dave/2022.jpg', { headers: { 'x-forwarded-for': '127.0.0.3' } });
  assert.is(refused.status, 429);
  assert.is((await alice.request('/m/dave/2021.jpg', { headers: { 'x-forwarded-for': '198.51.100.1' } })).status, 429);
  assert.is((await bob.request('/m/dave/2022.jpg')).status, 202, 'another visitor has tokens of his own');

  s.ws.close();
  await proxy.stop();
  await srv.close();
}

for (const [name, binary, start] of [
  ['nginx', 'nginx', startNginx],
  ['Caddy', 'caddy', startCaddy],
] as const) {
  test(`behind ${name} (deploy/ as in the README): pages, the socket, stable links, per-visitor limits`, async () => {
    const path = which(binary);
    if (!path) {
      if (process.env.CI === 'true') assert.unreachable(`${binary} is not installed; CI installs it (.ci/run)`);
      console.warn(`  skipped: ${binary} is not installed (apt-get install ${binary === 'nginx' ? 'nginx-light' : 'caddy'})`);
      return;
    }
    await throughProxy((appPort) => start(path, appPort));
  });
}

test('the README shows exactly the configuration files these tests run', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  for (const file of ['deploy/nginx.conf', 'deploy/Caddyfile']) {
    assert.ok(readme.includes(readFileSync(join(ROOT, file), 'utf8').trimEnd()), `${file} appears verbatim in README.md`);
  }
});

test.run();
