/**
 * PostgreSQL schema: numbered, append-only migrations, as for SQLite (db/sqlite/migrations.ts). Each runs
 * once in its own transaction; `schema_migrations` records them. Never edit a shipped entry: append.
 *
 * Times are milliseconds since the epoch (bigint), as in SQLite, so the same injected clock drives
 * both adapters and the Task JSON is built the same way.
 */
import type pg from 'pg';

export interface PgMigration {
  version: number;
  name: string;
  sql: string;
}

/**
 * The advisory lock migration 1's event trigger took from drawing an event's seq until its commit
 * (migration 3 dropped it; see there). Kept for the record of what version 1 did.
 */
const FEED_LOCK = 7_210_531_001;
/** Taken (session-level) while migrating, so two processes starting at once migrate once. */
const MIGRATE_LOCK = 7_210_531_002;
/** The NOTIFY channel the feed's listeners wait on (who sends on it: migration 3). */
export const FEED_CHANNEL = 'mm_task_events';

export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    name: 'queue, change feed, results, workers, imports, poster knowledge',
    sql: `
      -- The public Task's time format: ms since the epoch as YYYY-MM-DDTHH:MM:SS.mmmZ (Date.toISOString),
      -- in integer arithmetic like db/sqlite/tasks.ts's isoSql.
      -- STABLE, as to_char is: a function declared more immutable than its body is never inlined, and
      -- a SQL function that is not inlined measured ~80 µs a call, four calls an event.
      CREATE FUNCTION mm_iso(ms bigint) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
        SELECT to_char(to_timestamp(ms / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
               || '.' || lpad((ms % 1000)::text, 3, '0') || 'Z'
      $$;

      CREATE TABLE tasks (
        id                  text PRIMARY KEY,
        action              text NOT NULL,
        username            text NOT NULL,
        -- The raw params text the worker validates (a malformed row must fail the task, not the
        -- worker), and the JSON the public Task shows: the same, or {} when the text is not JSON.
        params              text NOT NULL,
        params_view         json NOT NULL,
        dedupe_key          text NOT NULL,
        status              text NOT NULL CHECK (status IN ('QUEUED','RUNNING','COMPLETE','ERROR','CANCELLED')),
        -- true while QUEUED or RUNNING, NULL once finished: the dedupe index keys on it.
        live                boolean CHECK (live AND status IN ('QUEUED','RUNNING') OR live IS NULL AND status NOT IN ('QUEUED','RUNNING')),
        progress_msg        text NOT NULL DEFAULT '',
        stage               text NOT NULL DEFAULT 'queued',
        progress_done       integer,
        progress_total      integer,
        error_code          text,
        error_msg           text,
        attempt             integer NOT NULL DEFAULT 0,
        max_attempts        integer NOT NULL DEFAULT 3,
        delay_count         integer NOT NULL DEFAULT 0,
        run_at              bigint NOT NULL,
        lease_owner         text,
        lease_token         text,
        lease_expires_at    bigint,
        cancel_requested_at bigint,
        created_at          bigint NOT NULL,
        started_at          bigint,
        finished_at         bigint,
        updated_at          bigint NOT NULL,
        -- Every statement that changes the task's state sets event_type and bumps event_n; the
        -- trigger below turns each such change into its task_events row. A heartbeat (lease only)
        -- leaves event_n alone and writes no event.
        event_type          text NOT NULL,
        event_n             integer NOT NULL DEFAULT 0
      );
      -- Few indexes: every state change moves the row to a new version that each index must point at
      -- (no HOT update when an indexed or predicate column changes), unlike SQLite, where an index a
      -- change does not touch costs nothing. Fresh complete twins are found through tasks_user.
      -- Race-safe dedupe: at most one live task per normalised request (INSERT … ON CONFLICT DO NOTHING).
      CREATE UNIQUE INDEX tasks_dedupe_live ON tasks (dedupe_key) WHERE live;
      CREATE INDEX tasks_queued ON tasks (run_at, created_at) WHERE status = 'QUEUED';
      -- The sweep reads the running tasks (a few per worker); lease_expires_at stays unindexed, so a
      -- heartbeat, which changes only that, can be a HOT update.
      CREATE INDEX tasks_running ON tasks (created_at) WHERE status = 'RUNNING';
      CREATE INDEX tasks_user ON tasks (username, created_at);

      -- The public Task (common/task.ts) of a row: the one definition of that shape in PostgreSQL,
      -- used for event payloads and reads alike (json, not jsonb, so keys keep their order).
      CREATE FUNCTION mm_task_json(t tasks) RETURNS json LANGUAGE sql STABLE PARALLEL SAFE AS $$
        SELECT json_build_object(
          'id', t.id, 'action', t.action, 'username', t.username, 'params', t.params_view,
          'status', t.status, 'stage', t.stage, 'progressMsg', t.progress_msg,
          'progress', CASE WHEN t.progress_done IS NOT NULL AND t.progress_total IS NOT NULL
                           THEN json_build_object('done', t.progress_done, 'total', t.progress_total) END,
          'queuePosition', NULL, 'errorCode', t.error_code, 'errorMsg', t.error_msg,
          'createdAt', mm_iso(t.created_at), 'updatedAt', mm_iso(t.updated_at),
          'resultUrl', CASE WHEN t.status = 'COMPLETE' THEN '/api/tasks/' || t.id || '/result' END)
      $$;

      CREATE SEQUENCE task_events_seq;
      CREATE TABLE task_events (
        seq        bigint PRIMARY KEY,
        task_id    text NOT NULL,
        type       text NOT NULL,
        payload    json NOT NULL,
        created_at bigint NOT NULL
      );
      CREATE INDEX task_events_task ON task_events (task_id, seq);

      -- Each state change's event, written in the changing transaction, at its commit.
      --
      -- Why serialise: a sequence hands out values when asked, not when the transaction commits, so
      -- transactions commit out of seq order, and a reader taking "seq > cursor" would step over an
      -- event whose transaction commits after a later one's. The other cure, reading only events
      -- whose xid8 is below pg_snapshot_xmin(pg_current_snapshot()), orders the log by xid rather
      -- than seq (so seq itself, which clients resume by, would need a second sequencing pass), and
      -- lets any long transaction anywhere in the cluster stall the feed. Serialising costs almost
      -- nothing here: every one of these transactions also sends NOTIFY, and PostgreSQL already
      -- serialises the commits of notifying transactions under one lock (async.c, PreCommit_Notify).
      --
      -- So the trigger is a deferred constraint trigger: it runs at COMMIT, after every row lock the
      -- transaction will ever take, takes FEED_LOCK (no deadlock: nothing is locked after it), draws
      -- the seq, inserts the event, and holds the lock until the commit is visible. seq order is then
      -- commit order, and a reader that sees seq n sees every committed seq below n. A rollback (or
      -- a rolled-back savepoint) drops its queued trigger events: no event for an undone change.
      CREATE FUNCTION mm_task_event() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_advisory_xact_lock(${FEED_LOCK});
        INSERT INTO task_events (seq, task_id, type, payload, created_at)
        VALUES (nextval('task_events_seq'), NEW.id, NEW.event_type, mm_task_json(NEW), NEW.updated_at);
        -- One notification per transaction (identical payloads are folded): a hint, the table is the truth.
        PERFORM pg_notify('${FEED_CHANNEL}', '');
        RETURN NULL;
      END $$;
      CREATE CONSTRAINT TRIGGER tasks_event_on_insert AFTER INSERT ON tasks
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION mm_task_event();
      CREATE CONSTRAINT TRIGGER tasks_event_on_update AFTER UPDATE ON tasks
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
        WHEN (OLD.event_n IS DISTINCT FROM NEW.event_n) EXECUTE FUNCTION mm_task_event();

      -- Exponential backoff with "equal jitter" (db/sqlite/tasks.ts backoffMs): never immediately, never all at once.
      CREATE FUNCTION mm_backoff(attempt integer, base_ms bigint, r float8) RETURNS bigint
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT round(b / 2 + r * (b / 2))::bigint FROM (SELECT base_ms * 2 ^ greatest(0, attempt - 1) AS b) x
      $$;

      CREATE TABLE results (
        id           text PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
        result       bytea NOT NULL,
        content_type text NOT NULL,
        width        integer NOT NULL,
        height       integer NOT NULL,
        films        text NOT NULL,
        partial      boolean NOT NULL DEFAULT false,
        note         text,
        review       text,
        etag         text NOT NULL,
        created_at   bigint NOT NULL
      );
      -- Images are already compressed: store them out of line without trying to compress them again.
      ALTER TABLE results ALTER COLUMN result SET STORAGE EXTERNAL;
      CREATE INDEX results_created ON results (created_at);

      CREATE TABLE workers (
        id           text PRIMARY KEY,
        pid          integer NOT NULL,
        started_at   bigint NOT NULL,
        last_seen_at bigint NOT NULL
      );

      -- A member's latest Letterboxd export: gzipped JSON {watched, diary, ratings} (db/sqlite/imports.ts).
      CREATE TABLE member_imports (
        username      text PRIMARY KEY,
        imported_at   bigint NOT NULL,
        films         integer NOT NULL,
        diary_entries integer NOT NULL,
        data          bytea NOT NULL
      );

      -- What is known per film, shared by every worker host (the poster cache itself stays local).
      CREATE TABLE film_posters (
        slug        text PRIMARY KEY,
        poster_url  text,
        source      text NOT NULL,
        resolved_at bigint NOT NULL,
        title_key   text,
        year        integer
      );
      CREATE INDEX film_posters_title ON film_posters (title_key, year) WHERE title_key IS NOT NULL;
      CREATE TABLE title_posters (
        title_key   text NOT NULL,
        year_key    integer NOT NULL,
        slug        text,
        poster_url  text,
        source      text NOT NULL,
        resolved_at bigint NOT NULL,
        PRIMARY KEY (title_key, year_key)
      );
      CREATE TABLE tmdb_matches (
        title_key   text NOT NULL,
        year_key    integer NOT NULL,
        kind        text CHECK (kind IN ('movie','tv')),
        tmdb_id     integer,
        title       text,
        poster_path text,
        matched_at  bigint NOT NULL,
        PRIMARY KEY (title_key, year_key)
      );
    `,
  },
  {
    version: 2,
    name: 'the whole port: background tasks, claim order, requesters, views and sizes, renditions, diary archive',
    sql: `
      -- Background tasks (feed polls, renditions) are claimed after every runnable foreground task and
      -- left out of queue positions and counts. ord is insertion order: claim, positions and queued
      -- ids break run_at/created_at ties by it, as SQLite does by rowid.
      ALTER TABLE tasks ADD COLUMN background boolean NOT NULL DEFAULT false;
      ALTER TABLE tasks ADD COLUMN ord bigint GENERATED ALWAYS AS IDENTITY;
      DROP INDEX tasks_queued;
      CREATE INDEX tasks_queued ON tasks (background, run_at, created_at, ord) WHERE status = 'QUEUED';
      -- Stable links and fresh twins look tasks up by dedupe key whatever their state.
      CREATE INDEX tasks_dedupe_key ON tasks (dedupe_key);

      -- Who asked for a task: the client (the server's clientKey) and the SHA-256 of its cancel token.
      CREATE TABLE task_requesters (
        task_id      text NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
        token_hash   text NOT NULL,
        client_key   text NOT NULL,
        created_at   bigint NOT NULL,
        withdrawn_at bigint,
        PRIMARY KEY (task_id, token_hash)
      );
      CREATE INDEX task_requesters_client ON task_requesters (client_key) WHERE withdrawn_at IS NULL;

      -- RESULTS_MB: what each result and import holds, and a result's last view (least recently viewed out first).
      ALTER TABLE results ADD COLUMN viewed_at bigint;
      ALTER TABLE results ADD COLUMN bytes bigint NOT NULL DEFAULT 0;
      UPDATE results SET viewed_at = created_at, bytes = length(result) + octet_length(films) + coalesce(octet_length(review), 0);
      ALTER TABLE results ALTER COLUMN viewed_at SET NOT NULL;
      CREATE INDEX results_lru ON results (viewed_at, bytes, id);
      ALTER TABLE member_imports ADD COLUMN bytes bigint NOT NULL DEFAULT 0;
      UPDATE member_imports SET bytes = length(data);

      -- A thumbnail and a screen copy of each result; they go with it.
      CREATE TABLE renditions (
        id           text NOT NULL REFERENCES results (id) ON DELETE CASCADE,
        kind         text NOT NULL CHECK (kind IN ('thumb','screen')),
        image        bytea NOT NULL,
        content_type text NOT NULL,
        width        integer NOT NULL,
        height       integer NOT NULL,
        etag         text NOT NULL,
        created_at   bigint NOT NULL,
        PRIMARY KEY (id, kind)
      );
      ALTER TABLE renditions ALTER COLUMN image SET STORAGE EXTERNAL;

      -- The diary archive kept from followed members' feeds (db/sqlite/migrations.ts 9 and 10).
      CREATE TABLE archive_members (
        username    text PRIMARY KEY,
        followed_at bigint,
        used_at     bigint NOT NULL,
        polled_at   bigint,
        coverage    text NOT NULL DEFAULT '[]',
        bytes       bigint NOT NULL DEFAULT 0
      );
      CREATE TABLE archive_entries (
        username       text NOT NULL REFERENCES archive_members (username) ON DELETE CASCADE,
        viewing_id     text NOT NULL,
        watched_date   text,
        title          text NOT NULL,
        year           integer,
        slug           text,
        tmdb_movie_id  integer,
        tmdb_tv_id     integer,
        rating         real,
        rewatch        boolean NOT NULL,
        liked          boolean NOT NULL,
        poster_url     text,
        poster_missing boolean NOT NULL,
        published_at   bigint,
        published_day  text,
        first_seen_at  bigint NOT NULL,
        last_seen_at   bigint NOT NULL,
        PRIMARY KEY (username, viewing_id)
      );
    `,
  },
  {
    version: 3,
    name: 'event commits no longer serialised: no feed lock, hot events notified after commit',
    sql: `
      -- Migration 1's trigger serialised every event-writing transaction from drawing its seq until
      -- its commit, under FEED_LOCK, and every one of them sent NOTIFY, which PostgreSQL serialises
      -- the same way (PreCommit_Notify holds a database-wide lock through the commit). Either alone
      -- made each commit wait for the WAL flush of the one before: with durable commits, concurrent
      -- workers could never share a flush (group commit). Measured (bench postgres, 4 processes):
      -- 0.50 WAL flushes a task with either still in place, 0.33 with both gone.
      --
      -- Now: the seq is still drawn at COMMIT (a deferred trigger: the window between drawing it
      -- and the commit stays short), with no lock. Readers of the whole log no longer assume seq
      -- order is commit order: they stop at a hole in the seq values until every transaction that
      -- was running when they saw the hole has ended (feed.ts). One task's events need nothing: its
      -- writers hold its row lock through their commit, so they commit in seq order.
      --
      -- NOTIFY: sent here, in the writing transaction, for every event except the worker's hot
      -- ones ('claimed', 'progress', 'completed'). Those are written through the procedures below,
      -- which COMMIT and then send the NOTIFY in a transaction of their own that writes nothing (so
      -- flushes nothing: it holds the notify lock for microseconds), in the same server call: one
      -- round trip, and the listener is signalled by the backend that just committed, as promptly as
      -- from inside the transaction. Transactions the adapter runs statement by statement commit with
      -- "COMMIT; SELECT pg_notify(...)" in one round trip (tasks.ts). Still only a hint: the table is
      -- the truth and a slow poll reads it anyway.
      CREATE OR REPLACE FUNCTION mm_task_event() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO task_events (seq, task_id, type, payload, created_at)
        VALUES (nextval('task_events_seq'), NEW.id, NEW.event_type, mm_task_json(NEW), NEW.updated_at);
        IF NEW.event_type NOT IN ('claimed', 'progress', 'completed') THEN
          PERFORM pg_notify('${FEED_CHANNEL}', '');
        END IF;
        RETURN NULL;
      END $$;

      -- One function per hot intent (plpgsql: its plans are cached per connection), usable inside a
      -- transaction; the mm_hot_ procedures run one as its own transaction and notify after it.

      -- Claims up to p_n runnable tasks for p_owner: the oldest runnable, foreground before background
      -- (a due poll never takes a slot a mosaic is waiting for), ties in insertion order, skipping
      -- rows another claim holds. The claimed rows as a JSON array.
      CREATE FUNCTION mm_claim(p_owner text, p_expires bigint, p_now bigint, p_n integer) RETURNS json
      LANGUAGE plpgsql AS $$
      DECLARE res json;
      BEGIN
        WITH claimed AS (
          UPDATE tasks t SET
            status = 'RUNNING', attempt = t.attempt + 1, lease_owner = p_owner,
            lease_token = replace(gen_random_uuid()::text, '-', ''), lease_expires_at = p_expires,
            started_at = coalesce(t.started_at, p_now), updated_at = greatest(p_now, t.updated_at + 1),
            stage = 'collecting', progress_msg = 'Starting', progress_done = NULL, progress_total = NULL,
            event_type = 'claimed', event_n = t.event_n + 1
          FROM (SELECT q.id FROM tasks q WHERE q.status = 'QUEUED' AND q.run_at <= p_now
                ORDER BY q.background, q.run_at, q.created_at, q.ord LIMIT p_n FOR UPDATE SKIP LOCKED) c
          WHERE t.id = c.id
          RETURNING t.id, t.action, t.username, t.params, t.attempt, t.max_attempts, t.delay_count, t.lease_token,
                    t.lease_expires_at, t.run_at, t.created_at, t.background, t.ord)
        SELECT coalesce(json_agg(claimed), '[]') INTO res FROM claimed;
        RETURN res;
      END $$;

      -- Completes the running tasks whose lease tokens still match (a lost lease matches nothing),
      -- then claims up to p_n: {"done": [ids], "claimed": [rows]}. The claim reads the completions'
      -- output, so they run first and their events precede the claims'.
      CREATE FUNCTION mm_complete_and_claim(p_ids text[], p_tokens text[], p_msgs text[], p_now bigint,
                                            p_owner text, p_expires bigint, p_n integer) RETURNS json
      LANGUAGE plpgsql AS $$
      DECLARE done_ids json;
      BEGIN
        WITH done AS (
          UPDATE tasks t SET
            status = 'COMPLETE', live = NULL, stage = 'done', progress_msg = x.msg, finished_at = p_now,
            updated_at = greatest(p_now, t.updated_at + 1), lease_owner = NULL, lease_token = NULL,
            lease_expires_at = NULL, event_type = 'completed', event_n = t.event_n + 1
          FROM unnest(p_ids, p_tokens, p_msgs) AS x(id, token, msg)
          WHERE t.id = x.id AND t.lease_token = x.token AND t.status = 'RUNNING'
          RETURNING t.id)
        SELECT coalesce(json_agg(done.id), '[]') INTO done_ids FROM done;
        RETURN json_build_object('done', done_ids,
                                 'claimed', CASE WHEN p_n > 0 THEN mm_claim(p_owner, p_expires, p_now, p_n) ELSE '[]'::json END);
      END $$;

      CREATE PROCEDURE mm_hot_claim(p_owner text, p_expires bigint, p_now bigint, p_n integer, INOUT res json DEFAULT NULL)
      LANGUAGE plpgsql AS $$
      BEGIN
        res := mm_claim(p_owner, p_expires, p_now, p_n);
        COMMIT;
        IF json_array_length(res) > 0 THEN PERFORM pg_notify('${FEED_CHANNEL}', ''); END IF;
      END $$;

      CREATE PROCEDURE mm_hot_complete_and_claim(p_ids text[], p_tokens text[], p_msgs text[], p_now bigint,
                                                 p_owner text, p_expires bigint, p_n integer, INOUT res json DEFAULT NULL)
      LANGUAGE plpgsql AS $$
      BEGIN
        res := mm_complete_and_claim(p_ids, p_tokens, p_msgs, p_now, p_owner, p_expires, p_n);
        COMMIT;
        IF json_array_length(res->'done') + json_array_length(res->'claimed') > 0 THEN
          PERFORM pg_notify('${FEED_CHANNEL}', '');
        END IF;
      END $$;

      -- Progress, fenced by the lease (which it extends): hit is null when the lease is gone.
      CREATE PROCEDURE mm_hot_progress(p_id text, p_token text, p_stage text, p_done integer, p_total integer, p_msg text,
                                       p_expires bigint, p_now bigint, INOUT hit boolean DEFAULT NULL, INOUT cancel_at bigint DEFAULT NULL)
      LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE tasks t SET stage = p_stage, progress_done = p_done, progress_total = p_total, progress_msg = p_msg,
                           lease_expires_at = p_expires, updated_at = greatest(p_now, t.updated_at + 1),
                           event_type = 'progress', event_n = t.event_n + 1
        WHERE t.id = p_id AND t.lease_token = p_token AND t.status = 'RUNNING'
        RETURNING true, t.cancel_requested_at INTO hit, cancel_at;
        COMMIT;
        IF hit THEN PERFORM pg_notify('${FEED_CHANNEL}', ''); END IF;
      END $$;
    `,
  },
];

/** Applies every migration not yet recorded, each in its own transaction; returns the latest version. */
export async function migratePg(client: pg.ClientBase, migrations: readonly PgMigration[] = PG_MIGRATIONS): Promise<number> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATE_LOCK]);
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
    let current = rows[0].v ?? 0;
    for (const m of migrations) {
      if (m.version <= current) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
      current = m.version;
    }
    return current;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATE_LOCK]);
  }
}
