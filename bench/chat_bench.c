/*
 * chat_bench.c — chat turns per second with the builtin engine, in process on a
 * real SQLite store (a temp file, synchronous=FULL as `tock serve` defaults to):
 * chat_turn end to end — the conversation read, intent recognition, the tool
 * calls (each its own transaction, with its events) and the turn stored. One
 * user with BENCH_CHAT_TASKS (200) open tasks, so each "find the task" scans a
 * realistic list. Each round is one 6-turn conversation: add, "make it urgent",
 * "what's due this week?", "show my urgent #work tasks", "done with <title>",
 * "help". Not a test (no assertion on speed); see bench/README.md.
 *
 *   cmake --build build --target bench_chat && build/bench_chat [seconds] [full|normal]
 *
 * The second argument picks SQLite's synchronous mode (TOCK_DB_SYNC; default full).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chat/chat.h"
#include "obs/clock.h"
#include "obs/log.h"
#include "service/service.h"
#include "store/store.h"

#define SEED_TASKS 200

static const unsigned char secret[] = "0123456789abcdef0123456789abcdef";

static int turn(struct svc *s, struct svc_ctx *ctx, int64_t *cid, const char *msg)
{
    struct chat_out out;
    struct tock_error e = {0};
    int rc = chat_turn(NULL, s, ctx, *cid, msg, &out, &e);
    if (rc) {
        fprintf(stderr, "turn '%s' failed: %s %s\n", msg, tock_strerror(rc), e.message);
        return rc;
    }
    *cid = out.conversation_id;
    chat_out_release(&out);
    return 0;
}

int main(int argc, char **argv)
{
    double seconds = 5.0;
    if (argc > 1) {
        char *end;
        double v = strtod(argv[1], &end);
        if (*end == 0 && v > 0 && v < 3600)
            seconds = v;
    }
    log_setup(2, LOG_ERROR, "bench");
    char dir[] = "/tmp/tock-bench-chat-XXXXXX", url[128], err[256], cmd[128];
    if (!mkdtemp(dir))
        return 1;
    snprintf(url, sizeof url, "sqlite:%s/t.db", dir);
    struct store *store;
    const struct store_ops *ops;
    bool full = !(argc > 2 && !strcmp(argv[2], "normal"));
    struct store_config sc = {4, 5000, full};
    if (store_open(url, &sc, &store, &ops, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    struct svc svc;
    struct svc_config vc = {secret, 32, 3600, 10, 300, "tock/bench"};
    if (svc_init(&svc, store, ops, &vc))
        return 1;
    struct store_conn *c;
    struct user u = {0};
    snprintf(u.email, sizeof u.email, "bench@example.com");
    snprintf(u.password_hash, sizeof u.password_hash, "x");
    snprintf(u.timezone, sizeof u.timezone, "Europe/Paris");
    if (ops->acquire(store, &c) || ops->user_insert(c, &u))
        return 1;
    ops->release(c);
    struct svc_ctx ctx = {.user_id = u.id};
    snprintf(ctx.timezone, sizeof ctx.timezone, "Europe/Paris");

    int64_t cid = 0;
    char msg[256];
    for (int i = 0; i < SEED_TASKS; i++) {
        snprintf(msg, sizeof msg, "add Seed task %d about topic %d on day %d #t%d", i, i % 17,
                 1 + i % 28, i % 5);
        if (turn(&svc, &ctx, &cid, msg))
            return 1;
        if (i % 90 == 89)
            cid = 0; /* stay under the per-conversation message limit */
    }
    long long turns = 0, rounds = 0;
    int64_t t0 = clock_mono_ns(), t1;
    do {
        cid = 0;
        char title[64];
        snprintf(title, sizeof title, "Review PR %lld", rounds);
        const char *script[6];
        char add[128], done[128];
        snprintf(add, sizeof add, "add %s tomorrow at 10am #work", title);
        snprintf(done, sizeof done, "done with %s", title);
        script[0] = add;
        script[1] = "make it urgent";
        script[2] = "what's due this week?";
        script[3] = "show my urgent #work tasks";
        script[4] = done;
        script[5] = "help";
        for (int k = 0; k < 6; k++)
            if (turn(&svc, &ctx, &cid, script[k]))
                return 1;
        turns += 6;
        rounds++;
        t1 = clock_mono_ns();
    } while ((double)(t1 - t0) / 1e9 < seconds);
    double el = (double)(t1 - t0) / 1e9;
    printf("chat (builtin, SQLite synchronous=%s, %d open tasks): %lld turns in %.2f s = "
           "%.0f turns/s (single thread), %.2f ms/turn\n",
           full ? "full" : "normal", SEED_TASKS, turns, el, (double)turns / el, el * 1000 / (double)turns);
    svc_free(&svc);
    ops->close(store);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
