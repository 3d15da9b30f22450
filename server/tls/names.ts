/**
 * Which names go into the server certificate, and whether a certificate still covers them. The names
 * come from the host policy (server/hosts.ts: localhost, the machine's name and `.local` name, its LAN
 * addresses, ALLOWED_HOSTS), so the certificate and the DNS-rebinding guard agree.
 */
import { BlockList, isIP } from 'node:net';
import { hostOf } from '../hosts.js';
import type { CertNames, NameLimits } from './x509.js';

const LABEL = '[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?';
const DNS_NAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*$`);

/** An IP address in the one text form used everywhere here (IPv6 compressed, lower-case), or null. */
export function canonicalIp(value: string): string | null {
  const v = value
    .trim()
    .replace(/^\[|\]$/g, '')
    .replace(/%.*$/, '');
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

/**
 * What the built-in CA may sign for, whatever else it is asked: the names a home network uses
 * (`localhost`, `.local` mDNS names, `.lan`, `.home.arpa` (RFC 8375), `.internal`) and the loopback,
 * private (RFC 1918, IPv6 ULA) and link-local ranges.
 */
export const CA_DNS = ['localhost', 'local', 'lan', 'home.arpa', 'internal'];
export const CA_RANGES = [
  '127.0.0.0/8',
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '169.254.0.0/16',
  '::1/128',
  'fc00::/7',
  'fe80::/10',
];

/**
 * The CA's name constraints, fixed when it is made: the home-network names and ranges, plus the names
 * the server has then (the machine's name, ALLOWED_HOSTS; each covers the names under it) and any
 * address of them outside the ranges, alone. A name added later outside these needs a new CA.
 */
export function caLimits(names: CertNames): NameLimits {
  const dns = [...CA_DNS];
  for (const d of names.dns) if (!withinDns(d, dns)) dns.push(d);
  const ranges = blockOf(CA_RANGES);
  const ips = [...CA_RANGES];
  for (const ip of names.ips)
    if (!ranges.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4')) ips.push(ip.includes(':') ? `${ip}/128` : `${ip}/32`);
  return { dns, ips };
}

function withinDns(name: string, permitted: readonly string[]): boolean {
  return permitted.some((p) => name === p || name.endsWith(`.${p}`));
}

function blockOf(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const c of cidrs) {
    const [addr, bits] = c.split('/');
    const type = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    list.addSubnet(addr, Number(bits ?? (type === 'ipv6' ? 128 : 32)), type);
  }
  return list;
}

/** Splits `names` into those `limits` permit (all of them when there are no limits) and the rest. */
export function withinLimits(names: CertNames, limits: NameLimits | null): { inside: CertNames; outside: string[] } {
  if (!limits) return { inside: names, outside: [] };
  const ranges = blockOf(limits.ips);
  const okIp = (ip: string) => ranges.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4');
  return {
    inside: { dns: names.dns.filter((d) => withinDns(d, limits.dns)), ips: names.ips.filter(okIp) },
    outside: [...names.dns.filter((d) => !withinDns(d, limits.dns)), ...names.ips.filter((i) => !okIp(i))],
  };
}
