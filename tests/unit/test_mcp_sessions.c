/*
 * test_mcp_sessions.c — MCP session rules on a real SQLite store with a pinned
 * clock: a session lives while used and expires after the idle period (use
 * within it extends it), belongs to one user, ends once, and malformed ids are
 * simply unknown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "obs/clock.h"
#include "service/service.h"
#include "store/store.h"

static const unsigned char secret[] = "0123456789abcdef0123456789abcdef";

static void sessions_expire_and_end(void **state)
{
    (void)state;
    char dir[64] = "/tmp/tock-unit-XXXXXX", url[128], err[256];
    assert_non_null(mkdtemp(dir));
    snprintf(url, sizeof url, "sqlite:%s/t.db", dir);
    struct store_config sc = {2, 5000, false};
    struct store *st;
    const struct store_ops *ops;
    assert_int_equal(store_open(url, &sc, &st, &ops, err, sizeof err), 0);
    struct svc svc;
    struct svc_config vc = {secret, 32, 3600, 10, 300, "tock/test"};
    assert_int_equal(svc_init(&svc, st, ops, &vc), 0);
    struct svc_ctx a = {0}, b = {0};
    struct store_conn *c;
    assert_int_equal(ops->acquire(st, &c), 0);
    for (int i = 0; i < 2; i++) {
        struct user u = {0};
        snprintf(u.email, sizeof u.email, "u%d@example.com", i);
        snprintf(u.password_hash, sizeof u.password_hash, "x");
        snprintf(u.timezone, sizeof u.timezone, "UTC");
        assert_int_equal(ops->user_insert(c, &u), 0);
        (i ? &b : &a)->user_id = u.id;
    }
    ops->release(c);

    const int64_t t0 = INT64_C(1900000000000), idle = 3600 * 1000;
    struct mcp_session_limits lim = {idle, 10};
    clock_set_fixed(t0);
    char sid[MCP_SESSION_ID_LEN + 1], sid2[MCP_SESSION_ID_LEN + 1], v[16];
    assert_int_equal(svc_mcp_session_create(&svc, &a, "2025-06-18", &lim, sid), 0);
    assert_int_equal(strlen(sid), MCP_SESSION_ID_LEN);
    assert_int_equal(svc_mcp_session_create(&svc, &a, "2025-11-25", &lim, sid2), 0);
    assert_string_not_equal(sid, sid2);
    assert_int_equal(svc_mcp_session_get(&svc, &a, sid, &lim, v), 0);
    assert_string_equal(v, "2025-06-18");
    assert_int_equal(svc_mcp_session_get(&svc, &b, sid, &lim, v), TOCK_ENOTFOUND);
    /* Used just before the idle limit: extended from then on. */
    clock_set_fixed(t0 + idle - 1000);
    assert_int_equal(svc_mcp_session_get(&svc, &a, sid, &lim, v), 0);
    clock_set_fixed(t0 + idle + 5000);
    assert_int_equal(svc_mcp_session_get(&svc, &a, sid, &lim, v), 0);
    assert_int_equal(svc_mcp_session_get(&svc, &a, sid2, &lim, v), TOCK_ENOTFOUND);
    /* Unused for longer than the idle period: gone. */
    clock_set_fixed(t0 + 3 * idle);
    assert_int_equal(svc_mcp_session_get(&svc, &a, sid, &lim, v), TOCK_ENOTFOUND);

    assert_int_equal(svc_mcp_session_create(&svc, &a, "2025-11-25", &lim, sid), 0);
    assert_int_equal(svc_mcp_session_end(&svc, &b, sid), TOCK_ENOTFOUND);
    assert_int_equal(svc_mcp_session_end(&svc, &a, sid), 0);
    assert_int_equal(svc_mcp_session_end(&svc, &a, sid), TOCK_ENOTFOUND);
    assert_int_equal(svc_mcp_session_get(&svc, &a, sid, &lim, v), TOCK_ENOTFOUND);
    assert_int_equal(svc_mcp_session_get(&svc, &a, "short", &lim, v), TOCK_ENOTFOUND);
    char upper[MCP_SESSION_ID_LEN + 1];
    memset(upper, 'F', MCP_SESSION_ID_LEN);
    upper[MCP_SESSION_ID_LEN] = 0;
    assert_int_equal(svc_mcp_session_get(&svc, &a, upper, &lim, v), TOCK_ENOTFOUND);
    clock_set_fixed(0);

    svc_free(&svc);
    ops->close(st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(sessions_expire_and_end)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
