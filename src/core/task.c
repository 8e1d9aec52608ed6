/*
 * task.c — task validation, partial updates and the task JSON shape. The rules
 * here are the only place that decides what a valid task is; the API layer only
 * checks JSON types, the store only persists.
 */
#include "core/task.h"
#include "core/rrule.h"
#include "core/buf.h"

#include <ctype.h>
#include <inttypes.h>
#include <libical/ical.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[] = {"todo", "in_progress", "done"};
static const char *const prio_names[] = {"none", "low", "medium", "high", "urgent"};

const char *task_status_name(int s)
{
    return s >= 0 && s <= 2 ? status_names[s] : "todo";
}

const char *task_priority_name(int p)
{
    return p >= 0 && p <= 4 ? prio_names[p] : "none";
}

int task_status_parse(const char *s)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(s, status_names[i]) == 0)
            return i;
    return -1;
}

int task_priority_parse(const char *s)
{
    for (int i = 0; i < 5; i++)
        if (strcmp(s, prio_names[i]) == 0)
            return i;
    return -1;
}

void task_release(struct task *t)
{
    free(t->title);
    free(t->description);
    for (size_t i = 0; i < t->ntags; i++)
        free(t->tags[i]);
    free(t->tags);
    free(t->rrule);
    memset(t, 0, sizeof *t);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

int task_copy(struct task *dst, const struct task *src)
{
    *dst = *src;
    dst->title = dup_or_null(src->title);
    dst->description = dup_or_null(src->description);
    dst->rrule = dup_or_null(src->rrule);
    dst->tags = NULL;
    dst->ntags = 0;
    if (src->ntags) {
        dst->tags = calloc(src->ntags, sizeof *dst->tags);
        if (!dst->tags)
            goto oom;
        for (size_t i = 0; i < src->ntags; i++) {
            dst->tags[i] = strdup(src->tags[i]);
            if (!dst->tags[i])
                goto oom;
            dst->ntags++;
        }
    }
    if ((src->title && !dst->title) || (src->description && !dst->description) ||
        (src->rrule && !dst->rrule))
        goto oom;
    return 0;
oom:
    task_release(dst);
    return TOCK_ENOMEM;
}

/*
 * Counts code points of a UTF-8 string, rejecting invalid sequences, overlongs,
 * surrogates and control characters (newline and tab allowed when asked).
 * Returns the count, or -1.
 */
static long utf8_count(const char *s, bool allow_newlines)
{
    const unsigned char *p = (const unsigned char *)s;
    long n = 0;
    while (*p) {
        unsigned c = *p;
        unsigned cp;
        int len;
        if (c < 0x80) {
            if ((c < 0x20 && !(allow_newlines && (c == '\n' || c == '\t' || c == '\r'))) ||
                c == 0x7f)
                return -1;
            p++;
            n++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            cp = c & 0x1f;
            len = 2;
        } else if ((c & 0xf0) == 0xe0) {
            cp = c & 0x0f;
            len = 3;
        } else if ((c & 0xf8) == 0xf0) {
            cp = c & 0x07;
            len = 4;
        } else {
            return -1;
        }
        for (int i = 1; i < len; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return -1;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
            return -1;
        p += len;
        n++;
    }
    return n;
}

int text_check(const char *s, size_t min_chars, size_t max_chars, bool allow_newlines)
{
    long n = utf8_count(s, allow_newlines);
    if (n < 0 || (size_t)n < min_chars || (size_t)n > max_chars)
        return TOCK_EINVAL;
    return 0;
}

int tag_name_normalize(const char *in, char out[TAG_NAME_MAX + 1])
{
    size_t n = strlen(in);
    if (n == 0 || n > TAG_NAME_MAX)
        return TOCK_EINVAL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (!(isalnum(c) || c == '-' || c == '_') || c >= 0x80)
            return TOCK_EINVAL;
        out[i] = (char)tolower(c);
    }
    out[n] = 0;
    return 0;
}

static pthread_mutex_t ical_lock = PTHREAD_MUTEX_INITIALIZER;

int rrule_validate(const char *rrule)
{
    if (strlen(rrule) == 0 || strlen(rrule) > RRULE_MAX || text_check(rrule, 1, RRULE_MAX, false))
        return TOCK_EINVAL;
    /* Our own strict pass first (libical is lenient); it also refuses "RRULE:". */
    if (rrule_check(rrule))
        return TOCK_EINVAL;
    pthread_mutex_lock(&ical_lock);
    icalerror_clear_errno();
    icalerror_set_errors_are_fatal(0);
    struct icalrecurrencetype r = icalrecurrencetype_from_string(rrule);
    int bad = r.freq == ICAL_NO_RECURRENCE || icalerrno != ICAL_NO_ERROR;
    icalerror_clear_errno();
    pthread_mutex_unlock(&ical_lock);
    return bad ? TOCK_EINVAL : 0;
}

int due_parse(const char *s, const char *zone, struct local_dt *out)
{
    if (time_parse_local(s, out) == 0)
        return 0;
    int64_t ms;
    if (time_parse_rfc3339(s, &ms) || ms % 60000 != 0)
        return TOCK_EINVAL;
    if (tz_utc_to_local(zone, ms, out))
        return TOCK_EINVAL;
    out->second = 0;
    out->has_time = true;
    return 0;
}

int due_moment(const struct local_dt *lt, const char *zone, int64_t *ms)
{
    struct local_dt t = *lt;
    if (!t.has_time) {
        t.hour = 23;
        t.minute = 59;
        t.second = 59;
    }
    return tz_local_to_utc(zone, &t, ms);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int set_tags(struct task *t, const char *const *tags, size_t n, struct tock_error *e)
{
    if (n > TASK_TAGS_MAX)
        return tock_fail(e, TOCK_EINVAL, "tags", "at most %d tags per task", TASK_TAGS_MAX);
    char **v = n ? calloc(n, sizeof *v) : NULL;
    if (n && !v)
        return TOCK_ENOMEM;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        char norm[TAG_NAME_MAX + 1], field[32];
        if (tag_name_normalize(tags[i], norm)) {
            for (size_t j = 0; j < m; j++)
                free(v[j]);
            free(v);
            snprintf(field, sizeof field, "tags[%zu]", i);
            return tock_fail(e, TOCK_EINVAL, field,
                             "a tag is 1-64 letters, digits, '-' or '_'");
        }
        v[m] = strdup(norm);
        if (!v[m]) {
            for (size_t j = 0; j < m; j++)
                free(v[j]);
            free(v);
            return TOCK_ENOMEM;
        }
        m++;
    }
    if (m)
        qsort(v, m, sizeof *v, cmp_str);
    size_t u = 0;
    for (size_t i = 0; i < m; i++) {
        if (u && strcmp(v[u - 1], v[i]) == 0) {
            free(v[i]);
            continue;
        }
        v[u++] = v[i];
    }
    for (size_t i = 0; i < t->ntags; i++)
        free(t->tags[i]);
    free(t->tags);
    t->tags = v;
    t->ntags = u;
    return 0;
}

static int replace_str(char **dst, const char *src)
{
    char *p = src ? strdup(src) : NULL;
    if (src && !p)
        return TOCK_ENOMEM;
    free(*dst);
    *dst = p;
    return 0;
}

/* Trims ASCII white space around s into a new string. */
static char *trimmed(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    return strndup(s, n);
}

int task_apply(struct task *t, const struct task_input *in, const char *user_tz,
               struct tock_error *e)
{
    int rc;
    char due_before[sizeof t->due_local], due_given[sizeof t->due_local];
    snprintf(due_before, sizeof due_before, "%s", t->has_due ? t->due_local : "");
    if (!t->timezone[0])
        snprintf(t->timezone, sizeof t->timezone, "%s", user_tz);
    if (!t->description && (rc = replace_str(&t->description, "")))
        return rc;
    if (in->set & TI_TITLE) {
        char *title = trimmed(in->title);
        if (!title)
            return TOCK_ENOMEM;
        if (text_check(title, 1, TASK_TITLE_MAX, false)) {
            free(title);
            return tock_fail(e, TOCK_EINVAL, "title",
                             "title must be 1-500 characters without control characters");
        }
        free(t->title);
        t->title = title;
    }
    if (!t->title)
        return tock_fail(e, TOCK_EINVAL, "title", "title is required");
    if (in->set & TI_DESC) {
        const char *d = in->description ? in->description : "";
        if (text_check(d, 0, TASK_DESC_MAX, true))
            return tock_fail(e, TOCK_EINVAL, "description",
                             "description must be at most 20000 characters of text");
        if ((rc = replace_str(&t->description, d)))
            return rc;
    }
    if (in->set & TI_STATUS)
        t->status = in->status;
    if (in->set & TI_PRIORITY)
        t->priority = in->priority;
    if ((in->set & TI_TAGS) && (rc = set_tags(t, in->tags, in->ntags, e)))
        return rc;
    if (in->set & TI_TZ) {
        if (!tz_valid(in->timezone))
            return tock_fail(e, TOCK_EINVAL, "timezone", "unknown time zone (use an IANA name)");
        snprintf(t->timezone, sizeof t->timezone, "%s", in->timezone);
    }
    if (in->set & TI_DUE) {
        if (!in->due) {
            t->has_due = t->due_has_time = false;
            t->due_local[0] = 0;
            t->due_at = 0;
        } else {
            struct local_dt lt;
            if (strlen(in->due) > 40 || due_parse(in->due, t->timezone, &lt))
                return tock_fail(e, TOCK_EINVAL, "due",
                                 "due must be YYYY-MM-DD, YYYY-MM-DDTHH:MM or RFC 3339");
            if (lt.year < TZ_YEAR_MIN + 1 || lt.year > TZ_YEAR_MAX - 1)
                return tock_fail(e, TOCK_EINVAL, "due", "due year must be 1901-2499");
            t->has_due = true;
            t->due_has_time = lt.has_time;
            time_fmt_local(&lt, t->due_local);
        }
    }
    /* The due as given, before a DST gap moves it: a series is anchored there. */
    snprintf(due_given, sizeof due_given, "%s", t->has_due ? t->due_local : "");
    if (t->has_due) {
        /* Recomputed on every apply: a zone change keeps the local due. */
        struct local_dt lt;
        if (time_parse_local(t->due_local, &lt) || due_moment(&lt, t->timezone, &t->due_at))
            return tock_fail(e, TOCK_EINVAL, "due", "due cannot be placed in the time zone");
        if (lt.has_time) {
            /* A wall time in a DST gap does not exist: keep the moved one (02:30 -> 03:30). */
            struct local_dt real;
            if (tz_utc_to_local(t->timezone, t->due_at, &real) == 0 &&
                (real.hour != lt.hour || real.minute != lt.minute || real.day != lt.day)) {
                real.has_time = true;
                time_fmt_local(&real, t->due_local);
            }
        }
    }
    if (in->set & TI_RECUR) {
        if (in->rrule && rrule_validate(in->rrule))
            return tock_fail(e, TOCK_EINVAL, "recurrence.rrule",
                             "not a valid RFC 5545 RRULE (e.g. FREQ=WEEKLY;BYDAY=MO)");
        bool rule_changed = in->rrule && (!t->rrule || strcmp(t->rrule, in->rrule) != 0);
        if (rule_changed)
            t->series_start[0] = 0; /* re-anchored below */
        if ((rc = replace_str(&t->rrule, in->rrule)))
            return rc;
        t->recur_from = in->recur_from;
    }
    if (t->rrule && !t->has_due)
        return tock_fail(e, TOCK_EINVAL, (in->set & TI_RECUR) ? "recurrence" : "due",
                         "a recurring task needs a due date");
    /* The series start: re-anchored when the rule or the due changes (docs/recurrence.md). */
    if (!t->rrule)
        t->series_start[0] = 0;
    else if (!t->series_start[0] || strcmp(due_given, due_before) != 0)
        snprintf(t->series_start, sizeof t->series_start, "%s", due_given);
    return 0;
}

char *task_tags_join(const struct task *t)
{
    size_t n = 1;
    for (size_t i = 0; i < t->ntags; i++)
        n += strlen(t->tags[i]) + 1;
    char *out = malloc(n), *p = out;
    if (!out)
        return NULL;
    *p = 0;
    for (size_t i = 0; i < t->ntags; i++) {
        size_t l = strlen(t->tags[i]);
        if (i)
            *p++ = ',';
        memcpy(p, t->tags[i], l);
        p += l;
        *p = 0;
    }
    return out;
}

int task_tags_parse(struct task *t, const char *text)
{
    if (!*text)
        return 0;
    size_t n = 1;
    for (const char *p = text; *p; p++)
        n += *p == ',';
    char **v = calloc(n, sizeof *v);
    if (!v)
        return TOCK_ENOMEM;
    size_t m = 0;
    for (const char *p = text; *p;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (!(v[m] = strndup(p, len))) {
            for (size_t i = 0; i < m; i++)
                free(v[i]);
            free(v);
            return TOCK_ENOMEM;
        }
        m++;
        p += len + (c ? 1 : 0);
    }
    qsort(v, m, sizeof *v, cmp_str);
    for (size_t i = 0; i < t->ntags; i++)
        free(t->tags[i]);
    free(t->tags);
    t->tags = v;
    t->ntags = m;
    return 0;
}

bool task_overdue(const struct task *t, int64_t now_ms)
{
    return t->has_due && t->status != TASK_DONE && t->due_at < now_ms;
}

void id_str(int64_t id, char out[24])
{
    char tmp[24];
    int n = 0;
    uint64_t v = id < 0 ? (uint64_t)(-(id + 1)) + 1 : (uint64_t)id;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    int o = 0;
    if (id < 0)
        out[o++] = '-';
    while (n)
        out[o++] = tmp[--n];
    out[o] = 0;
}

int64_t id_parse(const char *s)
{
    /* Canonical form only: "007" is not the id 7 (ids are opaque strings). */
    if (!s || !*s || strlen(s) > 18 || s[0] == '0')
        return 0;
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        v = v * 10 + (*p - '0');
    }
    return v;
}

static json_t *time_or_null(int64_t ms, bool present)
{
    if (!present)
        return json_null();
    char b[32];
    time_fmt_rfc3339(ms, b);
    return json_string(b);
}

static json_t *id_json(int64_t id)
{
    char b[24];
    id_str(id, b);
    return json_string(b);
}

static json_t *tags_json(const struct task *t)
{
    json_t *a = json_array();
    for (size_t i = 0; i < t->ntags; i++)
        json_array_append_new(a, json_string(t->tags[i]));
    return a;
}

static json_t *recurrence_json(const struct task *t)
{
    if (!t->rrule)
        return json_null();
    return json_pack("{s:s,s:s}", "rrule", t->rrule, "recur_from",
                     t->recur_from == RECUR_COMPLETION ? "completion" : "due");
}

json_t *task_to_json(const struct task *t, int64_t now_ms)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", id_json(t->id));
    json_object_set_new(o, "title", json_string(t->title ? t->title : ""));
    json_object_set_new(o, "description", json_string(t->description ? t->description : ""));
    json_object_set_new(o, "status", json_string(task_status_name(t->status)));
    json_object_set_new(o, "priority", json_string(task_priority_name(t->priority)));
    json_object_set_new(o, "tags", tags_json(t));
    json_object_set_new(o, "due", t->has_due ? json_string(t->due_local) : json_null());
    json_object_set_new(o, "timezone", json_string(t->timezone));
    json_object_set_new(o, "due_at", time_or_null(t->due_at, t->has_due));
    json_object_set_new(o, "overdue", json_boolean(task_overdue(t, now_ms)));
    json_object_set_new(o, "recurrence", recurrence_json(t));
    json_object_set_new(o, "series_id", id_json(t->series_id ? t->series_id : t->id));
    json_object_set_new(o, "occurrence", json_integer(t->occurrence ? t->occurrence : 1));
    json_object_set_new(o, "created_at", time_or_null(t->created_at, true));
    json_object_set_new(o, "updated_at", time_or_null(t->updated_at, true));
    json_object_set_new(o, "completed_at", time_or_null(t->completed_at, t->completed_at != 0));
    json_object_set_new(o, "version", json_integer(t->version));
    return o;
}

static int put_time(struct buf *b, const char *key, int64_t ms, bool present)
{
    int rc = buf_puts(b, key);
    if (!present)
        return rc | buf_puts(b, "null");
    char ts[32];
    time_fmt_rfc3339(ms, ts);
    rc |= buf_append(b, "\"", 1);
    rc |= buf_append(b, ts, 24);
    return rc | buf_append(b, "\"", 1);
}

int task_write_json(struct buf *b, const struct task *t, int64_t now_ms)
{
    char id[24];
    size_t before = b->len;
    int rc = 0;
    id_str(t->id, id);
    rc |= buf_puts(b, "{\"id\":\"");
    rc |= buf_puts(b, id);
    rc |= buf_puts(b, "\",\"title\":");
    rc |= buf_json_str(b, t->title ? t->title : "");
    rc |= buf_puts(b, ",\"description\":");
    rc |= buf_json_str(b, t->description ? t->description : "");
    rc |= buf_puts(b, ",\"status\":\"");
    rc |= buf_puts(b, task_status_name(t->status));
    rc |= buf_puts(b, "\",\"priority\":\"");
    rc |= buf_puts(b, task_priority_name(t->priority));
    rc |= buf_puts(b, "\",\"tags\":[");
    for (size_t i = 0; i < t->ntags; i++) {
        if (i)
            rc |= buf_append(b, ",", 1);
        rc |= buf_json_str(b, t->tags[i]);
    }
    rc |= buf_puts(b, "],\"due\":");
    if (t->has_due)
        rc |= buf_json_str(b, t->due_local);
    else
        rc |= buf_puts(b, "null");
    rc |= buf_puts(b, ",\"timezone\":");
    rc |= buf_json_str(b, t->timezone);
    rc |= put_time(b, ",\"due_at\":", t->due_at, t->has_due);
    rc |= buf_puts(b, task_overdue(t, now_ms) ? ",\"overdue\":true" : ",\"overdue\":false");
    rc |= buf_puts(b, ",\"recurrence\":");
    if (t->rrule) {
        rc |= buf_puts(b, "{\"rrule\":");
        rc |= buf_json_str(b, t->rrule);
        rc |= buf_puts(b, t->recur_from == RECUR_COMPLETION ? ",\"recur_from\":\"completion\"}"
                                                      : ",\"recur_from\":\"due\"}");
    } else {
        rc |= buf_puts(b, "null");
    }
    id_str(t->series_id ? t->series_id : t->id, id);
    rc |= buf_puts(b, ",\"series_id\":\"");
    rc |= buf_puts(b, id);
    rc |= buf_puts(b, "\",\"occurrence\":");
    id_str(t->occurrence ? t->occurrence : 1, id);
    rc |= buf_puts(b, id);
    rc |= put_time(b, ",\"created_at\":", t->created_at, true);
    rc |= put_time(b, ",\"updated_at\":", t->updated_at, true);
    rc |= put_time(b, ",\"completed_at\":", t->completed_at, t->completed_at != 0);
    rc |= buf_puts(b, ",\"version\":");
    id_str(t->version, id);
    rc |= buf_puts(b, id);
    rc |= buf_puts(b, "}");
    if (rc) {
        /* All or nothing: drop whatever part was written. */
        b->len = before;
        if (b->alloc)
            b->data[before] = 0;
        return TOCK_ELIMIT;
    }
    return 0;
}

static void diff_field(json_t *out, const char *name, json_t *before, json_t *after)
{
    if (json_equal(before, after)) {
        json_decref(before);
        json_decref(after);
        return;
    }
    json_t *c = json_object();
    json_object_set_new(c, "before", before);
    json_object_set_new(c, "after", after);
    json_object_set_new(out, name, c);
}

json_t *task_diff_json(const struct task *b, const struct task *a, int64_t now_ms)
{
    json_t *out = json_object();
    static const char *const fields[] = {"title",    "description", "status",   "priority",
                                         "tags",     "due",         "due_at",   "timezone",
                                         "recurrence", "completed_at"};
    json_t *jb = task_to_json(b, now_ms), *ja = task_to_json(a, now_ms);
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
        diff_field(out, fields[i], json_incref(json_object_get(jb, fields[i])),
                   json_incref(json_object_get(ja, fields[i])));
    json_decref(jb);
    json_decref(ja);
    return out;
}
