/**
 * Bring your own certificate: TLS_CERT (PEM, the chain after the leaf is fine) and TLS_KEY, reloaded
 * when a renewal tool (certbot, acme.sh, Caddy, `tailscale cert`) replaces them. Watching the folders
 * notices a change at once; a periodic stat catches what a watcher misses (network file systems, a
 * folder replaced whole). A pair that does not load keeps the previous one serving and logs an error.
 */
import { readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/log.js';
import { certCovers, listeners, type TlsSource } from './source.js';
import { readCert, type KeyCert } from './x509.js';

const DAY = 86_400_000;

export interface CertFilesOptions {
  certPath: string;
  keyPath: string;
  log: Logger;
  clock: Pick<Clock, 'now'>;
  /** The periodic stat. */
  pollMs?: number;
  /** Quiet time after a change before reading: tools write the certificate and the key one after the other. */
  debounceMs?: number;
}

/** Why a key and certificate cannot serve, or null when they can. */
function problemWith(pair: KeyCert): string | null {
  try {
    createSecureContext({ key: pair.key, cert: pair.cert }); // OpenSSL's own check, key mismatch included
    readCert(pair.cert);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** Loads TLS_CERT/TLS_KEY (throws when they do not load: the server cannot start without them). */
export function openCertFiles(opts: CertFilesOptions): TlsSource {
  const { certPath, keyPath, log, clock } = opts;
  const changed = listeners<KeyCert>();

  const signature = () =>
    [certPath, keyPath]
      .map((p) => {
        try {
          const s = statSync(p); // follows symlinks: certbot's live/ links point at new files
          return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
        } catch {
          return 'missing';
        }
      })
      .join('|');
  const read = (): KeyCert => ({ cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') });

  const warnIfEnding = (cert: string) => {
    const left = readCert(cert).notAfter.getTime() - clock.now();
    if (left <= 0) log.error('tls: TLS_CERT has expired; browsers will refuse it', { file: certPath });
    else if (left < 14 * DAY)
      log.warn('tls: TLS_CERT expires soon; is its renewal running?', { file: certPath, daysLeft: Math.floor(left / DAY) });
  };

  let seen = signature();
  let current: KeyCert;
  try {
    current = read();
  } catch (err) {
    throw new Error(`TLS_CERT/TLS_KEY could not be read: ${(err as Error).message}`);
  }
  const first = problemWith(current);
  if (first !== null) throw new Error(`TLS_CERT ${certPath} and TLS_KEY ${keyPath} do not make a usable pair: ${first}`);
  warnIfEnding(current.cert);

  const checkOnce = async (): Promise<boolean> => {
    const sig = signature();
    if (sig === seen) return false;
    // Remember what was tried, so a broken pair is reported once, not at every poll.
    seen = sig;
    let next: KeyCert;
    try {
      next = read();
    } catch (err) {
      log.error('tls: TLS_CERT/TLS_KEY could not be read; keeping the previous certificate', { error: (err as Error).message });
      return false;
    }
    if (next.cert === current.cert && next.key === current.key) return false;
    const problem = problemWith(next);
    if (problem !== null) {
      log.error('tls: the new TLS_CERT/TLS_KEY pair does not load; keeping the previous certificate', { error: problem });
      return false;
    }
    current = next;
    warnIfEnding(current.cert);
    log.info('tls: reloaded TLS_CERT/TLS_KEY', { notAfter: readCert(current.cert).notAfter.toISOString() });
    changed.emit(current);
    return true;
  };

  let poll: NodeJS.Timeout | null = null;
  let debounce: NodeJS.Timeout | null = null;
  let watchers: FSWatcher[] = [];
  const soon = () => {
    if (debounce) clearTimeout(debounce);
    debounce = setTimeout(() => void checkOnce(), opts.debounceMs ?? 300);
    debounce.unref();
  };

  return {
    kind: 'files',
    current: () => current,
    caCertPem: () => null,
    covers: (host) => certCovers(current.cert, host),
    onChange: changed.add,
    checkOnce,
    start() {
      if (poll) return;
      poll = setInterval(() => void checkOnce(), opts.pollMs ?? 30_000);
      poll.unref();
      // Any event in the folder schedules a check: the check itself is two stats, so no filtering.
      for (const dir of new Set([dirname(certPath), dirname(keyPath)])) {
        try {
          const w = watch(dir, { persistent: false }, soon);
          w.on('error', (err) => log.warn('tls: watching the certificate folder stopped; polling only', { dir, error: err.message }));
          watchers.push(w);
        } catch (err) {
          log.warn('tls: cannot watch the certificate folder; polling only', { dir, error: (err as Error).message });
        }
      }
    },
    stop() {
      if (poll) clearInterval(poll);
      if (debounce) clearTimeout(debounce);
      for (const w of watchers) w.close();
      poll = debounce = null;
      watchers = [];
    },
  };
}
