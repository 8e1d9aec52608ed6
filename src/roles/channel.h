/*
 * channel.h — notification channels that leave the process: a `const struct
 * channel_ops` per transport (channel_email.c: SMTP through libcurl;
 * channel_webhook.c: signed HTTP POST through libcurl), chosen by the delivery's
 * channel name. The in-app channel is not here: it is a database write done by
 * the service inside the notifier's transaction.
 *
 * Contract: send() performs one attempt, blocking (bounded by cfg->timeout_s),
 * outside any transaction. It returns 0 when the far end accepted the message
 * (SMTP: 250 after DATA; webhook: any 2xx), else a TOCK_E* code; either way it
 * writes a one-line human summary into detail (status, server reply). It
 * never keeps pointers to its arguments.
 */
#ifndef TOCK_ROLES_CHANNEL_H
#define TOCK_ROLES_CHANNEL_H

#include <stddef.h>

#include "service/service.h"

struct channel_config {
    char smtp_url[512];      /* TOCK_SMTP_URL: smtp://host:port or smtps://host:port ("" = off) */
    char smtp_user[256];     /* TOCK_SMTP_USER */
    char smtp_password[512]; /* from TOCK_SMTP_PASSWORD_FILE */
    char smtp_from[256];     /* TOCK_SMTP_FROM */
    char public_url[512];    /* TOCK_PUBLIC_URL: base of the links in messages */
    long timeout_s;          /* per attempt */
};

struct channel_ops {
    const char *name; /* the delivery's channel: "email", "webhook" */
    int (*send)(const struct channel_config *cfg, const struct notify_job *job, char *detail,
                size_t dlen);
};

extern const struct channel_ops channel_email_ops;
extern const struct channel_ops channel_webhook_ops;

/* The channel for a delivery's channel name; NULL if none. */
const struct channel_ops *channel_find(const char *name);

/* curl_global_init once per process (thread-safe). 0 or TOCK_EINTERNAL. */
int channel_global_init(void);

/*
 * The body of a webhook POST for job (caller frees) and its X-Tock-Signature value
 * "sha256=<hex HMAC-SHA256 of the body keyed with secret>" (sig: >= 72 bytes).
 * Exposed for tests.
 */
char *channel_webhook_body(const struct channel_config *cfg, const struct notify_job *job);
void channel_webhook_sign(const char *secret, const char *body, size_t len, char sig[80]);

#endif
