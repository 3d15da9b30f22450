/**
 * Compression of text answers (HTML, JS, CSS, JSON, SVG, the web manifest) with koa-compress: brotli
 * when the client accepts it, else gzip, else none. Which types are text is the `compressible`
 * database's call (koa-compress's default), so images (JPEG, PNG, WebP) go as they are: they are
 * compressed already. Brotli at quality 4 (koa-compress's default) costs ~2 ms for the 99 KB bundle;
 * quality 11 would save ~10 % more for ~50× the CPU on every request. The WebSocket never passes
 * through Koa, so nothing here touches it.
 */
import compress from 'koa-compress';
import type { Middleware } from 'koa';

export function compression(): Middleware {
  return compress({ threshold: 1024 });
}
