/*
 * config.c — TOCK_* environment variables and --flags into struct tock_config.
 * Numbers are parsed with range checks; a bad value stops start-up with a clear
 * message instead of silently using a default.
 */
#include "cli/config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "obs/log.h"

int config_apply_flags(int argc, char **argv, int first, char *err, size_t errlen)
{
    int out = first;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || strlen(a) < 3) {
            argv[out++] = argv[i];
            continue;
        }
        char name[96] = "TOCK_";
        const char *eq = strchr(a, '=');
        size_t n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        if (n + 6 > sizeof name) {
            snprintf(err, errlen, "flag %s is too long", a);
            return -1;
        }
        for (size_t k = 0; k < n; k++) {
            char c = a[2 + k];
            name[5 + k] = c == '-' ? '_' : (char)toupper((unsigned char)c);
        }
        name[5 + n] = 0;
        const char *val;
        if (eq) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            snprintf(err, errlen, "flag %s needs a value", a);
            return -1;
        }
        setenv(name, val, 1);
    }
    argv[out] = NULL;
    return out;
}

static const char *env(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

static int num(const char *name, long long def, long long min, long long max, long long *out,
               char *err, size_t errlen)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        *out = def;
        return 0;
    }
    errno = 0;
    char *end;
    long long x = strtoll(v, &end, 10);
    if (errno || *end || x < min || x > max) {
        snprintf(err, errlen, "%s must be an integer in [%lld, %lld], got '%s'", name, min, max,
                 v);
        return -1;
    }
    *out = x;
    return 0;
}

static int boolean(const char *name, bool def, bool *out, char *err, size_t errlen)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        *out = def;
        return 0;
    }
    if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on"))
        *out = true;
    else if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off"))
        *out = false;
    else {
        snprintf(err, errlen, "%s must be 1/0/true/false, got '%s'", name, v);
        return -1;
    }
    return 0;
}

static int read_secret_file(const char *path, unsigned char *out, size_t cap, size_t *len,
                            char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read JWT secret file %s: %s", path, strerror(errno));
        return -1;
    }
    size_t n = fread(out, 1, cap, f);
    fclose(f);
    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
        n--;
    *len = n;
    return 0;
}

static int load_secret(struct tock_config *cfg, char *err, size_t errlen)
{
    const char *s = getenv("TOCK_JWT_SECRET");
    const char *file = getenv("TOCK_JWT_SECRET_FILE");
    if (s && *s) {
        size_t n = strlen(s);
        if (n > sizeof cfg->jwt_secret)
            n = sizeof cfg->jwt_secret;
        memcpy(cfg->jwt_secret, s, n);
        cfg->jwt_secret_len = n;
    } else if (file && *file) {
        if (read_secret_file(file, cfg->jwt_secret, sizeof cfg->jwt_secret, &cfg->jwt_secret_len,
                             err, errlen))
            return -1;
    } else {
        /* Generated once and kept in the data directory, so restarts keep sessions. */
        char path[1200];
        snprintf(path, sizeof path, "%s/jwt.secret", cfg->data_dir);
        if (access(path, F_OK) != 0) {
            unsigned char rnd[32];
            char hex[65];
            randombytes_buf(rnd, sizeof rnd);
            sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
            int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
            if (fd < 0 && errno != EEXIST) {
                snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
                return -1;
            }
            if (fd >= 0) {
                ssize_t w = write(fd, hex, 64);
                close(fd);
                if (w != 64) {
                    snprintf(err, errlen, "cannot write %s", path);
                    return -1;
                }
                cfg->jwt_secret_generated = true;
            }
        }
        if (read_secret_file(path, cfg->jwt_secret, sizeof cfg->jwt_secret, &cfg->jwt_secret_len,
                             err, errlen))
            return -1;
    }
    if (cfg->jwt_secret_len < 32) {
        snprintf(err, errlen, "the JWT secret must be at least 32 bytes");
        return -1;
    }
    return 0;
}

int config_load(struct tock_config *cfg, bool need_secret, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->db, sizeof cfg->db, "%s", env("TOCK_DB", "sqlite:./tock.db"));
    snprintf(cfg->bus, sizeof cfg->bus, "%s", env("TOCK_BUS", "local"));
    snprintf(cfg->roles, sizeof cfg->roles, "%s", env("TOCK_ROLES", "all"));
    const char *listen = env("TOCK_LISTEN", "127.0.0.1:8080");
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen || strlen(listen) >= sizeof cfg->listen_host + 8) {
        snprintf(err, errlen, "TOCK_LISTEN must be HOST:PORT, got '%s'", listen);
        return -1;
    }
    const char *host = listen;
    size_t hl = (size_t)(colon - listen);
    if (listen[0] == '[' && colon[-1] == ']') {
        host++;
        hl -= 2;
    }
    snprintf(cfg->listen_host, sizeof cfg->listen_host, "%.*s", (int)hl, host);
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535) {
        snprintf(err, errlen, "TOCK_LISTEN port must be 0-65535, got '%s'", colon + 1);
        return -1;
    }
    cfg->listen_port = (int)port;

    const char *dd = getenv("TOCK_DATA_DIR");
    if (dd && *dd) {
        snprintf(cfg->data_dir, sizeof cfg->data_dir, "%s", dd);
    } else if (strncmp(cfg->db, "sqlite:", 7) == 0) {
        char tmp[1024];
        snprintf(tmp, sizeof tmp, "%s", cfg->db + 7);
        snprintf(cfg->data_dir, sizeof cfg->data_dir, "%s", dirname(tmp));
    } else {
        snprintf(cfg->data_dir, sizeof cfg->data_dir, ".");
    }

    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu < 1)
        ncpu = 1;
    long long v;
#define NUM(name, def, min, max, field)                                                        \
    do {                                                                                       \
        if (num(name, def, min, max, &v, err, errlen))                                         \
            return -1;                                                                         \
        cfg->field = (__typeof__(cfg->field))v;                                                \
    } while (0)
    NUM("TOCK_JWT_TTL", 7 * 24 * 3600, 60, 366LL * 24 * 3600, jwt_ttl_s);
    /*
     * More threads than cores: handlers block on the database, and with group commit
     * the writers waiting together form one batch. Measured on 2 cores (bench/README):
     * 8 threads ~1,850 durable creates/s and /healthz at ~98% of nginx; 32 threads
     * ~2,350 creates/s but /healthz at ~65% (context switches). Write-heavy
     * deployments can raise TOCK_THREADS.
     */
    long def_threads = ncpu * 4 < 8 ? 8 : (ncpu * 4 > 128 ? 128 : ncpu * 4);
    NUM("TOCK_THREADS", def_threads, 1, 256, threads);
    NUM("TOCK_DB_POOL", cfg->threads + 4, 2, 512, db_pool);
    NUM("TOCK_DB_BUSY_TIMEOUT", 5000, 0, 600000, db_busy_timeout_ms);
    NUM("TOCK_MAX_BODY", 1 << 20, 1024, 64 << 20, max_body);
    /* At most 24 KiB: beyond that MHD's 32 KiB connection buffer answers first. */
    NUM("TOCK_MAX_HEADER", 8 << 10, 1024, 24 << 10, max_header);
    NUM("TOCK_MAX_URL", 8 << 10, 256, 32 << 10, max_url);
    NUM("TOCK_MAX_CONNECTIONS", 10000, 1, 1000000, max_connections);
    NUM("TOCK_MAX_CONNECTIONS_PER_IP", 0, 0, 1000000, max_connections_per_ip);
    NUM("TOCK_IDLE_TIMEOUT", 60, 1, 3600, idle_timeout_s);
    NUM("TOCK_LOGIN_MAX_FAILURES", 10, 1, 64, login_max_failures);
    NUM("TOCK_LOGIN_WINDOW", 300, 1, 86400, login_window_s);
#undef NUM
    if (boolean("TOCK_ACCESS_LOG", true, &cfg->access_log, err, errlen))
        return -1;
    const char *sync = env("TOCK_DB_SYNC", "full");
    if (strcmp(sync, "full") == 0)
        cfg->db_sync_full = true;
    else if (strcmp(sync, "normal") == 0)
        cfg->db_sync_full = false;
    else {
        snprintf(err, errlen, "TOCK_DB_SYNC must be full or normal, got '%s'", sync);
        return -1;
    }
    cfg->log_level = log_level_parse(env("TOCK_LOG_LEVEL", "info"));
    if (cfg->log_level < 0) {
        snprintf(err, errlen, "TOCK_LOG_LEVEL must be debug, info, warn or error");
        return -1;
    }
    /* ---- mcp ---- */
    snprintf(cfg->mcp_allowed_origins, sizeof cfg->mcp_allowed_origins, "%s",
             env("TOCK_MCP_ALLOWED_ORIGINS", ""));
    if (num("TOCK_MCP_SESSION_IDLE", 24 * 3600, 60, 30LL * 24 * 3600, &v, err, errlen))
        return -1;
    cfg->mcp_session_idle_s = v;
    if (num("TOCK_MCP_SESSIONS_PER_USER", 100, 1, 10000, &v, err, errlen))
        return -1;
    cfg->mcp_sessions_per_user = (int)v;
    if (need_secret && load_secret(cfg, err, errlen))
        return -1;
    /* ---- chat ---- */
    snprintf(cfg->llm_url, sizeof cfg->llm_url, "%s", env("TOCK_LLM_URL", ""));
    snprintf(cfg->llm_model, sizeof cfg->llm_model, "%s", env("TOCK_LLM_MODEL", "gpt-4o-mini"));
    snprintf(cfg->llm_api_key, sizeof cfg->llm_api_key, "%s", env("TOCK_LLM_API_KEY", ""));
    if (!cfg->llm_api_key[0] && env("TOCK_LLM_API_KEY_FILE", NULL)) {
        size_t n = 0;
        if (read_secret_file(env("TOCK_LLM_API_KEY_FILE", NULL),
                             (unsigned char *)cfg->llm_api_key, sizeof cfg->llm_api_key - 1, &n,
                             err, errlen)) {
            snprintf(err, errlen, "cannot read TOCK_LLM_API_KEY_FILE");
            return -1;
        }
        cfg->llm_api_key[n] = 0;
    }
    if (cfg->llm_url[0] && strncmp(cfg->llm_url, "http://", 7) &&
        strncmp(cfg->llm_url, "https://", 8)) {
        snprintf(err, errlen, "TOCK_LLM_URL must be an http:// or https:// base URL");
        return -1;
    }
    if (num("TOCK_LLM_TIMEOUT_MS", 30000, 100, 600000, &v, err, errlen))
        return -1;
    cfg->llm_timeout_ms = (int)v;
    if (num("TOCK_LLM_CONNECT_TIMEOUT_MS", 5000, 100, 60000, &v, err, errlen))
        return -1;
    cfg->llm_connect_timeout_ms = (int)v;
    if (num("TOCK_LLM_RETRIES", 3, 0, 10, &v, err, errlen))
        return -1;
    cfg->llm_retries = (int)v;
    /* ---- recurrence ---- */
    /* Test-only: the wall clock starts at this epoch ms and runs on from there. */
    if (num("TOCK_FAKE_NOW_MS", 0, 0, 16725225600000LL /* 2500-01-01 */, &cfg->fake_now_ms, err,
            errlen))
        return -1;
    return 0;
}
