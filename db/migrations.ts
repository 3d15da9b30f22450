/**
 * Numbered, append-only migrations (graphile-worker's habit). Each runs once, in a transaction, and
 * `PRAGMA user_version` records the last one applied. Never edit a shipped entry: append a new one.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'queue: tasks, results, task_events, workers',
    sql: `
      CREATE TABLE tasks (
        id                  TEXT PRIMARY KEY,
        action              TEXT NOT NULL,
        username            TEXT NOT NULL,
        params              TEXT NOT NULL,
        dedupe_key          TEXT NOT NULL,
        status              TEXT NOT NULL CHECK (status IN ('QUEUED','RUNNING','COMPLETE','ERROR','CANCELLED')),
        -- 1 while QUEUED or RUNNING, NULL once finished. The partial indexes key on this column, not on
        -- status, so a claim (QUEUED → RUNNING) does not rewrite them: measured 25% fewer µs per claim.
        live                INTEGER CHECK (live = 1 AND status IN ('QUEUED','RUNNING') OR live IS NULL AND status NOT IN ('QUEUED','RUNNING')),
        progress_msg        TEXT NOT NULL DEFAULT '',
        stage               TEXT NOT NULL DEFAULT 'queued',
        progress_done       INTEGER,
        progress_total      INTEGER,
        error_code          TEXT,
        error_msg           TEXT,
        attempt             INTEGER NOT NULL DEFAULT 0,
        max_attempts        INTEGER NOT NULL DEFAULT 3,
        delay_count         INTEGER NOT NULL DEFAULT 0,
        run_at              INTEGER NOT NULL,
        lease_owner         TEXT,
        lease_token         TEXT,
        lease_expires_at    INTEGER,
        cancel_requested_at INTEGER,
        created_at          INTEGER NOT NULL,
        started_at          INTEGER,
        finished_at         INTEGER,
        updated_at          INTEGER NOT NULL
      );
      -- Race-safe dedupe: at most one live (QUEUED or RUNNING) task per normalised request. Also how the
      -- sweeper and counters find the few live tasks.
      CREATE UNIQUE INDEX tasks_dedupe_live ON tasks (dedupe_key) WHERE live = 1;
      -- Fresh COMPLETE twins (insert-only index: never rewritten by status changes).
      CREATE INDEX tasks_dedupe_key ON tasks (dedupe_key);
      CREATE INDEX tasks_queued ON tasks (run_at, created_at) WHERE status = 'QUEUED';
      CREATE INDEX tasks_user ON tasks (username, created_at);

      CREATE TABLE results (
        id           TEXT PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
        result       BLOB NOT NULL,
        content_type TEXT NOT NULL,
        width        INTEGER NOT NULL,
        height       INTEGER NOT NULL,
        films        TEXT NOT NULL,
        partial      INTEGER NOT NULL DEFAULT 0,
        note         TEXT,
        etag         TEXT NOT NULL,
        created_at   INTEGER NOT NULL
      );
      CREATE INDEX results_created ON results (created_at);

      -- seq is a plain rowid, not AUTOINCREMENT: that would dirty sqlite_sequence's page in every
      -- write transaction (one of ~6 WAL frames per claim). Pruning never deletes the newest event, so
      -- max(seq) + 1 never goes back and a seq is never reused.
      CREATE TABLE task_events (
        seq        INTEGER PRIMARY KEY,
        task_id    TEXT NOT NULL,
        type       TEXT NOT NULL,
        payload    TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX task_events_task ON task_events (task_id, seq);

      CREATE TABLE workers (
        id           TEXT PRIMARY KEY,
        pid          INTEGER NOT NULL,
        started_at   INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'posters: resolved poster URLs per film, on-disk poster cache',
    sql: `
      -- A film's poster URL, once resolved, is remembered for good (a second 'all' resolves nothing).
      -- poster_url NULL means "this film has no poster" (also remembered).
      CREATE TABLE film_posters (
        slug        TEXT PRIMARY KEY,
        poster_url  TEXT,
        source      TEXT NOT NULL,
        resolved_at INTEGER NOT NULL
      );
      -- Posters on disk (DATA_DIR/posters), keyed by the exact URL downloaded; LRU by last_used_at.
      CREATE TABLE poster_cache (
        url          TEXT PRIMARY KEY,
        file         TEXT NOT NULL,
        bytes        INTEGER NOT NULL,
        content_type TEXT,
        etag         TEXT,
        width        INTEGER,
        height       INTEGER,
        created_at   INTEGER NOT NULL,
        last_used_at INTEGER NOT NULL
      );
      CREATE INDEX poster_cache_lru ON poster_cache (last_used_at);
    `,
  },
  {
    version: 3,
    name: 'imports: one Letterboxd data export per member',
    sql: `
      -- A member's latest data export, parsed (design §3, §6). One row per member: a new upload
      -- replaces it in one statement, however long the history. \`data\` is gzipped JSON
      -- {watched, diary, ratings} (db/imports.ts): a 45,000-row history is ~6 MB of JSON, whose write
      -- measured ~100 ms on the server's event loop; gzipped (off the loop) ~0.5 MB, ~10 ms. The
      -- worker reads it whole and filters in memory.
      CREATE TABLE member_imports (
        username      TEXT PRIMARY KEY,
        imported_at   INTEGER NOT NULL,
        films         INTEGER NOT NULL,  -- rows of watched.csv
        diary_entries INTEGER NOT NULL,  -- rows of diary.csv
        data          BLOB NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'posters by title and year (export films), TMDB matches',
    sql: `
      -- Films known by slug also become findable by title and year (an export carries no slug).
      ALTER TABLE film_posters ADD COLUMN title_key TEXT;
      ALTER TABLE film_posters ADD COLUMN year INTEGER;
      CREATE INDEX film_posters_title ON film_posters (title_key, year) WHERE title_key IS NOT NULL;

      -- An export film's poster, remembered per title and year once resolved. year_key is the year,
      -- or 0 for none (a NULL would defeat the primary key). source 'none': Letterboxd has no film
      -- page at the slugs the title gives (TMDB may still be asked). poster_url may be 'tmdb:/x.jpg'.
      CREATE TABLE title_posters (
        title_key   TEXT NOT NULL,
        year_key    INTEGER NOT NULL,
        slug        TEXT,
        poster_url  TEXT,
        source      TEXT NOT NULL,
        resolved_at INTEGER NOT NULL,
        PRIMARY KEY (title_key, year_key)
      );

      -- TMDB's answer for a title and year: the chosen movie or series, or a miss (tmdb_id NULL).
      CREATE TABLE tmdb_matches (
        title_key   TEXT NOT NULL,
        year_key    INTEGER NOT NULL,
        kind        TEXT CHECK (kind IN ('movie','tv')),
        tmdb_id     INTEGER,
        title       TEXT,
        poster_path TEXT,
        matched_at  INTEGER NOT NULL,
        PRIMARY KEY (title_key, year_key)
      );
    `,
  },
  {
    version: 5,
    name: 'feed: each task keeps its first and last event seq; the per-task events index goes',
    sql: `
      -- A task's events are found by the seq range [first_seq, last_seq] on task_events' rowid instead
      -- of a (task_id, seq) index: that index cost one more WAL page in every write transaction of the
      -- queue (measured: claim + complete 4.8 → 3.8 frames each). Every statement that appends an event
      -- sets last_seq to the seq it is about to write (db/tasks.ts NEXT_SEQ), in the same transaction.
      ALTER TABLE tasks ADD COLUMN first_seq INTEGER;
      ALTER TABLE tasks ADD COLUMN last_seq INTEGER;
      UPDATE tasks SET first_seq = (SELECT min(seq) FROM task_events e WHERE e.task_id = tasks.id),
                       last_seq  = (SELECT max(seq) FROM task_events e WHERE e.task_id = tasks.id);
      DROP INDEX task_events_task;
    `,
  },
  {
    version: 6,
    name: 'renditions: a thumbnail and a screen copy of each result',
    sql: `
      -- Made by the worker with the result (or later, for results older than this table, by a
      -- make_renditions task the first request for one queues). Go with their result.
      CREATE TABLE renditions (
        id           TEXT NOT NULL REFERENCES results (id) ON DELETE CASCADE,
        kind         TEXT NOT NULL CHECK (kind IN ('thumb','screen')),
        image        BLOB NOT NULL,
        content_type TEXT NOT NULL,
        width        INTEGER NOT NULL,
        height       INTEGER NOT NULL,
        etag         TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        PRIMARY KEY (id, kind)
      );
    `,
  },
];
