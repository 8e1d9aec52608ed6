/*
 * engine_openai.c — the chat engine backed by any OpenAI-compatible Chat
 * Completions endpoint (OpenAI, Groq, Ollama, llama.cpp, vLLM): the registry as
 * `tools`, a system prompt with the user's time zone and the current time, and a
 * tool-calling loop of at most CHAT_OPENAI_STEPS_MAX requests. Wire format per
 * the Chat Completions API: the assistant message is appended unchanged, then
 * one {"role":"tool","tool_call_id","content"} per call. `arguments` may be a
 * JSON string (validated: invalid JSON goes back to the model as a tool error)
 * or an object; a call without an id gets a generated one (written into the
 * assistant message sent back, so its tool message answers it).
 *
 * HTTP: libcurl with a connect timeout and a whole-request timeout; 408, 409,
 * 429 (except insufficient_quota) and 5xx are retried with exponential backoff
 * (0.5 s doubling to 8 s, with jitter) or after `retry-after` when the server
 * gives one. Any other failure returns an error so the caller answers with the
 * builtin engine instead.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "chat/chat.h"
#include "core/buf.h"
#include "core/timeutil.h"
#include "core/tz.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "obs/rand.h"

#define RESPONSE_MAX (4u << 20)
#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 8000
#define RETRY_AFTER_MAX_S 30

static pthread_once_t once = PTHREAD_ONCE_INIT;
static CURLcode init_rc;

static void global_init(void)
{
    init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct http_out {
    struct buf body;
    long retry_after_s; /* -1: none */
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct http_out *o = arg;
    return buf_append(&o->body, p, size * n) ? 0 : size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct http_out *o = arg;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof name && !strncasecmp(p, name, sizeof name - 1)) {
        char v[32];
        size_t k = 0;
        for (size_t i = sizeof name - 1; i < len && k + 1 < sizeof v; i++)
            if (p[i] >= '0' && p[i] <= '9')
                v[k++] = p[i];
            else if (k || (p[i] != ' ' && p[i] != '\t'))
                break;
        v[k] = 0;
        if (k) {
            char *end;
            long s = strtol(v, &end, 10);
            o->retry_after_s = s > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : s;
        }
    }
    return len;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static bool retryable(long status, const struct buf *body)
{
    if (status == 429) {
        json_t *j = json_loads(body->data, 0, NULL);
        json_t *err = json_object_get(j, "error");
        const char *code = json_string_value(json_object_get(err, "code"));
        const char *type = json_string_value(json_object_get(err, "type"));
        bool quota = (code && !strcmp(code, "insufficient_quota")) ||
                     (type && !strcmp(type, "insufficient_quota"));
        json_decref(j);
        return !quota;
    }
    return status == 408 || status == 409 || status >= 500;
}

/* POSTs body to {base}/chat/completions; *resp gets the parsed 200 reply. */
static int post(const struct chat_config *cfg, const char *body, json_t **resp)
{
    pthread_once(&once, global_init);
    if (init_rc != CURLE_OK)
        return TOCK_EINTERNAL;
    char url[1024];
    size_t bl = strlen(cfg->llm_url);
    while (bl && cfg->llm_url[bl - 1] == '/')
        bl--;
    snprintf(url, sizeof url, "%.*s/chat/completions", (int)bl, cfg->llm_url);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "Accept: application/json");
    char auth[600];
    if (cfg->llm_api_key && cfg->llm_api_key[0]) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", cfg->llm_api_key);
        h = curl_slist_append(h, auth);
    }
    int rc = TOCK_EBUS;
    long backoff = BACKOFF_FIRST_MS;
    for (int attempt = 0;; attempt++) {
        CURL *c = curl_easy_init();
        if (!c) {
            rc = TOCK_ENOMEM;
            break;
        }
        struct http_out o = {BUF_INIT, -1};
        o.body.cap_limit = RESPONSE_MAX;
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)cfg->llm_timeout_ms);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->llm_connect_timeout_ms);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(c, CURLOPT_USERAGENT, "tock-chat/1");
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &o);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &o);
        CURLcode cc = curl_easy_perform(c);
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(c);
        metrics_counter_add("tock_chat_llm_requests_total", "result",
                            cc != CURLE_OK            ? (cc == CURLE_OPERATION_TIMEDOUT ? "timeout"
                                                                                       : "unreachable")
                            : status == 200            ? "ok"
                            : status == 429            ? "429"
                            : status >= 500            ? "5xx"
                                                       : "other_error",
                            1);
        if (cc != CURLE_OK) {
            log_msg(LOG_WARN, "chat: LLM request to %s failed: %s", url, curl_easy_strerror(cc));
            buf_free(&o.body);
            rc = TOCK_EBUS;
            break;
        }
        if (status == 200) {
            json_error_t err;
            *resp = json_loadb(o.body.data, o.body.len, 0, &err);
            buf_free(&o.body);
            rc = json_is_object(*resp) ? 0 : TOCK_EJSON;
            if (rc) {
                json_decref(*resp);
                *resp = NULL;
                log_msg(LOG_WARN, "chat: the LLM answered with malformed JSON");
            }
            break;
        }
        bool again = retryable(status, &o.body) && attempt < cfg->llm_retries;
        log_msg(LOG_WARN, "chat: LLM answered HTTP %ld%s", status, again ? "; retrying" : "");
        if (!again) {
            buf_free(&o.body);
            rc = TOCK_EBUS;
            break;
        }
        long wait;
        if (o.retry_after_s >= 0) {
            wait = o.retry_after_s * 1000;
        } else {
            unsigned r;
            rand_fast(&r, sizeof r);
            wait = backoff / 2 + (long)(r % (unsigned)(backoff / 2 + 1)); /* jitter */
            backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
        }
        buf_free(&o.body);
        sleep_ms(wait);
    }
    curl_slist_free_all(h);
    return rc;
}

static json_t *system_prompt(const struct chat_turn *t)
{
    const char *zone = t->env->ctx->timezone;
    struct local_dt now;
    if (tz_utc_to_local(zone, t->now_ms, &now))
        memset(&now, 0, sizeof now);
    static const char *const wd[] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                                     "Saturday", "Sunday"};
    int64_t z = days_from_civil(now.year, now.month, now.day);
    char utc[32];
    time_fmt_rfc3339(t->now_ms, utc);
    struct buf b = BUF_INIT;
    buf_printf(&b,
               "You are the assistant of tock, a task manager. Act on the user's tasks only "
               "through the tools. The user's time zone is %s; now is %s %04d-%02d-%02dT%02d:%02d "
               "local time (%s). Give dates to the tools as local YYYY-MM-DD or "
               "YYYY-MM-DDTHH:MM. To act on a task by name, find it with list_tasks first; if "
               "several match, ask which one. Reply briefly and say exactly what changed.",
               zone, wd[((z % 7) + 7 + 3) % 7], now.year, now.month, now.day, now.hour,
               now.minute, utc);
    json_t *m = json_pack("{s:s,s:s}", "role", "system", "content", b.data);
    buf_free(&b);
    return m;
}

static json_t *tool_error(const char *code, const char *msg)
{
    return json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
}

/* Runs one tool call of the model; returns the tool message's content (JSON text). */
static char *run_call(struct chat_turn *t, json_t *call)
{
    json_t *fn = json_object_get(call, "function");
    const char *name = json_string_value(json_object_get(fn, "name"));
    json_t *raw = json_object_get(fn, "arguments");
    json_t *args = NULL, *content = NULL;
    if (json_is_object(raw)) {
        args = json_incref(raw);
    } else if (json_is_string(raw) || !raw) {
        const char *s = raw ? json_string_value(raw) : "{}";
        json_error_t err;
        args = json_loads(*s ? s : "{}", JSON_REJECT_DUPLICATES, &err);
        if (!json_is_object(args)) {
            char msg[256];
            snprintf(msg, sizeof msg, "the arguments are not a valid JSON object: %s",
                     args ? "not an object" : err.text);
            json_decref(args);
            args = NULL;
            content = tool_error("invalid_json", msg);
        }
    } else {
        content = tool_error("invalid_json", "the arguments must be a JSON object or string");
    }
    if (!content && (!name || !tool_find(name))) {
        char msg[160];
        snprintf(msg, sizeof msg, "there is no tool named %.64s", name ? name : "(none)");
        content = tool_error("not_found", msg);
    }
    if (!content) {
        struct tool_result r;
        int rc = chat_call(t, name, args, &r); /* steals args */
        args = NULL;
        if (rc)
            content = tool_error("internal", tock_strerror(rc));
        else
            content = r.result; /* owned */
    }
    json_decref(args);
    char *text = json_dumps(content, JSON_COMPACT);
    json_decref(content);
    return text;
}

int chat_openai(const struct chat_config *cfg, struct chat_turn *t, json_t *history,
                const char *message, char **reply)
{
    json_t *messages = json_array();
    json_array_append_new(messages, system_prompt(t));
    size_t i;
    json_t *x;
    json_array_foreach(history, i, x) json_array_append(messages, x);
    json_array_append_new(messages, json_pack("{s:s,s:s}", "role", "user", "content", message));
    json_t *tools = tools_openai();
    int rc = 0;
    *reply = NULL;
    for (int step = 0; step < CHAT_OPENAI_STEPS_MAX && !*reply; step++) {
        json_t *req = json_pack("{s:s,s:O,s:O,s:s}", "model", cfg->llm_model, "messages",
                                messages, "tools", tools, "tool_choice", "auto");
        char *body = json_dumps(req, JSON_COMPACT);
        json_decref(req);
        json_t *resp = NULL;
        rc = body ? post(cfg, body, &resp) : TOCK_ENOMEM;
        free(body);
        if (rc)
            break;
        json_t *msg = json_object_get(json_array_get(json_object_get(resp, "choices"), 0),
                                      "message");
        if (!json_is_object(msg)) {
            log_msg(LOG_WARN, "chat: the LLM reply has no choices[0].message");
            json_decref(resp);
            rc = TOCK_EJSON;
            break;
        }
        json_t *calls = json_object_get(msg, "tool_calls");
        if (json_is_array(calls) && json_array_size(calls)) {
            /*
             * The assistant message goes back unchanged, except that a call the
             * server sent without an id gets the one its tool message answers.
             */
            json_array_foreach(calls, i, x)
            {
                const char *id = json_string_value(json_object_get(x, "id"));
                if (!id || !*id) {
                    char idbuf[40];
                    snprintf(idbuf, sizeof idbuf, "call_%d_%zu", step, i);
                    json_object_set_new(x, "id", json_string(idbuf));
                }
            }
            json_array_append(messages, msg);
            json_array_foreach(calls, i, x)
            {
                const char *id = json_string_value(json_object_get(x, "id"));
                char *content = run_call(t, x);
                json_array_append_new(messages,
                                      json_pack("{s:s,s:s,s:s}", "role", "tool", "tool_call_id",
                                                id, "content", content ? content : "{}"));
                free(content);
            }
        } else {
            const char *text = json_string_value(json_object_get(msg, "content"));
            *reply = strdup(text && *text ? text : "Done.");
            if (!*reply)
                rc = TOCK_ENOMEM;
        }
        json_decref(resp);
    }
    if (!rc && !*reply)
        *reply = strdup("I stopped after too many steps; see the actions for what was done.");
    json_decref(tools);
    json_decref(messages);
    return rc;
}
