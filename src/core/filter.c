/*
 * filter.c — parsing and validation of the task list query, and the opaque
 * keyset cursor: base64url of the JSON ["<sort spec>", [values...], "<id>"].
 * The sort spec inside the cursor must match the request's, so a cursor can't be
 * replayed against a different order.
 */
#include "core/filter.h"

#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const sort_names[] = {"priority", "due_at", "created_at",
                                         "updated_at", "title", "rank"};

void filter_release(struct task_filter *f)
{
    free(f->q);
    free(f->fts_query);
    for (size_t i = 0; i < f->nq_terms; i++)
        free(f->q_terms[i]);
    free(f->q_terms);
    for (size_t i = 0; i < f->ntags; i++)
        free(f->tags[i]);
    free(f->tags);
    for (size_t i = 0; i < FILTER_SORT_MAX; i++)
        free(f->after[i].s);
    memset(f, 0, sizeof *f);
}

static int bool_param(const char *v, int *out)
{
    if (strcmp(v, "true") == 0)
        *out = 1;
    else if (strcmp(v, "false") == 0)
        *out = 0;
    else
        return TOCK_EINVAL;
    return 0;
}

/* Comma list of enum names into a bit mask. */
static int mask_param(const char *v, int (*parse)(const char *), unsigned *mask)
{
    char item[32];
    const char *p = v;
    if (!*v)
        return TOCK_EINVAL;
    while (1) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        if (n == 0 || n >= sizeof item)
            return TOCK_EINVAL;
        memcpy(item, p, n);
        item[n] = 0;
        int x = parse(item);
        if (x < 0)
            return TOCK_EINVAL;
        *mask |= 1u << x;
        if (!c)
            break;
        p = c + 1;
    }
    return 0;
}

/* A bound: local date (whole day), local date-time, or RFC 3339 instant. */
static int bound_param(const char *v, const char *tz, bool upper, int64_t *out)
{
    struct local_dt lt;
    if (strlen(v) > 40)
        return TOCK_EINVAL;
    if (time_parse_local(v, &lt) == 0) {
        if (lt.year <= TZ_YEAR_MIN || lt.year >= TZ_YEAR_MAX)
            return TOCK_EINVAL;
        if (!lt.has_time && upper) {
            /* The whole day counts: up to the last millisecond before the next day. */
            int64_t next = days_from_civil(lt.year, lt.month, lt.day) + 1;
            civil_from_days(next, &lt.year, &lt.month, &lt.day);
            if (tz_local_to_utc(tz, &lt, out))
                return TOCK_EINVAL;
            *out -= 1;
            return 0;
        }
        return tz_local_to_utc(tz, &lt, out) ? TOCK_EINVAL : 0;
    }
    if (time_parse_rfc3339(v, out))
        return TOCK_EINVAL;
    /* The same year range as local values, so every bound means the same thing. */
    struct local_dt u;
    local_from_naive_seconds(*out / 1000, &u);
    return u.year > TZ_YEAR_MIN && u.year < TZ_YEAR_MAX ? 0 : TOCK_EINVAL;
}

int filter_bound_parse(const char *v, const char *tz, bool upper, int64_t *out)
{
    return bound_param(v, tz, upper, out);
}

static int is_word_byte(unsigned char c)
{
    return isalnum(c) || c >= 0x80;
}

static int q_param(struct task_filter *f, const char *v)
{
    if (text_check(v, 0, FILTER_Q_MAX, false))
        return TOCK_EINVAL;
    f->q = strdup(v);
    if (!f->q)
        return TOCK_ENOMEM;
    /* Words are runs of letters/digits (any non-ASCII byte counts as a letter). */
    const unsigned char *p = (const unsigned char *)v;
    while (*p) {
        while (*p && !is_word_byte(*p))
            p++;
        const unsigned char *s = p;
        while (*p && is_word_byte(*p))
            p++;
        if (p > s && f->nq_terms < 32) {
            char **nt = realloc(f->q_terms, (f->nq_terms + 1) * sizeof *nt);
            if (!nt)
                return TOCK_ENOMEM;
            f->q_terms = nt;
            f->q_terms[f->nq_terms] = strndup((const char *)s, (size_t)(p - s));
            if (!f->q_terms[f->nq_terms])
                return TOCK_ENOMEM;
            for (char *c = f->q_terms[f->nq_terms]; *c; c++)
                *c = (char)tolower((unsigned char)*c);
            f->nq_terms++;
        }
    }
    f->q_last_prefix = true;
    return 0;
}

static int sort_param(struct task_filter *f, const char *v)
{
    char item[32];
    const char *p = v;
    if (!*v)
        return TOCK_EINVAL;
    f->nsort = 0;
    while (1) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        if (n == 0 || n >= sizeof item || f->nsort == FILTER_SORT_MAX)
            return TOCK_EINVAL;
        memcpy(item, p, n);
        item[n] = 0;
        char *colon = strchr(item, ':');
        bool desc = false;
        if (colon) {
            *colon = 0;
            if (strcmp(colon + 1, "desc") == 0)
                desc = true;
            else if (strcmp(colon + 1, "asc") != 0)
                return TOCK_EINVAL;
        }
        int field = -1;
        for (int i = 0; i < 6; i++)
            if (strcmp(item, sort_names[i]) == 0)
                field = i;
        if (field < 0)
            return TOCK_EINVAL;
        for (size_t i = 0; i < f->nsort; i++)
            if (f->sort[i].field == field)
                return TOCK_EINVAL;
        f->sort[f->nsort].field = field;
        f->sort[f->nsort].desc = desc;
        f->nsort++;
        if (!c)
            break;
        p = c + 1;
    }
    return 0;
}

static int limit_param(const char *v, int *out)
{
    size_t n = strlen(v);
    if (n == 0 || n > 3)
        return TOCK_EINVAL;
    int x = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)v[i]))
            return TOCK_EINVAL;
        x = x * 10 + (v[i] - '0');
    }
    if (x < 1 || x > FILTER_LIMIT_MAX)
        return TOCK_EINVAL;
    *out = x;
    return 0;
}

static void sort_spec(struct task_filter *f)
{
    size_t off = 0;
    f->sort_spec[0] = 0;
    for (size_t i = 0; i < f->nsort; i++)
        off += (size_t)snprintf(f->sort_spec + off, sizeof f->sort_spec - off, "%s%s:%s",
                                i ? "," : "", sort_names[f->sort[i].field],
                                f->sort[i].desc ? "desc" : "asc");
}

static int cursor_param(struct task_filter *f, const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > 2048)
        return TOCK_EINVAL;
    unsigned char raw[1600];
    size_t rawlen = 0;
    if (sodium_base642bin(raw, sizeof raw - 1, v, n, NULL, &rawlen, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING))
        return TOCK_EINVAL;
    json_error_t jerr;
    json_t *j = json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES, &jerr);
    int rc = TOCK_EINVAL;
    const char *spec, *id;
    json_t *vals;
    if (!j || json_unpack(j, "[sos!]", &spec, &vals, &id) || !json_is_array(vals) ||
        strcmp(spec, f->sort_spec) != 0 || json_array_size(vals) != f->nsort)
        goto out;
    f->after_id = id_parse(id);
    if (!f->after_id)
        goto out;
    for (size_t i = 0; i < f->nsort; i++) {
        json_t *x = json_array_get(vals, i);
        switch (f->sort[i].field) {
        case SORT_RANK:
            if (!json_is_number(x))
                goto out;
            f->after[i].d = json_number_value(x);
            break;
        case SORT_TITLE:
            if (!json_is_string(x) || !(f->after[i].s = strdup(json_string_value(x))))
                goto out;
            break;
        default:
            if (!json_is_integer(x))
                goto out;
            f->after[i].i = json_integer_value(x);
        }
    }
    f->has_cursor = true;
    rc = 0;
out:
    json_decref(j);
    return rc;
}

int filter_parse(struct task_filter *f, const struct qparam *params, size_t n,
                 const char *user_tz, int64_t now, struct tock_error *e)
{
    memset(f, 0, sizeof *f);
    f->overdue = f->has_due = f->recurring = -1;
    f->limit = FILTER_LIMIT_DEFAULT;
    f->now = now;
    const char *cursor = NULL, *sort = NULL;
    unsigned seen = 0;
    static const char *const single[] = {"q",         "status",   "priority",  "tag_mode",
                                         "due_before", "due_after", "overdue", "has_due",
                                         "recurring", "series_id", "sort",     "limit",
                                         "cursor"};
    for (size_t i = 0; i < n; i++) {
        const char *k = params[i].name, *v = params[i].value;
        int rc = 0;
        if (strcmp(k, "tag") == 0) {
            char norm[TAG_NAME_MAX + 1];
            if (f->ntags == TASK_TAGS_MAX)
                return tock_fail(e, TOCK_EINVAL, "tag", "at most %d tag filters", TASK_TAGS_MAX);
            if (tag_name_normalize(v, norm))
                return tock_fail(e, TOCK_EINVAL, "tag", "not a valid tag name");
            char **nt = realloc(f->tags, (f->ntags + 1) * sizeof *nt);
            if (!nt)
                return TOCK_ENOMEM;
            f->tags = nt;
            if (!(f->tags[f->ntags] = strdup(norm)))
                return TOCK_ENOMEM;
            f->ntags++;
            continue;
        }
        size_t idx = 0;
        while (idx < sizeof single / sizeof *single && strcmp(single[idx], k) != 0)
            idx++;
        if (idx == sizeof single / sizeof *single)
            return tock_fail(e, TOCK_EINVAL, k, "unknown query parameter");
        if (seen & (1u << idx))
            return tock_fail(e, TOCK_EINVAL, k, "parameter given more than once");
        seen |= 1u << idx;
        if (strcmp(k, "q") == 0)
            rc = q_param(f, v);
        else if (strcmp(k, "status") == 0)
            rc = mask_param(v, task_status_parse, &f->status_mask);
        else if (strcmp(k, "priority") == 0)
            rc = mask_param(v, task_priority_parse, &f->priority_mask);
        else if (strcmp(k, "tag_mode") == 0) {
            if (strcmp(v, "any") == 0)
                f->tag_any = true;
            else if (strcmp(v, "all") != 0)
                rc = TOCK_EINVAL;
        } else if (strcmp(k, "due_before") == 0) {
            rc = bound_param(v, user_tz, true, &f->due_before);
            f->has_due_before = true;
        } else if (strcmp(k, "due_after") == 0) {
            rc = bound_param(v, user_tz, false, &f->due_after);
            f->has_due_after = true;
        } else if (strcmp(k, "overdue") == 0)
            rc = bool_param(v, &f->overdue);
        else if (strcmp(k, "has_due") == 0)
            rc = bool_param(v, &f->has_due);
        else if (strcmp(k, "recurring") == 0)
            rc = bool_param(v, &f->recurring);
        else if (strcmp(k, "series_id") == 0)
            rc = (f->series_id = id_parse(v)) ? 0 : TOCK_EINVAL;
        else if (strcmp(k, "sort") == 0)
            sort = v;
        else if (strcmp(k, "limit") == 0)
            rc = limit_param(v, &f->limit);
        else if (strcmp(k, "cursor") == 0)
            cursor = v;
        if (rc == TOCK_ENOMEM)
            return rc;
        if (rc)
            return tock_fail(e, TOCK_EINVAL, k, "invalid value for %s", k);
    }
    if (sort) {
        if (sort_param(f, sort))
            return tock_fail(e, TOCK_EINVAL, "sort",
                             "sort is a comma list of field:asc|desc over priority, due_at, "
                             "created_at, updated_at, title, rank");
        for (size_t i = 0; i < f->nsort; i++)
            if (f->sort[i].field == SORT_RANK && !f->q)
                return tock_fail(e, TOCK_EINVAL, "sort", "sort by rank needs q");
    } else if (f->q) {
        f->sort[0] = (struct sort_key){SORT_RANK, true};
        f->nsort = 1;
    } else {
        f->sort[0] = (struct sort_key){SORT_DUE_AT, false};
        f->sort[1] = (struct sort_key){SORT_PRIORITY, true};
        f->nsort = 2;
    }
    sort_spec(f);
    if (cursor && cursor_param(f, cursor))
        return tock_fail(e, TOCK_EINVAL, "cursor", "invalid cursor (or one from another sort)");
    return 0;
}

void filter_sort_value(const struct sort_key *k, const struct task *t, double rank,
                       struct sort_val *out)
{
    out->i = 0;
    out->d = 0;
    out->s = NULL;
    switch (k->field) {
    case SORT_PRIORITY: out->i = t->priority; break;
    case SORT_DUE_AT:
        out->i = t->has_due ? t->due_at : (k->desc ? DUE_NONE_DESC : DUE_NONE_ASC);
        break;
    case SORT_CREATED_AT: out->i = t->created_at; break;
    case SORT_UPDATED_AT: out->i = t->updated_at; break;
    case SORT_TITLE: out->s = t->title; break;
    case SORT_RANK: out->d = rank; break;
    }
}

char *filter_cursor_encode(const struct task_filter *f, const struct task *last, double rank)
{
    json_t *vals = json_array();
    for (size_t i = 0; i < f->nsort; i++) {
        struct sort_val v;
        filter_sort_value(&f->sort[i], last, rank, &v);
        if (f->sort[i].field == SORT_RANK)
            json_array_append_new(vals, json_real(v.d));
        else if (f->sort[i].field == SORT_TITLE) {
            /* Titles compare lower-cased (ASCII), as the store orders them. */
            char *low = strdup(v.s ? v.s : "");
            for (char *c = low; c && *c; c++)
                *c = (char)tolower((unsigned char)*c);
            json_array_append_new(vals, json_string(low ? low : ""));
            free(low);
        } else
            json_array_append_new(vals, json_integer(v.i));
    }
    char id[24];
    id_str(last->id, id);
    json_t *c = json_pack("[sos]", f->sort_spec, vals, id);
    char *txt = c ? json_dumps(c, JSON_COMPACT) : NULL;
    json_decref(c);
    if (!txt)
        return NULL;
    size_t n = strlen(txt);
    size_t outlen = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = malloc(outlen);
    if (out)
        sodium_bin2base64(out, outlen, (const unsigned char *)txt, n,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    free(txt);
    return out;
}
