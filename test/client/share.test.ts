import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { shareSnippets } from '../../client/share.js';

const mosaic = {
  username: 'dave',
  taskId: 'f3b6c1de-0000-4000-8000-000000000001',
  params: { mode: 'month' as const, month: '2026-11', layout: 'grid' as const, format: 'png' as const },
  width: 600,
  height: 900,
};

test('the share menu offers the page, the stable image link and three ready-to-paste forms', () => {
  const s = shareSnippets(mosaic, 'https://mosaic.example');
  assert.is(s.page, 'https://mosaic.example/user/dave/f3b6c1de-0000-4000-8000-000000000001');
  assert.is(s.image, 'https://mosaic.example/m/dave/2026-11.grid.png');
  assert.is(s.markdown, `[![dave · November 2026](${s.image})](${s.page})`);
  assert.is(s.html, `<a href="${s.page}"><img src="${s.image}" alt="dave · November 2026" width="600" height="900"></a>`);
  assert.is(s.bbcode, `[url=${s.page}][img]${s.image}[/img][/url]`);
  const review = shareSnippets({ ...mosaic, params: { mode: 'year', year: 2025, layout: 'review', format: 'jpeg' } }, 'http://pi.lan:8080');
  assert.is(review.image, 'http://pi.lan:8080/m/dave/2025.review.jpg');
});

test.run();
