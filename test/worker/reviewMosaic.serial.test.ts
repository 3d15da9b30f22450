/**
 * A year in review end to end: a real worker process (worker/main.ts) against the fake Letterboxd, a
 * real SQLite file and sharp. A member with a diary of fixed dates gets a `year` mosaic in layout
 * `review`: the result row holds the figures (what `GET /api/tasks/:id/mosaic` serves) and the image
 * has the band where the layout puts it, its bars drawn. An `all` from the films pages has no dates:
 * those figures are null.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import sharp from 'sharp';
import { createResultStore } from '../../db/sqlite/results.js';
import type { MosaicParams } from '../../common/task.js';
import { planMosaic } from '../../worker/compose/layout.js';
import type { FakeFilm, FakeMember, FakeViewing } from '../helpers/fakeLetterboxd.js';
import { startMosaicWorker, type MosaicWorker } from '../helpers/mosaicWorker.js';
import { testFilm } from '../helpers/exportRig.js';

const F = {
  opening: testFilm('Opening Night', 1999, 'opening-night'),
  valentine: testFilm('Valentine & Co.', 2001, 'valentine-co'),
  snow: testFilm('Snow Day', 2010, 'snow-day'),
  summer: testFilm('Summer', 2023, 'summer-2023'),
  pumpkin: testFilm('Pumpkin', 1978, 'pumpkin'),
  closing: testFilm('Closing Time', 2024, 'closing-time'),
  older: testFilm('Last Year', 2022, 'last-year'),
};

let viewingId = 2_000_001;
function entry(film: FakeFilm, watchedDate: string, rating: number | null, extra: Partial<FakeViewing> = {}): FakeViewing {
  const [y, m, d] = watchedDate.split('-').map(Number);
  return {
    film,
    viewingId: viewingId++,
    watchedDate,
    rating,
    rewatch: false,
    liked: false,
    review: null,
    publishedAt: new Date(y, m - 1, d, 23, 0, 0),
    ...extra,
  };
}

// Seven entries in 2024 (Opening Night twice), one in 2023; the feed holds them all.
const diary = [
  entry(F.older, '2023-12-31', 4),
  entry(F.opening, '2024-01-03', 4, { liked: true }),
  entry(F.valentine, '2024-02-14', 3.5),
  entry(F.snow, '2024-02-20', null),
  entry(F.opening, '2024-05-05', 4.5, { rewatch: true, liked: true }),
  entry(F.summer, '2024-07-19', 5, { liked: true }),
  entry(F.pumpkin, '2024-10-31', 2),
  entry(F.closing, '2024-12-30', 3),
];
const reviewer: FakeMember = {
  username: 'reviewer',
  displayName: 'Reviewer',
  diary,
  films: [
    { film: F.closing, rating: 3, liked: false },
    { film: F.pumpkin, rating: 2, liked: false },
    { film: F.summer, rating: 5, liked: true },
    { film: F.opening, rating: 4.5, liked: true },
    { film: F.snow, rating: null, liked: false },
    { film: F.valentine, rating: 3.5, liked: true },
    { film: F.older, rating: 4, liked: false },
  ],
  lists: [],
};

let rig: MosaicWorker | undefined;

test.before(async () => {
  rig = await startMosaicWorker({ letterboxd: { now: new Date(2025, 5, 15, 12), members: [reviewer] }, concurrency: 2 });
});

test.after(() => rig?.close());

async function make(params: MosaicParams) {
  const id = rig!.enqueue('reviewer', params);
  const task = await rig!.finished(id);
  assert.is(task.status, 'COMPLETE', `${task.errorCode}: ${task.errorMsg}`);
  const results = createResultStore(rig!.db);
  return { summary: results.summary(id)!, image: results.image(id)!.image };
}

test('year 2024 in review: the figures in the result, the band drawn where the layout puts it', async () => {
  const params: MosaicParams = { mode: 'year', year: 2024, layout: 'review', format: 'png' };
  const { summary, image } = await make(params);
  assert.equal(
    summary.films.map((f) => f.title),
    ['Closing Time', 'Pumpkin', 'Summer', 'Opening Night', 'Snow Day', 'Valentine & Co.'],
  );
  assert.equal(summary.review, {
    films: 6,
    entries: 7,
    rated: 5,
    averageRating: 3.6,
    ratings: [0, 0, 0, 1, 0, 1, 1, 0, 1, 1],
    timeline: {
      unit: 'month',
      periods: [1, 2, 0, 0, 1, 0, 1, 0, 0, 1, 0, 1].map((count, m) => ({ label: `2024-${String(m + 1).padStart(2, '0')}`, count })),
    },
    rewatches: 1,
    likes: 2,
    first: { title: 'Opening Night', year: 1999, watchedDate: '2024-01-03' },
    last: { title: 'Closing Time', year: 2024, watchedDate: '2024-12-30' },
  });
  assert.is(rig!.lb.count('/diary/'), 0, 'the feed holds the whole year');

  // The image is the planned one: same size, the tallest bar of each chart in its colour.
  const plan = planMosaic({
    username: 'reviewer',
    label: '2024',
    films: summary.films,
    layout: 'review',
    tileWidth: 120,
    format: 'png',
    review: summary.review,
  });
  const { data, info } = await sharp(image).raw().toBuffer({ resolveWithObject: true });
  assert.equal([info.width, info.height], [summary.width, summary.height]);
  assert.equal([plan.width, plan.height], [summary.width, summary.height]);
  const pixel = (x: number, y: number) =>
    Array.from(data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3));
  const [ratings, timeline] = plan.review!.charts;
  const middle = (r: { x: number; y: number; width: number; height: number }) =>
    pixel(Math.floor(r.x + r.width / 2), Math.floor(r.y + r.height / 2));
  assert.equal(middle(ratings.bars[9].rect), [0, 224, 84], 'the 5-star bar, green');
  assert.equal(middle(timeline.bars[1].rect), [64, 188, 244], 'February (two entries), blue');
  const empty = timeline.bars[2].rect; // March: no bar, the band's own colour above the baseline
  assert.equal(pixel(empty.x + 1, empty.y - 5), [36, 36, 36]);
  // The figures' text is drawn: light pixels inside the first figure's cell.
  const cell = plan.review!.stats[0].box;
  let light = 0;
  for (let y = cell.y; y < cell.y + cell.height; y++) for (let x = cell.x; x < cell.x + cell.width; x++) if (pixel(x, y)[0] > 150) light++;
  assert.ok(light > 50, `text in the first figure's cell (${light} light pixels)`);
});

test('all in review from the films pages: likes from the pages, no dates so no dated figures', async () => {
  const { summary } = await make({ mode: 'all', layout: 'review', format: 'jpeg' });
  const r = summary.review!;
  assert.equal([r.films, r.likes, r.rated, r.averageRating], [7, 3, 6, 3.67]);
  assert.equal([r.entries, r.timeline, r.rewatches, r.first, r.last], [null, null, null, null, null]);
});

test('other layouts keep no figures', async () => {
  const { summary } = await make({ mode: 'year', year: 2024, layout: 'grid', format: 'jpeg' });
  assert.is(summary.review, null);
});

test.run();
