/**
 * The whole `create_mosaic` action end to end: a real worker process (worker/main.ts) against the fake
 * Letterboxd, real SQLite file, real sharp. Each mode and layout ends in a result row whose image has
 * the reported shape and whose films are the expected ones in order.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import sharp from 'sharp';
import type { Db } from '../../db/sqlite/open.js';
import { createTaskStore } from '../../db/sqlite/tasks.js';
import { createResultStore } from '../../db/sqlite/results.js';
import { currentMonth, type MosaicParams } from '../../common/task.js';
import { expectedFilms, type FakeLetterboxd } from '../helpers/fakeLetterboxd.js';
import { startMosaicWorker, type MosaicWorker } from '../helpers/mosaicWorker.js';

let rig: MosaicWorker | undefined;
let lb: FakeLetterboxd;
let db: Db;

// The params name the month and year; the worker judges them as of when each task was made (the
// real or faked clock), so the fake's date lies in the past of any day the suite runs on.
const now = new Date(2025, 10, 15, 12, 0, 0);

test.before(async () => {
  rig = await startMosaicWorker({ letterboxd: { now }, concurrency: 3 });
  ({ lb, db } = rig);
});

test.after(() => rig?.close());

const run = (username: string, params: MosaicParams) => rig!.enqueue(username, params);
const finished = (id: string) => rig!.finished(id);

const cases: [string, MosaicParams][] = [
  ['month, classic, jpeg', { mode: 'month', month: currentMonth(now), layout: 'classic', format: 'jpeg' }],
  ['recent, grid, png', { mode: 'recent', count: 12, layout: 'grid', format: 'png' }],
  ['year, classic, webp', { mode: 'year', year: now.getFullYear(), layout: 'classic', format: 'webp' }],
  ['all, grid with columns', { mode: 'all', layout: 'grid', columns: 6, format: 'jpeg' }],
];

for (const [name, params] of cases) {
  test(`dave: ${name} → an image of the reported shape with the expected films`, async () => {
    const id = run('dave', params);
    const task = await finished(id);
    assert.is(task.status, 'COMPLETE', `${task.errorCode}: ${task.errorMsg}`);
    const results = createResultStore(db);
    const img = results.image(id)!;
    const summary = results.summary(id)!;
    const meta = await sharp(img.image).metadata();
    assert.is(meta.width, summary.width);
    assert.is(meta.height, summary.height);
    assert.is(img.contentType, `image/${params.format}`);
    const expected = expectedFilms(lb.members.get('dave')!, params);
    assert.equal(
      summary.films.map((f) => f.title),
      expected.map((f) => f.title),
    );
    if (params.layout === 'grid' && params.columns) {
      assert.is(summary.width % params.columns, 0, 'grid is edge to edge: width is a multiple of the columns');
    }
    // Stored with it: the card thumbnail (the 4:3 top-left crop a card shows) and the screen copy.
    const thumb = results.rendition(id, 'thumb')!;
    const screen = results.rendition(id, 'screen')!;
    const [tm, sm] = await Promise.all([sharp(thumb.image).metadata(), sharp(screen.image).metadata()]);
    assert.equal([tm.format, tm.width, tm.height], ['webp', 320, 240]);
    assert.ok(thumb.image.length <= 40 * 1024, `thumbnail ${thumb.image.length} bytes`);
    assert.is(sm.format, 'webp');
    assert.ok(
      sm.width <= 1280 && sm.height <= 1280 && screen.image.length <= 200 * 1024,
      `screen ${sm.width}×${sm.height}, ${screen.image.length} bytes`,
    );
    assert.ok(Math.abs(sm.width / sm.height - meta.width / meta.height) < 0.02, 'the screen copy keeps the shape');
  });
}

test('unknown member ends USER_NOT_FOUND; a member with no films ends NO_FILMS', async () => {
  const a = await finished(run('nosuchmember', { mode: 'recent', count: 30, layout: 'classic', format: 'jpeg' }));
  assert.equal([a.status, a.errorCode], ['ERROR', 'USER_NOT_FOUND']);
  const b = await finished(run('nobody', { mode: 'recent', count: 30, layout: 'classic', format: 'jpeg' }));
  assert.equal([b.status, b.errorCode], ['ERROR', 'NO_FILMS']);
  assert.match(b.errorMsg!, /nobody/);
});

test('stages are reported in order through the feed', async () => {
  const id = run('erin', { mode: 'recent', count: 10, layout: 'classic', format: 'jpeg' });
  await finished(id);
  const stages = db
    .prepare(`SELECT json_extract(payload, '$.stage') AS s FROM task_events WHERE task_id = ? ORDER BY seq`)
    .pluck()
    .all(id) as string[];
  const order = ['queued', 'collecting', 'downloading', 'building', 'saving', 'done'];
  const firstIndex = order.map((s) => stages.indexOf(s));
  for (const [i, s] of order.entries()) assert.ok(firstIndex[i] >= 0, `stage ${s} seen`);
  assert.equal(
    [...firstIndex].sort((x, y) => x - y),
    firstIndex,
    'stages in order',
  );
});

test("a month the worker's clock has not reached, asked for when the server's had (another zone or machine): made, not refused", async () => {
  const ahead = Date.now() + 40 * 86_400_000;
  const server = createTaskStore(db, { clock: { now: () => ahead } });
  const id = server.enqueue({
    action: 'create_mosaic',
    username: 'nobody',
    params: { mode: 'month', month: currentMonth(new Date(ahead)), layout: 'classic', format: 'jpeg' },
  }).task.id;
  // Due now by the worker's clock (the server's is 40 days ahead).
  db.prepare('UPDATE tasks SET run_at = ? WHERE id = ?').run(Date.now(), id);
  const t = await finished(id);
  assert.equal([t.status, t.errorCode], ['ERROR', 'NO_FILMS'], t.errorMsg ?? '');
});

test.run();
