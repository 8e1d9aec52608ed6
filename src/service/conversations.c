/*
 * conversations.c — chat conversations and their messages (POST /api/v1/chat,
 * docs/assistant.md). Stored in the database, with the engine's state, so any
 * api replica can answer a conversation's next turn. Conversations emit no
 * events: what the assistant changes goes through the tools, which emit the
 * same events as the REST API.
 */
#include <stdio.h>
#include <string.h>

#include "obs/clock.h"
#include "service/service.h"

static int read_unit(struct svc *s, struct store_conn **c)
{
    int rc = s->ops->acquire(s->store, c);
    if (rc)
        return rc;
    if ((rc = s->ops->begin(*c, false))) {
        s->ops->release(*c);
        return rc;
    }
    return 0;
}

static int read_done(struct svc *s, struct store_conn *c, int rc)
{
    s->ops->rollback(c);
    s->ops->release(c);
    return rc;
}

int svc_conv_get(struct svc *s, struct svc_ctx *ctx, int64_t id, struct conversation *out)
{
    struct store_conn *c;
    int rc = read_unit(s, &c);
    if (rc)
        return rc;
    return read_done(s, c, s->ops->conversation_get(c, ctx->user_id, id, out));
}

int svc_conv_list(struct svc *s, struct svc_ctx *ctx, struct conversation **out, size_t *n)
{
    struct store_conn *c;
    int rc = read_unit(s, &c);
    if (rc)
        return rc;
    return read_done(s, c,
                     s->ops->conversation_list(c, ctx->user_id, CONV_PER_USER_MAX, out, n));
}

int svc_conv_delete(struct svc *s, struct svc_ctx *ctx, int64_t id)
{
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    rc = s->ops->begin(c, true);
    if (!rc)
        rc = svc_finish(s, c, s->ops->conversation_delete(c, ctx->user_id, id), false);
    s->ops->release(c);
    return rc;
}

int svc_conv_messages(struct svc *s, struct svc_ctx *ctx, int64_t id, int64_t after, int limit,
                      struct chat_message **out, size_t *n)
{
    struct store_conn *c;
    int rc = read_unit(s, &c);
    if (rc)
        return rc;
    struct conversation cv;
    rc = s->ops->conversation_get(c, ctx->user_id, id, &cv);
    if (!rc)
        rc = s->ops->chat_message_list(c, ctx->user_id, id, after, limit, out, n);
    return read_done(s, c, rc);
}

/* The first line of the message, cut at a character boundary. */
static void title_from(char *title, size_t cap, const char *message)
{
    size_t n = 0;
    while (message[n] && message[n] != '\n' && message[n] != '\r' && n < cap - 1)
        n++;
    if (message[n] && message[n] != '\n' && message[n] != '\r')
        while (n > 0 && ((unsigned char)message[n] & 0xC0) == 0x80)
            n--; /* do not split a UTF-8 sequence */
    memcpy(title, message, n);
    title[n] = 0;
}

int svc_conv_save_turn(struct svc *s, struct svc_ctx *ctx, struct conversation *cv,
                       const char *message, const char *reply, const char *actions,
                       const char *engine)
{
    int64_t now = clock_now_ms();
    struct store_conn *c;
    int rc = s->ops->acquire(s->store, &c);
    if (rc)
        return rc;
    if ((rc = s->ops->begin(c, true))) {
        s->ops->release(c);
        return rc;
    }
    cv->user_id = ctx->user_id;
    if (!cv->id) {
        title_from(cv->title, sizeof cv->title, message);
        cv->message_count = 0;
        cv->created_at = cv->updated_at = now;
        rc = s->ops->conversation_insert(c, cv);
        if (!rc)
            rc = s->ops->conversation_prune(c, ctx->user_id, CONV_PER_USER_MAX);
    } else {
        struct conversation cur;
        rc = s->ops->conversation_get(c, ctx->user_id, cv->id, &cur);
        if (!rc && cur.message_count + 2 > CONV_MESSAGES_MAX)
            rc = TOCK_ELIMIT;
        if (!rc) {
            snprintf(cv->title, sizeof cv->title, "%s", cur.title);
            cv->message_count = cur.message_count;
            cv->created_at = cur.created_at;
        }
    }
    struct chat_message um = {.conversation_id = cv->id, .user_id = ctx->user_id,
                              .content = (char *)message, .created_at = now};
    snprintf(um.role, sizeof um.role, "user");
    struct chat_message am = {.conversation_id = cv->id, .user_id = ctx->user_id,
                              .content = (char *)reply, .actions = (char *)actions,
                              .created_at = now};
    snprintf(am.role, sizeof am.role, "assistant");
    snprintf(am.engine, sizeof am.engine, "%s", engine);
    if (!rc) {
        um.conversation_id = am.conversation_id = cv->id;
        rc = s->ops->chat_message_insert(c, &um);
    }
    if (!rc)
        rc = s->ops->chat_message_insert(c, &am);
    if (!rc) {
        cv->message_count += 2;
        cv->updated_at = now;
        rc = s->ops->conversation_update(c, cv);
    }
    rc = svc_finish(s, c, rc, false);
    s->ops->release(c);
    return rc;
}
