/*
 * test_buf.c — the growable string: appends keep the NUL invariant, printf
 * grows as needed, cap_limit refuses (TOCK_ELIMIT) without changing the buf,
 * JSON string escaping and detach.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"

static void assert_invariant(const struct buf *b)
{
    assert_non_null(b->data);
    assert_int_equal(b->data[b->len], 0);
    assert_int_equal(strlen(b->data), b->len); /* for text without NULs */
    if (b->alloc)
        assert_true(b->len < b->alloc);
    if (b->cap_limit)
        assert_true(b->len <= b->cap_limit);
}

static void test_init_empty(void **state)
{
    (void)state;
    struct buf a = BUF_INIT;
    assert_string_equal(a.data, "");
    assert_int_equal(a.len, 0);
    assert_invariant(&a);
    buf_reset(&a); /* must not write into the static "" */
    buf_free(&a);
    assert_string_equal(a.data, "");

    struct buf b;
    buf_init(&b, 100);
    assert_int_equal(b.cap_limit, 100);
    assert_string_equal(b.data, "");
    assert_int_equal(b.len, 0);
    assert_int_equal(b.alloc, 0);
    buf_free(&b);
}

static void test_append(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(buf_append(&b, "abc", 3), 0);
    assert_invariant(&b);
    assert_string_equal(b.data, "abc");
    assert_int_equal(buf_puts(&b, "def"), 0);
    assert_string_equal(b.data, "abcdef");
    assert_int_equal(b.len, 6);
    assert_int_equal(buf_append(&b, "xyz", 0), 0);
    assert_int_equal(b.len, 6);
    assert_int_equal(buf_puts(&b, ""), 0);
    assert_string_equal(b.data, "abcdef");
    /* Binary data with an embedded NUL: len counts it, terminator still added. */
    assert_int_equal(buf_append(&b, "g\0h", 3), 0);
    assert_int_equal(b.len, 9);
    assert_memory_equal(b.data, "abcdefg\0h", 10);
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    assert_invariant(&b);
    assert_int_equal(buf_puts(&b, "again"), 0);
    assert_string_equal(b.data, "again");
    buf_free(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");

    /* Growth over many appends keeps every byte. */
    buf_init(&b, 0);
    char want[10001];
    for (int i = 0; i < 10000; i++) {
        char c = (char)('a' + i % 26);
        want[i] = c;
        assert_int_equal(buf_append(&b, &c, 1), 0);
    }
    want[10000] = 0;
    assert_int_equal(b.len, 10000);
    assert_string_equal(b.data, want);
    assert_invariant(&b);
    buf_free(&b);
}

static void test_printf(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(buf_printf(&b, "%d-%s", 42, "x"), 0);
    assert_string_equal(b.data, "42-x");
    assert_int_equal(buf_printf(&b, "%s", ""), 0);
    assert_string_equal(b.data, "42-x");
    assert_int_equal(b.len, 4);
    /* Far past the first allocation: a 5000-character expansion. */
    assert_int_equal(buf_printf(&b, "[%5000d]", 7), 0);
    assert_int_equal(b.len, 4 + 5002);
    assert_invariant(&b);
    assert_memory_equal(b.data, "42-x[", 5);
    assert_int_equal(b.data[4 + 5000], '7');
    assert_int_equal(b.data[4 + 5001], ']');
    for (int i = 5; i < 4 + 5000; i++)
        assert_int_equal(b.data[i], ' ');
    /* Many small printfs across several reallocations. */
    buf_reset(&b);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(buf_printf(&b, "%03d,", i), 0);
    assert_int_equal(b.len, 4000);
    assert_memory_equal(b.data, "000,001,002,", 12);
    assert_memory_equal(b.data + 3996, "999,", 4);
    assert_invariant(&b);
    buf_free(&b);

    /* On an empty buf, an empty printf still gives a valid string. */
    buf_init(&b, 0);
    assert_int_equal(buf_printf(&b, "%s", ""), 0);
    assert_int_equal(b.len, 0);
    assert_invariant(&b);
    buf_free(&b);
}

static void test_cap_limit(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 10);
    assert_int_equal(buf_puts(&b, "12345"), 0);
    /* Exactly up to the limit is fine. */
    assert_int_equal(buf_puts(&b, "67890"), 0);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "1234567890");
    /* One more byte is not, and changes nothing. */
    assert_int_equal(buf_puts(&b, "x"), TOCK_ELIMIT);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "1234567890");
    assert_int_equal(buf_append(&b, "xy", 2), TOCK_ELIMIT);
    assert_int_equal(buf_printf(&b, "%d", 1), TOCK_ELIMIT);
    assert_string_equal(b.data, "1234567890");
    assert_invariant(&b);
    /* An empty append still succeeds at the limit. */
    assert_int_equal(buf_append(&b, "", 0), 0);
    buf_reset(&b);
    assert_int_equal(buf_puts(&b, "abc"), 0);
    assert_int_equal(buf_printf(&b, "%s", "12345678"), TOCK_ELIMIT);
    assert_int_equal(b.len, 3);
    assert_string_equal(b.data, "abc");
    assert_int_equal(buf_printf(&b, "%s", "1234567"), 0);
    assert_string_equal(b.data, "abc1234567");
    assert_invariant(&b);
    buf_free(&b);

    /* A fresh limited buf refuses a too-big first append without allocating. */
    buf_init(&b, 4);
    assert_int_equal(buf_puts(&b, "hello"), TOCK_ELIMIT);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    assert_int_equal(buf_printf(&b, "%s", "hello"), TOCK_ELIMIT);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    buf_free(&b);

    /* A limit larger than the first allocation: growth stops exactly at the cap. */
    buf_init(&b, 1000);
    char chunk[100];
    memset(chunk, 'z', sizeof chunk);
    for (int i = 0; i < 10; i++)
        assert_int_equal(buf_append(&b, chunk, sizeof chunk), 0);
    assert_int_equal(b.len, 1000);
    assert_int_equal(buf_append(&b, chunk, 1), TOCK_ELIMIT);
    assert_int_equal(b.len, 1000);
    assert_invariant(&b);
    buf_free(&b);
}

/* buf_json_str output, parsed back with jansson, is the original string. */
static void expect_json_round_trip(const char *s)
{
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(buf_json_str(&b, s), 0);
    json_error_t err;
    json_t *j = json_loadb(b.data, b.len, JSON_DECODE_ANY, &err);
    if (!j)
        fail_msg("not a JSON string: %s (%s)", b.data, err.text);
    assert_true(json_is_string(j));
    assert_string_equal(json_string_value(j), s);
    json_decref(j);
    buf_free(&b);
}

static void test_json_str(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(buf_json_str(&b, "plain"), 0);
    assert_string_equal(b.data, "\"plain\"");
    buf_reset(&b);
    assert_int_equal(buf_json_str(&b, ""), 0);
    assert_string_equal(b.data, "\"\"");
    buf_reset(&b);
    assert_int_equal(buf_json_str(&b, "say \"hi\""), 0);
    assert_string_equal(b.data, "\"say \\\"hi\\\"\"");
    buf_reset(&b);
    assert_int_equal(buf_json_str(&b, "C:\\dir\\"), 0);
    assert_string_equal(b.data, "\"C:\\\\dir\\\\\"");
    buf_reset(&b);
    assert_int_equal(buf_json_str(&b, "a\nb\rc\td"), 0);
    assert_string_equal(b.data, "\"a\\nb\\rc\\td\"");
    buf_reset(&b);
    assert_int_equal(buf_json_str(&b, "\x01\x1f\x08\x0c"), 0);
    assert_string_equal(b.data, "\"\\u0001\\u001f\\u0008\\u000c\"");
    buf_reset(&b);
    /* Non-ASCII UTF-8 and DEL pass through; '/' is not escaped. */
    assert_int_equal(buf_json_str(&b, "caf\xc3\xa9 \xf0\x9f\x98\x80 \x7f </x>"), 0);
    assert_string_equal(b.data, "\"caf\xc3\xa9 \xf0\x9f\x98\x80 \x7f </x>\"");
    buf_reset(&b);
    /* It appends. */
    assert_int_equal(buf_puts(&b, "{\"k\":"), 0);
    assert_int_equal(buf_json_str(&b, "v"), 0);
    assert_int_equal(buf_puts(&b, "}"), 0);
    assert_string_equal(b.data, "{\"k\":\"v\"}");
    buf_free(&b);

    expect_json_round_trip("say \"hi\" \\ back");
    expect_json_round_trip("\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f"
                           "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f");
    expect_json_round_trip("\"\\\"\\\\\"");
    expect_json_round_trip("caf\xc3\xa9");
}

/*
 * buf_json_str is an append: past cap_limit it fails with TOCK_ELIMIT and, per
 * buf.h, leaves the buf unchanged (no half-written string literal).
 */
static void test_json_str_limit(void **state)
{
    (void)state;
    const char *s = "ab\"c\\d\ne\x01";
    struct buf full;
    buf_init(&full, 0);
    assert_int_equal(buf_puts(&full, "x="), 0);
    assert_int_equal(buf_json_str(&full, s), 0);
    size_t need = full.len; /* "x=" + literal */
    int broken = -1;
    for (size_t cap = 2; cap < need; cap++) {
        struct buf b;
        buf_init(&b, cap);
        assert_int_equal(buf_puts(&b, "x="), 0);
        assert_int_equal(buf_json_str(&b, s), TOCK_ELIMIT);
        if (broken < 0 && (b.len != 2 || strcmp(b.data, "x=") != 0))
            broken = (int)cap;
        buf_free(&b);
    }
    struct buf b;
    buf_init(&b, need);
    assert_int_equal(buf_puts(&b, "x="), 0);
    assert_int_equal(buf_json_str(&b, s), 0);
    assert_string_equal(b.data, full.data);
    buf_free(&b);
    buf_free(&full);
    if (broken >= 0)
        fail_msg("buf_json_str over cap_limit %d returned TOCK_ELIMIT but left a partial "
                 "literal in the buf (buf.h: a failing append leaves the buf unchanged)",
                 broken);
}

static void test_detach(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(buf_puts(&b, "owned text"), 0);
    size_t len = 0;
    char *p = buf_detach(&b, &len);
    assert_non_null(p);
    assert_int_equal(len, 10);
    assert_string_equal(p, "owned text");
    /* The buf is reset and usable again, independently of p. */
    assert_int_equal(b.len, 0);
    assert_int_equal(b.alloc, 0);
    assert_string_equal(b.data, "");
    assert_int_equal(buf_puts(&b, "new"), 0);
    assert_string_equal(b.data, "new");
    assert_string_equal(p, "owned text");
    free(p);
    buf_free(&b);

    /* Detaching an empty buf gives a heap "" (free()-able). */
    buf_init(&b, 0);
    len = 99;
    p = buf_detach(&b, &len);
    assert_non_null(p);
    assert_int_equal(len, 0);
    assert_string_equal(p, "");
    free(p);
    /* len is optional. */
    assert_int_equal(buf_puts(&b, "z"), 0);
    p = buf_detach(&b, NULL);
    assert_string_equal(p, "z");
    free(p);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_empty),
        cmocka_unit_test(test_append),
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_cap_limit),
        cmocka_unit_test(test_json_str),
        cmocka_unit_test(test_json_str_limit),
        cmocka_unit_test(test_detach),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
