/** One GET through got, its body read to the end under a size cap: the only place a request goes on the wire. */
import type { Got } from 'got';
import type { IncomingHttpHeaders } from 'node:http';
import { abortReason, header, phraseFor, TransportError, type RawResponse } from './failure.js';
import type { Upstream } from './upstream.js';

const NETWORK_CODES = new Set([
  'ETIMEDOUT',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ENOTFOUND',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);

export interface OnceOptions {
  upstream: Upstream;
  accept: string;
  /** Extra headers (undefined removes a default one). */
  headers?: Record<string, string | undefined>;
  maxBytes: number;
  signal: AbortSignal;
}

function tooLarge(url: URL, maxBytes: number, declared: boolean): TransportError {
  return new TransportError('too-large', `${url.pathname} ${declared ? 'declares more than' : 'is over'} ${maxBytes} bytes`, {
    phrase: 'sent more than expected',
  });
}

/** Throws TransportError ('network' for what a retry may cure) or the abort reason. */
export async function getOnce(client: Got, url: URL, options: OnceOptions): Promise<RawResponse> {
  const stream = client.stream(url, {
    agent: options.upstream.agent,
    signal: options.signal,
    headers: { ...options.headers, accept: options.accept },
  });
  let status = 0;
  let headers: IncomingHttpHeaders = {};
  let declaredTooLarge = false;
  stream.once('response', (res: { statusCode: number; headers: IncomingHttpHeaders }) => {
    status = res.statusCode;
    headers = res.headers;
    const declared = Number(header(res.headers, 'content-length') ?? NaN);
    if (declared > options.maxBytes) {
      // got wraps whatever destroy() is given in its own error class: remember why instead.
      declaredTooLarge = true;
      stream.destroy();
    }
  });
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > options.maxBytes) throw tooLarge(url, options.maxBytes, false);
      chunks.push(chunk);
    }
  } catch (err) {
    stream.destroy();
    if (options.signal.aborted) throw abortReason(options.signal);
    if (err instanceof TransportError) throw err;
    if (declaredTooLarge) throw tooLarge(url, options.maxBytes, true);
    const code = (err as { code?: string }).code ?? '';
    const name = (err as { name?: string }).name ?? '';
    const network = NETWORK_CODES.has(code) || name === 'TimeoutError' || name === 'ReadError';
    // Only our own words and got's message text leave: never the got error object itself.
    const message = `${name || 'Error'} ${code} for ${url.pathname}: ${(err as Error).message}`;
    throw new TransportError(network ? 'network' : 'status', message, { phrase: phraseFor(name, code) });
  }
  // got removes its abort listener only on destroy, even after a complete response; the socket
  // has gone back to the keep-alive pool by now, so this frees the listener and nothing else.
  stream.destroy();
  if (declaredTooLarge) throw tooLarge(url, options.maxBytes, true);
  return { status, url, headers, body: Buffer.concat(chunks, size) };
}
