/**
 * The change feed on PostgreSQL: `task_events` read after a cursor, and a watcher woken by NOTIFY.
 *
 * A plain "seq > cursor" read is safe here because event writers are serialised from drawing their
 * seq to their commit (migrations.ts, mm_task_event): when a reader sees seq n, every committed
 * event below n is visible too. The notification is only a hint that something committed (it is
 * sent in the writing transaction, so it never arrives before the commit); the table is the truth,
 * and a slow poll reads it anyway in case a notification was lost (e.g. while the listening
 * connection was being replaced).
 */
import type pg from 'pg';
import type { EventType, Task } from '../../common/task.js';
import type { TaskEvent } from '../sqlite/events.js';
import type { FeedPoller, FeedWatch, LiveFeed, TaskReplay } from '../port.js';
import { createClient, withTx } from './connect.js';
import { FEED_CHANNEL } from './migrations.js';

interface EventRow {
  seq: number;
  task_id: string;
  type: EventType;
  payload: Task;
  created_at: number;
}

const toEvent = (r: EventRow): TaskEvent => ({ seq: r.seq, taskId: r.task_id, type: r.type, task: r.payload, createdAt: r.created_at });
const COLUMNS = 'seq, task_id, type, payload, created_at';

export function createPgFeed(pool: pg.Pool, url: string) {
  async function listAfter(after: number, limit = 1000): Promise<TaskEvent[]> {
    const { rows } = await pool.query<EventRow>(`SELECT ${COLUMNS} FROM task_events WHERE seq > $1 ORDER BY seq LIMIT $2`, [after, limit]);
    return rows.map(toEvent);
  }
  async function maxSeq(): Promise<number> {
    return (await pool.query<{ seq: number | null }>(`SELECT max(seq) AS seq FROM task_events`)).rows[0].seq ?? 0;
  }

  /**
   * ChangeFeed.replay's rule (db/sqlite/index.ts readReplay) in one REPEATABLE READ transaction, so
   * the task and its events come from one snapshot whatever commits meanwhile.
   */
  async function replay(taskId: string, after?: number): Promise<TaskReplay | null> {
    const c = await pool.connect();
    try {
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const q = async (sql: string, args: unknown[]) => (await c.query<EventRow>(sql, args)).rows.map(toEvent);
      const task = (await c.query<{ task: Task }>(`SELECT mm_task_json(t) AS task FROM tasks t WHERE id = $1`, [taskId])).rows[0]?.task;
      let out: TaskReplay | null = null;
      if (task) {
        const [latest] = await q(`SELECT ${COLUMNS} FROM task_events WHERE task_id = $1 ORDER BY seq DESC LIMIT 1`, [taskId]);
        if (after !== undefined && latest && after <= latest.seq) {
          const [first] = await q(`SELECT ${COLUMNS} FROM task_events WHERE task_id = $1 ORDER BY seq LIMIT 1`, [taskId]);
          // Pruning removes a task's oldest events first (see the SQLite adapter for the same rule).
          if (after >= first.seq || first.type === 'created') {
            const events = await q(`SELECT ${COLUMNS} FROM task_events WHERE task_id = $1 AND seq > $2 ORDER BY seq`, [taskId, after]);
            out = { kind: 'replay', task, events };
          }
        }
        if (!out) {
          const end = (await c.query<{ seq: number | null }>(`SELECT max(seq) AS seq FROM task_events`)).rows[0].seq ?? 0;
          out = { kind: 'snapshot', task, seq: latest?.seq ?? end };
        }
      }
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      c.release();
    }
  }

  /**
   * The pull-style reader the server's feed watcher drives: a NOTIFY on the feed's channel marks it
   * dirty, and `pollOnce` reads only then (or when forced, or every `safetyPollMs` in case a
   * notification was lost): a caller polling every 10 ms costs the database nothing while idle.
   */
  async function poller(options: { after?: number; safetyPollMs?: number } = {}): Promise<FeedPoller> {
    const safetyPollMs = options.safetyPollMs ?? 1000;
    let cursor = options.after ?? (await maxSeq());
    let dirty = true;
    let lastRead = 0;
    let closed = false;
    let listener: pg.Client | null = null;
    const listen = async () => {
      const c = createClient(url);
      c.on('notification', () => {
        dirty = true;
      });
      c.on('error', () => {
        if (listener === c) listener = null;
        dirty = true;
        void c.end().catch(() => {});
      });
      await c.connect();
      await c.query(`LISTEN ${FEED_CHANNEL}`);
      if (closed) await c.end();
      else listener = c;
    };
    await listen();
    return {
      cursor: () => cursor,
      async pollOnce(force = false) {
        const now = Date.now();
        if (!force && !dirty && now - lastRead < safetyPollMs) return [];
        if (!listener && !closed) await listen().catch(() => {});
        dirty = false;
        lastRead = now;
        const out: TaskEvent[] = [];
        for (;;) {
          const batch = await listAfter(cursor, 1000);
          out.push(...batch);
          if (batch.length) cursor = batch[batch.length - 1].seq;
          if (batch.length < 1000) return out;
        }
      },
      async close() {
        closed = true;
        const c = listener;
        listener = null;
        await c?.end().catch(() => {});
      },
    };
  }

  const feed: LiveFeed = {
    replay,
    poller,
    listAfter,
    async listTaskAfter(taskId, after, limit = 1000) {
      const { rows } = await pool.query<EventRow>(
        `SELECT ${COLUMNS} FROM task_events WHERE task_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
        [taskId, after, limit],
      );
      return rows.map(toEvent);
    },
    async latestForTask(taskId) {
      const { rows } = await pool.query<EventRow>(`SELECT ${COLUMNS} FROM task_events WHERE task_id = $1 ORDER BY seq DESC LIMIT 1`, [
        taskId,
      ]);
      return rows[0] ? toEvent(rows[0]) : undefined;
    },
    maxSeq,

    async watch(onEvents, options = {}): Promise<FeedWatch> {
      const safetyPollMs = options.safetyPollMs ?? 2000;
      let cursor = options.after ?? (await maxSeq());
      let closed = false;
      let reading = false;
      let again = false;
      // One read at a time; a wake-up during a read makes it read once more when done.
      const pump = async (): Promise<void> => {
        if (reading) {
          again = true;
          return;
        }
        reading = true;
        try {
          do {
            again = false;
            for (;;) {
              const batch = await listAfter(cursor, 1000);
              if (closed) return;
              if (batch.length) {
                cursor = batch[batch.length - 1].seq;
                onEvents(batch);
              }
              if (batch.length < 1000) break;
            }
          } while (again && !closed);
        } catch {
          // The database is unreachable for now: the next notification or safety poll reads again.
        } finally {
          reading = false;
        }
      };

      let listener: pg.Client | null = null;
      const listen = async () => {
        const c = createClient(url);
        c.on('notification', () => void pump());
        c.on('error', () => {
          if (listener === c) listener = null;
          void c.end().catch(() => {});
        });
        await c.connect();
        await c.query(`LISTEN ${FEED_CHANNEL}`);
        if (closed) await c.end();
        else listener = c;
      };
      await listen();
      const timer = setInterval(() => {
        // A dead listening connection is replaced here; the read covers whatever it missed.
        if (!listener && !closed) void listen().catch(() => {});
        void pump();
      }, safetyPollMs);
      timer.unref?.();
      await pump(); // what committed between `after` and LISTEN
      return {
        cursor: () => cursor,
        async close() {
          closed = true;
          clearInterval(timer);
          const c = listener;
          listener = null;
          await c?.end().catch(() => {});
        },
      };
    },

    /**
     * Deletes events written before `olderThan`, oldest first, in short transactions of `batch`;
     * age goes by position in the log, as in SQLite (db/sqlite/events.ts pruneEvents), and the newest event
     * always stays.
     */
    async prune(olderThan, batch = 500) {
      const { rows } = await pool.query<{ keep: number | null }>(
        `
        SELECT coalesce((SELECT seq FROM task_events WHERE created_at >= $1 ORDER BY seq LIMIT 1),
                        (SELECT max(seq) FROM task_events)) AS keep`,
        [olderThan],
      );
      const keepFrom = rows[0].keep;
      if (keepFrom === null) return 0;
      let total = 0;
      for (;;) {
        const n = await withTx(
          pool,
          async (c) =>
            (
              await c.query(`DELETE FROM task_events WHERE seq IN (SELECT seq FROM task_events WHERE seq < $1 ORDER BY seq LIMIT $2)`, [
                keepFrom,
                batch,
              ])
            ).rowCount ?? 0,
        );
        total += n;
        if (n < batch) return total;
      }
    },
  };
  return feed;
}
