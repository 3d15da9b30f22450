/** The addresses to open the app at, the one to put in a QR code, and the socket origin for CSP. */
import { isIP } from 'node:net';
import { hostOf, isLoopback } from '../hosts.js';

export interface AddressOptions {
  /** Every name and address the server answers to (`hosts.names()`). */
  names: readonly string[];
  /** HOST: a wildcard (0.0.0.0, ::) means every interface, anything else only that address. */
  bindHost: string;
  /** Keep only hosts the certificate is valid for (`tls.covers`): a brought-in certificate names few. */
  covers?: (host: string) => boolean;
}

/**
 * The hosts a person can type, best first: localhost (this machine), `.local` names, other names
 * (the machine's name, ALLOWED_HOSTS), then LAN IPv4 addresses. IPv6 addresses are left out: nobody
 * types them, and the `.local` name reaches the machine over IPv6 anyway.
 */
export function appHosts(opts: AddressOptions): string[] {
  const bind = opts.bindHost.trim().toLowerCase();
  let hosts: string[];
  if (bind !== '' && bind !== '0.0.0.0' && bind !== '::') {
    hosts = [isLoopback(bind) ? 'localhost' : bind];
  } else {
    const all = [...new Set(opts.names.map((n) => hostOf(n) ?? n.toLowerCase()))];
    const names = all.filter((h) => isIP(h) === 0 && !isLoopback(h));
    hosts = [
      'localhost',
      ...names.filter((h) => h.endsWith('.local')),
      ...names.filter((h) => !h.endsWith('.local')),
      ...all.filter((h) => isIP(h) === 4 && !isLoopback(h)),
    ];
  }
  return opts.covers ? hosts.filter((h) => opts.covers!(h)) : hosts;
}

/** `scheme://host:port` with IPv6 in brackets and the scheme's default port left out. */
export function originFor(scheme: 'http' | 'https' | 'ws' | 'wss', host: string, port: number): string {
  const h = isIP(host) === 6 ? `[${host}]` : host;
  const defaultPort = scheme === 'https' || scheme === 'wss' ? 443 : 80;
  return `${scheme}://${h}${port === defaultPort ? '' : `:${port}`}`;
}

/**
 * The host a phone should use: the one this request came in on when it is not loopback and is one of
 * `hosts` (it demonstrably reaches the server), else the first LAN IPv4 address (phones resolve
 * `.local` unreliably), else the first `.local` or other name; null when only localhost is left.
 */
export function phoneHost(hosts: readonly string[], requestHost?: string | null): string | null {
  const req = requestHost ? hostOf(requestHost) : null;
  if (req && !isLoopback(req) && hosts.includes(req)) return req;
  return (
    hosts.find((h) => isIP(h) === 4 && !isLoopback(h)) ??
    hosts.find((h) => h.endsWith('.local')) ??
    hosts.find((h) => !isLoopback(h)) ??
    null
  );
}

/**
 * The `connect-src` sources for a page served under `hostHeader`: 'self' plus the exact socket origin
 * (`wss://host:port` on HTTPS, `ws://host:port` on plain HTTP). Safari before 15.4 does not let 'self'
 * match ws:/wss:, so the origin must be named, port included. A malformed Host yields 'self' alone.
 */
export function connectSources(hostHeader: string | undefined, secure: boolean): string[] {
  const host = hostOf(hostHeader);
  if (host === null) return ["'self'"];
  const port = /:(\d{1,5})$/.exec(hostHeader!.trim())?.[1];
  const origin = originFor(secure ? 'wss' : 'ws', host, port ? Number(port) : secure ? 443 : 80);
  return ["'self'", origin];
}
