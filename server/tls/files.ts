/** Small file helpers for TLS material: a private folder, atomic writes with an exact mode. */
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

/** Creates `dir` if needed and makes it 0700 (mkdir's mode is filtered by the umask; chmod is not). */
export function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/**
 * Writes through a temporary file and a rename, so a reader (or a crash) never sees half a key. The
 * temporary file is created with `mode` already, so a private key is never readable by others.
 */
export function writeAtomic(path: string, data: string | Buffer, mode: number): void {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, data, { mode, flag: 'wx' });
    chmodSync(tmp, mode);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** The file's text, or null when it does not exist. */
export function readIfExists(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** The permission bits of a file, or null when it does not exist. */
export function modeOf(path: string): number | null {
  try {
    return statSync(path).mode & 0o777;
  } catch {
    return null;
  }
}
