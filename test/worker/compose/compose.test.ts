/** composeMosaic on images made here: tiles land in their cells, text exists, hostile input is harmless. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import sharp from 'sharp';
import type { Film, Format } from '../../../common/task.js';
import { composeMosaic, configureSharp, type ComposeInput } from '../../../worker/compose/compose.js';
import { GAP, HEADER_HEIGHT, MAX_PIXELS, MAX_SIDE, planMosaic } from '../../../worker/compose/layout.js';
import { colorFor, countDiffering, near, pixelsOf, solidPoster, type Pixels, type RGB } from '../../helpers/compose/images.js';

configureSharp();

const BG: RGB = [50, 50, 50];
const CARD: RGB = [74, 74, 74];

function films(n: number, title = (i: number) => `Film ${i + 1}`): Film[] {
  return Array.from({ length: n }, (_, i) => ({
    title: title(i),
    year: 2000 + i,
    rating: i % 3 === 0 ? null : ((i % 10) + 1) / 2,
    slug: `film-${i + 1}`,
    watchedDate: null,
  }));
}

function input(list: Film[], tiles: (Buffer | null)[], extra: Partial<ComposeInput> = {}): ComposeInput {
  return { username: 'dave', label: 'November 2026', films: list, tiles, layout: 'classic', format: 'png', tileWidth: 120, ...extra };
}

/** Every pixel of the tile's cell (3 px in from its edges, where JPEG ringing is) is the poster's colour. */
function assertTile(p: Pixels, cell: { x: number; y: number }, w: number, h: number, rgb: RGB, tolerance: number, what: string) {
  for (const [fx, fy] of [
    [0.5, 0.5],
    [0, 0],
    [1, 0],
    [0, 1],
    [1, 1],
    [0.3, 0.8],
  ]) {
    const x = Math.round(cell.x + 3 + fx * (w - 7));
    const y = Math.round(cell.y + 3 + fy * (h - 7));
    assert.ok(near(p.at(x, y), rgb, tolerance), `${what}: (${x},${y}) is ${JSON.stringify(p.at(x, y))}, expected ${JSON.stringify(rgb)}`);
  }
}

async function rejects(run: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await run();
  } catch (error) {
    assert.match(String(error), pattern);
    return;
  }
  assert.unreachable(`expected a rejection matching ${pattern}`);
}

async function checkClassic(format: Format, tolerance: number) {
  const list = films(7);
  const tiles = await Promise.all(list.map((_, i) => solidPoster(colorFor(i))));
  const out = await composeMosaic(input(list, tiles, { format }));
  const plan = planMosaic({ username: 'dave', label: 'November 2026', films: list, layout: 'classic', tileWidth: 120 });
  assert.equal([out.width, out.height, out.layout, out.note], [plan.width, plan.height, 'classic', null]);
  assert.equal(out.placeholders, []);
  const p = await pixelsOf(out.image);
  assert.equal([p.width, p.height], [out.width, out.height]);

  // 4×2 grid: each poster in its cell, row by row in film order; the eighth cell is empty.
  list.forEach((_, i) => assertTile(p, plan.cells[i], 120, 180, colorFor(i), tolerance, `${format} tile ${i}`));
  assert.equal(plan.cells[6], { x: GAP + 2 * 130, y: HEADER_HEIGHT + GAP + 190 });
  const empty = { x: GAP + 3 * 130, y: HEADER_HEIGHT + GAP + 190, width: 120, height: 180 };
  assert.is(countDiffering(p, empty, BG, tolerance), 0, 'the empty cell is background');

  // Gaps and margins are background: left margin, between columns, between rows, bottom margin. (JPEG's
  // 4:2:0 chroma spreads a saturated tile's colour a few px into its gap: only the gaps' middles there.)
  const inset = format === 'jpeg' ? 4 : 0;
  const gaps = [
    { x: 0, y: 60, width: GAP, height: 370 },
    { x: 130, y: 60, width: GAP, height: 370 },
    { x: 10, y: 240, width: 510, height: GAP },
    { x: 10, y: 50, width: 510, height: GAP },
    { x: 0, y: out.height - GAP, width: 520, height: GAP },
  ];
  for (const gap of gaps) {
    const middle =
      gap.width === GAP ? { ...gap, x: gap.x + inset, width: GAP - 2 * inset } : { ...gap, y: gap.y + inset, height: GAP - 2 * inset };
    const allowed = format === 'jpeg' ? middle.width * middle.height * 0.02 : 0;
    assert.ok(countDiffering(p, middle, BG, tolerance) <= allowed, `gap ${JSON.stringify(middle)}`);
  }

  // The header band and the text column beside each row hold text; below the last line they are empty.
  const column = plan.textColumn!;
  assert.ok(countDiffering(p, { x: GAP, y: 0, width: 200, height: HEADER_HEIGHT }, BG) > 100, 'header text');
  for (const row of column.rows) {
    const lines = { x: column.box.x, y: row.top, width: column.box.width, height: row.lines.length * column.lineHeight };
    assert.ok(countDiffering(p, lines, BG) > 100, `film list beside the row at y=${row.top}`);
    const below = { x: column.box.x, y: row.top + row.lines.length * column.lineHeight + 2, width: column.box.width, height: 20 };
    assert.is(countDiffering(p, below, BG, tolerance), 0, 'nothing below the list');
  }
  // Stars are green, titles light grey.
  const starBox = { x: column.box.x, y: column.rows[0].top, width: column.titleOffset - 4, height: 4 * column.lineHeight };
  let green = 0;
  for (let y = starBox.y; y < starBox.y + starBox.height; y++) {
    for (let x = starBox.x; x < starBox.x + starBox.width; x++) {
      const [r, g, b] = p.at(x, y);
      if (g > 150 && r < 100 && b < 140) green++;
    }
  }
  assert.ok(green > 20, 'green stars');
}

test('classic PNG: tiles in their cells, gaps, empty cell, header and film list', async () => {
  await checkClassic('png', 6);
});

test('classic JPEG (encoded in strips and joined): the same, within JPEG tolerance', async () => {
  await checkClassic('jpeg', 24);
});

test('grid: edge to edge, empty cells are background', async () => {
  const list = films(5);
  const tiles = await Promise.all(list.map((_, i) => solidPoster(colorFor(i))));
  const out = await composeMosaic(input(list, tiles, { layout: 'grid', columns: 2 }));
  assert.equal([out.width, out.height, out.layout], [240, 540, 'grid']);
  const p = await pixelsOf(out.image);
  list.forEach((_, i) => assertTile(p, { x: (i % 2) * 120, y: Math.floor(i / 2) * 180 }, 120, 180, colorFor(i), 6, `tile ${i}`));
  assert.ok(near(p.at(0, 0), colorFor(0), 6) && near(p.at(239, 0), colorFor(1), 6), 'no margins');
  assert.is(countDiffering(p, { x: 120, y: 360, width: 120, height: 180 }, BG, 6), 0);
});

test('placeholders: missing, corrupt, truncated, SVG and not-an-image posters become titled cards', async () => {
  const list = films(7, (i) => ['Alien', 'Missing Film', 'Corrupt Film', 'Truncated Film', 'Not An Image', 'Big Poster', 'SVG'][i]);
  const good = await solidPoster(colorFor(0));
  const noisy = await sharp({
    create: { width: 120, height: 180, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 40 } },
  })
    .jpeg()
    .toBuffer();
  const truncated = noisy.subarray(0, Math.floor(noisy.length * 0.6));
  const corrupt = Buffer.from(good);
  corrupt.fill(0x55, 20, 400); // header tables trashed
  const big = await solidPoster(colorFor(5), 460, 690); // resized to the tile
  // sharp would render an SVG poster, which may point at files: it must never get that far.
  const svg = Buffer.from(
    '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="180"><rect width="120" height="180" fill="red"/>' +
      '<image href="file:///etc/passwd" width="10" height="10"/></svg>',
  );
  const tiles = [good, null, corrupt, truncated, Buffer.from('<html>403</html>'), big, svg];
  const out = await composeMosaic(input(list, tiles));
  assert.equal(out.placeholders, [1, 2, 3, 4, 6]);
  const plan = planMosaic({ username: 'dave', label: 'x', films: list, layout: 'classic', tileWidth: 120 });
  const p = await pixelsOf(out.image);
  assertTile(p, plan.cells[0], 120, 180, colorFor(0), 6, 'good poster');
  assertTile(p, plan.cells[5], 120, 180, colorFor(5), 6, 'big poster, resized');
  const png = await sharp({ create: { width: 60, height: 90, channels: 4, background: { r: 0, g: 0, b: 255, alpha: 1 } } })
    .png()
    .toBuffer();
  const webp = await sharp({ create: { width: 120, height: 180, channels: 3, background: { r: 0, g: 255, b: 0 } } })
    .webp()
    .toBuffer();
  const other = await composeMosaic(input(films(2), [png, webp]));
  assert.equal(other.placeholders, [], 'PNG (with alpha) and WebP posters decode');
  for (const i of out.placeholders) {
    const { x, y } = plan.cells[i];
    assert.ok(near(p.at(x + 4, y + 4), CARD, 4) && near(p.at(x + 115, y + 175), CARD, 4), `card ${i}`);
    const inner = { x: x + 2, y: y + 2, width: 116, height: 176 };
    assert.ok(countDiffering(p, inner, CARD) > 50, `card ${i} has its title`);
  }
});

const HOSTILE = [
  `&<>"'`,
  ']]>',
  '<image href="file:///etc/passwd"/>',
  '</span><span foreground="#ff0000" size="50000">RED RED RED</span>',
  '<b>not bold</b> &amp; &#x26; &bogus;',
  'Amélie — Ça ñ ü ß Ø',
  'Spirited Away 👨‍👩‍👧 🎬',
  'אהבה (Love) مرحبا',
  'Z̷̢̛̭̼a̸̛͇l̴͍̀g̵̣͑o̶͚͝',
  `A ${'Very '.repeat(60)}Long Title`,
  'tab\there\nnew line\u0000nul\u202Eoverride',
  '\uD800 lone surrogate',
  '',
];

test('hostile titles render as text, in the film list and on placeholder cards, in every format', async () => {
  const list = films(HOSTILE.length, (i) => HOSTILE[i]);
  const tile = await solidPoster([40, 40, 160]);
  const tiles = list.map((_, i) => (i % 2 ? null : tile));
  for (const format of ['jpeg', 'png', 'webp'] as const) {
    for (const layout of ['classic', 'grid'] as const) {
      const out = await composeMosaic(input(list, tiles, { format, layout }));
      const meta = await sharp(out.image).metadata();
      assert.equal([meta.width, meta.height], [out.width, out.height], `${format} ${layout}`);
    }
  }
  // Markup in a title stays text: no red "RED RED RED" anywhere in the film list (titles are light grey).
  const out = await composeMosaic(input(list, tiles));
  const plan = planMosaic({ username: 'dave', label: 'x', films: list, layout: 'classic', tileWidth: 120 });
  const p = await pixelsOf(out.image);
  const box = plan.textColumn!.box;
  for (let y = box.y; y < box.y + box.height; y++) {
    for (let x = box.x + plan.textColumn!.titleOffset; x < box.x + box.width; x++) {
      const [r, g, b] = p.at(x, y);
      assert.ok(!(r > 200 && g < 80 && b < 80), `red pixel at (${x},${y}): markup leaked out of a title`);
    }
  }
});

test('emoji are drawn in colour from the shipped font, at text size', async () => {
  const list = films(2, (i) => (i === 0 ? '🍎🍎🍎🍎' : 'Plain'));
  const tile = await solidPoster([40, 40, 160]);
  const out = await composeMosaic(input(list, [tile, tile]));
  const plan = planMosaic({ username: 'dave', label: 'x', films: list, layout: 'classic', tileWidth: 120 });
  const column = plan.textColumn!;
  const p = await pixelsOf(out.image);
  let red = 0;
  let below = 0;
  for (let x = column.box.x + column.titleOffset; x < column.box.x + column.box.width; x++) {
    for (let y = column.rows[0].top; y < column.rows[0].top + column.lineHeight; y++) {
      const [r, g, b] = p.at(x, y);
      if (r > 150 && g < 90 && b < 90) red++;
    }
    for (let y = column.rows[0].top + 2 * column.lineHeight; y < column.box.y + column.box.height; y++) {
      if (!near(p.at(x, y), BG, 8)) below++;
    }
  }
  assert.ok(red > 30, `red apple pixels: ${red}`);
  assert.is(below, 0, 'emoji stay within their line');
  assert.match(process.env.FONTCONFIG_FILE ?? '', /assets\/fonts\/fonts\.conf$/);
});

test('each format decodes back at the reported size and content type', async () => {
  const list = films(13);
  const tiles = await Promise.all(list.map((_, i) => solidPoster(colorFor(i))));
  for (const [format, contentType] of [
    ['jpeg', 'image/jpeg'],
    ['png', 'image/png'],
    ['webp', 'image/webp'],
  ] as const) {
    const out = await composeMosaic(input(list, tiles, { format }));
    assert.is(out.contentType, contentType);
    const meta = await sharp(out.image).metadata();
    assert.equal([meta.format, meta.width, meta.height], [format, out.width, out.height]);
  }
});

test('a 3,000-film grid stays within the size bound', async () => {
  const list = films(3000);
  const plan = planMosaic({ username: 'dave', label: 'all films', films: list, layout: 'classic', tileWidth: 120 });
  const tile = await solidPoster([120, 30, 30], plan.tileWidth, plan.tileHeight);
  const tiles = list.map((_, i) => (i % 500 === 7 ? null : tile));
  const out = await composeMosaic(input(list, tiles, { format: 'jpeg' }));
  assert.is(out.layout, 'grid');
  assert.match(out.note ?? '', /grid/);
  assert.ok(out.width <= MAX_SIDE && out.height <= MAX_SIDE && out.width * out.height <= MAX_PIXELS);
  assert.equal(out.placeholders, [7, 507, 1007, 1507, 2007, 2507]);
  const meta = await sharp(out.image).metadata();
  assert.equal([meta.width, meta.height], [out.width, out.height]);
  const p = await pixelsOf(out.image);
  const last = plan.cells[2999];
  assertTile(p, last, plan.tileWidth, plan.tileHeight, [120, 30, 30], 24, 'last tile');
});

test('columns the format cannot hold: 3,000 films in 1 column are drawn in 3, in every format, and the note says so', async () => {
  const list = films(3000);
  for (const format of ['webp', 'jpeg', 'png'] as const) {
    // Before: WebP failed ("Processed image is too large for the WebP format"), JPEG and PNG were 4×18,000 px.
    const out = await composeMosaic(
      input(
        list,
        list.map(() => null),
        { layout: 'grid', columns: 1, format },
      ),
    );
    assert.ok(out.width <= MAX_SIDE && out.height <= MAX_SIDE, `${format}: ${out.width}×${out.height}`);
    assert.match(out.note ?? '', /^Drawn in 3 columns, not 1: 3,000 films in 1 column would make an image taller than the 8,192 px/);
    const meta = await sharp(out.image).metadata();
    assert.equal([meta.width, meta.height], [out.width, out.height]);
  }
  const fine = await composeMosaic(
    input(
      films(40),
      films(40).map(() => null),
      { layout: 'grid', columns: 1, format: 'webp' },
    ),
  );
  assert.is(fine.note, null, 'columns that fit are kept, without a note');
  assert.is(fine.width, 120);
});

test('cancellation: an aborted signal stops the build', async () => {
  const list = films(40);
  const tile = await solidPoster([10, 200, 10]);
  const tiles = list.map(() => tile);
  await rejects(() => composeMosaic(input(list, tiles, { signal: AbortSignal.abort() })), /abort/i);
  const controller = new AbortController();
  const running = composeMosaic(input(list, tiles, { signal: controller.signal }));
  controller.abort();
  await rejects(() => running, /abort/i);
});

test('films and tiles must match, and there must be a film', async () => {
  const tile = await solidPoster([10, 200, 10]);
  await rejects(() => composeMosaic(input(films(2), [tile])), /2 films and 1 tiles/);
  await rejects(() => composeMosaic(input([], [])), /at least one film/);
});

test.run();
