/**
 * Running behind a reverse proxy (TRUST_PROXY). Off by default: the client is the connection's peer
 * and the scheme and host are the connection's own. With a hop count or a list of proxy addresses,
 * the address, scheme and host come from `Forwarded` (RFC 7239) or `X-Forwarded-For/-Proto/-Host`,
 * but only as far as the proxies the owner named: a header a visitor forged is never believed,
 * because the walk stops at the first address that is not a trusted proxy.
 *
 * proxy-addr (Express's) compiles the address/CIDR list; the walk is ours because proxy-addr reads
 * only X-Forwarded-For, and a Caddy or nginx configured with `Forwarded` must work the same.
 */
import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';
import parseForwarded from 'forwarded-parse';

/** Whether the `i`th address from the server outwards (0: the connection's peer) is a proxy of ours. */
export type ProxyTrust = (address: string, i: number) => boolean;

/** What the server should believe about a request: who sent it, over which scheme, to which host. */
export interface Forwarded {
  address: string;
  /** `https` or `http`: what the visitor used (the connection's own when no trusted proxy says). */
  scheme: 'http' | 'https';
  /** The Host the visitor used (the request's own `Host` when no trusted proxy says). */
  host: string | undefined;
  /** Whether a trusted proxy said what the scheme was (else it is only the connection's own). */
  schemeForwarded: boolean;
}

/**
 * Parses TRUST_PROXY: empty, `off`, `false` or `0` → null (trust nobody); a whole number N → the N
 * nearest hops are proxies; otherwise a comma-separated list of addresses or CIDR ranges (and
 * proxy-addr's names `loopback`, `linklocal`, `uniquelocal`). Throws with a sentence on anything else.
 */
export function parseTrustProxy(raw: string | undefined): ProxyTrust | null {
  const value = (raw ?? '').trim().toLowerCase();
  if (value === '' || value === 'off' || value === 'false' || value === '0') return null;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops > 20) throw new Error(`TRUST_PROXY=${value}: a hop count is at most 20.`);
    return (_address, i) => i < hops;
  }
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  try {
    const trust = proxyaddr.compile(list);
    return (address) => trust(address, 0);
  } catch (err) {
    throw new Error(
      `TRUST_PROXY=${JSON.stringify(raw)}: ${err instanceof Error ? err.message : String(err)}; give a hop count or proxy addresses/CIDR ranges separated by commas.`,
    );
  }
}

/** The address of a `Forwarded` `for=` node: brackets, quotes and ports removed; `unknown`/obfuscated kept as is. */
function nodeAddress(node: string): string {
  const v = node.trim().replace(/^"|"$/g, '');
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(v);
  if (bracketed) return bracketed[1];
  const v4port = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(v);
  return v4port ? v4port[1] : v;
}

interface Hop {
  for?: string;
  proto?: string;
  host?: string;
}

/** The hops proxies recorded, nearest to the visitor first, from `Forwarded` if present, else X-Forwarded-*. */
function recordedHops(req: IncomingMessage): Hop[] {
  const header = req.headers.forwarded;
  if (header) {
    try {
      return parseForwarded(header).map((e) => ({ for: e.for && nodeAddress(e.for), proto: e.proto, host: e.host }));
    } catch {
      return []; // a malformed header says nothing we can rely on
    }
  }
  const list = (name: string) => {
    const v = req.headers[name];
    return (Array.isArray(v) ? v.join(',') : (v ?? ''))
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  };
  const fors = list('x-forwarded-for');
  // -Proto and -Host describe the hop the nearest proxy received: they belong to the last entry.
  const hops: Hop[] = fors.map((f) => ({ for: f }));
  const proto = list('x-forwarded-proto').at(-1);
  const host = list('x-forwarded-host').at(-1);
  if (proto || host) {
    if (hops.length === 0) hops.push({});
    Object.assign(hops[hops.length - 1], { proto, host });
  }
  return hops;
}

/**
 * What to believe about `req` under `trust`: walking from the connection's peer outwards, each
 * trusted proxy's record is taken (the client address it saw, and the scheme and host the visitor
 * used); the walk stops at the first address that is not a trusted proxy, which is the client.
 */
export function forwarded(req: IncomingMessage, trust: ProxyTrust | null): Forwarded {
  const peer = req.socket.remoteAddress ?? '';
  const own: Forwarded = {
    address: peer,
    scheme: (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
    host: req.headers.host,
    schemeForwarded: false,
  };
  if (!trust || !trust(peer, 0)) return own;
  const hops = recordedHops(req);
  const out = { ...own };
  let i = 0;
  // The nearest record first: hops[last] is what the peer (a trusted proxy) saw.
  for (let h = hops.length - 1; h >= 0; h--) {
    const hop = hops[h];
    const proto = hop.proto?.toLowerCase();
    if (proto === 'http' || proto === 'https') {
      out.scheme = proto;
      out.schemeForwarded = true;
    }
    if (hop.host) out.host = hop.host;
    if (!hop.for) break; // a proxy that does not say whom it served: stop at it
    out.address = hop.for;
    i++;
    if (!trust(hop.for, i)) break;
  }
  return out;
}
