/**
 * Fault suite (issue 8): real worker processes against the fake Letterboxd behind a tampering proxy,
 * plus a poster host of our own (bombs, HTML, huge files) and a canary host outside every allowlist.
 * Each scenario (faultWorld.ts) is one member whose feed, pages or posters misbehave in one way; all
 * run at once. Every task must end COMPLETE (placeholders where fair) or ERROR with the right code,
 * within a bound; none stays RUNNING; the canary hears nothing. 429 storms are fast-forwarded: a delayed
 * task's run_at is moved to now, as if its Retry-After had passed (`npm run fuzz -- --faults` waits them
 * out, with got's real timeouts).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cleanup } from '../helpers/server.js';
import { createResultStore } from '../../db/sqlite/results.js';
import { auditImages, auditTasks, createMosaic, fakeFilm, fakeMember, figures, integrity, waitFor } from '../helpers/resilience/kit.js';
import { hostileTitles, runScenarios, SCENARIOS, startFaultWorld, type World } from '../helpers/resilience/faultWorld.js';

let world: World;

test.before(async () => {
  world = await startFaultWorld(SCENARIOS);
});

test.after(cleanup);

test('every fault ends COMPLETE or ERROR with the right code, in bounded time; nothing reaches the canary', async () => {
  const t0 = Date.now();
  const outcomes = await runScenarios(world, SCENARIOS, { fastForward: true, timeoutMs: 90_000 });
  if (process.env.DEBUG_RZ)
    for (const o of outcomes) console.log(o.scenario.name, o.status, o.code ?? '', o.ms, o.attempts, o.delays, o.message ?? o.note);
  assert.equal(
    outcomes.filter((o) => o.wrong).map((o) => `${o.scenario.name}: ${o.wrong}`),
    [],
    'outcomes',
  );
  const ids = outcomes.map((o) => o.id);
  const codes = [...new Set(SCENARIOS.flatMap((s) => s.expect.codes ?? []))];
  const { stack } = world;
  assert.equal(auditTasks(stack.db, ids, codes).problems, [], 'queue promises');
  assert.equal(await auditImages(stack.db, ids), [], 'results decode');
  assert.equal(world.canary.hits, [], 'no request left the allowlist');
  assert.is(integrity(stack.db), 'ok');
  const slowest = Math.max(...outcomes.map((o) => o.ms));
  assert.ok(slowest < 60_000, `every task finished within 60 s of its creation (slowest ${slowest} ms)`);
  figures('faults', {
    scenarios: SCENARIOS.length,
    slowestTaskMs: slowest,
    canaryHits: world.canary.hits.length,
    elapsedMs: Date.now() - t0,
  });
});

test('hostile titles: the mosaic is drawn, every title comes back as text, nothing is read or fetched', async () => {
  const t0 = Date.now();
  const titles = hostileTitles(world.canary.base);
  world.lb.addMember(
    fakeMember(
      'hostile',
      titles.map((t, j) => fakeFilm(t, j % 3 ? 1990 + j : null)),
      world.lb.now,
    ),
  );
  const ids: string[] = [];
  for (const [layout, format] of [
    ['classic', 'jpeg'],
    ['grid', 'png'],
    ['classic', 'webp'],
  ]) {
    ids.push((await createMosaic(world.stack.port, { username: 'hostile', mode: 'recent', count: 50, layout, format })).id);
  }
  const open = world.stack.db.prepare(`SELECT count(*) FROM tasks WHERE status IN ('QUEUED','RUNNING') AND background = 0`).pluck();
  await waitFor(() => open.get() === 0, 60_000, 'the hostile mosaics', 50);
  const audit = auditTasks(world.stack.db, ids, []);
  assert.equal(
    audit.problems,
    [],
    `every hostile mosaic COMPLETE: ${JSON.stringify(world.stack.db.prepare('SELECT error_code, error_msg FROM tasks WHERE id = ?').get(ids[0]))}`,
  );
  assert.equal(await auditImages(world.stack.db, ids), []);
  const results = createResultStore(world.stack.db);
  const norm = (t: string) => t.replace(/\s+/g, ' ').trim();
  for (const id of ids) {
    const shown = results.summary(id)!.films.map((f) => norm(f.title));
    // The feed lists newest first; our films are one a day going back, so the order is the list's.
    const expected = titles.map((t) => norm(t.replace(/\uD800/g, '\uFFFD')));
    const missing = expected.filter((t, i) => shown[i] !== t);
    assert.equal(missing, [], `titles come back as text: ${JSON.stringify(shown.slice(0, 3))}`);
  }
  assert.equal(world.canary.hits, [], 'no request left the allowlist');
  figures('hostile-titles', {
    titles: titles.length,
    mosaics: ids.length,
    canaryHits: world.canary.hits.length,
    elapsedMs: Date.now() - t0,
  });
});

test.run();
