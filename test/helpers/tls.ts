/** Shared bits for the TLS tests: a log that keeps its lines, and a TLS handshake that reports the peer. */
import { connect } from 'node:tls';
import { createLogger, type Logger } from '../../common/log.js';

export function memoryLog(): { log: Logger; lines: () => { level: string; msg: string; [k: string]: unknown }[] } {
  const lines: string[] = [];
  return {
    log: createLogger('debug', {}, (l) => lines.push(l)),
    lines: () => lines.map((l) => JSON.parse(l)),
  };
}

/**
 * Opens a TLS connection to 127.0.0.1:port and reports what the server presented. With `ca`, the
 * chain is verified for `servername` the way a client would (OpenSSL checks names, usages, dates).
 */
export function handshake(
  port: number,
  opts: { ca?: string; servername?: string } = {},
): Promise<{ fingerprint256: string; authorized: boolean; error?: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      servername: opts.servername ?? 'localhost',
      ca: opts.ca,
      rejectUnauthorized: false,
    });
    socket.once('secureConnect', () => {
      const peer = socket.getPeerCertificate();
      const result = {
        fingerprint256: peer.fingerprint256,
        authorized: socket.authorized,
        error: socket.authorizationError ? String(socket.authorizationError) : undefined,
      };
      socket.end();
      resolve(result);
    });
    socket.once('error', reject);
  });
}
