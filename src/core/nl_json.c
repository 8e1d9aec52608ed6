/*
 * nl_json.c — a parse as JSON (shared by POST /api/v1/parse and `tock parse`)
 * and the one conversion of a parse into a task create request.
 */
#include "core/nl.h"

#include <string.h>

/* Code points in text[0..off) (text is valid UTF-8). */
static size_t char_offset(const char *text, size_t len, size_t off)
{
    size_t n = 0;
    for (size_t i = 0; i < off && i < len; i++)
        if (((unsigned char)text[i] & 0xC0) != 0x80)
            n++;
    return n;
}

json_t *nl_result_json(const struct nl_result *r, const char *text, size_t len)
{
    json_t *o = json_object();
    json_t *tags = json_array(), *rems = json_array(), *spans = json_array();
    if (!o || !tags || !rems || !spans) {
        json_decref(o);
        json_decref(tags);
        json_decref(rems);
        json_decref(spans);
        return NULL;
    }
    int rc = 0;
    rc |= json_object_set_new(o, "title", json_string(r->title));
    char due[20];
    if (r->has_due)
        time_fmt_local(&r->due, due);
    rc |= json_object_set_new(o, "due", r->has_due ? json_string(due) : json_null());
    rc |= json_object_set_new(o, "priority", json_string(task_priority_name(r->priority)));
    for (size_t i = 0; i < r->ntags; i++)
        rc |= json_array_append_new(tags, json_string(r->tags[i]));
    rc |= json_object_set_new(o, "tags", tags);
    rc |= json_object_set_new(o, "rrule", r->has_rrule ? json_string(r->rrule) : json_null());
    rc |= json_object_set_new(
        o, "recur_from",
        r->has_rrule ? json_string(r->recur_from == RECUR_COMPLETION ? "completion" : "due")
                     : json_null());
    for (size_t i = 0; i < r->nreminders; i++) {
        const struct nl_reminder *m = &r->reminders[i];
        json_t *x;
        if (m->is_at) {
            char at[20];
            time_fmt_local(&m->at, at);
            x = json_pack("{s:s}", "at", at);
        } else {
            x = json_pack("{s:i}", "offset_minutes", m->offset_minutes);
        }
        rc |= json_array_append_new(rems, x);
    }
    rc |= json_object_set_new(o, "reminders", rems);
    /* spans are in text order: one pass converts byte offsets to characters */
    size_t byte = 0, chars = 0;
    for (size_t i = 0; i < r->nspans; i++) {
        const struct nl_span *s = &r->spans[i];
        chars += char_offset(text + byte, len - byte, s->start - byte);
        size_t start = chars;
        chars += char_offset(text + s->start, len - s->start, (size_t)(s->end - s->start));
        byte = s->end;
        rc |= json_array_append_new(spans, json_pack("{s:I,s:I,s:s}", "start", (json_int_t)start,
                                                     "end", (json_int_t)chars, "kind",
                                                     nl_span_kind_name(s->kind)));
    }
    rc |= json_object_set_new(o, "spans", spans);
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

void nl_to_task_input(const struct nl_result *r, struct task_input *in, char *due_buf,
                      const char **tag_ptrs)
{
    if (!(in->set & TI_TITLE)) {
        in->title = r->title;
        in->set |= TI_TITLE;
    }
    if (!(in->set & TI_PRIORITY) && r->priority != PRIO_NONE) {
        in->priority = r->priority;
        in->set |= TI_PRIORITY;
    }
    if (!(in->set & TI_TAGS) && r->ntags) {
        for (size_t i = 0; i < r->ntags; i++)
            tag_ptrs[i] = r->tags[i];
        in->tags = tag_ptrs;
        in->ntags = r->ntags;
        in->set |= TI_TAGS;
    }
    if (!(in->set & TI_DUE) && r->has_due) {
        time_fmt_local(&r->due, due_buf);
        in->due = due_buf;
        in->set |= TI_DUE;
    }
    if (!(in->set & TI_RECUR) && r->has_rrule) {
        in->rrule = r->rrule;
        in->recur_from = r->recur_from;
        in->set |= TI_RECUR;
    }
    /* Reminders (r->reminders) are wired when the reminders feature lands. */
}
