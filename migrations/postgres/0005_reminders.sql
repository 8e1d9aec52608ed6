-- Reminders (scheduler role; PostgreSQL: same tables as sqlite/0005) and notifications (notifier role). Times are epoch ms UTC.
--
-- reminders: one row per reminder of a task. kind 'offset' fires offset_minutes
-- before the task's due (a date-only due counts from 09:00 local); kind 'at' at
-- at_ms. fire_at is the next moment it fires (NULL: an offset reminder of a task
-- that has no due now; it waits for one). state pending -> fired (by the
-- scheduler, once) or cancelled (task completed/deleted). A snooze sets fire_at
-- again and the state back to pending. The partial index is the scheduler's queue.
CREATE TABLE reminders (
    id             BIGSERIAL PRIMARY KEY,
    user_id        BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    task_id        BIGINT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    kind           TEXT NOT NULL,
    offset_minutes BIGINT,
    at_ms          BIGINT,
    fire_at        BIGINT,
    state          TEXT NOT NULL DEFAULT 'pending',
    fired_at       BIGINT,
    late           BIGINT NOT NULL DEFAULT 0,
    snoozes        BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX reminders_due ON reminders(fire_at) WHERE state = 'pending';
CREATE INDEX reminders_task ON reminders(task_id);
CREATE INDEX reminders_user_fire ON reminders(user_id, fire_at);

-- Notification preferences (one row per user; absent = defaults: in-app only).
-- quiet_start/quiet_end are minutes after local midnight (NULL: no quiet hours).
CREATE TABLE notification_prefs (
    user_id        BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    channels       TEXT NOT NULL,
    email          TEXT,
    webhook_url    TEXT,
    webhook_secret TEXT,
    quiet_start    BIGINT,
    quiet_end      BIGINT,
    digest_seconds BIGINT NOT NULL DEFAULT 0,
    updated_at     BIGINT NOT NULL
);

-- The in-app inbox.
CREATE TABLE notifications (
    id         BIGSERIAL PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    task_id    BIGINT,
    data       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    read_at    BIGINT
);
CREATE INDEX notifications_user ON notifications(user_id, id DESC);

-- One row per (fired reminder, channel): the unique key is what makes a
-- redelivered reminder.due produce no second message. The notifier works the
-- pending rows whose send_at has come (quiet hours and digests move send_at;
-- webhook/e-mail retries move it with backoff). A digest's rows are sent as one
-- message by the first of them (the others become 'merged', group_id = its id).
-- log is a JSON array with one entry per attempt.
CREATE TABLE notification_deliveries (
    id          BIGSERIAL PRIMARY KEY,
    uuid        TEXT NOT NULL UNIQUE,
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    channel     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    reminder_id BIGINT,
    fired_at    BIGINT,
    task_id     BIGINT,
    state       TEXT NOT NULL,
    send_at     BIGINT NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    payload     TEXT NOT NULL,
    group_id    BIGINT,
    last_error  TEXT,
    log         TEXT NOT NULL DEFAULT '[]',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    sent_at     BIGINT,
    UNIQUE (reminder_id, fired_at, channel)
);
CREATE INDEX deliveries_due ON notification_deliveries(send_at) WHERE state = 'pending';
CREATE INDEX deliveries_user ON notification_deliveries(user_id, id DESC);
