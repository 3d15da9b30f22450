import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { copyFileSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { checkpointIfDue, openDb, writeTx } from '../../db/open.js';
import { tmpDir } from '../helpers/tmp.js';

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
  assert.is(writeTx(db, () => insert.run('a').changes), 1, 'the transaction returns its value');
  assert.equal(inMainFile(path), ['a'], 'the first commit checkpointed');
  writeTx(db, () => insert.run('b'));
  assert.equal(inMainFile(path), ['a'], 'within the interval: still only in the WAL');
  assert.equal((db.prepare(`SELECT v FROM t ORDER BY v`).all() as { v: string }[]).map((r) => r.v), ['a', 'b']);
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

test.run();
