/**
 * A fake Letterboxd for tests, benches and the demo (docs/letterboxd.md#the-fake-letterboxd): two plain
 * node:http servers on 127.0.0.1 — `url` plays letterboxd.com (feed, films pages, diary, film pages,
 * poster lookups) and `imageHost` plays the CDN (posters generated at any size on request) — serving
 * invented members, with faults injectable per path.
 *
 *   const lb = await startFakeLetterboxd({ now });   // `now` dates the built-in members: always given
 *   LETTERBOXD_URL=lb.url  LETTERBOXD_IMAGE_HOSTS=lb.imageHost  LETTERBOXD_SPACING_MS=0
 */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import type { Film, MosaicParams } from '../../common/task.js';

// ---------------------------------------------------------------------------------------------
// The invented world

export interface FakeFilm {
  /** Letterboxd's film id: its digits make the CDN path. */
  id: number;
  slug: string;
  title: string;
  year: number | null;
  /** The `{name}` part of the CDN file (not always the slug); null: the film has no poster. */
  posterName: string | null;
  /** The poster's colour (each film its own). */
  color: [number, number, number];
  tmdb: { kind: 'movie' | 'tv'; id: number } | null;
  /** The CDN's `?v=` cache-busting key. */
  cacheKey: string;
  /** A poster URL given out instead of the fake CDN's (feed, film page, lookup JSON): e.g. another host. */
  posterUrlOverride?: string;
}

export interface FakeViewing {
  film: FakeFilm;
  viewingId: number;
  /** YYYY-MM-DD, local time. */
  watchedDate: string;
  /** 0.5–5 in halves, or null. */
  rating: number | null;
  rewatch: boolean;
  liked: boolean;
  review: string | null;
  /** When it was logged: the feed lists newest published first. */
  publishedAt: Date;
}

export interface FakeListPost {
  id: number;
  title: string;
  slug: string;
  publishedAt: Date;
  films: FakeFilm[];
}

export interface FakeMember {
  username: string;
  displayName: string;
  diary: FakeViewing[];
  /** The films pages, in their own order, with the member's current rating. */
  films: { film: FakeFilm; rating: number | null; liked: boolean }[];
  lists: FakeListPost[];
}

export type Markup = '2026' | 'legacy';

/**
 * How CDN posters look: `flat` (default) is each film's own colour with a gentle gradient and grain, so
 * tests can tell tiles apart by colour; `natural` has shapes at every scale like a photograph, and
 * weighs what real posters weigh (about 40 KB at 600×900), for benchmarks that count bytes.
 */
export type PosterStyle = 'flat' | 'natural';

// ---------------------------------------------------------------------------------------------
// Faults

export type FaultKind =
  | 'challenge' // 403 + cf-mitigated: challenge + "Just a moment..."
  | 'forbidden' // plain 403
  | 'rate-limit' // 429, Cloudflare's rate-limit page, Retry-After when `retryAfter` is set
  | 'server-error' // `status` (default 503)
  | 'slow' // the response starts after `delayMs` (default 5000)
  | 'truncate' // declares the whole body, sends half, drops the connection
  | 'reset' // drops the connection without answering
  | 'corrupt' // images: a JPEG cut after its header (the header still reads); pages: garbage bytes
  | 'garbage' // pages: 200 with markup no parser knows, but links to films
  | 'redirect' // `status` (default 302) to `location` (default: the same path on the other server)
  | 'outage' // Letterboxd's maintenance page (fixtures/letterboxd/outage.html), `status` (default 200)
  | 'not-found'; // the 404 page

export interface Fault {
  /** Substring of the path (with query), or a RegExp tested on it. */
  path: string | RegExp;
  kind: FaultKind;
  /** Which server it applies to (default both). */
  server?: 'pages' | 'images';
  /** Apply to this many matching requests, then stop (default: all). */
  times?: number;
  retryAfter?: number | string;
  status?: number;
  delayMs?: number;
  location?: string;
}

export interface FakeRequest {
  server: 'pages' | 'images';
  method: string;
  path: string;
  /** 0 until answered, and when the connection ended before an answer. */
  status: number;
  /** Arrival time (performance.now()). */
  at: number;
  headers: IncomingHttpHeaders;
}

export interface FakeOptions {
  /**
   * "Now" for the built-in members' dates. Always explicit: a test that builds mosaics in-process passes
   * a fixed date; one whose server, worker or browser decides "this month" from its own clock passes
   * that same clock's reading, so the two agree (and `npm run test:dates` moves every clock at once).
   */
  now: Date;
  /** Members to serve instead of `defaultMembers(now)`. */
  members?: FakeMember[];
  markup?: Markup;
  /** Added before every response, both servers. */
  latencyMs?: number;
  faults?: Fault[];
  posterStyle?: PosterStyle;
  /** Gzip pages and the feed for clients that accept it, as letterboxd.com does (default off). */
  gzip?: boolean;
}

export interface FakeLetterboxd {
  /** The "now" the members were dated from. */
  now: Date;
  /** Base URL of the pages server (LETTERBOXD_URL). */
  url: string;
  /** `127.0.0.1:PORT` of the CDN server (LETTERBOXD_IMAGE_HOSTS). */
  imageHost: string;
  /** `http://127.0.0.1:PORT` of the CDN server. */
  imageBase: string;
  /** The environment that points the app at this fake. */
  env: { LETTERBOXD_URL: string; LETTERBOXD_IMAGE_HOSTS: string; LETTERBOXD_SPACING_MS: string };
  /** Every request, in order of arrival; `status` is filled in when it is answered. */
  requests: FakeRequest[];
  /** The most requests either server had in flight at once since the last reset. */
  readonly inFlightMax: { pages: number; images: number };
  members: Map<string, FakeMember>;
  setFaults(faults: Fault[]): void;
  setMarkup(markup: Markup): void;
  setLatency(ms: number): void;
  /**
   * The base URLs the fake writes into what it serves (feed links, poster URLs), when clients reach it
   * through something in between (a shaped link); `url`, `imageBase` and `env` follow.
   */
  advertise(bases: { pages: string; images: string }): void;
  /** Clears faults, the request log and the in-flight maxima; restores markup and latency. */
  reset(): void;
  addMember(member: FakeMember): void;
  /** The CDN URL of a film's poster at W×H (null: no poster). */
  posterUrl(film: FakeFilm, width?: number, height?: number): string | null;
  /** How many logged requests match `path` (substring or RegExp). */
  count(path: string | RegExp, server?: 'pages' | 'images'): number;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Built-in members

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

function localDay(d: Date): string {
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
}

/** A stable colour per film id, far enough apart for tests to tell tiles apart. */
function colorFor(id: number): [number, number, number] {
  const h = (id * 137.508) % 360;
  const s = 0.65;
  const l = 0.5;
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l - s * Math.min(l, 1 - l) * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

/** Films and viewings are exported so tests can change a member's diary between reads (members are live objects). */
let nextFilmId = 700_001;

export function film(
  title: string,
  year: number | null,
  opts: { slug?: string; posterName?: string | null; tv?: number; movie?: number } = {},
): FakeFilm {
  const id = nextFilmId++;
  const base =
    title
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/[łøđßæœ]/g, (c) => ({ ł: 'l', ø: 'o', đ: 'd', ß: 'ss', æ: 'ae', œ: 'oe' })[c] ?? c)
      .replace(/\./g, '') // "." is no word break in Letterboxd's slugs (et-the-extra-terrestrial)
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || `film-${id}`;
  const slug = opts.slug ?? (year === null ? base : `${base}-${year}`);
  return {
    id,
    slug,
    title,
    year,
    posterName: opts.posterName === undefined ? slug : opts.posterName,
    color: colorFor(id),
    tmdb: opts.tv ? { kind: 'tv', id: opts.tv } : { kind: 'movie', id: opts.movie ?? 100_000 + id },
    cacheKey: ((id * 2654435761) >>> 0).toString(16).padStart(8, '0'),
  };
}

/** The day `daysBack` days before `now`, at `hour`:17 local time. */
function dayAt(now: Date, daysBack: number, hour = 20): Date {
  return new Date(now.getFullYear(), now.getMonth(), now.getDate() - daysBack, hour, 17, 0);
}

/** A day in the month `monthsBack` before now's, spread by `fraction` (0–1) over the days that exist so far. */
function dayInMonth(now: Date, monthsBack: number, fraction: number, hour = 20): Date {
  const first = new Date(now.getFullYear(), now.getMonth() - monthsBack, 1);
  const lastDay = monthsBack === 0 ? now.getDate() : new Date(first.getFullYear(), first.getMonth() + 1, 0).getDate();
  const day = 1 + Math.floor(fraction * (lastDay - 1));
  return new Date(first.getFullYear(), first.getMonth(), day, hour, 17, 0);
}

let nextViewingId = 1_150_000_001;

/** Logged an hour after watching (`settleLogTimes` then keeps it out of the future). */
export function viewing(f: FakeFilm, watched: Date, extra: Partial<Omit<FakeViewing, 'film' | 'watchedDate'>> = {}): FakeViewing {
  const logged = new Date(watched.getTime() + 3_600_000);
  return {
    film: f,
    viewingId: nextViewingId++,
    watchedDate: localDay(watched),
    rating: null,
    rewatch: false,
    liked: false,
    review: null,
    publishedAt: logged,
    ...extra,
  };
}

/**
 * Makes a diary's log times hold at any `now`: none in the future or in the last minute, and no two in
 * the same second, in the order the natural times give (the later watched logged later; a tie keeps the
 * diary's own order, newest first). Near the start of a day (or of a month) the viewings of today would
 * be logged after now: they are logged a second apart just before it, so their same-day order stays the
 * one `sortDiary` and the feed show, whatever the date.
 */
function settleLogTimes(diary: FakeViewing[], now: Date): void {
  const order = diary.map((v, i) => ({ v, i })).sort((a, b) => b.v.publishedAt.getTime() - a.v.publishedAt.getTime() || a.i - b.i);
  let ceiling = now.getTime() - 60_000;
  for (const { v } of order) {
    const at = Math.min(v.publishedAt.getTime(), ceiling);
    v.publishedAt = new Date(at);
    ceiling = at - 1000;
  }
}

/** Films pages of a member: each distinct film of the diary (latest first), then `extra`. */
function filmsFromDiary(diary: FakeViewing[], extra: { film: FakeFilm; rating: number | null }[] = []): FakeMember['films'] {
  const seen = new Set<string>();
  const out: FakeMember['films'] = [];
  for (const v of sortDiary(diary)) {
    if (seen.has(v.film.slug)) continue;
    seen.add(v.film.slug);
    out.push({ film: v.film, rating: v.rating, liked: v.liked });
  }
  for (const e of extra) if (!seen.has(e.film.slug)) out.push({ ...e, liked: false });
  return out;
}

/** Newest watched first; the later logged first within a day. */
export function sortDiary(diary: readonly FakeViewing[]): FakeViewing[] {
  return [...diary].sort((a, b) =>
    a.watchedDate === b.watchedDate ? b.publishedAt.getTime() - a.publishedAt.getTime() : a.watchedDate < b.watchedDate ? 1 : -1,
  );
}

/**
 * The built-in members, dated relative to `now` so "this month" always has films (on the 1st, all of
 * them on that day, logged in order just before `now`):
 * - `dave`: 35 diary entries (12 this month, the rest over the three months before), ratings and
 *   unrated ones, a rewatch, a TV entry, a list in the feed, titles with `&`, quotes, `<`, accents and
 *   emoji, a film without year, a film without poster, a poster whose CDN name is not its slug.
 *   The feed holds all of his diary (35 entries < 50), then the list.
 * - `erin`: a busy diarist, 130 entries every other day: the feed reaches back only ~100 days, so
 *   older months and years come from the diary pages (up to 3 pages a year).
 * - `bigfan`: 1,000 films on the films pages (14 pages), 5 diary entries.
 * - `marathon`: 30 films this month and 20 the month before, all in the feed (benches, demo).
 * - `nobody`: a member with no films at all.
 */
export function defaultMembers(now: Date): FakeMember[] {
  nextFilmId = 700_001;
  nextViewingId = 1_150_000_001;
  const F = {
    flow: film('Flow', 2024, { movie: 823219 }),
    deadpool: film('Deadpool & Wolverine', 2024, { movie: 533535 }),
    amelie: film('Le Fabuleux Destin d’Amélie Poulain', 2001, { slug: 'amelie', movie: 194 }),
    quotes: film('Say "Cheese" & Run', 2023),
    brackets: film('Zoë <Untitled> & Co.', 2022),
    emoji: film('🎃 Pumpkin Party 🎉', 2021),
    noYear: film('Untitled Home Movie', null),
    noPoster: film('Lost Reel', 2019, { posterName: null }),
    prophet: film("Prophet's Prey", 2015, { slug: 'prophets-prey', posterName: 'prophet-s-prey' }),
    tv: film('Adolescence', 2025, { slug: 'adolescence', tv: 249042 }),
    birdman: film('Birdman or (The Unexpected Virtue of Ignorance)', 2014),
    dune: film('Dune', 2021),
    duneTwo: film('Dune: Part Two', 2024),
    creme: film('Crème Brûlée à la Française', 2020),
    lodz: film('Łódź Nights', 2018),
    kiki: film("Kiki's Delivery Service", 1989, { slug: 'kikis-delivery-service' }),
    spoiler: film('The Twist (Ending)', 2016),
  };
  const extraTitles = [
    'Perfect Days',
    'Past Lives',
    'Anatomy of a Fall',
    'The Zone of Interest',
    'Aftersun',
    'Tár',
    'Decision to Leave',
    'Drive My Car',
    'The Worst Person in the World',
    'Petite Maman',
    'Nomadland',
    'Minari',
    'Parasite',
    'Portrait of a Lady on Fire',
    'Burning',
    'Shoplifters',
    'Roma',
    'Cold War',
  ];
  const extras = extraTitles.map((t, i) => film(t, 2014 + (i % 10)));

  // dave: 12 this month, then 8, 8, 7 in the three months before.
  const dave: FakeViewing[] = [];
  const thisMonth: [FakeFilm, number | null, Partial<FakeViewing>?][] = [
    [F.flow, 4.5, { rewatch: true, liked: true, review: 'Even better the second time & the cat is a star.' }],
    [F.deadpool, 3],
    [F.amelie, 5, { liked: true }],
    [F.quotes, 2.5],
    [F.brackets, null],
    [F.emoji, 3.5],
    [F.noYear, null],
    [F.noPoster, 2],
    [F.prophet, 3],
    [F.tv, 4, { review: 'One take per episode.' }],
    [F.birdman, 4],
    [F.spoiler, 3.5, { review: 'The ending (spoilers!) changes everything.' }],
  ];
  thisMonth.forEach(([f, rating, extra], i) => {
    dave.push(viewing(f, dayInMonth(now, 0, (thisMonth.length - 1 - i) / thisMonth.length, 21 - (i % 3)), { rating, ...extra }));
  });
  const earlier: FakeFilm[] = [F.flow, F.dune, F.duneTwo, F.creme, F.lodz, F.kiki, ...extras.slice(0, 17)];
  earlier.forEach((f, i) => {
    const monthsBack = 1 + Math.floor(i / 8);
    const fraction = 1 - ((i % 8) + 1) / 9;
    const rating = i % 5 === 4 ? null : 1 + ((i * 3) % 9) / 2;
    dave.push(viewing(f, dayInMonth(now, monthsBack, fraction), { rating, liked: i % 4 === 0 }));
  });
  const daveMember: FakeMember = {
    username: 'dave',
    displayName: 'Dave & Friends',
    diary: dave,
    films: filmsFromDiary(dave, [{ film: extras[17], rating: 4 }]),
    lists: [
      {
        id: 41_001,
        title: 'Best of "the year" & more',
        slug: 'best-of-the-year',
        publishedAt: dayAt(now, 0, 0),
        films: [F.flow, F.amelie],
      },
    ],
  };
  // The list is the latest thing he published (the feed still lists it after the diary), never in the future.
  daveMember.lists[0].publishedAt = new Date(Math.min(now.getTime() - 30_000, daveMember.lists[0].publishedAt.getTime() + 3_600_000 * 23));

  // erin: 130 entries, one every other day, logged the next morning.
  const erin: FakeViewing[] = [];
  for (let i = 0; i < 130; i++) {
    const f = film(`Erin's Pick No. ${i + 1}`, 1950 + (i % 75));
    const watched = dayAt(now, 2 * i, 21);
    const v = viewing(f, watched, { rating: i % 7 === 6 ? null : 0.5 + (i % 10) / 2, liked: i % 9 === 0 });
    v.publishedAt = new Date(watched.getTime() + 12 * 3_600_000);
    erin.push(v);
  }
  const erinMember: FakeMember = { username: 'erin', displayName: 'Erin', diary: erin, films: filmsFromDiary(erin), lists: [] };

  // bigfan: 1,000 films on the films pages; every 97th without poster, every 50th with a CDN name
  // that is not its slug.
  const bigFilms: FakeMember['films'] = [];
  for (let i = 0; i < 1000; i++) {
    const n = String(i + 1).padStart(4, '0');
    const title = `Feature No. ${n}`;
    const slug = `feature-no-${n}`;
    const posterName = i % 97 === 96 ? null : i % 50 === 49 ? `feature-${n}` : slug;
    bigFilms.push({
      film: film(title, 1960 + (i % 66), { slug, posterName }),
      rating: i % 10 === 9 ? null : 0.5 + (i % 10) / 2,
      liked: i % 13 === 0,
    });
  }
  const bigDiary = bigFilms.slice(0, 5).map((e, i) => viewing(e.film, dayAt(now, 3 * i + 1), { rating: e.rating }));
  const bigMember: FakeMember = { username: 'bigfan', displayName: 'Big Fan', diary: bigDiary, films: bigFilms, lists: [] };

  // marathon: 30 films this month (the bench's month), 20 the month before.
  const marathon: FakeViewing[] = [];
  for (let i = 0; i < 50; i++) {
    const f = film(`Marathon Reel ${i + 1}`, 1980 + i);
    const watched = i < 30 ? dayInMonth(now, 0, (29 - i) / 30, 22) : dayInMonth(now, 1, (49 - i) / 20, 22);
    marathon.push(viewing(f, watched, { rating: i % 6 === 5 ? null : 1 + (i % 9) / 2 }));
  }
  const marathonMember: FakeMember = {
    username: 'marathon',
    displayName: 'Marathon',
    diary: marathon,
    films: filmsFromDiary(marathon),
    lists: [],
  };

  const nobody: FakeMember = { username: 'nobody', displayName: 'Nobody', diary: [], films: [], lists: [] };
  for (const m of [daveMember, erinMember, bigMember, marathonMember]) settleLogTimes(m.diary, now);
  return [daveMember, erinMember, bigMember, marathonMember, nobody];
}

/**
 * The films a correct collection returns for `params` from this member's data (docs/architecture.md#order-of-films):
 * newest watched first, the latest viewing of each film; `all` in the films pages' order.
 */
export function expectedFilms(member: FakeMember, params: MosaicParams): Film[] {
  if (params.mode === 'all') {
    return member.films.map((e) => ({ title: e.film.title, year: e.film.year, rating: e.rating, slug: e.film.slug, watchedDate: null }));
  }
  const inPeriod = sortDiary(member.diary).filter((v) =>
    params.mode === 'month'
      ? v.watchedDate.startsWith(`${params.month}-`)
      : params.mode === 'year'
        ? v.watchedDate.startsWith(`${params.year}-`)
        : true,
  );
  const seen = new Set<string>();
  const out: Film[] = [];
  for (const v of inPeriod) {
    if (seen.has(v.film.slug)) continue;
    seen.add(v.film.slug);
    out.push({ title: v.film.title, year: v.film.year, rating: v.rating, slug: v.film.slug, watchedDate: v.watchedDate });
  }
  return params.mode === 'recent' ? out.slice(0, params.count) : out;
}

/**
 * What the feed holds: the 50 most recently logged diary entries, newest first, then the member's
 * lists, newest first, on top of the 50 (as real feeds have them).
 */
export function feedItems(member: FakeMember): ({ kind: 'viewing'; v: FakeViewing } | { kind: 'list'; l: FakeListPost })[] {
  const byLog = <T extends { publishedAt: Date }>(a: T, b: T) => b.publishedAt.getTime() - a.publishedAt.getTime();
  return [
    ...[...member.diary]
      .sort(byLog)
      .slice(0, 50)
      .map((v) => ({ kind: 'viewing' as const, v })),
    ...[...member.lists].sort(byLog).map((l) => ({ kind: 'list' as const, l })),
  ];
}

// ---------------------------------------------------------------------------------------------
// Rendering

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#039;');
}

/** JSON safe inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

function stars(rating: number): string {
  return '★'.repeat(Math.floor(rating)) + (rating % 1 ? '½' : '');
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const AUCKLAND = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Pacific/Auckland',
  hourCycle: 'h23',
  year: 'numeric',
  month: 'numeric',
  day: 'numeric',
  hour: 'numeric',
  minute: 'numeric',
  second: 'numeric',
});

/** "Mon, 12 Jan 2026 09:03:05 +1300": Letterboxd writes every pubDate in its own zone (New Zealand), not the member's. */
function rfc822(d: Date): string {
  const p = Object.fromEntries(AUCKLAND.formatToParts(d).map((x) => [x.type, Number(x.value)]));
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  const off = Math.round((wall - Math.floor(d.getTime() / 1000) * 1000) / 60_000);
  const day = new Date(wall).getUTCDay();
  return `${DAYS[day]}, ${pad2(p.day)} ${MONTHS[p.month - 1]} ${p.year} ${pad2(p.hour)}:${pad2(p.minute)}:${pad2(p.second)} +${pad2(Math.floor(off / 60))}${pad2(off % 60)}`;
}

const EMPTY_70 = '/static/img/empty-poster-70-BSf-Pjrh.png';

function page(title: string, body: string, bodyClass = ''): string {
  return `<!DOCTYPE html>
<html lang="en" class="no-js">
<head>
<meta charset="utf-8">
<title>${esc(title)}</title>
<link rel="stylesheet" href="https://s.ltrbxd.com/static/css/main.css">
</head>
<body class="${bodyClass}">
<header class="site-header"><nav><a href="/films/">Films</a> <a href="/lists/">Lists</a> <a href="/members/">Members</a></nav></header>
<div id="content" class="site-body">
${body}
</div>
<footer><a href="/about/">About</a></footer>
</body>
</html>
`;
}

const NOT_FOUND_PAGE = page(
  'Letterboxd - Not Found',
  `<section class="message"><h1 class="title">Sorry, we can’t find the page you’ve requested.</h1><p><strong>This page may have moved or been removed.</strong></p></section>`,
  'error',
);

const CHALLENGE_PAGE = `<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title><meta http-equiv="Content-Type" content="text/html; charset=UTF-8"><meta name="robots" content="noindex,nofollow"></head><body><div class="main-wrapper" role="main"><div class="main-content"><noscript><div class="h2"><span id="challenge-error-text">Enable JavaScript and cookies to continue</span></div></noscript></div></div><script>(function(){window._cf_chl_opt={cvId: '3',cZone: "letterboxd.com",cType: 'managed'};}());</script></body></html>`;

/** The page Letterboxd served during an outage, once on the feed URL, perhaps with status 200. */
const OUTAGE_PAGE = readFileSync(new URL('../fixtures/letterboxd/outage.html', import.meta.url), 'utf8');

const RATE_LIMIT_PAGE = `<!DOCTYPE html><html lang="en-US"><head><title>Access denied | letterboxd.com used Cloudflare to restrict access</title></head><body><div id="cf-wrapper"><div id="cf-error-details"><h1><span class="cf-error-type">Error</span> <span class="cf-error-code">1015</span></h1><h2 class="cf-subheadline">You are being rate limited</h2><p>The owner of this website (letterboxd.com) has banned you temporarily from accessing this website.</p></div></div></body></html>`;

function paginationBlock(base: string, pageNo: number, last: number): string {
  if (last <= 1) return '';
  const href = (n: number) => (n === 1 ? base : `${base}page/${n}/`);
  const shown = new Set([1, last, pageNo - 1, pageNo, pageNo + 1].filter((n) => n >= 1 && n <= last));
  const items: string[] = [];
  let prev = 0;
  for (const n of [...shown].sort((a, b) => a - b)) {
    if (n - prev > 1) items.push(`<li class="paginate-page unseen-pages">&hellip;</li>`);
    items.push(
      n === pageNo
        ? `<li class="paginate-page paginate-current"><span>${n}</span></li>`
        : `<li class="paginate-page"><a href="${href(n)}">${n}</a></li>`,
    );
    prev = n;
  }
  const newer = pageNo > 1 ? `<a class="previous" href="${href(pageNo - 1)}">Newer</a>` : `<span class="previous">Newer</span>`;
  const older = pageNo < last ? `<a class="next" href="${href(pageNo + 1)}">Older</a>` : `<span class="next">Older</span>`;
  return `<div class="pagination"><div class="paginate-nextprev">${newer}</div><div class="paginate-nextprev paginate-disabled">${older}</div><div class="paginate-pages"><ul>${items.join('')}</ul></div></div>`;
}

function lazyPoster(f: FakeFilm, staticBase: string, quoteStyle: 'entity' | 'single'): string {
  const name = f.year === null ? f.title : `${f.title} (${f.year})`;
  const identifier = { lid: f.id.toString(36), uid: `film:${f.id}`, type: 'film', typeName: 'film' };
  const resolvable = { postered: identifier, posteredBaseLink: `/film/${f.slug}/`, cacheBustingKey: f.posterName ? f.cacheKey : null };
  const json = (v: unknown) => (quoteStyle === 'entity' ? `"${esc(JSON.stringify(v))}"` : `'${JSON.stringify(v).replace(/'/g, '&#039;')}'`);
  return (
    `<div class="react-component" data-component-class="LazyPoster" data-item-name="${esc(name)}" data-item-slug="${f.slug}" ` +
    `data-item-link="/film/${f.slug}/" data-item-full-display-name="${esc(name)}" data-postered-identifier=${json(identifier)} ` +
    `data-resolvable-poster-path=${json(resolvable)} data-empty-poster-src="${staticBase}${EMPTY_70}" ` +
    `data-target-link="/film/${f.slug}/" data-details-endpoint="/film/${f.slug}/json/">` +
    `<div class="poster film-poster"><img src="${staticBase}${EMPTY_70}" class="image" width="70" height="105" alt="${esc(f.title)}"></div></div>`
  );
}

function legacyPoster(f: FakeFilm, staticBase: string, slugAsPath: boolean): string {
  const noPoster = f.posterName === null;
  return (
    `<div class="really-lazy-load poster film-poster film-poster-${f.id} linked-film-poster${noPoster ? ' no-poster' : ''}" ` +
    `data-film-id="${f.id}" data-film-slug="${slugAsPath ? `/film/${f.slug}/` : f.slug}" data-target-link="/film/${f.slug}/" ` +
    `data-cache-busting-key="${noPoster ? '00000000' : f.cacheKey}" data-poster-url="/film/${f.slug}/image-150/">` +
    `<img src="${staticBase}/static/img/empty-poster-70.8112b435.png" class="image" width="70" height="105" alt="${esc(f.title)}"/>` +
    `<span class="frame"><span class="frame-title"></span></span></div>`
  );
}

function ratingSpan(rating: number | null, size: string): string {
  return rating === null ? '' : `<span class="rating ${size} -darker rated-${Math.round(rating * 2)}">${stars(rating)}</span>`;
}

// ---------------------------------------------------------------------------------------------
// Images

/** Grain shared by every poster: -6…6, from a fixed LCG. */
const GRAIN = (() => {
  const g = new Int8Array(1 << 16);
  let seed = 12345;
  for (let i = 0; i < g.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    g[i] = ((seed >> 16) % 13) - 6;
  }
  return g;
})();

/** A poster: the film's colour with a gentle vertical gradient and grain, so JPEG sizes scale with area. */
async function renderPoster(f: FakeFilm, width: number, height: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  const offset = (f.id * 7919) & 0xffff;
  for (let y = 0; y < height; y++) {
    const shade = 0.85 + (0.3 * y) / height;
    // Clamped away from 0 and 255 so the grain never over- or underflows (Buffer writes wrap).
    const r = Math.min(249, Math.max(6, Math.round(f.color[0] * shade)));
    const g = Math.min(249, Math.max(6, Math.round(f.color[1] * shade)));
    const b = Math.min(249, Math.max(6, Math.round(f.color[2] * shade)));
    let i = y * width * 3;
    for (let x = 0; x < width; x++, i += 3) {
      const n = GRAIN[(offset + i) & 0xffff];
      raw[i] = r + n;
      raw[i + 1] = g + n;
      raw[i + 2] = b + n;
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 80 })
    .toBuffer();
}

/** 0 ≤ x < 1 from integer coordinates (a small integer hash, stable across runs). */
function hash01(x: number, y: number, seed: number): number {
  let h = (Math.imul(x, 374761393) + Math.imul(y, 668265263) + Math.imul(seed, 2246822519)) | 0;
  h = Math.imul(h ^ (h >>> 13), 1274126177);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

/**
 * A poster like a photograph: value noise summed over octaves (large soft shapes, then ever finer and
 * fainter detail) in the film's colours, defined over the poster's own coordinates so every size shows
 * the same picture; encoded at quality 80, it weighs about 40 KB at 600×900, as real posters do.
 */
async function renderNaturalPoster(f: FakeFilm, width: number, height: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  const octaves = [
    { cells: 3, amp: 0.5 },
    { cells: 7, amp: 0.25 },
    { cells: 16, amp: 0.13 },
    { cells: 37, amp: 0.09 },
    { cells: 85, amp: 0.06 },
    { cells: 190, amp: 0.04 },
  ];
  const smooth = (t: number) => t * t * (3 - 2 * t);
  const seed = f.id;
  const lum = new Float32Array(width * height);
  for (const [o, { cells, amp }] of octaves.entries()) {
    const rows = Math.ceil(cells * 1.5);
    for (let y = 0; y < height; y++) {
      const gy = (y / height) * rows;
      const iy = Math.floor(gy);
      const ty = smooth(gy - iy);
      for (let x = 0; x < width; x++) {
        const gx = (x / width) * cells;
        const ix = Math.floor(gx);
        const tx = smooth(gx - ix);
        const a = hash01(ix, iy, seed * 8 + o);
        const b = hash01(ix + 1, iy, seed * 8 + o);
        const c = hash01(ix, iy + 1, seed * 8 + o);
        const d = hash01(ix + 1, iy + 1, seed * 8 + o);
        lum[y * width + x] += amp * (a + (b - a) * tx + (c - a + (a - b - c + d) * tx) * ty);
      }
    }
  }
  // Two tints (the film's colour and its complement's shadow) mixed by the picture's own light.
  const [r0, g0, b0] = f.color;
  const dark = [r0 * 0.15, g0 * 0.2, 40 + b0 * 0.25];
  const light = [Math.min(255, r0 * 1.1 + 40), Math.min(255, g0 * 1.1 + 30), Math.min(255, b0 * 0.9 + 30)];
  for (let i = 0, p = 0; i < lum.length; i++, p += 3) {
    const v = Math.min(1, Math.max(0, (lum[i] - 0.2) * 1.6));
    raw[p] = dark[0] + (light[0] - dark[0]) * v;
    raw[p + 1] = dark[1] + (light[1] - dark[1]) * v;
    raw[p + 2] = dark[2] + (light[2] - dark[2]) * v;
  }
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 80 })
    .toBuffer();
}

// ---------------------------------------------------------------------------------------------
// The servers

const CDN_POSTER = /^\/resized\/film-poster\/((?:\d\/)+)(\d+)-(.+)-0-(\d+)-0-(\d+)-crop\.jpg$/;

export async function startFakeLetterboxd(options: FakeOptions): Promise<FakeLetterboxd> {
  const members = new Map<string, FakeMember>();
  const films = new Map<string, FakeFilm>();
  const filmsById = new Map<number, FakeFilm>();
  const defaults = { markup: options.markup ?? '2026', latencyMs: options.latencyMs ?? 0 };
  let markup = defaults.markup;
  let latencyMs = defaults.latencyMs;
  let faults: (Fault & { hits: number })[] = [];
  const requests: FakeRequest[] = [];
  const inFlight = { pages: 0, images: 0 };
  const inFlightMax = { pages: 0, images: 0 };
  const posterCache = new Map<string, Promise<Buffer>>();
  const pending = new Set<NodeJS.Timeout>();

  const addFilm = (f: FakeFilm) => {
    films.set(f.slug, f);
    filmsById.set(f.id, f);
  };
  const addMember = (m: FakeMember) => {
    members.set(m.username.toLowerCase(), m);
    for (const v of m.diary) addFilm(v.film);
    for (const e of m.films) addFilm(e.film);
    for (const l of m.lists) l.films.forEach(addFilm);
  };
  for (const m of options.members ?? defaultMembers(options.now)) addMember(m);
  if (options.faults) faults = options.faults.map((f) => ({ ...f, hits: 0 }));

  let pagesBase = '';
  let imageBase = '';

  const wait = (ms: number, res: ServerResponse) =>
    new Promise<void>((resolve) => {
      if (ms <= 0) return resolve();
      const t = setTimeout(() => {
        pending.delete(t);
        resolve();
      }, ms);
      pending.add(t);
      res.once('close', () => {
        clearTimeout(t);
        pending.delete(t);
        resolve();
      });
    });

  function posterUrl(f: FakeFilm, width = 600, height = Math.round(width * 1.5)): string | null {
    if (f.posterName === null) return null;
    if (f.posterUrlOverride) return f.posterUrlOverride;
    const digits = String(f.id).split('').join('/');
    return `${imageBase}/resized/film-poster/${digits}/${f.id}-${f.posterName}-0-${width}-0-${height}-crop.jpg?v=${f.cacheKey}`;
  }
  const emptyPoster = (w: number) => `${imageBase}/static/img/empty-poster-${w}-BSf-Pjrh.png`;

  // --- pages -----------------------------------------------------------------------------------

  type Answer = { status: number; type: string; body: string | Buffer; headers?: Record<string, string> };
  const html = (body: string, status = 200, headers?: Record<string, string>): Answer => ({
    status,
    type: 'text/html; charset=utf-8',
    body,
    headers,
  });
  const notFound = (): Answer => html(NOT_FOUND_PAGE, 404);

  function rss(m: FakeMember): Answer {
    const items = feedItems(m).map((it) => {
      if (it.kind === 'list') {
        const l = it.l;
        const lis = l.films.map((f) => `<li><a href="${pagesBase}/film/${f.slug}/">${esc(f.title)}</a></li>`).join('');
        return `<item><title>${esc(l.title)}</title><link>${pagesBase}/${m.username}/list/${l.slug}/</link><guid isPermaLink="false">letterboxd-list-${l.id}</guid><pubDate>${rfc822(l.publishedAt)}</pubDate><description><![CDATA[ <p>A list.</p><ul>${lis}</ul> ]]></description><dc:creator>${esc(m.displayName)}</dc:creator></item>`;
      }
      const v = it.v;
      const f = v.film;
      const nth = sortDiary(m.diary)
        .reverse()
        .filter((x) => x.film.slug === f.slug)
        .indexOf(v);
      const link = `${pagesBase}/${m.username}/film/${f.slug}/${nth > 0 ? `${nth}/` : ''}`;
      const yearPart = f.year === null ? '' : `, ${f.year}`;
      const starsPart = v.rating === null ? '' : ` - ${stars(v.rating)}`;
      const spoilers = v.review?.includes('spoilers') ? ' (contains spoilers)' : '';
      const img = posterUrl(f) ?? emptyPoster(600);
      const text = v.review ? esc(v.review) : `Watched on ${esc(v.watchedDate)}.`;
      const tmdb = f.tmdb ? `<tmdb:${f.tmdb.kind}Id>${f.tmdb.id}</tmdb:${f.tmdb.kind}Id>` : '';
      return (
        `<item><title>${esc(f.title)}${yearPart}${starsPart}${spoilers}</title><link>${link}</link>` +
        `<guid isPermaLink="false">letterboxd-${v.review ? 'review' : 'watch'}-${v.viewingId}</guid><pubDate>${rfc822(v.publishedAt)}</pubDate>` +
        `<letterboxd:watchedDate>${v.watchedDate}</letterboxd:watchedDate><letterboxd:rewatch>${v.rewatch ? 'Yes' : 'No'}</letterboxd:rewatch>` +
        `<letterboxd:filmTitle>${esc(f.title)}</letterboxd:filmTitle>${f.year === null ? '' : `<letterboxd:filmYear>${f.year}</letterboxd:filmYear>`}` +
        `${v.rating === null ? '' : `<letterboxd:memberRating>${v.rating.toFixed(1)}</letterboxd:memberRating>`}` +
        `<letterboxd:memberLike>${v.liked ? 'Yes' : 'No'}</letterboxd:memberLike>${tmdb}` +
        `<description><![CDATA[ <p><img src="${img}"/></p> <p>${text}</p> ]]></description><dc:creator>${esc(m.displayName)}</dc:creator></item>`
      );
    });
    const body = `<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:letterboxd="https://letterboxd.com" xmlns:tmdb="https://themoviedb.org" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">
<channel><title>Letterboxd - ${esc(m.displayName)}</title><link>${pagesBase}/${m.username}/</link><description>Letterboxd - ${esc(m.displayName)}</description><atom:link rel="self" href="${pagesBase}/${m.username}/rss/" type="application/rss+xml"/>
${items.join('\n')}
</channel>
</rss>
`;
    return { status: 200, type: 'application/rss+xml; charset=utf-8', body, headers: { 'x-letterboxd-type': 'Member' } };
  }

  function filmsPage(m: FakeMember, pageNo: number): Answer {
    const perPage = 72;
    const last = Math.max(1, Math.ceil(m.films.length / perPage));
    if (pageNo > last) return notFound();
    const slice = m.films.slice((pageNo - 1) * perPage, pageNo * perPage);
    const base = `/${m.username}/films/`;
    let grid: string;
    if (m.films.length === 0) {
      grid = `<section class="section"><p class="ui-block-heading">${esc(m.displayName)} hasn’t watched any films yet.</p></section>`;
    } else if (markup === '2026') {
      const lis = slice.map((e, i) => {
        const like = e.liked ? '<span class="like liked-micro has-icon icon-liked icon-16"></span>' : '';
        return `<li class="griditem">${lazyPoster(e.film, imageBase, i % 2 ? 'single' : 'entity')}<p class="poster-viewingdata" data-item-uid="film:${e.film.id}">${ratingSpan(e.rating, '-micro')}${like}</p></li>`;
      });
      grid = `<ul class="grid -p70">\n${lis.join('\n')}\n</ul>`;
    } else {
      const lis = slice.map((e, i) => {
        const cls = e.rating === null ? '' : ' -rated-and-liked';
        return `<li class="poster-container">${legacyPoster(e.film, imageBase, i % 3 !== 0)}<p class="poster-viewingdata${cls}">${ratingSpan(e.rating, '-tiny')}</p></li>`;
      });
      grid = `<ul class="poster-list -p70 -grid film-list clear">\n${lis.join('\n')}\n</ul>`;
    }
    const body = `<section class="section col-main"><h1 class="title-hero">${esc(m.displayName)}’s films</h1>${grid}${paginationBlock(base, pageNo, last)}</section>`;
    return html(page(`${m.displayName}’s films • Letterboxd`, body, 'films-watched'), 200, { 'x-letterboxd-type': 'Member' });
  }

  function diaryPage(m: FakeMember, prefix: string, base: string, pageNo: number): Answer {
    const perPage = 50;
    const rows = sortDiary(m.diary).filter((v) => v.watchedDate.startsWith(prefix));
    const last = Math.max(1, Math.ceil(rows.length / perPage));
    if (pageNo > last) return notFound();
    const slice = rows.slice((pageNo - 1) * perPage, pageNo * perPage);
    const trs = slice.map((v) => {
      const [y, mo, d] = v.watchedDate.split('-');
      const f = v.film;
      const rateInput = `<input type="range" class="rateit-field" value="${v.rating === null ? 0 : Math.round(v.rating * 2)}" min="0" max="10">`;
      return (
        `<tr class="diary-entry-row viewing-poster-container" data-viewing-id="${v.viewingId}" data-owner="${m.username}">` +
        `<td class="col-monthdate"><div class="monthdate"><a class="month" href="/${m.username}/diary/films/for/${y}/${mo}/">${MONTHS[Number(mo) - 1]}</a><a class="year" href="/${m.username}/diary/films/for/${y}/">${y}</a></div></td>` +
        `<td class="col-daydate"><a class="daydate" href="/${m.username}/diary/films/for/${y}/${mo}/${d}/">${d}</a></td>` +
        `<td class="col-production"><div class="production-details">${markup === '2026' ? lazyPoster(f, imageBase, 'entity') : legacyPoster(f, imageBase, true)}` +
        `<h2 class="name -primary prettify"><a href="/${m.username}/film/${f.slug}/">${esc(f.title)}</a></h2></div></td>` +
        `<td class="col-releaseyear"><span>${f.year ?? ''}</span></td>` +
        `<td class="col-rating"><div class="hide-for-owner">${ratingSpan(v.rating, '')}</div><div class="editable-rating show-for-owner">${rateInput}</div></td>` +
        `<td class="col-like center diary-like">${v.liked ? '<span class="has-icon icon-16 large-liked icon-liked hide-for-owner">Liked</span>' : ''}</td>` +
        `<td class="col-rewatch center${v.rewatch ? '' : ' icon-status-off'}"><span class="has-icon icon-rewatch icon-16">Rewatch</span></td>` +
        `<td class="col-review center">${v.review ? `<a href="/${m.username}/film/${f.slug}/" class="has-icon icon-review icon-16">Review</a>` : ''}</td>` +
        `</tr>`
      );
    });
    const table = `<table class="table film-table" id="diary-table"><thead><tr><th>Month</th><th>Day</th><th>Film</th><th>Released</th><th>Rating</th><th>Like</th><th>Rewatch</th><th>Review</th></tr></thead><tbody>\n${trs.join('\n')}\n</tbody></table>`;
    const body = `<section class="section col-main"><h1 class="title-hero">${esc(m.displayName)}’s diary</h1>${table}${paginationBlock(base, pageNo, last)}</section>`;
    return html(page(`${m.displayName}’s film diary • Letterboxd`, body, 'diary'), 200, { 'x-letterboxd-type': 'Member' });
  }

  function filmPage(f: FakeFilm): Answer {
    const name = f.year === null ? f.title : `${f.title} (${f.year})`;
    const ld: Record<string, unknown> = {
      '@context': 'http://schema.org',
      '@type': f.tmdb?.kind === 'tv' ? 'TVSeries' : 'Movie',
      name: f.title,
      url: `${pagesBase}/film/${f.slug}/`,
      ...(f.posterName ? { image: posterUrl(f, 600, 900) } : {}),
      ...(f.year === null ? {} : { releasedEvent: [{ '@type': 'PublicationEvent', startDate: String(f.year) }] }),
      aggregateRating: { '@type': 'aggregateRating', ratingValue: 3.9, ratingCount: 1234, bestRating: 5, worstRating: 0 },
    };
    const head =
      `<meta property="og:title" content="${esc(name)}">` +
      `<meta property="og:image" content="${imageBase}/resized/sm/upload/ab/cd/${f.id}/backdrop-1200-1200-675-675-crop-000000.jpg?v=${f.cacheKey}">` +
      `<script type="application/ld+json">\n/* <![CDATA[ */\n${scriptJson(ld)}\n/* ]]> */\n</script>`;
    const doc = page(
      `‎${name} • Letterboxd`,
      `<section class="film-header"><h1 class="headline-1 primaryname">${esc(f.title)}</h1></section>`,
      'film backdropped',
    ).replace('</head>', `${head}\n</head>`);
    return html(doc, 200, { 'x-letterboxd-type': 'Film' });
  }

  function posterJson(f: FakeFilm, width: number): Answer {
    const h = Math.round(width * 1.5);
    const body = f.posterName
      ? { url: posterUrl(f, width, h), url2x: posterUrl(f, width * 2, h * 2), ratio: 1.5 }
      : { url: emptyPoster(width), url2x: emptyPoster(width * 2), ratio: 1.5 };
    return { status: 200, type: 'application/json; charset=utf-8', body: JSON.stringify(body), headers: { 'x-letterboxd-type': 'Film' } };
  }

  function routePage(path: string): Answer {
    const clean = path.split('?')[0];
    if (clean === '/') return html(page('Letterboxd • Social film discovery.', '<h1>Letterboxd</h1>'));
    let m: RegExpExecArray | null;
    if ((m = /^\/film\/([^/]+)\/poster\/std\/(\d+)\/$/.exec(clean))) {
      const f = films.get(m[1]);
      return f ? posterJson(f, Math.min(2000, Number(m[2]))) : notFound();
    }
    if ((m = /^\/film\/([^/]+)\/$/.exec(clean))) {
      const f = films.get(m[1]);
      return f ? filmPage(f) : notFound();
    }
    const user = /^\/([^/]+)\//.exec(clean)?.[1]?.toLowerCase();
    const member = user ? members.get(user) : undefined;
    if (!member) return notFound();
    const rest = clean.slice(user!.length + 1);
    if (rest === '/')
      return html(page(`${member.displayName}’s profile • Letterboxd`, `<h1>${esc(member.displayName)}</h1>`, 'profile'), 200, {
        'x-letterboxd-type': 'Member',
      });
    if (rest === '/rss/') return rss(member);
    if ((m = /^\/films\/(?:page\/(\d+)\/)?$/.exec(rest))) return filmsPage(member, Number(m[1] ?? 1));
    // 2026 scheme /diary/films/… and the older /films/diary/…
    if ((m = /^\/(?:diary\/films|films\/diary|diary)\/(?:for\/(\d{4})\/(?:(\d{2})\/)?)?(?:page\/(\d+)\/)?$/.exec(rest))) {
      const prefix = m[1] ? (m[2] ? `${m[1]}-${m[2]}-` : `${m[1]}-`) : '';
      const base = `/${member.username}/diary/films/${m[1] ? `for/${m[1]}/${m[2] ? `${m[2]}/` : ''}` : ''}`;
      return diaryPage(member, prefix, base, Number(m[3] ?? 1));
    }
    return notFound();
  }

  async function routeImage(path: string): Promise<Answer> {
    const clean = path.split('?')[0];
    const m = CDN_POSTER.exec(clean);
    if (m) {
      const id = Number(m[2]);
      const f = filmsById.get(id);
      const digits = String(id).split('').join('/') + '/';
      if (!f || m[1] !== digits) return notFound();
      // The CDN refuses a wrong name part: never guess it from the slug.
      if (f.posterName === null || m[3] !== f.posterName) return { status: 403, type: 'text/plain', body: 'Forbidden' };
      const w = Number(m[4]);
      const h = Number(m[5]);
      if (w < 1 || h < 1 || w > 2000 || h > 3000) return { status: 400, type: 'text/plain', body: 'Bad size' };
      const key = `${id}:${w}x${h}`;
      let p = posterCache.get(key);
      if (!p) {
        p = (options.posterStyle === 'natural' ? renderNaturalPoster : renderPoster)(f, w, h);
        posterCache.set(key, p);
        if (posterCache.size > 4000) posterCache.delete(posterCache.keys().next().value!);
      }
      return {
        status: 200,
        type: 'image/jpeg',
        body: await p,
        headers: { etag: `"${f.cacheKey}-${w}x${h}"`, 'cache-control': 'max-age=31536000' },
      };
    }
    if (/^\/static\/img\/empty-poster-\d+[-.][\w-]+\.png$/.test(clean)) {
      const body = await sharp({ create: { width: 70, height: 105, channels: 3, background: { r: 44, g: 52, b: 64 } } })
        .png()
        .toBuffer();
      return { status: 200, type: 'image/png', body };
    }
    if (clean.startsWith('/resized/sm/upload/')) {
      const body = await sharp({ create: { width: 64, height: 36, channels: 3, background: { r: 20, g: 20, b: 20 } } })
        .jpeg()
        .toBuffer();
      return { status: 200, type: 'image/jpeg', body };
    }
    return notFound();
  }

  // --- plumbing ----------------------------------------------------------------------------------

  function matchFault(server: 'pages' | 'images', path: string): Fault | null {
    for (const f of faults) {
      if (f.server && f.server !== server) continue;
      if (f.times !== undefined && f.hits >= f.times) continue;
      const hit = typeof f.path === 'string' ? path.includes(f.path) : f.path.test(path);
      if (!hit) continue;
      f.hits++;
      return f;
    }
    return null;
  }

  function send(res: ServerResponse, a: Answer): void {
    let body = typeof a.body === 'string' ? Buffer.from(a.body, 'utf8') : a.body;
    const gzip = options.gzip && typeof a.body === 'string' && /\bgzip\b/.test(String(res.req.headers['accept-encoding'] ?? ''));
    if (gzip) body = gzipSync(body);
    res.writeHead(a.status, {
      'content-type': a.type,
      'content-length': String(body.length),
      server: 'fake-letterboxd',
      ...(gzip ? { 'content-encoding': 'gzip', vary: 'Accept-Encoding' } : {}),
      ...a.headers,
    });
    res.end(body);
  }

  async function applyFault(
    server: 'pages' | 'images',
    fault: Fault,
    path: string,
    res: ServerResponse,
    answer: () => Promise<Answer>,
  ): Promise<void> {
    switch (fault.kind) {
      case 'challenge':
        return send(res, {
          ...html(CHALLENGE_PAGE, 403),
          headers: { 'cf-mitigated': 'challenge', server: 'cloudflare', 'cf-ray': '8f3c2a1b9d7e4f60-AMS' },
        });
      case 'forbidden':
        return send(res, html(page('Forbidden', '<h1>Access denied</h1>'), 403));
      case 'rate-limit':
        return send(res, {
          ...html(RATE_LIMIT_PAGE, 429),
          headers: { server: 'cloudflare', ...(fault.retryAfter === undefined ? {} : { 'retry-after': String(fault.retryAfter) }) },
        });
      case 'server-error':
        return send(res, html(page('Letterboxd - Error', '<h1>Something went wrong</h1>'), fault.status ?? 503));
      case 'not-found':
        return send(res, notFound());
      case 'outage':
        return send(res, {
          ...html(OUTAGE_PAGE, fault.status ?? 200),
          headers: { server: 'cloudflare', 'cf-ray': '8f4e1c2bd9a37731-AKL' },
        });
      case 'slow':
        await wait(fault.delayMs ?? 5000, res);
        if (res.destroyed) return;
        return send(res, await answer());
      case 'reset':
        res.socket?.destroy();
        return;
      case 'truncate': {
        const a = await answer();
        const body = typeof a.body === 'string' ? Buffer.from(a.body) : a.body;
        res.writeHead(a.status, { 'content-type': a.type, 'content-length': String(body.length) });
        res.write(body.subarray(0, Math.floor(body.length / 2)));
        // Let the half reach the client before the connection drops.
        setImmediate(() => res.socket?.destroy());
        return;
      }
      case 'corrupt': {
        const a = await answer();
        if (server === 'images' && Buffer.isBuffer(a.body) && a.status === 200) {
          // Cut inside the entropy-coded data: the header still reads, the pixels do not.
          return send(res, { ...a, body: a.body.subarray(0, Math.min(320, Math.floor(a.body.length * 0.6))) });
        }
        return send(res, { ...a, body: Buffer.from('\u0000\u0001garbage\u00ff'.repeat(20), 'latin1') });
      }
      case 'garbage':
        return send(
          res,
          html(
            `<!DOCTYPE html><html><body><main class="new-layout">${['flow-2024', 'dune-2021', 'tony-2026'].map((s) => `<article class="tile"><a href="/film/${s}/">${s}</a></article>`).join('')}</main></body></html>`,
          ),
        );
      case 'redirect': {
        const other = server === 'pages' ? imageBase : pagesBase;
        res.writeHead(fault.status ?? 302, { location: fault.location ?? `${other}${path}`, 'content-length': '0' });
        res.end();
        return;
      }
    }
  }

  function handler(server: 'pages' | 'images') {
    return (req: IncomingMessage, res: ServerResponse) => {
      const at = performance.now();
      const path = req.url ?? '/';
      inFlight[server]++;
      inFlightMax[server] = Math.max(inFlightMax[server], inFlight[server]);
      const entry: FakeRequest = { server, method: req.method ?? 'GET', path, status: 0, at, headers: req.headers };
      requests.push(entry);
      let finished = false;
      const done = () => {
        if (finished) return;
        finished = true;
        inFlight[server]--;
        entry.status = res.headersSent ? res.statusCode : 0;
      };
      res.once('finish', done);
      res.once('close', done);
      void (async () => {
        await wait(latencyMs, res);
        if (res.destroyed) return;
        const answer = () => (server === 'pages' ? Promise.resolve(routePage(path)) : routeImage(path));
        const fault = matchFault(server, path);
        if (fault) await applyFault(server, fault, path, res, answer);
        else send(res, await answer());
      })().catch((err) => {
        if (!res.headersSent) send(res, { status: 500, type: 'text/plain', body: String(err) });
        else res.destroy();
      });
    };
  }

  const listen = (server: Server) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    });
  const pagesServer = createServer(handler('pages'));
  const imagesServer = createServer(handler('images'));
  const [pagesPort, imagesPort] = await Promise.all([listen(pagesServer), listen(imagesServer)]);
  pagesBase = `http://127.0.0.1:${pagesPort}`;
  imageBase = `http://127.0.0.1:${imagesPort}`;
  const imageHost = `127.0.0.1:${imagesPort}`;

  const matches = (r: FakeRequest, path: string | RegExp) => (typeof path === 'string' ? r.path.includes(path) : path.test(r.path));

  const fake: FakeLetterboxd = {
    now: options.now,
    url: pagesBase,
    imageHost,
    imageBase,
    env: { LETTERBOXD_URL: pagesBase, LETTERBOXD_IMAGE_HOSTS: imageHost, LETTERBOXD_SPACING_MS: '0' },
    requests,
    inFlightMax,
    members,
    setFaults(list) {
      faults = list.map((f) => ({ ...f, hits: 0 }));
    },
    setMarkup(m) {
      markup = m;
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    advertise(bases) {
      pagesBase = bases.pages;
      imageBase = bases.images;
      fake.url = pagesBase;
      fake.imageBase = imageBase;
      fake.imageHost = new URL(imageBase).host;
      fake.env = { LETTERBOXD_URL: pagesBase, LETTERBOXD_IMAGE_HOSTS: fake.imageHost, LETTERBOXD_SPACING_MS: '0' };
    },
    reset() {
      faults = [];
      requests.length = 0;
      inFlightMax.pages = 0;
      inFlightMax.images = 0;
      markup = defaults.markup;
      latencyMs = defaults.latencyMs;
    },
    addMember,
    posterUrl,
    count: (path, server) => requests.filter((r) => (!server || r.server === server) && matches(r, path)).length,
    async close() {
      for (const t of pending) clearTimeout(t);
      pending.clear();
      await Promise.all(
        [pagesServer, imagesServer].map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      );
    },
  };
  return fake;
}
