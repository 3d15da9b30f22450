/**
 * Link previews: Open Graph and Twitter card tags for a member's page (`/user/{name}`: their newest
 * mosaic) and a mosaic's page (`/user/{name}/{task}`), put into the HTML the server sends, because the
 * crawlers that unfurl a pasted link (Discord, Slack, iMessage, WhatsApp, Mastodon) run no JavaScript.
 * URLs are absolute, built from the origin the visitor used (behind a trusted proxy, the forwarded
 * scheme and host). Pure apart from the one (asynchronous) read of the mosaic's summary.
 */
import type { MosaicListItem } from '../common/task.js';
import type { Route } from '../common/routes.js';

export interface PreviewDeps {
  summary(taskId: string): Promise<MosaicListItem | undefined>;
  newestOf(username: string): Promise<MosaicListItem | undefined>;
}

function escapeAttr(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The mosaic a page shows, if the route is a member's page and the mosaic is theirs. */
export async function previewMosaic(route: Route, deps: PreviewDeps): Promise<MosaicListItem | undefined> {
  if (route.name !== 'user') return undefined;
  if (route.taskId === null) return deps.newestOf(route.username);
  const mosaic = await deps.summary(route.taskId);
  return mosaic && mosaic.username === route.username ? mosaic : undefined;
}

/** "dave · November 2026" and "30 films": the preview's title and description. */
export function previewText(m: MosaicListItem): { title: string; description: string } {
  const films = `${m.filmCount} film${m.filmCount === 1 ? '' : 's'}`;
  return { title: `${m.username} · ${m.label}`, description: m.partial ? `${films} (some posters missing)` : films };
}

/** The tags (and `<title>`) for `mosaic`, as shown at `pageUrl`; `origin` is scheme://host the visitor used. */
export function previewTags(mosaic: MosaicListItem, origin: string, pagePath: string): string {
  const { title, description } = previewText(mosaic);
  const image = `${origin}${mosaic.resultUrl}`;
  const tags: [string, string, string][] = [
    ['property', 'og:type', 'website'],
    ['property', 'og:site_name', 'moviemosaic'],
    ['property', 'og:title', title],
    ['property', 'og:description', description],
    ['property', 'og:url', `${origin}${pagePath}`],
    ['property', 'og:image', image],
    ['property', 'og:image:type', mosaic.contentType],
    ['property', 'og:image:width', String(mosaic.width)],
    ['property', 'og:image:height', String(mosaic.height)],
    ['property', 'og:image:alt', `Posters of the films ${mosaic.username} watched: ${mosaic.label}`],
    ['name', 'twitter:card', 'summary_large_image'],
    ['name', 'twitter:title', title],
    ['name', 'twitter:description', description],
    ['name', 'twitter:image', image],
  ];
  return [
    `<title>${escapeAttr(title)} · moviemosaic</title>`,
    ...tags.map(([attr, name, content]) => `<meta ${attr}="${name}" content="${escapeAttr(content)}" />`),
  ].join('\n    ');
}

/** index.html with the preview in place of its plain `<title>`. */
export function withPreview(html: string, tags: string): string {
  return html.replace(/<title>[^<]*<\/title>/, tags);
}
