/** The start-up lines a person reads in the terminal: where to open the app, and a QR code for the phone. */
import QRCode from 'qrcode';
import { appHosts, originFor, phoneHost } from './addresses.js';
import { readCert } from './x509.js';
import type { TlsSource } from './source.js';

export interface BannerOptions {
  /** Every name and address the server answers to (`hosts.names()`). */
  names: readonly string[];
  /** HOST. */
  bindHost: string;
  /** The plain-HTTP port actually listening. */
  httpPort: number;
  /** The HTTPS port actually listening and the certificate source; null when HTTPS is off. */
  https: { port: number; tls: Pick<TlsSource, 'caCertPem' | 'covers'> } | null;
  /** Draw the QR code (default true; pass `process.stdout.isTTY` to skip it in log files). */
  qr?: boolean;
}

/**
 * The banner: every address to open, then what a phone should do first. With the built-in CA the QR
 * code opens the setup page over plain HTTP (a phone must trust the CA before HTTPS works there) and
 * the CA's fingerprint is printed to compare with what the phone shows; otherwise it opens the app.
 */
export async function startupBanner(opts: BannerOptions): Promise<string> {
  const lines: string[] = [];
  let target: string | null;
  if (opts.https) {
    const hosts = appHosts({ names: opts.names, bindHost: opts.bindHost, covers: (h) => opts.https!.tls.covers(h) });
    lines.push('moviemosaic is running. Open it at:', ...hosts.map((h) => `  ${originFor('https', h, opts.https!.port)}/`));
    const phone = phoneHost(hosts);
    const ca = opts.https.tls.caCertPem();
    if (ca !== null) {
      const setupHost = phone ?? phoneHost(appHosts({ names: opts.names, bindHost: opts.bindHost }));
      target = setupHost ? `${originFor('http', setupHost, opts.httpPort)}/setup` : null;
      lines.push(
        target
          ? `On a phone, first trust this server's certificate: scan the code below or open ${target}`
          : `On each device, first trust this server's certificate: open ${originFor('http', 'localhost', opts.httpPort)}/setup`,
        `(the local CA's SHA-256 fingerprint, to compare with what the device shows: ${readCert(ca).fingerprint256})`,
      );
    } else {
      target = phone ? `${originFor('https', phone, opts.https.port)}/` : null;
      if (target) lines.push(`On a phone: scan the code below or open ${target}`);
    }
  } else {
    const hosts = appHosts({ names: opts.names, bindHost: opts.bindHost });
    lines.push('moviemosaic is running. Open it at:', ...hosts.map((h) => `  ${originFor('http', h, opts.httpPort)}/`));
    const phone = phoneHost(hosts);
    target = phone ? `${originFor('http', phone, opts.httpPort)}/` : null;
    lines.push(
      'Over plain HTTP a phone can use the site but cannot install it or use it offline:',
      'start with HTTPS=1 (npm start -- --https) for that, and open /setup on the phone.',
    );
  }
  if (target && opts.qr !== false) {
    lines.push((await QRCode.toString(target, { type: 'terminal', small: true })).trimEnd());
  }
  return lines.join('\n');
}
