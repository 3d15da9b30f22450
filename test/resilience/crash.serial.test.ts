/**
 * Crash suite (issue 8): the real server process, two real worker processes (LEASE_MS 1500) and the
 * fake Letterboxd. Workers are SIGKILLed when the feed shows a chosen stage of a task (collecting,
 * downloading, building, saving); the server is SIGKILLed mid-stream, with POSTs in flight, while
 * socket clients (the real client's LiveClient) follow every task; some tasks are cancelled on the
 * way. Afterwards: every task finished exactly once (COMPLETE, WORKER_LOST after three crashes, or
 * CANCELLED), every result decodes, every client got every seq once, no retried POST made a second
 * task, the database is intact and its WAL stayed bounded. `SEED=n` reproduces a run's choices.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startFakeLetterboxd } from '../helpers/fakeLetterboxd.js';
import { cleanup, track } from '../helpers/server.js';
import { createRng, suiteSeed } from '../helpers/resilience/rng.js';
import {
  addMembers,
  call,
  cancelTokens,
  within,
  auditImages,
  auditTasks,
  createMosaic,
  dbSize,
  figures,
  Followers,
  integrity,
  mb,
  startStack,
  waitFor,
} from '../helpers/resilience/kit.js';

test.after.each(cleanup);

const SEED = suiteSeed(80_801);
const ROUNDS = 8;
const PER_ROUND = 3;
const SERVER_KILL_ROUNDS = new Set([2, 5]);
const STAGES = ['collecting', 'downloading', 'building', 'saving'] as const;

test(`crash: SIGKILL workers at every stage and the server mid-stream (seed ${SEED})`, async () => {
  const rng = createRng(SEED);
  const lb = await startFakeLetterboxd({ now: new Date(2026, 10, 15, 12), latencyMs: 25 });
  track(() => lb.close());
  // Films per member vary, so stages overlap differently from task to task.
  const members = addMembers(lb, 'crash', ROUNDS * PER_ROUND, () => rng.int(6, 16));
  const stack = await startStack({ letterboxdEnv: lb.env, workers: 2 });
  track(() => stack.close());
  const followers = new Followers(stack.port, rng.fork('sockets'), 4);
  track(() => followers.close());

  let walMax = 0;
  const sampler = setInterval(() => (walMax = Math.max(walMax, dbSize(stack.dbPath).wal)), 50);
  track(() => clearInterval(sampler));

  // Every stage gets its turns, in a seeded order.
  const stages = [...rng.shuffle(STAGES), ...rng.shuffle(STAGES), ...rng.shuffle(STAGES)];
  const t0 = Date.now();
  const ids: string[] = [];
  const cancels: { id: string; status: number; left?: boolean }[] = [];
  const kills: Record<string, number> = { collecting: 0, downloading: 0, building: 0, saving: 0, missed: 0 };
  // A killed worker's task keeps its stage and lease until swept: only a live owner is a victim.
  const atStage = stack.db.prepare<[string], { id: string; owner: string }>(
    `SELECT id, lease_owner AS owner FROM tasks WHERE status = 'RUNNING' AND stage = ? AND lease_owner IS NOT NULL`,
  );
  const stageOf = (stage: string) => atStage.all(stage).find((r) => stack.workers.has(Number(r.owner.split('-')[0])));
  if (process.env.DEBUG_RZ) {
    const counts = stack.db.prepare(`SELECT status || ':' || stage AS s, count(*) AS n FROM tasks GROUP BY 1`);
    const timer = setInterval(() => console.log(Date.now() - t0, JSON.stringify(counts.all()), [...stack.workers.keys()]), 500);
    track(() => clearInterval(timer));
  }
  for (let round = 0; round < ROUNDS; round++) {
    const batch = members.slice(round * PER_ROUND, (round + 1) * PER_ROUND);
    const creating = Promise.all(
      batch.map((username) =>
        createMosaic(stack.port, {
          username,
          mode: 'recent',
          count: rng.int(5, 30),
          layout: rng.pick(['classic', 'grid']),
          format: rng.pick(['jpeg', 'png', 'webp']),
        }),
      ),
    );
    // The server dies with these POSTs in flight: answered, half-done or not yet read. Each client
    // retries until the new server answers; the dedupe makes a retry of a committed request its twin.
    if (SERVER_KILL_ROUNDS.has(round)) await stack.restartServer();
    const created = await creating;
    for (const t of created) {
      ids.push(t.id);
      followers.follow(t.id);
    }
    const stage = stages[round % stages.length];
    const roundIds = created.map((t) => t.id);
    const allDone = stack.db
      .prepare(
        `SELECT count(*) FROM tasks WHERE status IN ('COMPLETE','ERROR','CANCELLED') AND id IN (${roundIds.map(() => '?').join(',')})`,
      )
      .pluck();
    const victim = await waitFor(
      () => stageOf(stage) ?? (allDone.get(...roundIds) === roundIds.length && 'none'),
      20_000,
      `a task at ${stage}`,
      2,
    );
    if (process.env.DEBUG_RZ) console.log(round, stage, victim, Date.now() - t0);
    if (victim === 'none') kills.missed++;
    else {
      const pid = Number(victim.owner.split('-')[0]);
      if (stack.workers.has(pid)) {
        await stack.killWorker(pid);
        kills[stage]++;
        stack.startWorker();
      } else kills.missed++;
    }
    // Now and then someone cancels a task of this round at this point of its life.
    if (rng.chance(0.4)) {
      const target = rng.pick(roundIds);
      const r = await call(stack.port(), 'DELETE', `/api/tasks/${target}`, undefined, { 'cancel-token': cancelTokens.get(target) ?? '' });
      cancels.push({ id: target, status: r.status, left: (r.json as { left?: boolean } | null)?.left });
    }
  }

  // Feed polls scheduled for the members whose mosaics completed wait hours: they are not this test's tasks.
  const remaining = stack.db
    .prepare(`SELECT count(*) FROM tasks WHERE status NOT IN ('COMPLETE','ERROR','CANCELLED') AND background = 0`)
    .pluck();
  await waitFor(() => remaining.get() === 0, 60_000, 'every task to finish', 50);
  const finishedIn = (stack.db.prepare(`SELECT id, finished_at - created_at AS ms FROM tasks`).all() as { id: string; ms: number }[]).map(
    (r) => r.ms,
  );
  await within(Promise.all(ids.map((id) => followers.finished(id))), 20_000, 'every socket client to see its task finish');
  const elapsed = Date.now() - t0;

  const audit = auditTasks(stack.db, ids, ['WORKER_LOST', 'CANCELLED']);
  assert.equal(audit.problems, [], 'queue promises');
  for (const c of cancels) {
    const status = stack.db.prepare(`SELECT status FROM tasks WHERE id = ?`).pluck().get(c.id);
    // 200: accepted (ends CANCELLED, or COMPLETE when the worker finished before it saw the request; a
    // POST retried across the restart carried its first attempt's Idempotency-Key, so it is the same
    // requester and its token cancels); 409: it had already finished.
    assert.ok(
      c.status === 200
        ? ['CANCELLED', 'COMPLETE'].includes(String(status))
        : c.status === 409 && ['COMPLETE', 'ERROR'].includes(String(status)),
      `cancel ${c.status} → ${String(status)}`,
    );
    // Each task has one requester (its retries included): its token withdraws the last share.
    if (c.status === 200) assert.is(c.left, false, `cancel of ${c.id}: no other requester kept it going`);
  }
  assert.equal(await auditImages(stack.db, ids), [], 'every result decodes');
  assert.equal(followers.audit(stack.db), [], 'every socket client got every seq once, in order');
  const perKey = stack.db.prepare(`SELECT dedupe_key, count(*) AS n FROM tasks GROUP BY dedupe_key HAVING n > 1`).all();
  assert.equal(perKey, [], 'a retried POST never made a second task');
  assert.is(ids.length, ROUNDS * PER_ROUND);
  assert.is(integrity(stack.db), 'ok');
  assert.ok(Math.max(...finishedIn) < 45_000, `no task hung: the slowest finished ${Math.max(...finishedIn)} ms after its creation`);
  assert.ok(walMax < 32 * 1024 * 1024, `WAL stayed bounded (max ${mb(walMax)})`);
  assert.ok(
    kills.collecting + kills.downloading + kills.building + kills.saving >= ROUNDS / 2,
    `enough kills landed: ${JSON.stringify(kills)}`,
  );
  assert.is(stack.serverRestarts, SERVER_KILL_ROUNDS.size);

  figures('crash', {
    seed: SEED,
    tasks: ids.length,
    complete: audit.byStatus.COMPLETE ?? 0,
    workerLost: audit.byCode.WORKER_LOST ?? 0,
    workerKills: Object.entries(kills)
      .filter(([k]) => k !== 'missed')
      .map(([k, v]) => `${k}:${v}`)
      .join(','),
    serverKills: stack.serverRestarts,
    cancels: `${cancels.filter((c) => c.status === 200).length}/${cancels.length}`,
    cancelled: audit.byStatus.CANCELLED ?? 0,
    socketConnections: followers.connections,
    maxTaskMs: Math.max(...finishedIn),
    walMax: mb(walMax),
    elapsedMs: elapsed,
  });
});

test.run();
