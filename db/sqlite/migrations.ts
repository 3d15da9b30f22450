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
      -- A member's latest data export, parsed (docs/architecture.md#export-upload, docs/architecture.md#where-the-films-come-from). One row per member: a new upload
      -- replaces it in one statement, however long the history. \`data\` is gzipped JSON
      -- {watched, diary, ratings} (db/sqlite/imports.ts): a 45,000-row history is ~6 MB of JSON, whose write
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
      -- sets last_seq to the seq it is about to write (db/sqlite/tasks.ts NEXT_SEQ), in the same transaction.
      ALTER TABLE tasks ADD COLUMN first_seq INTEGER;
      ALTER TABLE tasks ADD COLUMN last_seq INTEGER;
      UPDATE tasks SET first_seq = (SELECT min(seq) FROM task_events e WHERE e.task_id = tasks.id),
                       last_seq  = (SELECT max(seq) FROM task_events e WHERE e.task_id = tasks.id);
      DROP INDEX task_events_task;
    `,
  },
  {
    version: 6,
    name: 'results: a year in review keeps its figures',
    sql: `
      -- JSON of the review's figures (layout review), NULL for other layouts: they are computed from
      -- the viewings behind the films, which the films column does not keep.
      ALTER TABLE results ADD COLUMN review TEXT;
    `,
  },
  {
    version: 7,
    name: 'task requesters: who asked for a task (queue caps per client) and their cancel tokens',
    sql: `
      -- One row per request that created or joined a mosaic task: the client it came from (the
      -- server's clientKey) and the SHA-256 of the cancel token it was given. A DELETE names its token;
      -- the task is cancelled only when every requester has withdrawn. Internal tasks have no rows.
      CREATE TABLE task_requesters (
        task_id      TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
        token_hash   TEXT NOT NULL,
        client_key   TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        withdrawn_at INTEGER,
        PRIMARY KEY (task_id, token_hash)
      ) WITHOUT ROWID;
      CREATE INDEX task_requesters_client ON task_requesters (client_key) WHERE withdrawn_at IS NULL;
    `,
  },
  {
    version: 8,
    name: 'results and imports under a byte budget: sizes, last views, compact film lists, blobs last',
    sql: `
      -- RESULTS_MB bounds results and imports together, least recently viewed out first (db/sqlite/budget.ts).
      -- bytes: what a row holds (image + packed film list; the import's data). viewed_at: the last view
      -- of a result (/result, /mosaic), written at most once a minute. film_count: lists no longer read
      -- the film list. New rows store films gzipped (db/sqlite/results.ts packFilms); older rows keep their
      -- JSON text, which still reads.
      --
      -- The table is rebuilt with the blobs last: SQLite keeps a row's columns in order and a big value
      -- spills into a chain of overflow pages that can only be walked, so every column after a 1 MB
      -- image cost reading the image. Measured with 200 results of 1 MB: a completing transaction's
      -- eviction pass read ~200 MB and held the write lock past the workers' leases; the lists read
      -- each listed image to reach its width and note.
      CREATE TABLE results_v8 (
        id           TEXT PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
        content_type TEXT NOT NULL,
        width        INTEGER NOT NULL,
        height       INTEGER NOT NULL,
        film_count   INTEGER NOT NULL,
        partial      INTEGER NOT NULL DEFAULT 0,
        note         TEXT,
        review       TEXT,
        etag         TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        viewed_at    INTEGER NOT NULL,
        bytes        INTEGER NOT NULL,
        films        BLOB NOT NULL,
        result       BLOB NOT NULL
      );
      INSERT INTO results_v8
        SELECT id, content_type, width, height, json_array_length(films), partial, note, review, etag, created_at,
               created_at, length(result) + length(CAST(films AS BLOB)), films, result
        FROM results;
      DROP TABLE results;
      ALTER TABLE results_v8 RENAME TO results;
      CREATE INDEX results_created ON results (created_at);
      -- The eviction order and the budget's sum, read from the index alone.
      CREATE INDEX results_lru ON results (viewed_at, bytes, id);
      ALTER TABLE member_imports ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
      UPDATE member_imports SET bytes = length(data);
    `,
  },
  {
    version: 9,
    name: 'diary archive: every feed entry kept per member, followed members, background tasks',
    sql: `
      -- Background tasks (feed polls) are claimed after every runnable foreground task and are left
      -- out of the queue positions and counts people see.
      ALTER TABLE tasks ADD COLUMN background INTEGER NOT NULL DEFAULT 0;

      -- One row per member whose feed was read: whether the server follows them (polls their feed),
      -- when a mosaic last used them (least recently used are dropped first), and which watched days
      -- the archive covers (JSON segments [{from, to}], common/archive.ts).
      CREATE TABLE archive_members (
        username    TEXT PRIMARY KEY,
        followed_at INTEGER,
        used_at     INTEGER NOT NULL,
        polled_at   INTEGER,
        coverage    TEXT NOT NULL DEFAULT '[]'
      );
      -- Every diary entry read from a member's feed, by its guid's number; first and last seen (ms).
      CREATE TABLE archive_entries (
        username       TEXT NOT NULL REFERENCES archive_members (username) ON DELETE CASCADE,
        viewing_id     TEXT NOT NULL,
        watched_date   TEXT,
        title          TEXT NOT NULL,
        year           INTEGER,
        slug           TEXT,
        tmdb_movie_id  INTEGER,
        tmdb_tv_id     INTEGER,
        rating         REAL,
        rewatch        INTEGER NOT NULL,
        liked          INTEGER NOT NULL,
        poster_url     TEXT,
        poster_missing INTEGER NOT NULL,
        published_at   INTEGER,
        published_day  TEXT,
        first_seen_at  INTEGER NOT NULL,
        last_seen_at   INTEGER NOT NULL,
        PRIMARY KEY (username, viewing_id)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 10,
    name: 'diary archive under the byte budget: each member archive keeps its size',
    sql: `
      -- RESULTS_MB covers the diary archive too (db/sqlite/budget.ts). bytes: the member's entries as stored,
      -- estimated as their text plus ARCHIVE_ENTRY_OVERHEAD (64) for the numbers and keys of a row;
      -- db/sqlite/archive.ts keeps it current in the transaction that records a feed read.
      ALTER TABLE archive_members ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
      UPDATE archive_members SET bytes = (
        SELECT coalesce(sum(64 + length(e.viewing_id) + length(e.title) + coalesce(length(e.slug), 0)
                            + coalesce(length(e.poster_url), 0) + coalesce(length(e.watched_date), 0)
                            + coalesce(length(e.published_day), 0)), 0)
        FROM archive_entries e WHERE e.username = archive_members.username);
    `,
  },
  {
    version: 11,
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
