/**
 * The fault suite's world and scenarios, shared by faults.serial.test.ts (the fast ones, in `npm test`)
 * and `npm run fuzz -- --faults` (the long ones: real timeouts, trickling bodies, 429 storms waited out).
 * Each scenario is one member of the fake Letterboxd whose feed, pages or posters misbehave in one way.
 */
import { gzipSync } from 'node:zlib';
import type { ServerResponse } from 'node:http';
import { startFakeLetterboxd, type Fault, type FakeFilm, type FakeLetterboxd } from '../fakeLetterboxd.js';
import { track } from '../server.js';
import { createResultStore } from '../../../db/sqlite/results.js';
import {
  createMosaic,
  fakeFilm,
  fakeMember,
  pngBomb,
  pngLiar,
  startCanary,
  startImageHost,
  startStack,
  startTamper,
  waitFor,
  type Canary,
  type Stack,
  type Tamper,
  type TamperRule,
} from './kit.js';

export interface Hosts {
  lb: FakeLetterboxd;
  pages: Tamper;
  images: { base: string; host: string };
  canary: Canary;
}

export interface Scenario {
  name: string;
  films?: number;
  params?: Record<string, unknown>;
  /** Per-film overrides (poster URL on another host, slug). */
  film?: (w: Hosts, user: string, j: number) => Partial<FakeFilm>;
  faults?: (user: string) => Fault[];
  rules?: (w: Hosts, user: string) => TamperRule[];
  expect: { status: 'COMPLETE' | 'ERROR'; codes?: string[]; note?: 'none' | 'some' };
  /** Delayed (429) runs are fast-forwarded. */
  fastForward?: boolean;
}

const rss = (u: string) => `/${u}/rss/`;
const posters = (u: string) => `-${u}-p`;

/** Answers with the upstream's status and headers but only half its body, then drops the connection. */
const truncated: TamperRule['respond'] = async (_req, res, upstream) => {
  const u = await upstream();
  res.writeHead(u.status, { ...u.headers, 'content-length': String(u.body.length) });
  res.write(u.body.subarray(0, Math.floor(u.body.length / 2)));
  setImmediate(() => res.socket?.destroy());
};
/** A complete 200 whose markup stops in the middle (well-formedness broken, nothing on the wire wrong). */
const cutMarkup: TamperRule['respond'] = async (_req, res, upstream) => {
  const u = await upstream();
  const body = u.body.subarray(0, Math.floor(u.body.length * 0.6));
  res.writeHead(200, { ...u.headers, 'content-length': String(body.length) });
  res.end(body);
};
const send =
  (status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): TamperRule['respond'] =>
  (_req, res) => {
    const buf = typeof body === 'string' ? Buffer.from(body) : body;
    res.writeHead(status, { 'content-type': type, 'content-length': String(buf.length), ...headers });
    res.end(buf);
  };

const LOL = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;"><!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;"><!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;"><!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;"><!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;"><!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>`;
const XXE = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd"><!ENTITY net SYSTEM "CANARY/xxe">]>`;
const EMPTY_FEED = `<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:letterboxd="https://letterboxd.com"><channel><title>Letterboxd - x</title></channel></rss>`;

/** The scenarios that finish in seconds (name = member: 2–15 of [a-z0-9_]). */
export const SCENARIOS: Scenario[] = [
  // ---- the feed
  { name: 'rss503x2', faults: (u) => [{ path: rss(u), kind: 'server-error', times: 2 }], expect: { status: 'COMPLETE', note: 'none' } },
  {
    name: 'rss503',
    faults: (u) => [{ path: rss(u), kind: 'server-error' }],
    expect: { status: 'ERROR', codes: ['LETTERBOXD_UNREACHABLE'] },
  },
  {
    name: 'rss500',
    faults: (u) => [{ path: rss(u), kind: 'server-error', status: 500 }],
    expect: { status: 'ERROR', codes: ['LETTERBOXD_UNREACHABLE'] },
  },
  { name: 'rssreset1', faults: (u) => [{ path: rss(u), kind: 'reset', times: 1 }], expect: { status: 'COMPLETE', note: 'none' } },
  { name: 'rssreset', faults: (u) => [{ path: rss(u), kind: 'reset' }], expect: { status: 'ERROR', codes: ['LETTERBOXD_UNREACHABLE'] } },
  {
    name: 'rsstrunc',
    rules: (_w, u) => [{ path: rss(u), respond: truncated }],
    expect: { status: 'ERROR', codes: ['LETTERBOXD_UNREACHABLE'] },
  },
  { name: 'rsstrunc1', rules: (_w, u) => [{ path: rss(u), respond: truncated, times: 1 }], expect: { status: 'COMPLETE', note: 'none' } },
  {
    name: 'rsschallenge',
    faults: (u) => [{ path: rss(u), kind: 'challenge' }],
    expect: { status: 'ERROR', codes: ['LETTERBOXD_BLOCKED'] },
  },
  { name: 'rss403', faults: (u) => [{ path: rss(u), kind: 'forbidden' }], expect: { status: 'ERROR', codes: ['LETTERBOXD_BLOCKED'] } },
  { name: 'rss404', faults: (u) => [{ path: rss(u), kind: 'not-found' }], expect: { status: 'ERROR', codes: ['USER_NOT_FOUND'] } },
  {
    name: 'rss429ra',
    faults: (u) => [{ path: rss(u), kind: 'rate-limit', retryAfter: 1, times: 2 }],
    expect: { status: 'COMPLETE', note: 'none' },
  },
  {
    name: 'rss429date',
    faults: (u) => [{ path: rss(u), kind: 'rate-limit', retryAfter: new Date(Date.now() - 5000).toUTCString(), times: 1 }],
    expect: { status: 'COMPLETE', note: 'none' },
  },
  {
    name: 'rss429storm',
    faults: (u) => [{ path: rss(u), kind: 'rate-limit' }],
    fastForward: true,
    expect: { status: 'ERROR', codes: ['LETTERBOXD_RATE_LIMITED'] },
  },
  {
    name: 'rss429long',
    faults: (u) => [{ path: rss(u), kind: 'rate-limit', retryAfter: 3600 }],
    expect: { status: 'ERROR', codes: ['LETTERBOXD_RATE_LIMITED'] },
  },
  {
    name: 'rss429years',
    faults: (u) => [{ path: rss(u), kind: 'rate-limit', retryAfter: 999_999_999 }],
    expect: { status: 'ERROR', codes: ['LETTERBOXD_RATE_LIMITED'] },
  },
  {
    name: 'rss429junk',
    faults: (u) => [{ path: rss(u), kind: 'rate-limit', retryAfter: '-1, soon', times: 1 }],
    expect: { status: 'COMPLETE', note: 'none' },
  },
  { name: 'rssslow', faults: (u) => [{ path: rss(u), kind: 'slow', delayMs: 1500 }], expect: { status: 'COMPLETE', note: 'none' } },
  { name: 'rsscorrupt', faults: (u) => [{ path: rss(u), kind: 'corrupt' }], expect: { status: 'ERROR', codes: ['LETTERBOXD_CHANGED'] } },
  { name: 'rsshtml', faults: (u) => [{ path: rss(u), kind: 'garbage' }], expect: { status: 'ERROR', codes: ['LETTERBOXD_CHANGED'] } },
  { name: 'rsscut', rules: (_w, u) => [{ path: rss(u), respond: cutMarkup }], expect: { status: 'COMPLETE' } },
  {
    name: 'rssbomb',
    rules: (_w, u) => [
      {
        path: rss(u),
        respond: send(
          200,
          'application/rss+xml',
          `${LOL}<rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title></item></channel></rss>`,
        ),
      },
    ],
    expect: { status: 'ERROR', codes: ['LETTERBOXD_CHANGED', 'NO_FILMS'] },
  },
  {
    name: 'rssxxe',
    rules: (w, u) => [
      {
        path: rss(u),
        respond: send(
          200,
          'application/rss+xml',
          `${XXE.replace('CANARY', w.canary.base)}<rss version="2.0"><channel><item><title>&xxe;&net;</title><letterboxd:filmTitle>&xxe;</letterboxd:filmTitle></item></channel></rss>`,
        ),
      },
    ],
    expect: { status: 'ERROR', codes: ['LETTERBOXD_CHANGED', 'NO_FILMS'] },
  },
  {
    name: 'rssempty',
    rules: (_w, u) => [{ path: rss(u), respond: send(200, 'application/rss+xml', EMPTY_FEED) }],
    expect: { status: 'ERROR', codes: ['NO_FILMS'] },
  },
  {
    name: 'rsshuge',
    rules: (_w, u) => [
      { path: rss(u), respond: send(200, 'application/rss+xml', `<?xml version="1.0"?><!--${'x'.repeat(6 * 1024 * 1024)}--><rss/>`) },
    ],
    expect: { status: 'ERROR', codes: ['LETTERBOXD_UNREACHABLE'] },
  },
  {
    name: 'rssgzipbomb',
    rules: (_w, u) => [
      {
        path: rss(u),
        respond: send(200, 'application/rss+xml', gzipSync(Buffer.alloc(64 * 1024 * 1024, 32), { level: 9 }), {
          'content-encoding': 'gzip',
        }),
      },
    ],
    expect: { status: 'ERROR', codes: ['LETTERBOXD_UNREACHABLE'] },
  },
  {
    name: 'rssbadgzip',
    rules: (_w, u) => [
      { path: rss(u), respond: send(200, 'application/rss+xml', 'this is not gzip at all', { 'content-encoding': 'gzip' }) },
    ],
    expect: { status: 'ERROR', codes: ['LETTERBOXD_UNREACHABLE', 'LETTERBOXD_CHANGED'] },
  },
  {
    name: 'rssbinary',
    rules: (_w, u) => [{ path: rss(u), respond: send(200, 'image/png', pngLiar(10, 10)) }],
    expect: { status: 'ERROR', codes: ['LETTERBOXD_CHANGED'] },
  },
  {
    name: 'rssout',
    rules: (w, u) => [{ path: rss(u), respond: send(302, 'text/plain', '', { location: `${w.canary.base}/${u}/rss/` }) }],
    expect: { status: 'ERROR', codes: ['LETTERBOXD_UNREACHABLE'] },
  },
  {
    name: 'rssloop',
    rules: (_w, u) => [{ path: rss(u), respond: send(302, 'text/plain', '', { location: `/${u}/rss/` }) }],
    expect: { status: 'ERROR', codes: ['LETTERBOXD_UNREACHABLE'] },
  },
  {
    name: 'rss304',
    rules: (_w, u) => [{ path: rss(u), respond: send(304, 'text/plain', '') }],
    expect: { status: 'ERROR', codes: ['LETTERBOXD_UNREACHABLE', 'LETTERBOXD_CHANGED'] },
  },
  {
    name: 'rss204',
    rules: (_w, u) => [{ path: rss(u), respond: send(204, 'text/plain', '') }],
    expect: { status: 'ERROR', codes: ['LETTERBOXD_UNREACHABLE', 'LETTERBOXD_CHANGED'] },
  },
  // ---- posters
  {
    name: 'imgcorrupt',
    faults: (u) => [{ path: posters(u), kind: 'corrupt', server: 'images' }],
    expect: { status: 'COMPLETE', note: 'some' },
  },
  {
    name: 'imgtrunc',
    faults: (u) => [{ path: posters(u), kind: 'truncate', server: 'images' }],
    expect: { status: 'COMPLETE', note: 'some' },
  },
  {
    name: 'img404',
    faults: (u) => [{ path: posters(u), kind: 'not-found', server: 'images' }],
    expect: { status: 'COMPLETE', note: 'some' },
  },
  {
    name: 'img503',
    faults: (u) => [{ path: posters(u), kind: 'server-error', server: 'images' }],
    expect: { status: 'COMPLETE', note: 'some' },
  },
  {
    name: 'imgreset',
    faults: (u) => [{ path: posters(u), kind: 'reset', server: 'images' }],
    expect: { status: 'COMPLETE', note: 'some' },
  },
  {
    name: 'imgslow',
    faults: (u) => [{ path: posters(u), kind: 'slow', delayMs: 1500, server: 'images' }],
    expect: { status: 'COMPLETE', note: 'none' },
  },
  {
    name: 'imgrefused',
    faults: (u) => [{ path: posters(u), kind: 'challenge', server: 'images' }],
    expect: { status: 'ERROR', codes: ['LETTERBOXD_BLOCKED'] },
  },
  {
    name: 'imgrefused1',
    faults: (u) => [{ path: `${posters(u)}1-`, kind: 'forbidden', server: 'images' }],
    expect: { status: 'COMPLETE', note: 'some' },
  },
  {
    name: 'imgredirect',
    faults: (u) => [{ path: posters(u), kind: 'redirect', server: 'images', location: 'CANARY' }],
    expect: { status: 'COMPLETE', note: 'some' },
  },
  {
    name: 'img429',
    faults: (u) => [{ path: posters(u), kind: 'rate-limit', retryAfter: 1, server: 'images' }],
    fastForward: true,
    expect: { status: 'ERROR', codes: ['LETTERBOXD_RATE_LIMITED'] },
  },
  {
    name: 'imgoffhost',
    film: (w) => ({ posterUrlOverride: `${w.canary.base}/poster-0-600-0-900-crop.jpg` }),
    expect: { status: 'COMPLETE', note: 'some' },
  },
  {
    name: 'imguserinfo',
    film: (w) => ({ posterUrlOverride: `http://${w.images.host}@${w.canary.host}/x-0-600-0-900-crop.jpg` }),
    expect: { status: 'COMPLETE', note: 'some' },
  },
  { name: 'imgfile', film: () => ({ posterUrlOverride: 'file:///etc/passwd' }), expect: { status: 'COMPLETE', note: 'some' } },
  {
    name: 'imgbomb',
    film: (w, _u, j) => ({ posterUrlOverride: `${w.images.base}/${j % 2 ? 'bomb' : 'liar'}.png` }),
    expect: { status: 'COMPLETE', note: 'some' },
  },
  { name: 'imghtml', film: (w) => ({ posterUrlOverride: `${w.images.base}/page.jpg` }), expect: { status: 'COMPLETE', note: 'some' } },
  {
    name: 'imghuge',
    film: (w, _u, j) => ({ posterUrlOverride: `${w.images.base}/${j % 2 ? 'huge' : 'stream'}.jpg` }),
    expect: { status: 'COMPLETE', note: 'some' },
  },
  { name: 'imggzip', film: (w) => ({ posterUrlOverride: `${w.images.base}/gzip.jpg` }), expect: { status: 'COMPLETE', note: 'some' } },
  { name: 'imgempty', film: (w) => ({ posterUrlOverride: `${w.images.base}/empty.jpg` }), expect: { status: 'COMPLETE', note: 'some' } },
  {
    name: 'imgsvg',
    film: (w, _u, j) => ({ posterUrlOverride: `${w.images.base}/${['file', 'net', 'lol'][j % 3]}.svg` }),
    expect: { status: 'COMPLETE' },
  },
  { name: 'imgout', film: (w) => ({ posterUrlOverride: `${w.images.base}/out.jpg` }), expect: { status: 'COMPLETE', note: 'some' } },
  // ---- a challenge or garbage in the middle of a multi-page run (mode all: never a partial "all")
  {
    name: 'allchallenge',
    films: 100,
    params: { mode: 'all' },
    faults: (u) => [{ path: `/${u}/films/page/2/`, kind: 'challenge' }],
    expect: { status: 'ERROR', codes: ['LETTERBOXD_BLOCKED'] },
  },
  {
    name: 'allgarbage',
    films: 100,
    params: { mode: 'all' },
    faults: (u) => [{ path: `/${u}/films/page/2/`, kind: 'garbage' }],
    expect: { status: 'ERROR', codes: ['LETTERBOXD_CHANGED'] },
  },
  {
    name: 'all503',
    films: 100,
    params: { mode: 'all' },
    faults: (u) => [{ path: `/${u}/films/page/2/`, kind: 'server-error' }],
    expect: { status: 'ERROR', codes: ['LETTERBOXD_UNREACHABLE'] },
  },
  {
    name: 'alllookups',
    films: 20,
    params: { mode: 'all' },
    film: (_w, u, j) => ({ slug: `${u}-s${j}` }),
    faults: (u) => [{ path: `/film/${u}-s`, kind: 'challenge' }],
    expect: { status: 'ERROR', codes: ['LETTERBOXD_BLOCKED'] },
  },
  { name: 'allok', films: 100, params: { mode: 'all', layout: 'grid' }, expect: { status: 'COMPLETE', note: 'none' } },
];

/** Titles crafted to break Pango markup, XML, SQL, format strings, or to reach files and hosts. */
export function hostileTitles(canary: string): string[] {
  return [
    '<span font_desc="Sans 400" foreground="red">BIG</span>',
    '</span></span><span size="9999999">',
    '&amp; &lt; &#0; &#x0; &#xD800; &bogus; &',
    '<b>bold</b><i>',
    '<img src="file:///etc/passwd">',
    '<image href="file:///etc/hostname" xlink:href="file:///etc/hostname"/>',
    'file:///etc/passwd',
    '../../../../etc/passwd',
    '/etc/shadow\u0000.jpg',
    `${canary}/title.png`,
    `<img src="${canary}/img.png">`,
    '\u202Eevil\u202C reversed',
    'Z\u0338\u0322\u031b\u0316\u0317\u0349\u032b\u0353a\u0337\u0353\u0317l\u0334g\u0335o',
    '🎬'.repeat(300),
    'x'.repeat(5000),
    '\u0001\u0002\u0007\u001b[31mred\u007f',
    '%s%s%n%x %d',
    '{{7*7}} ${process.exit(1)} #{1+1}',
    '"; DROP TABLE tasks; --',
    "' OR 1=1 --",
    '<![CDATA[ x ]]> ]]>',
    '\uFFFF\uFFFE\uFDD0 nonchars',
    '\uD800 lone surrogate',
    'אבג عربي mixed RTL',
    '\t\n\r tabs and lines',
    '__proto__',
    'constructor',
  ];
}

/**
 * Scenarios that take minutes, for `npm run fuzz -- --faults`: got's real timeouts (response 15 s,
 * request 45 s) and retries, and a 429 storm whose delays are waited out rather than fast-forwarded.
 */
export const LONG_SCENARIOS: Scenario[] = [
  {
    name: 'ltimeout1',
    faults: (u) => [{ path: rss(u), kind: 'slow', delayMs: 16_000, times: 1 }],
    expect: { status: 'COMPLETE', note: 'none' },
  },
  {
    name: 'ltimeout',
    faults: (u) => [{ path: rss(u), kind: 'slow', delayMs: 60_000 }],
    expect: { status: 'ERROR', codes: ['LETTERBOXD_UNREACHABLE'] },
  },
  {
    name: 'ltrickle',
    rules: (_w, u) => [{ path: rss(u), respond: trickle }],
    expect: { status: 'ERROR', codes: ['LETTERBOXD_UNREACHABLE'] },
  },
  {
    name: 'limgtimeout',
    faults: (u) => [{ path: posters(u), kind: 'slow', delayMs: 60_000, server: 'images' }],
    expect: { status: 'COMPLETE', note: 'some' },
  },
  {
    name: 'l429storm',
    faults: (u) => [{ path: rss(u), kind: 'rate-limit' }],
    expect: { status: 'ERROR', codes: ['LETTERBOXD_RATE_LIMITED'] },
  },
  { name: 'l503', faults: (u) => [{ path: rss(u), kind: 'server-error' }], expect: { status: 'ERROR', codes: ['LETTERBOXD_UNREACHABLE'] } },
];

/** Headers at once, then one byte every 2 s, forever: never idle long enough for a socket timeout. */
const trickle: TamperRule['respond'] = (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/rss+xml' });
  const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write(' ')), 2000);
  res.on('close', () => clearInterval(timer));
};

export interface World extends Hosts {
  stack: Stack;
}

const SVG_FILE = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="60" height="90"><image href="file:///etc/hostname" xlink:href="file:///etc/hostname" width="60" height="90"/></svg>`;

/** The fake Letterboxd with every scenario's member and faults, the proxy, hosts, canary and the processes. */
export async function startFaultWorld(scenarios: readonly Scenario[], options: { workers?: number } = {}): Promise<World> {
  const lb = await startFakeLetterboxd({ now: new Date(2026, 10, 15, 12) });
  track(() => lb.close());
  const canary = await startCanary();
  const pages = await startTamper(lb.url);
  const big = Buffer.alloc(3 * 1024 * 1024, 0xff);
  const bomb = pngBomb(30_000, 30_000, 1);
  const images = await startImageHost({
    '/bomb.png': (_q, r) => r.writeHead(200, { 'content-type': 'image/png' }).end(bomb),
    '/liar.png': (_q, r) => r.writeHead(200, { 'content-type': 'image/png' }).end(pngLiar(30_000, 30_000)),
    '/page.jpg': (_q, r) =>
      r.writeHead(200, { 'content-type': 'image/jpeg' }).end('<!DOCTYPE html><html><body>Just a moment...</body></html>'),
    '/huge.jpg': (_q, r) => r.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': String(big.length) }).end(big),
    '/stream.jpg': (_q, r: ServerResponse) => {
      r.writeHead(200, { 'content-type': 'image/jpeg' });
      let sent = 0;
      const more = () => {
        while (sent < 16 * 1024 * 1024 && !r.destroyed) {
          sent += 64 * 1024;
          if (!r.write(big.subarray(0, 64 * 1024))) return void r.once('drain', more);
        }
        r.end();
      };
      more();
    },
    '/gzip.jpg': (_q, r) =>
      r
        .writeHead(200, { 'content-type': 'image/jpeg', 'content-encoding': 'gzip' })
        .end(gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 })),
    '/empty.jpg': (_q, r) => r.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': '0' }).end(),
    '/file.svg': (_q, r) => r.writeHead(200, { 'content-type': 'image/svg+xml' }).end(SVG_FILE),
    '/net.svg': (_q, r) =>
      r.writeHead(200, { 'content-type': 'image/svg+xml' }).end(SVG_FILE.replaceAll('file:///etc/hostname', `${canary.base}/svg.png`)),
    '/lol.svg': (_q, r) =>
      r
        .writeHead(200, { 'content-type': 'image/svg+xml' })
        .end(`${LOL}<svg xmlns="http://www.w3.org/2000/svg" width="60" height="90"><text>&lol9;</text></svg>`),
    '/out.jpg': (_q, r) => r.writeHead(302, { location: `${canary.base}/out.jpg` }).end(),
  });
  const world: Hosts = { lb, pages, images, canary };

  const faults: Fault[] = [];
  for (const s of scenarios) {
    const films = Array.from({ length: s.films ?? 8 }, (_, j) =>
      fakeFilm(`${s.name} ${j + 1}`, 1990 + (j % 30), { posterName: `${s.name}-p${j}-x`, ...s.film?.(world, s.name, j) }),
    );
    lb.addMember(fakeMember(s.name, films, lb.now));
    for (const f of s.faults?.(s.name) ?? [])
      faults.push(f.location === 'CANARY' ? { ...f, location: `${canary.base}/redirected.jpg` } : f);
    pages.addRules(s.rules?.(world, s.name) ?? []);
  }
  lb.setFaults(faults);
  const stack = await startStack({
    letterboxdEnv: { LETTERBOXD_URL: pages.url, LETTERBOXD_IMAGE_HOSTS: `${lb.imageHost},${images.host}`, LETTERBOXD_SPACING_MS: '0' },
    workers: options.workers ?? 3,
    workerEnv: { WORKER_CONCURRENCY: '4', LEASE_MS: '5000' },
  });
  track(() => stack.close());
  return { ...world, stack };
}

export interface Outcome {
  scenario: Scenario;
  id: string;
  status: string;
  code: string | null;
  message: string | null;
  note: string | null;
  ms: number;
  attempts: number;
  delays: number;
  /** What is wrong with it, or null. */
  wrong: string | null;
}

/**
 * Creates one mosaic per scenario and waits for all to finish; `fastForward` moves a 429-delayed task's
 * run_at to now (as if its Retry-After had passed). Judges each outcome against the scenario.
 */
export async function runScenarios(
  world: World,
  scenarios: readonly Scenario[],
  options: { fastForward: boolean; timeoutMs: number },
): Promise<Outcome[]> {
  const { stack } = world;
  const ids = new Map<string, string>();
  for (const s of scenarios)
    ids.set(s.name, (await createMosaic(stack.port, { username: s.name, mode: 'recent', count: 50, ...s.params })).id);
  const ffUsers = options.fastForward ? scenarios.filter((s) => s.fastForward).map((s) => s.name) : [];
  const fastForward = stack.db.prepare(
    `UPDATE tasks SET run_at = ? WHERE status = 'QUEUED' AND delay_count > 0 AND run_at > ? AND username IN (${ffUsers.map(() => '?').join(',') || "''"})`,
  );
  const open = stack.db
    .prepare(`SELECT count(*) FROM tasks WHERE status IN ('QUEUED','RUNNING') AND id IN (${[...ids.values()].map(() => '?').join(',')})`)
    .pluck();
  await waitFor(
    () => {
      const now = Date.now();
      if (ffUsers.length) fastForward.run(now, now, ...ffUsers);
      return open.get(...ids.values()) === 0;
    },
    options.timeoutMs,
    'every fault scenario to finish',
    50,
  );

  const results = createResultStore(stack.db);
  const row = stack.db.prepare<
    [string],
    { status: string; error_code: string | null; error_msg: string | null; ms: number; attempt: number; delay_count: number }
  >(`SELECT status, error_code, error_msg, finished_at - created_at AS ms, attempt, delay_count FROM tasks WHERE id = ?`);
  return scenarios.map((s) => {
    const id = ids.get(s.name)!;
    const r = row.get(id)!;
    const note = r.status === 'COMPLETE' ? results.summary(id)!.note : null;
    let wrong: string | null = null;
    if (r.status !== s.expect.status || (r.error_code && !s.expect.codes?.includes(r.error_code))) {
      wrong = `expected ${s.expect.status} ${s.expect.codes?.join('/') ?? ''}, got ${r.status} ${r.error_code ?? ''}: ${r.error_msg}`;
    } else if (r.status === 'ERROR' && !/[.!?]$/.test(r.error_msg ?? '')) {
      wrong = `the message is not a sentence: ${r.error_msg}`;
    } else if (r.status === 'COMPLETE' && s.expect.note && (s.expect.note === 'none') !== (note === null)) {
      wrong = `expected ${s.expect.note === 'none' ? 'no note' : 'placeholder notes'}, note: ${note}`;
    }
    return {
      scenario: s,
      id,
      status: r.status,
      code: r.error_code,
      message: r.error_msg,
      note,
      ms: r.ms,
      attempts: r.attempt,
      delays: r.delay_count,
      wrong,
    };
  });
}
