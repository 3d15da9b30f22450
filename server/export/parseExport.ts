/**
 * A Letterboxd data export (docs/letterboxd.md#the-data-export) read from the uploaded ZIP's
 * bytes: the root-level `watched.csv`, `diary.csv` and `ratings.csv` only (deleted/, orphaned/,
 * lists/, likes/ are not history), RFC 4180 CSV with CRLF or LF, BOM tolerated, quoted multi-line
 * fields. Inflating runs in zlib's threads and parsing yields to the event loop between chunks, so the
 * server stays responsive (docs/architecture.md#export-upload). Anything wrong is INVALID_EXPORT with a sentence saying what.
 *
 * The export/ folder owns reading an upload's bytes into ExportData: the bounded ZIP reader (zip.ts)
 * and this parser. Pure apart from the bytes it is handed: no store, no file, no HTTP; the upload route
 * (server/routes/export.ts) reads the body and saves the result.
 */
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { CsvError, parse } from 'csv-parse';
import type { ExportData, ExportFilm, ExportRating, ExportViewing } from '../../db/port.js';
import { invalidExport, listZip, megabytes, shown, type ZipLimits, type ZipMember } from './zip.js';

export interface ExportLimits extends ZipLimits {
  /** Data rows of one CSV. */
  maxRows: number;
  /** One CSV record, quoted newlines included (a stray quote would otherwise swallow the file). */
  maxRecordBytes: number;
  /** Characters (code points) of one film title; Letterboxd's longest are under 250. */
  maxTitleChars: number;
  /** Different films (title and year) in the whole export. */
  maxFilms: number;
}

export const DEFAULT_EXPORT_LIMITS: Readonly<ExportLimits> = Object.freeze({
  maxEntries: 10_000,
  maxEntryBytes: 32 * 1024 * 1024,
  maxTotalBytes: 256 * 1024 * 1024,
  // A stored import, and every mosaic made from it, is bounded by what it may hold: a member with
  // 20,000 films has about that many rows per file.
  maxRows: 50_000,
  maxRecordBytes: 256 * 1024,
  maxTitleChars: 300,
  maxFilms: 50_000,
});

/** Records parsed between two turns of the event loop. */
const RECORDS_PER_TURN = 500;

type FileName = 'watched.csv' | 'diary.csv' | 'ratings.csv';
const FILES: readonly FileName[] = ['watched.csv', 'diary.csv', 'ratings.csv'];

/** The documented headers (shown in messages) and the columns this app reads from each file. */
const HEADERS: Record<FileName, { documented: string; needed: string[] }> = {
  'watched.csv': { documented: 'Date,Name,Year,Letterboxd URI', needed: ['Date', 'Name', 'Year'] },
  'diary.csv': {
    documented: 'Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date',
    needed: ['Name', 'Year', 'Rating', 'Rewatch', 'Watched Date'],
  },
  'ratings.csv': { documented: 'Date,Name,Year,Letterboxd URI,Rating', needed: ['Name', 'Year', 'Rating'] },
};

const DAY = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

function day(value: string | undefined): string | null {
  const v = value?.trim() ?? '';
  return DAY.test(v) ? v : null;
}

function year(value: string | undefined): number | null {
  const v = value?.trim() ?? '';
  return /^\d{4}$/.test(v) ? Number(v) : null;
}

/** `4`, `4.5`, `0.5`: 0.5–5 in halves; anything else is unrated. */
function rating(value: string | undefined): number | null {
  const v = value?.trim() ?? '';
  if (!/^\d(\.\d+)?$/.test(v)) return null;
  const n = Number(v);
  return n >= 0.5 && n <= 5 && Number.isInteger(n * 2) ? n : null;
}

/** Column positions by header name (trimmed, case-insensitive), or INVALID_EXPORT naming the file. */
function columnsOf(file: FileName, header: string[]): Map<string, number> {
  const at = new Map<string, number>();
  header.forEach((cell, i) => {
    const key = cell.trim().toLowerCase();
    if (!at.has(key)) at.set(key, i);
  });
  const missing = HEADERS[file].needed.filter((c) => !at.has(c.toLowerCase()));
  if (missing.length > 0) {
    const found = header.join(',').slice(0, 120);
    throw invalidExport(
      `${file} does not have the header of a Letterboxd export (${HEADERS[file].documented}): ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing (found ${JSON.stringify(found)}).`,
    );
  }
  return at;
}

/** A data row's cell by column name ("" when the file has no such column or the row is short). */
type Cell = (column: string) => string;

/**
 * The CSV's data rows, each turned into a `T` by `convert` (null: skipped) as it is parsed, so the
 * work is spread over the turns of the event loop like the parsing itself.
 */
async function readCsv<T extends ExportFilm>(
  file: FileName,
  source: Readable,
  limits: ExportLimits,
  convert: (cell: Cell) => T | null,
): Promise<T[]> {
  const parser = parse({
    bom: true,
    skip_empty_lines: true,
    relax_column_count: true,
    max_record_size: limits.maxRecordBytes,
  });
  const flowing = pipeline(source, parser);
  flowing.catch(() => {}); // the loop below sees the same error through the parser
  const out: T[] = [];
  let columns: Map<string, number> | null = null;
  let record: string[] = [];
  const cell: Cell = (column) => {
    const i = columns!.get(column.toLowerCase());
    return i === undefined ? '' : (record[i] ?? '');
  };
  let n = 0;
  try {
    for await (const r of parser as AsyncIterable<string[]>) {
      if (++n % RECORDS_PER_TURN === 0) await nextTurn();
      if (!columns) {
        columns = columnsOf(file, r);
        continue;
      }
      if (n - 1 > limits.maxRows) {
        throw invalidExport(
          `${file} has more than ${limits.maxRows.toLocaleString('en-US')} rows, more than this server reads from one export (the limit is ${limits.maxRows.toLocaleString('en-US')} rows per file).`,
        );
      }
      record = r;
      const row = convert(cell);
      if (row === null) continue;
      const chars = codePoints(row.name, limits.maxTitleChars + 1);
      if (chars > limits.maxTitleChars) {
        throw invalidExport(
          `${file} row ${n - 1} has a title longer than ${limits.maxTitleChars} characters, the longest this server reads; a Letterboxd export has no such title. Export your data from Letterboxd again.`,
        );
      }
      out.push(row);
    }
    await flowing;
  } catch (err) {
    source.destroy();
    parser.destroy();
    if (err instanceof CsvError) {
      const line = typeof err.lines === 'number' ? ` near line ${err.lines}` : '';
      const why =
        err.code === 'CSV_MAX_RECORD_SIZE'
          ? 'a record is far too long (an unclosed quote?)'
          : err.message.replace(/[.:]?\s*$/, '').slice(0, 120);
      throw invalidExport(`${file} is not valid CSV${line}: ${why}.`, err);
    }
    throw err;
  }
  if (!columns) throw invalidExport(`${file} is empty: it should start with the header ${HEADERS[file].documented}.`);
  return out;
}

/** Code points in `s`, counting no further than `stop`. */
function codePoints(s: string, stop: number): number {
  if (s.length <= stop) return [...s].length;
  let n = 0;
  for (const _ of s) if (++n >= stop) break;
  return n;
}

/** Different films (title and year) across the export's files. */
function distinctFilms(...lists: ExportFilm[][]): number {
  const seen = new Set<string>();
  for (const list of lists) for (const f of list) seen.add(`${f.name.toLowerCase()}\u0000${f.year ?? ''}`);
  return seen.size;
}

/**
 * A `Letterboxd URI` as `https://boxd.it/{code}`, or null: only Letterboxd's own short link is taken
 * as an identity (it names the film in watched.csv and ratings.csv, the entry in diary.csv).
 */
function boxdUri(raw: string): string | null {
  const m = /^https?:\/\/boxd\.it\/([A-Za-z0-9]+)\/?$/i.exec(raw.trim());
  return m ? `https://boxd.it/${m[1]}` : null;
}

function film(cell: Cell): ExportFilm | null {
  const name = cell('Name').trim();
  if (!name) return null;
  return { date: day(cell('Date')), name, year: year(cell('Year')), uri: boxdUri(cell('Letterboxd URI')) };
}

function viewing(cell: Cell): ExportViewing | null {
  const f = film(cell);
  return (
    f && { ...f, rating: rating(cell('Rating')), rewatch: /^yes$/i.test(cell('Rewatch').trim()), watchedDate: day(cell('Watched Date')) }
  );
}

function rated(cell: Cell): ExportRating | null {
  const f = film(cell);
  return f && { ...f, rating: rating(cell('Rating')) };
}

/** The CSVs sit one folder down: the ZIP was unpacked and packed again. */
function wrappedFolder(names: string[]): string | null {
  for (const n of names) {
    const m = /^([^/]+\/)(watched|diary)\.csv$/i.exec(n);
    // deleted/ and orphaned/ hold CSVs of those names in every export: they are not the history.
    if (m && !/^(deleted|orphaned|likes|lists)\/$/i.test(m[1])) return m[1];
  }
  return null;
}

/**
 * Reads a Letterboxd export from the ZIP's bytes. Throws AppError INVALID_EXPORT (with what is wrong)
 * for anything that is not a sound export: not a ZIP, hostile entries, too large, no CSVs, bad headers.
 */
export async function parseExport(zipBytes: Buffer, limits: ExportLimits = DEFAULT_EXPORT_LIMITS): Promise<ExportData> {
  const pick = (name: string) => (FILES as readonly string[]).includes(name.toLowerCase());
  const { names, members } = await listZip(zipBytes, limits, pick);
  const byFile = new Map<FileName, ZipMember>();
  for (const [name, m] of members) {
    const file = name.toLowerCase() as FileName;
    if (byFile.has(file))
      throw invalidExport(
        `The ZIP holds ${file} twice (${shown(byFile.get(file)!.name)} and ${shown(name)}); export your data from Letterboxd again.`,
      );
    byFile.set(file, m);
  }
  if (!byFile.has('watched.csv') && !byFile.has('diary.csv')) {
    const folder = wrappedFolder(names);
    if (folder) {
      throw invalidExport(
        `The export’s CSV files are inside the folder ${shown(folder)}; upload the ZIP exactly as Letterboxd gave it, with watched.csv and diary.csv at its top level.`,
      );
    }
    throw invalidExport(
      'This ZIP holds no watched.csv or diary.csv at its top level, so it is not a Letterboxd data export. Use Letterboxd’s Settings → Import & Export → “Export your data”, then upload that ZIP.',
    );
  }
  let total = 0;
  for (const m of byFile.values()) total += m.declaredBytes;
  if (total > limits.maxEntryBytes) {
    throw invalidExport(
      `The export’s CSV files would take ${megabytes(total)} unpacked, more than the ${megabytes(limits.maxEntryBytes)} this server reads.`,
    );
  }

  const read = async <T extends ExportFilm>(file: FileName, convert: (cell: Cell) => T | null): Promise<T[]> => {
    const m = byFile.get(file);
    return m ? readCsv(file, await m.open(), limits, convert) : [];
  };
  // One file at a time: memory holds one inflating CSV at once.
  const watched = await read('watched.csv', film);
  const diary = await read('diary.csv', viewing);
  const ratings = await read('ratings.csv', rated);
  const films = distinctFilms(watched, diary, ratings);
  if (films > limits.maxFilms) {
    throw invalidExport(
      `The export lists ${films.toLocaleString('en-US')} different films, more than the ${limits.maxFilms.toLocaleString('en-US')} this server reads from one export.`,
    );
  }
  return { watched, diary, ratings };
}
