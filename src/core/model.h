/*
 * model.h — the small value types besides tasks: users, API tokens, tags and
 * outbox rows. Fixed-size fields so they need no release, except outbox rows
 * (outbox_row_release).
 */
#ifndef TOCK_CORE_MODEL_H
#define TOCK_CORE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/tz.h"

#define EMAIL_MAX 254
#define DISPLAY_NAME_MAX 100  /* characters */
#define PASSWORD_MIN 8
#define PASSWORD_MAX 1024
#define TOKEN_NAME_MAX 100
#define TOKENS_PER_USER_MAX 100

struct user {
    int64_t id;
    char email[EMAIL_MAX + 1];
    char display_name[DISPLAY_NAME_MAX * 4 + 1];
    char timezone[TZ_NAME_MAX];
    char password_hash[192];
    int64_t created_at;
};

struct api_token {
    int64_t id, user_id;
    char name[TOKEN_NAME_MAX * 4 + 1];
    int64_t created_at, last_used_at; /* last_used_at 0: never */
};

struct tag {
    int64_t id, user_id;
    char name[65];
    char color[8]; /* "#rrggbb" or "" */
    int64_t task_count;
};

/* One outbox row: an event waiting for (or done with) the relay. */
struct outbox_row {
    int64_t seq;         /* outbox id: the publication order */
    char topic[32];
    char key[24];        /* the record key: the user id */
    int64_t user_id, task_id;
    char type[32];
    char event_id[40];
    char *event_json;    /* owned */
    int64_t created_at, published_at; /* published_at 0: not yet */
    bool replayed;       /* dead letters (deadletter_list): replayed already */
};

void outbox_rows_free(struct outbox_row *rows, size_t n);

#endif
