/** The year in review's geometry (layout `review`): posters under a header, then the band of figures. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ReviewFigures } from '../../../common/task.js';
import {
  HEADER_HEIGHT,
  MAX_PIXELS,
  MAX_SIDE,
  REVIEW_MIN_WIDTH,
  planMosaic,
  planReviewBand,
  type MosaicPlan,
  type PlanRequest,
  type Rect,
} from '../../../worker/compose/layout.js';
import { textWidth } from '../../../worker/compose/metrics.js';

const films = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ title: `Film ${i + 1}`, year: 1990 + (i % 30), rating: ((i % 10) + 1) / 2 }));

const FIGURES: ReviewFigures = {
  films: 40,
  entries: 44,
  rated: 38,
  averageRating: 3.46,
  ratings: [1, 2, 3, 4, 5, 6, 7, 5, 3, 2],
  timeline: {
    unit: 'month',
    periods: [3, 4, 0, 5, 2, 6, 1, 4, 3, 8, 4, 4].map((count, m) => ({ label: `2025-${String(m + 1).padStart(2, '0')}`, count })),
  },
  rewatches: 4,
  likes: 12,
  first: { title: 'The First Film of the Year', year: 1999, watchedDate: '2025-01-01' },
  last: { title: 'A Very Long Title '.repeat(12).trim(), year: 2025, watchedDate: '2025-12-31' },
};

const plan = (n: number, extra: Partial<PlanRequest> = {}): MosaicPlan =>
  planMosaic({ username: 'dave', label: '2025', films: films(n), layout: 'review', tileWidth: 120, review: FIGURES, ...extra });

const inside = (inner: Rect, outer: Rect) =>
  inner.x >= outer.x &&
  inner.y >= outer.y &&
  inner.x + inner.width <= outer.x + outer.width &&
  inner.y + inner.height <= outer.y + outer.height;

test('posters edge to edge under the header, the band under them across the whole width', () => {
  const p = plan(40);
  assert.is(p.layout, 'review');
  assert.equal([p.columns, p.rows], [8, 5], 'round(sqrt(40 × 1.5)) columns, as the grid');
  assert.is(p.width, Math.max(REVIEW_MIN_WIDTH, 8 * 120));
  p.cells.forEach((c, i) => {
    assert.is(c.x, (i % 8) * 120);
    assert.is(c.y, HEADER_HEIGHT + Math.floor(i / 8) * 180);
  });
  const band = p.review!;
  assert.equal(band.box, { x: 0, y: HEADER_HEIGHT + 5 * 180, width: p.width, height: p.height - HEADER_HEIGHT - 5 * 180 });
  assert.is(p.header!.rest, ' · 2025 in review');
  assert.is(p.textColumn, null);
});

test('a few posters are centred above a band at least REVIEW_MIN_WIDTH wide; requested columns are kept', () => {
  const p = plan(3, { review: { ...FIGURES, films: 3 } });
  assert.is(p.width, REVIEW_MIN_WIDTH);
  const left = (REVIEW_MIN_WIDTH - p.columns * 120) / 2;
  assert.is(p.cells[0].x, Math.floor(left));
  const q = plan(40, { columns: 4 });
  assert.equal([q.columns, q.rows], [4, 10]);
});

test('figures: one cell each across the band, in order, text within its cell; null figures are not drawn', () => {
  const band = plan(40).review!;
  assert.equal(
    band.stats.map((s) => s.label.text),
    ['films', 'diary entries', 'average rating', 'rewatches', 'likes'],
  );
  assert.equal(
    band.stats.map((s) => s.value.text),
    ['40', '44', '3.46 ★', '4', '12'],
  );
  for (const [i, s] of band.stats.entries()) {
    assert.ok(inside(s.box, band.box), `stat ${i} inside the band`);
    if (i > 0) assert.ok(s.box.x >= band.stats[i - 1].box.x + band.stats[i - 1].box.width, 'cells do not overlap');
    assert.ok(textWidth(s.value.text, band.valuePx, 'bold') <= s.box.width);
  }
  const sparse = planReviewBand(
    {
      ...FIGURES,
      entries: null,
      rewatches: null,
      likes: null,
      averageRating: null,
      rated: 0,
      ratings: new Array(10).fill(0),
      timeline: null,
      first: null,
      last: null,
    },
    800,
    0,
  );
  assert.equal(
    sparse.stats.map((s) => s.label.text),
    ['films'],
  );
  assert.equal([sparse.charts.length, sparse.lines.length], [0, 0]);
  assert.ok(sparse.box.height < planReviewBand(FIGURES, 800, 0).box.height, 'a band without charts or films is shorter');
  // Diary entries equal to films say nothing new.
  assert.ok(!planReviewBand({ ...FIGURES, entries: 40 }, 800, 0).stats.some((s) => s.label.text === 'diary entries'));
});

test('charts: ten rating bars and twelve month bars, proportional, left to right, inside their boxes', () => {
  const band = plan(40).review!;
  assert.equal(
    band.charts.map((c) => c.kind),
    ['ratings', 'timeline'],
  );
  const [ratings, months] = band.charts;
  assert.ok(ratings.box.x + ratings.box.width <= months.box.x, 'side by side');
  for (const chart of band.charts) {
    assert.ok(inside(chart.box, band.box));
    const counts = chart.bars.map((b) => b.count);
    const tallest = Math.max(...chart.bars.map((b) => b.rect.height));
    for (const [i, bar] of chart.bars.entries()) {
      assert.ok(inside(bar.rect, chart.box), `bar ${i} inside`);
      assert.is(bar.rect.y + bar.rect.height, chart.baseline.y, 'standing on the baseline');
      assert.is(bar.rect.height, Math.round((bar.count / Math.max(...counts)) * tallest), 'height ∝ count');
      if (i > 0) assert.ok(bar.rect.x > chart.bars[i - 1].rect.x + chart.bars[i - 1].rect.width - 1, 'no overlap');
    }
    for (const label of chart.labels) {
      assert.ok(
        label.x >= chart.box.x && label.x + textWidth(label.text, band.labelPx) <= chart.box.x + chart.box.width + 1,
        `label ${label.text} inside`,
      );
    }
  }
  assert.equal(
    ratings.bars.map((b) => b.count),
    FIGURES.ratings,
  );
  assert.is(months.bars[2].rect.height, 0, 'an empty month has no bar');
  assert.equal(
    ratings.labels.map((l) => l.text),
    ['½', '★★★★★'],
  );
  assert.equal(
    months.labels.map((l) => l.text),
    ['J', 'F', 'M', 'A', 'M', 'J', 'J', 'A', 'S', 'O', 'N', 'D'],
  );
});

test('a long history: one bar a year, labelled at both ends when the labels do not fit under every bar', () => {
  const periods = Array.from({ length: 60 }, (_, i) => ({ label: String(1966 + i), count: i % 7 }));
  const band = planReviewBand({ ...FIGURES, timeline: { unit: 'year', periods } }, 800, 0);
  const timeline = band.charts.find((c) => c.kind === 'timeline')!;
  assert.is(timeline.bars.length, 60);
  assert.equal(
    timeline.labels.map((l) => l.text),
    ['1966', '2025'],
  );
  assert.is(timeline.title.text, 'Diary entries per year');
});

test('first and last film: one line each, the title cut to the band width', () => {
  const band = plan(40).review!;
  assert.equal(
    band.lines.map((l) => l.lead.text),
    ['First film ', 'Last film '],
  );
  assert.is(band.lines[0].text.text, 'The First Film of the Year (1999), 1 Jan 2025');
  const last = band.lines[1].text;
  assert.ok(last.text.endsWith('…'), 'a long title is ellipsised');
  assert.ok(last.x + textWidth(last.text, band.textPx) <= band.box.width - 20 * (band.textPx / 15) + 1);
  assert.ok(band.lines[1].lead.top > band.lines[0].lead.top);
  const bottom = band.lines[1].lead.top + band.lineHeight.text;
  assert.ok(bottom <= band.box.y + band.box.height, 'inside the band');
});

test('the band scales with the width; the whole review keeps within MAX_SIDE and the pixel budget', () => {
  const narrow = planReviewBand(FIGURES, 800, 0);
  const wide = planReviewBand(FIGURES, 2400, 0);
  assert.is(wide.valuePx, narrow.valuePx * 3);
  const big = plan(3000, { review: { ...FIGURES, films: 3000 } });
  assert.ok(big.width <= MAX_SIDE && big.height <= MAX_SIDE, `${big.width}×${big.height}`);
  assert.ok(big.width * big.height <= MAX_PIXELS);
  assert.ok(big.tileWidth < 120, 'tiles shrank');
  assert.is(big.review!.box.y + big.review!.box.height, big.height);
});

test('without figures the band still plans (the film count alone)', () => {
  const p = plan(5, { review: null });
  assert.equal(
    p.review!.stats.map((s) => [s.value.text, s.label.text]),
    [['5', 'films']],
  );
});

test.run();
