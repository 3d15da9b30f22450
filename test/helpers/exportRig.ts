/** Wiring for the export and TMDB tests: the kit's rig plus imports, TMDB and a store of exports. */
import { createImportStore, type ImportStore } from '../../db/sqlite/imports.js';
import { createTmdb, type Tmdb } from '../../worker/posters/tmdb.js';
import { parseExport } from '../../server/export/parseExport.js';
import type { CollectDeps } from '../../worker/sources/types.js';
import type { FakeFilm, FakeLetterboxd, FakeMember } from '../helpers/fakeLetterboxd.js';
import type { FakeTmdb } from '../helpers/fakeTmdb.js';
import { exportZip, type ExportOptions } from '../helpers/exportZip.js';
import { rig, type Rig } from './collectRig.js';

export interface ExportRig extends Rig {
  imports: ImportStore;
  /** null when TMDB is off. */
  tmdb: Tmdb | null;
  /** Deps for one collection (a fresh TMDB session each time). */
  deps(signal?: AbortSignal): CollectDeps;
  /** Imports the member's export (as the upload route would). */
  importExport(member: FakeMember, options?: ExportOptions): Promise<void>;
  importZip(username: string, zip: Buffer): Promise<void>;
}

/** The rig, with TMDB pointed at `tmdb` when given (key: its v3 key unless `apiKey` says otherwise). */
export function exportRig(lb: FakeLetterboxd, dir: string, tmdb: FakeTmdb | null = null, apiKey?: string): ExportRig {
  const r = rig(lb, dir, tmdb ? { tmdb: { apiUrl: tmdb.url, imageUrl: tmdb.imageUrl, apiKey: apiKey ?? tmdb.apiKey, spacingMs: 0 } } : {});
  const imports = createImportStore(r.db);
  const t = tmdb ? createTmdb({ http: r.http, store: r.storage.posters, clock: r.clock }) : null;
  let importedAt = r.clock.now();
  const importZip = async (username: string, zip: Buffer) => {
    await imports.replace(username, await parseExport(zip), ++importedAt);
  };
  return {
    ...r,
    imports,
    tmdb: t,
    deps: (signal) => ({ ...r.collectDeps(signal), imports: r.storage.imports, tmdb: t?.session() ?? null }),
    importExport: (member, options) => importZip(member.username, exportZip(member, options)),
    importZip,
  };
}

/** A film for members made in a test (fakeLetterboxd's own maker is private to it). */
let nextId = 990_001;
export function testFilm(
  title: string,
  year: number | null,
  slug: string,
  opts: { tmdbId?: number; kind?: 'movie' | 'tv'; posterName?: string | null } = {},
): FakeFilm {
  const id = nextId++;
  return {
    id,
    slug,
    title,
    year,
    posterName: opts.posterName === undefined ? slug : opts.posterName,
    color: [(id * 37) % 256, (id * 91) % 256, (id * 53) % 256],
    tmdb: { kind: opts.kind ?? 'movie', id: opts.tmdbId ?? 3_000_000 + id },
    cacheKey: ((id * 2654435761) >>> 0).toString(16).padStart(8, '0'),
  };
}
