/**
 * Hostile guests on the home network (issue 14): each finding of the review replayed against the real
 * server (app, hub, feed watcher, a real database file) from several loopback source addresses
 * (127.0.0.2, 127.0.0.3, …: the client sockets are bound to them, so the server sees distinct
 * clients), with generous bounds on behaviour, never on speed: /healthz answers within 1 s, the
 * process stays under 400 MB, and a second client is served while the first abuses. IPv6 /64 keying
 * cannot be replayed on loopback (only ::1): test/server/clientKey.test.ts covers it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { request as httpRequest } from 'node:http';
import WebSocket from 'ws';
import type { Task } from '../../common/task.js';
import { cleanup, liveServer, type LiveServer } from '../helpers/server.js';
import { defaultMembers } from '../helpers/fakeLetterboxd.js';
import { exportZip } from '../helpers/exportZip.js';
import { figures } from '../helpers/resilience/kit.js';

test.after.each(cleanup);

/** `GUESTS_SCALE=84` replays the review's full scale (5,000 sockets from one address); npm test runs 1. */
const SCALE = Math.max(1, Number(process.env.GUESTS_SCALE ?? 1));

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: any;
  ms: number;
}

/** A guest: every request and socket leaves from its own loopback address. */
function guest(port: number, n: number) {
  const localAddress = `127.0.0.${n}`;
  const host = `127.0.0.1:${port}`;
  function call(
    method: string,
    path: string,
    options: {
      headers?: Record<string, string>;
      body?: unknown;
      trickle?: { chunks: Buffer[]; everyMs: number; started?: () => void };
    } = {},
  ): Promise<Reply> {
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
      const body =
        options.body === undefined ? undefined : Buffer.isBuffer(options.body) ? options.body : Buffer.from(JSON.stringify(options.body));
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          path,
          method,
          localAddress,
          agent: false,
          headers: {
            ...(options.body !== undefined && !Buffer.isBuffer(options.body) ? { 'content-type': 'application/json' } : {}),
            ...(body ? { 'content-length': String(body.length) } : {}),
            ...options.headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            let json: unknown;
            try {
              json = JSON.parse(Buffer.concat(chunks).toString());
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode!, headers: res.headers, json, ms: performance.now() - t0 });
          });
        },
      );
      req.on('error', reject);
      if (options.trickle) {
        // A slow sender: one small chunk every `everyMs` until the server answers (or the chunks run out).
        const chunks = [...options.trickle.chunks];
        req.write(chunks.shift()!, () => options.trickle!.started?.());
        const timer = setInterval(() => {
          const next = chunks.shift();
          if (!next || req.destroyed) {
            clearInterval(timer);
            if (!req.destroyed) req.end();
            return;
          }
          req.write(next);
        }, options.trickle.everyMs);
        req.on('response', () => clearInterval(timer));
        req.on('close', () => clearInterval(timer));
      } else req.end(body);
    });
  }
  return {
    address: localAddress,
    call,
    post: (body: unknown, headers: Record<string, string> = {}) => call('POST', '/api/mosaics', { body, headers }),
    /** Opens a live socket; resolves with it, or with the HTTP status it was refused with. */
    socket(): Promise<WebSocket | number> {
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://${host}/ws`, { localAddress, origin: `http://${host}` });
        ws.once('open', () => resolve(ws));
        ws.once('unexpected-response', (_req, res) => {
          resolve(res.statusCode!);
          ws.terminate();
        });
        ws.once('error', reject);
      });
    },
  };
}

/** /healthz from a bystander, with its time. */
async function health(port: number): Promise<Reply> {
  return guest(port, 250).call('GET', '/healthz');
}

const mb = () => process.memoryUsage().rss / 1024 / 1024;
const mosaic = (username: string, count = 5) => ({ username, mode: 'recent', count, layout: 'grid' });

async function server(options: Parameters<typeof liveServer>[0] = {}): Promise<LiveServer> {
  return liveServer({ rateLimitPerMin: 1000, ...options });
}

test('sockets: one guest gets SOCKETS_PER_CLIENT (20), a second guest still connects, and a closed socket frees its place', async () => {
  const srv = await server();
  const a = guest(srv.port, 2);
  const b = guest(srv.port, 3);
  const tries: (WebSocket | number)[] = [];
  // In bursts of 60 at once (a burst larger than the listen backlog would only test the kernel).
  for (let i = 0; i < SCALE; i++) tries.push(...(await Promise.all(Array.from({ length: 60 }, () => a.socket()))));
  const open = tries.filter((t): t is WebSocket => typeof t !== 'number');
  const refused = tries.filter((t) => typeof t === 'number');
  assert.is(open.length, 20);
  assert.ok(
    refused.every((s) => s === 429),
    `refused with ${[...new Set(refused)].join(',')}`,
  );
  const h = await health(srv.port);
  assert.is(h.status, 200);
  assert.ok(h.ms < 1000, `healthz in ${h.ms} ms`);
  const other = await b.socket();
  assert.type(other, 'object', 'a second guest is served while the first holds its 20');
  assert.is(srv.server.hub.stats().sockets, 21);

  const closed = new Promise((r) => open[0].once('close', r));
  open[0].close();
  await closed;
  // The server drops the socket on its own close event; a new one from A is then accepted.
  let again: WebSocket | number = 429;
  for (let i = 0; i < 50 && again === 429; i++) again = await a.socket();
  assert.type(again, 'object');
  for (const ws of [...open, other, again]) if (typeof ws !== 'number') ws.terminate();
  figures('guests-sockets', { perGuest: open.length, refused: refused.length, healthzMs: h.ms, rssMb: mb() });
  await srv.close();
});

test('the queue: QUEUE_PER_CLIENT new mosaics per guest (then 429), QUEUE_MAX in all (then 503 QUEUE_FULL with Retry-After); joining is always allowed; internal tasks do not count', async () => {
  const srv = await server({ queuePerClient: 5, queueMax: 12 });
  // Internal work (the feed poller's tasks) fills the table but is not what the caps count.
  for (let i = 0; i < 30; i++) srv.tasks.enqueueRaw('poll_feed', `member${i}`, '{}');
  const a = guest(srv.port, 2);
  const b = guest(srv.port, 3);
  const created: Task[] = [];
  const tokens: string[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await a.post(mosaic(`alice${i}`));
    assert.is(r.status, 202);
    created.push(r.json.task);
    tokens.push(r.json.cancelToken);
  }
  const sixth = await a.post(mosaic('alice5'));
  assert.equal([sixth.status, sixth.json.error.code], [429, 'RATE_LIMITED']);
  assert.match(sixth.json.error.message, /already has 5 mosaics/);
  assert.ok(Number(sixth.headers['retry-after']) > 0);
  // X-Forwarded-For is not a way out: the connection's own address decides.
  const forwarded = await a.post(mosaic('alice6'), { 'x-forwarded-for': '10.9.8.7' });
  assert.is(forwarded.status, 429);

  // B is served meanwhile, and may join A's task (no new work) even though A is at its cap.
  const joined = await b.post(mosaic('alice0'));
  assert.equal([joined.status, joined.json.task.id], [200, created[0].id]);
  const againA = await a.post(mosaic('alice0'));
  assert.equal([againA.status, againA.json.task.id], [200, created[0].id], 'A re-posting its own running request joins it');

  // Fill the queue to QUEUE_MAX (12) from more guests (5 from A already; B holds a share of A's, which counts for B too).
  let full: Reply | null = null;
  for (let n = 4; n < 10 && !full; n++) {
    for (let i = 0; i < 5; i++) {
      const r = await guest(srv.port, n).post(mosaic(`g${n}x${i}`));
      if (r.status === 503) {
        full = r;
        break;
      }
      assert.is(r.status, 202);
    }
  }
  assert.ok(full, 'the queue filled');
  assert.equal(full.json.error.code, 'QUEUE_FULL');
  assert.ok(Number(full.headers['retry-after']) > 0);
  const queued = srv.db.prepare(`SELECT count(*) FROM tasks WHERE status = 'QUEUED' AND action = 'create_mosaic'`).pluck().get();
  assert.is(queued, 12);
  // Joining a queued task still works with the queue full.
  assert.is((await guest(srv.port, 20).post(mosaic('alice1'))).status, 200);
  const h = await health(srv.port);
  assert.ok(h.status === 200 && h.ms < 1000);

  // A re-posts one of its own (a second share), then cancels both: the task goes, and so does its
  // place in A's count and in the queue, so A may start another.
  const again = (await a.post(mosaic('alice2'))).json.cancelToken as string;
  assert.is(await cancelAll(a, created[2].id, [again]), 'left', 'one share of A is still there');
  assert.is(await cancelAll(a, created[2].id, [tokens[2]]), 'cancelled');
  assert.is((await a.post(mosaic('alice7'))).status, 202);
  figures('guests-queue', { perClient: 5, queueMax: 12, internalTasks: 30, healthzMs: h.ms });
  await srv.close();
});

/** DELETEs the task with each token in turn; returns how the last one ended ('left' or 'cancelled'). */
async function cancelAll(g: ReturnType<typeof guest>, id: string, tokens: string[]): Promise<'left' | 'cancelled'> {
  let last: 'left' | 'cancelled' = 'left';
  for (const t of tokens) {
    const r = await g.call('DELETE', `/api/tasks/${id}`, { headers: { 'cancel-token': t } });
    assert.is(r.status, 200);
    last = r.json.left ? 'left' : 'cancelled';
  }
  return last;
}

test('cancel: a guest cannot cancel another’s mosaic; one that joined withdraws its own share; the task stops when nobody is left', async () => {
  const srv = await server();
  const a = guest(srv.port, 2);
  const b = guest(srv.port, 3);
  const mine = await a.post(mosaic('dave'));
  const id = mine.json.task.id as string;
  // B re-posts the same request: the review's way in. It joins, with a token of its own.
  const joined = await b.post(mosaic('dave'));
  assert.equal([joined.status, joined.json.task.id], [200, id]);
  for (const headers of [
    {},
    { 'cancel-token': 'guess' } as Record<string, string>,
    { 'cancel-token': mine.json.cancelToken.slice(0, -1) + 'x' },
  ]) {
    const r = await b.call('DELETE', `/api/tasks/${id}`, { headers });
    assert.equal([r.status, r.json.error.code], [403, 'FORBIDDEN']);
  }
  const left = await b.call('DELETE', `/api/tasks/${id}`, { headers: { 'cancel-token': joined.json.cancelToken } });
  assert.equal([left.status, left.json.left, left.json.task.status], [200, true, 'QUEUED']);
  assert.is(srv.tasks.get(id)!.status, 'QUEUED', 'A still gets its mosaic');
  const done = await a.call('DELETE', `/api/tasks/${id}`, { headers: { 'cancel-token': mine.json.cancelToken } });
  assert.equal([done.status, done.json.task.status], [200, 'CANCELLED']);
  await srv.close();
});

test('another site cannot spend a visitor’s tokens: cross-site POSTs are refused before the limiter; a wrong content type costs nothing', async () => {
  const srv = await server({ rateLimitPerMin: 5 });
  const visitor = guest(srv.port, 2);
  const page = `http://127.0.0.1:${srv.port}`;
  const statuses = new Set<number>();
  for (let i = 0; i < 30 * SCALE; i++) {
    // What a page on evil.example can make a browser send: a "simple" text/plain form post.
    const r = await visitor.call('POST', '/api/mosaics', {
      body: Buffer.from('{"username":"dave"}'),
      headers: { 'content-type': 'text/plain', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    statuses.add(r.status);
    if (r.status === 403) assert.is(r.json.error.code, 'FORBIDDEN');
  }
  assert.equal([...statuses], [403]);
  for (const headers of [{ origin: 'null' }, { origin: 'http://127.0.0.1.evil.example' }, { 'sec-fetch-site': 'cross-site' }] as Record<
    string,
    string
  >[]) {
    assert.is((await visitor.post(mosaic('dave'), headers)).status, 403, JSON.stringify(headers));
  }
  // A DELETE from elsewhere too.
  assert.is(
    (await visitor.call('DELETE', '/api/tasks/00000000-0000-4000-8000-000000000000', { headers: { origin: 'https://evil.example' } }))
      .status,
    403,
  );
  // Without Origin (curl, a script), a wrong content type is a 415 that takes no token.
  for (let i = 0; i < 30; i++) {
    assert.is(
      (await visitor.call('POST', '/api/mosaics', { body: Buffer.from('x'), headers: { 'content-type': 'text/plain' } })).status,
      415,
    );
  }
  // The visitor's own page still has all 5 of its tokens.
  for (let i = 0; i < 5; i++) {
    const r = await visitor.post(mosaic(`v${i}`), { origin: page, 'sec-fetch-site': 'same-origin' });
    assert.is(r.status, 202, `the visitor's own POST ${i + 1}`);
  }
  assert.is((await visitor.post(mosaic('v5'), { origin: page })).status, 429, 'and then its limit applies');
  await srv.close();
});

test('uploads: two trickling guests are cut (slower than 20 KB/s) and do not block a third, which waits its turn and is served; one slot per guest', async () => {
  const srv = await server();
  const zip = exportZip(defaultMembers(new Date(2026, 10, 15, 12)).find((m) => m.username === 'dave')!);
  const slow = (n: number) => {
    let started!: () => void;
    const sending = new Promise<void>((r) => (started = r));
    const reply = guest(srv.port, n).call('POST', `/api/users/slow${n}/export`, {
      headers: { 'content-type': 'application/zip', 'content-length': String(2 * 1024 * 1024) },
      // 1 KB every 100 ms: 10 KB/s, half the floor, for up to 2 MB (minutes) unless cut.
      trickle: { chunks: Array.from({ length: 2048 }, () => Buffer.alloc(1024, n)), everyMs: 100, started },
    });
    return { reply, sending };
  };
  const t0 = performance.now();
  const a = slow(2);
  const b = slow(3);
  await Promise.all([a.sending, b.sending]);
  // Their headers reached the server before this round trip did: both hold the two slots now (a
  // request takes its slot in the turn its headers arrive). A third guest's upload waits its turn.
  assert.is((await health(srv.port)).status, 200);
  const second = guest(srv.port, 2).call('POST', '/api/users/twice/export', { body: zip, headers: { 'content-type': 'application/zip' } });
  const c = guest(srv.port, 4).call('POST', '/api/users/dave/export', { body: zip, headers: { 'content-type': 'application/zip' } });
  const h = await health(srv.port);
  assert.ok(h.status === 200 && h.ms < 1000, `healthz in ${h.ms} ms during the trickle`);
  const [ra, rb, rc, r2] = await Promise.all([a.reply, b.reply, c, second]);
  for (const r of [ra, rb]) {
    assert.equal([r.status, r.json?.error?.code], [408, 'INVALID_EXPORT']);
    assert.match(r.json.error.message, /slower than 20 KB\/s/);
  }
  assert.is(r2.status, 429, 'a second upload from a guest that holds a slot');
  assert.match(r2.json.error.message, /Another upload from this device/);
  assert.is(rc.status, 200, 'the third guest was served once the trickles were cut');
  assert.is(rc.json.import.username, 'dave');
  const ms = performance.now() - t0;
  figures('guests-uploads', { trickleCutMs: Math.max(ra.ms, rb.ms), servedAfterMs: rc.ms, totalMs: ms, rssMb: mb() });
  assert.ok(mb() < 400, `RSS ${mb()} MB`);
  await srv.close();
});

test.run();
