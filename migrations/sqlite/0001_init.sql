-- tock schema v1 (SQLite). Times are int64 epoch milliseconds UTC.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    display_name  TEXT NOT NULL DEFAULT '',
    timezone      TEXT NOT NULL DEFAULT 'UTC',
    created_at    INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

CREATE TABLE tasks (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    title        TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    status       INTEGER NOT NULL DEFAULT 0,   -- 0 todo, 1 in_progress, 2 done
    priority     INTEGER NOT NULL DEFAULT 0,   -- 0 none .. 4 urgent
    due_at       INTEGER,                      -- due moment, ms UTC
    due_local    TEXT,                         -- YYYY-MM-DD or YYYY-MM-DDTHH:MM as given
    due_has_time INTEGER NOT NULL DEFAULT 0,
    timezone     TEXT NOT NULL,
    completed_at INTEGER,
    series_id    INTEGER,
    occurrence   INTEGER NOT NULL DEFAULT 1,
    rrule        TEXT,
    recur_from   INTEGER NOT NULL DEFAULT 0,   -- 0 due, 1 completion
    parent_id    INTEGER,
    version      INTEGER NOT NULL DEFAULT 1,
    tags_text    TEXT NOT NULL DEFAULT '',     -- the tag names, sorted, comma-joined
                                               -- (kept in step with task_tags by the store)
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    deleted_at   INTEGER
);
CREATE UNIQUE INDEX tasks_series_occurrence ON tasks(series_id, occurrence);
-- The list query's ORDER BY expressions, so common orders read the first page
-- straight from an index (the keyset cursor uses the same expressions).
CREATE INDEX tasks_list_default ON tasks(user_id, coalesce(due_at, 9223372036854775807),
    priority DESC, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_list_created ON tasks(user_id, created_at, id) WHERE deleted_at IS NULL;

CREATE TABLE tags (
    id      INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name    TEXT NOT NULL,
    color   TEXT,
    UNIQUE (user_id, name)
);

CREATE TABLE task_tags (
    task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    tag_id  INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    PRIMARY KEY (task_id, tag_id)
) WITHOUT ROWID;
CREATE INDEX task_tags_tag ON task_tags(tag_id, task_id);

-- Full text: one row per live task; `owner` ("u<user id>") scopes a MATCH to one
-- user inside the index. bm25 weights: title 10, tags 5, description 1, owner 0.
CREATE VIRTUAL TABLE tasks_fts USING fts5(
    title, tags, description, owner,
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id     TEXT NOT NULL,
    topic        TEXT NOT NULL,
    msg_key      TEXT NOT NULL,
    user_id      INTEGER NOT NULL,
    task_id      INTEGER,
    type         TEXT NOT NULL,
    event_json   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    published_at INTEGER,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT
);
-- The relay scans by id from its high-water mark; history reads by task.
CREATE INDEX outbox_task ON outbox(user_id, task_id, id);

CREATE TABLE processed_events (
    consumer     TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    processed_at INTEGER NOT NULL,
    PRIMARY KEY (consumer, event_id)
) WITHOUT ROWID;
