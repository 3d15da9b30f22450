/**
 * /setup: how to get a device onto the HTTPS address (served on plain HTTP too, see
 * server/tls/redirect.ts), with the local CA to download as PEM (/ca.crt), DER (/ca.der) and an iOS
 * profile (/ca.mobileconfig). Server-rendered, no script; the stylesheet and QR code are files.
 *
 * The setup/ folder owns these pages and downloads only (the page, its stylesheet, the iOS profile);
 * `createSetupRoutes` is its one entry, mounted by server/app.ts before the API. It may read the
 * certificate through the TLS source it is given and use ../tls/ and ../hosts.ts for names and
 * addresses; it touches no store and no file of its own.
 */
import { X509Certificate } from 'node:crypto';
import type { Middleware } from 'koa';
import QRCode from 'qrcode';
import { hostOf } from '../hosts.js';
import { appHosts, originFor, phoneHost } from '../tls/addresses.js';
import type { TlsSource } from '../tls/source.js';
import { readCert } from '../tls/x509.js';
import { caProfile } from './mobileconfig.js';
import { platformOf, renderSetupPage, type SetupView } from './page.js';
import { SETUP_CSS } from './style.js';

export interface SetupDeps {
  /** Every name and address the server answers to (`hosts.names()`). */
  names: () => readonly string[];
  /** HOST. */
  bindHost: string;
  /** `os.hostname()`, for the profile's name. */
  hostname: string;
  /** The plain-HTTP port actually listening (a getter: known after listen). */
  httpPort: () => number;
  /** The HTTPS port and certificate source; null when HTTPS is off. */
  https: { port: () => number; tls: Pick<TlsSource, 'kind' | 'caCertPem' | 'covers'> } | null;
}

/** The paths this middleware answers. */
export const SETUP_PATHS = ['/setup', '/setup/setup.css', '/setup/qr.svg', '/ca.crt', '/ca.der', '/ca.mobileconfig'] as const;

/** The certificate's forms, computed once per CA (it changes only when a new CA is made). */
function caForms(pem: string) {
  const info = readCert(pem);
  return {
    pem: new X509Certificate(info.der).toString(), // the one certificate, re-encoded from the DER served
    der: info.der,
    name: /CN=([^,]+)/.exec(info.subject)?.[1] ?? 'moviemosaic local CA',
    fingerprint256: info.fingerprint256,
  };
}

/**
 * Koa middleware answering GET/HEAD on `SETUP_PATHS`; everything else goes to `next`. Mount it after
 * the Host guard (it builds addresses from the Host header); the HTTPS redirect lets these paths through.
 */
export function createSetupRoutes(deps: SetupDeps): Middleware {
  let cached: { pem: string; forms: ReturnType<typeof caForms> } | null = null;
  const ca = () => {
    const pem = deps.https?.tls.caCertPem() ?? null;
    if (pem === null) return null;
    if (cached?.pem !== pem) cached = { pem, forms: caForms(pem) };
    return cached.forms;
  };

  /** The addresses to open and the one for the QR code, for a request that arrived under `host`. */
  const addresses = (host: string | undefined) => {
    const https = deps.https;
    const hosts = appHosts({ names: deps.names(), bindHost: deps.bindHost, covers: https ? (h) => https.tls.covers(h) : undefined });
    const url = (h: string) => (https ? `${originFor('https', h, https.port())}/` : `${originFor('http', h, deps.httpPort())}/`);
    const phone = phoneHost(hosts, hostOf(host));
    return { list: hosts.map(url), qr: phone ? url(phone) : null };
  };

  return async function setup(ctx, next) {
    const path = ctx.path === '/setup/' ? '/setup' : ctx.path;
    if (!(SETUP_PATHS as readonly string[]).includes(path)) return next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.status = 405;
      ctx.set('Allow', 'GET, HEAD');
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = `${ctx.method} is not supported here.\n`;
      return;
    }
    ctx.set('Cache-Control', 'no-store'); // the addresses and the CA can change with the network or a restart

    switch (path) {
      case '/setup': {
        const a = addresses(ctx.get('host'));
        const c = ca();
        const view: SetupView = {
          secure: ctx.secure,
          mode: deps.https ? deps.https.tls.kind : 'off',
          addresses: a.list,
          qrUrl: a.qr,
          ca: c ? { name: c.name, fingerprint256: c.fingerprint256 } : null,
          platform: platformOf(ctx.get('user-agent')),
        };
        ctx.type = 'text/html; charset=utf-8';
        ctx.body = renderSetupPage(view);
        return;
      }
      case '/setup/setup.css':
        ctx.set('Cache-Control', 'public, max-age=3600');
        ctx.type = 'text/css; charset=utf-8';
        ctx.body = SETUP_CSS;
        return;
      case '/setup/qr.svg': {
        const { qr } = addresses(ctx.get('host'));
        if (qr === null) return notFound(ctx, 'There is no address a phone could open.');
        ctx.type = 'image/svg+xml';
        ctx.body = await QRCode.toString(qr, { type: 'svg', margin: 2, errorCorrectionLevel: 'M' });
        return;
      }
    }

    const c = ca();
    if (c === null) {
      return notFound(
        ctx,
        deps.https
          ? 'This server uses its own certificate (TLS_CERT); there is no local CA to download.'
          : 'HTTPS is off on this server; there is no certificate to download.',
      );
    }
    switch (path) {
      case '/ca.crt':
        // A plain download on purpose: Chrome on Android hands application/x-x509-ca-cert to the system
        // installer, which refuses CA certificates since Android 11; a saved .crt file is what
        // Settings → Install a certificate → CA certificate picks up.
        ctx.type = 'application/x-pem-file';
        ctx.set('Content-Disposition', 'attachment; filename="moviemosaic-ca.crt"');
        ctx.body = c.pem;
        return;
      case '/ca.der':
        // Inline with this type, Firefox offers to trust the CA at once (it keeps its own trust store).
        ctx.type = 'application/x-x509-ca-cert';
        ctx.set('Content-Disposition', 'inline; filename="moviemosaic-ca.cer"');
        ctx.body = c.der;
        return;
      case '/ca.mobileconfig':
        // No Content-Disposition: Safari on iOS recognises the profile by its type and offers to install it.
        ctx.type = 'application/x-apple-aspen-config';
        ctx.body = caProfile({ der: c.der, caName: c.name, hostname: deps.hostname });
        return;
    }
  };
}

function notFound(ctx: Parameters<Middleware>[0], message: string): void {
  ctx.status = 404;
  ctx.type = 'text/plain; charset=utf-8';
  ctx.body = `${message}\n`;
}
