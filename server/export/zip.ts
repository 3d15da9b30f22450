/**
 * Reading an uploaded ZIP through its central directory (yauzl), hostile input assumed (docs/architecture.md#export-upload):
 * every entry name is checked (absolute, `..`, backslash, NUL), the entry count and the declared
 * inflated sizes are capped before a byte is inflated, and the entries asked for are inflated as
 * streams (zlib works off the event loop) whose actual size is capped again.
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { AppError } from '../../common/errors.js';

export interface ZipLimits {
  /** Entries in the central directory (files and folders). */
  maxEntries: number;
  /** Declared inflated size of one entry that is read. */
  maxEntryBytes: number;
  /** Declared inflated size of all entries together, read or not. */
  maxTotalBytes: number;
}

/** An entry chosen for reading: its checked name and a way to inflate it under the limits. */
export interface ZipMember {
  name: string;
  declaredBytes: number;
  /** The inflated bytes; the stream errors with INVALID_EXPORT past `maxEntryBytes` or on damage. */
  open(): Promise<Readable>;
}

export interface ZipListing {
  /** Every file name in the archive (folders left out), in central-directory order. */
  names: string[];
  /** The entries `want` accepted, by name. */
  members: Map<string, ZipMember>;
}

export function invalidExport(message: string, cause?: unknown): AppError {
  return new AppError('INVALID_EXPORT', message, cause === undefined ? {} : { cause });
}

export function megabytes(bytes: number): string {
  const mb = bytes / (1024 * 1024);
  return `${mb >= 10 ? Math.round(mb) : Math.round(mb * 10) / 10} MB`;
}

/** Shown in messages: short, printable, never a control character. */
export function shown(name: string): string {
  // eslint-disable-next-line no-control-regex
  const printable = name.replace(/[\u0000-\u001f\u007f]/g, (c) => (c === '\u0000' ? '\\0' : '?'));
  return JSON.stringify(printable.length > 80 ? `${printable.slice(0, 77)}...` : printable);
}

/** Why a name may not be read, or null: the checks an extractor needs so no name escapes its folder. */
export function unsafeName(name: string): string | null {
  if (name.includes('\u0000')) return 'it contains a NUL character';
  if (name.includes('\\')) return 'it contains a backslash';
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) return 'it is an absolute path';
  if (name.split('/').includes('..')) return 'it climbs out of the archive with ".."';
  return null;
}

/**
 * The name as an extractor would see it. Decoded here (decodeStrings: false) so that every unsafe
 * name gets its own sentence; both the raw name and an Info-ZIP Unicode Path field must be safe.
 */
function entryName(entry: Entry): string {
  const raw = entry.fileNameRaw;
  const plain = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, raw, [], true);
  const unicode = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, raw, entry.extraFields, true);
  for (const name of plain === unicode ? [plain] : [plain, unicode]) {
    const why = unsafeName(name);
    if (why)
      throw invalidExport(
        `The ZIP holds an entry with an unsafe name (${shown(name)}): ${why}. Upload the ZIP exactly as Letterboxd made it.`,
      );
  }
  return unicode;
}

/** Counts inflated bytes and stops the stream once they pass `max`. */
class ByteCap extends Transform {
  private seen = 0;
  constructor(
    private readonly max: number,
    private readonly name: string,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.max) {
      done(
        invalidExport(
          `${this.name} unpacks to more than ${megabytes(this.max)}, more than an export holds; the ZIP is not a Letterboxd export.`,
        ),
      );
      return;
    }
    done(null, chunk);
  }
}

/** Turns what yauzl and zlib say about damaged data into an INVALID_EXPORT sentence. */
function damaged(name: string, err: unknown): AppError {
  if (err instanceof AppError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/too many bytes|not enough bytes/.test(message)) {
    return invalidExport(
      `${name} does not unpack to the size the ZIP declares for it; the ZIP is damaged or was not made by Letterboxd.`,
      err,
    );
  }
  return invalidExport(`${name} inside the ZIP is damaged and cannot be unpacked; export your data from Letterboxd again.`, err);
}

async function openZip(buffer: Buffer): Promise<ZipFile> {
  try {
    // decodeStrings: false — names are decoded and checked by entryName(), each with its own sentence.
    return await yauzl.fromBufferPromise(buffer, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true });
  } catch (err) {
    throw invalidExport(
      'The upload is not a ZIP file. Upload the .zip file Letterboxd’s “Export your data” gives, without unpacking it.',
      err,
    );
  }
}

/**
 * Lists the archive and picks the entries `want` accepts (by checked name). Throws INVALID_EXPORT for
 * anything hostile or damaged in the central directory, before any entry is inflated.
 */
export async function listZip(buffer: Buffer, limits: ZipLimits, want: (name: string) => boolean): Promise<ZipListing> {
  if (buffer.length === 0) throw invalidExport('The upload is empty. Choose the .zip file Letterboxd’s “Export your data” gives.');
  const zip = await openZip(buffer);
  if (zip.entryCount > limits.maxEntries) {
    zip.close();
    throw invalidExport(`The ZIP holds ${zip.entryCount} entries, more than the ${limits.maxEntries} a Letterboxd export could have.`);
  }
  const names: string[] = [];
  const chosen = new Map<string, Entry>();
  let declared = 0;
  try {
    for await (const entry of zip.eachEntry()) {
      const name = entryName(entry);
      if (name.endsWith('/')) continue; // a folder
      names.push(name);
      declared += entry.uncompressedSize;
      if (declared > limits.maxTotalBytes) {
        throw invalidExport(
          `The ZIP’s files would take more than ${megabytes(limits.maxTotalBytes)} unpacked; a Letterboxd export is far smaller.`,
        );
      }
      if (!want(name)) continue;
      if (chosen.has(name)) throw invalidExport(`The ZIP holds ${shown(name)} twice; export your data from Letterboxd again.`);
      if (entry.uncompressedSize > limits.maxEntryBytes) {
        throw invalidExport(
          `${name} would take ${megabytes(entry.uncompressedSize)} unpacked, more than the ${megabytes(limits.maxEntryBytes)} an export file may have.`,
        );
      }
      if (entry.isEncrypted()) throw invalidExport(`${name} is encrypted in the ZIP; upload the export as Letterboxd made it.`);
      if (!entry.canDecodeFileData())
        throw invalidExport(`${name} is packed with a method this server cannot unpack; upload the export as Letterboxd made it.`);
      chosen.set(name, entry);
    }
  } catch (err) {
    zip.close();
    if (err instanceof AppError) throw err;
    throw invalidExport('The ZIP’s list of files is damaged; export your data from Letterboxd again.', err);
  }

  const members = new Map<string, ZipMember>();
  for (const [name, entry] of chosen) {
    members.set(name, {
      name,
      declaredBytes: entry.uncompressedSize,
      async open() {
        let source: Readable;
        try {
          source = await zip.openReadStreamPromise(entry);
        } catch (err) {
          throw damaged(name, err);
        }
        // yauzl already fails a stream that inflates past its declared size (validateEntrySizes); the
        // cap is the second, independent bound.
        const cap = new ByteCap(limits.maxEntryBytes, name);
        // Errors of the inflater reach the consumer through the cap, translated once.
        source.on('error', (err) => cap.destroy(damaged(name, err)));
        cap.once('error', () => {
          source.unpipe(cap);
          source.destroy();
        });
        return source.pipe(cap);
      },
    });
  }
  return { names, members };
}
