/*
 * notifier.c — the notifier role (see notifier.h): its consumer handler and the
 * delivery worker thread.
 */
#include "roles/notifier.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "obs/clock.h"
#include "obs/env.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "roles/consumer.h"

#define CLAIM_BATCH 50
#define KICK_RECHECK_MS 30
/* An attempt takes at most the channel timeout (15 s); one "sending" this long died. */
#define SENDING_LEASE_MS (10 * 60 * 1000)
#define RECOVER_EVERY_MS (60 * 1000)

static const char *const topics[] = {"reminders"};
static const char *const types[] = {"reminder.due"};

struct notifier {
    struct svc *svc;
    struct notifier_config cfg;
    struct consumer *cons;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping, dirty;
};

static int env_str(const char *name, const char *def, char *out, size_t cap, char *err,
                   size_t errlen)
{
    const char *v = getenv(name);
    if (!v || !*v)
        v = def;
    if (strlen(v) >= cap) {
        snprintf(err, errlen, "%s is too long", name);
        return -1;
    }
    snprintf(out, cap, "%s", v);
    return 0;
}

int notifier_config_from_env(struct notifier_config *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    struct channel_config *ch = &cfg->channel;
    int64_t backoff, attempts, poll, cattempts;
    if (env_str("TOCK_SMTP_URL", "", ch->smtp_url, sizeof ch->smtp_url, err, errlen) ||
        env_str("TOCK_SMTP_USER", "", ch->smtp_user, sizeof ch->smtp_user, err, errlen) ||
        env_str("TOCK_SMTP_FROM", "tock@localhost", ch->smtp_from, sizeof ch->smtp_from, err,
                errlen) ||
        env_str("TOCK_PUBLIC_URL", "http://localhost:8080", ch->public_url,
                sizeof ch->public_url, err, errlen) ||
        env_i64("TOCK_WEBHOOK_BACKOFF_MS", 30000, 1, 3600000, &backoff, err, errlen) ||
        env_i64("TOCK_NOTIFY_MAX_ATTEMPTS", 8, 1, 50, &attempts, err, errlen) ||
        env_i64("TOCK_NOTIFIER_POLL_MS", 1000, 10, 60000, &poll, err, errlen) ||
        env_i64("TOCK_MAX_ATTEMPTS", 5, 1, 100, &cattempts, err, errlen))
        return -1;
    if (ch->smtp_url[0] && strncmp(ch->smtp_url, "smtp://", 7) != 0 &&
        strncmp(ch->smtp_url, "smtps://", 8) != 0) {
        snprintf(err, errlen, "TOCK_SMTP_URL must start with smtp:// or smtps://");
        return -1;
    }
    if (strpbrk(ch->smtp_from, "\r\n<>") || !strchr(ch->smtp_from, '@')) {
        snprintf(err, errlen, "TOCK_SMTP_FROM must be a plain e-mail address");
        return -1;
    }
    size_t pl = strlen(ch->public_url);
    while (pl && ch->public_url[pl - 1] == '/')
        ch->public_url[--pl] = 0;
    const char *pw = getenv("TOCK_SMTP_PASSWORD_FILE");
    if (pw && *pw) {
        FILE *f = fopen(pw, "r");
        if (!f) {
            snprintf(err, errlen, "TOCK_SMTP_PASSWORD_FILE: cannot read %s", pw);
            return -1;
        }
        size_t n = fread(ch->smtp_password, 1, sizeof ch->smtp_password - 1, f);
        fclose(f);
        ch->smtp_password[n] = 0;
        while (n && (ch->smtp_password[n - 1] == '\n' || ch->smtp_password[n - 1] == '\r'))
            ch->smtp_password[--n] = 0;
    }
    ch->timeout_s = 15;
    cfg->backoff_ms = backoff;
    cfg->max_attempts = (int)attempts;
    cfg->poll_ms = (int)poll;
    cfg->consumer_attempts = (int)cattempts;
    return 0;
}

static int handle(struct svc *svc, struct store_conn *c, const struct consumer_event *ev,
                  void *arg)
{
    (void)arg;
    return svc_notify_enqueue(svc, c, ev->user_id, ev->data, clock_now_ms());
}

/* One pass: claim what is due, send the external ones, record the outcomes. */
static int work(struct notifier *nt, size_t *handled)
{
    struct notify_job *jobs = NULL;
    size_t n = 0;
    *handled = 0;
    int rc = svc_notify_claim(nt->svc, clock_now_ms(), CLAIM_BATCH, &jobs, &n);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        const struct channel_ops *ch = channel_find(jobs[i].d.channel);
        char detail[300] = "";
        int src = ch ? ch->send(&nt->cfg.channel, &jobs[i], detail, sizeof detail)
                     : TOCK_EINVAL;
        if (!ch)
            snprintf(detail, sizeof detail, "unknown channel %s", jobs[i].d.channel);
        metrics_counter_add("tock_notifications_sent_total", "result", src ? "failed" : "ok", 1);
        if (src)
            log_msg(LOG_WARN, "notifier: %s delivery %s attempt %lld failed: %s",
                    jobs[i].d.channel, jobs[i].d.uuid, (long long)jobs[i].d.attempts, detail);
        int frc = svc_notify_finish(nt->svc, &jobs[i], src == 0, detail, nt->cfg.backoff_ms,
                                    nt->cfg.max_attempts);
        if (frc)
            log_msg(LOG_ERROR, "notifier: recording delivery %s failed (%s)", jobs[i].d.uuid,
                    tock_strerror(frc));
    }
    notify_jobs_free(jobs, n);
    *handled = n;
    return 0;
}

static void wait_ms(struct notifier *nt, int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = clock_deadline(CLOCK_MONOTONIC, ms);
    while (!nt->stopping && !nt->dirty)
        if (pthread_cond_timedwait(&nt->cv, &nt->mu, &ts) != 0)
            break;
}

static void recover(struct notifier *nt)
{
    int64_t n = 0;
    int rc = svc_notify_recover(nt->svc, SENDING_LEASE_MS, &n);
    if (rc)
        log_msg(LOG_WARN, "notifier: recovering interrupted deliveries failed (%s)",
                tock_strerror(rc));
    else if (n)
        log_msg(LOG_WARN, "notifier: %lld deliveries were interrupted while sending "
                          "(webhooks retried, e-mails not resent)",
                (long long)n);
}

static void *run(void *arg)
{
    struct notifier *nt = arg;
    int64_t last_recover = 0;
    pthread_mutex_lock(&nt->mu);
    while (!nt->stopping) {
        bool kicked = nt->dirty;
        nt->dirty = false;
        pthread_mutex_unlock(&nt->mu);
        int64_t mono_ms = clock_mono_ns() / 1000000;
        if (!last_recover || mono_ms - last_recover >= RECOVER_EVERY_MS) {
            recover(nt);
            last_recover = mono_ms;
        }
        size_t handled = 0;
        int rc = work(nt, &handled);
        int64_t next = 0, sleep_ms = nt->cfg.poll_ms;
        if (!rc)
            rc = svc_notify_next(nt->svc, &next);
        if (rc) {
            log_msg(LOG_WARN, "notifier: %s", tock_strerror(rc));
        } else if (handled) {
            sleep_ms = 0; /* there may be more */
        } else if (next) {
            int64_t until = next - clock_now_ms();
            if (until < sleep_ms)
                sleep_ms = until > 0 ? until : 1;
        }
        /* A kick may come from inside a transaction not yet committed: look again soon. */
        if (kicked && sleep_ms > KICK_RECHECK_MS)
            sleep_ms = KICK_RECHECK_MS;
        pthread_mutex_lock(&nt->mu);
        wait_ms(nt, sleep_ms);
    }
    pthread_mutex_unlock(&nt->mu);
    return NULL;
}

int notifier_start(struct svc *svc, struct bus *bus, const struct bus_ops *bops,
                   const struct notifier_config *cfg, struct notifier **out)
{
    if (channel_global_init())
        return TOCK_EINTERNAL;
    struct notifier *nt = calloc(1, sizeof *nt);
    if (!nt)
        return TOCK_ENOMEM;
    nt->svc = svc;
    nt->cfg = *cfg;
    pthread_mutex_init(&nt->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&nt->cv, &ca);
    pthread_condattr_destroy(&ca);
    struct consumer_def def = {
        .name = "notifier",
        .topics = topics,
        .ntopics = 1,
        .types = types,
        .ntypes = 1,
        .handle = handle,
        .max_attempts = cfg->consumer_attempts,
    };
    int rc = consumer_new(svc, &def, &nt->cons);
    if (!rc)
        rc = consumer_subscribe(nt->cons, bus, bops);
    if (!rc && pthread_create(&nt->thread, NULL, run, nt) != 0)
        rc = TOCK_EINTERNAL;
    if (rc) {
        notifier_stop(nt);
        return rc;
    }
    nt->started = true;
    *out = nt;
    return 0;
}

void notifier_kick(void *arg)
{
    struct notifier *nt = arg;
    pthread_mutex_lock(&nt->mu);
    nt->dirty = true;
    pthread_cond_signal(&nt->cv);
    pthread_mutex_unlock(&nt->mu);
}

void notifier_cancel(struct notifier *nt)
{
    if (nt)
        consumer_cancel(nt->cons);
}

void notifier_stop(struct notifier *nt)
{
    if (!nt)
        return;
    if (nt->started) {
        pthread_mutex_lock(&nt->mu);
        nt->stopping = true;
        pthread_cond_signal(&nt->cv);
        pthread_mutex_unlock(&nt->mu);
        pthread_join(nt->thread, NULL);
    }
    consumer_free(nt->cons);
    pthread_mutex_destroy(&nt->mu);
    pthread_cond_destroy(&nt->cv);
    free(nt);
}
