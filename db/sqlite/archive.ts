/**
 * The diary archive: every diary entry read from a member's feed, kept per member, with the watched
 * days it covers; and the members the server follows (polls the feed of). The window logic is
 * common/archive.ts; this file only stores its outcome.
 */
import type { Db } from './open.js';
import { writeTx } from './open.js';
import { iso } from './tasks.js';
import type { FeedEntry } from '../../worker/sources/parseRss.js';
import { dayOf, history, mergeWindow, type FeedWindow, type Gap, type MergeOutcome, type Segment } from '../../common/archive.js';

/**
 * One kept diary entry: exactly what the feed parser reads (a type-only import, erased at run time:
 * the archive stores the feed's entries as they are, so their shape has one definition).
 */
export type ArchiveEntry = FeedEntry;

/** A read of the feed, as the archive takes it. */
export interface ArchiveWindow {
  entries: readonly ArchiveEntry[];
  /** Every viewing watched after this day is in the read; null: it holds the whole diary. */
  completeAfter: string | null;
}

/** What `GET /api/users/:username` tells of the member's archive (common/protocol.ts MemberResponse). */
export interface MemberArchive {
  username: string;
  followed: boolean;
  /** Start of continuous coverage up to the latest read (YYYY-MM-DD); null with wholeDiary or nothing kept. */
  historySince: string | null;
  wholeDiary: boolean;
  /** The earliest day kept at all, when gaps come after it. */
  earliest: string | null;
  gaps: Gap[];
  entries: number;
  lastPolledAt: string | null;
}

interface MemberRow {
  username: string;
  followed_at: number | null;
  used_at: number;
  polled_at: number | null;
  coverage: string;
}

interface EntryRow {
  viewing_id: string;
  watched_date: string | null;
  title: string;
  year: number | null;
  slug: string | null;
  tmdb_movie_id: number | null;
  tmdb_tv_id: number | null;
  rating: number | null;
  rewatch: number;
  liked: number;
  poster_url: string | null;
  poster_missing: number;
  published_at: number | null;
  published_day: string | null;
}

function toEntry(r: EntryRow): ArchiveEntry {
  return {
    viewingId: r.viewing_id,
    title: r.title,
    year: r.year,
    rating: r.rating,
    watchedDate: r.watched_date,
    rewatch: r.rewatch === 1,
    liked: r.liked === 1,
    slug: r.slug,
    posterUrl: r.poster_url,
    posterMissing: r.poster_missing === 1,
    tmdbMovieId: r.tmdb_movie_id,
    tmdbTvId: r.tmdb_tv_id,
    publishedDay: r.published_day,
    publishedAt: r.published_at,
  };
}

/** A member row's stored coverage (JSON), read leniently: a damaged value is no coverage. Both engines store it so. */
export function parseCoverage(json: string): Segment[] {
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? (v as Segment[]) : [];
  } catch {
    return [];
  }
}

export type ArchiveStore = ReturnType<typeof createArchiveStore>;

/**
 * Bytes counted per archived entry beyond its text (numbers, keys, row header), for the RESULTS_MB
 * budget: an estimate, as SQLite does not tell a row's size; measured rows are 60–80 bytes besides text.
 */
export const ARCHIVE_ENTRY_OVERHEAD = 64;

/** Builds the archive functions over one connection, with statements prepared once. */
export function createArchiveStore(db: Db) {
  const s = {
    member: db.prepare<[string], MemberRow>(`SELECT * FROM archive_members WHERE username = ?`),
    addMember: db.prepare<[string, number]>(
      `INSERT INTO archive_members (username, used_at) VALUES (?, ?) ON CONFLICT (username) DO NOTHING`,
    ),
    known: db.prepare<[string], { viewing_id: string; published_at: number | null }>(
      `SELECT viewing_id, published_at FROM archive_entries WHERE username = ?`,
    ),
    upsert: db.prepare(`
      INSERT INTO archive_entries (username, viewing_id, watched_date, title, year, slug, tmdb_movie_id, tmdb_tv_id, rating,
                                   rewatch, liked, poster_url, poster_missing, published_at, published_day, first_seen_at, last_seen_at)
      VALUES (@username, @viewingId, @watchedDate, @title, @year, @slug, @tmdbMovieId, @tmdbTvId, @rating,
              @rewatch, @liked, @posterUrl, @posterMissing, @publishedAt, @publishedDay, @now, @now)
      ON CONFLICT (username, viewing_id) DO UPDATE SET
        watched_date = excluded.watched_date, title = excluded.title, year = excluded.year, slug = excluded.slug,
        tmdb_movie_id = excluded.tmdb_movie_id, tmdb_tv_id = excluded.tmdb_tv_id, rating = excluded.rating,
        rewatch = excluded.rewatch, liked = excluded.liked, poster_url = excluded.poster_url,
        poster_missing = excluded.poster_missing, published_at = excluded.published_at,
        published_day = excluded.published_day, last_seen_at = excluded.last_seen_at`),
    deleteEntry: db.prepare<[string, string]>(`DELETE FROM archive_entries WHERE username = ? AND viewing_id = ?`),
    setCoverage: db.prepare<[string, number, string]>(`UPDATE archive_members SET coverage = ?, polled_at = ? WHERE username = ?`),
    // The member's size for RESULTS_MB: what its rows hold, as migration 10 estimates it.
    setBytes: db.prepare<[string, string]>(`
      UPDATE archive_members SET bytes = (
        SELECT coalesce(sum(${ARCHIVE_ENTRY_OVERHEAD} + length(e.viewing_id) + length(e.title) + coalesce(length(e.slug), 0)
                            + coalesce(length(e.poster_url), 0) + coalesce(length(e.watched_date), 0)
                            + coalesce(length(e.published_day), 0)), 0)
        FROM archive_entries e WHERE e.username = ?)
      WHERE username = ?`),
    entries: db.prepare<[string], EntryRow>(`SELECT * FROM archive_entries WHERE username = ? ORDER BY published_at DESC, viewing_id DESC`),
    count: db.prepare<[string], number>(`SELECT count(*) FROM archive_entries WHERE username = ?`).pluck(),
    follow: db.prepare<[number, number, string]>(
      `UPDATE archive_members SET followed_at = coalesce(followed_at, ?), used_at = ? WHERE username = ?`,
    ),
    forget: db.prepare<[string]>(`DELETE FROM archive_members WHERE username = ?`),
    // Beyond the cap: members not followed go first, then the least recently used.
    // The member being written is never the one dropped (`?` 1): it is in use right now.
    overCap: db.prepare<[string, number], { username: string }>(`
      SELECT username FROM archive_members WHERE username <> ?
      ORDER BY followed_at IS NOT NULL DESC, used_at DESC, username LIMIT -1 OFFSET ?`),
    unused: db.prepare<[number], { username: string }>(`SELECT username FROM archive_members WHERE used_at < ?`),
    // Followed members with no live poll task: a poll that ended in an error, or whose worker died.
    unpolled: db.prepare<[string], { username: string; polled_at: number | null }>(`
      SELECT m.username, m.polled_at FROM archive_members m
      WHERE m.followed_at IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.dedupe_key = ? || ':' || m.username AND t.live = 1)`),
  };

  function ensureMember(username: string, now: number): void {
    s.addMember.run(username, now);
  }

  /** Drops members beyond `max`, never `current` (their archives go with them). Returns who was dropped. */
  function capMembers(current: string, max: number): string[] {
    const out = s.overCap.all(current, Math.max(0, max - 1)).map((r) => r.username);
    for (const u of out) s.forget.run(u);
    return out;
  }

  return {
    /**
     * Keeps every entry of a read of `username`'s feed, removes the ones the read shows were deleted,
     * and merges its coverage (one transaction). Joins an open transaction (a poll's completion).
     */
    recordWindow(username: string, window: ArchiveWindow, now: number, maxMembers = Infinity): MergeOutcome {
      return writeTx(db, () => {
        ensureMember(username, now);
        const member = s.member.get(username)!;
        const known = new Map(s.known.all(username).map((r) => [r.viewing_id, r.published_at]));
        const w: FeedWindow = { entries: window.entries, completeAfter: window.completeAfter, day: dayOf(now) };
        const outcome = mergeWindow(parseCoverage(member.coverage), known, w);
        for (const e of window.entries) {
          s.upsert.run({ ...e, username, rewatch: e.rewatch ? 1 : 0, liked: e.liked ? 1 : 0, posterMissing: e.posterMissing ? 1 : 0, now });
        }
        for (const id of outcome.deleted) s.deleteEntry.run(username, id);
        s.setCoverage.run(JSON.stringify(outcome.segments), now, username);
        s.setBytes.run(username, username);
        if (Number.isFinite(maxMembers)) capMembers(username, maxMembers);
        return outcome;
      });
    },

    /** The member's kept entries, newest published first, and the days they cover. */
    load(username: string): { entries: ArchiveEntry[]; coverage: Segment[] } {
      const member = s.member.get(username);
      if (!member) return { entries: [], coverage: [] };
      return { entries: s.entries.all(username).map(toEntry), coverage: parseCoverage(member.coverage) };
    },

    isFollowed(username: string): boolean {
      return (s.member.get(username)?.followed_at ?? null) !== null;
    },

    /**
     * Follows `username` (a mosaic for them completed) and marks them used now; beyond `max` members
     * the least recently used are dropped, archives and all. Returns who was dropped.
     */
    follow(username: string, now: number, max: number): string[] {
      return writeTx(db, () => {
        ensureMember(username, now);
        s.follow.run(now, now, username);
        return capMembers(username, max);
      });
    },

    /** Stops following `username` and deletes everything kept of them. Returns whether anything was kept. */
    forget(username: string): boolean {
      return writeTx(db, () => s.forget.run(username).changes > 0);
    },

    /** Drops members no mosaic has used since `before` (ms). Returns who was dropped. */
    expire(before: number): string[] {
      return writeTx(db, () => {
        const out = s.unused.all(before).map((r) => r.username);
        for (const u of out) s.forget.run(u);
        return out;
      });
    },

    /** Followed members without a live task of `action` (their poll chain broke). */
    unpolled(action: string): { username: string; polledAt: number | null }[] {
      return s.unpolled.all(action).map((r) => ({ username: r.username, polledAt: r.polled_at }));
    },

    /** What the member's page shows of the archive. */
    summary(username: string): MemberArchive {
      const member = s.member.get(username);
      return memberArchive(username, member, member ? s.count.get(username)! : 0);
    },
  };
}

/** What the member's page shows, from the member's row (absent: never kept) and its entry count; both engines use it. */
export function memberArchive(
  username: string,
  member: Pick<MemberRow, 'followed_at' | 'polled_at' | 'coverage'> | undefined,
  entries: number,
): MemberArchive {
  const h = history(member ? parseCoverage(member.coverage) : []);
  return {
    username,
    followed: (member?.followed_at ?? null) !== null,
    historySince: h.since,
    wholeDiary: h.wholeDiary,
    earliest: h.gaps.length ? h.earliest : null,
    gaps: h.gaps,
    entries,
    lastPolledAt: member?.polled_at ? iso(member.polled_at) : null,
  };
}

/** Deletes finished background tasks (polls) older than `olderThan`, in small batches. */
export function pruneBackgroundTasks(db: Db, olderThan: number, batch = 500): number {
  const stmt = db.prepare<[number, number]>(`
    DELETE FROM tasks WHERE rowid IN (
      SELECT rowid FROM tasks WHERE background = 1 AND live IS NULL AND finished_at < ? LIMIT ?)`);
  let total = 0;
  for (;;) {
    const n = writeTx(db, () => stmt.run(olderThan, batch).changes);
    total += n;
    if (n < batch) return total;
  }
}
