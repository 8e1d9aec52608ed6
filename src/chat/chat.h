/*
 * chat.h — the chat assistant (POST /api/v1/chat, docs/assistant.md): one turn =
 * load the conversation (and its engine state) from the database, run an engine,
 * store the user's message, the reply and the new state in one transaction.
 * Nothing is kept in process memory between turns, so any api replica can answer
 * a conversation's next turn.
 *
 * Engines act only through the tool registry (tool_call), so the reply's
 * `actions` are exactly the calls that ran, with the same validation and events
 * as the REST API:
 *  - builtin (engine_builtin.c): deterministic, offline intent grammar;
 *  - openai (engine_openai.c): an OpenAI-compatible Chat Completions endpoint
 *    with the registry as `tools`; when it cannot be reached the turn is
 *    answered by builtin instead and says so.
 */
#ifndef TOCK_CHAT_CHAT_H
#define TOCK_CHAT_CHAT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "chat/tools.h"
#include "core/err.h"
#include "service/service.h"

#define CHAT_MESSAGE_MAX 4000 /* bytes of one user message (400, field "message") */
#define CHAT_OPENAI_STEPS_MAX 8
#define CHAT_HISTORY_MAX 20   /* earlier messages sent to the LLM */

struct chat_config {
    const char *llm_url;     /* base URL ("https://api.openai.com/v1"); NULL/"": builtin */
    const char *llm_model;
    const char *llm_api_key; /* may be NULL/"" (Ollama, llama.cpp) */
    int llm_timeout_ms;      /* whole request */
    int llm_connect_timeout_ms;
    int llm_retries;         /* extra attempts on 408/409/429/5xx */
};

/* One turn's outcome (owned members; chat_out_release). */
struct chat_out {
    int64_t conversation_id;
    char *reply;
    json_t *actions;  /* [{tool, arguments, result}] */
    char engine[16];  /* builtin | openai: the engine that answered */
    bool fallback;    /* openai was configured but unreachable */
};

/* What an engine works with during one turn. */
struct chat_turn {
    const struct tool_env *env;
    json_t *state;   /* the conversation's state object (borrowed, mutable) */
    json_t *actions; /* borrowed array: chat_call appends to it */
    int64_t now_ms;
};

/*
 * Runs tool `name` with args (stolen; NULL = {}) through the registry and records
 * {tool, arguments, result} in t->actions. out receives the result (release it).
 * TOCK_ENOTFOUND for an unknown tool, else 0 (a failed call is out->is_error).
 */
int chat_call(struct chat_turn *t, const char *name, json_t *args, struct tool_result *out);

/*
 * One turn. conversation_id 0 starts a conversation. TOCK_EINVAL (e: field
 * "message") for an empty, too long or non-UTF-8 message; TOCK_ENOTFOUND for an
 * unknown or another user's conversation; TOCK_ELIMIT when it is full.
 */
int chat_turn(const struct chat_config *cfg, struct svc *s, struct svc_ctx *ctx,
              int64_t conversation_id, const char *message, struct chat_out *out,
              struct tock_error *e);
void chat_out_release(struct chat_out *o);

/* ---- engines ---- */
/* Always answers: *reply (malloc'd). 0 or TOCK_ENOMEM. */
int chat_builtin(struct chat_turn *t, const char *message, char **reply);
/*
 * history: the conversation's earlier messages [{role, content}] oldest first.
 * 0 with *reply, or TOCK_EBUSY/TOCK_EIO/... when the endpoint could not be used
 * (the caller falls back to builtin).
 */
int chat_openai(const struct chat_config *cfg, struct chat_turn *t, json_t *history,
                const char *message, char **reply);

/* ---- the builtin engine's pure parts (unit-tested) ---- */
enum chat_intent {
    CI_UNKNOWN = 0,
    CI_HELP,
    CI_GREETING,
    CI_THANKS,
    CI_ADD,
    CI_LIST,
    CI_COMPLETE,
    CI_REOPEN,
    CI_DELETE,
    CI_MOVE,        /* new due */
    CI_RENAME,
    CI_PRIORITY,
    CI_TAG,
    CI_REMIND,
    CI_CANCEL_REMINDER,
    CI_LIST_REMINDERS,
    CI_STOP_REPEAT,
};

#define CHAT_SLOT_MAX 1024
struct chat_intent_parse {
    int intent;                 /* enum chat_intent */
    char target[CHAT_SLOT_MAX]; /* the task reference ("the dentist", "it", "12") */
    char arg[CHAT_SLOT_MAX];    /* the rest: new title, when, task text to add, ... */
    int priority;               /* CI_PRIORITY: enum task_priority */
};

/* Lower-cases ASCII, trims, drops trailing ?!. and collapses spaces. */
void chat_normalize(const char *in, char *out, size_t cap);
/* Recognises the intent of a normalized message. Pure. */
void chat_intent_of(const char *norm, struct chat_intent_parse *out);
/*
 * "the second one", "2", "#3", "number 2", "the last one" -> 0-based index
 * among n choices; -1 if the message is not a choice.
 */
int chat_choice_of(const char *norm, size_t n);
/* True for "it", "that", "this one", ... (the last task of the conversation). */
bool chat_is_pronoun(const char *norm);
/*
 * How well a reference matches a title: 0 (no) .. 100 (every word of the
 * reference found in the title). Words like "the", "thing", "task" are ignored;
 * a word matches a title word it equals, prefixes (>= 3 letters), or is within
 * one edit of (>= 5 letters).
 */
int chat_match_score(const char *ref, const char *title);

#endif
