/**
 * LETTERBOXD_USER_AGENT: the loader's checks, and a real worker process sending the configured
 * User-Agent (or, unset, its own honest one naming moviemosaic) to the fake Letterboxd.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../common/config.js';
import { openDb, type Db } from '../../db/sqlite/open.js';
import { createTaskStore } from '../../db/sqlite/tasks.js';
import { startFakeLetterboxd, type FakeLetterboxd } from '../helpers/fakeLetterboxd.js';
import { tmpDir } from '../helpers/tmp.js';
import { spawnTs, waitFor } from '../helpers/processes.js';

const now = new Date(2026, 10, 15, 12, 0, 0);
let lb: FakeLetterboxd;

test.before(async () => {
  lb = await startFakeLetterboxd({ now });
});
test.after(async () => {
  await lb.close();
});

test('the loader: unset or blank is null (the default); a value with a line break or non-ASCII is refused', () => {
  assert.is(loadConfig({}).letterboxdUserAgent, null);
  assert.is(loadConfig({ LETTERBOXD_USER_AGENT: '  ' }).letterboxdUserAgent, null);
  assert.is(
    loadConfig({ LETTERBOXD_USER_AGENT: ' feedreader/1 (+mailto:me@example.org) ' }).letterboxdUserAgent,
    'feedreader/1 (+mailto:me@example.org)',
  );
  for (const bad of ['a\r\nX-Injected: 1', 'café/1']) {
    assert.throws(
      () => loadConfig({ LETTERBOXD_USER_AGENT: bad }),
      (err: unknown) => err instanceof ConfigError && /LETTERBOXD_USER_AGENT/.test(err.message),
    );
  }
});

async function feedUserAgent(env: Record<string, string>): Promise<string | undefined> {
  const dir = tmpDir('mm-ua-');
  let db: Db | null = null;
  const worker = spawnTs('worker/main.ts', { DATA_DIR: dir.dir, ...lb.env, ...env });
  try {
    db = openDb(join(dir.dir, 'moviemosaic.db'));
    const tasks = createTaskStore(db);
    lb.reset();
    const id = tasks.enqueue({
      action: 'create_mosaic',
      username: 'dave',
      params: { mode: 'recent', count: 3, layout: 'grid', format: 'jpeg' },
    }).task.id;
    const task = await waitFor(
      () => {
        const t = tasks.get(id)!;
        return ['COMPLETE', 'ERROR'].includes(t.status) && t;
      },
      60_000,
      `task ${id}\n${worker.output()}`,
    );
    assert.is(task.status, 'COMPLETE', `${task.errorCode}: ${task.errorMsg}`);
    const feed = lb.requests.find((r) => r.path === '/dave/rss/');
    return feed?.headers['user-agent'];
  } finally {
    worker.kill('SIGTERM');
    await worker.exited;
    db?.close();
    dir.cleanup();
  }
}

test('a worker process sends LETTERBOXD_USER_AGENT, and without it its own name', async () => {
  assert.is(
    await feedUserAgent({ LETTERBOXD_USER_AGENT: 'my-mosaics/3 (+https://mosaics.example.org)' }),
    'my-mosaics/3 (+https://mosaics.example.org)',
  );
  assert.match(String(await feedUserAgent({})), /^moviemosaic\/\S+ \(/);
});

test.run();
