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
import sharp from 'sharp';
import { startFakeLetterboxd } from '../helpers/fakeLetterboxd.js';
import { csv, EXPORT_HEADERS, makeZip } from '../helpers/exportZip.js';
import { cleanup, track } from '../helpers/server.js';
import { createRng, suiteSeed } from '../helpers/resilience/rng.js';
import { fakeFilm, fakeMember, figures, mb, rssOf, startStack, within } from '../helpers/resilience/kit.js';
import { bigExport, budgetRun, callFrom } from '../helpers/resilience/guest.js';

test.after.each(cleanup);

const SEED = suiteSeed(14_014);

test(`bounds: huge exports refused, 3,000 films a mosaic, columns clamped, lists small, refreshes throttled, /healthz answers (seed ${SEED})`, async () => {
  const rng = createRng(SEED);
  // The server and worker run on the real clock ("all" and exports only: no month depends on it).
  const now = new Date();
  const lb = await startFakeLetterboxd({ now });
  track(() => lb.close());
  const members = ['hoarder', 'collector', 'archivist'];
  for (const m of members)
    lb.addMember(
      fakeMember(
        m,
        Array.from({ length: 3 }, (_, j) => fakeFilm(`${m} feed film ${j + 1}`, 2020 + j)),
        now,
      ),
    );
  const stack = await startStack({ letterboxdEnv: lb.env, workers: 1 });
  track(() => stack.close());
  const port = stack.port();
  const serverPid = stack.server().proc.pid!;
  let rssMax = rssOf(serverPid);
  const zip = 'application/zip';

  // 1. The finding's exports: 150 titles of 60,000 characters (a small ZIP), 100,000 rows.
  const longTitles = makeZip([
    {
      name: 'watched.csv',
      data: csv([[...EXPORT_HEADERS.watched], ...Array.from({ length: 150 }, (_, i) => ['2024-01-01', 'x'.repeat(60_000), 2000, `u${i}`])]),
    },
  ]);
  const r1 = await callFrom('127.0.0.2', port, 'POST', '/api/users/hoarder/export', longTitles, zip);
  assert.equal([r1.status, r1.json.error.code], [400, 'INVALID_EXPORT']);
  assert.match(r1.json.error.message, /longer than 300 characters/);
  const manyRows = makeZip([
    {
      name: 'watched.csv',
      data: csv([[...EXPORT_HEADERS.watched], ...Array.from({ length: 100_000 }, (_, i) => ['2024-01-01', `F${i}`, 2000, `u${i}`])]),
    },
  ]);
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
    within(
      (async () => {
        for (;;) {
          const t = (await callFrom('127.0.0.9', port, 'GET', `/api/tasks/${id}`)).json.task;
          if (t.status !== 'QUEUED' && t.status !== 'RUNNING') return t;
          await new Promise((r) => setTimeout(r, 100));
        }
      })(),
      180_000,
      `task ${id} to finish`,
    );
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
  assert.ok(
    fromExport[0].title.startsWith('hoa0 3099 ') && fromExport.at(-1).title.startsWith('hoa0 103 '),
    `${fromExport[0].title} … ${fromExport.at(-1).title}`,
  );
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
  const again = await Promise.all(
    Array.from({ length: 10 }, () => callFrom('127.0.0.5', port, 'POST', '/api/mosaics', { ...all, refresh: true })),
  );
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

test('bounds: results and imports past RESULTS_MB (24 MB; 40 results of 1 MB, 4 exports): least recently viewed out, the database within budget + 10 %', async () => {
  figures('bounds-budget', await budgetRun({ resultsMb: 24, resultKb: 2048, mosaics: 40, exports: 4, seed: SEED + 1 }));
});

test.run();
