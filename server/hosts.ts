/**
 * The host names this server answers to (the DNS-rebinding guard): a page on evil.example whose name
 * was re-pointed at the Pi still sends `Host: evil.example`, so a request is served only when its Host
 * is one of ours: localhost, a loopback address, the machine's name (and `.local`), one of its LAN
 * addresses, or an `ALLOWED_HOSTS` entry. The HTTP guard and the WebSocket upgrade share this policy.
 */
import { isIP } from 'node:net';
import { mappedIPv4 } from './clientKey.js';

export interface HostPolicy {
  /** Whether a `Host` header (name or address, with or without a port) names this server. */
  allows(hostHeader: string | undefined): boolean;
  /** The names and addresses allowed right now, for messages and the start-up banner. */
  names(): string[];
}

export interface HostPolicyOptions {
  /** `ALLOWED_HOSTS` (names; a `:port` suffix is ignored). */
  extra: readonly string[];
  /** `os.hostname()`. */
  hostname: string;
  /** The machine's current interface addresses (`os.networkInterfaces()` flattened). */
  addresses: () => string[];
  /** How long a read of `addresses()` is trusted before an unknown host triggers a fresh read. */
  refreshMs?: number;
  now?: () => number;
}

/** The host part of a Host header, lower-case, without port, brackets or a trailing dot; null if malformed. */
export function hostOf(header: string | undefined): string | null {
  if (!header) return null;
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) {
    const m = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(h);
    return m && isIP(m[1]) === 6 ? m[1] : null;
  }
  const m = /^([a-z0-9_.-]+?)\.?(?::\d{1,5})?$/.exec(h);
  return m ? m[1] : null;
}

function stripPort(entry: string): string {
  return hostOf(entry) ?? entry.toLowerCase();
}

/**
 * localhost, *.localhost and loopback addresses (IPv4, ::1, IPv4-mapped 127.x in either spelling:
 * browsers turn `[::ffff:127.0.0.1]` into `[::ffff:7f00:1]`).
 */
export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || (mappedIPv4(host)?.startsWith('127.') ?? false);
  return false;
}

export function createHostPolicy(options: HostPolicyOptions): HostPolicy {
  const now = options.now ?? Date.now;
  const refreshMs = options.refreshMs ?? 5000;
  const hostname = options.hostname.toLowerCase();
  const fixed = new Set<string>([hostname, `${hostname.replace(/\.local$/, '')}.local`, ...options.extra.map(stripPort)]);
  let lan = new Set<string>();
  let readAt = -Infinity;
  const readAddresses = () => {
    // Addresses come and go (DHCP, Wi-Fi): re-read at most every refreshMs, and only on a miss.
    lan = new Set(options.addresses().map((a) => a.toLowerCase().replace(/%.*$/, '')));
    readAt = now();
  };
  // An IPv4-mapped IPv6 host (`[::ffff:c0a8:114]`) is the IPv4 address it maps.
  const known = (host: string) => {
    const v4 = isIP(host) === 6 ? mappedIPv4(host) : null;
    return isLoopback(host) || fixed.has(host) || lan.has(host) || (v4 !== null && lan.has(v4));
  };

  return {
    allows(header) {
      const host = hostOf(header);
      if (host === null) return false;
      if (known(host)) return true;
      if (now() - readAt < refreshMs) return false;
      readAddresses();
      return known(host);
    },
    names() {
      if (now() - readAt >= refreshMs) readAddresses();
      return ['localhost', ...fixed, ...lan];
    },
  };
}

/**
 * Whether an `Origin` header names the same origin as the `Host` the request came to, and, when
 * `scheme` is given (a trusted proxy said which the visitor used), the same scheme. Without a trusted
 * proxy the scheme is not compared: a TLS-ending front (`tailscale serve`) turns https into http.
 */
export function sameOrigin(origin: string | undefined, host: string | undefined, scheme?: 'http' | 'https'): boolean {
  if (!origin || !host) return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (scheme && url.protocol !== `${scheme}:`) return false;
  const port = url.protocol === 'https:' ? '443' : '80';
  return url.host === host.toLowerCase().replace(new RegExp(`:${port}$`), '');
}
