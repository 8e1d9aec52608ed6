/*
 * main.c — the tock command: parses the subcommand, loads configuration and wires
 * the layers together (store -> services -> api/http, bus -> relay). The only
 * place that knows every module; nothing below includes it.
 */
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "api/api.h"
#include "core/nl.h"
#include "obs/clock.h"
#include "bus/bus.h"
#include "chat/mcp_stdio.h"
#include "chat/tools_remote.h"
#include "chat/chat.h" /* ---- chat ---- */
#include "cli/config.h"
#include "http/http.h"
#include "obs/log.h"
#include "cli/dlq.h"
#include "roles/audit.h"
#include "obs/clock.h"
#include "roles/notifier.h"
#include "roles/recurring.h"
#include "roles/relay.h"
#include "roles/scheduler.h"
#include "roles/sync.h"
#include "service/service.h"
#include "store/store.h"

#define ROLE_API 1u
#define ROLE_RELAY 2u
#define ROLE_AUDIT 4u
#define ROLE_RECURRING 8u
#define ROLE_SCHEDULER 16u
#define ROLE_NOTIFIER 32u
#define ROLE_SYNC 64u
#define ROLE_NAMES "api, relay, audit, recurring, scheduler, notifier, sync"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tock <command> [--flags]\n"
            "\n"
            "  serve [--roles all|api,relay,audit,...]   run the server (TOCK_LISTEN, TOCK_DB, ...)\n"
            "  migrate                         apply database migrations and exit\n"
            "  user add EMAIL [--timezone Z] [--display-name N]\n"
            "                                  create a user; the password is read from stdin\n"
            "  token create --user EMAIL NAME  create an API token and print it\n"
            "  events [--after N] [--limit N]  print outbox events as JSON lines\n"
            "  dlq list                        print the dead letters as JSON lines\n"
            "  dlq replay (ID... | all)        send dead letters' events back to their consumer\n"
            "  parse [--now YYYY-MM-DDTHH:MM] [--tz ZONE] TEXT\n"
            "                                  parse a quick-add line, print the JSON\n"
            "  mcp [--user EMAIL]              MCP server on stdio, acting as TOCK_TOKEN's user\n"
            "                                  (or --user); with TOCK_URL, via that server\n"
            "  version                         print the version\n"
            "\n"
            "Every TOCK_* variable has a matching flag: --max-body 2048 sets TOCK_MAX_BODY.\n"
            "See README.md for the table of settings.\n");
}

static int die(const char *msg)
{
    fprintf(stderr, "tock: %s\n", msg);
    return 1;
}

struct core {
    struct tock_config cfg;
    struct store *store;
    const struct store_ops *sops;
    struct svc svc;
};

static int core_open(struct core *c, bool need_secret)
{
    char err[512];
    if (config_load(&c->cfg, need_secret, err, sizeof err))
        return die(err);
    /* ---- recurrence ---- */
    if (c->cfg.fake_now_ms) {
        clock_start_at(c->cfg.fake_now_ms);
        fprintf(stderr, "tock: TOCK_FAKE_NOW_MS is set: the clock starts at %lld (tests only)\n",
                c->cfg.fake_now_ms);
    }
    struct store_config sc = {c->cfg.db_pool, c->cfg.db_busy_timeout_ms, c->cfg.db_sync_full};
    if (store_open(c->cfg.db, &sc, &c->store, &c->sops, err, sizeof err))
        return die(err);
    struct svc_config vc = {c->cfg.jwt_secret, c->cfg.jwt_secret_len, c->cfg.jwt_ttl_s,
                            c->cfg.login_max_failures, c->cfg.login_window_s, "tock/api"};
    if (svc_init(&c->svc, c->store, c->sops, &vc)) {
        c->sops->close(c->store);
        return die("out of memory");
    }
    return 0;
}

static void core_close(struct core *c)
{
    svc_free(&c->svc);
    c->sops->close(c->store);
}

static int parse_roles(const char *s, unsigned *out)
{
    *out = 0;
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", s);
    for (char *save = NULL, *r = strtok_r(tmp, ",", &save); r; r = strtok_r(NULL, ",", &save)) {
        if (strcmp(r, "all") == 0)
            *out |= ROLE_API | ROLE_RELAY | ROLE_AUDIT | ROLE_RECURRING | ROLE_SCHEDULER |
                    ROLE_NOTIFIER | ROLE_SYNC;
        else if (strcmp(r, "api") == 0)
            *out |= ROLE_API;
        else if (strcmp(r, "relay") == 0)
            *out |= ROLE_RELAY;
        else if (strcmp(r, "audit") == 0)
            *out |= ROLE_AUDIT;
        else if (strcmp(r, "recurring") == 0)
            *out |= ROLE_RECURRING;
        else if (strcmp(r, "scheduler") == 0)
            *out |= ROLE_SCHEDULER;
        else if (strcmp(r, "notifier") == 0)
            *out |= ROLE_NOTIFIER;
        else if (strcmp(r, "sync") == 0)
            *out |= ROLE_SYNC;
        else {
            fprintf(stderr, "tock: unknown role '%s' (this build has: all, %s)\n", r,
                    ROLE_NAMES);
            return -1;
        }
    }
    return *out ? 0 : -1;
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int relay_role_status(void *relay, const char **detail)
{
    if (!relay_failing(relay))
        return API_ROLE_READY;
    *detail = "cannot publish (bus or database unreachable); events wait in the outbox";
    return API_ROLE_DEGRADED;
}

/* Everything cmd_serve started; teardown() stops whatever is non-NULL, in order. */
struct running {
    struct core *c;
    struct bus *bus;
    const struct bus_ops *bops;
    bool bus_started;
    struct relay *relay;
    struct audit *audit;
    struct recurring *recurring;
    struct notifier *notifier;
    struct scheduler *scheduler;
    struct sync_hub *sync;
    struct sync_config sync_cfg;
    struct http_server *http;
};

/*
 * Shutdown order: stop taking requests (WebSockets get 1001 first), stop producing
 * (scheduler), cancel consumers' retry waits, flush the relay, stop the bus (no
 * handler runs after), then free the consumers and the hub.
 */
static void teardown(struct running *r)
{
    struct svc *svc = &r->c->svc;
    sync_close_all(r->sync);
    if (r->http) {
        http_quiesce(r->http);
        http_stop(r->http); /* waits for in-flight handlers */
    }
    svc->reminder_kick = NULL;
    scheduler_stop(r->scheduler);
    notifier_cancel(r->notifier);
    svc->outbox_kick = NULL;
    audit_cancel(r->audit); /* a retry in progress must not hold up shutdown */
    recurring_cancel(r->recurring);
    relay_stop(r->relay);
    if (r->bus_started)
        r->bops->stop(r->bus);
    audit_stop(r->audit);
    recurring_stop(r->recurring);
    svc->notify_kick = NULL;
    notifier_stop(r->notifier);
    sync_stop(r->sync);
    r->bops->close(r->bus);
    core_close(r->c);
}

/* Starts the roles in `roles` (consumers before the bus starts). 0, or -1 with err. */
static int start_roles(struct running *r, unsigned roles, char *err, size_t errlen)
{
    struct svc *svc = &r->c->svc;
    int rc = 0;
    if (roles & ROLE_RELAY) {
        struct relay_config rcfg;
        if (relay_config_from_env(&rcfg, err, errlen))
            return -1;
        if ((rc = relay_start(svc, r->bus, r->bops, &rcfg, &r->relay)))
            goto fail_role;
        svc->outbox_kick = relay_kick;
        svc->kick_arg = r->relay;
    }
    if (roles & (ROLE_AUDIT | ROLE_RECURRING)) {
        struct audit_config ac;
        if (audit_config_from_env(&ac, err, errlen))
            return -1;
        if ((roles & ROLE_AUDIT) && (rc = audit_start(svc, r->bus, r->bops, &ac, &r->audit)))
            goto fail_role;
        if ((roles & ROLE_RECURRING) &&
            (rc = recurring_start(svc, r->bus, r->bops, ac.max_attempts, &r->recurring)))
            goto fail_role;
    }
    if (roles & ROLE_NOTIFIER) {
        struct notifier_config nc;
        if (notifier_config_from_env(&nc, err, errlen))
            return -1;
        if ((rc = notifier_start(svc, r->bus, r->bops, &nc, &r->notifier)))
            goto fail_role;
        svc->notify_kick = notifier_kick;
        svc->notify_kick_arg = r->notifier;
    }
    if (roles & ROLE_SYNC) {
        if (!(roles & ROLE_API)) {
            snprintf(err, errlen, "role sync needs role api in the same process (it serves "
                                  "GET /api/v1/ws)");
            return -1;
        }
        if (sync_config_from_env(&r->sync_cfg, err, errlen))
            return -1;
        if ((rc = sync_start(svc, r->bus, r->bops, &r->sync_cfg, &r->sync)))
            goto fail_role;
    }
    if ((rc = r->bops->start(r->bus))) {
        snprintf(err, errlen, "bus %s: %s", r->bops->name, tock_strerror(rc));
        return -1;
    }
    r->bus_started = true;
    if (roles & ROLE_SCHEDULER) {
        struct scheduler_config scc;
        if (scheduler_config_from_env(&scc, err, errlen))
            return -1;
        if ((rc = scheduler_start(svc, &scc, &r->scheduler)))
            goto fail_role;
        svc->reminder_kick = scheduler_kick;
        svc->reminder_kick_arg = r->scheduler;
    }
    return 0;
fail_role:
    snprintf(err, errlen, "starting the roles: %s", tock_strerror(rc));
    return -1;
}

static int cmd_serve(void)
{
    unsigned roles;
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    /* Block before any thread starts, so only sigwait below sees them. */
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();

    struct core c;
    if (core_open(&c, true))
        return 1;
    log_setup(1, c.cfg.log_level, c.cfg.roles);
    if (parse_roles(c.cfg.roles, &roles)) {
        core_close(&c);
        return 1;
    }
    if (c.cfg.jwt_secret_generated)
        log_msg(LOG_INFO, "generated a JWT secret in %s/jwt.secret (set TOCK_JWT_SECRET or "
                          "TOCK_JWT_SECRET_FILE to manage it yourself)",
                c.cfg.data_dir);
    char err[512];
    struct running run = {.c = &c};
    if (bus_open(c.cfg.bus, &run.bus, &run.bops, err, sizeof err)) {
        core_close(&c);
        return die(err);
    }
    if (start_roles(&run, roles, err, sizeof err)) {
        teardown(&run);
        return die(err);
    }

    struct api_app app = {.svc = &c.svc, .version = TOCK_VERSION, .bus = run.bus,
                          .bus_ops = run.bops, .sync = run.sync};
    app.mcp_allowed_origins = c.cfg.mcp_allowed_origins;
    app.mcp_limits.idle_ms = c.cfg.mcp_session_idle_s * 1000;
    app.mcp_limits.per_user = c.cfg.mcp_sessions_per_user;
    /* ---- chat ---- */
    struct chat_config chat = {c.cfg.llm_url, c.cfg.llm_model, c.cfg.llm_api_key,
                               c.cfg.llm_timeout_ms, c.cfg.llm_connect_timeout_ms,
                               c.cfg.llm_retries};
    app.chat = &chat;
    atomic_init(&app.shutting_down, false);
    static const struct {
        unsigned bit;
        const char *name;
    } role_names[] = {{ROLE_API, "api"},           {ROLE_RELAY, "relay"},
                      {ROLE_AUDIT, "audit"},       {ROLE_RECURRING, "recurring"},
                      {ROLE_SCHEDULER, "scheduler"}, {ROLE_NOTIFIER, "notifier"},
                      {ROLE_SYNC, "sync"}};
    for (size_t i = 0; i < sizeof role_names / sizeof *role_names; i++)
        if (roles & role_names[i].bit)
            app.roles[app.nroles++] = (struct api_role){
                role_names[i].name, role_names[i].bit == ROLE_RELAY ? relay_role_status : NULL,
                role_names[i].bit == ROLE_RELAY ? (void *)run.relay : NULL};

    /*
     * Every process serves HTTP: probes and metrics for any role, the Dapr
     * deliveries for consumer roles, and the REST API only with the api role.
     */
    struct http_config hc = {
        .port = c.cfg.listen_port,
        .threads = c.cfg.threads,
        .max_body = c.cfg.max_body,
        .max_header = c.cfg.max_header,
        .max_url = c.cfg.max_url,
        .max_connections = c.cfg.max_connections,
        .per_ip_connections = c.cfg.max_connections_per_ip,
        .idle_timeout_s = c.cfg.idle_timeout_s,
        .access_log = c.cfg.access_log,
    };
    if (run.sync) { /* upgraded sockets still count as MHD connections */
        hc.allow_upgrade = true;
        hc.max_connections += (unsigned)run.sync_cfg.max_conns;
    }
    snprintf(hc.host, sizeof hc.host, "%s", c.cfg.listen_host);
    bool api = roles & ROLE_API;
    if (http_start(&hc, api ? api_routes : api_ops_routes, api ? api_nroutes : api_ops_nroutes,
                   &app, &run.http, err, sizeof err)) {
        teardown(&run);
        return die(err);
    }
    int port = http_port(run.http);
    log_msg(LOG_INFO, "listening on http://%s:%d (db %s, bus %s, roles %s)",
            c.cfg.listen_host, port, c.cfg.db, run.bops->name, c.cfg.roles);
    if (api)
        fprintf(stderr,
                "\ntock is running on http://%s:%d\n"
                "Register a user:\n"
                "  curl -s -X POST http://%s:%d/api/v1/auth/register -H 'Content-Type: "
                "application/json' \\\n"
                "       -d '{\"email\":\"you@example.com\",\"password\":\"choose-a-long-one\"}'\n"
                "Then send the returned token as 'Authorization: Bearer <token>'.\n\n",
                c.cfg.listen_host, port, c.cfg.listen_host, port);

    int sig = 0;
    sigwait(&sigs, &sig);
    log_msg(LOG_INFO, "received %s; shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    atomic_store(&app.shutting_down, true);
    teardown(&run);
    log_msg(LOG_INFO, "stopped");
    return 0;
}

static int read_password(char *out, size_t cap)
{
    if (!fgets(out, (int)cap, stdin))
        return -1;
    size_t n = strlen(out);
    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = 0;
    return 0;
}

static int cmd_user_add(int argc, char **argv)
{
    if (argc != 1) {
        usage(stderr);
        return 2;
    }
    struct core c;
    if (core_open(&c, true))
        return 1;
    log_setup(2, LOG_WARN, "cli");
    char password[1100];
    if (isatty(0))
        fprintf(stderr, "password: ");
    if (read_password(password, sizeof password)) {
        core_close(&c);
        return die("no password on stdin");
    }
    struct register_input in = {argv[0], password, getenv("TOCK_DISPLAY_NAME"),
                                getenv("TOCK_TIMEZONE")};
    struct user u;
    char *token = NULL;
    int64_t exp;
    struct tock_error e = {0};
    int rc = svc_register(&c.svc, &in, &u, &token, &exp, &e);
    sodium_memzero(password, sizeof password);
    core_close(&c);
    if (rc) {
        fprintf(stderr, "tock: %s%s%s\n", e.message[0] ? e.message : tock_strerror(rc),
                e.field[0] ? " — " : "", e.field);
        return 1;
    }
    free(token);
    printf("created user %lld <%s>\n", (long long)u.id, u.email);
    return 0;
}

static int cmd_token_create(int argc, char **argv)
{
    const char *email = getenv("TOCK_USER");
    if (argc != 1 || !email) {
        usage(stderr);
        return 2;
    }
    struct core c;
    if (core_open(&c, true))
        return 1;
    log_setup(2, LOG_WARN, "cli");
    struct user u;
    int rc = svc_user_by_email(&c.svc, email, &u);
    if (rc) {
        core_close(&c);
        fprintf(stderr, "tock: no user with e-mail %s\n", email);
        return 1;
    }
    struct svc_ctx ctx = {.user_id = u.id};
    struct api_token t;
    char *secret = NULL;
    struct tock_error e = {0};
    rc = svc_token_create(&c.svc, &ctx, argv[0], &t, &secret, &e);
    core_close(&c);
    if (rc) {
        fprintf(stderr, "tock: %s\n", e.message[0] ? e.message : tock_strerror(rc));
        return 1;
    }
    printf("%s\n", secret);
    free(secret);
    return 0;
}

static int cmd_events(void)
{
    struct core c;
    if (core_open(&c, false))
        return 1;
    log_setup(2, LOG_WARN, "cli");
    long long after = 0, limit = 1000000;
    if (getenv("TOCK_AFTER"))
        after = strtoll(getenv("TOCK_AFTER"), NULL, 10);
    if (getenv("TOCK_LIMIT"))
        limit = strtoll(getenv("TOCK_LIMIT"), NULL, 10);
    struct store_conn *conn;
    int rc = c.sops->acquire(c.store, &conn);
    while (!rc && limit > 0) {
        struct outbox_row *rows = NULL;
        size_t n = 0;
        rc = c.sops->outbox_fetch(conn, after, limit < 500 ? (int)limit : 500, false, &rows, &n);
        if (rc || n == 0) {
            outbox_rows_free(rows, n);
            break;
        }
        for (size_t i = 0; i < n; i++) {
            printf("{\"seq\":%lld,\"topic\":\"%s\",\"key\":\"%s\",\"published\":%s,\"event\":%s}\n",
                   (long long)rows[i].seq, rows[i].topic, rows[i].key,
                   rows[i].published_at ? "true" : "false", rows[i].event_json);
            after = rows[i].seq;
        }
        limit -= (long long)n;
        outbox_rows_free(rows, n);
    }
    if (conn)
        c.sops->release(conn);
    core_close(&c);
    return rc ? die(tock_strerror(rc)) : 0;
}

/* ---- quick-add language: tock parse ---- */
static int cmd_parse(int argc, char **argv)
{
    const char *now_s = NULL, *zone = "UTC", *text = NULL;
    for (int i = 0; i < argc; i++) {
        if ((!strcmp(argv[i], "--now") || !strcmp(argv[i], "--tz")) && i + 1 < argc) {
            if (!strcmp(argv[i], "--now"))
                now_s = argv[++i];
            else
                zone = argv[++i];
        } else if (!strcmp(argv[i], "--") && i + 2 == argc) {
            text = argv[++i];
        } else if (!text && strncmp(argv[i], "--", 2) != 0) {
            text = argv[i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!text) {
        usage(stderr);
        return 2;
    }
    if (!tz_valid(zone))
        return die("--tz: unknown time zone");
    struct nl_options opt = {.zone = zone};
    if (now_s) {
        if (time_parse_local(now_s, &opt.now) || !opt.now.has_time)
            return die("--now: expected YYYY-MM-DDTHH:MM");
    } else if (tz_utc_to_local(zone, clock_now_ms(), &opt.now)) {
        return die("the clock is out of range");
    }
    struct nl_result *r = malloc(sizeof *r);
    if (!r)
        return die("out of memory");
    struct tock_error e = {0};
    size_t len = strlen(text);
    int rc = nl_parse(text, len, &opt, r, &e);
    if (rc) {
        free(r);
        fprintf(stderr, "tock: %s (%s)\n", e.message, e.field);
        return 1;
    }
    json_t *j = nl_result_json(r, text, len);
    free(r);
    char *out = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!out)
        return die("out of memory");
    printf("%s\n", out);
    free(out);
    return 0;
}

/* ---- mcp ---- */
/* MCP over stdio as one user: TOCK_TOKEN (API token or JWT) or --user EMAIL. */
static int cmd_mcp(void)
{
    signal(SIGPIPE, SIG_IGN);
    /* stdout carries the protocol: every log line (migrations included) goes to stderr. */
    log_setup(2, LOG_INFO, "mcp");
    struct mcp_server_info info = {"tock", "tock tasks", TOCK_VERSION};
    const char *url = getenv("TOCK_URL");
    if (url && *url) {
        /* Against a running server: tool calls go to its REST API; no database here. */
        char err[512];
        struct tool_remote *remote;
        if (tool_remote_open(url, getenv("TOCK_TOKEN"), &remote, err, sizeof err))
            return die(err);
        struct tool_env env = {.remote = remote};
        log_msg(LOG_INFO, "mcp: serving on stdio, forwarding to %s", url);
        int rrc = mcp_stdio_run(&env, &info, stdin, stdout);
        tool_remote_close(remote);
        return rrc ? 1 : 0;
    }
    struct core c;
    if (core_open(&c, true))
        return 1;
    log_setup(2, c.cfg.log_level, "mcp");
    const char *token = getenv("TOCK_TOKEN"), *email = getenv("TOCK_USER");
    struct user u;
    int rc;
    if (token && *token)
        rc = svc_authenticate(&c.svc, token, &u);
    else if (email && *email)
        rc = svc_user_by_email(&c.svc, email, &u);
    else {
        core_close(&c);
        return die("mcp: set TOCK_TOKEN (an API token or JWT) or pass --user EMAIL");
    }
    if (rc) {
        core_close(&c);
        return die(rc == TOCK_EAUTH    ? "mcp: TOCK_TOKEN is not valid for this database"
                   : rc == TOCK_ENOTFOUND ? "mcp: no user with that e-mail"
                                          : tock_strerror(rc));
    }
    struct svc_ctx ctx = {.user_id = u.id};
    snprintf(ctx.timezone, sizeof ctx.timezone, "%s", u.timezone);
    struct tool_env env = {.svc = &c.svc, .ctx = &ctx};
    log_msg(LOG_INFO, "mcp: serving user %lld on stdio (db %s)", (long long)u.id, c.cfg.db);
    rc = mcp_stdio_run(&env, &info, stdin, stdout);
    core_close(&c);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0)
        return die("libsodium failed to initialise");
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("tock %s\n", TOCK_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "parse"))
        return cmd_parse(argc - 2, argv + 2);
    int first = 2;
    if (!strcmp(cmd, "user") || !strcmp(cmd, "token") || !strcmp(cmd, "dlq"))
        first = 3;
    if (argc < first) {
        usage(stderr);
        return 2;
    }
    char err[256];
    int n = config_apply_flags(argc, argv, first, err, sizeof err);
    if (n < 0)
        return die(err);
    int nargs = n - first;
    char **args = argv + first;
    if (!strcmp(cmd, "serve") && nargs == 0)
        return cmd_serve();
    if (!strcmp(cmd, "migrate") && nargs == 0) {
        struct core c;
        if (core_open(&c, false))
            return 1;
        core_close(&c);
        printf("migrations applied\n");
        return 0;
    }
    if (!strcmp(cmd, "events") && nargs == 0)
        return cmd_events();
    if (!strcmp(cmd, "dlq") && argc > 2) {
        struct core c;
        if (core_open(&c, false))
            return 1;
        log_setup(2, LOG_WARN, "cli");
        int st = cli_dlq(&c.svc, argv[2], nargs, args);
        core_close(&c);
        return st;
    }
    if (!strcmp(cmd, "mcp") && nargs == 0)
        return cmd_mcp();
    if (!strcmp(cmd, "user") && argc > 2 && !strcmp(argv[2], "add"))
        return cmd_user_add(nargs, args);
    if (!strcmp(cmd, "token") && argc > 2 && !strcmp(argv[2], "create"))
        return cmd_token_create(nargs, args);
    usage(stderr);
    return 2;
}
