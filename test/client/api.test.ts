import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ApiError, createApi } from '../../client/api.js';
import { cancelTokenStore, KEEP_TOKENS } from '../../client/cancelTokens.js';
import { fakeFetch, json } from '../helpers/fakeFetch.js';

const task = { id: 't1', username: 'dave', status: 'QUEUED' };

test('createMosaic posts JSON and tells new (202) from deduped (200)', async () => {
  const f = fakeFetch(() => json(202, { task }));
  const api = createApi(f.fn);
  const r = await api.createMosaic({ username: 'dave', mode: 'recent', count: 5, layout: 'grid' });
  assert.is(r.created, true);
  assert.is(r.task.id, 't1');
  assert.equal(
    { ...f.calls[0], headers: undefined },
    { url: '/api/mosaics', method: 'POST', body: '{"username":"dave","mode":"recent","count":5,"layout":"grid"}', headers: undefined },
  );
  const again = await createApi(fakeFetch(() => json(200, { task })).fn).createMosaic({ username: 'dave', mode: 'all', layout: 'classic' });
  assert.is(again.created, false);
});

test('createMosaic: one Idempotency-Key per request, kept for its retries while the outcome is unknown', async () => {
  const answers: (() => Response)[] = [];
  const f = fakeFetch(() => {
    const next = answers.shift();
    if (!next) throw new TypeError('Failed to fetch');
    return next();
  });
  const api = createApi(f.fn);
  const body = { username: 'dave', mode: 'recent', count: 5, layout: 'grid' } as const;
  const key = (i: number) => f.calls[i].headers['Idempotency-Key'];
  const attempt = (b: Parameters<typeof api.createMosaic>[0] = body) =>
    api.createMosaic(b).then(
      () => 'ok',
      (e: ApiError) => e.code,
    );

  assert.is(await attempt(), 'NETWORK'); // 0: no answer
  assert.match(key(0), /^[A-Za-z0-9_-]{22}$/);
  answers.push(() => json(502, {}));
  assert.is(await attempt(), 'INTERNAL'); // 1: the same request again; a 5xx leaves the outcome unknown
  answers.push(() => json(202, { task, cancelToken: 'k' }));
  assert.is(await attempt(), 'ok'); // 2: still the same request
  assert.equal([key(1), key(2)], [key(0), key(0)]);

  assert.is(await attempt(), 'NETWORK'); // 3: answered before, so asking again is a new request
  assert.is.not(key(3), key(0));
  assert.is(await attempt({ ...body, count: 6 }), 'NETWORK'); // 4: a different request
  assert.is.not(key(4), key(3));
  answers.push(() => json(429, { error: { code: 'RATE_LIMITED', message: 'Slow down.' } }));
  assert.is(await attempt({ ...body, count: 6 }), 'RATE_LIMITED'); // 5: its retry, refused: an answer
  assert.is(key(5), key(4));
  assert.is(await attempt({ ...body, count: 6 }), 'NETWORK'); // 6: so this is new
  assert.is.not(key(6), key(5));
  assert.is(new Set(f.calls.map((_, i) => key(i))).size, 4);
});

test('paths are escaped', async () => {
  const f = fakeFetch((c) =>
    c.url.includes('/mosaics') && !c.url.includes('users')
      ? json(200, { mosaics: [] })
      : c.url.endsWith('/mosaic')
        ? json(200, { mosaic: {} })
        : json(200, { task, mosaics: [] }),
  );
  const api = createApi(f.fn);
  await api.getTask('a/b');
  await api.cancelTask('x');
  await api.getMosaic('m');
  await api.listUserMosaics('dave');
  await api.listGallery();
  assert.equal(
    f.calls.map((c) => `${c.method} ${c.url}`),
    ['GET /api/tasks/a%2Fb', 'DELETE /api/tasks/x', 'GET /api/tasks/m/mosaic', 'GET /api/users/dave/mosaics', 'GET /api/mosaics?limit=24'],
  );
});

test('error bodies become ApiError with code, status and field', async () => {
  const api = createApi(fakeFetch(() => json(400, { error: { code: 'INVALID_REQUEST', message: 'count must be…', field: 'count' } })).fn);
  try {
    await api.createMosaic({ username: 'dave', mode: 'recent', count: 99, layout: 'classic' });
    assert.unreachable();
  } catch (err) {
    assert.instance(err, ApiError);
    const e = err as ApiError;
    assert.equal([e.code, e.status, e.field, e.offline], ['INVALID_REQUEST', 400, 'count', false]);
  }
});

test('a non-JSON error page and a network failure are still ApiErrors', async () => {
  const html = createApi(fakeFetch(() => new Response('<h1>Bad gateway</h1>', { status: 502 })).fn);
  const e1 = (await html.getTask('x').catch((e: unknown) => e)) as ApiError;
  assert.equal([e1.code, e1.status], ['INTERNAL', 502]);
  const down = createApi(fakeFetch(() => Promise.reject(new TypeError('fetch failed'))).fn);
  const e2 = (await down.getTask('x').catch((e: unknown) => e)) as ApiError;
  assert.equal([e2.code, e2.status, e2.offline], ['NETWORK', 0, true]);
});

test('cancel tokens: kept from createMosaic (in storage, across reloads), sent with cancelTask, then forgotten', async () => {
  const items = new Map<string, string>();
  const storage = { getItem: (k: string) => items.get(k) ?? null, setItem: (k: string, v: string) => void items.set(k, v) };
  const f = fakeFetch((c) =>
    c.method === 'POST' ? json(202, { task, cancelToken: 'tok-1' }) : json(200, { task: { ...task, status: 'QUEUED' }, left: true }),
  );
  await createApi(f.fn, '', cancelTokenStore(storage)).createMosaic({ username: 'dave', mode: 'all', layout: 'grid' });
  // A reload: a new client over the same storage still has the token.
  const api = createApi(f.fn, '', cancelTokenStore(storage));
  const out = await api.cancelTask('t1');
  assert.equal(out.left, true);
  assert.is(f.calls[1].headers?.['cancel-token'], 'tok-1');
  assert.is(cancelTokenStore(storage).get('t1'), null);
  // Without a token the request goes out without the header (the server answers 403).
  await api.cancelTask('t1');
  assert.is(f.calls[2].headers?.['cancel-token'], undefined);
});

test('cancel tokens: only the newest are kept; broken storage is survived', () => {
  const items = new Map<string, string>();
  const store = cancelTokenStore({ getItem: (k) => items.get(k) ?? null, setItem: (k, v) => void items.set(k, v) });
  for (let i = 0; i < KEEP_TOKENS + 5; i++) store.set(`t${i}`, `k${i}`);
  assert.is(store.get('t0'), null);
  assert.is(store.get(`t${KEEP_TOKENS + 4}`), `k${KEEP_TOKENS + 4}`);
  items.set('moviemosaic.cancelTokens', '{not json');
  assert.is(store.get('t1'), null);
  const full = cancelTokenStore({
    getItem: () => null,
    setItem: () => {
      throw new Error('QuotaExceededError');
    },
  });
  full.set('a', 'b');
  assert.is(full.get('a'), 'b'); // kept in memory, and no throw
});
test.run();
