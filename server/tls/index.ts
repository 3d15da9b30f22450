/**
 * HTTPS on the home network (docs/architecture.md#https): where the certificate comes from, how it is
 * kept current, the plain-HTTP redirect, the start-up banner and the CSP socket origin. server/main.ts
 * wires these.
 *
 * The tls/ folder owns certificates and addresses: its own local CA or the operator's files
 * (TLS_CERT_FILE/TLS_KEY_FILE), the names and addresses a certificate must cover, and the redirect
 * middleware. It may read and write only its files in the data directory (the CA and the certificates it
 * issues) and use common/ and ../hosts.ts; it knows nothing of tasks, the database or the routes.
 */
import { join, resolve } from 'node:path';
import type { ServerOptions } from 'node:https';
import type { Config } from '../../common/config.js';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/log.js';
import { openCertFiles } from './certFiles.js';
import { openOwnCa } from './ownCa.js';
import type { TlsSource } from './source.js';

export type { TlsSource } from './source.js';
export { keepSecureContext } from './source.js';
export { openOwnCa, OWN_CA_FILES, type OwnCaOptions } from './ownCa.js';
export { openCertFiles, type CertFilesOptions } from './certFiles.js';
export { httpsRedirect, servedOnPlainHttp } from './redirect.js';
export { startupBanner, type BannerOptions } from './banner.js';
export { appHosts, connectSources, originFor, phoneHost } from './addresses.js';
export { certNames } from './names.js';

export interface OpenTlsOptions {
  config: Pick<Config, 'dataDir' | 'tlsCert' | 'tlsKey' | 'allowedHosts'>;
  /** `os.hostname()`. */
  hostname: string;
  /** Every name and address the server answers to (`hosts.names()`). */
  names: () => readonly string[];
  clock: Pick<Clock, 'now'>;
  log: Logger;
}

/**
 * TLS_CERT + TLS_KEY when set, else the built-in CA under `DATA_DIR/tls`. Rejects when the material
 * cannot be made or loaded (the HTTPS server cannot start without it). Call `start()` on the result
 * to keep it current.
 */
export async function openTls(opts: OpenTlsOptions): Promise<TlsSource> {
  const { config, log, clock } = opts;
  if (config.tlsCert && config.tlsKey) {
    return openCertFiles({ certPath: resolve(config.tlsCert), keyPath: resolve(config.tlsKey), log, clock });
  }
  return openOwnCa({
    dir: join(resolve(config.dataDir), 'tls'),
    hostname: opts.hostname,
    names: opts.names,
    pinned: config.allowedHosts,
    clock,
    log,
  });
}

/**
 * Options for `https.createServer`: the source's current material. Node's defaults already mean TLS
 * 1.2 or newer, and `keepSecureContext` passes key and cert alone, so both contexts agree.
 */
export function httpsServerOptions(source: Pick<TlsSource, 'current'>): ServerOptions {
  const { key, cert } = source.current();
  return { key, cert };
}
