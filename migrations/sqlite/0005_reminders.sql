-- Reminders (scheduler role) and notifications (notifier role). Times are epoch ms UTC.
--
-- reminders: one row per reminder of a task. kind 'offset' fires offset_minutes
-- before the task's due (a date-only due counts from 09:00 local); kind 'at' at
-- at_ms. fire_at is the next moment it fires (NULL: an offset reminder of a task
-- that has no due now; it waits for one). state pending -> fired (by the
-- scheduler, once) or cancelled (task completed/deleted). A snooze sets fire_at
-- again and the state back to pending. The partial index is the scheduler's queue.
CREATE TABLE reminders (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id        INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    task_id        INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    kind           TEXT NOT NULL,
    offset_minutes INTEGER,
    at_ms          INTEGER,
    fire_at        INTEGER,
    state          TEXT NOT NULL DEFAULT 'pending',
    fired_at       INTEGER,
    late           INTEGER NOT NULL DEFAULT 0,
    snoozes        INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX reminders_due ON reminders(fire_at) WHERE state = 'pending';
CREATE INDEX reminders_task ON reminders(task_id);
CREATE INDEX reminders_user_fire ON reminders(user_id, fire_at);

-- Notification preferences (one row per user; absent = defaults: in-app only).
-- quiet_start/quiet_end are minutes after local midnight (NULL: no quiet hours).
CREATE TABLE notification_prefs (
    user_id        INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    channels       TEXT NOT NULL,
    email          TEXT,
    webhook_url    TEXT,
    webhook_secret TEXT,
    quiet_start    INTEGER,
    quiet_end      INTEGER,
    digest_seconds INTEGER NOT NULL DEFAULT 0,
    updated_at     INTEGER NOT NULL
);

-- The in-app inbox.
CREATE TABLE notifications (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    task_id    INTEGER,
    data       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    read_at    INTEGER
);
CREATE INDEX notifications_user ON notifications(user_id, id DESC);

-- One row per (fired reminder, channel): the unique key is what makes a
-- redelivered reminder.due produce no second message. The notifier works the
-- pending rows whose send_at has come (quiet hours and digests move send_at;
-- webhook/e-mail retries move it with backoff). A digest's rows are sent as one
-- message by the first of them (the others become 'merged', group_id = its id).
-- log is a JSON array with one entry per attempt.
CREATE TABLE notification_deliveries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid        TEXT NOT NULL UNIQUE,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    channel     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    reminder_id INTEGER,
    fired_at    INTEGER,
    task_id     INTEGER,
    state       TEXT NOT NULL,
    send_at     INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    payload     TEXT NOT NULL,
    group_id    INTEGER,
    last_error  TEXT,
    log         TEXT NOT NULL DEFAULT '[]',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    sent_at     INTEGER,
    UNIQUE (reminder_id, fired_at, channel)
);
CREATE INDEX deliveries_due ON notification_deliveries(send_at) WHERE state = 'pending';
CREATE INDEX deliveries_user ON notification_deliveries(user_id, id DESC);
