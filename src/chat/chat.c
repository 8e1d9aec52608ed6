/*
 * chat.c — one chat turn: validation, the conversation and its state from the
 * database, the engine (openai when configured, else builtin; builtin when
 * openai cannot be reached), and the turn stored in one transaction.
 */
#include "chat/chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "obs/clock.h"
#include "obs/log.h"
#include "obs/metrics.h"

int chat_call(struct chat_turn *t, const char *name, json_t *args, struct tool_result *out)
{
    if (!args)
        args = json_object();
    int rc = tool_call(t->env, name, args, out);
    if (rc) {
        json_decref(args);
        return rc;
    }
    json_array_append_new(t->actions, json_pack("{s:s,s:o,s:O}", "tool", name, "arguments",
                                                args, "result", out->result));
    return 0;
}

static bool utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2
                                : (*p & 0xF8) == 0xF0 ? 3 : -1;
        if (n < 0)
            return false;
        p++;
        for (int i = 0; i < n; i++, p++)
            if ((*p & 0xC0) != 0x80)
                return false;
    }
    return true;
}

static bool blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

/* The last CHAT_HISTORY_MAX messages as [{role, content}]. */
static int load_history(struct svc *s, struct svc_ctx *ctx, int64_t conv_id, json_t **out)
{
    *out = json_array();
    if (!conv_id)
        return 0;
    struct chat_message *v = NULL;
    size_t n = 0;
    int rc = svc_conv_messages(s, ctx, conv_id, 0, CONV_MESSAGES_MAX, &v, &n);
    if (rc)
        return rc;
    for (size_t i = n > CHAT_HISTORY_MAX ? n - CHAT_HISTORY_MAX : 0; i < n; i++)
        json_array_append_new(*out, json_pack("{s:s,s:s}", "role", v[i].role, "content",
                                              v[i].content));
    chat_messages_free(v, n);
    return 0;
}

int chat_turn(const struct chat_config *cfg, struct svc *s, struct svc_ctx *ctx,
              int64_t conversation_id, const char *message, struct chat_out *out,
              struct tock_error *e)
{
    memset(out, 0, sizeof *out);
    if (!message || blank(message))
        return tock_fail(e, TOCK_EINVAL, "message", "message must not be empty");
    if (strlen(message) > CHAT_MESSAGE_MAX)
        return tock_fail(e, TOCK_EINVAL, "message", "message is longer than %d bytes",
                         CHAT_MESSAGE_MAX);
    if (!utf8_valid(message))
        return tock_fail(e, TOCK_EINVAL, "message", "message must be UTF-8 text");

    struct conversation cv;
    memset(&cv, 0, sizeof cv);
    json_t *state = NULL;
    if (conversation_id) {
        int rc = svc_conv_get(s, ctx, conversation_id, &cv);
        if (rc)
            return rc;
        if (cv.message_count + 2 > CONV_MESSAGES_MAX)
            return tock_fail(e, TOCK_ELIMIT, "conversation_id",
                             "this conversation is full (%d messages); start a new one",
                             CONV_MESSAGES_MAX);
        state = json_loads(cv.state, 0, NULL);
    }
    if (!json_is_object(state)) {
        json_decref(state);
        state = json_object();
    }
    struct tool_env env = {.svc = s, .ctx = ctx};
    struct chat_turn t = {&env, state, json_array(), clock_now_ms()};
    char *reply = NULL;
    int rc = 0;
    snprintf(out->engine, sizeof out->engine, "builtin");
    if (cfg && cfg->llm_url && cfg->llm_url[0]) {
        json_t *history = NULL;
        rc = load_history(s, ctx, conversation_id, &history);
        if (!rc)
            rc = chat_openai(cfg, &t, history, message, &reply);
        json_decref(history);
        if (!rc) {
            snprintf(out->engine, sizeof out->engine, "openai");
        } else if (json_array_size(t.actions)) {
            /* Tools already ran: do not let a second engine act on top of them. */
            snprintf(out->engine, sizeof out->engine, "openai");
            struct buf b = BUF_INIT;
            buf_printf(&b, "The assistant model stopped answering after %zu action(s); "
                           "see the actions for what was done.",
                       json_array_size(t.actions));
            reply = buf_detach(&b, NULL);
            rc = 0;
        } else {
            log_msg(LOG_WARN, "chat: the LLM endpoint failed (%s); answering with builtin",
                     tock_strerror(rc));
            out->fallback = true;
            rc = 0;
        }
    }
    if (!reply) {
        char *r = NULL;
        rc = chat_builtin(&t, message, &r);
        if (!rc && out->fallback) {
            struct buf b = BUF_INIT;
            buf_printf(&b, "(The assistant model is unreachable, so the built-in assistant "
                           "answered.) %s",
                       r);
            free(r);
            r = buf_detach(&b, NULL);
        }
        reply = r;
    }
    if (rc || !reply) {
        free(reply);
        json_decref(t.actions);
        json_decref(state);
        return rc ? rc : TOCK_ENOMEM;
    }
    char *st = json_dumps(state, JSON_COMPACT);
    if (!st || strlen(st) > CONV_STATE_MAX) {
        /* Too much to remember: keep only the last task. */
        free(st);
        json_t *small = json_pack("{s:O?}", "last_task_id", json_object_get(state, "last_task_id"));
        st = json_dumps(small, JSON_COMPACT);
        json_decref(small);
    }
    snprintf(cv.state, sizeof cv.state, "%s", st ? st : "{}");
    free(st);
    char *acts = json_dumps(t.actions, JSON_COMPACT);
    rc = acts ? svc_conv_save_turn(s, ctx, &cv, message, reply, acts, out->engine) : TOCK_ENOMEM;
    free(acts);
    json_decref(state);
    if (rc == TOCK_ELIMIT)
        tock_fail(e, TOCK_ELIMIT, "conversation_id",
                  "this conversation is full (%d messages); start a new one", CONV_MESSAGES_MAX);
    if (rc) {
        free(reply);
        json_decref(t.actions);
        return rc;
    }
    metrics_counter_add("tock_chat_turns_total", "engine",
                        out->fallback                       ? "builtin_fallback"
                        : !strcmp(out->engine, "openai") ? "openai"
                                                            : "builtin",
                        1);
    metrics_counter_add("tock_chat_actions_total", "engine",
                        !strcmp(out->engine, "openai") ? "openai" : "builtin",
                        json_array_size(t.actions));
    out->conversation_id = cv.id;
    out->reply = reply;
    out->actions = t.actions;
    return 0;
}

void chat_out_release(struct chat_out *o)
{
    free(o->reply);
    json_decref(o->actions);
    o->reply = NULL;
    o->actions = NULL;
}
