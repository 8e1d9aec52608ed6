-- The audit log: one row per event the audit role consumed (append-only; only the
-- retention job deletes). Indexes serve GET /api/v1/audit (newest first per user,
-- optionally by type or task) and the retention sweep (by created_at).
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id   TEXT NOT NULL UNIQUE,
    type       TEXT NOT NULL,
    user_id    INTEGER NOT NULL,
    task_id    INTEGER,
    time       INTEGER NOT NULL,
    payload    TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX audit_user_time ON audit_log(user_id, time DESC, id DESC);
CREATE INDEX audit_user_type_time ON audit_log(user_id, type, time DESC, id DESC);
CREATE INDEX audit_user_task_time ON audit_log(user_id, task_id, time DESC, id DESC);
CREATE INDEX audit_created ON audit_log(created_at);
