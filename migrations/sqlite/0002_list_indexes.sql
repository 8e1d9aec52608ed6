-- Indexes whose expressions match the list query's ORDER BY exactly, so the default
-- order (due_at asc with no-due last, then priority desc) and the common sorts read
-- the first page straight from an index instead of sorting every task of the user.
CREATE INDEX tasks_list_default ON tasks(user_id, coalesce(due_at, 9223372036854775807),
    priority DESC, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_list_created ON tasks(user_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_list_updated ON tasks(user_id, updated_at, id) WHERE deleted_at IS NULL;
