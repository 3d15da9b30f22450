/**
 * Hostile input, generated from a seed: the JSON API (fields, types, sizes, encodings, unicode,
 * prototype keys), raw HTTP, the static server (traversal, encodings, NUL, dotfiles, symlinks), Host and
 * Origin (DNS rebinding, cross-site sockets) and the socket protocol (malformed, binary, huge, floods,
 * thousands of subscriptions). Each runner returns what it found; `hostile.test.ts` runs a bounded
 * number of cases in `npm test`, `scripts/fuzz.ts` many more.
 *
 * The target is the real server (app, hub, feed watcher) in this process, over a real database file,
 * serving a client folder with a dotfile and symlinks pointing out of it; a canary string lives in
 * files outside the folder, and every file the process opens through `fs` is recorded.
 */
import fs, { mkdirSync, symlinkSync, writeFileSync, realpathSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { connect } from 'node:net';
import { join, resolve, sep } from 'node:path';
import WebSocket from 'ws';
import { randomUUID } from 'node:crypto';
import type { ServerMessage } from '../../../common/protocol.js';
import { WS_MAX_PAYLOAD, WS_MAX_SUBSCRIPTIONS } from '../../../common/protocol.js';
import { USERNAME_RE } from '../../../common/task.js';
import { liveServer, memoryLogger, type LiveServer } from '../server.js';
import { ROOT } from '../processes.js';
import { tmpDir } from '../tmp.js';
import { wsText } from '../../../server/live/wsText.js';
import { call, percentile, type Reply } from './kit.js';
import type { Rng } from './rng.js';

export const CANARY = 'CANARY-7f3e9a-SECRET-OUTSIDE-THE-CLIENT-FOLDER';

// ---------------------------------------------------------------------------------------------
// File reads

/** Every path the process opens through `fs`, while `start()`ed. */
export function fileReadMonitor() {
  const paths: string[] = [];
  const originals: [object, string, unknown][] = [];
  const wrap = (obj: Record<string, unknown>, name: string) => {
    const orig = obj[name] as (...a: unknown[]) => unknown;
    originals.push([obj, name, orig]);
    obj[name] = function (this: unknown, p: unknown, ...rest: unknown[]) {
      if (typeof p === 'string' || p instanceof URL || Buffer.isBuffer(p)) paths.push(resolve(String(p instanceof URL ? p.pathname : p)));
      return orig.call(this, p, ...rest);
    };
  };
  return {
    paths,
    start() {
      const f = fs as unknown as Record<string, unknown>;
      for (const n of ['createReadStream', 'readFile', 'readFileSync', 'open', 'openSync']) wrap(f, n);
      for (const n of ['readFile', 'open']) wrap(fs.promises, n);
      syncBuiltinESMExports();
    },
    stop() {
      for (const [obj, name, orig] of originals.reverse()) (obj as Record<string, unknown>)[name] = orig;
      originals.length = 0;
      syncBuiltinESMExports();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The target

export interface Target {
  srv: LiveServer;
  port: number;
  clientDir: string;
  outsideDir: string;
  /** Tasks that exist (for subscriptions and task routes). */
  taskIds: string[];
  /** Lines the server logged (errors count as findings). */
  logLines: Record<string, unknown>[];
  crashes: string[];
  reads: ReturnType<typeof fileReadMonitor>;
  close(): Promise<void>;
}

/** The client folder: files, a dotfile, and symlinks out of it; the canary beside it. */
function clientFolder(): { dir: string; clientDir: string; outsideDir: string; cleanup(): void } {
  const t = tmpDir('mm-hostile-');
  const clientDir = join(t.dir, 'client');
  const outsideDir = join(t.dir, 'outside');
  mkdirSync(join(clientDir, 'assets'), { recursive: true });
  mkdirSync(join(clientDir, 'sub'), { recursive: true });
  mkdirSync(outsideDir, { recursive: true });
  writeFileSync(join(clientDir, 'index.html'), '<!doctype html><title>moviemosaic</title><p>shell</p>');
  writeFileSync(join(clientDir, 'app-ABCDEFGH.js'), 'console.log("app")');
  writeFileSync(join(clientDir, 'assets', 'style-ABCDEFGH.css'), 'body{}');
  writeFileSync(join(clientDir, 'sub', 'file.txt'), 'inside');
  writeFileSync(join(clientDir, '.hidden'), CANARY);
  mkdirSync(join(clientDir, '.git'), { recursive: true });
  writeFileSync(join(clientDir, '.git', 'config'), CANARY);
  writeFileSync(join(outsideDir, 'secret.txt'), CANARY);
  writeFileSync(join(t.dir, 'secret.txt'), CANARY);
  writeFileSync(join(t.dir, 'client.txt'), CANARY); // a sibling whose name starts like the folder's
  mkdirSync(join(t.dir, 'client-other'), { recursive: true });
  writeFileSync(join(t.dir, 'client-other', 'x.txt'), CANARY);
  symlinkSync(join(outsideDir, 'secret.txt'), join(clientDir, 'link-out.txt'));
  symlinkSync(outsideDir, join(clientDir, 'link-dir'));
  symlinkSync('../../outside/secret.txt', join(clientDir, 'sub', 'link-up.txt'));
  symlinkSync('/etc/passwd', join(clientDir, 'passwd'));
  symlinkSync(join(t.dir, 'client-other'), join(clientDir, 'assets', 'other'));
  return { dir: t.dir, clientDir, outsideDir, cleanup: t.cleanup };
}

export async function startTarget(options: { tasks?: number } = {}): Promise<Target> {
  const folder = clientFolder();
  const { log, lines } = memoryLogger();
  // Every case comes from 127.0.0.1; the per-client caps have their own suite (guests.test.ts).
  const srv = await liveServer({
    clientDir: folder.clientDir,
    log,
    rateLimitPerMin: 1_000_000,
    maxBufferedBytes: 256 * 1024,
    queuePerClient: 1_000_000,
    socketsPerClient: 1_000_000,
  });
  const taskIds: string[] = [];
  for (let i = 0; i < (options.tasks ?? 120); i++) {
    taskIds.push(
      srv.tasks.enqueue({
        action: 'create_mosaic',
        username: `u${i}`,
        params: { mode: 'recent', count: 1 + (i % 50), layout: 'grid', format: 'jpeg' },
      }).task.id,
    );
  }
  const crashes: string[] = [];
  const onCrash = (err: unknown) => crashes.push(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  const reads = fileReadMonitor();
  reads.start();
  return {
    srv,
    port: srv.port,
    clientDir: realpathSync(folder.clientDir),
    outsideDir: folder.outsideDir,
    taskIds,
    logLines: lines,
    crashes,
    reads,
    async close() {
      reads.stop();
      process.off('uncaughtException', onCrash);
      process.off('unhandledRejection', onCrash);
      await srv.close();
      folder.cleanup();
    },
  };
}

/** Findings the target itself shows: crashes, logged server errors, files read out of the folder, pollution. */
export function targetFindings(t: Target): string[] {
  const out = [...t.crashes.map((c) => `crash: ${c.slice(0, 300)}`)];
  for (const l of t.logLines) if (l.level === 'error') out.push(`server error log: ${JSON.stringify(l).slice(0, 300)}`);
  const root = realpathSync(ROOT);
  for (const p of new Set(t.reads.paths)) {
    // Module loading reads the project's own files; anything else must be inside the client folder.
    if (p === t.clientDir || p.startsWith(t.clientDir + sep) || p.startsWith(root + sep)) continue;
    out.push(`file read outside the client folder: ${p}`);
  }
  const probe = {} as Record<string, unknown>;
  for (const k of ['polluted', 'x', 'isAdmin', 'status', 'username']) {
    if (probe[k] !== undefined) out.push(`Object.prototype polluted: ${k}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Values

const STRINGS = [
  '',
  ' ',
  'dave',
  'DAVE',
  'dave ',
  ' dave',
  'da',
  'd',
  'a'.repeat(15),
  'a'.repeat(16),
  'dave_2026',
  'dа ve',
  'dаve', // Cyrillic а
  '../../etc/passwd',
  '..%2F..%2Fetc',
  '%2e%2e',
  'dave/../erin',
  'dave%00',
  'dave\u0000',
  '\u0000',
  'nul\u0000byte',
  '<script>alert(1)</script>',
  '"; DROP TABLE tasks; --',
  "' OR 1=1 --",
  '${7*7}',
  '{{7*7}}',
  '%s%n%x',
  '\u202Eevil',
  '\uD800',
  '\uDFFF\uD800',
  '\uFEFFdave',
  '\uFFFF',
  '🎬🎬',
  '👨‍👩‍👧',
  'Z̸a̷l̴g̵o',
  'ｄａｖｅ',
  'İstanbul',
  'month',
  'recent',
  'year',
  'all',
  'classic',
  'grid',
  'jpeg',
  'png',
  'webp',
  'gif',
  'svg',
  'JPEG',
  'Month',
  '2026-11',
  '2026-13',
  '2026-00',
  '1999-12',
  '9999-12',
  '2026-1',
  '02026-11',
  '2026-11-01',
  '2026‐11',
  '२०२६-११',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'x'.repeat(300),
  'y'.repeat(5000),
  'true',
  'false',
  'null',
  '1',
  '1e3',
  '-0',
  'NaN',
  'Infinity',
];
const NUMBERS = [
  0,
  -0,
  1,
  -1,
  2,
  7,
  12,
  30,
  49,
  50,
  51,
  99,
  100,
  101,
  1.5,
  2026,
  2025,
  2000,
  1999,
  9999,
  1e3,
  1e21,
  1e308,
  -1e308,
  2 ** 53,
  2 ** 53 + 2,
  5e-324,
  0.1,
];
const KEYS = [
  'username',
  'mode',
  'month',
  'count',
  'year',
  'layout',
  'columns',
  'format',
  'refresh',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'polluted',
  '',
  ' username',
  'USERNAME',
  'username\u0000',
  'x'.repeat(200),
];

export function jsonValue(rng: Rng, depth = 0): unknown {
  const r = rng.next();
  if (depth > 3 || r < 0.35) return rng.pick(STRINGS);
  if (r < 0.6) return rng.pick(NUMBERS);
  if (r < 0.68) return rng.pick([null, true, false]);
  if (r < 0.8) return Array.from({ length: rng.int(0, 4) }, () => jsonValue(rng, depth + 1));
  return jsonObject(rng, depth + 1);
}

function jsonObject(rng: Rng, depth: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let i = rng.int(0, 5); i > 0; i--) {
    // defineProperty: a plain assignment to "__proto__" would set the prototype, not a key.
    Object.defineProperty(o, rng.pick(KEYS), { value: jsonValue(rng, depth), enumerable: true, configurable: true, writable: true });
  }
  return o;
}

/** A request body for POST /api/mosaics: mostly almost-valid, with one or two fields gone wrong. */
export function mosaicBody(rng: Rng): unknown {
  const roll = rng.next();
  if (roll < 0.1) return jsonValue(rng);
  const base: Record<string, unknown> = { username: rng.pick(['dave', 'erin', 'Dave_99', 'zz']) };
  const mode = rng.pick(['month', 'recent', 'year', 'all']);
  if (rng.chance(0.8)) base.mode = mode;
  if (mode === 'month' && rng.chance(0.5)) base.month = rng.pick(['2026-01', '2025-06', '2000-01']);
  if (mode === 'recent' && rng.chance(0.5)) base.count = rng.int(1, 50);
  if (mode === 'year' && rng.chance(0.5)) base.year = rng.int(2000, 2025);
  if (rng.chance(0.5)) base.layout = rng.pick(['classic', 'grid']);
  if (rng.chance(0.3)) base.columns = rng.int(1, 100);
  if (rng.chance(0.5)) base.format = rng.pick(['jpeg', 'png', 'webp']);
  if (rng.chance(0.2)) base.refresh = rng.chance(0.5);
  for (let i = roll < 0.3 ? 0 : rng.int(1, 2); i > 0; i--) {
    Object.defineProperty(base, rng.pick(KEYS), { value: jsonValue(rng), enumerable: true, configurable: true, writable: true });
  }
  return base;
}

/** Prototype-pollution payloads, as raw JSON text (JSON.stringify cannot write a "__proto__" key from a literal). */
export const POLLUTION = [
  '{"__proto__":{"polluted":1},"username":"dave"}',
  '{"username":"dave","__proto__":{"isAdmin":true}}',
  '{"constructor":{"prototype":{"polluted":1}},"username":"dave"}',
  '{"username":"dave","mode":{"__proto__":{"x":1}}}',
  '{"username":{"toString":"dave"}}',
  '{"username":["dave"]}',
  '{"username":"dave","refresh":{"valueOf":1}}',
  '[{"__proto__":{"status":1}}]',
  '{"__proto__":null}',
  '{"username":"dave","__proto__":{"__proto__":{"polluted":2}}}',
];

const RAW_BODIES = [
  '',
  ' ',
  '{',
  '}',
  '[]',
  'null',
  'true',
  '"dave"',
  '1',
  'NaN',
  '{"username":"dave",}',
  "{'username':'dave'}",
  '{"username":"dave"}{"x":1}',
  '\uFEFF{"username":"dave"}',
  '{"username":"da\\u0000ve"}',
  '{"username":"\\ud800"}',
  '{"a":' + '['.repeat(1500) + ']'.repeat(1500) + '}',
  '{"username":"dave","count":1e999}',
  '{"username":"dave","count":-0}',
  '{"username":"dave","month":"2026-11\\n"}',
  '{"username":"dave"}\u0000',
  '{"username":"dave","mode":"month","month":"' + '9'.repeat(4000) + '"}',
];

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json;charset="UTF-8"',
  'APPLICATION/JSON',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'text/plain',
  'text/plain; application/json',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/vnd.api+json',
  'application/json-patch+json',
  'application/json, text/plain',
  'json',
  '',
  '\u00e9',
  'application/json; charset=utf-8; charset=latin1',
];

// ---------------------------------------------------------------------------------------------
// HTTP API cases

export interface HttpCase {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

const METHODS = ['GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'M-SEARCH'];

/** Percent-encodes the UTF-8 bytes of `s` (lone surrogates become U+FFFD), like a browser would. */
export function enc(s: string): string {
  return [...Buffer.from(s, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9\-_.~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');
}

function pathSegment(rng: Rng, t: Pick<Target, 'taskIds'>): string {
  return rng.pick([
    rng.pick(t.taskIds),
    randomUUID(),
    rng.pick(t.taskIds).toUpperCase(),
    `${rng.pick(t.taskIds)}x`,
    '..',
    '%2e%2e',
    '%2F',
    '%00',
    '%',
    '%E0%A4%A',
    '%C0%AE',
    enc(rng.pick(STRINGS)),
    'x'.repeat(rng.int(1, 3000)),
    '%ZZ',
    '%uD800',
    '%F0%9F%8E%AC',
    'con',
    'aux',
    '.',
    '',
  ]);
}

export function httpCase(rng: Rng, t: Pick<Target, 'taskIds' | 'port'>): HttpCase {
  const seg = () => pathSegment(rng, t);
  const path = rng.chance(0.4)
    ? '/api/mosaics'
    : rng.pick([
        '/api/mosaics',
        `/api/mosaics?limit=${enc(JSON.stringify(jsonValue(rng)) ?? '')}`,
        '/api/mosaics?limit=1&limit=2',
        '/api/mosaics?limit[]=5',
        '/api/mosaics?__proto__[polluted]=1',
        '/api/mosaics?constructor[prototype][polluted]=1',
        `/api/tasks/${seg()}`,
        `/api/tasks/${seg()}/result`,
        `/api/tasks/${seg()}/mosaic`,
        `/api/tasks/${seg()}/${seg()}`,
        `/api/users/${seg()}/mosaics`,
        `/api/users/${enc(rng.pick(STRINGS))}/mosaics`,
        '/healthz',
        '/healthz?x=1',
        '/api',
        '/api/',
        '/api//mosaics',
        '/API/mosaics',
        '/api/mosaics/',
        '/ws',
        '/setup',
        '/ca.crt',
        '/',
        '/index.html',
        `/task/${seg()}`,
        `/user/${seg()}`,
        `/user/${seg()}/${seg()}`,
        `/${seg()}`,
        `/api/users/${seg()}/export`,
      ]);
  const method = rng.chance(0.5) ? (path.startsWith('/api/mosaics') ? 'POST' : rng.pick(METHODS)) : rng.pick(METHODS);
  const headers: Record<string, string> = {
    host: rng.chance(0.9) ? `127.0.0.1:${t.port}` : rng.pick(['localhost', 'mosaic.example', 'evil.example']),
  };
  let body: Buffer | undefined;
  if (method === 'POST' || method === 'PUT' || method === 'PATCH' || rng.chance(0.1)) {
    const kind = rng.next();
    let text: string;
    if (kind < 0.55) text = JSON.stringify(mosaicBody(rng));
    else if (kind < 0.7) text = rng.pick(POLLUTION);
    else if (kind < 0.85) text = rng.pick(RAW_BODIES);
    else text = JSON.stringify(jsonValue(rng));
    body = Buffer.from(text, 'utf8');
    if (rng.chance(0.05)) body = Buffer.concat([body, Buffer.from([0xff, 0xfe, 0xc0, 0xaf])]); // invalid UTF-8
    if (rng.chance(0.03)) body = Buffer.from(text, 'utf16le');
    if (rng.chance(0.03)) body = Buffer.alloc(rng.pick([4095, 4096, 4097, 70_000]), 0x20);
    headers['content-type'] = rng.chance(0.75) ? 'application/json' : rng.pick(CONTENT_TYPES);
    if (rng.chance(0.05)) headers['content-encoding'] = rng.pick(['gzip', 'br', 'identity', 'GZIP', 'x-unknown']);
  }
  if (rng.chance(0.05)) headers['if-none-match'] = rng.pick(['*', '"x"', 'W/"x"', '"' + 'a'.repeat(500) + '"']);
  if (rng.chance(0.05)) headers.range = rng.pick(['bytes=0-1', 'bytes=-1', 'bytes=5-1', 'bytes=0-0,1-1,2-2', 'items=0-1']);
  if (rng.chance(0.05)) headers['x-forwarded-for'] = '1.2.3.4';
  if (rng.chance(0.03)) headers.accept = rng.pick(['text/html', 'image/*', '*/*;q=0']);
  return { method, path, headers, body };
}

/** Judges one API answer: never 5xx; every /api error is `{"error":{code,message}}`; a new task is a valid one. */
export function judgeHttp(c: HttpCase, r: Reply): string | null {
  const label = `${c.method} ${c.path.slice(0, 120)} ${c.body ? JSON.stringify(c.body.toString('utf8').slice(0, 120)) : ''}`;
  if (r.status >= 500 && !(r.status === 503 && !c.path.startsWith('/api')))
    return `${r.status} for ${label}: ${r.body.toString('utf8').slice(0, 200)}`;
  if (r.body.includes(CANARY)) return `canary leaked for ${label}`;
  const host = c.headers.host;
  if (host === 'evil.example') return r.status === 421 ? null : `Host evil.example answered ${r.status} for ${label}`;
  if (c.path.startsWith('/api') && r.status >= 400 && c.method !== 'HEAD') {
    const e = r.json?.error;
    if (!e || typeof e.code !== 'string' || typeof e.message !== 'string')
      return `non-JSON error ${r.status} for ${label}: ${r.body.toString('utf8').slice(0, 120)}`;
  }
  if (c.method === 'POST' && c.path === '/api/mosaics' && (r.status === 200 || r.status === 202)) {
    const task = r.json?.task;
    if (!task || !USERNAME_RE.test(task.username) || task.username !== task.username.toLowerCase())
      return `accepted a bad username for ${label}`;
    const p = task.params as Record<string, unknown>;
    const allowed = new Set(['mode', 'month', 'count', 'year', 'layout', 'columns', 'format']);
    if (Object.keys(p).some((k) => !allowed.has(k))) return `stored unknown params ${JSON.stringify(p)} for ${label}`;
    if (Object.getPrototypeOf(p) !== Object.prototype) return `params with a foreign prototype for ${label}`;
  }
  return null;
}

export async function runHttpCases(
  t: Target,
  rng: Rng,
  n: number,
  parallel = 8,
): Promise<{ cases: number; failures: string[]; statuses: Record<number, number>; p99: number }> {
  const failures: string[] = [];
  const statuses: Record<number, number> = {};
  const times: number[] = [];
  let i = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (i < n) {
        const k = i++;
        const c = httpCase(rng.fork(`http-${k}`), t);
        try {
          const r = await call(t.port, c.method, c.path, c.body, c.headers);
          statuses[r.status] = (statuses[r.status] ?? 0) + 1;
          times.push(r.ms);
          const bad = judgeHttp(c, r);
          if (bad) failures.push(`case ${k}: ${bad}`);
        } catch (err) {
          // A connection the server closed early (413 then close) is fine; anything else is a finding.
          const code = (err as { code?: string }).code;
          if (code !== 'ECONNRESET' && code !== 'EPIPE')
            failures.push(`case ${k}: ${c.method} ${c.path.slice(0, 80)}: ${(err as Error).message}`);
        }
      }
    }),
  );
  return { cases: n, failures, statuses, p99: percentile(times, 99) };
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP (what http.request refuses to send)

/** Sends `raw` and resolves with the status line (or '' when the server closed without one). */
export function rawRequest(
  port: number,
  raw: Buffer | string,
  timeoutMs = 3000,
  headOnly = false,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    const done = () => {
      clearTimeout(timer);
      sock.destroy();
      const text = data.toString('latin1');
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0), text });
    };
    const timer = setTimeout(done, timeoutMs);
    sock.on('data', (d) => {
      data = Buffer.concat([data, d]);
      // One whole answer is enough: headers, and a body as long as it says.
      const head = data.indexOf('\r\n\r\n');
      if (head < 0) return;
      if (headOnly) return done();
      const len = Number(/\r\ncontent-length: (\d+)/i.exec(data.subarray(0, head).toString('latin1'))?.[1] ?? -1);
      if (len >= 0 && data.length >= head + 4 + len) done();
    });
    sock.on('error', done);
    sock.on('close', done);
    sock.write(raw);
  });
}

export function rawCases(port: number): { name: string; raw: Buffer | string }[] {
  const h = `Host: 127.0.0.1:${port}\r\nConnection: close\r\n`;
  const big = 'a'.repeat(20_000);
  return [
    { name: 'NUL in path', raw: `GET /index.html\u0000.js HTTP/1.1\r\n${h}\r\n` },
    { name: 'raw ../ path', raw: `GET /../../outside/secret.txt HTTP/1.1\r\n${h}\r\n` },
    { name: 'raw ..\\ path', raw: `GET /..\\..\\outside\\secret.txt HTTP/1.1\r\n${h}\r\n` },
    { name: 'absolute-form to another host', raw: `GET http://evil.example/../secret.txt HTTP/1.1\r\n${h}\r\n` },
    { name: 'absolute-form, traversal', raw: `GET http://127.0.0.1:${port}/../../secret.txt HTTP/1.1\r\n${h}\r\n` },
    { name: 'asterisk-form', raw: `OPTIONS * HTTP/1.1\r\n${h}\r\n` },
    { name: 'no leading slash', raw: `GET secret.txt HTTP/1.1\r\n${h}\r\n` },
    { name: 'double slash', raw: `GET //outside/secret.txt HTTP/1.1\r\n${h}\r\n` },
    {
      name: 'raw UTF-8 in path',
      raw: Buffer.concat([Buffer.from('GET /'), Buffer.from([0xc0, 0xae, 0xc0, 0xae]), Buffer.from(`/secret.txt HTTP/1.1\r\n${h}\r\n`)]),
    },
    { name: 'overlong URL', raw: `GET /${big}${big}${big}${big} HTTP/1.1\r\n${h}\r\n` },
    { name: 'huge header', raw: `GET / HTTP/1.1\r\n${h}X-Big: ${big}\r\n\r\n` },
    { name: 'no Host', raw: `GET /api/mosaics HTTP/1.1\r\nConnection: close\r\n\r\n` },
    { name: 'two Hosts', raw: `GET /api/mosaics HTTP/1.1\r\nHost: evil.example\r\n${h}\r\n` },
    { name: 'HTTP/1.0 without Host', raw: `GET /healthz HTTP/1.0\r\n\r\n` },
    { name: 'HTTP/0.9', raw: `GET /\r\n\r\n` },
    { name: 'HTTP/2 preface', raw: `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n` },
    {
      name: 'CL and TE (smuggling)',
      raw: `POST /api/mosaics HTTP/1.1\r\n${h}Content-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /outside HTTP/1.1\r\n\r\n`,
    },
    { name: 'negative CL', raw: `POST /api/mosaics HTTP/1.1\r\n${h}Content-Type: application/json\r\nContent-Length: -1\r\n\r\n{}` },
    {
      name: 'two CLs',
      raw: `POST /api/mosaics HTTP/1.1\r\n${h}Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 20\r\n\r\n{}`,
    },
    { name: 'huge CL', raw: `POST /api/mosaics HTTP/1.1\r\n${h}Content-Type: application/json\r\nContent-Length: 99999999999\r\n\r\n{}` },
    {
      name: 'bad chunk size',
      raw: `POST /api/mosaics HTTP/1.1\r\n${h}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
    },
    {
      name: 'chunked over the limit',
      raw: `POST /api/mosaics HTTP/1.1\r\n${h}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${'1000\r\n' + 'x'.repeat(4096) + '\r\n'}${'1000\r\n' + 'x'.repeat(4096) + '\r\n'}0\r\n\r\n`,
    },
    { name: 'obs-fold header', raw: `GET / HTTP/1.1\r\n${h}X-A: 1\r\n  folded\r\n\r\n` },
    { name: 'space before colon', raw: `GET / HTTP/1.1\r\n${h}Host : evil.example\r\n\r\n` },
    { name: 'lowercase method', raw: `get / HTTP/1.1\r\n${h}\r\n` },
    { name: 'unknown method', raw: `BREW /api/mosaics HTTP/1.1\r\n${h}\r\n` },
    { name: 'CONNECT', raw: `CONNECT evil.example:443 HTTP/1.1\r\n${h}\r\n` },
    { name: 'NUL in header', raw: `GET / HTTP/1.1\r\n${h}X-A: a\u0000b\r\n\r\n` },
    { name: 'CR in path', raw: `GET /a\rb HTTP/1.1\r\n${h}\r\n` },
    { name: 'upgrade to h2c', raw: `GET / HTTP/1.1\r\n${h}Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n` },
    {
      name: 'websocket upgrade, wrong path',
      raw: `GET /ws/../index.html HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:${port}\r\n\r\n`,
    },
    {
      name: 'websocket upgrade, bad version',
      raw: `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: x\r\nSec-WebSocket-Version: 99\r\nOrigin: http://127.0.0.1:${port}\r\n\r\n`,
    },
    { name: 'garbage', raw: Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7919) & 0xff)) },
  ];
}

export async function runRawCases(t: Target): Promise<{ cases: number; failures: string[] }> {
  const failures: string[] = [];
  const cases = rawCases(t.port);
  await Promise.all(
    cases.map(async (c) => {
      const r = await rawRequest(t.port, c.raw);
      if (r.status >= 500 && r.status !== 505) failures.push(`raw ${c.name}: ${r.status} ${r.text.slice(0, 200)}`);
      if (r.text.includes(CANARY)) failures.push(`raw ${c.name}: canary leaked`);
    }),
  );
  return { cases: cases.length, failures };
}

// ---------------------------------------------------------------------------------------------
// The static server

const UPS = [
  '..',
  '%2e%2e',
  '%2E%2E',
  '.%2e',
  '%2e.',
  '%252e%252e',
  '%c0%ae%c0%ae',
  '%uff0e%uff0e',
  '．．',
  '..%00',
  '..%2500',
  '...',
  '....//',
];
const SEPS = ['/', '%2f', '%2F', '%252f', '\\', '%5c', '%5C', '//', '/./', '%c0%af', '%e0%80%af'];
const PREFIXES = ['', '/sub', '/assets', '/assets/other', '/task', '/user/dave', '/link-dir', '/sub/file.txt'];
const TARGETS = [
  'outside/secret.txt',
  'secret.txt',
  'client.txt',
  'client-other/x.txt',
  '.hidden',
  '.git/config',
  'link-out.txt',
  'link-dir/secret.txt',
  'sub/link-up.txt',
  'passwd',
  'etc/passwd',
  'assets/other/x.txt',
  '%2ehidden',
  '.%68idden',
  'sub/../.hidden',
  'index.html%00.js',
  'INDEX.HTML',
  'index.html/',
  'index.html.',
  'index.html::$DATA',
];

export function staticPath(rng: Rng): string {
  if (rng.chance(0.2)) return `/${rng.pick(TARGETS)}`;
  const ups = Array.from({ length: rng.int(1, 4) }, () => rng.pick(UPS));
  const sep = rng.pick(SEPS);
  return `${rng.pick(PREFIXES)}${sep}${ups.join(sep)}${sep}${rng.pick(TARGETS)}`;
}

export async function runStaticCases(
  t: Target,
  rng: Rng,
  n: number,
): Promise<{ cases: number; failures: string[]; statuses: Record<number, number> }> {
  const failures: string[] = [];
  const statuses: Record<number, number> = {};
  const paths = [...TARGETS.map((x) => `/${x}`), ...Array.from({ length: n }, (_, i) => staticPath(rng.fork(`static-${i}`)))];
  for (let i = 0; i < paths.length; i += 16) {
    await Promise.all(
      paths.slice(i, i + 16).map(async (path) => {
        const method = rng.pick(['GET', 'HEAD']);
        // Raw bytes on the wire: literal backslashes, fullwidth dots and NULs, as a hostile client sends them.
        const raw = Buffer.concat([
          Buffer.from(`${method} `),
          Buffer.from(path, 'utf8'),
          Buffer.from(` HTTP/1.1\r\nHost: 127.0.0.1:${t.port}\r\nConnection: close\r\n\r\n`),
        ]);
        const r = await rawRequest(t.port, raw);
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        const body = r.text.slice(r.text.indexOf('\r\n\r\n') + 4);
        if (r.status >= 500 || r.status === 0) failures.push(`${method} ${path}: ${r.status || 'no answer'}`);
        if (r.text.includes(CANARY)) failures.push(`${method} ${path}: canary leaked (${r.status})`);
        // The only files there are: the shell (also for page routes), the app, the style and sub/file.txt.
        if (r.status === 200 && method === 'GET' && !/shell|console\.log\("app"\)|body\{\}|^inside$/.test(body)) {
          failures.push(`${method} ${path}: 200 with unexpected content ${JSON.stringify(body.slice(0, 60))}`);
        }
      }),
    );
  }
  return { cases: paths.length, failures, statuses };
}

// ---------------------------------------------------------------------------------------------
// Host and Origin

/** [Host header, allowed?] under the test host policy (server/helpers testHosts) on `port`. */
export function hostCases(port: number): [string, boolean][] {
  return [
    [`127.0.0.1:${port}`, true],
    ['localhost', true],
    [`LOCALHOST:${port}`, true],
    ['[::1]:8080', true],
    ['raspberrypi', true],
    ['raspberrypi.local', true],
    ['mosaic.example', true],
    ['pi.lan:9999', true],
    ['192.168.1.20', true],
    ['127.1.2.3', true],
    ['foo.localhost', true],
    ['localhost.', true],
    ['[fe80::1]', true],
    ['evil.example', false],
    ['localhost.evil.example', false],
    ['127.0.0.1.nip.io', false],
    ['evil.example:80@localhost', false],
    ['localhost@evil.example', false],
    ['localhost:80:80', false],
    ['[::1', false],
    ['::1', false],
    ['0x7f000001', false],
    ['2130706433', false],
    ['127.1', false],
    ['127.0.0.1 evil.example', false],
    ['%6cocalhost', false],
    ['', false],
    ['mosaic.example.evil.example', false],
    ['evil.mosaic.example', false],
    ['192.168.1.200', false],
    ['raspberrypi.evil', false],
    ['xn--localhost-', false],
    [`127.0.0.1:${port}/evil`, false],
    ['localhost\\evil.example', false],
    ['LOCALHOST.EVIL.EXAMPLE', false],
    // IPv4-mapped IPv6 in the form browsers write it ([::ffff:127.0.0.1] becomes [::ffff:7f00:1]): the IPv4 address it maps.
    ['[::ffff:7f00:1]', true],
    ['[::ffff:7f00:1]:8080', true],
    ['[::ffff:127.0.0.1]', true],
    ['[::ffff:c0a8:114]', true],
    ['[::ffff:c0a8:1c8]', false],
  ];
}

/** [Host, Origin (null: none), accepted?] for the socket: both must be ours, and the same. */
export function originCases(port: number): [string, string | null, boolean][] {
  const h = `127.0.0.1:${port}`;
  return [
    [h, `http://${h}`, true],
    [h, `https://${h}`, true],
    ['localhost', 'http://localhost', true],
    ['localhost', 'http://localhost:80', true],
    ['mosaic.example', 'http://mosaic.example', true],
    [h, null, false],
    [h, 'null', false],
    [h, 'http://evil.example', false],
    [h, `http://${h}.evil.example`, false],
    [h, `http://evil.example/${h}`, false],
    [h, `http://${h}@evil.example`, false],
    [h, 'file://', false],
    [h, 'chrome-extension://abc', false],
    [h, `http://localhost:${port}`, false],
    [h, `ws://${h}`, false],
    ['evil.example', 'http://evil.example', false],
    ['localhost', 'http://localhost:8080', false],
    ['localhost', 'https://localhost:80', false],
    [h, `http://${h}:80`, false],
    [h, 'http://[::1]', false],
    [h, `HTTP://${h.toUpperCase()}`, true],
  ];
}

export async function runHostCases(t: Target): Promise<{ cases: number; failures: string[] }> {
  const failures: string[] = [];
  const hosts = hostCases(t.port);
  for (const [host, allowed] of hosts) {
    for (const path of ['/api/mosaics', '/healthz', '/index.html', `/api/tasks/${t.taskIds[0]}`]) {
      const r = await rawRequest(t.port, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      const ok = r.status !== 421 && r.status !== 400;
      if (ok !== allowed) failures.push(`Host ${JSON.stringify(host)} ${path}: ${r.status}, expected ${allowed ? 'served' : '421'}`);
      if (r.text.includes(CANARY)) failures.push(`Host ${host}: canary`);
    }
  }
  const origins = originCases(t.port);
  for (const [host, origin, accepted] of origins) {
    const status = await upgradeStatus(t.port, host, origin);
    if ((status === 101) !== accepted)
      failures.push(`socket Host ${JSON.stringify(host)} Origin ${JSON.stringify(origin)}: ${status}, expected ${accepted ? 101 : 403}`);
  }
  return { cases: hosts.length * 4 + origins.length, failures };
}

function upgradeStatus(port: number, host: string, origin: string | null): Promise<number> {
  const raw =
    `GET /ws HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n` +
    `Sec-WebSocket-Version: 13\r\n${origin === null ? '' : `Origin: ${origin}\r\n`}\r\n`;
  return rawRequest(port, raw, 3000, true).then((r) => r.status);
}

// ---------------------------------------------------------------------------------------------
// The socket protocol

export interface Sock {
  ws: WebSocket;
  messages: ServerMessage[];
  closed: Promise<{ code: number }>;
  isClosed(): boolean;
  /** Resolves with the next message matching `match` (from the queue or the future), or null after `ms`. */
  next(match: (m: ServerMessage) => boolean, ms?: number): Promise<ServerMessage | null>;
}

export function openSock(port: number, options: { maxPayload?: number } = {}): Promise<Sock> {
  const host = `127.0.0.1:${port}`;
  const ws = new WebSocket(`ws://${host}/ws`, {
    headers: { host },
    origin: `http://${host}`,
    maxPayload: options.maxPayload ?? 64 * 1024 * 1024,
  });
  const messages: ServerMessage[] = [];
  const waiters: { match: (m: ServerMessage) => boolean; resolve: (m: ServerMessage | null) => void }[] = [];
  let closedFlag = false;
  ws.on('message', (d, bin) => {
    const m = bin
      ? ({ type: 'error', code: 'INTERNAL', message: 'binary from server' } as ServerMessage)
      : (JSON.parse(wsText(d)) as ServerMessage);
    const i = waiters.findIndex((w) => w.match(m));
    if (i >= 0) waiters.splice(i, 1)[0].resolve(m);
    else messages.push(m);
  });
  ws.on('error', () => {});
  const closed = new Promise<{ code: number }>((resolve) =>
    ws.on('close', (code) => {
      closedFlag = true;
      for (const w of waiters.splice(0)) w.resolve(null);
      resolve({ code });
    }),
  );
  const sock: Sock = {
    ws,
    messages,
    closed,
    isClosed: () => closedFlag,
    next(match, ms = 2000) {
      const i = messages.findIndex(match);
      if (i >= 0) return Promise.resolve(messages.splice(i, 1)[0]);
      if (closedFlag) return Promise.resolve(null);
      return new Promise((resolve) => {
        const w = {
          match,
          resolve: (m: ServerMessage | null) => {
            clearTimeout(timer);
            resolve(m);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          resolve(null);
        }, ms);
        waiters.push(w);
      });
    },
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(sock));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

type Frame = { data: string | Buffer; binary?: boolean; expect: 'error' | 'task' | 'pong' | 'close' | 'none'; label: string };

/** One frame a client might send, and what a correct server does with it. */
export function wsFrame(rng: Rng, t: Pick<Target, 'taskIds'>): Frame {
  const task = rng.pick(t.taskIds);
  const r = rng.next();
  // With `after`, a replay of nothing (after = the task's latest seq) is a correct silence.
  if (r < 0.15)
    return rng.chance(0.5)
      ? { data: JSON.stringify({ type: 'subscribe', taskId: task }), expect: 'task', label: 'subscribe' }
      : { data: JSON.stringify({ type: 'subscribe', taskId: task, after: rng.int(0, 1000) }), expect: 'none', label: 'subscribe after' };
  if (r < 0.22) return { data: '{"type":"ping"}', expect: 'pong', label: 'ping' };
  if (r < 0.27) return { data: JSON.stringify({ type: 'unsubscribe', taskId: task }), expect: 'none', label: 'unsubscribe' };
  if (r < 0.32) return { data: JSON.stringify({ type: 'subscribe', taskId: randomUUID() }), expect: 'error', label: 'subscribe unknown' };
  if (r < 0.5) {
    const bad = rng.pick<unknown>([
      { type: 'subscribe' },
      { type: 'subscribe', taskId: task, after: -1 },
      { type: 'subscribe', taskId: task, after: 1.5 },
      { type: 'subscribe', taskId: task, after: '5' },
      { type: 'subscribe', taskId: task, after: 1e300 },
      { type: 'subscribe', taskId: task.toUpperCase() + 'x' },
      { type: 'subscribe', taskId: `../${task}` },
      { type: 'subscribe', taskId: [task] },
      { type: 'subscribe', taskId: { toString: task } },
      { type: '__proto__' },
      { type: 'constructor' },
      { type: 'toString' },
      { type: 'hasOwnProperty' },
      { type: 'PING' },
      { type: 'ping ' },
      { type: null },
      { type: 1 },
      {},
      [],
      'ping',
      1,
      null,
      true,
      { type: ['ping'] },
    ]);
    return { data: JSON.stringify(bad), expect: 'error', label: `bad ${JSON.stringify(bad).slice(0, 40)}` };
  }
  if (r < 0.58)
    return {
      data: rng.pick([
        '{"__proto__":{"type":"ping"}}',
        '{"type":"subscribe","__proto__":{"taskId":"' + task + '"}}',
        '{"constructor":{"prototype":{"type":"ping"}}}',
      ]),
      expect: 'error',
      label: 'proto',
    };
  if (r < 0.7)
    return {
      data: rng.pick([
        '',
        '{',
        'null',
        'undefined',
        '{"type":"ping"',
        '\u0000',
        '{"type":"ping"}\u0000',
        '\uFEFF{"type":"ping"}',
        'x'.repeat(rng.int(1, WS_MAX_PAYLOAD)),
      ]),
      expect: 'error',
      label: 'malformed',
    };
  if (r < 0.78)
    return {
      data: Buffer.from(Array.from({ length: rng.int(0, 200) }, () => rng.int(0, 255))),
      binary: true,
      expect: 'error',
      label: 'binary',
    };
  if (r < 0.84) {
    const data = JSON.stringify(jsonValue(rng)) ?? 'null';
    return { data, expect: Buffer.byteLength(data) > WS_MAX_PAYLOAD ? 'close' : 'error', label: 'json value' };
  }
  if (r < 0.9) return { data: 'x'.repeat(WS_MAX_PAYLOAD + rng.int(1, 100_000)), expect: 'close', label: 'oversized' };
  if (r < 0.95) return { data: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), expect: 'close', label: 'invalid UTF-8 text' };
  return {
    data: rng.pick([JSON.stringify({ type: 'ping', extra: 'y'.repeat(rng.int(0, 3000)) }), '{"type":"pi\\u006eg"}', ' {"type" : "ping"} ']),
    expect: 'pong',
    label: 'ping, unusual',
  };
}

/** Sends one frame the way the case asks (invalid UTF-8 goes out as a text frame). */
function sendFrame(s: Sock, f: Frame): void {
  if (Buffer.isBuffer(f.data) && !f.binary) s.ws.send(f.data, { binary: false });
  else s.ws.send(f.data, { binary: !!f.binary });
}

export async function runWsFrames(
  t: Target,
  rng: Rng,
  sessions: number,
  perSession: number,
): Promise<{ cases: number; failures: string[]; closes: Record<number, number> }> {
  const failures: string[] = [];
  const closes: Record<number, number> = {};
  let cases = 0;
  for (let s = 0; s < sessions; s++) {
    const srng = rng.fork(`ws-${s}`);
    const sock = await openSock(t.port);
    for (let i = 0; i < perSession; i++) {
      const f = wsFrame(srng, t);
      cases++;
      sendFrame(sock, f);
      if (f.expect === 'close') {
        const { code } = await sock.closed;
        closes[code] = (closes[code] ?? 0) + 1;
        if (code !== 1009 && code !== 1007) failures.push(`session ${s} frame ${i} (${f.label}): closed ${code}, expected 1009/1007`);
        break;
      }
      if (f.expect === 'none') continue;
      const want = (m: ServerMessage) =>
        f.expect === 'task' ? m.type === 'task' || m.type === 'error' : f.expect === 'pong' ? m.type === 'pong' : m.type === 'error';
      const m = await sock.next(want, 3000);
      if (!m) {
        failures.push(
          `session ${s} frame ${i} (${f.label} ${JSON.stringify(String(f.data).slice(0, 40))} ${String(f.data).length}): no ${f.expect} answer${sock.isClosed() ? ' (socket closed)' : ''}`,
        );
        break;
      }
      if (m.type === 'error' && f.expect !== 'error' && !(f.label === 'subscribe' && m.code === 'TOO_MANY_SUBSCRIPTIONS'))
        failures.push(`session ${s} frame ${i} (${f.label}): error ${m.code}`);
      if (m.type === 'error' && !['INVALID_MESSAGE', 'TASK_NOT_FOUND', 'TOO_MANY_SUBSCRIPTIONS'].includes(m.code))
        failures.push(`session ${s} frame ${i} (${f.label}): code ${m.code}`);
    }
    if (!sock.isClosed()) {
      // Still alive and answering after whatever it was sent.
      sock.ws.send('{"type":"ping"}');
      if (!(await sock.next((m) => m.type === 'pong', 3000))) failures.push(`session ${s}: no pong at the end`);
      sock.ws.close();
    }
  }
  return { cases, failures, closes };
}

/** Floods, thousands of subscriptions, many sockets, a reader that never reads; a witness must see every seq. */
export async function runWsAbuse(t: Target, scale = 1): Promise<{ cases: number; failures: string[]; figures: Record<string, number> }> {
  const failures: string[] = [];
  const figures: Record<string, number> = {};
  const witness = await openSock(t.port);
  const watched = t.taskIds[0];
  witness.ws.send(JSON.stringify({ type: 'subscribe', taskId: watched, after: 0 }));

  // Thousands of subscriptions on one socket: 100 real ones, the rest refused; unknown ids never stored.
  const subs = await openSock(t.port);
  const many = Math.min(t.taskIds.length, WS_MAX_SUBSCRIPTIONS + 20);
  for (let i = 0; i < many; i++) subs.ws.send(JSON.stringify({ type: 'subscribe', taskId: t.taskIds[i] }));
  const unknown = await openSock(t.port);
  for (let i = 0; i < 2000 * scale; i++) unknown.ws.send(JSON.stringify({ type: 'subscribe', taskId: randomUUID() }));
  for (let i = 0; i < 2000 * scale; i++)
    unknown.ws.send(JSON.stringify({ type: i % 2 ? 'unsubscribe' : 'subscribe', taskId: t.taskIds[1] }));
  for (const s of [subs, unknown]) {
    s.ws.send('{"type":"ping"}');
    if (!(await s.next((m) => m.type === 'pong', 10_000))) failures.push('subscriptions: no pong after thousands of subscribes');
  }
  const refused = subs.messages.filter((m) => m.type === 'error' && m.code === 'TOO_MANY_SUBSCRIPTIONS').length;
  const notFound = unknown.messages.filter((m) => m.type === 'error' && m.code === 'TASK_NOT_FOUND').length;
  if (refused < many - WS_MAX_SUBSCRIPTIONS) failures.push(`subscriptions: ${refused} refused, expected ≥ ${many - WS_MAX_SUBSCRIPTIONS}`);
  if (notFound !== 2000 * scale) failures.push(`subscriptions: ${notFound} TASK_NOT_FOUND for ${2000 * scale} unknown ids`);
  const stats = t.srv.server.hub.stats();
  figures.subscriptionsHeld = stats.subscriptions;
  if (stats.subscriptions > WS_MAX_SUBSCRIPTIONS * stats.sockets)
    failures.push(`hub holds ${stats.subscriptions} subscriptions for ${stats.sockets} sockets`);
  subs.ws.close();
  unknown.ws.close();

  // A flood of pings from a client that reads nothing: the server keeps serving others, then drops it.
  const flood = await openSock(t.port);
  (flood.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  const payload = JSON.stringify({ type: 'ping', pad: 'p'.repeat(3000) });
  const t0 = performance.now();
  for (let i = 0; i < 20_000 * scale; i++) flood.ws.send(payload);
  const health: number[] = [];
  for (let i = 0; i < 10; i++) {
    const r = await call(t.port, 'GET', '/healthz', undefined, { host: `127.0.0.1:${t.port}` });
    health.push(r.ms);
    if (r.status !== 200) failures.push(`healthz during a flood: ${r.status}`);
  }
  figures.healthzP99DuringFloodMs = percentile(health, 100);
  (flood.ws as unknown as { _socket: { resume(): void } })._socket.resume();
  // Either dropped as too slow (1013: it resumes from its last seq) or every ping answered.
  const pongs = () => flood.messages.filter((m) => m.type === 'pong').length;
  const deadline = Date.now() + 20_000;
  while (!flood.isClosed() && pongs() < 20_000 * scale && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  figures.floodPongs = pongs();
  figures.floodMs = performance.now() - t0;
  if (flood.isClosed()) figures.floodClosedWith = (await flood.closed).code;
  else if (pongs() < 20_000 * scale) failures.push(`flood: neither dropped nor answered (${pongs()} pongs)`);
  flood.ws.terminate();

  // Many sockets at once.
  const crowd = await Promise.all(Array.from({ length: 300 * scale }, () => openSock(t.port).catch(() => null)));
  figures.crowdOpened = crowd.filter(Boolean).length;
  if (figures.crowdOpened !== 300 * scale) failures.push(`crowd: ${figures.crowdOpened} of ${300 * scale} sockets opened`);
  for (const c of crowd) c?.ws.close();

  // Meanwhile the witness's task moves on (as a worker would write it): every event arrives, in order.
  const claimed = t.srv.tasks.claim('fuzz-worker', 200).find((c) => c.id === watched)!;
  for (let i = 1; i <= 20; i++) t.srv.tasks.progress(watched, claimed.leaseToken, 'downloading', i, 20, `Poster ${i}`);
  t.srv.tasks.complete(watched, claimed.leaseToken);
  await t.srv.poll();
  const got: number[] = [];
  for (;;) {
    const m = await witness.next((x) => x.type === 'task', 5000);
    if (!m || m.type !== 'task') break;
    got.push(m.seq);
    if (m.task.status === 'COMPLETE') break;
  }
  const stored = t.srv.db.prepare(`SELECT seq FROM task_events WHERE task_id = ? ORDER BY seq`).pluck().all(watched) as number[];
  if (got.join() !== stored.join()) failures.push(`witness: got [${got.join()}], stored [${stored.join()}]`);
  witness.ws.close();
  return { cases: 4 + 4000 * scale + 20_000 * scale + 300 * scale, failures, figures };
}

// ---------------------------------------------------------------------------------------------
// Usernames that are path tricks

export const USERNAME_TRICKS = [
  '..',
  '../..',
  '..%2f..%2fetc',
  '%2e%2e',
  'dave%00',
  'dave%2f..',
  'dave/..',
  '.',
  '%2e',
  'dave%20',
  'dave%0aerin',
  'dave%3Bls',
  '~root',
  'dave$',
  'CON',
  'aux',
  '%c0%ae%c0%ae',
  'ｄａｖｅ',
  'd%E2%80%AEave',
  'dave.json',
  'dave?x=1',
  'dave#x',
  'dave;erin',
  '__proto__',
  'constructor',
  'a'.repeat(16),
  'a',
  '',
];

export async function runUsernameTricks(t: Target): Promise<{ cases: number; failures: string[] }> {
  const failures: string[] = [];
  const host = { host: `127.0.0.1:${t.port}` };
  let cases = 0;
  for (const u of USERNAME_TRICKS) {
    const e = /^[\x21-\x7e]*$/.test(u) ? u : enc(u);
    for (const path of [`/api/users/${e}/mosaics`, `/user/${e}`, `/api/users/${e}/export`]) {
      cases++;
      const r = await call(t.port, 'GET', path, undefined, host).catch((e: Error) => ({
        status: 0,
        body: Buffer.from(e.message),
        json: undefined,
        ms: 0,
        headers: {},
      }));
      if (r.status >= 500 || r.status === 0) failures.push(`GET ${path}: ${r.status} ${r.body.toString().slice(0, 100)}`);
      if (r.body.includes(CANARY)) failures.push(`GET ${path}: canary`);
      // `dave?x=1/mosaics` and `dave#x/mosaics` really ask for /api/users/dave: the member, not mosaics.
      const asked = new URL(path, 'http://h').pathname;
      if (asked.startsWith('/api/users/') && asked.endsWith('/mosaics') && r.status === 200 && !USERNAME_RE.test(decodeURIComponentSafe(u)))
        failures.push(`GET ${path}: 200 for a username that is not one`);
      if (asked.startsWith('/api/users/') && r.status === 200 && !USERNAME_RE.test(decodeURIComponentSafe(asked.split('/')[3] ?? '')))
        failures.push(`GET ${path}: 200 for ${asked}`);
    }
    cases++;
    const decoded = decodeURIComponentSafe(u);
    const r = await call(t.port, 'POST', '/api/mosaics', { username: decoded }, host);
    if (USERNAME_RE.test(decoded) ? r.status >= 300 : r.status !== 400 || r.json?.error?.field !== 'username') {
      failures.push(`POST username ${JSON.stringify(decoded)}: ${r.status} ${JSON.stringify(r.json)}`);
    }
  }
  return { cases, failures };
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
