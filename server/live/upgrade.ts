/**
 * The live socket's door: the HTTP server's `upgrade` requests. Path, Host and Origin are checked, and
 * the socket caps applied, before the WebSocket handshake; a refusal is a plain HTTP answer with a
 * sentence. What happens on an accepted socket is the hub's.
 */
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../../common/log.js';
import { sameOrigin, type HostPolicy } from '../hosts.js';
import { clientKey, requestFrom } from '../clientKey.js';
import type { SocketCaps } from './caps.js';

/** Answers an upgrade request with a plain HTTP error and closes the connection. */
export function rejectUpgrade(socket: Duplex, status: number, message: string): void {
  const body = `${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    () => socket.destroy(),
  );
}

export interface UpgradeDeps {
  wss: WebSocketServer;
  hosts: HostPolicy;
  caps: SocketCaps;
  log: Logger;
  /** True once the hub is closing: new sockets are refused (503). */
  closing: () => boolean;
  /** An accepted socket, counted in `caps` under `key`. */
  onConnection: (ws: WebSocket, key: string) => void;
}

export function createUpgradeHandler(deps: UpgradeDeps): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const { wss, hosts, caps, log } = deps;
  return (req, socket, head) => {
    const onSocketError = (err: Error) => log.debug('upgrade socket error', { error: err.message });
    socket.on('error', onSocketError);
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/ws') return rejectUpgrade(socket, 404, 'Not found');
    if (deps.closing()) return rejectUpgrade(socket, 503, 'The server is restarting; reconnect in a moment.');
    const seen = requestFrom(req);
    if (!hosts.allows(seen.host)) {
      return rejectUpgrade(socket, 403, 'This server does not answer to that host name; add it to ALLOWED_HOSTS if you use it.');
    }
    if (!sameOrigin(req.headers.origin, seen.host, seen.schemeForwarded ? seen.scheme : undefined)) {
      return rejectUpgrade(socket, 403, 'Only pages served by this server may open its live socket.');
    }
    const key = clientKey({ req });
    const refused = caps.refusal(key);
    if (refused) return rejectUpgrade(socket, refused.status, refused.message);
    // Counted from now: a handshake still under way holds its place, so a burst cannot overshoot.
    caps.take(key);
    socket.off('error', onSocketError);
    let connected = false;
    socket.once('close', () => {
      if (!connected) caps.release(key);
    });
    wss.handleUpgrade(req, socket, head, (ws) => {
      connected = true;
      deps.onConnection(ws, key);
    });
  };
}
