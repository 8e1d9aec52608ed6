/*
 * test_chat_builtin.c — the builtin chat engine: the pure intent recognizer
 * (intents and their slots for the phrasings docs/assistant.md lists), numbered
 * choices, pronouns, the fuzzy title score, and whole turns on a real SQLite
 * store with a fixed clock (ask back, the answer, "it", state in JSON).
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
#include <unistd.h>

#include "chat/chat.h"
#include "core/task.h"
#include "obs/clock.h"
#include "service/service.h"
#include "store/store.h"

#include "unit_store.h"

static void expect(const char *msg, int intent, const char *target, const char *arg)
{
    char clean[CHAT_MESSAGE_MAX + 1];
    chat_normalize(msg, clean, sizeof clean);
    struct chat_intent_parse p;
    chat_intent_of(clean, &p);
    if (p.intent != intent)
        fail_msg("'%s': intent %d, expected %d", msg, p.intent, intent);
    if (target && strcmp(p.target, target))
        fail_msg("'%s': target '%s', expected '%s'", msg, p.target, target);
    if (arg && strcmp(p.arg, arg))
        fail_msg("'%s': arg '%s', expected '%s'", msg, p.arg, arg);
}

static void normalize(void **state)
{
    (void)state;
    char out[64];
    chat_normalize("  Done   with\tBuy milk?! ", out, sizeof out);
    assert_string_equal(out, "Done with Buy milk");
    chat_normalize("", out, sizeof out);
    assert_string_equal(out, "");
    chat_normalize("???", out, sizeof out);
    assert_string_equal(out, "");
    chat_normalize("abcdefghij", out, 5);
    assert_string_equal(out, "abcd");
}

static void intents(void **state)
{
    (void)state;
    expect("help", CI_HELP, "", "");
    expect("What can you do?", CI_HELP, "", "");
    expect("Hello!", CI_GREETING, "", "");
    expect("thanks a lot", CI_THANKS, "", "");
    expect("add Buy milk tomorrow #shop", CI_ADD, "", "Buy milk tomorrow #shop");
    expect("I need to call Mom", CI_ADD, "", "call Mom");
    expect("add eggs to my list", CI_ADD, "", "eggs");
    expect("what's due this week?", CI_LIST, "", "what's due this week");
    expect("show my urgent #work tasks", CI_LIST, "", NULL);
    expect("anything overdue?", CI_LIST, "", NULL);
    expect("done with buy milk", CI_COMPLETE, "buy milk", NULL);
    expect("I finished the dentist thing", CI_COMPLETE, "the dentist thing", NULL);
    expect("complete 12", CI_COMPLETE, "12", NULL);
    expect("mark the report as done", CI_COMPLETE, "the report", NULL);
    expect("the report is done", CI_COMPLETE, "the report", NULL);
    expect("mark the report as not done", CI_REOPEN, "the report", NULL);
    expect("reopen it", CI_REOPEN, "it", NULL);
    expect("delete the old report", CI_DELETE, "the old report", NULL);
    expect("get rid of that", CI_DELETE, "that", NULL);
    expect("move the dentist to friday at 3pm", CI_MOVE, "", "the dentist to friday at 3pm");
    expect("reschedule it for Monday", CI_MOVE, "", "it for Monday");
    expect("rename Buy milk to Buy oat milk", CI_RENAME, "Buy milk", "Buy oat milk");
    expect("rename it to \"Call the bank\"", CI_RENAME, "it", "Call the bank");
    expect("make it high priority", CI_PRIORITY, "it", NULL);
    expect("make the report urgent", CI_PRIORITY, "the report", NULL);
    expect("make it a low priority", CI_PRIORITY, "it", NULL);
    expect("set the priority of the report to medium", CI_PRIORITY, "the report", NULL);
    expect("set the report priority to high", CI_PRIORITY, "the report", NULL);
    expect("prioritize taxes", CI_PRIORITY, "taxes", NULL);
    expect("tag it #home", CI_TAG, "it", "#home");
    expect("tag the report with work and q1", CI_TAG, "the report", "work and q1");
    expect("add #home to the rent task", CI_TAG, "the rent task", "#home");
    expect("remind me about the report tomorrow at 9", CI_REMIND, "",
           "the report tomorrow at 9");
    expect("remind me to call mom at 5pm", CI_REMIND, "", "call mom at 5pm");
    expect("cancel the reminder for the report", CI_CANCEL_REMINDER, "the report", NULL);
    expect("don't remind me about the dentist", CI_CANCEL_REMINDER, "the dentist", NULL);
    expect("list my reminders", CI_LIST_REMINDERS, "", NULL);
    expect("what reminders do I have for the report", CI_LIST_REMINDERS, "the report", NULL);
    expect("stop repeating the rent", CI_STOP_REPEAT, "the rent", NULL);
    expect("stop repeating", CI_STOP_REPEAT, "it", NULL);
    expect("stop the gym from repeating", CI_STOP_REPEAT, "the gym", NULL);
    expect("the rent should not repeat", CI_STOP_REPEAT, "the rent", NULL);
    expect("blorp", CI_UNKNOWN, "", "blorp");

    struct chat_intent_parse p;
    chat_intent_of("make it urgent", &p);
    assert_int_equal(p.priority, PRIO_URGENT);
    chat_intent_of("make it low priority", &p);
    assert_int_equal(p.priority, PRIO_LOW);
    chat_intent_of("set the priority of x to none", &p);
    assert_int_equal(p.priority, PRIO_NONE);
}

static void choices_and_pronouns(void **state)
{
    (void)state;
    assert_int_equal(chat_choice_of("the second one", 3), 1);
    assert_int_equal(chat_choice_of("The first one please", 3), 0);
    assert_int_equal(chat_choice_of("2", 3), 1);
    assert_int_equal(chat_choice_of("#3", 3), 2);
    assert_int_equal(chat_choice_of("number 1", 3), 0);
    assert_int_equal(chat_choice_of("the last one", 4), 3);
    assert_int_equal(chat_choice_of("third", 3), 2);
    assert_int_equal(chat_choice_of("the fourth one", 3), -1); /* out of range */
    assert_int_equal(chat_choice_of("0", 3), -1);
    assert_int_equal(chat_choice_of("the second report", 3), -1);
    assert_int_equal(chat_choice_of("buy milk", 3), -1);
    assert_int_equal(chat_choice_of("2", 0), -1);
    assert_true(chat_is_pronoun("it"));
    assert_true(chat_is_pronoun("That one"));
    assert_false(chat_is_pronoun("the report"));
}

static void fuzzy_score(void **state)
{
    (void)state;
    assert_int_equal(chat_match_score("the dentist thing", "Dentist appointment"), 100);
    assert_int_equal(chat_match_score("milk", "Buy oat milk"), 100);
    assert_int_equal(chat_match_score("dentists", "Dentist"), 100);   /* plural */
    assert_int_equal(chat_match_score("dentsit", "Dentist visit"), 100); /* typo */
    assert_int_equal(chat_match_score("rep", "Quarterly report"), 100);  /* prefix */
    assert_int_equal(chat_match_score("buy bread", "Buy milk"), 50);
    assert_int_equal(chat_match_score("taxes", "Buy milk"), 0);
    assert_int_equal(chat_match_score("the", "The thing"), 0); /* only stop words */
    assert_int_equal(chat_match_score("", "x"), 0);
    assert_int_equal(chat_match_score("Café", "café au lait"), 100);
}

/* ---- whole turns on a real store ---- */

struct fixture {
    struct unit_store u;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    unit_store_open(&f->u, 2, "Europe/Paris");
    clock_set_fixed(1899018000000LL); /* 2030-03-06T09:00:00Z, Wednesday 10:00 Paris */
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    unit_store_close(&f->u);
    free(f);
    return 0;
}

/* One turn; returns the reply (caller frees), and the conversation id. */
static char *turn(struct fixture *f, int64_t *cid, const char *msg, json_t **actions)
{
    struct chat_out out;
    struct tock_error e = {0};
    int rc = chat_turn(NULL, &f->u.svc, &f->u.ctx, *cid, msg, &out, &e);
    if (rc)
        fail_msg("turn '%s' failed: %d %s", msg, rc, e.message);
    assert_string_equal(out.engine, "builtin");
    *cid = out.conversation_id;
    char *r = out.reply;
    out.reply = NULL;
    if (actions) {
        *actions = out.actions;
        out.actions = NULL;
    }
    chat_out_release(&out);
    return r;
}

static const char *first_tool(json_t *actions, size_t i)
{
    return json_string_value(json_object_get(json_array_get(actions, i), "tool"));
}

static void turns(void **state)
{
    struct fixture *f = *state;
    int64_t cid = 0;
    json_t *acts;
    char *r = turn(f, &cid, "add Buy milk tomorrow at 5pm #shop", &acts);
    assert_string_equal(r, "Added \"Buy milk\", due Thu 7 Mar 17:00 #shop.");
    assert_string_equal(first_tool(acts, 0), "add_task");
    free(r);
    json_decref(acts);
    assert_true(cid > 0);
    int64_t first = cid;
    r = turn(f, &cid, "add Buy oat milk friday", NULL);
    free(r);
    assert_int_equal(cid, first);

    r = turn(f, &cid, "done with milk", &acts);
    assert_non_null(strstr(r, "Which one do you mean?\n1. \"Buy"));
    const char *oat = strstr(r, "\"Buy oat milk\""), *plain = strstr(r, "\"Buy milk\"");
    assert_non_null(oat);
    assert_non_null(plain);
    const char *second_title = oat > plain ? "Buy oat milk" : "Buy milk";
    const char *first_title = oat > plain ? "Buy milk" : "Buy oat milk";
    assert_int_equal(json_array_size(acts), 1);
    free(r);
    json_decref(acts);
    /* The question is in the stored state. */
    struct conversation cv;
    assert_int_equal(svc_conv_get(&f->u.svc, &f->u.ctx, cid, &cv), 0);
    assert_non_null(strstr(cv.state, "\"pending\""));
    assert_int_equal(cv.message_count, 6);

    r = turn(f, &cid, "the second one", &acts);
    char want[96];
    snprintf(want, sizeof want, "Marked \"%s\" as done.", second_title);
    assert_string_equal(r, want);
    assert_string_equal(first_tool(acts, 1), "complete_task");
    free(r);
    json_decref(acts);
    assert_int_equal(svc_conv_get(&f->u.svc, &f->u.ctx, cid, &cv), 0);
    assert_null(strstr(cv.state, "\"pending\""));

    r = turn(f, &cid, "reopen it", NULL);
    snprintf(want, sizeof want, "Reopened \"%s\".", second_title);
    assert_string_equal(r, want);
    free(r);
    r = turn(f, &cid, "make it urgent", NULL);
    snprintf(want, sizeof want, "Set \"%s\" to urgent priority (was none).", second_title);
    assert_string_equal(r, want);
    free(r);
    r = turn(f, &cid, "show my urgent tasks", NULL);
    assert_non_null(strstr(r, "1 urgent task:\n1. \""));
    assert_non_null(strstr(r, second_title));
    assert_null(strstr(r, first_title));
    free(r);
    r = turn(f, &cid, "show my urgent tasks due tomorrow", NULL);
    if (!strcmp(second_title, "Buy milk"))
        assert_string_equal(r, "1 urgent task due tomorrow:\n1. \"Buy milk\", due Thu 7 Mar 17:00, urgent #shop");
    else
        assert_string_equal(r, "No urgent tasks due tomorrow.");
    free(r);

    /* "never mind" drops a question. */
    r = turn(f, &cid, "delete milk", NULL);
    assert_non_null(strstr(r, "Which one"));
    free(r);
    r = turn(f, &cid, "never mind", &acts);
    assert_string_equal(r, "OK, nothing changed.");
    assert_int_equal(json_array_size(acts), 0);
    free(r);
    json_decref(acts);

    /* Another user sees none of it. */
    struct svc_ctx other = f->u.ctx;
    other.user_id = f->u.ctx.user_id + 1000;
    struct chat_out out;
    struct tock_error e = {0};
    assert_int_equal(chat_turn(NULL, &f->u.svc, &other, cid, "hi", &out, &e), TOCK_ENOTFOUND);
    assert_int_equal(chat_turn(NULL, &f->u.svc, &f->u.ctx, 0, "", &out, &e), TOCK_EINVAL);
    assert_string_equal(e.field, "message");
    assert_int_equal(chat_turn(NULL, &f->u.svc, &f->u.ctx, 0, "bad \xff utf8", &out, &e),
                     TOCK_EINVAL);

    struct chat_message *v;
    size_t n;
    assert_int_equal(svc_conv_messages(&f->u.svc, &f->u.ctx, cid, 0, 100, &v, &n), 0);
    assert_int_equal(n, 20);
    assert_string_equal(v[0].role, "user");
    assert_string_equal(v[1].role, "assistant");
    assert_string_equal(v[1].engine, "builtin");
    assert_non_null(v[1].actions);
    assert_null(v[0].actions);
    chat_messages_free(v, n);
}

/* ---- robustness: random and adversarial input never breaks the pure parts or a turn ---- */

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}

static const char *const pieces[] = {
    "add ", "done with ", "the ", "second ", "one", "it", "move ", " to ", "friday ",
    "at 3pm ", "#home ", "rename ", "make ", "urgent", " priority", "remind me about ",
    "tomorrow ", "cancel the reminder for ", "stop repeating ", "what's due ", "this week",
    "?", "!", "  ", "\xc3\xa9", "\xe2\x80\x94", "12", "#", "\"", "'", "tag ", " with ",
    "mark ", " as done", "delete ", "every month ", "p1 ", "list my reminders", "help",
};

static void random_input(char *buf, size_t cap)
{
    size_t n = 0, parts = next_rand() % 12;
    for (size_t i = 0; i < parts; i++) {
        const char *p;
        char raw[8];
        if (next_rand() % 5 == 0) {
            size_t k = 1 + next_rand() % 6;
            for (size_t j = 0; j < k; j++)
                raw[j] = (char)(1 + next_rand() % 255);
            raw[k] = 0;
            p = raw;
        } else {
            p = pieces[next_rand() % (sizeof pieces / sizeof *pieces)];
        }
        size_t l = strlen(p);
        if (n + l + 1 > cap)
            break;
        memcpy(buf + n, p, l);
        n += l;
    }
    buf[n] = 0;
}

static void pure_parts_take_anything(void **state)
{
    (void)state;
    char in[512], clean[512];
    for (int i = 0; i < 20000; i++) {
        random_input(in, sizeof in);
        chat_normalize(in, clean, sizeof clean);
        struct chat_intent_parse p;
        chat_intent_of(clean, &p);
        assert_true(p.intent >= CI_UNKNOWN && p.intent <= CI_STOP_REPEAT);
        assert_true(strlen(p.target) < CHAT_SLOT_MAX && strlen(p.arg) < CHAT_SLOT_MAX);
        int k = chat_choice_of(clean, 5);
        assert_true(k >= -1 && k < 5);
        int sc = chat_match_score(clean, in);
        assert_true(sc >= 0 && sc <= 100);
        (void)chat_is_pronoun(clean);
    }
    /* Longest message: slots stay bounded. */
    char *big = malloc(CHAT_MESSAGE_MAX + 1);
    memset(big, 'a', CHAT_MESSAGE_MAX);
    memcpy(big, "rename ", 7);
    memcpy(big + 2000, " to ", 4);
    big[CHAT_MESSAGE_MAX] = 0;
    struct chat_intent_parse p;
    chat_intent_of(big, &p);
    assert_int_equal(p.intent, CI_RENAME);
    assert_int_equal(strlen(p.target), CHAT_SLOT_MAX - 1);
    free(big);
}

static void random_turns_always_answer(void **state)
{
    struct fixture *f = *state;
    int64_t cid = 0;
    char in[256];
    for (int i = 0; i < 300; i++) {
        random_input(in, sizeof in);
        struct chat_out out;
        struct tock_error e = {0};
        int rc = chat_turn(NULL, &f->u.svc, &f->u.ctx, cid, in, &out, &e);
        if (rc) {
            /* Only bad input is refused: blank or not UTF-8. */
            assert_int_equal(rc, TOCK_EINVAL);
            assert_string_equal(e.field, "message");
            continue;
        }
        assert_true(strlen(out.reply) > 0);
        assert_true(json_is_array(out.actions));
        cid = i % 40 == 39 ? 0 : out.conversation_id;
        chat_out_release(&out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(normalize),
        cmocka_unit_test(intents),
        cmocka_unit_test(choices_and_pronouns),
        cmocka_unit_test(fuzzy_score),
        cmocka_unit_test_setup_teardown(turns, setup, teardown),
        cmocka_unit_test(pure_parts_take_anything),
        cmocka_unit_test_setup_teardown(random_turns_always_answer, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
