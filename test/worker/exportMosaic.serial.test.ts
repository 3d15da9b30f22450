/**
 * Mosaics from an imported export end to end (docs/architecture.md#where-the-films-come-from, docs/architecture.md#outcomes, docs/architecture.md#export-films): real worker processes
 * (worker/main.ts, one without TMDB and one with TMDB_API_KEY pointed at the fake TMDB) against the
 * fake Letterboxd with its films and diary pages challenged, real SQLite files, real sharp.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import sharp from 'sharp';
import type { MosaicParams } from '../../common/task.js';
import { openDb, type Db } from '../../db/sqlite/open.js';
import { createTaskStore, type TaskStore } from '../../db/sqlite/tasks.js';
import { createResultStore } from '../../db/sqlite/results.js';
import { createImportStore, type ImportStore } from '../../db/sqlite/imports.js';
import { parseExport } from '../../server/export/parseExport.js';
import { expectedFilms, sortDiary, startFakeLetterboxd, type FakeLetterboxd } from '../helpers/fakeLetterboxd.js';
import { filmsOf, startFakeTmdb, type FakeTmdb } from '../helpers/fakeTmdb.js';
import { exportZip } from '../helpers/exportZip.js';
import { tmpDir } from '../helpers/tmp.js';
import { spawnTs, waitFor, type Child } from '../helpers/processes.js';
import { testFilm } from '../helpers/exportRig.js';
import type { FakeMember } from '../helpers/fakeLetterboxd.js';

interface Side {
  dir: { dir: string; cleanup(): void };
  db: Db;
  tasks: TaskStore;
  imports: ImportStore;
  worker: Child;
}

let lb: FakeLetterboxd;
let tm: FakeTmdb;
let plain: Side;
let withTmdb: Side;
const BLOCKED = [
  { path: /^\/[^/]+\/films\//, kind: 'challenge' as const },
  { path: '/diary/', kind: 'challenge' as const },
];

function side(env: Record<string, string>): Side {
  const dir = tmpDir('mm-export-e2e-');
  const db = openDb(join(dir.dir, 'moviemosaic.db'));
  return {
    dir,
    db,
    tasks: createTaskStore(db),
    imports: createImportStore(db),
    worker: spawnTs('worker/main.ts', { DATA_DIR: dir.dir, WORKER_CONCURRENCY: '2', ...lb.env, ...env }),
  };
}

// Five minutes into a month: all twelve of dave's "this month" viewings fall on one day, so the
// export's same-day order decides `all`. The params name the year; the date lies in the past of any
// day the suite runs on (a worker judges a request as of when it was made).
const now = new Date(2025, 11, 1, 0, 5);
const year = now.getFullYear();

test.before(async () => {
  lb = await startFakeLetterboxd({ now });
  tm = await startFakeTmdb({ films: filmsOf(lb.members.values()) });
  lb.setFaults(BLOCKED);
  plain = side({});
  withTmdb = side(tm.env);
  for (const s of [plain, withTmdb]) {
    for (const name of ['dave', 'erin']) await s.imports.replace(name, await parseExport(exportZip(lb.members.get(name)!)), Date.now());
  }
});

test.after(async () => {
  for (const s of [plain, withTmdb]) {
    s.worker.kill('SIGTERM');
    await s.worker.exited;
    s.db.close();
    s.dir.cleanup();
  }
  await lb.close();
  await tm.close();
});

async function run(s: Side, username: string, params: MosaicParams) {
  const id = s.tasks.enqueue({ action: 'create_mosaic', username, params }).task.id;
  const task = await waitFor(
    () => {
      const t = s.tasks.get(id)!;
      return ['COMPLETE', 'ERROR', 'CANCELLED'].includes(t.status) && t;
    },
    60_000,
    `task ${id} to finish\n${s.worker.output()}`,
  );
  return { id, task, summary: createResultStore(s.db).summary(id), image: createResultStore(s.db).image(id) };
}

const pageRequests = () => lb.requests.filter((q) => /^\/[^/]+\/(films|diary)\//.test(q.path)).length;

test('all from the export, films pages refused: every watched film, newest first, no films page asked', async () => {
  lb.reset();
  lb.setFaults(BLOCKED);
  tm.reset();
  const dave = lb.members.get('dave')!;
  const { task, summary, image } = await run(plain, 'dave', { mode: 'all', layout: 'grid', format: 'jpeg' });
  assert.is(task.status, 'COMPLETE', `${task.errorCode}: ${task.errorMsg}`);
  assert.is(pageRequests(), 0);
  assert.is(summary!.films.length, dave.films.length);
  assert.is(summary!.films[0].title, sortDiary(dave.diary)[0].film.title);
  const last = summary!.films.at(-1)!;
  assert.equal(
    [last.title, last.year, last.rating, last.slug],
    ['Cold War', 2021, 4, 'cold-war-2021'],
    'no diary entry: last; found at the slug its title gives',
  );
  const meta = await sharp(image!.image).metadata();
  assert.equal([meta.width, meta.height], [summary!.width, summary!.height]);
  assert.is(tm.requests.length, 0, 'TMDB is off: never asked, no poster from its image host');
});

test('year from the export (erin, older than the feed), no TMDB: complete, unfound posters are placeholders', async () => {
  lb.reset();
  lb.setFaults(BLOCKED);
  const { task, summary } = await run(plain, 'erin', { mode: 'year', year, layout: 'grid', format: 'jpeg' });
  assert.is(task.status, 'COMPLETE', `${task.errorCode}: ${task.errorMsg}`);
  assert.is(pageRequests(), 0);
  const expected = expectedFilms(lb.members.get('erin')!, { mode: 'year', year, layout: 'grid', format: 'jpeg' });
  assert.equal(
    summary!.films.map((f) => f.title),
    expected.map((f) => f.title),
  );
  assert.ok(
    summary!.films.some((f) => f.slug === null),
    'films only the export knows keep slug null',
  );
  assert.match(summary!.note!, /posters are placeholders/);
});

test('the same year with TMDB: every poster found (from TMDB), drawn at a TMDB size', async () => {
  lb.reset();
  lb.setFaults(BLOCKED);
  tm.reset();
  const { task, summary } = await run(withTmdb, 'erin', { mode: 'year', year, layout: 'grid', format: 'jpeg' });
  assert.is(task.status, 'COMPLETE', `${task.errorCode}: ${task.errorMsg}`);
  assert.is(summary!.note, null, 'no placeholders');
  assert.ok(tm.count('/3/search/movie') > 0);
  const images = tm.requests.filter((q) => q.server === 'images');
  assert.ok(
    images.length > 0 && images.every((q) => /^\/t\/p\/w(92|154|185)\//.test(q.path)),
    images
      .map((q) => q.path)
      .slice(0, 3)
      .join(' '),
  );
  assert.is(lb.count('/film/'), 0, 'no Letterboxd film page needed');
});

test('an export whose posters Letterboxd refuses (feed and film pages too), no TMDB: LETTERBOXD_BLOCKED advising TMDB', async () => {
  const films = Array.from({ length: 6 }, (_, i) => testFilm(`Refused Reel ${i + 1}`, 2001 + i, `refused-reel-${i + 1}-${2001 + i}`));
  const fresh: FakeMember = {
    username: 'fresh',
    displayName: 'Fresh',
    diary: films.map((film, i) => ({
      film,
      viewingId: 77_000 + i,
      watchedDate: `2025-03-${String(10 + i).padStart(2, '0')}`,
      rating: 3,
      rewatch: false,
      liked: false,
      review: null,
      publishedAt: new Date(2025, 2, 10 + i, 22),
    })),
    films: films.map((film) => ({ film, rating: 3, liked: false })),
    lists: [],
  };
  lb.addMember(fresh);
  await plain.imports.replace('fresh', await parseExport(exportZip(fresh)), Date.now());
  lb.reset();
  lb.setFaults([...BLOCKED, { path: '/fresh/rss/', kind: 'challenge' }, { path: '/film/', kind: 'challenge' }]);
  const { task } = await run(plain, 'fresh', { mode: 'year', year: 2025, layout: 'classic', format: 'jpeg' });
  assert.equal([task.status, task.errorCode], ['ERROR', 'LETTERBOXD_BLOCKED']);
  assert.is(task.errorMsg, 'Letterboxd refused 6 of 6 posters; set TMDB_API_KEY so posters come from TMDB, or try again later.');
});

test('without an export, a refused `all` ends LETTERBOXD_BLOCKED pointing to the upload (unless the kept diary is whole)', async () => {
  lb.reset();
  lb.setFaults(BLOCKED);
  // marathon (no export) has 50 entries, a full feed: the diary kept of him may not be his whole diary.
  const { task } = await run(plain, 'marathon', { mode: 'all', layout: 'grid', format: 'jpeg' });
  assert.equal([task.status, task.errorCode], ['ERROR', 'LETTERBOXD_BLOCKED']);
  assert.is(task.errorMsg, 'Letterboxd refused the films pages; upload your Letterboxd export on the home page, or set TMDB_API_KEY.');
  // bigfan's feed holds his whole diary (5 entries): drawn from it, and the note says what is left out.
  const whole = await run(plain, 'bigfan', { mode: 'all', layout: 'grid', format: 'jpeg' });
  assert.is(whole.task.status, 'COMPLETE');
});

test.run();
