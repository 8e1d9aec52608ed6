-- Outbox retention (issue 3): published outbox rows older than
-- TOCK_OUTBOX_RETENTION are pruned by the relay's maintenance job. The
-- task-events among them move to event_log first, so a task's history stays
-- complete (GET /api/v1/tasks/{id}/history reads event_log + outbox). `seq` is
-- the row's outbox id, so history keeps its order across the two tables.
CREATE TABLE event_log (
    seq        INTEGER PRIMARY KEY,
    event_id   TEXT NOT NULL,
    topic      TEXT NOT NULL,
    msg_key    TEXT NOT NULL,
    user_id    INTEGER NOT NULL,
    task_id    INTEGER,
    type       TEXT NOT NULL,
    event_json TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    published_at INTEGER
);
CREATE INDEX event_log_task ON event_log(user_id, task_id, seq);
-- The pruning scan: published rows by publication time.
CREATE INDEX outbox_published ON outbox(published_at) WHERE published_at IS NOT NULL;
-- processed_events pruning (TOCK_PROCESSED_RETENTION).
CREATE INDEX processed_events_time ON processed_events(processed_at);
