/**
 * The server's own 404 page, for paths that are neither API, file nor page route: a real HTML page
 * in the app's colours (its stylesheet is served here too, as the CSP allows no inline style) with
 * the way home. API paths never get here: they answer JSON 404s.
 */
import type { Middleware } from 'koa';
import { PALETTE } from '../common/palette.js';

export const NOT_FOUND_CSS_PATH = '/not-found.css';

const CSS = `${PALETTE}
html { background: var(--mm-bg); color: var(--mm-text); font: 16px/1.5 var(--mm-font); -webkit-text-size-adjust: 100%; }
body { margin: 0; }
header { display: flex; align-items: center; gap: 0.5em; padding: 0.6em 16px; border-bottom: 1px solid var(--mm-border); background: var(--mm-surface); font-weight: 800; font-size: 1.15rem; }
header img { width: 28px; height: 28px; border-radius: 6px; }
main { max-width: 40rem; margin: 0 auto; padding: 2rem 16px 3rem; }
h1 { font-size: 1.6rem; line-height: 1.2; margin: 0 0 0.75rem; }
p { margin: 0.5rem 0 1rem; }
a { color: var(--mm-accent); }
a.button { display: inline-block; padding: 0.6em 1.1em; border-radius: var(--mm-radius); background: var(--mm-accent); color: var(--mm-accent-text); font-weight: 700; text-decoration: none; }
a:focus-visible { outline: 3px solid var(--mm-focus); outline-offset: 2px; }
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Page not found · moviemosaic</title>
<link rel="stylesheet" href="${NOT_FOUND_CSS_PATH}">
<link rel="icon" href="/icons/icon-192.png" type="image/png">
</head>
<body>
<header><img src="/icons/icon-192.png" alt="" width="28" height="28">moviemosaic</header>
<main>
<h1>Page not found</h1>
<p>There is nothing at this address. The link may be mistyped, or the page has moved.</p>
<p><a class="button" href="/">Make a mosaic</a></p>
</main>
</body>
</html>
`;

/** The end of the line: nothing answered. Also serves the page's stylesheet. */
export const notFoundPage: Middleware = async (ctx) => {
  if (ctx.path === NOT_FOUND_CSS_PATH && (ctx.method === 'GET' || ctx.method === 'HEAD')) {
    ctx.type = 'text/css; charset=utf-8';
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = CSS;
    return;
  }
  ctx.status = 404;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Cache-Control', 'no-cache');
  ctx.body = PAGE;
};
