/*
 * config.h — tock's configuration: one struct, parsed once from TOCK_* variables
 * (each has a matching --flag: --max-body 2048 sets TOCK_MAX_BODY), then passed
 * down read-only. Defaults are the documented ones (README's table).
 */
#ifndef TOCK_CLI_CONFIG_H
#define TOCK_CLI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tock_config {
    char db[1024];
    char listen_host[64];
    int listen_port;
    char bus[256];
    char roles[256];
    char data_dir[1024];
    unsigned char jwt_secret[256];
    size_t jwt_secret_len;
    bool jwt_secret_generated;
    int64_t jwt_ttl_s;
    int threads;
    int db_pool;
    int db_busy_timeout_ms;
    bool db_sync_full;
    size_t max_body, max_header, max_url;
    unsigned max_connections, max_connections_per_ip, idle_timeout_s;
    bool access_log;
    int log_level;
    int login_max_failures, login_window_s;
    /* ---- recurrence ---- */
    long long fake_now_ms; /* TOCK_FAKE_NOW_MS: tests only; 0 = the real clock */
    /* ---- mcp ---- */
    char mcp_allowed_origins[1024]; /* TOCK_MCP_ALLOWED_ORIGINS: comma list, "*" = any */
    int64_t mcp_session_idle_s;     /* TOCK_MCP_SESSION_IDLE */
    int mcp_sessions_per_user;      /* TOCK_MCP_SESSIONS_PER_USER */
    /* ---- chat ---- */
    char llm_url[512];              /* TOCK_LLM_URL: "" = the builtin engine only */
    char llm_model[128];            /* TOCK_LLM_MODEL */
    char llm_api_key[512];          /* TOCK_LLM_API_KEY or TOCK_LLM_API_KEY_FILE */
    int llm_timeout_ms;             /* TOCK_LLM_TIMEOUT_MS: one request, whole */
    int llm_connect_timeout_ms;     /* TOCK_LLM_CONNECT_TIMEOUT_MS */
    int llm_retries;                /* TOCK_LLM_RETRIES */
};

/*
 * Applies "--name value" / "--name=value" flags (as TOCK_NAME) from argv[first..],
 * leaving positional arguments in place; returns the new argc, or -1 with err set.
 */
int config_apply_flags(int argc, char **argv, int first, char *err, size_t errlen);
/* Reads TOCK_* into cfg; need_secret loads or creates the JWT secret. */
int config_load(struct tock_config *cfg, bool need_secret, char *err, size_t errlen);

#endif
