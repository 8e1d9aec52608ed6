/*
 * channel_webhook.c — the webhook channel: POSTs a JSON body to the user's URL
 * with X-Tock-Signature (HMAC-SHA256 of the exact body bytes, keyed with the
 * user's secret, hex) and X-Tock-Delivery (the delivery id, the same on every
 * retry so receivers can drop duplicates). Any 2xx is success; anything else,
 * or no answer within the timeout, is a failed attempt (the notifier retries).
 * Also holds the shared channel registry and curl's global init.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "obs/clock.h"
#include "roles/channel.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static CURLcode init_rc;

static void global_init(void)
{
    init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int channel_global_init(void)
{
    pthread_once(&once, global_init);
    return init_rc == CURLE_OK ? 0 : TOCK_EINTERNAL;
}

const struct channel_ops *channel_find(const char *name)
{
    if (strcmp(name, "email") == 0)
        return &channel_email_ops;
    if (strcmp(name, "webhook") == 0)
        return &channel_webhook_ops;
    return NULL;
}

char *channel_webhook_body(const struct channel_config *cfg, const struct notify_job *job)
{
    const struct delivery *d = &job->d;
    json_t *items = json_loads(d->payload, 0, NULL);
    if (!json_is_array(items)) {
        json_decref(items);
        items = json_array();
    }
    /* Each reminder gets a link to its task. */
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        const char *tid = json_string_value(json_object_get(it, "task_id"));
        if (tid) {
            char link[700];
            snprintf(link, sizeof link, "%s/tasks/%s", cfg->public_url, tid);
            json_object_set_new(it, "link", json_string(link));
        }
    }
    char ts[32], uid[24];
    time_fmt_rfc3339(clock_now_ms(), ts);
    id_str(d->user_id, uid);
    const char *event = strcmp(d->kind, "test") == 0 ? "test"
                        : json_array_size(items) > 1 ? "reminder.digest"
                                                     : "reminder.due";
    json_t *body = json_pack("{s:s, s:s, s:s, s:s, s:I, s:o}", "delivery_id", d->uuid, "event",
                             event, "user_id", uid, "sent_at", ts, "attempt",
                             (json_int_t)d->attempts, "reminders", items);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    return text;
}

void channel_webhook_sign(const char *secret, const char *body, size_t len, char sig[80])
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
    crypto_auth_hmacsha256_final(&st, mac);
    memcpy(sig, "sha256=", 7);
    sodium_bin2hex(sig + 7, 80 - 7, mac, sizeof mac);
    sodium_memzero(&st, sizeof st);
}

static size_t discard(char *data, size_t size, size_t nmemb, void *arg)
{
    (void)data;
    (void)arg;
    return size * nmemb;
}

static int webhook_send(const struct channel_config *cfg, const struct notify_job *job,
                        char *detail, size_t dlen)
{
    if (channel_global_init()) {
        snprintf(detail, dlen, "libcurl could not be initialised");
        return TOCK_EINTERNAL;
    }
    char *body = channel_webhook_body(cfg, job);
    if (!body) {
        snprintf(detail, dlen, "out of memory");
        return TOCK_ENOMEM;
    }
    size_t len = strlen(body);
    char sig[80], h_sig[120], h_id[80];
    channel_webhook_sign(job->prefs.webhook_secret, body, len, sig);
    snprintf(h_sig, sizeof h_sig, "X-Tock-Signature: %s", sig);
    snprintf(h_id, sizeof h_id, "X-Tock-Delivery: %s", job->d.uuid);
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    int rc = TOCK_EBUS;
    if (!c) {
        snprintf(detail, dlen, "curl_easy_init failed");
        free(body);
        return TOCK_ENOMEM;
    }
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "User-Agent: tock-webhook/1");
    h = curl_slist_append(h, h_sig);
    h = curl_slist_append(h, h_id);
    curl_easy_setopt(c, CURLOPT_URL, job->prefs.webhook_url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, cfg->timeout_s);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, cfg->timeout_s);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    CURLcode cr = curl_easy_perform(c);
    long status = 0;
    if (cr == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        snprintf(detail, dlen, "HTTP %ld", status);
        rc = status >= 200 && status < 300 ? 0 : TOCK_EBUS;
    } else {
        snprintf(detail, dlen, "%s", curl_easy_strerror(cr));
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(body);
    return rc;
}

const struct channel_ops channel_webhook_ops = {"webhook", webhook_send};
