/**
 * Hostile guest, disk and size (issue 14), replayed from several loopback addresses against the real
 * server process and real workers: exports of huge titles and rows, 3,000-film mosaics asked in one
 * column, refresh floods, then results and imports past RESULTS_MB. Bounds (behaviour, not speed): the
 * lists ≤ 100 KB, /healthz within 1 s while the worker draws, the database within RESULTS_MB + 10 %,
 * the server ≤ 400 MB, another client served meanwhile. Reduced scale here (RESULTS_MB=24, 40
 * results of 1 MB); `npm run soak -- --abuse` runs the budget part at full scale (RESULTS_MB=1000).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { request as httpRequest } from 'node:http';
import sharp from 'sharp';
import { startFakeLetterboxd } from '../helpers/fakeLetterboxd.js';
import { csv, EXPORT_HEADERS, makeZip } from '../helpers/exportZip.js';
import { cleanup, track } from '../server/helpers.js';
import { createRng, suiteSeed } from './rng.js';
import { dbSize, fakeFilm, fakeMember, figures, mb, rssOf, startStack, within, type Reply } from './kit.js';

test.after.each(cleanup);

const SEED = suiteSeed(14_014);

/** One request to the server from `from` (a loopback address of its own: another guest). */
function callFrom(from: string, port: number, method: string, path: string, body?: Buffer | object, type = 'application/json'): Promise<Reply> {
  const t0 = performance.now();
  const data = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path, method, localAddress: from, agent: false, headers: data ? { 'content-type': type, 'content-length': String(data.length) } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const buf = Buffer.concat(chunks);
          let json: unknown;
          try {
            json = JSON.parse(buf.toString('utf8'));
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode!, headers: res.headers, body: buf, json, ms: performance.now() - t0 });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** A watched.csv-only export of `n` films with titles of `titleChars` characters, newest last (as Letterboxd writes). */
function bigExport(n: number, titleChars: number, rng: ReturnType<typeof createRng>, tag: string): Buffer {
  const rows = Array.from({ length: n }, (_, i) => {
    const day = new Date(Date.UTC(2010, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);
    const words = `${tag} ${i} ` + Array.from({ length: 60 }, () => rng.pick(['night', 'of', 'the', 'long', 'knives', 'zebra', 'quartz', 'dawn', 'ÿ', 'Ω'])).join(' ');
    return [day, words.slice(0, titleChars), 1950 + (i % 70), `https://boxd.it/${tag}${i}`];
  });
  return makeZip([{ name: 'watched.csv', data: csv([[...EXPORT_HEADERS.watched], ...rows]) }]);
}

test(`bounds: huge exports refused, 3,000 films a mosaic, columns clamped, lists small, refreshes throttled, /healthz answers (seed ${SEED})`, async () => {
  const rng = createRng(SEED);
  const lb = await startFakeLetterboxd({});
  track(() => lb.close());
  const members = ['hoarder', 'collector', 'archivist'];
  for (const m of members) lb.addMember(fakeMember(m, Array.from({ length: 3 }, (_, j) => fakeFilm(`${m} feed film ${j + 1}`, 2020 + j))));
  const stack = await startStack({ letterboxdEnv: lb.env, workers: 1 });
  track(() => stack.close());
  const port = stack.port();
  const serverPid = stack.server().proc.pid!;
  let rssMax = rssOf(serverPid);
  const zip = 'application/zip';

  // 1. The finding's exports: 150 titles of 60,000 characters (a small ZIP), 100,000 rows.
  const longTitles = makeZip([{ name: 'watched.csv', data: csv([[...EXPORT_HEADERS.watched], ...Array.from({ length: 150 }, (_, i) => ['2024-01-01', 'x'.repeat(60_000), 2000, `u${i}`])]) }]);
  const r1 = await callFrom('127.0.0.2', port, 'POST', '/api/users/hoarder/export', longTitles, zip);
  assert.equal([r1.status, r1.json.error.code], [400, 'INVALID_EXPORT']);
  assert.match(r1.json.error.message, /longer than 300 characters/);
  const manyRows = makeZip([{ name: 'watched.csv', data: csv([[...EXPORT_HEADERS.watched], ...Array.from({ length: 100_000 }, (_, i) => ['2024-01-01', `F${i}`, 2000, `u${i}`])]) }]);
  const r2 = await callFrom('127.0.0.3', port, 'POST', '/api/users/hoarder/export', manyRows, zip);
  assert.equal([r2.status, r2.json.error.code], [400, 'INVALID_EXPORT']);
  assert.match(r2.json.error.message, /more than 50,000 rows/);
  figures('bounds', { 'long-titles ZIP': `${longTitles.length} B → 400`, '100,000-row ZIP': `${manyRows.length} B → 400` });

  // 2. Big exports within the caps: 3,100 films of 300-character titles, from three addresses.
  const exports = members.map((m, i) => bigExport(3100, 300, rng.fork(m), `${m.slice(0, 3)}${i}`));
  for (const [i, m] of members.entries()) {
    const r = await callFrom(`127.0.0.${4 + i}`, port, 'POST', `/api/users/${m}/export`, exports[i], zip);
    assert.is(r.status, 200, r.body.toString());
    assert.is(r.json.import.films, 3100);
  }

  // 3. `all` in one column, WebP (before: a 4×18,000 px image no WebP holds, from 3,100 films), while
  //    another client polls /healthz from its own address.
  let polling = true;
  const healthMs: number[] = [];
  const poller = (async () => {
    while (polling) {
      const h = await callFrom('127.0.0.9', port, 'GET', '/healthz');
      assert.is(h.status, 200);
      healthMs.push(h.ms);
      rssMax = Math.max(rssMax, rssOf(serverPid));
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  poller.catch(() => {}); // awaited below; a failure there must not end the process before the test reports
  track(() => void (polling = false));
  const all = { username: 'hoarder', mode: 'all', layout: 'grid', columns: 1, format: 'webp' };
  const r3 = await callFrom('127.0.0.4', port, 'POST', '/api/mosaics', all);
  assert.is(r3.status, 202, r3.body.toString());
  const made = r3.json.task.id as string;
  /** The task once finished (polled, as a phone without a socket would). */
  const finished = (id: string) =>
    within((async () => {
      for (;;) {
        const t = (await callFrom('127.0.0.9', port, 'GET', `/api/tasks/${id}`)).json.task;
        if (t.status !== 'QUEUED' && t.status !== 'RUNNING') return t;
        await new Promise((r) => setTimeout(r, 100));
      }
    })(), 180_000, `task ${id} to finish`);
  const t0 = Date.now();
  const first = await finished(made);
  assert.is(first.status, 'COMPLETE', JSON.stringify(first));
  const firstMs = Date.now() - t0;
  const mosaic = (await callFrom('127.0.0.9', port, 'GET', `/api/tasks/${made}/mosaic`)).json.mosaic;
  assert.is(mosaic.filmCount, 3000);
  assert.is(mosaic.films.length, 3000);
  assert.match(mosaic.note, /A mosaic holds at most 3,000 films: this one shows the newest 3,000 of 3,10\d\./, mosaic.note);
  assert.match(mosaic.note, /Drawn in 3 columns, not 1/);
  // Newest first: the feed's three, then the export's from its last row; its oldest 103 are not drawn.
  const fromExport = mosaic.films.filter((f: { title: string }) => f.title.startsWith('hoa0 '));
  assert.ok(fromExport[0].title.startsWith('hoa0 3099 ') && fromExport.at(-1).title.startsWith('hoa0 103 '), `${fromExport[0].title} … ${fromExport.at(-1).title}`);
  const image = (await callFrom('127.0.0.9', port, 'GET', mosaic.resultUrl)).body;
  const meta = await sharp(image).metadata();
  assert.equal([meta.format, meta.width, meta.height], ['webp', mosaic.width, mosaic.height]);
  assert.ok(mosaic.height <= 8192);
  polling = false;
  await poller;
  const healthMax = Math.max(...healthMs);
  assert.ok(healthMax < 1000, `/healthz took ${healthMax.toFixed(0)} ms`);
  assert.ok(rssMax <= 400 * 1024 * 1024, `server RSS ${mb(rssMax)}`);

  // 4. Lists: summaries without film lists.
  const gallery = await callFrom('127.0.0.9', port, 'GET', '/api/mosaics?limit=24');
  const mine = await callFrom('127.0.0.9', port, 'GET', '/api/users/hoarder/mosaics');
  assert.ok(gallery.body.length <= 100 * 1024 && mine.body.length <= 100 * 1024, `${gallery.body.length} / ${mine.body.length} bytes`);
  assert.ok(gallery.json.mosaics.every((m: object) => !('films' in m)));
  const filmsStored = stack.db.prepare(`SELECT max(length(films)) FROM results`).pluck().get() as number;
  const filmsJson = Buffer.byteLength(JSON.stringify(mosaic.films));
  assert.ok(filmsStored < filmsJson / 3, `film list stored in ${filmsStored} bytes, ${filmsJson} as JSON`);

  // 5. Refresh flood from one address: one new mosaic a minute, the rest 429 with Retry-After.
  const again = await Promise.all(Array.from({ length: 10 }, () =>
    callFrom('127.0.0.5', port, 'POST', '/api/mosaics', { ...all, refresh: true })));
  assert.equal([...new Set(again.map((r) => r.status))], [429]);
  assert.ok(again.every((r) => Number(r.headers['retry-after']) >= 1 && Number(r.headers['retry-after']) <= 60));

  figures('bounds', {
    '3,000-film WebP in 1 column asked': `${mosaic.width}×${mosaic.height} px, ${(firstMs / 1000).toFixed(1)} s`,
    'gallery / member list': `${gallery.body.length} / ${mine.body.length} B`,
    'film list stored': `${filmsStored} B (JSON ${filmsJson} B)`,
    '/healthz max': `${healthMax.toFixed(0)} ms over ${healthMs.length}`,
    'server RSS max': mb(rssMax),
  });
});

export interface BudgetRun {
  resultsMb: number;
  resultKb: number;
  mosaics: number;
  exports: number;
  log?: (line: string) => void;
}

/**
 * Fills RESULTS_MB: `exports` big imports and `mosaics` results of ~`resultKb` from a stand-in worker
 * (worker/main.ts's real wiring, drawing no posters), from four addresses, while another address
 * reads the lists and /healthz. One old result is viewed (GET /result) before the flood and must
 * survive it. Returns the figures; throws on a broken bound. Also `npm run soak -- --abuse`.
 */
export async function budgetRun(run: BudgetRun): Promise<Record<string, string | number>> {
  const rng = createRng(SEED + 1);
  const env = { RESULTS_MB: String(run.resultsMb) };
  const stack = await startStack({
    letterboxdEnv: {},
    workers: 2,
    workerEntry: 'test/resilience/soakWorker.ts',
    workerEnv: { ...env, SOAK_RESULT_KB: String(run.resultKb) },
    serverEnv: env,
  });
  track(() => stack.close());
  const port = stack.port();
  const serverPid = stack.server().proc.pid!;
  const budget = run.resultsMb * 1024 * 1024;
  const zip = 'application/zip';
  let rssMax = rssOf(serverPid);
  let listMax = 0;
  const healthMs: number[] = [];
  let reading = true;
  const reader = (async () => {
    while (reading) {
      const h = await callFrom('127.0.0.9', port, 'GET', rng.pick(['/healthz', '/api/mosaics?limit=24', '/api/users/guest0/mosaics']));
      assert.is(h.status, 200);
      if (h.json.mosaics) listMax = Math.max(listMax, h.body.length);
      else healthMs.push(h.ms);
      rssMax = Math.max(rssMax, rssOf(serverPid));
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  reader.catch(() => {});
  track(() => void (reading = false));

  /** Makes one mosaic per body from `from`, waiting for each (the stand-in takes ~30 ms). */
  const make = async (from: string, bodies: object[]): Promise<string[]> => {
    const ids: string[] = [];
    for (const body of bodies) {
      const r = await callFrom(from, port, 'POST', '/api/mosaics', body);
      assert.is(r.status, 202, r.body.toString());
      ids.push(r.json.task.id);
    }
    for (const id of ids) {
      await within((async () => {
        for (;;) {
          const t = (await callFrom(from, port, 'GET', `/api/tasks/${id}`)).json.task;
          if (t.status === 'COMPLETE') return;
          assert.ok(t.status === 'QUEUED' || t.status === 'RUNNING', JSON.stringify(t));
          await new Promise((r) => setTimeout(r, 25));
        }
      })(), 60_000, `task ${id}`);
    }
    return ids;
  };
  const recent = (user: string, count: number) => ({ username: user, mode: 'recent', count, layout: 'grid', format: 'jpeg' });

  const [kept, ...early] = await make('127.0.0.2', Array.from({ length: 4 }, (_, i) => recent('early', i + 1)));

  // The flood: big exports and many results, from four addresses.
  for (let i = 0; i < run.exports; i++) {
    const r = await callFrom(`127.0.0.${3 + (i % 4)}`, port, 'POST', `/api/users/guest${i}/export`, bigExport(3100, 300, rng.fork(i), `g${i}`), zip);
    assert.is(r.status, 200, r.body.toString());
  }
  let made = 4;
  let viewed = false;
  for (let batch = 0; made < run.mosaics; batch++) {
    if (!viewed && made >= run.mosaics / 2) {
      // Halfway: everything so far is made a day old (the test's clock fast-forward), then the first
      // mosaic is viewed. Least recently viewed first: the day-old ones go before it.
      stack.db.prepare(`UPDATE results SET viewed_at = viewed_at - 86400000`).run();
      stack.db.prepare(`UPDATE member_imports SET imported_at = imported_at - 86400000`).run();
      assert.is((await callFrom('127.0.0.9', port, 'GET', `/api/tasks/${kept}/result`)).status, 200);
      viewed = true;
    }
    const from = `127.0.0.${3 + (batch % 4)}`;
    const n = Math.min(8, run.mosaics - made);
    await make(from, Array.from({ length: n }, (_, i) => recent(`guest${batch % 4}`, 8 * Math.floor(batch / 4) + i + 1)));
    made += n;
    run.log?.(`${made} mosaics, database ${mb(dbSize(stack.dbPath).db)}`);
  }
  reading = false;
  await reader;

  const held = stack.db.prepare(`SELECT (SELECT coalesce(sum(bytes),0) FROM results) + (SELECT coalesce(sum(bytes),0) FROM member_imports)`).pluck().get() as number;
  const biggest = stack.db.prepare(`SELECT max(bytes) FROM results`).pluck().get() as number;
  const avg = stack.db.prepare(`SELECT avg(bytes) FROM results`).pluck().get() as number;
  assert.ok(held <= budget + biggest, `held ${mb(held)} of ${mb(budget)}`);
  const ids = new Set(stack.db.prepare(`SELECT id FROM results`).pluck().all() as string[]);
  assert.ok(ids.has(kept), 'the viewed result outlived the flood');
  assert.ok(early.every((id) => !ids.has(id)), 'the unviewed ones of its age went first');
  const newest = stack.db.prepare(`SELECT id FROM tasks ORDER BY created_at DESC LIMIT 10`).pluck().all() as string[];
  assert.ok(newest.every((id) => ids.has(id)), 'the newest are kept');
  assert.is((await callFrom('127.0.0.9', port, 'GET', `/api/tasks/${early[0]}/mosaic`)).json.error.code, 'TASK_NOT_FOUND');
  const imports = stack.db.prepare(`SELECT count(*) FROM member_imports`).pluck().get() as number;
  const { db: dbBytes, wal } = dbSize(stack.dbPath);
  assert.ok(dbBytes <= budget * 1.1, `database ${mb(dbBytes)} for RESULTS_MB=${run.resultsMb}`);
  assert.ok(listMax <= 100 * 1024, `a list of ${listMax} bytes`);
  const healthMax = Math.max(...healthMs);
  assert.ok(healthMax < 1000, `/healthz took ${healthMax.toFixed(0)} ms`);
  assert.ok(rssMax <= 400 * 1024 * 1024, `server RSS ${mb(rssMax)}`);
  return {
    made: `${made} mosaics of ~${mb(avg)} + ${run.exports} exports of 3,100 films`,
    'held / budget': `${mb(held)} / ${mb(budget)}`,
    database: `${mb(dbBytes)} (WAL ${mb(wal)})`,
    'results / imports left': `${ids.size} / ${imports}`,
    'largest list': `${listMax} B`,
    '/healthz max': `${healthMax.toFixed(0)} ms over ${healthMs.length}`,
    'server RSS max': mb(rssMax),
  };
}

test('bounds: results and imports past RESULTS_MB (24 MB; 40 results of 1 MB, 4 exports): least recently viewed out, the database within budget + 10 %', async () => {
  figures('bounds-budget', await budgetRun({ resultsMb: 24, resultKb: 2048, mosaics: 40, exports: 4 }));
});

test.run();
