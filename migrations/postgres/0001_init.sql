-- tock schema v1 (PostgreSQL). Times are int64 epoch milliseconds UTC. The same
-- tables and columns as migrations/sqlite/0001_init.sql; the search index is a
-- generated tsvector column instead of an FTS5 table. Applied in one transaction
-- by the store (under an advisory lock), so no BEGIN/COMMIT here.
CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    display_name  TEXT NOT NULL DEFAULT '',
    timezone      TEXT NOT NULL DEFAULT 'UTC',
    created_at    BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    id           BIGSERIAL PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

CREATE TABLE tasks (
    id           BIGSERIAL PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    title        TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    status       INTEGER NOT NULL DEFAULT 0,   -- 0 todo, 1 in_progress, 2 done
    priority     INTEGER NOT NULL DEFAULT 0,   -- 0 none .. 4 urgent
    due_at       BIGINT,                       -- due moment, ms UTC
    due_local    TEXT,                         -- YYYY-MM-DD or YYYY-MM-DDTHH:MM as given
    due_has_time INTEGER NOT NULL DEFAULT 0,
    timezone     TEXT NOT NULL,
    completed_at BIGINT,
    series_id    BIGINT,
    occurrence   BIGINT NOT NULL DEFAULT 1,
    rrule        TEXT,
    recur_from   INTEGER NOT NULL DEFAULT 0,   -- 0 due, 1 completion
    parent_id    BIGINT,
    version      BIGINT NOT NULL DEFAULT 1,
    tags_text    TEXT NOT NULL DEFAULT '',     -- the tag names, sorted, comma-joined
                                               -- (kept in step with task_tags by the store)
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    deleted_at   BIGINT,
    -- Full text: title A, tags B, description C (ranked with weights 1.0/0.4/0.2).
    search       tsvector GENERATED ALWAYS AS (
                     setweight(to_tsvector('simple', title), 'A') ||
                     setweight(to_tsvector('simple', replace(tags_text, ',', ' ')), 'B') ||
                     setweight(to_tsvector('simple', description), 'C')) STORED
);
CREATE UNIQUE INDEX tasks_series_occurrence ON tasks(series_id, occurrence);
-- The list query's ORDER BY expressions, so common orders read the first page
-- straight from an index (the keyset cursor uses the same expressions).
CREATE INDEX tasks_list_default ON tasks(user_id, coalesce(due_at, 9223372036854775807),
    priority DESC, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_list_created ON tasks(user_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_search ON tasks USING gin (search);

CREATE TABLE tags (
    id      BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name    TEXT NOT NULL,
    color   TEXT,
    UNIQUE (user_id, name)
);

CREATE TABLE task_tags (
    task_id BIGINT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    tag_id  BIGINT NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    PRIMARY KEY (task_id, tag_id)
);
CREATE INDEX task_tags_tag ON task_tags(tag_id, task_id);

CREATE TABLE outbox (
    id           BIGSERIAL PRIMARY KEY,
    event_id     TEXT NOT NULL,
    topic        TEXT NOT NULL,
    msg_key      TEXT NOT NULL,
    user_id      BIGINT NOT NULL,
    task_id      BIGINT,
    type         TEXT NOT NULL,
    event_json   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    published_at BIGINT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT
);
-- Writers commit concurrently (ids are not in commit order), so the relay rescans
-- the unpublished rows from the start: keep that scan on a small partial index.
CREATE INDEX outbox_unpublished ON outbox(id) WHERE published_at IS NULL;
CREATE INDEX outbox_task ON outbox(user_id, task_id, id);

CREATE TABLE processed_events (
    consumer     TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    processed_at BIGINT NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
