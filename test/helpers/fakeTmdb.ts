/**
 * A fake TMDB for tests and the demo (docs/letterboxd.md#tmdb): two node:http servers on 127.0.0.1 —
 * `url` plays api.themoviedb.org (search movie/tv, movie/{id}, tv/{id}; v3 `api_key` or v4 Bearer
 * auth, 401 for a bad key, 429 injectable) and `imageUrl` plays image.tmdb.org (JPEGs generated at
 * the poster sizes TMDB serves, 404 for any other size). Its catalogue is made from fakeLetterboxd's
 * films, plus decoys: the same title in another year (more popular) and a longer title in the same year.
 *
 *   const tmdb = await startFakeTmdb({ films: [...lb.members.values()].flatMap(filmsOf) });
 *   TMDB_API_KEY=tmdb.apiKey  TMDB_URL=tmdb.url  TMDB_IMAGE_URL=tmdb.imageUrl
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import type { FakeFilm, FakeMember } from './fakeLetterboxd.js';

export interface FakeTmdbTitle {
  kind: 'movie' | 'tv';
  id: number;
  title: string;
  originalTitle: string;
  /** release_date / first_air_date: "YYYY-MM-DD" or "". */
  date: string;
  posterPath: string | null;
  popularity: number;
  color: [number, number, number];
}

export type TmdbFaultKind = 'rate-limit' | 'server-error' | 'reset';

export interface TmdbFault {
  /** Substring of the path (query included), or a RegExp tested on it. */
  path: string | RegExp;
  kind: TmdbFaultKind;
  server?: 'api' | 'images';
  times?: number;
  /** Retry-After for 'rate-limit' (seconds). */
  retryAfter?: number;
  status?: number;
}

export interface FakeTmdbRequest {
  server: 'api' | 'images';
  path: string;
  headers: IncomingHttpHeaders;
  status: number;
}

export interface FakeTmdbOptions {
  /** Films to put in the catalogue (with their `tmdb` ids); default none. */
  films?: FakeFilm[];
  extra?: FakeTmdbTitle[];
  /** The v3 key accepted as `api_key`. */
  apiKey?: string;
  /** The v4 read access token accepted as `Authorization: Bearer`. */
  token?: string;
  faults?: TmdbFault[];
}

export interface FakeTmdb {
  /** TMDB_URL */
  url: string;
  /** TMDB_IMAGE_URL */
  imageUrl: string;
  /** host:port of the image server. */
  imageHost: string;
  apiKey: string;
  token: string;
  env: { TMDB_API_KEY: string; TMDB_URL: string; TMDB_IMAGE_URL: string };
  titles: FakeTmdbTitle[];
  requests: FakeTmdbRequest[];
  /** The catalogue entry for a fake film (by its tmdb id). */
  titleOf(film: FakeFilm): FakeTmdbTitle | undefined;
  setFaults(faults: TmdbFault[]): void;
  reset(): void;
  count(path: string | RegExp, server?: 'api' | 'images'): number;
  close(): Promise<void>;
}

export const POSTER_SIZES: Record<string, number> = { w92: 92, w154: 154, w185: 185, w342: 342, w500: 500, w780: 780, original: 600 };
const DEFAULT_KEY = '0123456789abcdef0123456789abcdef';
const DEFAULT_TOKEN =
  'eyJhbGciOiJIUzI1NiJ9.eyJhdWQiOiJtb3ZpZW1vc2FpYy10ZXN0Iiwic2NvcGVzIjpbImFwaV9yZWFkIl19.c2lnbmF0dXJlLW9mLWEtZmFrZS10b2tlbg';

/** Every film of the members (diary, films pages, lists), once. */
export function filmsOf(members: Iterable<FakeMember>): FakeFilm[] {
  const out = new Map<number, FakeFilm>();
  for (const m of members) {
    for (const v of m.diary) out.set(v.film.id, v.film);
    for (const e of m.films) out.set(e.film.id, e.film);
    for (const l of m.lists) for (const f of l.films) out.set(f.id, f);
  }
  return [...out.values()];
}

/** TMDB's fuzzy search, simply: every word of the query appears in the title. */
function words(s: string): string[] {
  return s
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/['’]/g, '')
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

function inverted(c: [number, number, number]): [number, number, number] {
  return [255 - c[0], 255 - c[1], 255 - c[2]];
}

/** The catalogue: each film, a more popular namesake 30 years earlier (when it has a year), a longer title in the same year. */
export function catalogue(films: readonly FakeFilm[]): FakeTmdbTitle[] {
  const out: FakeTmdbTitle[] = [];
  for (const f of films) {
    if (!f.tmdb) continue;
    const date = f.year === null ? '' : `${f.year}-05-10`;
    const popularity = 10 + (f.id % 50);
    out.push({
      kind: f.tmdb.kind,
      id: f.tmdb.id,
      title: f.title,
      originalTitle: f.title,
      date,
      posterPath: f.posterName ? `/tm${f.tmdb.id}${f.cacheKey.slice(0, 6)}.jpg` : null,
      popularity,
      color: inverted(f.color),
    });
    // A film without year has nothing to tell it from a namesake by: no namesake for it.
    if (f.year !== null) {
      out.push({
        kind: f.tmdb.kind,
        id: f.tmdb.id + 5_000_000,
        title: f.title,
        originalTitle: f.title,
        date: `${f.year - 30}-01-01`,
        posterPath: `/old${f.tmdb.id}.jpg`,
        popularity: popularity + 1000,
        color: [90, 90, 90],
      });
    }
    out.push({
      kind: f.tmdb.kind,
      id: f.tmdb.id + 6_000_000,
      title: `The Making of ${f.title}`,
      originalTitle: `The Making of ${f.title}`,
      date,
      posterPath: `/making${f.tmdb.id}.jpg`,
      popularity: popularity + 500,
      color: [120, 120, 120],
    });
  }
  return out;
}

export async function startFakeTmdb(options: FakeTmdbOptions = {}): Promise<FakeTmdb> {
  const apiKey = options.apiKey ?? DEFAULT_KEY;
  const token = options.token ?? DEFAULT_TOKEN;
  const titles = [...catalogue(options.films ?? []), ...(options.extra ?? [])];
  const byPoster = new Map(titles.filter((t) => t.posterPath).map((t) => [t.posterPath!, t]));
  const requests: FakeTmdbRequest[] = [];
  let faults: (TmdbFault & { hits: number })[] = (options.faults ?? []).map((f) => ({ ...f, hits: 0 }));
  const images = new Map<string, Promise<Buffer>>();

  type Answer = { status: number; body: unknown; headers?: Record<string, string> };
  const json = (status: number, body: unknown, headers?: Record<string, string>): Answer => ({ status, body, headers });
  const notFound = () => json(404, { status_code: 34, status_message: 'The resource you requested could not be found.', success: false });

  function authorised(url: URL, headers: IncomingHttpHeaders): boolean {
    if (url.searchParams.get('api_key') === apiKey) return true;
    return headers.authorization === `Bearer ${token}`;
  }

  function summary(t: FakeTmdbTitle) {
    return t.kind === 'movie'
      ? {
          id: t.id,
          title: t.title,
          original_title: t.originalTitle,
          release_date: t.date,
          poster_path: t.posterPath,
          popularity: t.popularity,
          adult: false,
          overview: '',
        }
      : {
          id: t.id,
          name: t.title,
          original_name: t.originalTitle,
          first_air_date: t.date,
          poster_path: t.posterPath,
          popularity: t.popularity,
          overview: '',
        };
  }

  function routeApi(url: URL, headers: IncomingHttpHeaders): Answer {
    if (!authorised(url, headers)) {
      return json(401, { status_code: 7, status_message: 'Invalid API key: You must be granted a valid key.', success: false });
    }
    let m: RegExpExecArray | null;
    if ((m = /^\/3\/search\/(movie|tv)$/.exec(url.pathname))) {
      const kind = m[1] as 'movie' | 'tv';
      const query = words(url.searchParams.get('query') ?? '');
      const year = url.searchParams.get(kind === 'movie' ? 'year' : 'first_air_date_year');
      if (query.length === 0) return json(200, { page: 1, results: [], total_pages: 1, total_results: 0 });
      const results = titles
        .filter((t) => t.kind === kind)
        .filter((t) => {
          const w = new Set(words(t.title));
          return query.every((q) => w.has(q));
        })
        .filter((t) => !year || t.date.startsWith(`${year}-`))
        // Ranked by "relevance" (here: popularity), not by year.
        .sort((a, b) => b.popularity - a.popularity || a.id - b.id)
        .slice(0, 20);
      return json(200, { page: 1, results: results.map(summary), total_pages: 1, total_results: results.length });
    }
    if ((m = /^\/3\/(movie|tv)\/(\d+)$/.exec(url.pathname))) {
      const t = titles.find((x) => x.kind === m![1] && x.id === Number(m![2]));
      return t ? json(200, summary(t)) : notFound();
    }
    return notFound();
  }

  async function routeImage(path: string): Promise<{ status: number; type: string; body: Buffer }> {
    const m = /^\/t\/p\/([a-z0-9]+)(\/[^/?]+\.jpg)$/.exec(path.split('?')[0]);
    const size = m ? POSTER_SIZES[m[1]] : undefined;
    const t = m ? byPoster.get(m[2]) : undefined;
    if (!m || size === undefined || !t) return { status: 404, type: 'text/plain', body: Buffer.from('Not Found') };
    const key = `${m[2]}@${m[1]}`;
    let p = images.get(key);
    if (!p) {
      const [r, g, b] = t.color;
      p = sharp({ create: { width: size, height: Math.round(size * 1.5), channels: 3, background: { r, g, b } } })
        .jpeg({ quality: 80 })
        .toBuffer();
      images.set(key, p);
    }
    return { status: 200, type: 'image/jpeg', body: await p };
  }

  function matchFault(server: 'api' | 'images', path: string) {
    for (const f of faults) {
      if (f.server && f.server !== server) continue;
      if (f.times !== undefined && f.hits >= f.times) continue;
      if (typeof f.path === 'string' ? !path.includes(f.path) : !f.path.test(path)) continue;
      f.hits++;
      return f;
    }
    return null;
  }

  function handler(server: 'api' | 'images') {
    return (req: IncomingMessage, res: ServerResponse) => {
      const path = req.url ?? '/';
      const entry: FakeTmdbRequest = { server, path, headers: req.headers, status: 0 };
      requests.push(entry);
      const send = (status: number, type: string, body: Buffer, headers: Record<string, string> = {}) => {
        entry.status = status;
        res.writeHead(status, { 'content-type': type, 'content-length': String(body.length), ...headers });
        res.end(body);
      };
      void (async () => {
        const fault = matchFault(server, path);
        if (fault?.kind === 'reset') {
          res.socket?.destroy();
          return;
        }
        if (fault?.kind === 'rate-limit') {
          const body = { status_code: 25, status_message: 'Your request count (41) is over the allowed limit of (40).', success: false };
          return send(
            429,
            'application/json;charset=utf-8',
            Buffer.from(JSON.stringify(body)),
            fault.retryAfter === undefined ? {} : { 'retry-after': String(fault.retryAfter) },
          );
        }
        if (fault?.kind === 'server-error') return send(fault.status ?? 503, 'text/html', Buffer.from('<h1>Service Unavailable</h1>'));
        if (server === 'images') {
          const a = await routeImage(path);
          return send(a.status, a.type, a.body);
        }
        const a = routeApi(new URL(path, 'http://tmdb.invalid'), req.headers);
        send(a.status, 'application/json;charset=utf-8', Buffer.from(JSON.stringify(a.body)), a.headers);
      })().catch((err) => {
        if (!res.headersSent) send(500, 'text/plain', Buffer.from(String(err)));
        else res.destroy();
      });
    };
  }

  const listen = (s: Server) =>
    new Promise<number>((resolve, reject) => {
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port));
    });
  const api = createServer(handler('api'));
  const img = createServer(handler('images'));
  const [apiPort, imgPort] = await Promise.all([listen(api), listen(img)]);
  const url = `http://127.0.0.1:${apiPort}`;
  const imageUrl = `http://127.0.0.1:${imgPort}`;
  const matches = (r: FakeTmdbRequest, p: string | RegExp) => (typeof p === 'string' ? r.path.includes(p) : p.test(r.path));

  return {
    url,
    imageUrl,
    imageHost: `127.0.0.1:${imgPort}`,
    apiKey,
    token,
    env: { TMDB_API_KEY: apiKey, TMDB_URL: url, TMDB_IMAGE_URL: imageUrl },
    titles,
    requests,
    titleOf: (film) => (film.tmdb ? titles.find((t) => t.kind === film.tmdb!.kind && t.id === film.tmdb!.id) : undefined),
    setFaults(list) {
      faults = list.map((f) => ({ ...f, hits: 0 }));
    },
    reset() {
      faults = [];
      requests.length = 0;
    },
    count: (p, server) => requests.filter((r) => (!server || r.server === server) && matches(r, p)).length,
    async close() {
      await Promise.all(
        [api, img].map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      );
    },
  };
}
