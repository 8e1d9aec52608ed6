/*
 * store_sqlite_chat.c — the SQLite backend's chat ops (tables conversations and
 * chat_messages, migration 0009). Part of store_sqlite_ops; see store.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "store/sqlite_int.h"

#define CONV_COLS "id, user_id, title, state, message_count, created_at, updated_at"

static void conv_row(sqlite3_stmt *st, struct conversation *cv)
{
    cv->id = sqlite3_column_int64(st, 0);
    cv->user_id = sqlite3_column_int64(st, 1);
    snprintf(cv->title, sizeof cv->title, "%s", sq_col_text(st, 2));
    snprintf(cv->state, sizeof cv->state, "%s", sq_col_text(st, 3));
    cv->message_count = sqlite3_column_int64(st, 4);
    cv->created_at = sqlite3_column_int64(st, 5);
    cv->updated_at = sqlite3_column_int64(st, 6);
}

int sq_conversation_insert(struct store_conn *base, struct conversation *cv)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "INSERT INTO conversations (user_id, title, state, "
                                  "message_count, created_at, updated_at) VALUES (?1, ?2, ?3, "
                                  "?4, ?5, ?6)");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, cv->user_id);
    sq_bind_text(st, 2, cv->title);
    sq_bind_text(st, 3, cv->state);
    sqlite3_bind_int64(st, 4, cv->message_count);
    sqlite3_bind_int64(st, 5, cv->created_at);
    sqlite3_bind_int64(st, 6, cv->updated_at);
    int rc = sq_exec_stmt(c, st, "conversation_insert");
    if (!rc)
        cv->id = sqlite3_last_insert_rowid(c->db);
    return rc;
}

int sq_conversation_get(struct store_conn *base, int64_t user_id, int64_t id,
                        struct conversation *out)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st =
        sq_stmt(c, "SELECT " CONV_COLS " FROM conversations WHERE id = ?1 AND user_id = ?2");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, user_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        conv_row(st, out);
        sqlite3_reset(st);
        return 0;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? TOCK_ENOTFOUND : sq_err(c, rc, "conversation_get");
}

int sq_conversation_update(struct store_conn *base, const struct conversation *cv)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "UPDATE conversations SET title = ?3, state = ?4, "
                                  "message_count = ?5, updated_at = ?6 WHERE id = ?1 AND "
                                  "user_id = ?2");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, cv->id);
    sqlite3_bind_int64(st, 2, cv->user_id);
    sq_bind_text(st, 3, cv->title);
    sq_bind_text(st, 4, cv->state);
    sqlite3_bind_int64(st, 5, cv->message_count);
    sqlite3_bind_int64(st, 6, cv->updated_at);
    int rc = sq_exec_stmt(c, st, "conversation_update");
    if (rc)
        return rc;
    return sqlite3_changes(c->db) == 1 ? 0 : TOCK_ENOTFOUND;
}

int sq_conversation_delete(struct store_conn *base, int64_t user_id, int64_t id)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "DELETE FROM chat_messages WHERE conversation_id = ?1 AND "
                                  "user_id = ?2");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, user_id);
    int rc = sq_exec_stmt(c, st, "conversation_delete");
    if (rc)
        return rc;
    st = sq_stmt(c, "DELETE FROM conversations WHERE id = ?1 AND user_id = ?2");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, user_id);
    rc = sq_exec_stmt(c, st, "conversation_delete");
    if (rc)
        return rc;
    return sqlite3_changes(c->db) == 1 ? 0 : TOCK_ENOTFOUND;
}

int sq_conversation_list(struct store_conn *base, int64_t user_id, int limit,
                         struct conversation **out, size_t *n)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "SELECT " CONV_COLS " FROM conversations WHERE user_id = ?1 "
                                  "ORDER BY updated_at DESC, id DESC LIMIT ?2");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, user_id);
    sqlite3_bind_int(st, 2, limit);
    struct conversation *v = calloc(limit > 0 ? (size_t)limit : 1, sizeof *v);
    if (!v) {
        sqlite3_reset(st);
        return TOCK_ENOMEM;
    }
    size_t m = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && m < (size_t)limit)
        conv_row(st, &v[m++]);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        free(v);
        return sq_err(c, rc, "conversation_list");
    }
    *out = v;
    *n = m;
    return 0;
}

int sq_conversation_prune(struct store_conn *base, int64_t user_id, int keep)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "DELETE FROM conversations WHERE id IN (SELECT id FROM "
                                  "conversations WHERE user_id = ?1 ORDER BY updated_at DESC, "
                                  "id DESC LIMIT -1 OFFSET ?2)");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, user_id);
    sqlite3_bind_int(st, 2, keep);
    return sq_exec_stmt(c, st, "conversation_prune"); /* messages: ON DELETE CASCADE */
}

int sq_chat_message_insert(struct store_conn *base, struct chat_message *m)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "INSERT INTO chat_messages (conversation_id, user_id, role, "
                                  "content, actions, engine, created_at) VALUES (?1, ?2, ?3, ?4, "
                                  "?5, ?6, ?7)");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, m->conversation_id);
    sqlite3_bind_int64(st, 2, m->user_id);
    sq_bind_text(st, 3, m->role);
    sq_bind_text(st, 4, m->content);
    sq_bind_text(st, 5, m->actions);
    sq_bind_text(st, 6, m->engine[0] ? m->engine : NULL);
    sqlite3_bind_int64(st, 7, m->created_at);
    int rc = sq_exec_stmt(c, st, "chat_message_insert");
    if (!rc)
        m->id = sqlite3_last_insert_rowid(c->db);
    return rc;
}

int sq_chat_message_list(struct store_conn *base, int64_t user_id, int64_t conversation_id,
                         int64_t after_id, int limit, struct chat_message **out, size_t *n)
{
    struct sq_conn *c = sq_active(base);
    sqlite3_stmt *st = sq_stmt(c, "SELECT id, conversation_id, user_id, role, content, actions, "
                                  "engine, created_at FROM chat_messages WHERE conversation_id "
                                  "= ?1 AND user_id = ?2 AND id > ?3 ORDER BY id LIMIT ?4");
    if (!st)
        return TOCK_ESTORE;
    sqlite3_bind_int64(st, 1, conversation_id);
    sqlite3_bind_int64(st, 2, user_id);
    sqlite3_bind_int64(st, 3, after_id);
    sqlite3_bind_int(st, 4, limit);
    struct chat_message *v = calloc(limit > 0 ? (size_t)limit : 1, sizeof *v);
    if (!v) {
        sqlite3_reset(st);
        return TOCK_ENOMEM;
    }
    size_t m = 0;
    int rc;
    bool oom = false;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && m < (size_t)limit) {
        struct chat_message *x = &v[m++];
        x->id = sqlite3_column_int64(st, 0);
        x->conversation_id = sqlite3_column_int64(st, 1);
        x->user_id = sqlite3_column_int64(st, 2);
        snprintf(x->role, sizeof x->role, "%s", sq_col_text(st, 3));
        x->content = strdup(sq_col_text(st, 4));
        if (sqlite3_column_type(st, 5) != SQLITE_NULL)
            x->actions = strdup(sq_col_text(st, 5));
        snprintf(x->engine, sizeof x->engine, "%s", sq_col_text(st, 6));
        x->created_at = sqlite3_column_int64(st, 7);
        if (!x->content || (sqlite3_column_type(st, 5) != SQLITE_NULL && !x->actions))
            oom = true;
    }
    sqlite3_reset(st);
    if (oom || (rc != SQLITE_ROW && rc != SQLITE_DONE)) {
        chat_messages_free(v, m);
        return oom ? TOCK_ENOMEM : sq_err(c, rc, "chat_message_list");
    }
    *out = v;
    *n = m;
    return 0;
}
