/**
 * Results under RESULTS_MB: compact film lists, lists without film lists, views recorded at most once
 * a minute, and the byte budget over results, imports and diary archives evicting the least recently used first.
 * Real SQLite files built from the real migrations.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openDb, writeTx, type Db } from '../../../db/sqlite/open.js';
import { MIGRATIONS } from '../../../db/sqlite/migrations.js';
import { createTaskStore, type TaskStore } from '../../../db/sqlite/tasks.js';
import { createResultStore, packFilms, pruneResults, VIEW_RESOLUTION_MS, type ResultStore } from '../../../db/sqlite/results.js';
import { createImportStore, type ExportData } from '../../../db/sqlite/imports.js';
import { createBudget } from '../../../db/sqlite/budget.js';
import { createArchiveStore } from '../../../db/sqlite/archive.js';
import type { FeedEntry } from '../../../worker/sources/parseRss.js';
import type { Film, MosaicParams } from '../../../common/task.js';
import { fakeClock, type FakeClock } from '../../helpers/fakeClock.js';
import { tmpDir } from '../../helpers/tmp.js';

let ctx: { db: Db; tasks: TaskStore; results: ResultStore; clock: FakeClock; dir: string; cleanup(): void };

test.before.each(() => {
  const t = tmpDir();
  const db = openDb(join(t.dir, 'r.db'));
  const clock = fakeClock();
  ctx = {
    db,
    clock,
    dir: t.dir,
    tasks: createTaskStore(db, { clock, random: () => 0.5 }),
    results: createResultStore(db),
    cleanup: () => {
      db.close();
      t.cleanup();
    },
  };
});
test.after.each(() => ctx.cleanup());

const films = (n: number, from = 0): Film[] =>
  Array.from({ length: n }, (_, i) => ({
    title: `Film number ${from + i}: a title of ordinary length`,
    year: 1950 + ((from + i) % 70),
    rating: i % 3 ? ((i % 10) + 1) / 2 : null,
    slug: `film-number-${from + i}-a-title-of-ordinary-length`,
    watchedDate: `20${10 + (i % 16)}-0${1 + (i % 9)}-1${i % 10}`,
  }));

let made = 0;
/** A COMPLETE task of `username` with a result of `imageBytes` bytes (each a different request); returns its id. */
function complete(username: string, imageBytes: number, list: Film[] = films(3)): string {
  const params: MosaicParams = { mode: 'recent', count: (made++ % 50) + 1, layout: 'classic', format: 'jpeg' };
  ctx.tasks.enqueue({ action: 'create_mosaic', username, params, refresh: true });
  const [c] = ctx.tasks.claim('w', 1);
  const image = Buffer.alloc(imageBytes, 7);
  ctx.tasks.complete(c.id, c.leaseToken, () =>
    ctx.results.insert(
      c.id,
      { image, contentType: 'image/jpeg', width: 1, height: 1, films: list, partial: false, note: null },
      ctx.clock.now(),
    ),
  );
  ctx.clock.advance(1000);
  return c.id;
}

test('film lists are stored gzipped, one array per film: a 3,000-film list is a fraction of its JSON, and reads back whole', () => {
  const list = films(3000);
  const json = Buffer.byteLength(JSON.stringify(list));
  const packed = packFilms(list).length;
  console.log(`  3,000 films: ${json} bytes as JSON, ${packed} stored (${(packed / json).toFixed(3)}×)`);
  assert.ok(packed < json / 5, `${packed} of ${json}`);
  const id = complete('dave', 10, list);
  const stored = ctx.db.prepare(`SELECT length(films) AS n, film_count, bytes FROM results WHERE id = ?`).get(id) as {
    n: number;
    film_count: number;
    bytes: number;
  };
  assert.equal(stored, { n: packed, film_count: 3000, bytes: 10 + packed });
  assert.equal(ctx.results.summary(id)!.films, list);
});

test('lists carry no film lists (the finding: 24 summaries of 100,000 films were 806 MB); the summary has them', () => {
  const ids = Array.from({ length: 24 }, (_, i) => complete('dave', 10, films(3000, i)));
  const recent = ctx.results.listRecent(24);
  assert.is(recent.length, 24);
  assert.ok(recent.every((m) => !('films' in m) && m.filmCount === 3000));
  const bytes = Buffer.byteLength(JSON.stringify({ mosaics: recent }));
  assert.ok(bytes < 20_000, `${bytes} bytes for 24`);
  assert.is(ctx.results.listByUser('dave').length, 24);
  assert.ok(ctx.results.listByUser('dave').every((m) => !('films' in m)));
  assert.is(ctx.results.summary(ids[0])!.films.length, 3000);
});

test('a result stored before migration 8 (films as JSON text) still reads, with its count and size filled in', () => {
  const path = join(ctx.dir, 'old.db');
  const old = new Database(path);
  old.pragma('foreign_keys = ON');
  for (const m of MIGRATIONS.filter((m) => m.version <= 5)) old.exec(m.sql);
  old.pragma('user_version = 5');
  const list = films(2);
  old
    .prepare(
      `INSERT INTO tasks (id, action, username, params, dedupe_key, status, run_at, created_at, updated_at)
               VALUES ('t1', 'create_mosaic', 'dave', '{"mode":"all","layout":"grid","format":"jpeg"}', 'k', 'COMPLETE', 0, 5, 5)`,
    )
    .run();
  old
    .prepare(
      `INSERT INTO results (id, result, content_type, width, height, films, etag, created_at) VALUES ('t1', ?, 'image/jpeg', 1, 1, ?, '"e"', 5)`,
    )
    .run(Buffer.alloc(100), JSON.stringify(list));
  old.close();
  const db = openDb(path);
  try {
    const results = createResultStore(db);
    assert.equal(results.summary('t1')!.films, list);
    assert.is(results.listRecent()[0].filmCount, 2);
    // Blobs last: reading any other column never walks an image's overflow pages.
    const columns = (db.prepare(`PRAGMA table_info(results)`).all() as { name: string }[]).map((c) => c.name);
    assert.equal(columns.slice(-2), ['films', 'result']);
    const row = db.prepare(`SELECT viewed_at, bytes FROM results`).get() as { viewed_at: number; bytes: number };
    assert.equal(row, { viewed_at: 5, bytes: 100 + Buffer.byteLength(JSON.stringify(list)) });
  } finally {
    db.close();
  }
});

test('a view is written at most once a minute, and is skipped (not waited for) while another program holds the lock', () => {
  const id = complete('dave', 10);
  const viewedAt = () => (ctx.db.prepare(`SELECT viewed_at FROM results WHERE id = ?`).get(id) as { viewed_at: number }).viewed_at;
  const made = viewedAt();
  ctx.clock.advance(VIEW_RESOLUTION_MS - 2000);
  ctx.results.markViewed(id, ctx.clock.now());
  assert.is(viewedAt(), made, 'within the minute: no write');
  ctx.clock.advance(5000);
  ctx.results.markViewed(id, ctx.clock.now());
  assert.is(viewedAt(), ctx.clock.now());
  const other = new Database(join(ctx.dir, 'r.db'));
  other.pragma('busy_timeout = 0');
  ctx.db.pragma('busy_timeout = 0');
  other.exec('BEGIN IMMEDIATE');
  ctx.clock.advance(2 * VIEW_RESOLUTION_MS);
  ctx.results.markViewed(id, ctx.clock.now()); // does not throw
  other.exec('ROLLBACK');
  other.close();
  ctx.results.markViewed('no-such-task', ctx.clock.now());
});

const exportOf = (n: number): ExportData => ({
  watched: Array.from({ length: n }, (_, i) => ({ date: '2024-01-01', name: `Imported ${i} ${Math.sin(i)}`, year: 2000, uri: null })),
  diary: [],
  ratings: [],
});

test('budget: over RESULTS_MB the least recently viewed results and imports go first; the one just stored stays', async () => {
  const imports = createImportStore(ctx.db);
  const a = complete('ann', 4000);
  const b = complete('bob', 4000);
  const c = complete('cat', 4000);
  await imports.replace('dan', exportOf(200), ctx.clock.now()); // used when uploaded
  const danBytes = (ctx.db.prepare(`SELECT bytes FROM member_imports`).get() as { bytes: number }).bytes;
  assert.ok(danBytes > 1000, `${danBytes}`);
  ctx.clock.advance(VIEW_RESOLUTION_MS + 1);
  ctx.results.markViewed(a, ctx.clock.now()); // a: now the most recently viewed result
  const budget = createBudget(ctx.db, 3 * 4200 + danBytes);
  assert.is(budget.enforce().results, 0, 'within the budget: nothing goes');
  ctx.clock.advance(1);
  const d = complete('eve', 4000);
  const out = writeTx(ctx.db, () => budget.enforce({ result: d }));
  assert.equal([out.results, out.imports], [1, 0]);
  const left = () => (ctx.db.prepare(`SELECT id FROM results ORDER BY id`).all() as { id: string }[]).map((r) => r.id).sort();
  assert.equal(left(), [a, c, d].sort(), 'b was the least recently viewed');
  assert.is(ctx.tasks.get(b), undefined, 'its task went with it');
  assert.ok(out.heldBytes <= budget.budgetBytes);

  // Smaller budget: c, then dan's import (uploaded after c was made), then a (viewed before d was made).
  const tight = createBudget(ctx.db, 2 * 4200 + 100);
  const e = complete('fay', 4000);
  const out2 = writeTx(ctx.db, () => tight.enforce({ result: e }));
  assert.equal(left(), [d, e].sort());
  assert.is(imports.summary('dan'), null, 'the import was evicted');
  assert.equal([out2.results, out2.imports], [2, 1]);
  assert.ok(tight.heldBytes() <= tight.budgetBytes);
});

test("budget: an import is as recently used as its member's last viewed mosaic; the import just uploaded is kept", async () => {
  const imports = createImportStore(ctx.db);
  await imports.replace('dan', exportOf(50), ctx.clock.now());
  const old = complete('dan', 100);
  const other = complete('zed', 100);
  ctx.clock.advance(VIEW_RESOLUTION_MS + 1);
  ctx.results.markViewed(old, ctx.clock.now()); // dan's mosaic viewed: his import counts as used now
  const held = createBudget(ctx.db, 1e9).heldBytes();
  const budget = createBudget(ctx.db, held - 1);
  writeTx(ctx.db, () => budget.enforce());
  assert.ok(imports.summary('dan'), "dan kept: zed's mosaic was the least recently used");
  assert.is(ctx.tasks.get(other), undefined);
  const none = createBudget(ctx.db, 0);
  writeTx(ctx.db, () => none.enforce({ importOf: 'dan' }));
  assert.ok(imports.summary('dan'), 'kept: just uploaded');
  assert.is(ctx.results.listRecent().length, 0);
});

/** `n` feed entries of one member, one a day in 2025. */
const feedEntries = (n: number): FeedEntry[] =>
  Array.from({ length: n }, (_, i) => ({
    viewingId: String(9_000 + i),
    title: `Archived film ${i}`,
    year: 2000 + (i % 20),
    rating: 3,
    watchedDate: `2025-03-${String(1 + (i % 28)).padStart(2, '0')}`,
    rewatch: false,
    liked: false,
    slug: `archived-film-${i}`,
    posterUrl: `https://a.ltrbxd.com/resized/film-poster/${i}.jpg`,
    posterMissing: false,
    tmdbMovieId: null,
    tmdbTvId: null,
    publishedDay: `2025-03-${String(1 + (i % 28)).padStart(2, '0')}`,
    publishedAt: Date.UTC(2025, 2, 1 + (i % 28), 22),
  }));

test("budget: a member's diary archive counts, is kept current as reads come, and goes (unfollowed) when least recently used", () => {
  const archive = createArchiveStore(ctx.db);
  const budgetOf = () => createBudget(ctx.db, 1e12);
  const before = budgetOf().heldBytes();
  archive.recordWindow('ann', { entries: feedEntries(40), completeAfter: null }, ctx.clock.now());
  archive.follow('ann', ctx.clock.now(), 200);
  const annBytes = budgetOf().heldBytes() - before;
  // Each entry's text plus a fixed overhead: 40 entries of ~120 bytes of text.
  assert.ok(annBytes > 40 * 100 && annBytes < 40 * 300, `${annBytes} bytes for 40 entries`);
  archive.recordWindow('ann', { entries: feedEntries(50), completeAfter: null }, ctx.clock.now());
  const grown = budgetOf().heldBytes() - before;
  assert.ok(grown > annBytes, `a read that adds entries adds bytes (${annBytes} → ${grown})`);

  ctx.clock.advance(1000);
  const r = complete('bob', 5000); // made after ann's archive was last used
  const budget = createBudget(ctx.db, budgetOf().heldBytes() - 1);
  const out = writeTx(ctx.db, () => budget.enforce({ result: r }));
  assert.equal([out.results, out.imports, out.archives], [0, 0, 1], 'the archive was the least recently used');
  assert.is(archive.isFollowed('ann'), false, 'evicting an archive stops following (its poll chain ends)');
  assert.is(archive.load('ann').entries.length, 0);
  assert.ok(ctx.results.summary(r));
});

test('pruning: results not viewed for 30 days go, whoever made them (no member keeps 20 for ever)', () => {
  const ids = Array.from({ length: 25 }, () => complete('dave', 10, films(1)));
  ctx.clock.advance(31 * 86_400_000);
  ctx.results.markViewed(ids[3], ctx.clock.now());
  assert.is(pruneResults(ctx.db, ctx.clock.now() - 30 * 86_400_000), 24);
  assert.equal(
    ctx.results.listByUser('dave').map((m) => m.taskId),
    [ids[3]],
  );
});

test.run();
