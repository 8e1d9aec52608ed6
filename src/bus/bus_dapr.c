/*
 * bus_dapr.c — the Dapr bus (TOCK_BUS=dapr): tock talks to its Dapr sidecar over
 * HTTP and the sidecar talks to the broker (pubsub.kafka, ...). The contract is
 * the one in SPECS.md ("Dapr sidecar HTTP API"); docs/dapr.md describes it for
 * operators.
 *
 * Publish: POST http://127.0.0.1:$DAPR_HTTP_PORT/v1.0/publish/<pubsub>/<topic>
 * ?metadata.partitionKey=<user id> with Content-Type application/cloudevents+json
 * and our CloudEvent unchanged as the body (Dapr keeps a structured CloudEvent and
 * overwrites only its trace and topic attributes). 204 = accepted. 400/403/404 are
 * configuration errors (no such pubsub component, topic not allowed) and are
 * logged as such; 500 and transport errors are transient. Both return TOCK_EBUS:
 * the relay keeps the row and retries with backoff. One keep-alive curl handle,
 * serialized by pub_mu (the relay is the only publisher).
 *
 * Subscribe: the sidecar pulls, tock does not poll. subscribe() only records
 * (group, topics, handler); the api layer serves GET /dapr/subscribe from
 * bus_dapr_subscriptions_json() and POST /events/<group>/<topic> through
 * bus_dapr_deliver(), which runs the handler in the HTTP thread and maps its result
 * to SUCCESS / RETRY / DROP. This file knows no HTTP server: it only builds and
 * interprets the bodies.
 *
 * Configuration is read from the environment here (DAPR_HTTP_PORT,
 * TOCK_DAPR_PUBSUB, TOCK_TOPIC_PREFIX, DAPR_API_TOKEN, APP_API_TOKEN) because those
 * names are fixed by Dapr and shared with the sidecar.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"
#include "core/err.h"
#include "obs/log.h"

#define DAPR_SUBS_MAX 32
#define DAPR_TOPICS_MAX 8
#define DAPR_NAME_MAX 64
#define DAPR_PREFIX_MAX 128
#define DAPR_TOKEN_MAX 512
#define DAPR_CONNECT_TIMEOUT_MS 2000L
#define DAPR_PUBLISH_TIMEOUT_MS 10000L
#define DAPR_HEALTH_TIMEOUT_MS 2000L
#define DAPR_ERRBODY_MAX 512

struct dsub {
    char group[DAPR_NAME_MAX];
    char topics[DAPR_TOPICS_MAX][DAPR_NAME_MAX];
    size_t ntopics;
    bus_handler_fn fn;
    void *arg;
};

struct bus {
    char base[64]; /* http://127.0.0.1:PORT */
    char pubsub[DAPR_NAME_MAX];
    char prefix[DAPR_PREFIX_MAX];
    char api_token[DAPR_TOKEN_MAX]; /* sent to the sidecar; empty: none */
    char app_token[DAPR_TOKEN_MAX]; /* expected from the sidecar; empty: none */
    pthread_mutex_t pub_mu;
    CURL *curl; /* publish handle, under pub_mu */
    struct dsub subs[DAPR_SUBS_MAX];
    size_t nsubs;
    atomic_bool started, stopping;
};

/* Dapr attributes the sidecar adds to a delivered event; tock events never have them. */
static const char *const DAPR_ADDED[] = {"pubsubname", "topic", "traceid", "tracestate"};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Names we put in a URL path or route: [A-Za-z0-9._-], non-empty. */
static bool safe_name(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n >= max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static int copy_env(const char *name, const char *def, char *out, size_t cap, char *err,
                    size_t errlen)
{
    const char *v = getenv(name);
    if (!v || !*v)
        v = def;
    if ((size_t)snprintf(out, cap, "%s", v) >= cap) {
        snprintf(err, errlen, "dapr: %s is too long (at most %zu bytes)", name, cap - 1);
        return TOCK_EINVAL;
    }
    return 0;
}

static void dapr_close(struct bus *b)
{
    if (!b)
        return;
    if (b->curl)
        curl_easy_cleanup(b->curl);
    pthread_mutex_destroy(&b->pub_mu);
    sodium_memzero(b->api_token, sizeof b->api_token);
    sodium_memzero(b->app_token, sizeof b->app_token);
    free(b);
}

static int dapr_open(const char *spec, struct bus **out, char *err, size_t errlen)
{
    (void)spec;
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK) {
        snprintf(err, errlen, "dapr: curl_global_init: %s", curl_easy_strerror(curl_init_rc));
        return TOCK_EINTERNAL;
    }
    struct bus *b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(err, errlen, "out of memory");
        return TOCK_ENOMEM;
    }
    pthread_mutex_init(&b->pub_mu, NULL);
    atomic_init(&b->started, false);
    atomic_init(&b->stopping, false);
    int rc = TOCK_EINVAL;
    const char *port = getenv("DAPR_HTTP_PORT");
    long p = 3500;
    if (port && *port) {
        char *end;
        p = strtol(port, &end, 10);
        if (*end || p < 1 || p > 65535) {
            snprintf(err, errlen, "dapr: DAPR_HTTP_PORT must be a port number (1-65535)");
            goto fail;
        }
    }
    snprintf(b->base, sizeof b->base, "http://127.0.0.1:%ld", p);
    if ((rc = copy_env("TOCK_DAPR_PUBSUB", "tock-pubsub", b->pubsub, sizeof b->pubsub, err,
                       errlen)) ||
        (rc = copy_env("TOCK_TOPIC_PREFIX", "", b->prefix, sizeof b->prefix, err, errlen)) ||
        (rc = copy_env("DAPR_API_TOKEN", "", b->api_token, sizeof b->api_token, err, errlen)) ||
        (rc = copy_env("APP_API_TOKEN", "", b->app_token, sizeof b->app_token, err, errlen)))
        goto fail;
    rc = TOCK_EINVAL;
    if (!safe_name(b->pubsub, sizeof b->pubsub)) {
        snprintf(err, errlen, "dapr: TOCK_DAPR_PUBSUB must be a component name ([A-Za-z0-9._-])");
        goto fail;
    }
    if (*b->prefix && !safe_name(b->prefix, sizeof b->prefix)) {
        snprintf(err, errlen, "dapr: TOCK_TOPIC_PREFIX may only hold [A-Za-z0-9._-]");
        goto fail;
    }
    if (strpbrk(b->api_token, "\r\n")) {
        snprintf(err, errlen, "dapr: DAPR_API_TOKEN must not contain line breaks");
        goto fail;
    }
    b->curl = curl_easy_init();
    if (!b->curl) {
        snprintf(err, errlen, "dapr: curl_easy_init failed");
        rc = TOCK_ENOMEM;
        goto fail;
    }
    log_msg(LOG_INFO, "dapr: sidecar %s, pubsub %s, topic prefix '%s'%s%s", b->base, b->pubsub,
            b->prefix, *b->api_token ? ", sending dapr-api-token" : "",
            *b->app_token ? ", checking dapr-api-token (APP_API_TOKEN)" : "");
    *out = b;
    return 0;
fail:
    dapr_close(b);
    return rc;
}

/* ---------------------------------------------------------------- publish */

struct errbody {
    char text[DAPR_ERRBODY_MAX];
    size_t len;
};

/* Keeps the first DAPR_ERRBODY_MAX-1 bytes of a response body (for error logs). */
static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct errbody *e = arg;
    size_t n = size * nmemb, room = sizeof e->text - 1 - e->len;
    size_t take = n < room ? n : room;
    memcpy(e->text + e->len, data, take);
    e->len += take;
    e->text[e->len] = 0;
    return n;
}

static int dapr_publish(struct bus *b, const struct bus_msg *msg)
{
    if (!safe_name(msg->topic, DAPR_NAME_MAX)) {
        log_msg(LOG_ERROR, "dapr: refusing to publish to invalid topic name");
        return TOCK_EINVAL;
    }
    int rc = TOCK_EBUS;
    char url[512], hdr[DAPR_TOKEN_MAX + 32];
    struct curl_slist *hl = NULL;
    struct errbody eb = {{0}, 0};
    pthread_mutex_lock(&b->pub_mu);
    CURL *c = b->curl;
    char *key = curl_easy_escape(c, msg->key ? msg->key : "", 0);
    if (!key) {
        rc = TOCK_ENOMEM;
        goto out;
    }
    if ((size_t)snprintf(url, sizeof url, "%s/v1.0/publish/%s/%s%s?metadata.partitionKey=%s",
                         b->base, b->pubsub, b->prefix, msg->topic, key) >= sizeof url) {
        log_msg(LOG_ERROR, "dapr: publish URL too long");
        rc = TOCK_EINVAL;
        goto out;
    }
    hl = curl_slist_append(hl, "Content-Type: application/cloudevents+json");
    if (hl && *b->api_token) {
        snprintf(hdr, sizeof hdr, "dapr-api-token: %s", b->api_token);
        struct curl_slist *h2 = curl_slist_append(hl, hdr);
        sodium_memzero(hdr, sizeof hdr);
        hl = h2 ? h2 : (curl_slist_free_all(hl), NULL);
    }
    if (!hl) {
        rc = TOCK_ENOMEM;
        goto out;
    }
    curl_easy_reset(c); /* keeps the connection cache: keep-alive across calls */
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, msg->value);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)msg->len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, DAPR_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, DAPR_PUBLISH_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &eb);
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        log_msg(LOG_WARN, "dapr: publish to %s/%s%s: %s (sidecar unreachable; will retry)",
                b->pubsub, b->prefix, msg->topic, curl_easy_strerror(cc));
        goto out;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status == 204 || status == 200) {
        rc = 0;
    } else if (status == 400 || status == 403 || status == 404) {
        log_msg(LOG_ERROR,
                "dapr: publish to pubsub '%s' topic '%s%s' rejected with HTTP %ld (%s): %s — "
                "check TOCK_DAPR_PUBSUB, the pubsub component and its topic scopes",
                b->pubsub, b->prefix, msg->topic, status,
                status == 400   ? "pubsub not configured"
                : status == 403 ? "topic not allowed"
                                : "unknown pubsub or topic",
                eb.text);
    } else {
        log_msg(LOG_WARN, "dapr: publish to %s/%s%s: HTTP %ld: %s (will retry)", b->pubsub,
                b->prefix, msg->topic, status, eb.text);
    }
out:
    curl_slist_free_all(hl);
    curl_free(key);
    pthread_mutex_unlock(&b->pub_mu);
    return rc;
}

static int dapr_health(struct bus *b)
{
    char url[128];
    snprintf(url, sizeof url, "%s/v1.0/healthz", b->base);
    /* Its own handle: readiness must not wait behind a slow publish. */
    CURL *c = curl_easy_init();
    if (!c)
        return TOCK_ENOMEM;
    struct errbody eb = {{0}, 0};
    struct curl_slist *hl = NULL;
    char hdr[DAPR_TOKEN_MAX + 32];
    if (*b->api_token) {
        snprintf(hdr, sizeof hdr, "dapr-api-token: %s", b->api_token);
        hl = curl_slist_append(NULL, hdr);
        sodium_memzero(hdr, sizeof hdr);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, DAPR_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, DAPR_HEALTH_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &eb);
    long status = 0;
    CURLcode cc = curl_easy_perform(c);
    if (cc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return status == 204 ? 0 : TOCK_EBUS;
}

/* ---------------------------------------------------------------- subscriptions */

static int dapr_subscribe(struct bus *b, const char *group, const char *const *topics,
                          size_t ntopics, bus_handler_fn fn, void *arg)
{
    if (atomic_load(&b->started) || b->nsubs == DAPR_SUBS_MAX || ntopics > DAPR_TOPICS_MAX)
        return TOCK_ELIMIT;
    if (!safe_name(group, DAPR_NAME_MAX))
        return TOCK_EINVAL;
    for (size_t i = 0; i < ntopics; i++)
        if (!safe_name(topics[i], DAPR_NAME_MAX))
            return TOCK_EINVAL;
    struct dsub *s = &b->subs[b->nsubs++];
    snprintf(s->group, sizeof s->group, "%s", group);
    for (size_t i = 0; i < ntopics; i++)
        snprintf(s->topics[i], sizeof s->topics[i], "%s", topics[i]);
    s->ntopics = ntopics;
    s->fn = fn;
    s->arg = arg;
    return 0;
}

static int dapr_start(struct bus *b)
{
    atomic_store(&b->started, true);
    return 0;
}

static void dapr_stop(struct bus *b)
{
    atomic_store(&b->stopping, true);
}

int bus_dapr_subscriptions_json(struct bus *b, char **json)
{
    *json = NULL;
    json_t *arr = json_array();
    if (!arr)
        return TOCK_ENOMEM;
    int rc = 0;
    char topic[DAPR_PREFIX_MAX + DAPR_NAME_MAX], route[2 * DAPR_NAME_MAX + 16],
        dlq[DAPR_PREFIX_MAX + 8];
    snprintf(dlq, sizeof dlq, "%sdlq", b->prefix);
    for (size_t i = 0; i < b->nsubs && !rc; i++) {
        const struct dsub *s = &b->subs[i];
        for (size_t t = 0; t < s->ntopics && !rc; t++) {
            snprintf(topic, sizeof topic, "%s%s", b->prefix, s->topics[t]);
            snprintf(route, sizeof route, "/events/%s/%s", s->group, s->topics[t]);
            json_t *o = json_pack("{s:s,s:s,s:s,s:{}}", "pubsubname", b->pubsub, "topic", topic,
                                  "route", route, "metadata");
            /* A subscription to the dead-letter topic itself gets none (no loop). */
            if (o && strcmp(s->topics[t], "dlq") != 0 &&
                json_object_set_new(o, "deadLetterTopic", json_string(dlq)) != 0) {
                json_decref(o);
                o = NULL;
            }
            if (!o || json_array_append_new(arr, o) != 0)
                rc = TOCK_ENOMEM;
        }
    }
    if (!rc && !(*json = json_dumps(arr, JSON_COMPACT | JSON_PRESERVE_ORDER)))
        rc = TOCK_ENOMEM;
    json_decref(arr);
    return rc;
}

static const struct dsub *find_route(const struct bus *b, const char *group, const char *topic)
{
    for (size_t i = 0; i < b->nsubs; i++) {
        if (strcmp(b->subs[i].group, group) != 0)
            continue;
        for (size_t t = 0; t < b->subs[i].ntopics; t++)
            if (strcmp(b->subs[i].topics[t], topic) == 0)
                return &b->subs[i];
    }
    return NULL;
}

static bool nonempty_str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) && json_string_length(v) > 0;
}

int bus_dapr_deliver(struct bus *b, const char *group, const char *topic, const char *body,
                     size_t len, const char **status)
{
    *status = BUS_DAPR_DROP;
    const struct dsub *s = find_route(b, group, topic);
    if (!s)
        return TOCK_ENOTFOUND;
    if (atomic_load(&b->stopping)) {
        *status = BUS_DAPR_RETRY; /* shutting down: let the sidecar redeliver */
        return 0;
    }
    json_error_t je;
    json_t *ev = body && len ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &je) : NULL;
    if (!json_is_object(ev) || !nonempty_str(ev, "id") || !nonempty_str(ev, "type")) {
        log_msg(LOG_WARN, "dapr: /events/%s/%s: not a CloudEvent (%s); DROP", group, topic,
                ev ? "missing id or type" : "invalid JSON");
        json_decref(ev);
        return 0;
    }
    /* Give the handler the event as published: without what the sidecar added. */
    for (size_t i = 0; i < sizeof DAPR_ADDED / sizeof *DAPR_ADDED; i++)
        json_object_del(ev, DAPR_ADDED[i]);
    char *value = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!value) {
        json_decref(ev);
        *status = BUS_DAPR_RETRY;
        return 0;
    }
    json_t *uid = json_object_get(ev, "userid");
    struct bus_msg m = {topic, json_is_string(uid) ? json_string_value(uid) : NULL, value,
                        strlen(value), json_string_value(json_object_get(ev, "id"))};
    int hrc = s->fn(&m, s->arg);
    *status = hrc == 0 ? BUS_DAPR_SUCCESS : BUS_DAPR_RETRY;
    if (hrc)
        log_msg(LOG_WARN, "dapr: %s on %s: handler failed for event %s (%s); RETRY", group, topic,
                m.event_id, tock_strerror(hrc));
    free(value);
    json_decref(ev);
    return 0;
}

bool bus_dapr_app_token_ok(struct bus *b, const char *token)
{
    size_t want = strlen(b->app_token);
    if (want == 0)
        return true;
    if (!token)
        return false;
    /* Compare fixed-size copies so the time does not depend on where they differ. */
    char got[DAPR_TOKEN_MAX];
    memset(got, 0, sizeof got);
    size_t n = strlen(token);
    bool len_ok = n == want;
    memcpy(got, token, n < sizeof got - 1 ? n : sizeof got - 1);
    bool same = sodium_memcmp(got, b->app_token, sizeof got) == 0;
    sodium_memzero(got, sizeof got);
    return same && len_ok;
}

bool bus_is_dapr(const struct bus_ops *ops)
{
    return ops == &bus_dapr_ops;
}

const struct bus_ops bus_dapr_ops = {
    .name = "dapr",
    .open = dapr_open,
    .close = dapr_close,
    .publish = dapr_publish,
    .subscribe = dapr_subscribe,
    .start = dapr_start,
    .stop = dapr_stop,
    .health = dapr_health,
};
