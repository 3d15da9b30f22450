/**
 * Load (issue 8): many clients creating and watching real mosaics at once against the real server
 * process and two real workers, while readers hammer the API. Twenty of them ask for the same mosaic at
 * the same instant: one task, and every one of them watches it complete. Figures: the server's API p99
 * under load, RSS, and how long the crowd took.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startFakeLetterboxd } from '../helpers/fakeLetterboxd.js';
import { cleanup, track } from '../helpers/server.js';
import { createRng, suiteSeed } from '../helpers/resilience/rng.js';
import {
  addMembers,
  auditImages,
  auditTasks,
  call,
  createMosaic,
  figures,
  Followers,
  integrity,
  mb,
  percentile,
  rssOf,
  startStack,
  within,
} from '../helpers/resilience/kit.js';

test.after.each(cleanup);

const SEED = suiteSeed(80_804);
const SAME = 25;
const DISTINCT = 76;

test(`load: ${SAME} clients ask for one mosaic, ${DISTINCT} for their own, all watch; readers measure p99 (seed ${SEED})`, async () => {
  const rng = createRng(SEED);
  const lb = await startFakeLetterboxd({ now: new Date(2026, 10, 15, 12), latencyMs: 5 });
  track(() => lb.close());
  const members = addMembers(lb, 'load', DISTINCT / 2 + 1, () => rng.int(4, 12));
  const stack = await startStack({ letterboxdEnv: lb.env, workers: 2 });
  track(() => stack.close());
  const followers = new Followers(stack.port, rng.fork('sockets'), SAME + DISTINCT);
  track(() => followers.close());

  // Readers: the gallery, task pages and /healthz, as phones polling would, timed from here.
  const latencies: number[] = [];
  let reading = true;
  let rssMax = 0;
  const serverPid = stack.server().proc.pid!;
  const readers = Array.from({ length: 4 }, async (_, i) => {
    const paths = ['/api/mosaics?limit=24', '/healthz', `/api/users/${members[i]}/mosaics`];
    while (reading) {
      const r = await call(stack.port(), 'GET', rng.pick(paths));
      if (r.status >= 500) throw new Error(`reader got ${r.status}`);
      latencies.push(r.ms);
      rssMax = Math.max(rssMax, rssOf(serverPid));
    }
  });

  const t0 = Date.now();
  const shared = { username: members[DISTINCT / 2], mode: 'recent', count: 10, layout: 'classic', format: 'jpeg' };
  const requests = [
    ...Array.from({ length: SAME }, () => shared),
    ...Array.from({ length: DISTINCT }, (_, i) => ({
      username: members[i % (DISTINCT / 2)],
      mode: 'recent',
      count: i < DISTINCT / 2 ? 30 : 5,
      layout: rng.pick(['classic', 'grid']),
      format: rng.pick(['jpeg', 'png', 'webp']),
    })),
  ];
  // Everyone at once: creation and subscription race the workers.
  const created = await Promise.all(requests.map((body) => createMosaic(stack.port, body)));
  const createMs: number[] = [];
  const keys = created.map((task, client) => followers.follow(task.id, client));
  createMs.push(Date.now() - t0);
  await within(Promise.all(keys.map((k) => followers.finished(k))), 60_000, 'every client to see its mosaic finish');
  const crowdMs = Date.now() - t0;
  reading = false;
  await Promise.all(readers);

  const sharedIds = new Set(created.slice(0, SAME).map((t) => t.id));
  assert.is(sharedIds.size, 1, `the same request from ${SAME} clients is one task`);
  const ids = [...new Set(created.map((t) => t.id))];
  assert.is(ids.length, 1 + DISTINCT, 'one task per distinct request');
  // Feed polls (background tasks) follow each member whose mosaic completed: not mosaics.
  const taskRows = stack.db.prepare(`SELECT count(*) FROM tasks WHERE background = 0`).pluck().get();
  assert.is(taskRows, 1 + DISTINCT, 'no extra task in the database');
  for (const k of keys) assert.is(followers.lastSeen(k)?.status, 'COMPLETE', `client ${k} saw COMPLETE`);
  const audit = auditTasks(stack.db, ids, []);
  assert.equal(audit.problems, []);
  assert.equal(await auditImages(stack.db, ids), []);
  assert.equal(followers.audit(stack.db), [], 'every client got every seq of its task, once, in order');

  // Asked again: a fresh COMPLETE is returned as is; refresh makes a new one, and a crowd of refreshes at once is one.
  const again = await call(stack.port(), 'POST', '/api/mosaics', shared);
  assert.equal([again.status, again.json.task.id], [200, [...sharedIds][0]]);
  // One refresh a minute: the shared mosaic is made to have finished a minute ago (the test's clock
  // fast-forward), so the crowd's refresh is due.
  stack.db.prepare(`UPDATE tasks SET finished_at = finished_at - 60000 WHERE id = ?`).run([...sharedIds][0]);
  const refreshed = await Promise.all(
    Array.from({ length: SAME }, () => call(stack.port(), 'POST', '/api/mosaics', { ...shared, refresh: true })),
  );
  assert.is(new Set(refreshed.map((r) => r.json.task.id)).size, 1, 'concurrent refreshes dedupe to one new task');
  assert.ok(refreshed.every((r) => r.json.task.id !== [...sharedIds][0]));
  assert.is(integrity(stack.db), 'ok');

  const p99 = percentile(latencies, 99);
  assert.ok(p99 < 1000, `API p99 under load ${p99.toFixed(1)} ms`);
  figures('load', {
    seed: SEED,
    clients: SAME + DISTINCT,
    tasks: ids.length,
    crowdMs,
    apiRequests: latencies.length,
    apiP50Ms: percentile(latencies, 50),
    apiP99Ms: p99,
    serverRssMax: mb(rssMax),
    socketConnections: followers.connections,
  });
});

test.run();
