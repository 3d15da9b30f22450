/**
 * PostgreSQL migrations on a database that already holds data: a database made by migration 1 (the
 * adapter's first release) with a queued task, a result and an import is brought up to date by
 * opening it, and what it held reads through the whole port.
 */
import * as assert from 'uvu/assert';
import pg from 'pg';
import { openPostgres } from '../../../db/postgres/index.js';
import { migratePg, PG_MIGRATIONS } from '../../../db/postgres/migrations.js';
import { fakeClock } from '../../helpers/fakeClock.js';
import { pgSuite, startPostgres } from '../../helpers/postgres.js';

const cluster = await startPostgres('test/db/postgres/migrations.test.ts');
const test = pgSuite('postgres migrations', cluster);
test.after(() => cluster?.stop());

test('a version-1 database with a queued task, a result and an import migrates to the latest and reads through the port', async () => {
  const url = cluster!.createDatabase('upgrade');
  const c = new pg.Client(url);
  await c.connect();
  try {
    assert.is(
      await migratePg(
        c,
        PG_MIGRATIONS.filter((m) => m.version === 1),
      ),
      1,
    );
    await c.query(`
      INSERT INTO tasks (id, action, username, params, params_view, dedupe_key, status, live, run_at, created_at, updated_at, event_type)
      VALUES ('done', 'create_mosaic', 'ann', '{}', '{}', 'k1', 'COMPLETE', NULL, 1000, 1000, 2000, 'completed'),
             ('q1', 'create_mosaic', 'bob', '{}', '{}', 'k2', 'QUEUED', true, 1000, 1000, 1000, 'created'),
             ('q2', 'create_mosaic', 'cat', '{}', '{}', 'k3', 'QUEUED', true, 1000, 1000, 1000, 'created')`);
    await c.query(`
      INSERT INTO results (id, result, content_type, width, height, films, partial, note, review, etag, created_at)
      VALUES ('done', '\\x0102ff', 'image/jpeg', 1, 1, '[]', false, NULL, NULL, '"e"', 2000)`);
    await c.query(`INSERT INTO member_imports (username, imported_at, films, diary_entries, data) VALUES ('ann', 5, 0, 0, '\\x00010203')`);
  } finally {
    await c.end();
  }
  const clock = fakeClock(10_000);
  const s = await openPostgres(url, { clock, resultsBudgetBytes: 1_000_000 });
  try {
    const versions = (await s.pool.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).rows.map(
      (r) => r.version,
    );
    assert.equal(
      versions,
      PG_MIGRATIONS.map((m) => m.version),
    );
    assert.is(await s.results.owner('done'), 'ann');
    assert.is(await s.budget.heldBytes(), 3 + 2 + 4, 'image + film list + import, counted by the migration');
    assert.equal(await s.tasks.queuedIds(), ['q1', 'q2'], 'existing rows keep their insertion order');
    assert.equal(await s.tasks.counts(), { queued: 2, running: 0 });
    assert.equal(
      (await s.tasks.claim('w', 5)).map((t) => t.id),
      ['q1', 'q2'],
    );
    clock.advance(120_000);
    await s.results.markViewed('done', clock.now());
    assert.is((await s.pool.query<{ v: number }>(`SELECT viewed_at AS v FROM results WHERE id = 'done'`)).rows[0].v, clock.now());
  } finally {
    await s.close();
  }
});

test.run();
