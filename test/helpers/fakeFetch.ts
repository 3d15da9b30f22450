/** A stand-in for `fetch` for the client's API tests: records every call and answers with `respond`. */

export interface FetchCall {
  url: string;
  method: string;
  /** The headers as the client passed them (a plain object: client/api.ts always sends some). */
  headers: Record<string, string>;
  /** The body as passed (a JSON string, a Blob), null when there is none. */
  body: BodyInit | null;
}

export function fakeFetch(respond: (c: FetchCall) => Response | Promise<Response>) {
  const calls: FetchCall[] = [];
  const fn = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const c: FetchCall = {
      url: input instanceof Request ? input.url : String(input),
      method: init?.method ?? 'GET',
      headers: (init?.headers ?? {}) as Record<string, string>,
      body: init?.body ?? null,
    };
    calls.push(c);
    return respond(c);
  }) as typeof fetch;
  return { fn, calls };
}

/** A JSON answer with `status`. */
export const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
