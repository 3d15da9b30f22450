/**
 * The hostile guest's disk and size replay (issue 14), shared by test/resilience/bounds.serial.test.ts
 * (reduced scale) and `npm run soak -- --abuse` (full scale): requests from loopback addresses of
 * their own, big exports, and the RESULTS_MB flood.
 */
import * as assert from 'uvu/assert';
import { csv, EXPORT_HEADERS, makeZip } from '../exportZip.js';
import { track } from '../server.js';
import { createRng, type Rng } from './rng.js';
import { call, dbSize, mb, rssOf, startStack, within, type Reply } from './kit.js';

/** One request to the server from `from` (a loopback address of its own: another guest). */
export function callFrom(
  from: string,
  port: number,
  method: string,
  path: string,
  body?: Buffer | object,
  type = 'application/json',
): Promise<Reply> {
  return call(port, method, path, body, body === undefined ? {} : { 'content-type': type }, from);
}

/** A watched.csv-only export of `n` films with titles of `titleChars` characters, newest last (as Letterboxd writes). */
export function bigExport(n: number, titleChars: number, rng: Rng, tag: string): Buffer {
  const rows = Array.from({ length: n }, (_, i) => {
    const day = new Date(Date.UTC(2010, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);
    const words =
      `${tag} ${i} ` +
      Array.from({ length: 60 }, () => rng.pick(['night', 'of', 'the', 'long', 'knives', 'zebra', 'quartz', 'dawn', 'ÿ', 'Ω'])).join(' ');
    return [day, words.slice(0, titleChars), 1950 + (i % 70), `https://boxd.it/${tag}${i}`];
  });
  return makeZip([{ name: 'watched.csv', data: csv([[...EXPORT_HEADERS.watched], ...rows]) }]);
}

export interface BudgetRun {
  resultsMb: number;
  resultKb: number;
  mosaics: number;
  exports: number;
  seed: number;
  log?: (line: string) => void;
}

/**
 * Fills RESULTS_MB: `exports` big imports and `mosaics` results of ~`resultKb` from a stand-in worker
 * (worker/main.ts's real wiring, drawing no posters), from four addresses, while another address
 * reads the lists and /healthz. One old result is viewed (GET /result) before the flood and must
 * survive it. Returns the figures; throws on a broken bound. Also `npm run soak -- --abuse`.
 */
export async function budgetRun(run: BudgetRun): Promise<Record<string, string | number>> {
  const rng = createRng(run.seed);
  const env = { RESULTS_MB: String(run.resultsMb) };
  const stack = await startStack({
    letterboxdEnv: {},
    workers: 2,
    workerEntry: 'test/helpers/resilience/soakWorker.ts',
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
      const h = await callFrom('127.0.0.9', port, 'GET', rng.pick(['/healthz', '/api/mosaics?limit=24', '/api/users/flood0/mosaics']));
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
      await within(
        (async () => {
          for (;;) {
            const t = (await callFrom(from, port, 'GET', `/api/tasks/${id}`)).json.task;
            if (t.status === 'COMPLETE') return;
            assert.ok(t.status === 'QUEUED' || t.status === 'RUNNING', JSON.stringify(t));
            await new Promise((r) => setTimeout(r, 25));
          }
        })(),
        60_000,
        `task ${id}`,
      );
    }
    return ids;
  };
  const recent = (user: string, count: number) => ({ username: user, mode: 'recent', count, layout: 'grid', format: 'jpeg' });

  const [kept, ...early] = await make(
    '127.0.0.2',
    Array.from({ length: 4 }, (_, i) => recent('early', i + 1)),
  );

  // The flood: big exports and many results, from four addresses.
  for (let i = 0; i < run.exports; i++) {
    const r = await callFrom(
      `127.0.0.${3 + (i % 4)}`,
      port,
      'POST',
      `/api/users/guest${i}/export`,
      bigExport(3100, 300, rng.fork(i), `g${i}`),
      zip,
    );
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
    // Distinct requests: 50 counts per member name.
    await make(
      from,
      Array.from({ length: n }, (_, i) => recent(`flood${Math.floor((made + i) / 50)}`, ((made + i) % 50) + 1)),
    );
    made += n;
    run.log?.(`${made} mosaics, database ${mb(dbSize(stack.dbPath).db)}`);
  }
  reading = false;
  await reader;

  const held = stack.db
    .prepare(`SELECT (SELECT coalesce(sum(bytes),0) FROM results) + (SELECT coalesce(sum(bytes),0) FROM member_imports)`)
    .pluck()
    .get() as number;
  const biggest = stack.db.prepare(`SELECT max(bytes) FROM results`).pluck().get() as number;
  const avg = stack.db.prepare(`SELECT avg(bytes) FROM results`).pluck().get() as number;
  assert.ok(held <= budget + biggest, `held ${mb(held)} of ${mb(budget)}`);
  const ids = new Set(stack.db.prepare(`SELECT id FROM results`).pluck().all() as string[]);
  assert.ok(ids.has(kept), 'the viewed result outlived the flood');
  assert.ok(
    early.every((id) => !ids.has(id)),
    'the unviewed ones of its age went first',
  );
  const newest = stack.db.prepare(`SELECT id FROM tasks ORDER BY created_at DESC LIMIT 10`).pluck().all() as string[];
  assert.ok(
    newest.every((id) => ids.has(id)),
    'the newest are kept',
  );
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
