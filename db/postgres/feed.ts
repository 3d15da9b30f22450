/**
 * The change feed on PostgreSQL: `task_events` read after a cursor, and a watcher woken by NOTIFY.
 *
 * Event writers are not serialised (migrations.ts 3): each draws its seq at its COMMIT, so they
 * commit in nearly, but not exactly, seq order, and a reader taking "seq > cursor" naively could
 * see seq n+1 before a slower transaction's n commits and step over n for good. So a read of the
 * whole log hands out events only up to the first hole in the seq values (`upToHole`). A hole is
 * either a transaction still committing or a seq that will never commit (a rollback after drawing
 * it, the sequence's jump after a crash, pruning). Which one is decided without guessing: the
 * transaction holding a hole's seq drew it before the seq above the hole was drawn, which committed
 * before the read's snapshot, so that transaction's xid is below the next xid to be assigned when
 * the read ran. Once a later snapshot's xmin has passed that xid, every such transaction has ended, and a hole still empty
 * is dead: readers step over it. A hole therefore delays a reader only until the transactions that
 * were running when it was seen have ended (a few milliseconds: it is seen after its seq was drawn,
 * at COMMIT). One task's events need none of this: their writers hold the task's row lock through
 * their commit, so a task's events commit in seq order (listTaskAfter, replay, latestForTask).
 *
 * The notification is only a hint that something committed (sent in the writing transaction, or
 * just after its commit in the same call for the worker's hot events: migrations.ts 3; never before
 * the commit); the
 * table is the truth, and a slow poll reads it anyway in case a notification was lost (e.g. while
 * the listening connection was being replaced, or a worker died between its commit and its NOTIFY).
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
/**
 * Beside a read's rows (one statement, one snapshot): the snapshot's xmin, and `next`, the next xid
 * to be assigned, read after the snapshot was taken. Not the snapshot's xmax: since PostgreSQL 14
 * that is the latest *completed* xid + 1, so a transaction that got its xid after the last
 * completion is below neither xmax nor in the in-progress list (measured: another session's open
 * transaction 729 gave xmin = xmax = 729). age(xid) counts from the transaction counter itself.
 */
const SNAPSHOT = `pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin,
  pg_snapshot_xmax(pg_current_snapshot())::text::bigint + age(xid(pg_snapshot_xmax(pg_current_snapshot()))) AS next`;
/** How far back `maxSeq` looks for holes; a hole further back is taken as dead. */
const TAIL = 1000;

interface Hole {
  /** The last missing seq of the hole as first seen (the first is the map key). */
  to: number;
  /** The next xid when the hole was first seen: once a snapshot's xmin passes it, the hole is dead. */
  horizon: number;
}

/**
 * Holes seen by this process's reads, shared by all of them (the rule holds whoever saw it): seq
 * of the first missing event → when it is known dead. Bounded: a forgotten hole is only seen anew.
 */
export function createHoles(max = 1000) {
  const holes = new Map<number, Hole>();
  return {
    /**
     * Whether the seqs from..to (none visible in a snapshot with these bounds, some seq above
     * them visible) can be stepped over: true once dead, false while a transaction may still
     * commit one of them (and the hole is remembered).
     */
    dead(from: number, to: number, xmin: number, next: number): boolean {
      const seen = holes.get(from);
      const horizon = seen && seen.to >= to ? seen.horizon : next;
      // At first sight too: with nothing running (xmin = next), nothing can fill it.
      if (xmin >= horizon) {
        holes.delete(from);
        return true;
      }
      if (!seen || seen.to < to) {
        if (holes.size >= max) holes.delete(holes.keys().next().value!);
        holes.set(from, { to, horizon });
      }
      return false;
    },
  };
}

export function createPgFeed(pool: pg.Pool, url: string) {
  const holes = createHoles();

  /** The events of `rows` (ascending seq, after `after`) up to the first hole that is not known dead. */
  function upToHole(after: number, rows: (EventRow & { xmin: number; next: number })[]): TaskEvent[] {
    const out: TaskEvent[] = [];
    let expect = after + 1;
    for (const r of rows) {
      if (r.seq > expect && !holes.dead(expect, r.seq - 1, r.xmin, r.next)) break;
      out.push(toEvent(r));
      expect = r.seq + 1;
    }
    return out;
  }

  async function listAfter(after: number, limit = 1000, c: pg.ClientBase | pg.Pool = pool): Promise<TaskEvent[]> {
    const { rows } = await c.query<EventRow & { xmin: number; next: number }>({
      name: 'mm_feed_after',
      text: `SELECT ${COLUMNS}, ${SNAPSHOT} FROM task_events WHERE seq > $1 ORDER BY seq LIMIT $2`,
      values: [after, limit],
    });
    return upToHole(after, rows);
  }

  /**
   * The end of the log a new reader may start from: the last seq below which nothing can still
   * commit. Below the lowest live hole among the newest TAIL events, else the newest seq.
   */
  async function maxSeq(c: pg.ClientBase | pg.Pool = pool): Promise<number> {
    const { rows } = await c.query<EventRow & { xmin: number; next: number }>(
      `SELECT seq, ${SNAPSHOT} FROM task_events WHERE seq > (SELECT max(seq) FROM task_events) - $1 ORDER BY seq`,
      [TAIL],
    );
    if (!rows.length) return 0;
    let end = rows[rows.length - 1].seq;
    for (let i = 1; i < rows.length; i++) {
      const r = rows[i];
      const from = rows[i - 1].seq + 1;
      if (r.seq > from && !holes.dead(from, r.seq - 1, r.xmin, r.next)) {
        end = from - 1;
        break;
      }
    }
    return end;
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
          const end = await maxSeq(c);
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
