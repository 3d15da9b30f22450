/**
 * Choosing the engine from the environment: loadConfig's DATABASE_URL, then openStorage: unset, the
 * SQLite file in DATA_DIR; postgres://, the PostgreSQL adapter (on a throwaway cluster; without the
 * server binaries those tests print one SKIP line, CI=true: a failure); anything else, a clear error.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../../common/config.js';
import { openStorage, SQLITE_FILE } from '../../../db/openStorage.js';
import { pgSuite, startPostgres } from '../../helpers/postgres.js';
import { tmpDir } from '../../helpers/tmp.js';
import { month } from './subject.js';

test('DATABASE_URL unset: the SQLite file in DATA_DIR, which a second open sees', async () => {
  const t = tmpDir();
  try {
    const config = loadConfig({ DATA_DIR: join(t.dir, 'data') });
    assert.is(config.databaseUrl, null);
    const s = await openStorage({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    assert.is(s.kind, 'sqlite');
    assert.ok(existsSync(join(t.dir, 'data', SQLITE_FILE)));
    const { task } = await s.tasks.enqueue({ action: 'create_mosaic', username: 'ann', params: month });
    await s.close();
    const again = await openStorage({ databaseUrl: '', dataDir: config.dataDir });
    assert.is((await again.tasks.get(task.id))!.username, 'ann');
    await again.close();
  } finally {
    t.cleanup();
  }
});

test('DATABASE_URL that is not a PostgreSQL URL: a ConfigError naming the setting, never echoing the value', () => {
  for (const bad of ['mysql://u:secret@h/db', 'postgres//nohost', 'postgres://', 'secret-password']) {
    let err: unknown;
    try {
      loadConfig({ DATABASE_URL: bad });
    } catch (e) {
      err = e;
    }
    assert.instance(err, ConfigError, bad);
    const message = (err as ConfigError).message;
    assert.match(message, /DATABASE_URL must be a PostgreSQL URL like postgres:\/\//);
    assert.not.match(message, /secret/);
  }
  assert.is(loadConfig({ DATABASE_URL: ' postgresql://mm@db.internal:5432/mm ' }).databaseUrl, 'postgresql://mm@db.internal:5432/mm');
});

test('openStorage refuses an unknown scheme with the same sentence', async () => {
  const err = await openStorage({ databaseUrl: 'mysql://h/db', dataDir: '/nonexistent' }).then(
    () => null,
    (e: unknown) => e,
  );
  assert.match(String(err), /DATABASE_URL must be a PostgreSQL URL/);
});

test.run();

const cluster = await startPostgres('test/db/conformance/openStorage.test.ts (PostgreSQL)');
const pgTest = pgSuite('openStorage: postgres', cluster);
pgTest.after(() => cluster?.stop());

pgTest('DATABASE_URL=postgres://…: the PostgreSQL adapter, migrated, shared by two opens', async () => {
  const url = cluster!.createDatabase('open_storage');
  const config = loadConfig({ DATABASE_URL: url, DATA_DIR: '/nonexistent/never-created' });
  const [a, b] = await Promise.all([
    openStorage({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }),
    openStorage({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }),
  ]);
  try {
    assert.equal([a.kind, b.kind], ['postgres', 'postgres']);
    const { task } = await a.tasks.enqueue({ action: 'create_mosaic', username: 'ann', params: month });
    assert.is((await b.tasks.get(task.id))!.username, 'ann');
    assert.ok(!existsSync('/nonexistent/never-created'), 'no SQLite file is made');
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

pgTest.run();
