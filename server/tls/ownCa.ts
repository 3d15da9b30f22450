/**
 * The built-in certificates: on first start a small local CA, then a server certificate it signs for
 * every name the server answers to, renewed 30 days before it ends or as soon as a name or address
 * appears that it does not cover. Everything lives in `DATA_DIR/tls` (0700), keys 0600; the CA key is
 * read there to sign and never goes anywhere else.
 */
import { join } from 'node:path';
import { chmodSync } from 'node:fs';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/log.js';
import { caLimits, certNames, missingNames, withinLimits } from './names.js';
import { privateDir, readIfExists, writeAtomic, modeOf } from './files.js';
import { certCovers, listeners, type TlsSource } from './source.js';
import { createCaCert, issueServerCert, keyMatches, readCert, signedBy, type CertInfo, type KeyCert } from './x509.js';

const DAY = 86_400_000;

/** File names inside the TLS folder. */
export const OWN_CA_FILES = { caKey: 'ca.key', caCert: 'ca.crt', key: 'server.key', cert: 'server.crt' } as const;

export interface OwnCaOptions {
  /** The TLS folder, `DATA_DIR/tls`. */
  dir: string;
  /** The machine's name (`os.hostname()`), shown in the CA's name so a phone's list tells CAs apart. */
  hostname: string;
  /** Every name and address the server answers to now (`hosts.names()`). */
  names: () => readonly string[];
  /** ALLOWED_HOSTS: always in the certificate, IPv6 addresses included. */
  pinned?: readonly string[];
  clock: Pick<Clock, 'now'>;
  log: Logger;
  /** How often `start()` checks names and expiry. */
  checkEveryMs?: number;
  /** Renew this many days before the end (docs/architecture.md#https: 30). */
  renewBeforeDays?: number;
  /**
   * Server certificate lifetime. 397 days keeps under every limit a client may apply (Apple's 825
   * days for any TLS certificate, and the 398 days of publicly trusted ones); renewal is automatic.
   */
  serverDays?: number;
  /**
   * CA lifetime (default 2 years). A CA is replaced 30 days before its end, and one older than this
   * (an unconstrained 10-year CA from an earlier version) once it reaches this age: devices that
   * trusted it keep working until then, and must trust the new one after.
   */
  caDays?: number;
}

interface Loaded {
  pair: KeyCert;
  info: CertInfo;
}

/** Makes or loads the CA and the server certificate; the returned source renews them from then on. */
export async function openOwnCa(opts: OwnCaOptions): Promise<TlsSource> {
  const { dir, log, clock } = opts;
  const renewBeforeMs = (opts.renewBeforeDays ?? 30) * DAY;
  const serverDays = opts.serverDays ?? 397;
  const caDays = opts.caDays ?? 730;
  const path = (name: keyof typeof OWN_CA_FILES) => join(dir, OWN_CA_FILES[name]);
  const changed = listeners<KeyCert>();

  privateDir(dir);
  for (const key of [path('caKey'), path('key')]) {
    const mode = modeOf(key);
    if (mode !== null && mode !== 0o600) {
      chmodSync(key, 0o600);
      log.warn('tls: a private key was readable by others; made it 0600', { file: key, was: mode.toString(8) });
    }
  }

  const load = (keyPath: string, certPath: string): Loaded | null => {
    const key = readIfExists(keyPath);
    const cert = readIfExists(certPath);
    if (key === null || cert === null) return null;
    try {
      return keyMatches(cert, key) ? { pair: { key, cert }, info: readCert(cert) } : null;
    } catch {
      return null;
    }
  };

  let ca = load(path('caKey'), path('caCert'));
  let server = load(path('key'), path('cert'));

  /** Why the CA must be replaced, or null when it is fine. */
  const caProblem = (): string | null => {
    if (ca === null) return readIfExists(path('caCert')) === null ? 'none yet' : 'unreadable or not matching its key';
    if (!ca.info.isCa) return 'not a CA certificate';
    if (ca.info.notAfter.getTime() - clock.now() < renewBeforeMs) return 'about to expire';
    // notBefore is an hour before creation (clock skew): the age counts from creation.
    if (clock.now() - (ca.info.notBefore.getTime() + 3_600_000) >= caDays * DAY) return 'older than the CA lifetime';
    return null;
  };
  /** The names a constrained CA cannot sign for, last logged (so the warning is not repeated every minute). */
  let outsideLogged = '';

  /** Why the server certificate must be re-issued, or null when it is fine. */
  const serverProblem = (wanted: ReturnType<typeof certNames>): string | null => {
    if (server === null) return 'none yet';
    if (!signedBy(server.pair.cert, ca!.pair.cert)) return 'signed by another CA';
    if (server.info.notAfter.getTime() - clock.now() < renewBeforeMs) return 'about to expire';
    const missing = missingNames(server.info.names, wanted);
    if (missing.length) return `new names: ${missing.join(', ')}`;
    return null;
  };

  const ensure = async (): Promise<boolean> => {
    const caWhy = caProblem();
    if (caWhy !== null) {
      const now = new Date(clock.now());
      const pair = await createCaCert({
        commonName: `moviemosaic local CA (${opts.hostname})`,
        unit: `created ${now.toISOString().slice(0, 10)}`,
        now,
        days: caDays,
        permitted: caLimits(certNames(opts.names(), opts.pinned)),
      });
      writeAtomic(path('caKey'), pair.key, 0o600);
      writeAtomic(path('caCert'), pair.cert, 0o644);
      ca = { pair, info: readCert(pair.cert) };
      const level = caWhy === 'none yet' ? 'info' : 'warn';
      log[level]('tls: made a new local CA; devices must trust it (see /setup)', {
        reason: caWhy,
        fingerprint: ca.info.fingerprint256,
      });
    }
    // A constrained CA's signature on a name outside its constraints would make the whole certificate
    // invalid: such names are left out (and the owner told that they need a new CA).
    const { inside: wanted, outside } = withinLimits(certNames(opts.names(), opts.pinned), ca!.info.constraints);
    if (outside.length && outside.join() !== outsideLogged) {
      log.warn(
        'tls: names outside the local CA’s name constraints are not in the certificate; to use them, make a new CA (delete DATA_DIR/tls/ca.* and restart) and trust it again on each device',
        { names: outside },
      );
    }
    outsideLogged = outside.join();
    const why = serverProblem(wanted);
    if (why === null) return false;
    const pair = await issueServerCert({ ca: ca!.pair, names: wanted, now: new Date(clock.now()), days: serverDays });
    writeAtomic(path('key'), pair.key, 0o600);
    writeAtomic(path('cert'), pair.cert, 0o644);
    server = { pair, info: readCert(pair.cert) };
    log.info('tls: issued a server certificate', {
      reason: why,
      names: [...wanted.dns, ...wanted.ips],
      notAfter: server.info.notAfter.toISOString(),
    });
    return true;
  };

  await ensure();

  let running: Promise<boolean> | null = null;
  let timer: NodeJS.Timeout | null = null;
  const checkOnce = (): Promise<boolean> => {
    // One renewal at a time: a periodic check and a manual one share the same pass.
    running ??= ensure()
      .then((renewed) => {
        if (renewed) changed.emit(server!.pair);
        return renewed;
      })
      .catch((err: unknown) => {
        log.error('tls: renewing the certificate failed; keeping the current one', { error: String(err) });
        return false;
      })
      .finally(() => {
        running = null;
      });
    return running;
  };

  return {
    kind: 'own-ca',
    current: () => server!.pair,
    caCertPem: () => ca!.pair.cert,
    covers: (host) => certCovers(server!.pair.cert, host),
    onChange: changed.add,
    checkOnce,
    start() {
      if (timer) return;
      timer = setInterval(() => void checkOnce(), opts.checkEveryMs ?? 60_000);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}
