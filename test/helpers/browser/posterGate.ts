/**
 * A gate in front of the fake Letterboxd's poster CDN: a tiny HTTP server on 127.0.0.1 that forwards
 * poster requests to the fake CDN, or holds them until the test lets them through. Routed members'
 * feeds and films pages name the gate as their poster host (FakeFilm.posterUrlOverride), so a test
 * decides exactly how far the real worker's downloads get: progress is driven by the test, not by
 * timing. Add `host` to LETTERBOXD_IMAGE_HOSTS.
 */
import { createServer, get, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FakeFilm, FakeLetterboxd } from '../fakeLetterboxd.js';

export interface PosterGate {
  /** `127.0.0.1:PORT`, for LETTERBOXD_IMAGE_HOSTS. */
  host: string;
  /** From now on these members' poster URLs (feed, films pages, film pages) point at the gate. */
  route(usernames: string[]): void;
  /** Holds every poster request from now on, until released. */
  hold(): void;
  /** Lets `n` more requests through, held ones first; without `n`, all of them, and stops holding. */
  release(n?: number): void;
  /** Resolves once at least `n` requests are being held (the worker is waiting on them). */
  held(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startPosterGate(lb: FakeLetterboxd): Promise<PosterGate> {
  let allowance = Number.POSITIVE_INFINITY;
  const queue: (() => void)[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];

  const notify = () => {
    for (const w of [...waiters]) {
      if (queue.length >= w.n) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };

  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const upstream = get(`${lb.imageBase}${req.url ?? '/'}`, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.once('error', () => res.destroy());
    // The worker gave up (a cancel): stop the upstream request too.
    res.once('close', () => upstream.destroy());
  };

  const drain = () => {
    while (queue.length > 0 && allowance > 0) {
      allowance--;
      queue.shift()!();
    }
  };

  const server = createServer((req, res) => {
    if (allowance > 0) {
      allowance--;
      return forward(req, res);
    }
    const go = () => forward(req, res);
    queue.push(go);
    // A held request whose client went away (the worker cancelled) no longer counts.
    res.once('close', () => {
      const i = queue.indexOf(go);
      if (i >= 0) queue.splice(i, 1);
    });
    notify();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;

  const routeFilm = (film: FakeFilm) => {
    film.posterUrlOverride = undefined;
    const url = lb.posterUrl(film);
    if (url) film.posterUrlOverride = url.replace(lb.imageBase, `http://${host}`);
  };

  return {
    host,
    route(usernames) {
      for (const name of usernames) {
        const member = lb.members.get(name);
        if (!member) throw new Error(`the fake Letterboxd has no member ${name}`);
        for (const v of member.diary) routeFilm(v.film);
        for (const e of member.films) routeFilm(e.film);
      }
    },
    hold() {
      allowance = 0;
    },
    release(n) {
      allowance = n === undefined ? Number.POSITIVE_INFINITY : allowance + n;
      drain();
    },
    held(n, timeoutMs = 15_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`the poster gate holds ${queue.length} requests, not ${n}, after ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = {
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        waiters.push(waiter);
        notify();
      });
    },
    async close() {
      allowance = Number.POSITIVE_INFINITY;
      queue.length = 0;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
