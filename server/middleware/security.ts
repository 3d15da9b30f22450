/** Security headers on every response, and the Host check that refuses DNS-rebound requests. */
import type { Middleware } from 'koa';
import { sameOrigin, type HostPolicy } from '../hosts.js';
import { HttpError } from './errors.js';
import { connectSources } from '../tls/addresses.js';
import { requestFrom } from '../clientKey.js';

/**
 * The Content-Security-Policy for a page served under `host` (already checked by `hostGuard`). No
 * inline script or style anywhere: Lit's styles arrive as adopted stylesheets. `connect-src` names the
 * socket's origin because Safari before 15.4 does not count ws: as 'self'.
 */
export function contentSecurityPolicy(host: string | undefined, secure: boolean): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    `connect-src ${connectSources(host, secure).join(' ')}`,
    "font-src 'self'",
    "manifest-src 'self'",
    "worker-src 'self'",
    "object-src 'none'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join('; ');
}

/** One year: browsers keep using HTTPS for the name that long after a visit. */
const HSTS = 'max-age=31536000';

/**
 * Sets the headers on the way out, so they survive whatever a handler or the error translator did.
 * `hsts()`: whether HTTPS answers send Strict-Transport-Security, which is only right on port 443:
 * a browser that got it upgrades every later http:// URL of the name to https:// on the same port,
 * so the setup QR's `http://pi:8080` would become a broken `https://pi:8080`.
 */
export function securityHeaders(hosts: HostPolicy, hsts: () => boolean = () => false): Middleware {
  return async function headers(ctx, next) {
    try {
      await next();
    } finally {
      if (!ctx.headerSent) {
        // Behind a trusted proxy: the host and scheme the visitor used (server/forwarded.ts).
        const seen = requestFrom(ctx.req);
        const host = hosts.allows(seen.host) ? seen.host : undefined;
        ctx.set({
          'Content-Security-Policy': contentSecurityPolicy(host, seen.scheme === 'https'),
          'X-Content-Type-Options': 'nosniff',
          'Referrer-Policy': 'no-referrer',
          'Cross-Origin-Opener-Policy': 'same-origin',
          // A stable image link (/m/…) says cross-origin itself: it is meant for other sites' <img>.
          'Cross-Origin-Resource-Policy': ctx.response.get('Cross-Origin-Resource-Policy') || 'same-origin',
          'X-Frame-Options': 'DENY',
          'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), interest-cohort=()',
        });
        if (ctx.secure && hsts()) ctx.set('Strict-Transport-Security', HSTS);
      }
    }
  };
}

/** 421 for a Host that is not one of ours, with what to do about it (a name the owner really uses). */
export function hostGuard(hosts: HostPolicy): Middleware {
  return async function host(ctx, next) {
    const header = requestFrom(ctx.req).host;
    if (hosts.allows(header)) return next();
    ctx.status = 421;
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Connection', 'close');
    ctx.type = 'text/plain; charset=utf-8';
    const shown = header ? JSON.stringify(header.slice(0, 100)) : '(none)';
    ctx.body =
      `This moviemosaic server does not answer to the host name ${shown}.\n` +
      'If that is a name you use for it, add it to ALLOWED_HOSTS (comma-separated) and restart the server.\n';
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses (403 FORBIDDEN), before any limiter, a state-changing request another website made: one
 * whose `Origin` is present and is not this server as the browser sees it (the scheme and Host it
 * used, which behind a trusted proxy are the forwarded ones), or
 * whose `Sec-Fetch-Site` says `cross-site`. A browser sends these on every cross-site POST, so a page
 * elsewhere cannot spend a visitor's rate limit or start and cancel mosaics in their name. Requests
 * with neither header (curl, scripts, the setup tooling) pass: they are not riding on a visitor.
 */
export const originGuard: Middleware = async (ctx, next) => {
  if (SAFE_METHODS.has(ctx.method)) return next();
  const origin = ctx.get('origin');
  const crossSite = ctx.get('sec-fetch-site').toLowerCase() === 'cross-site';
  const seen = requestFrom(ctx.req);
  if (crossSite || (origin !== '' && !sameOrigin(origin, seen.host, seen.schemeForwarded ? seen.scheme : undefined))) {
    throw new HttpError(403, 'FORBIDDEN', 'Requests from other websites are refused; open moviemosaic itself to do this.');
  }
  return next();
};
