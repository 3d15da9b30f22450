/** The upstreams (worker/upstreams.ts on the transport worker/http.ts) against the fake Letterboxd: statuses to codes, retries, limits, the image guard. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RequestError } from 'got';
import { AppError } from '../../common/errors.js';
import { systemClock } from '../../common/clock.js';
import { createHttp, type Http, type HttpConfig } from '../../worker/upstreams.js';
import { PosterError } from '../../worker/posters/download.js';
import { RetryLaterError } from '../../worker/retryLater.js';
import { startFakeLetterboxd, type FakeLetterboxd, type FakeFilm } from '../helpers/fakeLetterboxd.js';
import { instantClock, type InstantClock } from '../helpers/collectRig.js';
import { fakeClock } from '../helpers/fakeClock.js';

const now = new Date(2026, 10, 15, 12, 0, 0);
let lb: FakeLetterboxd;
let clock: InstantClock;
let http: Http;
let flow: FakeFilm;
const signal = () => new AbortController().signal;

function client(config: Partial<HttpConfig> = {}): Http {
  http?.close();
  clock = instantClock();
  http = createHttp({ letterboxdUrl: lb.url, imageHosts: [lb.imageHost], spacingMs: 0, ...config }, { clock, random: () => 0.5 });
  return http;
}

async function rejects(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

async function appError(p: Promise<unknown>, code: string): Promise<AppError> {
  const err = await rejects(p);
  assert.instance(err, AppError, `expected AppError ${code}, got ${String(err)}`);
  assert.is((err as AppError).code, code, (err as Error).message);
  return err as AppError;
}

test.before(async () => {
  lb = await startFakeLetterboxd({ now });
  flow = lb.members.get('dave')!.diary.find((v) => v.film.slug === 'flow-2024')!.film;
});
test.before.each(() => {
  lb.reset();
  client();
});
test.after(async () => {
  http.close();
  await lb.close();
});

test('a page comes back with status, body and the final URL; requests say honestly who asks (moviemosaic, no browser disguise)', async () => {
  const res = await http.page('/dave/rss/', { signal: signal(), kind: 'feed' });
  assert.is(res.status, 200);
  assert.ok(res.body.includes('<rss'));
  assert.is(res.url, `${lb.url}/dave/rss/`);
  const { headers } = lb.requests[0];
  assert.is(headers['user-agent'], 'moviemosaic/0.1 (self-hosted Letterboxd poster mosaics; feed reader)');
  assert.match(String(headers.accept), /application\/rss\+xml/);
  assert.ok(headers['accept-language']);
  assert.is(headers.referer, undefined, 'no pretending to come from a Letterboxd page');
  client({ userAgent: 'my-mosaics/2 (+mailto:me@example.org)' });
  await http.page('/dave/rss/', { signal: signal(), kind: 'feed' });
  assert.is(lb.requests[1].headers['user-agent'], 'my-mosaics/2 (+mailto:me@example.org)');
});

test("Letterboxd's outage page, with any status and on any page, is LETTERBOXD_UNREACHABLE: down for maintenance", async () => {
  for (const [path, kind, status] of [
    ['/dave/rss/', 'feed', 200],
    ['/dave/rss/', 'feed', 503],
    ['/dave/films/', 'member', 200],
    ['/film/flow-2024/', 'film', 200],
    ['/film/flow-2024/poster/std/120/', 'film-json', 404],
  ] as const) {
    lb.reset();
    lb.setFaults([{ path, kind: 'outage', status }]);
    const err = await appError(http.page(path, { signal: signal(), kind }), 'LETTERBOXD_UNREACHABLE');
    assert.is(err.message, 'Letterboxd is down for maintenance; try again later.', `${path} ${status}`);
  }
});

test('a Cloudflare challenge is LETTERBOXD_BLOCKED at once, never retried', async () => {
  lb.setFaults([{ path: '/films/', kind: 'challenge' }]);
  const err = await appError(http.page('/dave/films/', { signal: signal(), kind: 'member' }), 'LETTERBOXD_BLOCKED');
  assert.not.ok(err.retryable);
  assert.is(lb.count('/films/'), 1);
  assert.equal(clock.slept, []);
});

test('any 403 on a page is LETTERBOXD_BLOCKED, on film pages too', async () => {
  lb.setFaults([{ path: '/film/', kind: 'forbidden' }]);
  await appError(http.page('/film/flow-2024/', { signal: signal(), kind: 'film' }), 'LETTERBOXD_BLOCKED');
  assert.is(lb.requests.length, 1);
});

test('404 on a member feed or page is USER_NOT_FOUND naming the member; on a film page it is data', async () => {
  const err = await appError(http.page('/nosuchuser/rss/', { signal: signal(), kind: 'feed' }), 'USER_NOT_FOUND');
  assert.match(err.message, /"nosuchuser"/);
  await appError(http.page('/nosuchuser/films/', { signal: signal(), kind: 'member' }), 'USER_NOT_FOUND');
  const film = await http.page('/film/no-such-film/', { signal: signal(), kind: 'film' });
  assert.is(film.status, 404);
});

test('5xx is retried with growing backoff, then succeeds', async () => {
  lb.setFaults([{ path: '/rss/', kind: 'server-error', status: 502, times: 2 }]);
  const res = await http.page('/dave/rss/', { signal: signal(), kind: 'feed' });
  assert.is(res.status, 200);
  assert.is(lb.count('/rss/'), 3);
  // random() = 0.5 → 75% of each step: 1000 ms, then 2000 ms.
  assert.equal(clock.slept, [750, 1500]);
});

test('5xx that persists is LETTERBOXD_UNREACHABLE, retryable, after 1 + retries attempts', async () => {
  lb.setFaults([{ path: '/rss/', kind: 'server-error' }]);
  const err = await appError(http.page('/dave/rss/', { signal: signal(), kind: 'feed' }), 'LETTERBOXD_UNREACHABLE');
  assert.ok(err.retryable);
  assert.is(lb.count('/rss/'), 3);
});

test('429 with a short Retry-After waits that long, then succeeds', async () => {
  lb.setFaults([{ path: '/rss/', kind: 'rate-limit', retryAfter: 3, times: 1 }]);
  const res = await http.page('/dave/rss/', { signal: signal(), kind: 'feed' });
  assert.is(res.status, 200);
  assert.equal(clock.slept, [3000]);
});

test('429 with a long Retry-After goes back to the queue: LETTERBOXD_RATE_LIMITED with retryAfterMs', async () => {
  lb.setFaults([{ path: '/rss/', kind: 'rate-limit', retryAfter: 120 }]);
  const err = await appError(http.page('/dave/rss/', { signal: signal(), kind: 'feed' }), 'LETTERBOXD_RATE_LIMITED');
  assert.ok(err.retryable);
  assert.is(err.retryAfterMs, 120_000);
  assert.is(lb.count('/rss/'), 1, 'no sleeping through a long wait');
  assert.ok(err instanceof RetryLaterError, "Letterboxd's client, not the loop, words the wait");
  assert.match(err.wording.delayed('12:00:00'), /^Letterboxd asked us to slow down; trying again at 12:00:00 UTC\.$/);
  assert.equal(clock.slept, []);
});

test('429 without Retry-After backs off, then asks the queue for the observed cool-down', async () => {
  lb.setFaults([{ path: '/rss/', kind: 'rate-limit' }]);
  const err = await appError(http.page('/dave/rss/', { signal: signal(), kind: 'feed' }), 'LETTERBOXD_RATE_LIMITED');
  assert.is(err.retryAfterMs, 40_000);
  assert.is(lb.count('/rss/'), 3);
  assert.equal(clock.slept, [750, 1500]);
});

test('a slow response times out and is retried; persistent slowness is LETTERBOXD_UNREACHABLE', async () => {
  client({ timeouts: { response: 80 } });
  lb.setFaults([{ path: '/rss/', kind: 'slow', delayMs: 2000 }]);
  const err = await appError(http.page('/dave/rss/', { signal: signal(), kind: 'feed' }), 'LETTERBOXD_UNREACHABLE');
  assert.ok(err.retryable);
  assert.is(
    err.message,
    'Letterboxd did not answer in time (/dave/rss/); Letterboxd may be down or your connection may be out: try again in a few minutes.',
  );
  assert.is(lb.count('/rss/'), 3);
  for (let e: unknown = err; e; e = (e as Error).cause)
    assert.not.instance(e, RequestError, 'no got error leaves the transport, even as a cause');
});

test('a truncated response and a dropped connection are retried', async () => {
  lb.setFaults([
    { path: '/rss/', kind: 'truncate', times: 1 },
    { path: '/rss/', kind: 'reset', times: 1 },
  ]);
  const res = await http.page('/dave/rss/', { signal: signal(), kind: 'feed' });
  assert.ok(res.body.trim().endsWith('</rss>'));
  assert.is(lb.count('/rss/'), 3);
});

test('an abort surfaces as the signal reason, in flight and during backoff, not as a Letterboxd error', async () => {
  lb.setFaults([{ path: '/rss/', kind: 'slow', delayMs: 5000 }]);
  const ac = new AbortController();
  const reason = new Error('task cancelled');
  const p = http.page('/dave/rss/', { signal: ac.signal, kind: 'feed' });
  setTimeout(() => ac.abort(reason), 20);
  assert.is(await rejects(p), reason);

  // During a backoff sleep (real clock, so the sleep is pending when the abort comes).
  http.close();
  http = createHttp({ letterboxdUrl: lb.url, imageHosts: [lb.imageHost], spacingMs: 0 }, { clock: systemClock });
  lb.setFaults([{ path: '/rss/', kind: 'server-error' }]);
  const ac2 = new AbortController();
  const p2 = http.page('/dave/rss/', { signal: ac2.signal, kind: 'feed' });
  while (lb.count('/rss/') < 1) await new Promise((r) => setImmediate(r));
  ac2.abort(reason);
  assert.is(await rejects(p2), reason);

  const aborted = AbortSignal.abort();
  const err = await rejects(http.page('/dave/rss/', { signal: aborted, kind: 'feed' }));
  assert.is((err as Error).name, 'AbortError');
});

test('page() only fetches from the Letterboxd origin', async () => {
  const err = await rejects(http.page(`${lb.imageBase}/dave/rss/`, { signal: signal(), kind: 'feed' }));
  assert.not.instance(err, AppError);
  assert.is(lb.requests.length, 0);
});

test('a redirect on a page is followed within the origin only', async () => {
  lb.setFaults([{ path: '/Dave/rss/', kind: 'redirect', status: 301, location: '/dave/rss/' }]);
  const res = await http.page('/Dave/rss/', { signal: signal(), kind: 'feed' });
  assert.is(res.url, `${lb.url}/dave/rss/`);
  lb.reset();
  lb.setFaults([{ path: '/dave/rss/', kind: 'redirect', server: 'pages' }]);
  await appError(http.page('/dave/rss/', { signal: signal(), kind: 'feed' }), 'LETTERBOXD_UNREACHABLE');
  assert.is(lb.count('/dave/rss/', 'images'), 0, 'the other host is never asked');
});

test('spacing: each request to the Letterboxd host waits for its slot; poster hosts never wait', async () => {
  client({ spacingMs: 1000, pageConcurrency: 4 });
  await Promise.all(['/dave/', '/erin/', '/nobody/', '/bigfan/'].map((p) => http.page(p, { signal: signal(), kind: 'member' })));
  // The instant clock moves only by sleeping, so each request after the first slept one slot.
  assert.equal(clock.slept, [1000, 1000, 1000]);
  clock.slept.length = 0;
  await Promise.all([1, 2, 3, 4].map((w) => http.image(lb.posterUrl(flow, 20 + w)!, { signal: signal() })));
  assert.equal(clock.slept, [], 'posters are not held to the page spacing');
});

test('spacing on the wire: requests arrive at least about spacingMs apart', async () => {
  http.close();
  http = createHttp({ letterboxdUrl: lb.url, imageHosts: [lb.imageHost], spacingMs: 60, pageConcurrency: 4 }, { clock: systemClock });
  // Warm up first: a fresh client's first requests (connections, got's set-up) take longer to leave.
  await Promise.all(['/dave/', '/erin/'].map((p) => http.page(p, { signal: signal(), kind: 'member' })));
  lb.reset();
  const sent = performance.now();
  await Promise.all(
    ['/dave/', '/erin/', '/nobody/', '/bigfan/', '/dave/rss/'].map((p) => http.page(p, { signal: signal(), kind: 'member' })),
  );
  const starts = lb.requests.map((r) => r.at).sort((a, b) => a - b);
  // The gate books each start spacingMs after the previous booking, the first no earlier than `sent`,
  // and a request cannot arrive before its booking: so the i-th arrival is no earlier than
  // sent + i × 60 ms, however a busy machine delays any one send (a delay only makes arrivals later).
  // (Measured from the first arrival instead, a first request held up more than the slack failed it.)
  for (let i = 0; i < starts.length; i++) {
    assert.ok(starts[i] - sent >= i * 60 - 2, `request ${i} arrived ${Math.round(starts[i] - sent)} ms after the batch was sent`);
  }
});

test('concurrency: at most pageConcurrency pages and imageConcurrency posters in flight', async () => {
  client({ pageConcurrency: 2, imageConcurrency: 3 });
  lb.setLatency(25);
  const films = lb.members
    .get('bigfan')!
    .films.slice(0, 12)
    .map((e) => e.film);
  await Promise.all([
    ...films.map((f) => http.page(`/film/${f.slug}/`, { signal: signal(), kind: 'film' })),
    ...films.map((f) => http.image(lb.posterUrl(f, 40)!, { signal: signal() })),
  ]);
  assert.is(lb.inFlightMax.pages, 2);
  assert.is(lb.inFlightMax.images, 3);
});

test('image: bytes, decoded size and format', async () => {
  const img = await http.image(lb.posterUrl(flow, 120, 180)!, { signal: signal() });
  assert.equal(img.info, { width: 120, height: 180, format: 'jpeg' });
  assert.ok(img.body.length > 500);
  assert.is(img.contentType, 'image/jpeg');
});

test('image guard: scheme, host and port must be allowed; nothing is requested otherwise', async () => {
  const path = new URL(lb.posterUrl(flow)!).pathname;
  const bad = [
    `${lb.url}${path}`, // the pages server: another port
    `http://localhost:${new URL(lb.url).port}${path}`,
    `http://user:pw@${lb.imageHost}${path}`,
    `ftp://${lb.imageHost}${path}`,
    'file:///etc/passwd',
    'not a url',
  ];
  for (const url of bad) {
    const err = await rejects(http.image(url, { signal: signal() }));
    assert.instance(err, PosterError, url);
    assert.is((err as PosterError).reason, 'not-allowed', url);
  }
  assert.is(lb.requests.length, 0);

  const prod = createHttp({ letterboxdUrl: 'https://letterboxd.com', imageHosts: ['a.ltrbxd.com', 's.ltrbxd.com:8443', '127.0.0.1:9'] });
  assert.ok(prod.isAllowedImageUrl('https://a.ltrbxd.com/resized/film-poster/1/1-x-0-70-0-105-crop.jpg'));
  assert.ok(prod.isAllowedImageUrl('https://a.ltrbxd.com:443/x.jpg'));
  assert.not.ok(prod.isAllowedImageUrl('http://a.ltrbxd.com/x.jpg'), 'https only for non-loopback hosts');
  assert.not.ok(prod.isAllowedImageUrl('https://a.ltrbxd.com:8443/x.jpg'));
  assert.ok(prod.isAllowedImageUrl('https://s.ltrbxd.com:8443/x.jpg'));
  assert.not.ok(prod.isAllowedImageUrl('https://s.ltrbxd.com/x.jpg'));
  assert.not.ok(prod.isAllowedImageUrl('https://evil.a.ltrbxd.com.example/x.jpg'));
  assert.ok(prod.isAllowedImageUrl('http://127.0.0.1:9/x.jpg'), 'loopback may be http');
  prod.close();
});

test('image: a redirect to another host is refused and never followed', async () => {
  lb.setFaults([{ path: '/resized/', kind: 'redirect', server: 'images' }]);
  const err = await rejects(http.image(lb.posterUrl(flow, 60)!, { signal: signal() }));
  assert.is((err as PosterError).reason, 'not-allowed');
  assert.is(lb.count('/resized/', 'pages'), 0);
});

test('image: too large, corrupt, refused (wrong name part), missing', async () => {
  const big = await rejects(http.image(lb.posterUrl(flow, 300)!, { signal: signal(), maxBytes: 1000 }));
  assert.is((big as PosterError).reason, 'too-large');

  lb.setFaults([{ path: '/resized/', kind: 'corrupt', server: 'images' }]);
  const corrupt = await rejects(http.image(lb.posterUrl(flow, 120)!, { signal: signal() }));
  assert.is((corrupt as PosterError).reason, 'not-image');
  lb.reset();

  const wrongName = lb.posterUrl(flow, 120)!.replace('-flow-2024-', '-flow-');
  const refused = await rejects(http.image(wrongName, { signal: signal() }));
  assert.is((refused as PosterError).reason, 'refused');

  lb.setFaults([{ path: '/resized/', kind: 'challenge', server: 'images' }]);
  assert.is(((await rejects(http.image(lb.posterUrl(flow, 120)!, { signal: signal() }))) as PosterError).reason, 'refused');
  lb.reset();

  const missing = await rejects(http.image(`${lb.imageBase}/resized/film-poster/9/9/99-nothing-0-70-0-105-crop.jpg`, { signal: signal() }));
  assert.is((missing as PosterError).reason, 'not-found');
});

test('a background request (a feed poll) waits for every foreground one, and takes a spacing slot only when it is free', async () => {
  http?.close();
  const fake = fakeClock(Date.UTC(2026, 10, 15, 12));
  http = createHttp({ letterboxdUrl: lb.url, imageHosts: [lb.imageHost], spacingMs: 1000 }, { clock: fake, random: () => 0.5 });
  lb.reset();
  const arrived = () => lb.requests.map((r) => r.path);
  const a = http.page('/dave/rss/', { signal: signal(), kind: 'feed' });
  const poll = http.page('/erin/rss/', { signal: signal(), kind: 'feed', background: true });
  const c = http.page('/marathon/rss/', { signal: signal(), kind: 'feed' });
  await a;
  assert.equal(arrived(), ['/dave/rss/']);
  fake.advance(1000); // the next slot: the foreground request that came after the poll
  await c;
  assert.equal(arrived(), ['/dave/rss/', '/marathon/rss/']);
  fake.advance(1000);
  await poll;
  assert.equal(arrived(), ['/dave/rss/', '/marathon/rss/', '/erin/rss/']);
  client();
});

test.run();
