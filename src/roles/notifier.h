/*
 * notifier.h — the notifier role: consumes reminder.due (topic reminders) with the
 * idempotent consumer framework, turning each into one delivery row per enabled
 * channel of the user (svc_notify_enqueue; quiet hours and the digest window set
 * its send_at). A worker thread sends the rows whose time has come: in-app ones
 * in the database (inbox + notification.created), e-mail and webhook ones through
 * the channels (roles/channel.h), recording every attempt and retrying failures
 * with exponential backoff (backoff_ms, 2x, ...) until max_attempts, then
 * dead-lettering them. It sleeps until the earliest send_at, a kick (this process
 * queued something) or poll_ms (rows written by other processes).
 *
 * Lifetime: notifier_start subscribes (before the bus starts) and spawns the
 * worker; notifier_cancel ends retry waits; notifier_stop (after the bus stopped)
 * joins and frees.
 */
#ifndef TOCK_ROLES_NOTIFIER_H
#define TOCK_ROLES_NOTIFIER_H

#include <stdint.h>

#include "bus/bus.h"
#include "roles/channel.h"
#include "service/service.h"

struct notifier_config {
    struct channel_config channel;
    int64_t backoff_ms; /* TOCK_WEBHOOK_BACKOFF_MS (default 30000): first retry delay */
    int max_attempts;   /* TOCK_NOTIFY_MAX_ATTEMPTS (default 8: 30 s .. 32 min, > 1 h) */
    int poll_ms;        /* TOCK_NOTIFIER_POLL_MS (default 1000) */
    int consumer_attempts; /* TOCK_MAX_ATTEMPTS (default 5) */
};

/* Reads the settings (and TOCK_SMTP_*, TOCK_PUBLIC_URL) from the environment. */
int notifier_config_from_env(struct notifier_config *cfg, char *err, size_t errlen);

struct notifier;

int notifier_start(struct svc *svc, struct bus *bus, const struct bus_ops *bops,
                   const struct notifier_config *cfg, struct notifier **out);
/* Wakes the worker (svc->notify_kick). */
void notifier_kick(void *notifier);
void notifier_cancel(struct notifier *n);
void notifier_stop(struct notifier *n);

#endif
