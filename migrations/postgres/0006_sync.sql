-- Real-time sync (roles/sync.c, docs/sync.md). The WebSocket cursor is the outbox
-- id (`seq`) of a task-updates row: a delivered event is mapped to its seq by its
-- event id, and a client resuming with ?since=<seq> reads that user's rows after it.
CREATE INDEX IF NOT EXISTS outbox_event_id ON outbox(event_id);
CREATE INDEX IF NOT EXISTS outbox_user_seq ON outbox(user_id, id);
