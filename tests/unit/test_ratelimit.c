/*
 * test_ratelimit.c — the failed-login throttle with explicit clock values:
 * `max` failures allowed, then blocked with a retry-after inside the sliding
 * window, free again once the window has passed; reset; keys independent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "service/ratelimit.h"

#define T0 INT64_C(1800000000000)

static void test_blocks_after_max(void **state)
{
    (void)state;
    struct ratelimit *r = ratelimit_new(3, 60);
    assert_non_null(r);
    const char *k = "alice@example.com";
    assert_int_equal(ratelimit_check(r, k, T0), 0);
    ratelimit_fail(r, k, T0);
    assert_int_equal(ratelimit_check(r, k, T0), 0);
    ratelimit_fail(r, k, T0 + 1000);
    assert_int_equal(ratelimit_check(r, k, T0 + 1000), 0);
    ratelimit_fail(r, k, T0 + 2000);
    /* Third failure reached max: blocked until the first failure leaves the window. */
    int w = ratelimit_check(r, k, T0 + 2000);
    assert_int_equal(w, 58);
    w = ratelimit_check(r, k, T0 + 30000);
    assert_int_equal(w, 30);
    w = ratelimit_check(r, k, T0 + 59001);
    assert_int_equal(w, 1); /* 999 ms left rounds up */
    w = ratelimit_check(r, k, T0 + 59999);
    assert_int_equal(w, 1);
    /* At exactly the window edge the first failure has expired: 2 < 3 left. */
    assert_int_equal(ratelimit_check(r, k, T0 + 60000), 0);
    /* One more failure puts it back over: now the oldest is T0+1000. */
    ratelimit_fail(r, k, T0 + 60000);
    w = ratelimit_check(r, k, T0 + 60000);
    assert_int_equal(w, 1);
    assert_int_equal(ratelimit_check(r, k, T0 + 61000), 0);
    ratelimit_free(r);
}

static void test_retry_after_range(void **state)
{
    (void)state;
    const int window = 300;
    struct ratelimit *r = ratelimit_new(5, window);
    const char *k = "bob@example.com";
    for (int i = 0; i < 5; i++) {
        assert_int_equal(ratelimit_check(r, k, T0 + i), 0);
        ratelimit_fail(r, k, T0 + i);
    }
    /* Blocked throughout the window, with a retry-after that only shrinks. */
    int prev = window + 1;
    for (int64_t now = T0 + 4; now < T0 + window * 1000; now += 7919) {
        int w = ratelimit_check(r, k, now);
        if (w <= 0 || w > window)
            fail_msg("at +%lld ms retry-after %d", (long long)(now - T0), w);
        assert_true(w <= prev);
        /* Never claims free earlier than the oldest failure expires. */
        assert_true(now + (int64_t)w * 1000 >= T0 + window * 1000);
        prev = w;
    }
    /* After the window (all failures expired) it is free. */
    assert_int_equal(ratelimit_check(r, k, T0 + window * 1000 + 4), 0);
    assert_int_equal(ratelimit_check(r, k, T0 + 10LL * window * 1000), 0);
    ratelimit_free(r);
}

static void test_sliding_window(void **state)
{
    (void)state;
    struct ratelimit *r = ratelimit_new(2, 10);
    const char *k = "carol@example.com";
    ratelimit_fail(r, k, T0);
    ratelimit_fail(r, k, T0 + 8000);
    assert_true(ratelimit_check(r, k, T0 + 8000) > 0);
    /* The first failure expires at T0+10s: one left, allowed. */
    assert_int_equal(ratelimit_check(r, k, T0 + 10000), 0);
    ratelimit_fail(r, k, T0 + 10000);
    /* Two in the window again (T0+8s, T0+10s): blocked until T0+18s. */
    assert_int_equal(ratelimit_check(r, k, T0 + 10000), 8);
    assert_int_equal(ratelimit_check(r, k, T0 + 17999), 1);
    assert_int_equal(ratelimit_check(r, k, T0 + 18000), 0);
    ratelimit_free(r);
}

static void test_reset(void **state)
{
    (void)state;
    struct ratelimit *r = ratelimit_new(2, 60);
    const char *k = "dave@example.com";
    ratelimit_fail(r, k, T0);
    ratelimit_fail(r, k, T0);
    assert_true(ratelimit_check(r, k, T0 + 1) > 0);
    ratelimit_reset(r, k);
    assert_int_equal(ratelimit_check(r, k, T0 + 1), 0);
    /* After a reset it takes max fresh failures to block again. */
    ratelimit_fail(r, k, T0 + 2);
    assert_int_equal(ratelimit_check(r, k, T0 + 2), 0);
    ratelimit_fail(r, k, T0 + 3);
    assert_true(ratelimit_check(r, k, T0 + 3) > 0);
    /* Resetting an unknown key is harmless and does not touch others. */
    ratelimit_reset(r, "nobody@example.com");
    assert_true(ratelimit_check(r, k, T0 + 3) > 0);
    ratelimit_free(r);
}

static void test_keys_independent(void **state)
{
    (void)state;
    struct ratelimit *r = ratelimit_new(2, 60);
    ratelimit_fail(r, "a@example.com", T0);
    ratelimit_fail(r, "a@example.com", T0);
    assert_true(ratelimit_check(r, "a@example.com", T0) > 0);
    assert_int_equal(ratelimit_check(r, "b@example.com", T0), 0);
    assert_int_equal(ratelimit_check(r, "A@example.com", T0), 0); /* keys are exact */
    assert_int_equal(ratelimit_check(r, "a@example.co", T0), 0);
    assert_int_equal(ratelimit_check(r, "", T0), 0);
    ratelimit_fail(r, "b@example.com", T0);
    assert_int_equal(ratelimit_check(r, "b@example.com", T0), 0);
    ratelimit_reset(r, "b@example.com");
    assert_true(ratelimit_check(r, "a@example.com", T0) > 0);

    /* Many keys: each below max stays allowed, each at max is blocked. */
    char key[64];
    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof key, "user%d@example.com", i);
        ratelimit_fail(r, key, T0 + i);
        if (i % 2)
            ratelimit_fail(r, key, T0 + i);
    }
    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof key, "user%d@example.com", i);
        int w = ratelimit_check(r, key, T0 + 1000);
        if (i % 2 ? w <= 0 : w != 0)
            fail_msg("%s: retry-after %d", key, w);
    }
    assert_true(ratelimit_check(r, "a@example.com", T0 + 1000) > 0);

    /* Two limiters do not share state. */
    struct ratelimit *r2 = ratelimit_new(2, 60);
    assert_int_equal(ratelimit_check(r2, "a@example.com", T0), 0);
    ratelimit_free(r2);
    ratelimit_free(r);
}

static void test_max_clamped(void **state)
{
    (void)state;
    /* max < 1 behaves as 1: the first failure blocks. */
    struct ratelimit *r = ratelimit_new(0, 60);
    assert_int_equal(ratelimit_check(r, "k", T0), 0);
    ratelimit_fail(r, "k", T0);
    assert_true(ratelimit_check(r, "k", T0) > 0);
    ratelimit_free(r);
    /* max = 1. */
    r = ratelimit_new(1, 5);
    ratelimit_fail(r, "k", T0);
    assert_int_equal(ratelimit_check(r, "k", T0), 5);
    assert_int_equal(ratelimit_check(r, "k", T0 + 5000), 0);
    ratelimit_free(r);
    ratelimit_free(NULL);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocks_after_max),
        cmocka_unit_test(test_retry_after_range),
        cmocka_unit_test(test_sliding_window),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_keys_independent),
        cmocka_unit_test(test_max_clamped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
