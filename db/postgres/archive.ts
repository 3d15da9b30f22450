/**
 * The diary archive on PostgreSQL, as db/sqlite/archive.ts: every entry read from a followed member's
 * feed, the watched days kept, the members followed. The window logic is common/archive.ts. Each
 * write takes the member's row lock first, so two servers recording one member's reads take turns.
 */
import type pg from 'pg';
import {
  ARCHIVE_ENTRY_OVERHEAD,
  memberArchive,
  parseCoverage,
  type ArchiveEntry,
  type ArchiveWindow,
  type MemberArchive,
} from '../sqlite/archive.js';
import { dayOf, mergeWindow, type FeedWindow, type MergeOutcome } from '../../common/archive.js';
import type { DiaryArchive } from '../port.js';
import { withTx } from './connect.js';

interface MemberRow {
  username: string;
  followed_at: number | null;
  used_at: number;
  polled_at: number | null;
  coverage: string;
}

/** A kept entry's columns under ArchiveEntry's names (booleans are booleans here), so rows are entries as read. */
const ENTRY = `viewing_id AS "viewingId", title, year, rating, watched_date AS "watchedDate", rewatch, liked, slug,
  poster_url AS "posterUrl", poster_missing AS "posterMissing", tmdb_movie_id AS "tmdbMovieId", tmdb_tv_id AS "tmdbTvId",
  published_day AS "publishedDay", published_at AS "publishedAt"`;

type Conn = pg.ClientBase | pg.Pool;

export type PgDiaryArchive = ReturnType<typeof createPgArchive>;

export function createPgArchive(pool: pg.Pool) {
  const member = async (c: Conn, username: string, lock = false) =>
    (await c.query<MemberRow>(`SELECT * FROM archive_members WHERE username = $1${lock ? ' FOR UPDATE' : ''}`, [username])).rows[0];
  /** The member's row, created if new, and locked for this transaction. */
  const lockMember = async (c: pg.ClientBase, username: string, now: number) => {
    await c.query(`INSERT INTO archive_members (username, used_at) VALUES ($1, $2) ON CONFLICT (username) DO NOTHING`, [username, now]);
    return await member(c, username, true);
  };
  const forgetOn = async (c: Conn, username: string) =>
    ((await c.query(`DELETE FROM archive_members WHERE username = $1`, [username])).rowCount ?? 0) > 0;

  /** Drops members beyond `max`, never `current`: members not followed first, then the least recently used. */
  async function capMembers(c: pg.ClientBase, current: string, max: number): Promise<string[]> {
    const { rows } = await c.query<{ username: string }>(
      `
      SELECT username FROM archive_members WHERE username <> $1
      ORDER BY followed_at IS NOT NULL DESC, used_at DESC, username COLLATE "C" OFFSET $2`,
      [current, Math.max(0, max - 1)],
    );
    for (const r of rows) await forgetOn(c, r.username);
    return rows.map((r) => r.username);
  }

  async function recordWindowOn(
    c: pg.ClientBase,
    username: string,
    window: ArchiveWindow,
    now: number,
    maxMembers = Infinity,
  ): Promise<MergeOutcome> {
    const m = await lockMember(c, username, now);
    const known = new Map(
      (
        await c.query<{ viewing_id: string; published_at: number | null }>(
          `SELECT viewing_id, published_at FROM archive_entries WHERE username = $1`,
          [username],
        )
      ).rows.map((r) => [r.viewing_id, r.published_at]),
    );
    const w: FeedWindow = { entries: window.entries, completeAfter: window.completeAfter, day: dayOf(now) };
    const outcome = mergeWindow(parseCoverage(m.coverage), known, w);
    const e = window.entries;
    if (e.length) {
      // One statement for the whole read: arrays, one per column.
      const col = <T>(f: (x: ArchiveEntry) => T) => e.map(f);
      await c.query(
        `
        INSERT INTO archive_entries (username, viewing_id, watched_date, title, year, slug, tmdb_movie_id, tmdb_tv_id, rating,
                                     rewatch, liked, poster_url, poster_missing, published_at, published_day, first_seen_at, last_seen_at)
        SELECT $1, * , $16, $16 FROM unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::text[], $7::int[], $8::int[], $9::real[],
                                 $10::bool[], $11::bool[], $12::text[], $13::bool[], $14::bigint[], $15::text[])
        ON CONFLICT (username, viewing_id) DO UPDATE SET
          watched_date = excluded.watched_date, title = excluded.title, year = excluded.year, slug = excluded.slug,
          tmdb_movie_id = excluded.tmdb_movie_id, tmdb_tv_id = excluded.tmdb_tv_id, rating = excluded.rating,
          rewatch = excluded.rewatch, liked = excluded.liked, poster_url = excluded.poster_url,
          poster_missing = excluded.poster_missing, published_at = excluded.published_at,
          published_day = excluded.published_day, last_seen_at = excluded.last_seen_at`,
        [
          username,
          col((x) => x.viewingId),
          col((x) => x.watchedDate),
          col((x) => x.title),
          col((x) => x.year),
          col((x) => x.slug),
          col((x) => x.tmdbMovieId),
          col((x) => x.tmdbTvId),
          col((x) => x.rating),
          col((x) => x.rewatch),
          col((x) => x.liked),
          col((x) => x.posterUrl),
          col((x) => x.posterMissing),
          col((x) => x.publishedAt),
          col((x) => x.publishedDay),
          now,
        ],
      );
    }
    if (outcome.deleted.length) {
      await c.query(`DELETE FROM archive_entries WHERE username = $1 AND viewing_id = ANY($2::text[])`, [username, [...outcome.deleted]]);
    }
    // The member's size for RESULTS_MB, estimated as db/sqlite/archive.ts does.
    await c.query(
      `
      UPDATE archive_members SET coverage = $2, polled_at = $3, bytes = (
        SELECT coalesce(sum(${ARCHIVE_ENTRY_OVERHEAD} + length(e.viewing_id) + length(e.title) + coalesce(length(e.slug), 0)
                            + coalesce(length(e.poster_url), 0) + coalesce(length(e.watched_date), 0)
                            + coalesce(length(e.published_day), 0)), 0)
        FROM archive_entries e WHERE e.username = $1)
      WHERE username = $1`,
      [username, JSON.stringify(outcome.segments), now],
    );
    if (Number.isFinite(maxMembers)) await capMembers(c, username, maxMembers);
    return outcome;
  }

  async function followOn(c: pg.ClientBase, username: string, now: number, max: number): Promise<string[]> {
    await lockMember(c, username, now);
    await c.query(`UPDATE archive_members SET followed_at = coalesce(followed_at, $1), used_at = $1 WHERE username = $2`, [now, username]);
    return capMembers(c, username, max);
  }

  const archive = {
    recordWindowOn,
    followOn,
    /**
     * Whether `username` is followed, inside a completing transaction: their row stays locked to its
     * end, so a forget (or an eviction) on another server cannot slip between this check and the writes.
     */
    async isFollowedOn(c: pg.ClientBase, username: string): Promise<boolean> {
      return ((await member(c, username, true))?.followed_at ?? null) !== null;
    },
    recordWindow: (username: string, window: ArchiveWindow, now: number, maxMembers?: number) =>
      withTx(pool, (c) => recordWindowOn(c, username, window, now, maxMembers)),
    async load(username: string) {
      const m = await member(pool, username);
      if (!m) return { entries: [], coverage: [] };
      const { rows } = await pool.query<ArchiveEntry>(
        `SELECT ${ENTRY} FROM archive_entries WHERE username = $1 ORDER BY published_at DESC NULLS LAST, viewing_id COLLATE "C" DESC`,
        [username],
      );
      return { entries: rows, coverage: parseCoverage(m.coverage) };
    },
    async isFollowed(username: string) {
      return ((await member(pool, username))?.followed_at ?? null) !== null;
    },
    follow: (username: string, now: number, max: number) => withTx(pool, (c) => followOn(c, username, now, max)),
    forget: (username: string) => forgetOn(pool, username),
    async expire(before: number) {
      const { rows } = await pool.query<{ username: string }>(`DELETE FROM archive_members WHERE used_at < $1 RETURNING username`, [
        before,
      ]);
      return rows.map((r) => r.username);
    },
    async unpolled(action: string) {
      // Followed members with no live poll task: a poll that ended in an error, or whose worker died.
      const { rows } = await pool.query<{ username: string; polled_at: number | null }>(
        `
        SELECT m.username, m.polled_at FROM archive_members m
        WHERE m.followed_at IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.dedupe_key = $1 || ':' || m.username AND t.live)`,
        [action],
      );
      return rows.map((r) => ({ username: r.username, polledAt: r.polled_at }));
    },
    async summary(username: string): Promise<MemberArchive> {
      const m = await member(pool, username);
      const entries = m
        ? (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM archive_entries WHERE username = $1`, [username])).rows[0].n
        : 0;
      return memberArchive(username, m, entries);
    },
  };
  return archive satisfies DiaryArchive;
}
