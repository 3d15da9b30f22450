import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { chmodSync, copyFileSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { checkpointIfDue, openDb, restrictDataDir, writeTx } from '../../../db/sqlite/open.js';
import { tmpDir } from '../../helpers/tmp.js';

/** What the database file itself holds, ignoring the WAL: only checkpointed commits show up here. */
function inMainFile(path: string): string[] {
  const copy = `${path}.main-only`;
  copyFileSync(path, copy);
  const view = new Database(copy);
  try {
    return (view.prepare(`SELECT v FROM t ORDER BY v`).all() as { v: string }[]).map((r) => r.v);
  } finally {
    view.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(copy + suffix, { force: true });
  }
}

test('checkpointEveryMs: a commit checkpoints the WAL at most once per interval; SQLite only as a backstop', () => {
  const t = tmpDir();
  const path = join(t.dir, 'c.db');
  const db = openDb(path, { checkpointEveryMs: 3_600_000 });
  assert.is(db.pragma('wal_autocheckpoint', { simple: true }), 10_000);
  db.exec(`CREATE TABLE t (v TEXT)`);
  const insert = db.prepare(`INSERT INTO t (v) VALUES (?)`);
  assert.is(
    writeTx(db, () => insert.run('a').changes),
    1,
    'the transaction returns its value',
  );
  assert.equal(inMainFile(path), ['a'], 'the first commit checkpointed');
  writeTx(db, () => insert.run('b'));
  assert.equal(inMainFile(path), ['a'], 'within the interval: still only in the WAL');
  assert.equal(
    (db.prepare(`SELECT v FROM t ORDER BY v`).all() as { v: string }[]).map((r) => r.v),
    ['a', 'b'],
  );
  db.close();
  t.cleanup();
});

test('checkpointIfDue: housekeeping checkpoints writes that no later commit would have', () => {
  const t = tmpDir();
  const path = join(t.dir, 'h.db');
  const db = openDb(path, { checkpointEveryMs: 0 });
  db.exec(`CREATE TABLE t (v TEXT)`);
  db.prepare(`INSERT INTO t (v) VALUES ('outside writeTx')`).run();
  assert.throws(() => inMainFile(path), /no such table/, 'not checkpointed yet');
  checkpointIfDue(db);
  assert.equal(inMainFile(path), ['outside writeTx']);
  db.close();
  t.cleanup();
});

test('default: SQLite checkpoints by itself at 1000 pages', () => {
  const t = tmpDir();
  const db = openDb(join(t.dir, 'd.db'));
  assert.is(db.pragma('wal_autocheckpoint', { simple: true }), 1000);
  db.close();
  t.cleanup();
});

test('private files: DATA_DIR 0700, the database and its WAL 0600, existing ones too (earlier versions: 0755/0644)', () => {
  const t = tmpDir();
  const mode = (p: string) => statSync(p).mode & 0o777;
  const fresh = join(t.dir, 'new', 'data');
  assert.ok(restrictDataDir(fresh));
  assert.is(mode(fresh), 0o700);
  const db = openDb(join(fresh, 'moviemosaic.db'));
  writeTx(db, () => db.exec('CREATE TABLE x (a)'));
  for (const f of ['moviemosaic.db', 'moviemosaic.db-wal', 'moviemosaic.db-shm']) assert.is(mode(join(fresh, f)), 0o600, f);
  db.close();

  const old = join(t.dir, 'old');
  mkdirSync(old, { mode: 0o755 });
  chmodSync(old, 0o755);
  const path = join(old, 'moviemosaic.db');
  new Database(path).close();
  writeFileSync(`${path}-wal`, '');
  for (const f of [path, `${path}-wal`]) chmodSync(f, 0o644);
  assert.ok(restrictDataDir(old));
  openDb(path).close();
  assert.equal([mode(old), mode(path)], [0o700, 0o600]);
  t.cleanup();
});

test.run();
