/** What the HTTPS server reads its key and certificate from, whichever way they are made. */
import { X509Certificate } from 'node:crypto';
import type { Server as TlsServer } from 'node:tls';
import { canonicalIp } from './names.js';
import type { KeyCert } from './x509.js';

export interface TlsSource {
  /** `own-ca`: made and renewed here; `files`: TLS_CERT/TLS_KEY, reloaded when they change. */
  readonly kind: 'own-ca' | 'files';
  /** The key and certificate to serve now (PEM). */
  current(): KeyCert;
  /** The local CA certificate (PEM) devices should trust, or null when the certificate is brought in. */
  caCertPem(): string | null;
  /** Whether the current certificate is valid for this host name or IP address (wildcards included). */
  covers(host: string): boolean;
  /** Calls `listener` with each new key and certificate; returns the unsubscribe function. */
  onChange(listener: (material: KeyCert) => void): () => void;
  /** One pass: renew or reload if needed. Resolves true when the served material changed. */
  checkOnce(): Promise<boolean>;
  /** Periodic checks (and file watching) until `stop()`. Timers are unref'd. */
  start(): void;
  stop(): void;
}

/** A tiny listener list shared by both sources. */
export function listeners<T>(): { add(fn: (v: T) => void): () => void; emit(v: T): void } {
  const set = new Set<(v: T) => void>();
  return {
    add(fn) {
      set.add(fn);
      return () => set.delete(fn);
    },
    emit(v) {
      for (const fn of set) fn(v);
    },
  };
}

/** Whether the PEM certificate `cert` is valid for `host` (a DNS name or an IP address). */
export function certCovers(cert: string, host: string): boolean {
  const c = new X509Certificate(cert);
  const ip = canonicalIp(host);
  return ip !== null ? c.checkIP(ip) !== undefined : c.checkHost(host.toLowerCase()) !== undefined;
}

/**
 * Keeps a TLS (or HTTPS) server on the source's current material: each change replaces its secure
 * context; connections already open keep the old one until they close. Returns the unsubscribe function.
 */
export function keepSecureContext(server: Pick<TlsServer, 'setSecureContext'>, source: Pick<TlsSource, 'onChange'>): () => void {
  return source.onChange((m) => server.setSecureContext({ key: m.key, cert: m.cert }));
}
