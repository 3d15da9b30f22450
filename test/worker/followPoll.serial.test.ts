/**
 * Following, end to end through the production wiring: a real worker process (worker/main.ts) makes a
 * mosaic, which follows its member; the member's feed is then polled on schedule through the queue
 * (FEED_POLL_HOURS=0.0003: about a second); stopping deletes what was kept and ends the polls.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { openDb } from '../../db/sqlite/open.js';
import { createTaskStore } from '../../db/sqlite/tasks.js';
import { createArchiveStore } from '../../db/sqlite/archive.js';
import { POLL_ACTION } from '../../worker/pollFeed.js';
import { startFakeLetterboxd } from '../helpers/fakeLetterboxd.js';
import { tmpDir } from '../helpers/tmp.js';
import { spawnTs, waitFor } from '../helpers/processes.js';

const POLL_MS = 0.0003 * 3_600_000;

test('a completed mosaic follows its member; polls run through the queue, one feed request each; stop ends them', async () => {
  const lb = await startFakeLetterboxd({ now: new Date(Date.UTC(2026, 10, 15, 12)) });
  const dir = tmpDir();
  const db = openDb(join(dir.dir, 'moviemosaic.db'));
  const tasks = createTaskStore(db);
  const archive = createArchiveStore(db);
  const worker = spawnTs('worker/main.ts', { DATA_DIR: dir.dir, FEED_POLL_HOURS: '0.0003', ...lb.env });
  try {
    const id = tasks.enqueue({
      action: 'create_mosaic',
      username: 'dave',
      params: { mode: 'recent', count: 5, layout: 'grid', format: 'jpeg' },
    }).task.id;
    await waitFor(() => tasks.get(id)!.status === 'COMPLETE', 60_000, 'the mosaic');
    const done = Date.now();
    assert.ok(archive.isFollowed('dave'), 'followed once the mosaic completed');
    const polls = db.prepare<[string], { status: string; run_at: number; background: number }>(
      `SELECT status, run_at, background FROM tasks WHERE action = ? ORDER BY created_at`,
    );
    const [first] = polls.all(POLL_ACTION);
    assert.is(first.background, 1);
    assert.ok(first.run_at <= done + 1.1 * POLL_MS, 'the first poll, one interval on');

    // Two polls later: each one feed request, each scheduling the next.
    const feedReads = lb.count('/dave/rss/');
    await waitFor(() => polls.all(POLL_ACTION).filter((p) => p.status === 'COMPLETE').length >= 2, 30_000, 'two polls');
    assert.ok(lb.count('/dave/rss/') >= feedReads + 2);
    assert.is(polls.all(POLL_ACTION).filter((p) => p.status === 'QUEUED' || p.status === 'RUNNING').length, 1, 'one live poll: the next');
    const summary = archive.summary('dave');
    assert.ok(summary.wholeDiary && summary.entries === 35, `${JSON.stringify(summary)}`);

    // Stop: the kept history goes, and the chain ends at its next poll.
    archive.forget('dave');
    await waitFor(() => polls.all(POLL_ACTION).every((p) => p.status === 'COMPLETE'), 30_000, 'the last poll, with no successor');
    assert.is(archive.summary('dave').entries, 0, 'a poll running at the stop kept nothing');
  } finally {
    worker.kill('SIGTERM');
    await worker.exited;
    db.close();
    await lb.close();
    dir.cleanup();
  }
});

test.run();
