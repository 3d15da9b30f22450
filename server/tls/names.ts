/**
 * Which names go into the server certificate, and whether a certificate still covers them. The names
 * come from the host policy (server/hosts.ts: localhost, the machine's name and `.local` name, its LAN
 * addresses, ALLOWED_HOSTS), so the certificate and the DNS-rebinding guard agree.
 */
import { isIP } from 'node:net';
import { hostOf } from '../hosts.js';
import type { CertNames } from './x509.js';

const LABEL = '[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?';
const DNS_NAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*$`);

/** An IP address in the one text form used everywhere here (IPv6 compressed, lower-case), or null. */
export function canonicalIp(value: string): string | null {
  const v = value.trim().replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (isIP(v) === 4) return v;
  if (isIP(v) === 6) return new URL(`http://[${v}]/`).hostname.slice(1, -1);
  return null;
}

/**
 * The names for a server certificate: every DNS name and IPv4 address the host policy knows, plus
 * 127.0.0.1 and ::1, plus the `pinned` entries (ALLOWED_HOSTS) whatever they are. Other IPv6
 * addresses are left out on purpose: hosts usually carry temporary (privacy) IPv6 addresses that
 * rotate daily, which would re-issue the certificate every day for addresses nobody types; a phone
 * reaches the machine over IPv6 by its `.local` name, and an IPv6 address in ALLOWED_HOSTS is kept.
 */
export function certNames(known: readonly string[], pinned: readonly string[] = []): CertNames {
  const dns = new Set<string>(['localhost']);
  const ips = new Set<string>(['127.0.0.1', '::1']);
  const add = (entry: string, keepIpv6: boolean) => {
    const host = hostOf(entry) ?? entry.trim().toLowerCase().replace(/\.$/, '');
    const ip = canonicalIp(host);
    if (ip !== null) {
      if (ip.includes(':') && !keepIpv6) return;
      if (ip.startsWith('::ffff:')) return; // an IPv4-mapped form of an address already listed
      ips.add(ip);
    } else if (DNS_NAME.test(host)) {
      dns.add(host);
    }
  };
  for (const n of known) add(n, false);
  for (const n of pinned) add(n, true);
  return { dns: [...dns], ips: [...ips] };
}

/** The names of `wanted` that `have` lacks (empty: the certificate covers them all). */
export function missingNames(have: CertNames, wanted: CertNames): string[] {
  const dns = new Set(have.dns.map((d) => d.toLowerCase()));
  const ips = new Set(have.ips.map((i) => canonicalIp(i) ?? i));
  return [...wanted.dns.filter((d) => !dns.has(d)), ...wanted.ips.filter((i) => !ips.has(canonicalIp(i) ?? i))];
}
