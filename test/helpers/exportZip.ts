/**
 * Letterboxd data-export ZIPs for tests (docs/letterboxd.md#the-data-export): a small ZIP writer
 * (stored or deflated entries, with lies about sizes and names on request) and an export generator for
 * a fake member of fakeLetterboxd.ts, with the hostile variants the upload must refuse.
 *
 *   const zip = exportZip(lb.members.get('dave')!);                 // what Letterboxd would give
 *   const bomb = hostileZip('bomb-declared');                       // refused with INVALID_EXPORT
 */
import { deflateRawSync } from 'node:zlib';
import type { FakeMember, FakeViewing } from './fakeLetterboxd.js';
import { sortDiary } from './fakeLetterboxd.js';

// ---------------------------------------------------------------------------------------------
// A ZIP writer (no zip64: up to 65,535 entries and 4 GiB, plenty for tests)

export interface ZipEntrySpec {
  /** The entry name (a Buffer writes exact bytes, e.g. a NUL or CP437). */
  name: string | Buffer;
  data?: Buffer | string;
  /** Default deflate. */
  method?: 'deflate' | 'store';
  /** The uncompressed size written in the headers, when it should lie. */
  declaredSize?: number;
  /** An Info-ZIP Unicode Path extra field (0x7075) giving this name instead. */
  unicodePath?: string;
  /** Sets the encryption flag (the data stays plain). */
  encrypted?: boolean;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Writes a ZIP: local headers and data, then the central directory and its end record. */
export function makeZip(entries: readonly ZipEntrySpec[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = typeof e.name === 'string' ? Buffer.from(e.name, 'utf8') : e.name;
    const data = typeof e.data === 'string' ? Buffer.from(e.data, 'utf8') : (e.data ?? Buffer.alloc(0));
    const method = e.method === 'store' ? 0 : 8;
    const packed = method === 8 ? deflateRawSync(data) : data;
    const size = e.declaredSize ?? data.length;
    let extra = Buffer.alloc(0);
    if (e.unicodePath !== undefined) {
      const u = Buffer.from(e.unicodePath, 'utf8');
      extra = Buffer.alloc(4 + 5 + u.length);
      extra.writeUInt16LE(0x7075, 0);
      extra.writeUInt16LE(5 + u.length, 2);
      extra.writeUInt8(1, 4);
      extra.writeUInt32LE(crc32(name), 5);
      u.copy(extra, 9);
    }
    const flags = (typeof e.name === 'string' ? 0x800 : 0) | (e.encrypted ? 0x1 : 0);
    const crc = crc32(data);

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(0x5b2f, 12); // 2025-09-15
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(extra.length, 28);
    locals.push(local, name, extra, packed);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(0x031e, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(0x5b2f, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(extra.length, 30);
    central.writeUInt16LE(0, 32);
    central.writeUInt16LE(0, 34);
    central.writeUInt16LE(0, 36);
    central.writeUInt32LE(0o100644 * 0x10000, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name, extra);
    offset += 30 + name.length + extra.length + packed.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(0, 4);
  end.writeUInt16LE(0, 6);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  end.writeUInt16LE(0, 20);
  return Buffer.concat([...locals, cd, end]);
}

// ---------------------------------------------------------------------------------------------
// CSV

/** One RFC 4180 field: quoted when it holds a comma, a quote or a line break (quotes doubled). */
export function csvField(value: string | number | null): string {
  const s = value === null ? '' : String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csv(rows: readonly (readonly (string | number | null)[])[], eol = '\r\n'): string {
  return rows.map((r) => r.map(csvField).join(',')).join(eol) + eol;
}

export const EXPORT_HEADERS = {
  watched: ['Date', 'Name', 'Year', 'Letterboxd URI'],
  diary: ['Date', 'Name', 'Year', 'Letterboxd URI', 'Rating', 'Rewatch', 'Tags', 'Watched Date'],
  ratings: ['Date', 'Name', 'Year', 'Letterboxd URI', 'Rating'],
} as const;

// ---------------------------------------------------------------------------------------------
// Exports of fake members

export type ExportFileName = 'watched.csv' | 'diary.csv' | 'ratings.csv' | 'profile.csv' | 'reviews.csv' | 'watchlist.csv';

export interface ExportOptions {
  /** Line breaks (Letterboxd writes CRLF; git copies show LF). Default crlf. */
  eol?: 'crlf' | 'lf';
  /** Start each CSV with a UTF-8 byte order mark. */
  bom?: boolean;
  /** Leave these files out. */
  omit?: ExportFileName[];
  /** Replace a CSV's header line (e.g. a wrong one). */
  headers?: Partial<Record<'watched.csv' | 'diary.csv' | 'ratings.csv', string[]>>;
  /** Rows added at the end of a CSV (raw cells). */
  extraRows?: Partial<Record<'watched.csv' | 'diary.csv' | 'ratings.csv', (string | number | null)[][]>>;
  /** Entries added to the ZIP as they are. */
  extraEntries?: ZipEntrySpec[];
  /** Deflate (default) or store the CSVs. */
  method?: 'deflate' | 'store';
}

/** A stable `https://boxd.it/{code}` short link for a number. */
export function boxdIt(n: number): string {
  const alphabet = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
  let s = '';
  let v = n;
  do {
    s = alphabet[v % 62] + s;
    v = Math.floor(v / 62);
  } while (v > 0);
  return `https://boxd.it/${s}`;
}

function localDay(d: Date): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** The member's diary, oldest first: Watched Date ascending, the earlier logged first within a day. */
export function diaryAscending(member: FakeMember): FakeViewing[] {
  return sortDiary(member.diary).reverse();
}

/** The CSV files of the member's export, by name (header row first). */
export function exportFiles(member: FakeMember, options: ExportOptions = {}): Map<string, string> {
  const eol = options.eol === 'lf' ? '\n' : '\r\n';
  const bom = options.bom ? '\uFEFF' : '';
  const diary = diaryAscending(member);
  // watched.csv: every film, dated by its first viewing; films with no diary entry were marked
  // watched long ago (they come first, Date ascending).
  const firstSeen = new Map<string, string>();
  for (const v of diary) if (!firstSeen.has(v.film.slug)) firstSeen.set(v.film.slug, localDay(v.publishedAt));
  const watched = member.films.map((e, i) => ({
    film: e.film,
    date: firstSeen.get(e.film.slug) ?? `2019-01-${String(1 + (i % 28)).padStart(2, '0')}`,
  }));
  for (const v of diary)
    if (!watched.some((w) => w.film.slug === v.film.slug)) watched.push({ film: v.film, date: firstSeen.get(v.film.slug)! });
  watched.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));

  const rows = {
    'watched.csv': watched.map((w) => [w.date, w.film.title, w.film.year, boxdIt(w.film.id)]),
    'diary.csv': diary.map((v) => [
      localDay(v.publishedAt),
      v.film.title,
      v.film.year,
      boxdIt(v.viewingId),
      v.rating,
      v.rewatch ? 'Yes' : null,
      null,
      v.watchedDate,
    ]),
    'ratings.csv': member.films
      .filter((e) => e.rating !== null)
      .map((e) => [firstSeen.get(e.film.slug) ?? '2019-01-01', e.film.title, e.film.year, boxdIt(e.film.id), e.rating]),
  };
  const files = new Map<string, string>();
  const table = (name: 'watched.csv' | 'diary.csv' | 'ratings.csv', header: readonly string[]) => {
    const all = [options.headers?.[name] ?? [...header], ...rows[name], ...(options.extraRows?.[name] ?? [])];
    files.set(name, bom + csv(all, eol));
  };
  files.set(
    'profile.csv',
    bom +
      csv(
        [
          ['Date Joined', 'Username', 'Given Name'],
          ['2019-01-01', member.username, member.displayName],
        ],
        eol,
      ),
  );
  table('watched.csv', EXPORT_HEADERS.watched);
  table('diary.csv', EXPORT_HEADERS.diary);
  table('ratings.csv', EXPORT_HEADERS.ratings);
  files.set(
    'reviews.csv',
    bom +
      csv(
        [
          [...EXPORT_HEADERS.diary, 'Review'],
          ...member.diary
            .filter((v) => v.review)
            .map((v) => [
              localDay(v.publishedAt),
              v.film.title,
              v.film.year,
              boxdIt(v.viewingId),
              v.rating,
              null,
              null,
              v.watchedDate,
              v.review,
            ]),
        ],
        eol,
      ),
  );
  // Not watched: the same header as watched.csv, told apart only by the file name.
  files.set(
    'watchlist.csv',
    bom + csv([[...EXPORT_HEADERS.watched], ['2026-01-02', 'Watchlist Only Film', 2020, 'https://boxd.it/zzz1']], eol),
  );
  for (const name of options.omit ?? []) files.delete(name);
  return files;
}

/**
 * The member's export as Letterboxd would give it: the root CSVs plus likes/, lists/, deleted/ and
 * orphaned/, whose rows must never count as history (they name films that appear nowhere else).
 */
export function exportZip(member: FakeMember, options: ExportOptions = {}): Buffer {
  const eol = options.eol === 'lf' ? '\n' : '\r\n';
  const entries: ZipEntrySpec[] = [...exportFiles(member, options)].map(([name, data]) => ({ name, data, method: options.method }));
  const decoy = (title: string) =>
    csv([[...EXPORT_HEADERS.diary], ['2026-02-02', title, 2001, 'https://boxd.it/dec0y', 5, null, null, '2026-02-01']], eol);
  entries.push(
    {
      name: 'likes/films.csv',
      data: csv([[...EXPORT_HEADERS.watched], ['2026-02-02', 'Liked Elsewhere', 2001, 'https://boxd.it/l1']], eol),
    },
    {
      name: 'lists/best-of-the-year.csv',
      data: csv(
        [['Letterboxd list export v7'], ['Position', 'Name', 'Year', 'URL'], ['1', 'Listed Only', '2002', 'https://boxd.it/l2']],
        eol,
      ),
    },
    { name: 'deleted/diary.csv', data: decoy('Deleted Viewing') },
    {
      name: 'deleted/watched.csv',
      data: csv([[...EXPORT_HEADERS.watched], ['2026-02-02', 'Deleted Film', 2003, 'https://boxd.it/d1']], eol),
    },
    { name: 'orphaned/diary.csv', data: decoy('Orphaned Viewing') },
    ...(options.extraEntries ?? []),
  );
  return makeZip(entries);
}

// ---------------------------------------------------------------------------------------------
// Hostile and broken uploads

export type HostileKind =
  | 'not-zip'
  | 'empty'
  | 'truncated'
  | 'bomb-declared' // watched.csv honestly declares 64 MB (deflated to ~64 KB)
  | 'bomb-lying' // watched.csv declares 1 KB and inflates to 64 MB
  | 'bomb-total' // many entries that together declare more than the total cap
  | 'traversal' // ../watched.csv
  | 'traversal-deep' // lists/../../etc/passwd
  | 'absolute' // /etc/watched.csv
  | 'drive' // C:/watched.csv
  | 'backslash' // ..\\watched.csv
  | 'nul' // watched.csv\0.txt
  | 'unicode-path' // raw name fine, Info-ZIP Unicode Path "../diary.csv"
  | 'many-entries' // 20,000 entries
  | 'no-csvs' // a ZIP of pictures
  | 'wrapped' // the CSVs one folder down
  | 'duplicate' // watched.csv twice
  | 'encrypted'
  | 'corrupt-data'; // deflate data damaged

/** A small, valid export to build the hostile variants around. */
function baseEntries(): ZipEntrySpec[] {
  return [
    { name: 'watched.csv', data: csv([[...EXPORT_HEADERS.watched], ['2026-01-01', 'Flow', 2024, 'https://boxd.it/a1']]) },
    {
      name: 'diary.csv',
      data: csv([[...EXPORT_HEADERS.diary], ['2026-01-02', 'Flow', 2024, 'https://boxd.it/b1', 4.5, null, null, '2026-01-01']]),
    },
  ];
}

const MB = 1024 * 1024;
let zeros64: Buffer | null = null;
function bigCsv(): Buffer {
  // A header, then 64 MB of one repeated row: deflates ~1000:1.
  if (!zeros64) {
    const row = Buffer.from('2026-01-01,Flow,2024,https://boxd.it/a1\r\n');
    const out = Buffer.alloc(64 * MB);
    const head = Buffer.from(EXPORT_HEADERS.watched.join(',') + '\r\n');
    head.copy(out, 0);
    for (let at = head.length; at < out.length; at += row.length) row.copy(out, at);
    zeros64 = out;
  }
  return zeros64;
}

export function hostileZip(kind: HostileKind): Buffer {
  const base = baseEntries();
  switch (kind) {
    case 'not-zip':
      return Buffer.from('Date,Name,Year,Letterboxd URI\r\n2026-01-01,Flow,2024,https://boxd.it/a1\r\n');
    case 'empty':
      return Buffer.alloc(0);
    case 'truncated': {
      const z = makeZip(base);
      return z.subarray(0, z.length - 30);
    }
    case 'bomb-declared':
      return makeZip([{ name: 'watched.csv', data: bigCsv() }, base[1]]);
    case 'bomb-lying':
      return makeZip([{ name: 'watched.csv', data: bigCsv(), declaredSize: 1024 }, base[1]]);
    case 'bomb-total':
      return makeZip([
        ...base,
        ...Array.from({ length: 12 }, (_, i) => ({ name: `lists/list-${i}.csv`, data: 'x', declaredSize: 30 * MB })),
      ]);
    case 'traversal':
      return makeZip([...base, { name: '../watched.csv', data: 'x' }]);
    case 'traversal-deep':
      return makeZip([...base, { name: 'lists/../../etc/passwd', data: 'x' }]);
    case 'absolute':
      return makeZip([...base, { name: '/etc/watched.csv', data: 'x' }]);
    case 'drive':
      return makeZip([...base, { name: 'C:/watched.csv', data: 'x' }]);
    case 'backslash':
      return makeZip([...base, { name: '..\\watched.csv', data: 'x' }]);
    case 'nul':
      return makeZip([...base, { name: Buffer.from('watched.csv\u0000.txt', 'latin1'), data: 'x' }]);
    case 'unicode-path':
      return makeZip([...base, { name: 'notes.txt', unicodePath: '../diary.csv', data: 'x' }]);
    case 'many-entries':
      return makeZip([
        ...base,
        ...Array.from({ length: 20_000 }, (_, i) => ({ name: `lists/l${i}.csv`, method: 'store' as const, data: '' })),
      ]);
    case 'no-csvs':
      return makeZip([
        { name: 'holiday.jpg', data: Buffer.from([0xff, 0xd8, 0xff]) },
        { name: 'notes/readme.txt', data: 'hello' },
      ]);
    case 'wrapped':
      return makeZip(base.map((e) => ({ ...e, name: `letterboxd-dave-2026-11-15-09-30-utc/${e.name as string}` })));
    case 'duplicate':
      return makeZip([...base, base[0]]);
    case 'encrypted':
      return makeZip([{ ...base[0], encrypted: true }, base[1]]);
    case 'corrupt-data': {
      const z = makeZip([{ name: 'watched.csv', data: 'Date,Name,Year,Letterboxd URI\r\n'.repeat(50) }, base[1]]);
      // Damage the deflate stream right after the first local header and name.
      const at = 30 + 'watched.csv'.length + 2;
      z.fill(0xff, at, at + 12);
      return z;
    }
  }
}
