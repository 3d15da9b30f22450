/**
 * What the share menu offers for a mosaic: the page link, the stable image link (always that member's
 * newest mosaic for the same request: common/stableLink.ts), and ready-to-paste Markdown, HTML and
 * BBCode that show the image and link to the page. Pure.
 */
import type { MosaicSummary } from '../common/task.js';
import { stableLinkPath } from '../common/stableLink.js';
import { mosaicTitle } from './format.js';
import { paths } from './router.js';

export interface ShareSnippets {
  page: string;
  image: string;
  markdown: string;
  html: string;
  bbcode: string;
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** Markdown's link text: brackets and backslashes escaped. */
const escapeMarkdown = (text: string) => text.replace(/[\\[\]]/g, (c) => `\\${c}`);

export function shareSnippets(
  m: Pick<MosaicSummary, 'username' | 'params' | 'taskId' | 'width' | 'height'>,
  origin: string,
): ShareSnippets {
  const page = new URL(paths.user(m.username, m.taskId), origin).href;
  const image = new URL(stableLinkPath(m.username, m.params), origin).href;
  const title = mosaicTitle(m);
  return {
    page,
    image,
    markdown: `[![${escapeMarkdown(title)}](${image})](${page})`,
    html: `<a href="${escapeHtml(page)}"><img src="${escapeHtml(image)}" alt="${escapeHtml(title)}" width="${m.width}" height="${m.height}"></a>`,
    bbcode: `[url=${page}][img]${image}[/img][/url]`,
  };
}
