/**
 * The one pure configuration loader (docs/architecture.md#configuration): environment in, a frozen typed object out, every
 * problem reported at once. Only the main.ts files call it with `process.env`.
 */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  port: number;
  https: boolean;
  httpsPort: number;
  host: string;
  dataDir: string;
  workers: number;
  workerConcurrency: number;
  letterboxdUrl: string;
  imageHosts: string[];
  spacingMs: number;
  /** LETTERBOXD_USER_AGENT; null: the worker's own honest default naming moviemosaic. */
  letterboxdUserAgent: string | null;
  allowedHosts: string[];
  rateLimitPerMin: number;
  /** Per-client caps (the server's clientKey: an address, IPv6 by its /64). */
  socketsPerClient: number;
  queuePerClient: number;
  queueMax: number;
  posterCacheMb: number;
  /** Bytes of finished mosaics and imported exports together, in MB (least recently viewed out first). */
  resultsMb: number;
  resultFreshSec: number;
  tileWidth: number;
  tmdbApiKey: string | null;
  tmdbUrl: string;
  tmdbImageUrl: string;
  tlsCert: string | null;
  tlsKey: string | null;
  logLevel: LogLevel;
  /** Task lease length (advanced; tests shorten it). Heartbeats run every sixth of it. */
  leaseMs: number;
  /** Hours between polls of a followed member's feed (jittered; fractions allowed); 0: no polls, no following. */
  feedPollHours: number;
  /** The most members whose diary archive is kept (least recently used dropped first). */
  followMax: number;
  /** TRUST_PROXY as given (checked here; server/forwarded.ts reads it): null trusts no forwarded header. */
  trustProxy: string | null;
  /** DATABASE_URL: null keeps the SQLite file in DATA_DIR; a postgres:// URL selects PostgreSQL (db/openStorage.ts). */
  databaseUrl: string | null;
}

/** The schemes DATABASE_URL accepts (node-postgres reads both). */
export const DATABASE_URL_RE = /^postgres(ql)?:\/\//i;

/**
 * TRUST_PROXY's shape: off, a hop count, or addresses/CIDR ranges (or proxy-addr's names loopback,
 * linklocal, uniquelocal). The server compiles it (server/forwarded.ts), which also rejects a bad range.
 */
const TRUST_PROXY_RE = /^[0-9a-z.:/,\s]+$/i;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env): Readonly<Config> {
  const problems: string[] = [];
  const str = (name: string, def: string) => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? def : v.trim();
  };
  const int = (name: string, def: number, min: number, max: number) => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name}=${JSON.stringify(raw)} must be a whole number from ${min} to ${max}.`);
      return def;
    }
    return n;
  };
  const num = (name: string, def: number, min: number, max: number) => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return def;
    const n = Number(raw);
    if (!/^\s*\d+(\.\d+)?\s*$/.test(raw) || n < min || n > max) {
      problems.push(`${name}=${JSON.stringify(raw)} must be a number from ${min} to ${max}.`);
      return def;
    }
    return n;
  };
  const bool = (name: string, def: boolean) => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return def;
    if (/^(1|true|yes|on)$/i.test(raw.trim())) return true;
    if (/^(0|false|no|off)$/i.test(raw.trim())) return false;
    problems.push(`${name}=${JSON.stringify(raw)} must be 1/0, true/false, yes/no or on/off.`);
    return def;
  };
  const url = (name: string, def: string) => {
    const v = str(name, def).replace(/\/+$/, '');
    try {
      const u = new URL(v);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
    } catch {
      problems.push(`${name}=${JSON.stringify(v)} must be an http(s) URL.`);
      return def;
    }
    return v;
  };
  const list = (name: string, def: string) =>
    str(name, def)
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean);

  const imageHosts = list('LETTERBOXD_IMAGE_HOSTS', 'a.ltrbxd.com,s.ltrbxd.com');
  for (const h of imageHosts) {
    if (!/^[a-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-f:]+\](:\d{1,5})?$/.test(h)) {
      problems.push(`LETTERBOXD_IMAGE_HOSTS entry ${JSON.stringify(h)} must be host or host:port.`);
    }
  }
  const logLevel = str('LOG_LEVEL', 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    problems.push(`LOG_LEVEL=${JSON.stringify(logLevel)} must be one of ${LOG_LEVELS.join(', ')}.`);
  }
  const userAgent = env.LETTERBOXD_USER_AGENT?.trim() || null;
  // A header value: visible ASCII and spaces only (a line break would be a header injection).
  if (userAgent !== null && !/^[\x20-\x7e]+$/.test(userAgent)) {
    problems.push('LETTERBOXD_USER_AGENT must be printable ASCII on one line.');
  }
  const tlsCert = env.TLS_CERT?.trim() || null;
  const tlsKey = env.TLS_KEY?.trim() || null;
  if ((tlsCert === null) !== (tlsKey === null)) problems.push('TLS_CERT and TLS_KEY must be set together.');

  const trustRaw = str('TRUST_PROXY', 'off');
  if (!TRUST_PROXY_RE.test(trustRaw)) {
    problems.push(
      `TRUST_PROXY=${JSON.stringify(trustRaw)} must be off, a hop count (1 for one proxy) or proxy addresses/CIDR ranges separated by commas.`,
    );
  }

  const databaseUrl = env.DATABASE_URL?.trim() || null;
  if (databaseUrl !== null) {
    let ok = DATABASE_URL_RE.test(databaseUrl);
    try {
      if (ok && !new URL(databaseUrl).hostname) ok = false;
    } catch {
      ok = false;
    }
    // The value itself is not echoed: it may hold a password.
    if (!ok)
      problems.push(
        'DATABASE_URL must be a PostgreSQL URL like postgres://user:password@host:5432/moviemosaic, or unset to keep the SQLite file in DATA_DIR.',
      );
  }

  const config: Config = {
    port: int('PORT', 8080, 0, 65535),
    https: bool('HTTPS', false),
    httpsPort: int('HTTPS_PORT', 8443, 0, 65535),
    host: str('HOST', '0.0.0.0'),
    dataDir: str('DATA_DIR', './data'),
    workers: int('WORKERS', 1, 0, 16),
    workerConcurrency: int('WORKER_CONCURRENCY', 2, 1, 16),
    letterboxdUrl: url('LETTERBOXD_URL', 'https://letterboxd.com'),
    imageHosts,
    spacingMs: int('LETTERBOXD_SPACING_MS', 1000, 0, 60_000),
    letterboxdUserAgent: userAgent !== null && /^[\x20-\x7e]+$/.test(userAgent) ? userAgent : null,
    allowedHosts: list('ALLOWED_HOSTS', ''),
    rateLimitPerMin: int('RATE_LIMIT_PER_MIN', 30, 1, 100_000),
    socketsPerClient: int('SOCKETS_PER_CLIENT', 20, 1, 5000),
    queuePerClient: int('QUEUE_PER_CLIENT', 5, 1, 10_000),
    queueMax: int('QUEUE_MAX', 200, 1, 1_000_000),
    posterCacheMb: int('POSTER_CACHE_MB', 500, 1, 1_000_000),
    resultsMb: int('RESULTS_MB', 1000, 1, 1_000_000),
    resultFreshSec: int('RESULT_FRESH_SEC', 600, 0, 31_536_000),
    tileWidth: int('TILE_WIDTH', 120, 40, 600),
    tmdbApiKey: env.TMDB_API_KEY?.trim() || null,
    tmdbUrl: url('TMDB_URL', 'https://api.themoviedb.org'),
    tmdbImageUrl: url('TMDB_IMAGE_URL', 'https://image.tmdb.org'),
    tlsCert,
    tlsKey,
    logLevel: logLevel as LogLevel,
    leaseMs: int('LEASE_MS', 30_000, 600, 3_600_000),
    feedPollHours: num('FEED_POLL_HOURS', 6, 0, 720),
    followMax: int('FOLLOW_MAX', 200, 1, 100_000),
    trustProxy: /^(off|false|0)$/i.test(trustRaw) ? null : trustRaw,
    databaseUrl,
  };
  if (problems.length) throw new ConfigError(problems);
  return Object.freeze(config);
}
