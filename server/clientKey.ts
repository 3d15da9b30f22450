/**
 * Who a request comes from, for every per-client limit (the rate limiters, the queue caps, the upload
 * slots, the live socket cap). One function, so that the trusted-proxy setting changes only this
 * file. The key is the connection's own address, or behind a trusted proxy (TRUST_PROXY, marked on
 * each request by `trustProxies`) the address that proxy says it served (server/forwarded.ts); forwarded
 * headers from anyone else are never believed. An IPv4 address as it is, an IPv4-mapped IPv6 address as its IPv4 form, and any other IPv6 address by its
 * /64 prefix, because one home network (or one guest) holds a whole /64 and can pick a fresh address
 * in it for every request.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { forwarded, type Forwarded, type ProxyTrust } from './forwarded.js';

/** The proxies each request may be forwarded by; a request never marked trusts no header. */
const trusted = new WeakMap<IncomingMessage, ProxyTrust>();

/** Marks `req` as arriving where `trust` names the proxies (server.ts, on every request and upgrade). */
export function trustProxies(req: IncomingMessage, trust: ProxyTrust | null | undefined): void {
  if (trust) trusted.set(req, trust);
}

/** Who sent `req`, over which scheme, to which host: the connection's own unless a trusted proxy says. */
export function requestFrom(req: IncomingMessage): Forwarded {
  return forwarded(req, trusted.get(req) ?? null);
}

/** The eight 16-bit groups of an IPv6 address (zone stripped, `::` and a dotted IPv4 tail expanded); null if malformed. */
export function ipv6Groups(address: string): number[] | null {
  const ip = address.replace(/%.*$/, '').toLowerCase();
  if (isIP(ip) !== 6) return null;
  let text = ip;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number);
    text = text.slice(0, dotted.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, null];
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const left = parse(head);
  const right = tail === null ? [] : parse(tail);
  const groups = tail === null ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  return groups.length === 8 ? groups : null;
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`, `::ffff:7f00:1`), else null. */
export function mappedIPv4(address: string): string | null {
  const g = ipv6Groups(address);
  if (!g || g.slice(0, 5).some((x) => x !== 0) || g[5] !== 0xffff) return null;
  return [g[6] >> 8, g[6] & 0xff, g[7] >> 8, g[7] & 0xff].join('.');
}

/** The key one address is counted under: IPv4 as is, mapped IPv6 as IPv4, other IPv6 by its /64. */
export function addressKey(address: string): string {
  if (isIP(address) === 4) return address;
  const mapped = mappedIPv4(address);
  if (mapped) return mapped;
  const g = ipv6Groups(address);
  if (!g) return address; // not an address at all (a closed socket has none): a key of its own
  return `${g
    .slice(0, 4)
    .map((x) => x.toString(16))
    .join(':')}::/64`;
}

/** The client a request (a Koa context, or `{ req }` for a socket upgrade) is counted as. */
export function clientKey(ctx: { req: IncomingMessage }): string {
  return addressKey(requestFrom(ctx.req).address);
}
