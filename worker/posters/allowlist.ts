/**
 * Where posters may come from: LETTERBOXD_IMAGE_HOSTS, plus TMDB_IMAGE_URL's host while TMDB is
 * configured. HTTPS only (plain HTTP on loopback, for tests and the fake), no credentials in the URL,
 * and the port must match the entry (or be the scheme's default when the entry names none).
 */
export type ImageAllowlist = (url: string) => boolean;

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** `hosts`: `host` or `host:port` entries. */
export function createImageAllowlist(hosts: Iterable<string>): ImageAllowlist {
  const allowed = new Set([...hosts].map((h) => h.trim().toLowerCase()).filter(Boolean));
  return (raw) => {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      return false;
    }
    if (u.username || u.password) return false;
    if (u.protocol !== 'https:' && !(u.protocol === 'http:' && isLoopback(u.hostname))) return false;
    const defaultPort = u.protocol === 'https:' ? '443' : '80';
    const port = u.port || defaultPort;
    const host = u.hostname.toLowerCase();
    return allowed.has(`${host}:${port}`) || (port === defaultPort && allowed.has(host));
  };
}
