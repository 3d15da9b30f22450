// One WebSocket message as text: the live hub reads clients' JSON frames with it, and the tests and benchmarks the server's.
import type { RawData } from 'ws';

/**
 * ws hands a message over as one Buffer (its default binaryType, 'nodebuffer'), but its type also
 * allows what the other binaryTypes give (an ArrayBuffer, or the fragments as Buffer[]): each is
 * decoded as UTF-8 here, so no caller relies on a Buffer's toString through a cast.
 */
export function wsText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return (Buffer.isBuffer(data) ? data : Buffer.from(data)).toString('utf8');
}
