/*
 * engine_builtin.c — the offline, deterministic chat engine: a small intent
 * grammar (help, add, list/search/filter, complete, reopen, delete, move, rename,
 * priority, tag, reminders, stop repeating) on top of the quick-add parser
 * (core/nl.h) for titles and times. Tasks are found by fuzzy title match; when
 * several match it asks back with a numbered list and understands the answer
 * ("the second one"); "it"/"that" mean the last task of the conversation. That
 * memory lives in the conversation's state (stored with it), not here.
 *
 * State members: last_task_id (string), listed ([ids] of the last numbered
 * list), pending ({intent, arg, priority, ids}: the question asked back).
 * Every action goes through chat_call (the tool registry).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/chat.h"
#include "core/buf.h"
#include "core/nl.h"
#include "core/task.h"
#include "core/timeutil.h"
#include "core/tz.h"

#define CANDIDATES_MAX 9
#define LIST_SHOW_MAX 20
#define MATCH_MIN 50

/* ---- pure parts ---- */

void chat_normalize(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    bool space = false;
    for (const char *p = in; *p && n + 1 < cap; p++) {
        char c = *p;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            space = n > 0;
            continue;
        }
        if (space && n + 2 < cap)
            out[n++] = ' ';
        space = false;
        out[n++] = c;
    }
    while (n > 0 && (out[n - 1] == '?' || out[n - 1] == '!' || out[n - 1] == '.' ||
                     out[n - 1] == ' '))
        n--;
    out[n] = 0;
}

static void lower(const char *in, char *out, size_t cap)
{
    size_t i = 0;
    for (; in[i] && i + 1 < cap; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[i] = 0;
}

/* If l starts with prefix (a word boundary after it), the offset after it. */
static long after_prefix(const char *l, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncmp(l, prefix, n))
        return -1;
    if (isalnum((unsigned char)prefix[n - 1]) && l[n] && l[n] != ' ')
        return -1;
    return (long)(l[n] == ' ' && prefix[n - 1] != ' ' ? n + 1 : n);
}

static bool ends_with(const char *l, const char *suffix, size_t *at)
{
    size_t n = strlen(l), m = strlen(suffix);
    if (m > n || strcmp(l + n - m, suffix))
        return false;
    *at = n - m;
    return true;
}

static void slot(char *dst, const char *src, size_t from, size_t to)
{
    size_t n = to > from ? to - from : 0;
    if (n >= CHAT_SLOT_MAX) {
        n = CHAT_SLOT_MAX - 1;
        while (n > 0 && ((unsigned char)src[from + n] & 0xC0) == 0x80)
            n--; /* do not split a UTF-8 sequence */
    }
    memcpy(dst, src + from, n);
    dst[n] = 0;
    /* trim */
    size_t a = 0;
    while (dst[a] == ' ')
        a++;
    memmove(dst, dst + a, strlen(dst + a) + 1);
    size_t z = strlen(dst);
    while (z && dst[z - 1] == ' ')
        dst[--z] = 0;
}

static bool one_of(const char *l, const char *const *words)
{
    for (; *words; words++)
        if (!strcmp(l, *words))
            return true;
    return false;
}

bool chat_is_pronoun(const char *s)
{
    char l[64];
    lower(s, l, sizeof l);
    static const char *const p[] = {"it", "that", "this", "that one", "this one", "that task",
                                    "this task", "the task", "the last one", "the same one",
                                    "it too", NULL};
    return one_of(l, p);
}

static int ordinal(const char *w)
{
    static const char *const words[] = {"first", "second", "third", "fourth", "fifth", "sixth",
                                        "seventh", "eighth", "ninth", NULL};
    static const char *const nums[] = {"1st", "2nd", "3rd", "4th", "5th", "6th", "7th", "8th",
                                       "9th", NULL};
    static const char *const card[] = {"one", "two", "three", "four", "five", "six", "seven",
                                       "eight", "nine", NULL};
    for (int i = 0; words[i]; i++)
        if (!strcmp(w, words[i]) || !strcmp(w, nums[i]) || !strcmp(w, card[i]))
            return i + 1;
    if (w[0] >= '1' && w[0] <= '9' && (!w[1] || (w[1] >= '0' && w[1] <= '9' && !w[2]))) {
        char *end;
        long v = strtol(w, &end, 10);
        return *end ? 0 : (int)v;
    }
    return 0;
}

int chat_choice_of(const char *s, size_t n)
{
    char l[128];
    if (strlen(s) >= sizeof l)
        return -1;
    lower(s, l, sizeof l);
    char w[128];
    chat_normalize(l, w, sizeof w);
    const char *p = w;
    static const char *const lead[] = {"the ", "number ", "no. ", "#", "option ", "task ", NULL};
    for (bool again = true; again;) {
        again = false;
        for (int i = 0; lead[i]; i++) {
            size_t k = strlen(lead[i]);
            if (!strncmp(p, lead[i], k)) {
                p += k;
                again = true;
            }
        }
    }
    char word[32];
    size_t k = 0;
    while (p[k] && p[k] != ' ' && k + 1 < sizeof word) {
        word[k] = p[k];
        k++;
    }
    word[k] = 0;
    const char *rest = p + k;
    while (*rest == ' ')
        rest++;
    if (*rest && strcmp(rest, "one") && strcmp(rest, "please") && strcmp(rest, "one please"))
        return -1;
    int idx;
    if (!strcmp(word, "last") || !strcmp(word, "latter"))
        idx = (int)n;
    else if (!strcmp(word, "former"))
        idx = 1;
    else
        idx = ordinal(word);
    return idx >= 1 && (size_t)idx <= n ? idx - 1 : -1;
}

static int prio_word(const char *w)
{
    if (!strcmp(w, "urgent") || !strcmp(w, "p1") || !strcmp(w, "asap") || !strcmp(w, "critical"))
        return PRIO_URGENT;
    if (!strcmp(w, "high") || !strcmp(w, "important") || !strcmp(w, "p2"))
        return PRIO_HIGH;
    if (!strcmp(w, "medium") || !strcmp(w, "normal") || !strcmp(w, "p3"))
        return PRIO_MEDIUM;
    if (!strcmp(w, "low") || !strcmp(w, "p4"))
        return PRIO_LOW;
    if (!strcmp(w, "no") || !strcmp(w, "none"))
        return PRIO_NONE;
    return -1;
}

/* "high priority", "urgent", "a high priority", "priority high" at the end of l. */
static int trailing_priority(const char *l, size_t *at)
{
    char buf[CHAT_SLOT_MAX];
    snprintf(buf, sizeof buf, "%s", l);
    size_t n = strlen(buf), cut;
    if (ends_with(buf, " priority", &cut) || ends_with(buf, " prio", &cut)) {
        buf[cut] = 0;
        n = cut;
    }
    size_t s = n;
    while (s > 0 && buf[s - 1] != ' ')
        s--;
    int p = prio_word(buf + s);
    if (p < 0)
        return -1;
    /* "make it a high priority": drop the article */
    size_t start = s;
    if (start >= 2 && !strncmp(buf + start - 2, "a ", 2) && (start == 2 || buf[start - 3] == ' '))
        start -= 2;
    *at = start;
    return p;
}

struct pat {
    const char *prefix;
    int intent;
};

void chat_intent_of(const char *clean, struct chat_intent_parse *out)
{
    memset(out, 0, sizeof *out);
    char l[CHAT_MESSAGE_MAX + 1];
    lower(clean, l, sizeof l);
    size_t len = strlen(l), at;
    long off;

    static const char *const help[] = {"help", "what can you do", "how does this work",
                                       "commands", "what can i say", "how do i use this",
                                       "help me", NULL};
    static const char *const hello[] = {"hi", "hello", "hey", "hi there", "hello there",
                                        "good morning", "good afternoon", "good evening",
                                        "yo", "hey there", NULL};
    static const char *const thanks[] = {"thanks", "thank you", "thx", "cheers", "great",
                                         "ok", "okay", "cool", "perfect", "nice", "awesome",
                                         "thanks a lot", "thank you very much", NULL};
    if (one_of(l, help) || !strncmp(l, "help ", 5)) {
        out->intent = CI_HELP;
        return;
    }
    if (one_of(l, hello)) {
        out->intent = CI_GREETING;
        return;
    }
    if (one_of(l, thanks) || !strncmp(l, "thanks ", 7) || !strncmp(l, "thank you ", 10)) {
        out->intent = CI_THANKS;
        return;
    }

    /* ---- reminders ---- */
    if (strstr(l, "remind")) {
        static const char *const cancel[] = {"cancel ", "delete ", "remove ", "clear ",
                                             "drop ", NULL};
        bool is_cancel = !strncmp(l, "don't remind me", 15) ||
                         !strncmp(l, "do not remind me", 16) ||
                         !strncmp(l, "stop reminding me", 17);
        for (int i = 0; cancel[i]; i++)
            if (!strncmp(l, cancel[i], strlen(cancel[i])) && strstr(l, "reminder"))
                is_cancel = true;
        const char *const refs[] = {" for ", " on ", " about ", " of ", NULL};
        if (is_cancel || (strstr(l, "reminder") &&
                          (!strncmp(l, "list", 4) || !strncmp(l, "show", 4) ||
                           !strncmp(l, "what", 4) || !strncmp(l, "which", 5) ||
                           !strncmp(l, "any ", 4) || !strncmp(l, "my reminders", 12) ||
                           !strncmp(l, "reminders", 9) || !strncmp(l, "do i have", 9)))) {
            out->intent = is_cancel ? CI_CANCEL_REMINDER : CI_LIST_REMINDERS;
            for (int i = 0; refs[i]; i++) {
                const char *r = strstr(l, refs[i]);
                if (r) {
                    slot(out->target, clean, (size_t)(r - l) + strlen(refs[i]), len);
                    break;
                }
            }
            if (is_cancel && !out->target[0])
                snprintf(out->target, sizeof out->target, "it");
            return;
        }
        static const char *const remind[] = {"remind me about ", "remind me of ",
                                             "remind me to ", "remind me ", NULL};
        for (int i = 0; remind[i]; i++)
            if ((off = after_prefix(l, remind[i])) >= 0) {
                out->intent = CI_REMIND;
                slot(out->arg, clean, (size_t)off, len);
                /* "to": a new task when none matches */
                out->priority = i == 2;
                return;
            }
    }

    /* ---- stop repeating ---- */
    static const char *const stop[] = {"stop repeating ", "don't repeat ", "do not repeat ",
                                       "stop the recurrence of ", "stop recurring ",
                                       "end the series of ", "stop the series of ", NULL};
    for (int i = 0; stop[i]; i++)
        if ((off = after_prefix(l, stop[i])) >= 0) {
            out->intent = CI_STOP_REPEAT;
            slot(out->target, clean, (size_t)off, len);
            return;
        }
    if (!strcmp(l, "stop repeating") || !strcmp(l, "stop repeating it") ||
        !strcmp(l, "don't repeat it") || !strcmp(l, "no more repeats")) {
        out->intent = CI_STOP_REPEAT;
        snprintf(out->target, sizeof out->target, "it");
        return;
    }
    if (!strncmp(l, "stop ", 5) &&
        (ends_with(l, " from repeating", &at) || ends_with(l, " repeating", &at))) {
        out->intent = CI_STOP_REPEAT;
        slot(out->target, clean, 5, at);
        return;
    }
    if (ends_with(l, " should not repeat", &at) || ends_with(l, " shouldn't repeat", &at) ||
        ends_with(l, " should stop repeating", &at)) {
        out->intent = CI_STOP_REPEAT;
        slot(out->target, clean, 0, at);
        return;
    }

    /* ---- rename ---- */
    if ((off = after_prefix(l, "rename ")) >= 0 ||
        (off = after_prefix(l, "change the title of ")) >= 0 ||
        (off = after_prefix(l, "change the name of ")) >= 0) {
        const char *to = NULL;
        for (const char *p = strstr(l + off, " to "); p; p = strstr(p + 1, " to "))
            to = p; /* the last " to " */
        if (to) {
            out->intent = CI_RENAME;
            slot(out->target, clean, (size_t)off, (size_t)(to - l));
            slot(out->arg, clean, (size_t)(to - l) + 4, len);
            /* "rename X to "Y"": drop quotes around Y */
            size_t n = strlen(out->arg);
            if (n >= 2 && (out->arg[0] == '"' || out->arg[0] == '\'') && out->arg[n - 1] == out->arg[0]) {
                memmove(out->arg, out->arg + 1, n - 2);
                out->arg[n - 2] = 0;
            }
            return;
        }
    }

    /* ---- priority ---- */
    {
        int p;
        if ((off = after_prefix(l, "make ")) >= 0 && (p = trailing_priority(l + off, &at)) >= 0) {
            out->intent = CI_PRIORITY;
            out->priority = p;
            slot(out->target, clean, (size_t)off, (size_t)off + at);
            return;
        }
        if ((off = after_prefix(l, "set the priority of ")) >= 0 ||
            (off = after_prefix(l, "change the priority of ")) >= 0) {
            const char *to = strstr(l + off, " to ");
            if (to && (p = trailing_priority(to + 4, &at)) >= 0) {
                out->intent = CI_PRIORITY;
                out->priority = p;
                slot(out->target, clean, (size_t)off, (size_t)(to - l));
                return;
            }
        }
        if ((off = after_prefix(l, "prioritize ")) >= 0 || (off = after_prefix(l, "prioritise ")) >= 0) {
            out->intent = CI_PRIORITY;
            out->priority = PRIO_HIGH;
            slot(out->target, clean, (size_t)off, len);
            return;
        }
        if ((off = after_prefix(l, "mark ")) >= 0 && (ends_with(l, " as urgent", &at) ||
                                                     ends_with(l, " as important", &at))) {
            out->intent = CI_PRIORITY;
            out->priority = strstr(l + at, "urgent") ? PRIO_URGENT : PRIO_HIGH;
            slot(out->target, clean, (size_t)off, at);
            return;
        }
        if ((off = after_prefix(l, "set ")) >= 0 && (p = trailing_priority(l + off, &at)) >= 0) {
            const char *to = strstr(l + off, " to ");
            if (to && (size_t)(to - l) <= (size_t)off + at) {
                out->intent = CI_PRIORITY;
                out->priority = p;
                size_t end = (size_t)(to - l);
                size_t pe;
                char tmp[CHAT_SLOT_MAX];
                slot(tmp, l, (size_t)off, end);
                if (ends_with(tmp, " priority", &pe))
                    end = (size_t)off + pe;
                slot(out->target, clean, (size_t)off, end);
                return;
            }
        }
    }

    /* ---- tag ---- */
    if ((off = after_prefix(l, "tag ")) >= 0 || (off = after_prefix(l, "label ")) >= 0) {
        const char *w = strstr(l + off, " with ");
        const char *h = strchr(l + off, '#');
        if (w || h) {
            out->intent = CI_TAG;
            size_t end = w ? (size_t)(w - l) : (size_t)(h - l);
            if (w && h && (size_t)(h - l) < end)
                end = (size_t)(h - l);
            slot(out->target, clean, (size_t)off, end);
            slot(out->arg, clean, w && (size_t)(w - l) == end ? end + 6 : end, len);
            return;
        }
    }
    if ((off = after_prefix(l, "add #")) >= 0 || (off = after_prefix(l, "add the tag ")) >= 0) {
        const char *to = strstr(l, " to ");
        if (to) {
            out->intent = CI_TAG;
            size_t s = !strncmp(l, "add #", 5) ? 4 : 12;
            slot(out->arg, clean, s, (size_t)(to - l));
            slot(out->target, clean, (size_t)(to - l) + 4, len);
            return;
        }
    }

    /* ---- move ---- */
    static const char *const move[] = {"move ", "reschedule ", "postpone ", "push ", "delay ",
                                       "change the due date of ", "set the due date of ",
                                       "change the date of ", "change the time of ", NULL};
    for (int i = 0; move[i]; i++)
        if ((off = after_prefix(l, move[i])) >= 0) {
            out->intent = CI_MOVE;
            slot(out->arg, clean, (size_t)off, len);
            return;
        }

    /* ---- complete / reopen / delete ---- */
    static const struct pat acts[] = {
        {"done with ", CI_COMPLETE},      {"i'm done with ", CI_COMPLETE},
        {"im done with ", CI_COMPLETE},   {"i am done with ", CI_COMPLETE},
        {"i finished ", CI_COMPLETE},     {"i've finished ", CI_COMPLETE},
        {"i have finished ", CI_COMPLETE}, {"finished ", CI_COMPLETE},
        {"finish ", CI_COMPLETE},         {"i completed ", CI_COMPLETE},
        {"completed ", CI_COMPLETE},      {"complete ", CI_COMPLETE},
        {"check off ", CI_COMPLETE},      {"tick off ", CI_COMPLETE},
        {"cross off ", CI_COMPLETE},      {"i did ", CI_COMPLETE},
        {"close ", CI_COMPLETE},          {"reopen ", CI_REOPEN},
        {"re-open ", CI_REOPEN},          {"uncomplete ", CI_REOPEN},
        {"undo ", CI_REOPEN},             {"delete ", CI_DELETE},
        {"remove ", CI_DELETE},           {"forget about ", CI_DELETE},
        {"forget ", CI_DELETE},           {"drop ", CI_DELETE},
        {"trash ", CI_DELETE},            {"get rid of ", CI_DELETE},
        {"cancel ", CI_DELETE},           {NULL, 0}};
    if ((off = after_prefix(l, "mark ")) >= 0) {
        static const char *const done[] = {" as done", " done", " as complete", " complete",
                                           " as completed", " completed", " as finished",
                                           " finished", NULL};
        static const char *const undone[] = {" as not done", " not done", " as todo",
                                             " as to do", " undone", " as open", NULL};
        for (int i = 0; undone[i]; i++)
            if (ends_with(l, undone[i], &at)) {
                out->intent = CI_REOPEN;
                slot(out->target, clean, (size_t)off, at);
                return;
            }
        for (int i = 0; done[i]; i++)
            if (ends_with(l, done[i], &at)) {
                out->intent = CI_COMPLETE;
                slot(out->target, clean, (size_t)off, at);
                return;
            }
    }
    for (int i = 0; acts[i].prefix; i++)
        if ((off = after_prefix(l, acts[i].prefix)) >= 0) {
            out->intent = acts[i].intent;
            slot(out->target, clean, (size_t)off, len);
            /* "finished it off", "done with it now" */
            return;
        }
    static const char *const done_sfx[] = {" is done", " is finished", " is complete",
                                           " is completed", " done", NULL};
    for (int i = 0; done_sfx[i]; i++)
        if (ends_with(l, done_sfx[i], &at) && at > 0) {
            out->intent = CI_COMPLETE;
            slot(out->target, clean, 0, at);
            return;
        }

    /* ---- add ---- */
    static const char *const add[] = {"add ", "create ", "new task ", "new todo ", "new ",
                                      "todo ", "todo: ", "to do ", "remember to ",
                                      "i need to ", "i have to ", "i must ", "i should ",
                                      "don't let me forget to ", "note ", "put ", "schedule ",
                                      NULL};
    for (int i = 0; add[i]; i++)
        if ((off = after_prefix(l, add[i])) >= 0) {
            out->intent = CI_ADD;
            slot(out->arg, clean, (size_t)off, len);
            static const char *const tail[] = {" to my list", " to the list", " to my tasks",
                                               " to my todo list", " to my to-do list", NULL};
            for (int k = 0; tail[k]; k++) {
                char al[CHAT_SLOT_MAX];
                lower(out->arg, al, sizeof al);
                if (ends_with(al, tail[k], &at))
                    out->arg[at] = 0;
            }
            return;
        }

    /* ---- list / search ---- */
    static const char *const list[] = {"what", "whats", "what's", "show", "list", "anything",
                                       "any", "do i have", "which", "find", "search", "look for",
                                       "tasks", "my tasks", "how many", "is there", "are there",
                                       "overdue", "due", "todo", "todos", "agenda", "get",
                                       "tell me", "give me", NULL};
    for (int i = 0; list[i]; i++)
        if (after_prefix(l, list[i]) >= 0) {
            out->intent = CI_LIST;
            slot(out->arg, clean, 0, len);
            return;
        }
    out->intent = CI_UNKNOWN;
    slot(out->arg, clean, 0, len);
}

/* ---- fuzzy title match ---- */

static bool stopword(const char *w)
{
    static const char *const s[] = {"the", "a", "an", "my", "our", "thing", "things", "stuff",
                                    "task", "tasks", "one", "to", "for", "about", "with",
                                    "of", "that", "this", "some", "item", "todo", "on", "in",
                                    "at", NULL};
    return one_of(w, s);
}

/* Splits s into lower-case words (letters, digits, non-ASCII bytes). */
static size_t words_of(const char *s, char w[][48], size_t max)
{
    size_t n = 0, k = 0;
    for (const char *p = s;; p++) {
        unsigned char c = (unsigned char)*p;
        if (c && (isalnum(c) || c >= 0x80)) {
            if (k + 1 < 48)
                w[n][k++] = (char)tolower(c);
            continue;
        }
        if (k) {
            w[n][k] = 0;
            k = 0;
            if (++n == max)
                break;
        }
        if (!c)
            break;
    }
    return n;
}

/* One insertion, deletion, substitution or swap of neighbours. */
static bool within_one_edit(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la == lb) {
        size_t d = 0;
        while (d < la && a[d] == b[d])
            d++;
        if (d + 1 < la && a[d] == b[d + 1] && a[d + 1] == b[d] && !strcmp(a + d + 2, b + d + 2))
            return true;
    }
    if (la > lb + 1 || lb > la + 1)
        return false;
    size_t i = 0, j = 0;
    int edits = 0;
    while (i < la && j < lb) {
        if (a[i] == b[j]) {
            i++;
            j++;
            continue;
        }
        if (++edits > 1)
            return false;
        if (la > lb)
            i++;
        else if (lb > la)
            j++;
        else {
            i++;
            j++;
        }
    }
    return edits + (int)(la - i) + (int)(lb - j) <= 1;
}

static bool word_match(const char *r, const char *t)
{
    size_t lr = strlen(r), lt = strlen(t);
    if (!strcmp(r, t))
        return true;
    if (lr >= 3 && lr < lt && !strncmp(r, t, lr))
        return true;
    if (lt >= 4 && lt < lr && !strncmp(r, t, lt))
        return true; /* "dentists" ~ "dentist" */
    return lr >= 5 && lt >= 5 && within_one_edit(r, t);
}

int chat_match_score(const char *ref, const char *title)
{
    char r[32][48], t[64][48];
    size_t nr = words_of(ref, r, 32), nt = words_of(title, t, 64);
    size_t used = 0, matched = 0;
    for (size_t i = 0; i < nr; i++) {
        if (stopword(r[i]))
            continue;
        used++;
        for (size_t k = 0; k < nt; k++)
            if (word_match(r[i], t[k])) {
                matched++;
                break;
            }
    }
    return used ? (int)(matched * 100 / used) : 0;
}

/* ---- the engine ---- */

struct eng {
    struct chat_turn *t;
    struct buf out;
    struct local_dt now; /* local, in zone */
    const char *zone;
};

static const char *js(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static void say(struct eng *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct eng *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&g->out, fmt, ap);
    va_end(ap);
}

static const char *const wdays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static int weekday(int y, int m, int d) /* Monday = 0 */
{
    int64_t z = days_from_civil(y, m, d);
    return (int)(((z % 7) + 7 + 3) % 7);
}

/* "2026-11-27T15:00" -> "Fri 27 Nov 15:00" (the year when it is not this one). */
static void fmt_due(const struct eng *g, const char *due, char *out, size_t cap)
{
    struct local_dt t;
    if (!due || !*due || time_parse_local(due, &t)) {
        snprintf(out, cap, "%s", due ? due : "");
        return;
    }
    char year[8] = "";
    if (t.year != g->now.year)
        snprintf(year, sizeof year, " %d", t.year);
    if (t.has_time)
        snprintf(out, cap, "%s %d %s%s %02d:%02d", wdays[weekday(t.year, t.month, t.day)], t.day,
                 months[t.month - 1], year, t.hour, t.minute);
    else
        snprintf(out, cap, "%s %d %s%s", wdays[weekday(t.year, t.month, t.day)], t.day,
                 months[t.month - 1], year);
}

static void fmt_instant(const struct eng *g, const char *rfc3339, char *out, size_t cap)
{
    int64_t ms;
    struct local_dt t;
    if (!rfc3339 || time_parse_rfc3339(rfc3339, &ms) || tz_utc_to_local(g->zone, ms, &t)) {
        snprintf(out, cap, "%s", rfc3339 ? rfc3339 : "");
        return;
    }
    t.has_time = true;
    char loc[20];
    time_fmt_local(&t, loc);
    fmt_due(g, loc, out, cap);
}

static void remember(struct eng *g, const char *id)
{
    json_object_set_new(g->t->state, "last_task_id", json_string(id));
}

/*
 * Runs a tool. Returns its result (new reference) on success; on failure says
 * "<what>: <message>" and returns NULL.
 */
static json_t *run(struct eng *g, const char *tool, json_t *args, const char *what)
{
    struct tool_result r;
    int rc = chat_call(g->t, tool, args, &r);
    if (rc) {
        say(g, "Something went wrong (%s).", tock_strerror(rc));
        return NULL;
    }
    if (r.is_error) {
        say(g, "%s: %s.", what, r.message);
        tool_result_release(&r);
        return NULL;
    }
    return r.result;
}

static void task_line(struct eng *g, json_t *task)
{
    say(g, "\"%s\"", js(task, "title"));
    const char *due = js(task, "due");
    char d[48];
    if (*due) {
        fmt_due(g, due, d, sizeof d);
        say(g, ", due %s", d);
    }
    const char *p = js(task, "priority");
    if (*p && strcmp(p, "none"))
        say(g, ", %s", p);
    size_t i;
    json_t *tag;
    json_array_foreach(json_object_get(task, "tags"), i, tag) say(g, " #%s", json_string_value(tag));
}

static bool parse_nl(struct eng *g, const char *text, struct nl_result *r)
{
    struct nl_options o = {g->now, g->zone};
    struct tock_error e = {0};
    return nl_parse(text, strlen(text), &o, r, &e) == 0;
}

/* Drops trailing connector words left by the parser ("the dentist to"). */
static void trim_ref(char *s)
{
    static const char *const tail[] = {" to", " for", " on", " at", " until", " till", " by",
                                       " from", " until", " in", " about", NULL};
    for (bool again = true; again;) {
        again = false;
        size_t n = strlen(s);
        while (n && (s[n - 1] == ' ' || s[n - 1] == ','))
            s[--n] = 0;
        for (int i = 0; tail[i]; i++) {
            size_t at;
            char l[CHAT_SLOT_MAX];
            lower(s, l, sizeof l);
            if (ends_with(l, tail[i], &at)) {
                s[at] = 0;
                again = true;
            }
        }
    }
    size_t n = strlen(s);
    if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
        memmove(s, s + 1, n - 2);
        s[n - 2] = 0;
    }
}

static bool is_task_number(const char *s, char *id, size_t cap)
{
    char l[64];
    if (strlen(s) >= sizeof l)
        return false;
    lower(s, l, sizeof l);
    const char *p = l;
    if (!strncmp(p, "task ", 5))
        p += 5;
    if (*p == '#')
        p++;
    if (!*p || strlen(p) > 18)
        return false;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9')
            return false;
    snprintf(id, cap, "%s", p);
    return true;
}

static json_t *get_task(struct eng *g, const char *id)
{
    return run(g, "get_task", json_pack("{s:s}", "id", id), "I couldn't find that task");
}

static void ask_which(struct eng *g, const struct chat_intent_parse *ip, json_t *cands,
                      bool full_matches)
{
    json_t *ids = json_array();
    if (!full_matches && json_array_size(cands) == 1)
        say(g, "I'm not sure which task you mean. Did you mean this one? (say \"yes\" or "
               "\"the first one\")");
    else if (!full_matches)
        say(g, "I'm not sure which task you mean. Did you mean one of these?");
    else
        say(g, "I found %zu tasks like that. Which one do you mean?", json_array_size(cands));
    size_t i;
    json_t *x;
    json_array_foreach(cands, i, x)
    {
        say(g, "\n%zu. ", i + 1);
        task_line(g, x);
        json_array_append_new(ids, json_string(js(x, "id")));
    }
    json_object_set_new(g->t->state, "pending",
                        json_pack("{s:i,s:s,s:s,s:i,s:o}", "intent", ip->intent, "target",
                                  ip->target, "arg", ip->arg, "priority", ip->priority, "ids",
                                  ids));
    json_object_set(g->t->state, "listed", ids);
}

/* The reference's content words as a full-text query; returns its length (0: none). */
static size_t content_query(const char *ref, char q[FILTER_Q_MAX + 1])
{
    size_t qn = 0;
    char w[32][48];
    size_t nw = words_of(ref, w, 32);
    for (size_t k = 0; k < nw; k++) {
        if (stopword(w[k]))
            continue;
        int m = snprintf(q + qn, FILTER_Q_MAX + 1 - qn, "%s%s", qn ? " " : "", w[k]);
        if (m < 0 || (size_t)m >= FILTER_Q_MAX + 1 - qn)
            break;
        qn += (size_t)m;
    }
    q[qn] = 0;
    return qn;
}

/*
 * The task ip->target refers to (new reference), or NULL after replying (not
 * found, several: asked back, or an error). done_ones: look among completed tasks.
 */
static json_t *find_task(struct eng *g, const struct chat_intent_parse *ip, bool done_ones)
{
    char ref[CHAT_SLOT_MAX], id[24];
    snprintf(ref, sizeof ref, "%s", ip->target);
    trim_ref(ref);
    const char *last = js(g->t->state, "last_task_id");
    if (!ref[0] || chat_is_pronoun(ref)) {
        if (!*last) {
            say(g, "Which task do you mean?");
            return NULL;
        }
        return get_task(g, last);
    }
    json_t *listed = json_object_get(g->t->state, "listed");
    int k = chat_choice_of(ref, json_array_size(listed));
    if (k >= 0)
        return get_task(g, json_string_value(json_array_get(listed, (size_t)k)));
    if (is_task_number(ref, id, sizeof id))
        return get_task(g, id);

    /*
     * First a full-text search on the reference's words (a small result); when it
     * finds no full match, the most recently updated tasks are scored instead (for
     * typos and word forms the search does not know).
     */
    char q[FILTER_Q_MAX + 1];
    size_t qn = content_query(ref, q);
    json_t *found = NULL, *cands = json_array();
    bool exact_found = false;
    int best = 0;
    for (int pass = qn ? 0 : 1; pass < 2; pass++) {
        json_t *args = json_pack("{s:[s,s],s:i}", "status", done_ones ? "done" : "todo",
                                 done_ones ? "done" : "in_progress", "limit",
                                 pass ? FILTER_LIMIT_MAX : 50);
        if (pass)
            json_object_set_new(args, "sort", json_pack("[s]", "updated_at:desc"));
        else
            json_object_set_new(args, "q", json_string(q));
        json_t *res = run(g, "list_tasks", args, "I couldn't look up your tasks");
        if (!res) {
            json_decref(cands);
            return NULL;
        }
        best = 0;
        json_array_clear(cands);
        json_t *exact = NULL;
        size_t i;
        json_t *x;
        json_array_foreach(json_object_get(res, "items"), i, x)
        {
            const char *title = js(x, "title");
            if (!strcasecmp(title, ref) && !exact)
                exact = x;
            int sc = chat_match_score(ref, title);
            if (sc < MATCH_MIN || sc < best)
                continue;
            if (sc > best) {
                json_array_clear(cands);
                best = sc;
            }
            if (json_array_size(cands) < CANDIDATES_MAX)
                json_array_append(cands, x);
        }
        if (exact) {
            found = json_incref(exact);
            exact_found = true;
        }
        json_decref(res);
        if (exact_found || best == 100)
            break;
    }
    if (!found && best == 100 && json_array_size(cands) == 1)
        found = json_incref(json_array_get(cands, 0));
    else if (!found && json_array_size(cands))
        ask_which(g, ip, cands, best == 100);
    else if (!found)
        say(g, "I couldn't find %s task matching \"%s\".", done_ones ? "a completed" : "an open",
            ref);
    json_decref(cands);
    return found;
}

/* ---- actions on one task ---- */

static void do_complete(struct eng *g, json_t *task)
{
    json_t *r = run(g, "complete_task", json_pack("{s:s}", "id", js(task, "id")),
                    "I couldn't complete it");
    if (!r)
        return;
    say(g, "Marked \"%s\" as done.", js(r, "title"));
    if (json_is_object(json_object_get(r, "recurrence")))
        say(g, " It repeats, so the next one will show up shortly.");
    remember(g, js(r, "id"));
    json_decref(r);
}

static void do_reopen(struct eng *g, json_t *task)
{
    json_t *r = run(g, "reopen_task", json_pack("{s:s}", "id", js(task, "id")),
                    "I couldn't reopen it");
    if (!r)
        return;
    say(g, "Reopened \"%s\".", js(r, "title"));
    remember(g, js(r, "id"));
    json_decref(r);
}

static void do_delete(struct eng *g, json_t *task)
{
    json_t *r = run(g, "delete_task", json_pack("{s:s}", "id", js(task, "id")),
                    "I couldn't delete it");
    if (!r)
        return;
    say(g, "Deleted \"%s\".", js(task, "title"));
    json_object_del(g->t->state, "last_task_id");
    json_decref(r);
}

static void do_stop(struct eng *g, json_t *task)
{
    if (!json_is_object(json_object_get(task, "recurrence"))) {
        say(g, "\"%s\" doesn't repeat, so nothing changed.", js(task, "title"));
        remember(g, js(task, "id"));
        return;
    }
    json_t *r = run(g, "stop_recurrence", json_pack("{s:s}", "id", js(task, "id")),
                    "I couldn't stop it repeating");
    if (!r)
        return;
    say(g, "\"%s\" won't repeat any more", js(r, "title"));
    const char *due = js(r, "due");
    if (*due) {
        char d[48];
        fmt_due(g, due, d, sizeof d);
        say(g, "; this one is still due %s", d);
    }
    say(g, ".");
    remember(g, js(r, "id"));
    json_decref(r);
}

static void do_rename(struct eng *g, json_t *task, const char *title)
{
    if (!*title) {
        say(g, "What should the new name be?");
        return;
    }
    json_t *r = run(g, "update_task", json_pack("{s:s,s:s}", "id", js(task, "id"), "title", title),
                    "I couldn't rename it");
    if (!r)
        return;
    say(g, "Renamed \"%s\" to \"%s\".", js(task, "title"), js(r, "title"));
    remember(g, js(r, "id"));
    json_decref(r);
}

static void do_priority(struct eng *g, json_t *task, int prio)
{
    const char *name = task_priority_name(prio);
    if (!strcmp(js(task, "priority"), name)) {
        say(g, "\"%s\" already has %s priority; nothing changed.", js(task, "title"), name);
        remember(g, js(task, "id"));
        return;
    }
    json_t *r = run(g, "update_task",
                    json_pack("{s:s,s:s}", "id", js(task, "id"), "priority", name),
                    "I couldn't change the priority");
    if (!r)
        return;
    say(g, "Set \"%s\" to %s priority (was %s).", js(r, "title"), name, js(task, "priority"));
    remember(g, js(r, "id"));
    json_decref(r);
}

static void do_tag(struct eng *g, json_t *task, const char *text)
{
    json_t *tags = json_deep_copy(json_object_get(task, "tags"));
    if (!json_is_array(tags)) {
        json_decref(tags);
        tags = json_array();
    }
    json_t *added = json_array();
    char w[CHAT_SLOT_MAX];
    size_t k = 0;
    for (const char *p = text;; p++) {
        char c = *p;
        if (c && c != ' ' && c != ',' && c != '#') {
            if (k + 1 < sizeof w)
                w[k++] = (char)tolower((unsigned char)c);
            continue;
        }
        w[k] = 0;
        if (k && strcmp(w, "and") && strcmp(w, "with") && strcmp(w, "tag") &&
            strcmp(w, "tags") && strcmp(w, "the")) {
            bool have = false;
            size_t i;
            json_t *x;
            json_array_foreach(tags, i, x) if (!strcmp(json_string_value(x), w)) have = true;
            if (!have) {
                json_array_append_new(tags, json_string(w));
                json_array_append_new(added, json_string(w));
            }
        }
        k = 0;
        if (!c)
            break;
    }
    if (!json_array_size(added)) {
        say(g, "\"%s\" already has those tags; nothing changed.", js(task, "title"));
        json_decref(tags);
        json_decref(added);
        return;
    }
    json_t *r = run(g, "update_task", json_pack("{s:s,s:o}", "id", js(task, "id"), "tags", tags),
                    "I couldn't tag it");
    if (r) {
        say(g, "Tagged \"%s\"", js(r, "title"));
        size_t i;
        json_t *x;
        json_array_foreach(added, i, x) say(g, " #%s", json_string_value(x));
        say(g, ".");
        remember(g, js(r, "id"));
        json_decref(r);
    }
    json_decref(added);
}

static void local_str(const struct local_dt *t, char out[20])
{
    time_fmt_local(t, out);
}

static void do_move(struct eng *g, json_t *task, const char *arg)
{
    struct nl_result *r = calloc(1, sizeof *r);
    if (!r || !parse_nl(g, arg, r) || !r->has_due) {
        say(g, "When should \"%s\" be due?", js(task, "title"));
        free(r);
        return;
    }
    char due[20], was[48] = "", now[48];
    local_str(&r->due, due);
    free(r);
    const char *old = js(task, "due");
    if (*old)
        fmt_due(g, old, was, sizeof was);
    json_t *res = run(g, "update_task", json_pack("{s:s,s:s}", "id", js(task, "id"), "due", due),
                      "I couldn't move it");
    if (!res)
        return;
    fmt_due(g, js(res, "due"), now, sizeof now);
    say(g, "Moved \"%s\" to %s", js(res, "title"), now);
    if (*was)
        say(g, " (was %s)", was);
    else
        say(g, " (it had no due date)");
    say(g, ".");
    remember(g, js(res, "id"));
    json_decref(res);
}

static void do_remind(struct eng *g, json_t *task, const char *arg)
{
    struct nl_result *r = calloc(1, sizeof *r);
    if (!r || !parse_nl(g, arg, r)) {
        free(r);
        say(g, "When should I remind you?");
        return;
    }
    json_t *args;
    if (r->nreminders && !r->reminders[0].is_at) {
        args = json_pack("{s:s,s:i}", "task_id", js(task, "id"), "offset_minutes",
                         r->reminders[0].offset_minutes);
    } else if (r->nreminders || r->has_due) {
        struct local_dt at = r->nreminders ? r->reminders[0].at : r->due;
        if (!at.has_time) {
            at.has_time = true;
            at.hour = 9;
            at.minute = 0;
        }
        char s[20];
        local_str(&at, s);
        args = json_pack("{s:s,s:s}", "task_id", js(task, "id"), "at", s);
    } else {
        free(r);
        say(g, "When should I remind you about \"%s\"?", js(task, "title"));
        remember(g, js(task, "id"));
        return;
    }
    free(r);
    json_t *res = run(g, "set_reminder", args, "I couldn't set that reminder");
    if (!res)
        return;
    char when[48];
    fmt_instant(g, js(res, "fire_at"), when, sizeof when);
    if (*js(res, "fire_at"))
        say(g, "OK, I'll remind you about \"%s\" on %s.", js(task, "title"), when);
    else
        say(g, "OK, I'll remind you about \"%s\" %lld minutes before it's due (it has no due "
               "date yet).",
            js(task, "title"), (long long)json_integer_value(json_object_get(res, "offset_minutes")));
    remember(g, js(task, "id"));
    json_decref(res);
}

static void do_cancel_reminders(struct eng *g, json_t *task)
{
    json_t *l = run(g, "list_reminders", json_pack("{s:s}", "task_id", js(task, "id")),
                    "I couldn't read its reminders");
    if (!l)
        return;
    int n = 0;
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(l, "items"), i, x)
    {
        if (strcmp(js(x, "state"), "pending"))
            continue;
        json_t *r = run(g, "cancel_reminder", json_pack("{s:s}", "reminder_id", js(x, "id")),
                        "I couldn't cancel a reminder");
        if (!r)
            break;
        json_decref(r);
        n++;
    }
    json_decref(l);
    if (n)
        say(g, "Cancelled %d reminder%s for \"%s\".", n, n == 1 ? "" : "s", js(task, "title"));
    else if (!g->out.len)
        say(g, "\"%s\" has no pending reminders; nothing changed.", js(task, "title"));
    remember(g, js(task, "id"));
}

static void reminder_lines(struct eng *g, json_t *items, const char *title)
{
    size_t i, shown = 0;
    json_t *x;
    json_array_foreach(items, i, x)
    {
        if (strcmp(js(x, "state"), "pending") || shown == 10)
            continue;
        char when[48];
        fmt_instant(g, js(x, "fire_at"), when, sizeof when);
        const char *t = title;
        json_t *task = NULL;
        if (!t) {
            task = get_task(g, js(x, "task_id"));
            t = task ? js(task, "title") : "?";
        }
        say(g, "\n%zu. \"%s\" on %s", ++shown, t, *when ? when : "(when it gets a due date)");
        json_decref(task);
    }
}

static void do_list_reminders(struct eng *g, json_t *task)
{
    json_t *l = run(g, "list_reminders",
                    task ? json_pack("{s:s}", "task_id", js(task, "id"))
                         : json_pack("{s:i}", "limit", 10),
                    "I couldn't read the reminders");
    if (!l)
        return;
    json_t *items = json_object_get(l, "items");
    size_t pending = 0, i;
    json_t *x;
    json_array_foreach(items, i, x) pending += !strcmp(js(x, "state"), "pending");
    if (!pending)
        say(g, task ? "\"%s\" has no pending reminders." : "You have no upcoming reminders.",
            task ? js(task, "title") : "");
    else {
        if (task)
            say(g, "Reminders for \"%s\":", js(task, "title"));
        else
            say(g, "Your upcoming reminders:");
        reminder_lines(g, items, task ? js(task, "title") : NULL);
    }
    if (task)
        remember(g, js(task, "id"));
    json_decref(l);
}

static void act(struct eng *g, const struct chat_intent_parse *ip, json_t *task)
{
    switch (ip->intent) {
    case CI_COMPLETE: do_complete(g, task); break;
    case CI_REOPEN: do_reopen(g, task); break;
    case CI_DELETE: do_delete(g, task); break;
    case CI_STOP_REPEAT: do_stop(g, task); break;
    case CI_RENAME: do_rename(g, task, ip->arg); break;
    case CI_PRIORITY: do_priority(g, task, ip->priority); break;
    case CI_TAG: do_tag(g, task, ip->arg); break;
    case CI_MOVE: do_move(g, task, ip->arg); break;
    case CI_REMIND: do_remind(g, task, ip->arg); break;
    case CI_CANCEL_REMINDER: do_cancel_reminders(g, task); break;
    case CI_LIST_REMINDERS: do_list_reminders(g, task); break;
    default: break;
    }
}

/* ---- add ---- */

static void do_add(struct eng *g, const char *text, int remind_at_due)
{
    struct nl_result *r = calloc(1, sizeof *r);
    if (!r) {
        say(g, "Something went wrong (out of memory).");
        return;
    }
    if (strlen(text) >= NL_TEXT_MAX) {
        say(g, "That is too long for one task; keep it under %d characters.", NL_TEXT_MAX);
        free(r);
        return;
    }
    if (!parse_nl(g, text, r) || !r->title[0]) {
        say(g, "What should the task be called?");
        free(r);
        return;
    }
    json_t *args = json_pack("{s:s}", "title", r->title);
    char due[20];
    if (r->has_due) {
        local_str(&r->due, due);
        json_object_set_new(args, "due", json_string(due));
    }
    if (r->priority != PRIO_NONE)
        json_object_set_new(args, "priority", json_string(task_priority_name(r->priority)));
    if (r->ntags) {
        json_t *tags = json_array();
        for (size_t i = 0; i < r->ntags; i++)
            json_array_append_new(tags, json_string(r->tags[i]));
        json_object_set_new(args, "tags", tags);
    }
    if (r->has_rrule)
        json_object_set_new(args, "recurrence",
                            json_pack("{s:s,s:s}", "rrule", r->rrule, "recur_from",
                                      r->recur_from == RECUR_COMPLETION ? "completion" : "due"));
    json_t *t = run(g, "add_task", args, "I couldn't add that");
    if (!t) {
        free(r);
        return;
    }
    say(g, "Added ");
    task_line(g, t);
    if (r->has_rrule)
        say(g, ", repeating (%s)", r->rrule);
    remember(g, js(t, "id"));
    size_t nrem = r->nreminders;
    if (!nrem && remind_at_due && r->has_due) {
        nrem = 1;
        r->reminders[0].is_at = false;
        r->reminders[0].offset_minutes = 0;
    }
    for (size_t i = 0; i < nrem; i++) {
        json_t *a;
        if (r->reminders[i].is_at) {
            char s[20];
            local_str(&r->reminders[i].at, s);
            a = json_pack("{s:s,s:s}", "task_id", js(t, "id"), "at", s);
        } else {
            a = json_pack("{s:s,s:i}", "task_id", js(t, "id"), "offset_minutes",
                          r->reminders[i].offset_minutes);
        }
        say(g, i ? "" : ".");
        json_t *rem = run(g, "set_reminder", a, " But I couldn't set the reminder");
        if (rem) {
            char when[48];
            fmt_instant(g, js(rem, "fire_at"), when, sizeof when);
            say(g, " I'll remind you on %s.", *when ? when : "(when it gets a due date)");
            json_decref(rem);
        }
    }
    if (!nrem)
        say(g, ".");
    free(r);
    json_decref(t);
}

/* ---- list ---- */

static void add_days(struct local_dt *t, int days)
{
    int64_t z = days_from_civil(t->year, t->month, t->day) + days;
    civil_from_days(z, &t->year, &t->month, &t->day);
}

static void date_str(const struct local_dt *t, char out[20])
{
    struct local_dt d = *t;
    d.has_time = false;
    time_fmt_local(&d, out);
}

static bool has_word(const char *l, const char *w)
{
    size_t n = strlen(w);
    for (const char *p = strstr(l, w); p; p = strstr(p + 1, w))
        if ((p == l || !isalnum((unsigned char)p[-1])) && !isalnum((unsigned char)p[n]))
            return true;
    return false;
}

static void do_list(struct eng *g, const char *text)
{
    char l[CHAT_MESSAGE_MAX + 1];
    lower(text, l, sizeof l);
    json_t *args = json_object();
    struct buf desc = BUF_INIT, when = BUF_INIT;
    /* status */
    bool done = (has_word(l, "done") || has_word(l, "completed") || has_word(l, "finished")) &&
                !has_word(l, "not");
    json_object_set_new(args, "status", done ? json_pack("[s]", "done")
                                             : json_pack("[s,s]", "todo", "in_progress"));
    /* priority */
    if (has_word(l, "urgent")) {
        json_object_set_new(args, "priority", json_pack("[s]", "urgent"));
        buf_puts(&desc, "urgent ");
    } else if (strstr(l, "high priority") || strstr(l, "high-priority") ||
               has_word(l, "important")) {
        json_object_set_new(args, "priority", json_pack("[s,s]", "high", "urgent"));
        buf_puts(&desc, "high-priority ");
    } else if (strstr(l, "low priority") || strstr(l, "low-priority")) {
        json_object_set_new(args, "priority", json_pack("[s]", "low"));
        buf_puts(&desc, "low-priority ");
    }
    /* tags */
    json_t *tags = json_array();
    for (const char *p = strchr(l, '#'); p; p = strchr(p + 1, '#')) {
        char w[TAG_NAME_MAX + 1];
        size_t k = 0;
        for (const char *q = p + 1; *q && (isalnum((unsigned char)*q) || *q == '-' || *q == '_' ||
                                           (unsigned char)*q >= 0x80);
             q++)
            if (k < TAG_NAME_MAX)
                w[k++] = *q;
        w[k] = 0;
        if (k && json_array_size(tags) < TASK_TAGS_MAX) {
            json_array_append_new(tags, json_string(w));
            buf_printf(&desc, "#%s ", w);
        }
    }
    if (json_array_size(tags))
        json_object_set_new(args, "tags", tags);
    else
        json_decref(tags);
    /* when */
    struct local_dt a = g->now, b = g->now;
    bool range = false;
    int wd = weekday(g->now.year, g->now.month, g->now.day);
    if (has_word(l, "overdue") || strstr(l, "late") || strstr(l, "past due")) {
        json_object_set_new(args, "overdue", json_true());
        buf_puts(&desc, "overdue ");
    } else if (has_word(l, "today") || has_word(l, "tonight")) {
        range = true;
        buf_puts(&when, " due today");
    } else if (has_word(l, "tomorrow")) {
        add_days(&a, 1);
        b = a;
        range = true;
        buf_puts(&when, " due tomorrow");
    } else if (strstr(l, "next week")) {
        add_days(&a, 7 - wd);
        b = a;
        add_days(&b, 6);
        range = true;
        buf_puts(&when, " due next week");
    } else if (strstr(l, "weekend")) {
        add_days(&a, 5 - wd);
        b = a;
        add_days(&b, 1);
        range = true;
        buf_puts(&when, " due this weekend");
    } else if (strstr(l, "this week") || strstr(l, "the week")) {
        add_days(&a, -wd);
        b = a;
        add_days(&b, 6);
        range = true;
        buf_puts(&when, " due this week");
    } else if (strstr(l, "next month")) {
        a.month = g->now.month == 12 ? 1 : g->now.month + 1;
        a.year = g->now.month == 12 ? g->now.year + 1 : g->now.year;
        a.day = 1;
        b = a;
        b.day = days_in_month(b.year, b.month);
        range = true;
        buf_puts(&when, " due next month");
    } else if (strstr(l, "this month")) {
        a.day = 1;
        b.day = days_in_month(b.year, b.month);
        range = true;
        buf_puts(&when, " due this month");
    } else if (strstr(l, "no due date") || strstr(l, "without a due date") ||
               strstr(l, "undated")) {
        json_object_set_new(args, "has_due", json_false());
        buf_puts(&when, " without a due date");
    }
    if (range) {
        char s[20];
        date_str(&a, s);
        json_object_set_new(args, "due_after", json_string(s));
        date_str(&b, s);
        json_object_set_new(args, "due_before", json_string(s));
    }
    if (has_word(l, "repeating") || has_word(l, "recurring")) {
        json_object_set_new(args, "recurring", json_true());
        buf_puts(&when, " that repeat");
    }
    /* search words */
    static const char *const intro[] = {"search for ", "search ", "find ", "look for ",
                                        "about ", "mentioning ", "called ", "named ",
                                        "containing ", "matching ", NULL};
    for (int i = 0; intro[i]; i++) {
        const char *p = strstr(l, intro[i]);
        if (!p)
            continue;
        p += strlen(intro[i]);
        char q[FILTER_Q_MAX + 1];
        size_t k = 0;
        char w[64][48];
        size_t nw = words_of(p, w, 64);
        static const char *const skip[] = {"my", "the", "all", "tasks", "task", "todos",
                                           "urgent", "important", "high", "low", "priority",
                                           "today", "tomorrow", "this", "next", "week",
                                           "month", "weekend", "overdue", "due", "done",
                                           "completed", "open", "a", "an", "any", "with",
                                           "that", "are", "is", NULL};
        for (size_t j = 0; j < nw; j++) {
            if (one_of(w[j], skip))
                continue;
            /* a #tag word was taken as a tag filter */
            char hash[50];
            snprintf(hash, sizeof hash, "#%.47s", w[j]);
            if (strstr(l, hash))
                continue;
            int m = snprintf(q + k, sizeof q - k, "%s%s", k ? " " : "", w[j]);
            if (m < 0 || (size_t)m >= sizeof q - k)
                break;
            k += (size_t)m;
        }
        q[k] = 0;
        if (k) {
            json_object_set_new(args, "q", json_string(q));
            buf_printf(&when, " matching \"%s\"", q);
        }
        break;
    }
    json_object_set_new(args, "limit", json_integer(LIST_SHOW_MAX));
    json_t *res = run(g, "list_tasks", args, "I couldn't list your tasks");
    if (res) {
        json_t *items = json_object_get(res, "items");
        size_t n = json_array_size(items);
        const char *noun = done ? (n == 1 ? "completed task" : "completed tasks")
                                : (n == 1 ? "task" : "tasks");
        if (!n) {
            say(g, "No %s%s%s.", desc.data, done ? "completed tasks" : "tasks", when.data);
        } else {
            say(g, "%s%zu %s%s%s:",
                json_is_string(json_object_get(res, "next_cursor")) ? "More than " : "", n,
                desc.data, noun, when.data);
            json_t *ids = json_array();
            size_t i;
            json_t *x;
            json_array_foreach(items, i, x)
            {
                say(g, "\n%zu. ", i + 1);
                task_line(g, x);
                if (json_is_true(json_object_get(x, "overdue")))
                    say(g, " (overdue)");
                json_array_append_new(ids, json_string(js(x, "id")));
            }
            json_object_set_new(g->t->state, "listed", ids);
            if (n == 1)
                remember(g, js(json_array_get(items, 0), "id"));
        }
        json_decref(res);
    }
    buf_free(&desc);
    buf_free(&when);
}

/* ---- the turn ---- */

static const char help_text[] =
    "I can manage your tasks. Try:\n"
    "- \"add pay rent every month on the 1st at 9am #home\"\n"
    "- \"what's due this week?\", \"show my urgent #work tasks\", \"anything overdue?\"\n"
    "- \"done with buy milk\", \"move the dentist to friday at 3pm\", \"rename X to Y\"\n"
    "- \"make it high priority\", \"tag it #home\", \"delete the old report\"\n"
    "- \"remind me about the report tomorrow at 9\", \"list my reminders\"\n"
    "- \"stop repeating the rent task\"";

/* MOVE and REMIND name the task inside a phrase with a time: the parser's title. */
static void target_from_phrase(struct eng *g, struct chat_intent_parse *ip)
{
    struct nl_result *r = calloc(1, sizeof *r);
    if (r && parse_nl(g, ip->arg, r))
        snprintf(ip->target, sizeof ip->target, "%s", r->title);
    else
        snprintf(ip->target, sizeof ip->target, "%s", ip->arg);
    trim_ref(ip->target);
    free(r);
}

static void dispatch(struct eng *g, struct chat_intent_parse *ip, const char *clean)
{
    switch (ip->intent) {
    case CI_HELP: say(g, "%s", help_text); return;
    case CI_GREETING:
        say(g, "Hi! I can add, find, change and complete your tasks. Say \"help\" for examples.");
        return;
    case CI_THANKS: say(g, "You're welcome!"); return;
    case CI_ADD: do_add(g, ip->arg, 0); return;
    case CI_LIST: do_list(g, ip->arg); return;
    case CI_LIST_REMINDERS:
        if (!ip->target[0]) {
            do_list_reminders(g, NULL);
            return;
        }
        break;
    case CI_UNKNOWN: {
        /* "the second one" with no question pending: pick from the last list. */
        if (chat_choice_of(clean, CANDIDATES_MAX > LIST_SHOW_MAX ? CANDIDATES_MAX
                                                                 : LIST_SHOW_MAX) >= 0) {
            json_t *listed = json_object_get(g->t->state, "listed");
            int k = chat_choice_of(clean, json_array_size(listed));
            json_t *task = k >= 0 ? get_task(g, json_string_value(json_array_get(
                                                       listed, (size_t)k)))
                                  : NULL;
            if (task) {
                say(g, "OK, \"%s\". What should I do with it?", js(task, "title"));
                remember(g, js(task, "id"));
                json_decref(task);
            } else if (!g->out.len) {
                say(g, "I have no list to pick that from. Ask me to list tasks first.");
            }
            return;
        }
        /* A bare task phrase with a time, priority or tag: add it. */
        struct nl_result *r = calloc(1, sizeof *r);
        bool taskish = r && parse_nl(g, clean, r) && r->title[0] &&
                       (r->has_due || r->has_rrule || r->ntags || r->priority != PRIO_NONE);
        free(r);
        if (taskish)
            do_add(g, clean, 0);
        else
            say(g, "Sorry, I didn't get that. Say \"help\" to see what I can do.");
        return;
    }
    default: break;
    }
    if (ip->intent == CI_MOVE || ip->intent == CI_REMIND)
        target_from_phrase(g, ip);
    bool is_remind_to = ip->intent == CI_REMIND && ip->priority == 1;
    if (is_remind_to && ip->target[0] && !chat_is_pronoun(ip->target)) {
        /* "remind me to call mom at 5": an existing task, or a new one. */
        char q[FILTER_Q_MAX + 1];
        json_t *res = NULL;
        if (content_query(ip->target, q)) {
            res = run(g, "list_tasks",
                      json_pack("{s:[s,s],s:s,s:i}", "status", "todo", "in_progress", "q", q,
                                "limit", 50),
                      "I couldn't look up your tasks");
            if (!res)
                return;
        }
        bool any = false;
        size_t i;
        json_t *x;
        json_array_foreach(json_object_get(res, "items"), i, x) if (chat_match_score(
            ip->target, js(x, "title")) >= 100) any = true;
        json_decref(res);
        if (!any) {
            do_add(g, ip->arg, 1);
            return;
        }
    }
    json_t *task = find_task(g, ip, ip->intent == CI_REOPEN);
    if (!task)
        return;
    act(g, ip, task);
    json_decref(task);
}

int chat_builtin(struct chat_turn *t, const char *message, char **reply)
{
    struct eng g = {t, BUF_INIT, {0}, t->env->ctx->timezone};
    if (tz_utc_to_local(g.zone, t->now_ms, &g.now))
        tz_utc_to_local("UTC", t->now_ms, &g.now);
    g.now.has_time = true;
    char *clean = malloc(strlen(message) + 1);
    struct chat_intent_parse *ip = calloc(1, sizeof *ip);
    if (!clean || !ip) {
        free(clean);
        free(ip);
        return TOCK_ENOMEM;
    }
    chat_normalize(message, clean, strlen(message) + 1);

    json_t *pending = json_incref(json_object_get(t->state, "pending"));
    json_object_del(t->state, "pending");
    bool handled = false;
    if (json_is_object(pending)) {
        json_t *ids = json_object_get(pending, "ids");
        int k = chat_choice_of(clean, json_array_size(ids));
        char l[32];
        lower(clean, l, sizeof l);
        static const char *const yes[] = {"yes", "yeah", "yep", "sure", "ok", "okay",
                                          "yes please", "that one", "correct", NULL};
        if (k < 0 && json_array_size(ids) == 1 && strlen(clean) < sizeof l && one_of(l, yes))
            k = 0;
        static const char *const nevermind[] = {"none", "neither", "never mind", "nevermind",
                                                "cancel", "no", "none of them", "forget it",
                                                NULL};
        if (k >= 0) {
            ip->intent = (int)json_integer_value(json_object_get(pending, "intent"));
            snprintf(ip->target, sizeof ip->target, "%s", js(pending, "target"));
            snprintf(ip->arg, sizeof ip->arg, "%s", js(pending, "arg"));
            ip->priority = (int)json_integer_value(json_object_get(pending, "priority"));
            json_t *task = get_task(&g, json_string_value(json_array_get(ids, (size_t)k)));
            if (task) {
                act(&g, ip, task);
                json_decref(task);
            }
            handled = true;
        } else if (strlen(clean) < sizeof l && one_of(l, nevermind)) {
            say(&g, "OK, nothing changed.");
            handled = true;
        }
    }
    json_decref(pending);
    if (!handled) {
        chat_intent_of(clean, ip);
        dispatch(&g, ip, clean);
    }
    if (!g.out.len)
        say(&g, "Done.");
    free(clean);
    free(ip);
    *reply = buf_detach(&g.out, NULL);
    return *reply ? 0 : TOCK_ENOMEM;
}
