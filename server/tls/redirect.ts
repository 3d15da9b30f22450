/** With HTTPS on, the plain-HTTP port only helps a device get there (docs/architecture.md#https). */
import type { Middleware } from 'koa';
import { hostOf } from '../hosts.js';
import { originFor } from './addresses.js';

const PLAIN_PATHS = new Set(['/setup', '/ca.crt', '/ca.der', '/ca.mobileconfig', '/healthz']);

/**
 * The paths plain HTTP still serves when HTTPS is on: the setup page and its assets, the CA
 * certificate (a device cannot use HTTPS before it trusts the CA) and the health check.
 */
export function servedOnPlainHttp(path: string): boolean {
  return PLAIN_PATHS.has(path) || path.startsWith('/setup/');
}

export interface HttpsRedirectOptions {
  /** The HTTPS port actually listening (a getter: with HTTPS_PORT=0 it is known only after listen). */
  httpsPort: () => number;
}

/**
 * Redirects every request that arrived without TLS to the same host name on the HTTPS port (308, so
 * the method and body are kept), except `servedOnPlainHttp` paths. Place it after the Host guard, so
 * the name it redirects to is one of ours. One app can serve both ports: requests over TLS pass.
 */
export function httpsRedirect(opts: HttpsRedirectOptions): Middleware {
  return async function toHttps(ctx, next) {
    if (ctx.secure || servedOnPlainHttp(ctx.path)) return next();
    const host = hostOf(ctx.get('host'));
    if (host === null) return next();
    // path + search, not ctx.url: an absolute-form request target must not end up in the Location.
    const location = `${originFor('https', host, opts.httpsPort())}${ctx.path}${ctx.search}`;
    ctx.status = 308;
    ctx.set('Location', location);
    // Browsers keep an uncached 308 for good; no-store lets the owner turn HTTPS off again later.
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'text/plain; charset=utf-8';
    ctx.body = `moviemosaic is served over HTTPS: ${location}\nFirst time on this device? Open /setup on this address.\n`;
  };
}
