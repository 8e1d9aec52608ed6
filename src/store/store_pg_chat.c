/*
 * store_pg_chat.c — the PostgreSQL backend's chat ops (tables conversations and
 * chat_messages, migration 0009). Part of store_pg_ops; see store.h.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "store/pg_int.h"

#define CONV_COLS "id, user_id, title, state, message_count, created_at, updated_at"

static void conv_row(const PGresult *r, int row, struct conversation *cv)
{
    cv->id = pg_i64(r, row, 0);
    cv->user_id = pg_i64(r, row, 1);
    snprintf(cv->title, sizeof cv->title, "%s", pg_txt(r, row, 2));
    snprintf(cv->state, sizeof cv->state, "%s", pg_txt(r, row, 3));
    cv->message_count = pg_i64(r, row, 4);
    cv->created_at = pg_i64(r, row, 5);
    cv->updated_at = pg_i64(r, row, 6);
}

int pg_conversation_insert(struct store_conn *base, struct conversation *cv)
{
    struct pg_params p = {0};
    pp_i64(&p, cv->user_id);
    pp_text(&p, cv->title);
    pp_text(&p, cv->state);
    pp_i64(&p, cv->message_count);
    pp_i64(&p, cv->created_at);
    pp_i64(&p, cv->updated_at);
    int rc;
    PGresult *res = pg_run((struct pg_conn *)base,
                           "INSERT INTO conversations (user_id, title, state, message_count, "
                           "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                           &p, &rc, "conversation_insert");
    if (!res)
        return rc;
    cv->id = pg_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

int pg_conversation_get(struct store_conn *base, int64_t user_id, int64_t id,
                        struct conversation *out)
{
    struct pg_params p = {0};
    pp_i64(&p, id);
    pp_i64(&p, user_id);
    int rc;
    PGresult *r = pg_run((struct pg_conn *)base,
                         "SELECT " CONV_COLS " FROM conversations WHERE id = $1 AND user_id = $2",
                         &p, &rc, "conversation_get");
    if (!r)
        return rc;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return TOCK_ENOTFOUND;
    }
    conv_row(r, 0, out);
    PQclear(r);
    return 0;
}

int pg_conversation_update(struct store_conn *base, const struct conversation *cv)
{
    struct pg_params p = {0};
    pp_i64(&p, cv->id);
    pp_i64(&p, cv->user_id);
    pp_text(&p, cv->title);
    pp_text(&p, cv->state);
    pp_i64(&p, cv->message_count);
    pp_i64(&p, cv->updated_at);
    int64_t changed = 0;
    int rc = pg_exec((struct pg_conn *)base,
                     "UPDATE conversations SET title = $3, state = $4, message_count = $5, "
                     "updated_at = $6 WHERE id = $1 AND user_id = $2",
                     &p, &changed, "conversation_update");
    if (rc)
        return rc;
    return changed == 1 ? 0 : TOCK_ENOTFOUND;
}

int pg_conversation_delete(struct store_conn *base, int64_t user_id, int64_t id)
{
    struct pg_params p = {0};
    pp_i64(&p, id);
    pp_i64(&p, user_id);
    int64_t changed = 0;
    int rc = pg_exec((struct pg_conn *)base,
                     "DELETE FROM conversations WHERE id = $1 AND user_id = $2", &p, &changed,
                     "conversation_delete"); /* messages: ON DELETE CASCADE */
    if (rc)
        return rc;
    return changed == 1 ? 0 : TOCK_ENOTFOUND;
}

int pg_conversation_list(struct store_conn *base, int64_t user_id, int limit,
                         struct conversation **out, size_t *n)
{
    struct pg_params p = {0};
    pp_i64(&p, user_id);
    pp_i64(&p, limit);
    int rc;
    PGresult *r = pg_run((struct pg_conn *)base,
                         "SELECT " CONV_COLS " FROM conversations WHERE user_id = $1 ORDER BY "
                         "updated_at DESC, id DESC LIMIT $2",
                         &p, &rc, "conversation_list");
    if (!r)
        return rc;
    size_t m = (size_t)PQntuples(r);
    struct conversation *v = calloc(m ? m : 1, sizeof *v);
    if (!v) {
        PQclear(r);
        return TOCK_ENOMEM;
    }
    for (size_t i = 0; i < m; i++)
        conv_row(r, (int)i, &v[i]);
    PQclear(r);
    *out = v;
    *n = m;
    return 0;
}

int pg_conversation_prune(struct store_conn *base, int64_t user_id, int keep)
{
    struct pg_params p = {0};
    pp_i64(&p, user_id);
    pp_i64(&p, keep);
    return pg_exec((struct pg_conn *)base,
                   "DELETE FROM conversations WHERE id IN (SELECT id FROM conversations WHERE "
                   "user_id = $1 ORDER BY updated_at DESC, id DESC OFFSET $2)",
                   &p, NULL, "conversation_prune");
}

int pg_chat_message_insert(struct store_conn *base, struct chat_message *m)
{
    struct pg_params p = {0};
    pp_i64(&p, m->conversation_id);
    pp_i64(&p, m->user_id);
    pp_text(&p, m->role);
    pp_text(&p, m->content);
    pp_text(&p, m->actions);
    pp_text(&p, m->engine[0] ? m->engine : NULL);
    pp_i64(&p, m->created_at);
    int rc;
    PGresult *res = pg_run((struct pg_conn *)base,
                           "INSERT INTO chat_messages (conversation_id, user_id, role, content, "
                           "actions, engine, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) "
                           "RETURNING id",
                           &p, &rc, "chat_message_insert");
    if (!res)
        return rc;
    m->id = pg_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

int pg_chat_message_list(struct store_conn *base, int64_t user_id, int64_t conversation_id,
                         int64_t after_id, int limit, struct chat_message **out, size_t *n)
{
    struct pg_params p = {0};
    pp_i64(&p, conversation_id);
    pp_i64(&p, user_id);
    pp_i64(&p, after_id);
    pp_i64(&p, limit);
    int rc;
    PGresult *r = pg_run((struct pg_conn *)base,
                         "SELECT id, conversation_id, user_id, role, content, actions, engine, "
                         "created_at FROM chat_messages WHERE conversation_id = $1 AND user_id "
                         "= $2 AND id > $3 ORDER BY id LIMIT $4",
                         &p, &rc, "chat_message_list");
    if (!r)
        return rc;
    size_t m = (size_t)PQntuples(r);
    struct chat_message *v = calloc(m ? m : 1, sizeof *v);
    if (!v) {
        PQclear(r);
        return TOCK_ENOMEM;
    }
    bool oom = false;
    for (size_t i = 0; i < m; i++) {
        struct chat_message *x = &v[i];
        int row = (int)i;
        x->id = pg_i64(r, row, 0);
        x->conversation_id = pg_i64(r, row, 1);
        x->user_id = pg_i64(r, row, 2);
        snprintf(x->role, sizeof x->role, "%s", pg_txt(r, row, 3));
        x->content = strdup(pg_txt(r, row, 4));
        if (!PQgetisnull(r, row, 5) && !(x->actions = strdup(pg_txt(r, row, 5))))
            oom = true;
        snprintf(x->engine, sizeof x->engine, "%s", pg_txt(r, row, 6));
        x->created_at = pg_i64(r, row, 7);
        if (!x->content)
            oom = true;
    }
    PQclear(r);
    if (oom) {
        chat_messages_free(v, m);
        return TOCK_ENOMEM;
    }
    *out = v;
    *n = m;
    return 0;
}
