/** Mosaic geometry (docs/architecture.md#the-mosaic, docs/architecture.md#grid-shape): grid shapes, cells, text column, size bounds, title fitting. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CLASSIC_MAX_FILMS,
  GAP,
  HEADER_HEIGHT,
  MAX_PIXELS,
  MAX_PIXELS_PNG_WEBP,
  MAX_SIDE,
  TEXT_COLUMN_MAX,
  cleanText,
  computeGrid,
  ellipsize,
  gridColumns,
  placeholderLines,
  planMosaic,
  plannedTileSize,
  ratingStars,
  wrapText,
  type PlanRequest,
} from '../../../worker/compose/layout.js';
import { textWidth } from '../../../worker/compose/metrics.js';

const films = (n: number, title = (i: number) => `Film ${i + 1}`) =>
  Array.from({ length: n }, (_, i) => ({ title: title(i), year: 1990 + (i % 30), rating: ((i % 10) + 1) / 2 }));
const plan = (n: number, extra: Partial<PlanRequest> = {}) =>
  planMosaic({ username: 'dave', label: 'November 2026', films: films(n), layout: 'classic', tileWidth: 120, ...extra });

test('computeGrid: the shapes docs/architecture.md#grid-shape asks for', () => {
  const table: Array<[number, number, number, number]> = [
    // n, columns, rows, empty cells
    [1, 1, 1, 0],
    [2, 2, 1, 0],
    [3, 2, 2, 1],
    [7, 4, 2, 1],
    [13, 5, 3, 2],
    [30, 6, 5, 0],
    [31, 8, 4, 1],
    [50, 10, 5, 0],
    [100, 10, 10, 0],
    [1000, 40, 25, 0],
  ];
  for (const [n, columns, rows, empty] of table) assert.equal(computeGrid(n), { columns, rows, empty }, `n = ${n}`);
});

test('computeGrid: always the first m ≥ n with a valid pair, ratio closest to 1.75', () => {
  const valid = (m: number) => {
    const pairs: Array<[number, number]> = [];
    for (let r = 1; r * r <= m; r++) if (m % r === 0 && m / r / r >= 1 && m / r / r <= 2.5) pairs.push([m / r, r]);
    return pairs;
  };
  for (let n = 1; n <= 300; n++) {
    const g = computeGrid(n);
    const m = g.columns * g.rows;
    assert.is(m - n, g.empty);
    assert.ok(g.columns >= g.rows && g.columns / g.rows <= 2.5, `n = ${n}`);
    for (let k = n; k < m; k++) assert.is(valid(k).length, 0, `n = ${n}: ${k} has a valid pair`);
    const best = Math.min(...valid(m).map(([c, r]) => Math.abs(c / r - 1.75)));
    assert.ok(Math.abs(Math.abs(g.columns / g.rows - 1.75) - best) < 1e-9, `n = ${n}`);
  }
  assert.throws(() => computeGrid(0));
});

test('gridColumns: round(sqrt(n·1.5)) by default, a requested count capped at n', () => {
  assert.is(gridColumns(1), 1);
  assert.is(gridColumns(30), 7);
  assert.is(gridColumns(1000), 39);
  assert.is(gridColumns(3000), 67);
  assert.is(gridColumns(30, 8), 8);
  assert.is(gridColumns(5, 8), 5);
});

test('ratingStars: halves, rounding, unrated', () => {
  assert.is(ratingStars(null), '—');
  assert.is(ratingStars(0.5), '½');
  assert.is(ratingStars(1), '★');
  assert.is(ratingStars(3.5), '★★★½');
  assert.is(ratingStars(5), '★★★★★');
  assert.is(ratingStars(3.3), '★★★½');
  assert.is(ratingStars(9), '★★★★★');
  assert.is(ratingStars(0), '—');
  assert.is(ratingStars(Number.NaN), '—');
});

test('classic plans: shape, empty cells, dimensions, 10 px gaps and a 50 px header', () => {
  const table: Array<[number, number, number, number]> = [
    // n, columns, rows, empty
    [1, 1, 1, 0],
    [2, 2, 1, 0],
    [7, 4, 2, 1],
    [13, 5, 3, 2],
    [30, 6, 5, 0],
    [31, 8, 4, 1],
    [50, 10, 5, 0],
  ];
  for (const [n, columns, rows, empty] of table) {
    const p = plan(n);
    assert.is(p.layout, 'classic');
    assert.is(p.note, null);
    assert.equal([p.columns, p.rows, p.emptyCells], [columns, rows, empty], `n = ${n}`);
    assert.equal([p.tileWidth, p.tileHeight], [120, 180]);
    assert.is(p.height, HEADER_HEIGHT + GAP + rows * (180 + GAP), `height, n = ${n}`);
    const column = p.textColumn!;
    assert.is(column.box.x, GAP + columns * (120 + GAP), `text column starts after the grid, n = ${n}`);
    assert.ok(column.box.width > 0 && column.box.width <= TEXT_COLUMN_MAX);
    assert.ok(p.width >= column.box.x + column.box.width + GAP, `width, n = ${n}`);
    assert.is(p.cells.length, n);
    p.cells.forEach((cell, i) => {
      assert.equal(cell, { x: GAP + (i % columns) * 130, y: HEADER_HEIGHT + GAP + Math.floor(i / columns) * 190 }, `cell ${i}`);
    });
    // One column row per grid row with films, lined up with it, listing that row's films in order.
    assert.is(column.rows.length, Math.ceil(n / columns));
    column.rows.forEach((row, r) => {
      assert.is(row.top, HEADER_HEIGHT + GAP + r * 190);
      assert.is(row.lines.length, Math.min(columns, n - r * columns));
      assert.ok(row.lines.length * column.lineHeight <= 180, 'the lines fit beside their row');
    });
    assert.is(column.rows[0].lines[0].title, 'Film 1');
  }
});

test('classic: the header fits, and is never wider than the image', () => {
  const p = plan(1, { username: 'a_long_user_nam', label: 'last 50 films' });
  const header = p.header!;
  assert.is(header.box.height, HEADER_HEIGHT);
  assert.ok(textWidth(header.username, header.fontPx, 'bold') + textWidth(header.rest, header.fontPx) <= header.box.width);
  assert.is(header.rest, ' · last 50 films');
});

test('classic: a film list line is "stars" + "Title (Year)", long titles ellipsised within 600 px', () => {
  const long = 'The Extraordinary and Very Long Adventures of Someone Whose Film Title Never Ends, Part Two: The Return';
  const p = planMosaic({
    username: 'dave',
    label: '2025',
    films: [
      { title: long, year: 2001, rating: 4.5 },
      { title: 'Up', year: null, rating: null },
    ],
    layout: 'classic',
    tileWidth: 120,
  });
  const column = p.textColumn!;
  const [first, second] = column.rows[0].lines;
  assert.is(first.stars, '★★★★½');
  assert.ok(first.title.endsWith('…') && long.startsWith(first.title.slice(0, -1)));
  assert.is(first.year, ' (2001)');
  assert.ok(column.titleOffset + textWidth(first.title + first.year, column.fontPx) <= TEXT_COLUMN_MAX);
  assert.ok(column.box.width <= TEXT_COLUMN_MAX && column.box.width > TEXT_COLUMN_MAX - 20, 'the long line sets the width');
  assert.equal(second, { stars: '—', title: 'Up', year: '' });

  const short = plan(2).textColumn!;
  const widest = Math.max(...short.rows[0].lines.map((l) => short.titleOffset + textWidth(l.title + l.year, short.fontPx)));
  assert.is(short.box.width, widest, 'as wide as the longest line');
});

test('classic above 100 films is drawn as grid, and the note says so', () => {
  const p = plan(CLASSIC_MAX_FILMS + 1);
  assert.is(p.layout, 'grid');
  assert.match(p.note ?? '', /grid/);
  assert.is(plan(CLASSIC_MAX_FILMS).layout, 'classic');

  const big = plan(1000);
  assert.equal([big.columns, big.rows, big.emptyCells], [39, 26, 14]);
  assert.equal([big.width, big.height], [39 * 120, 26 * 180]);
  assert.is(big.header, null);
  assert.is(big.textColumn, null);
});

test('grid: edge to edge, requested columns, empty cells at the end', () => {
  const p = plan(7, { layout: 'grid' });
  assert.equal([p.columns, p.rows, p.emptyCells, p.width, p.height], [3, 3, 2, 360, 540]);
  assert.equal(p.cells[4], { x: 120, y: 180 });
  const q = plan(5, { layout: 'grid', columns: 2 });
  assert.equal([q.columns, q.rows, q.width, q.height], [2, 3, 240, 540]);
  assert.is(q.note, null);
});

test('tileWidth scales tiles at 2:3', () => {
  const p = plan(7, { tileWidth: 200 });
  assert.equal([p.tileWidth, p.tileHeight], [200, 300]);
  assert.is(p.cells[1].x, GAP + 210);
  assert.equal(plannedTileSize({ username: 'dave', label: 'x', films: films(4), layout: 'grid', tileWidth: 90 }), {
    width: 90,
    height: 135,
  });
});

test('size bound: tiles shrink so the longest side ≤ 8192 px and the image ≤ 40 Mpx (16 for PNG, WebP)', () => {
  for (const [n, layout, tileWidth] of [
    [3000, 'grid', 120],
    [1000, 'grid', 400],
    [100, 'classic', 600],
    [60, 'grid', 1000],
  ] as const) {
    const p = plan(n, { layout, tileWidth });
    assert.ok(p.width <= MAX_SIDE && p.height <= MAX_SIDE, `${n} ${layout}: ${p.width}×${p.height}`);
    assert.ok(p.width * p.height <= MAX_PIXELS, `${n} ${layout}: ${p.width * p.height} px`);
    assert.ok(p.tileWidth < tileWidth, 'shrunk');
    assert.is(p.tileHeight, Math.round(p.tileWidth * 1.5));
    const last = p.cells[n - 1];
    assert.ok(last.x + p.tileWidth <= p.width && last.y + p.tileHeight <= p.height);
  }
  const p = plan(3000, { layout: 'grid' });
  assert.equal([p.columns, p.rows, p.tileWidth, p.tileHeight], [67, 45, 94, 141]);
  for (const format of ['png', 'webp'] as const) {
    const q = plan(3000, { layout: 'grid', format });
    assert.ok(q.width * q.height <= MAX_PIXELS_PNG_WEBP && q.tileWidth < p.tileWidth, `${format}: smaller budget`);
  }
  assert.is(plan(30).tileWidth, 120, 'small mosaics keep the requested size');
});

test('cleanText: controls, bidi overrides, lone surrogates and mark stacks go; accents and emoji stay', () => {
  assert.is(cleanText('  Tom\u0000 &\n Jerry\t '), 'Tom & Jerry');
  assert.is(cleanText('abc\u202Edef\u2066'), 'abcdef');
  assert.is(cleanText('a\uD800b\uDC00c'), 'abc');
  assert.is(cleanText('Ame\u0301lie'), 'Amélie');
  assert.is(cleanText('Z\u0336\u0337\u0338\u0339\u033Aa'), 'Z\u0336\u0337a');
  assert.is(cleanText('👨‍👩‍👧 🎬'), '👨‍👩‍👧 🎬');
  assert.is(cleanText('x'.repeat(500)).length, 201);
});

test('ellipsize and wrapText keep to their widths', () => {
  const text = 'The quick brown fox jumps over the lazy dog again and again';
  const cut = ellipsize(text, 120, 13);
  assert.ok(cut.endsWith('…') && textWidth(cut, 13) <= 120);
  assert.is(ellipsize('Up', 120, 13), 'Up');
  assert.is(ellipsize('Anything', 1, 13), '…');

  const lines = wrapText(text, 100, 13, 3);
  assert.is(lines.length, 3);
  assert.ok(lines.every((l) => textWidth(l, 13) <= 100));
  assert.ok(lines[2].endsWith('…'));
  assert.equal(wrapText('Up', 100, 13, 3), ['Up']);
  const broken = wrapText('Supercalifragilisticexpialidocious', 60, 13, 5);
  assert.ok(broken.length > 1 && broken.every((l) => textWidth(l, 13) <= 60));
});

test('placeholderLines: wrapped title then the year, within the card', () => {
  const p = plan(1);
  const style = p.placeholder!;
  const lines = placeholderLines({ title: 'Everything Everywhere All at Once', year: 2022 }, 120, 180, style);
  assert.ok(lines.length >= 2);
  assert.equal(lines[lines.length - 1], { text: '2022', dim: true });
  assert.ok(lines.every((l) => textWidth(l.text, style.fontPx) <= 120 - 2 * style.padding));
  assert.ok(lines.length * style.lineHeight <= 180 - 2 * style.padding);
  assert.equal(placeholderLines({ title: ' ', year: null }, 120, 180, style), [{ text: 'Untitled', dim: false }]);
  assert.is(plan(3000, { layout: 'grid', tileWidth: 20 }).placeholder, null, 'no text on tiny tiles');
});

test.run();
