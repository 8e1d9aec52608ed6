/* list_sql.c — the list query's shared SQL; see list_sql.h. */
#include "store/list_sql.h"

#include <string.h>

const char *list_sql_sort_expr(const struct list_sql *ls, const struct sort_key *k)
{
    switch (k->field) {
    case SORT_PRIORITY: return "t.priority";
    case SORT_DUE_AT:
        /* Tasks without a due date come last in either direction. */
        return k->desc ? "coalesce(t.due_at, -9223372036854775807)"
                       : "coalesce(t.due_at, 9223372036854775807)";
    case SORT_CREATED_AT: return "t.created_at";
    case SORT_UPDATED_AT: return "t.updated_at";
    case SORT_TITLE: return ls->title_expr;
    case SORT_RANK: return ls->rank_expr;
    }
    return "t.id";
}

static void mask_in(const struct list_sql *ls, const char *col, unsigned mask)
{
    buf_printf(ls->sql, " AND %s IN (", col);
    int first = 1;
    for (int i = 0; i < 8; i++) {
        if (mask & (1u << i)) {
            buf_printf(ls->sql, "%s%d", first ? "" : ",", i);
            first = 0;
        }
    }
    buf_puts(ls->sql, ")");
}

/* ((k1 > v1) OR (k1 = v1 AND ((k2 > v2) OR (k2 = v2 AND ... t.id > id)))) */
static void keyset(const struct list_sql *ls, const struct task_filter *f, size_t i)
{
    if (i == f->nsort) {
        buf_puts(ls->sql, "t.id > ");
        ls->bind_i64(ls->ctx, f->after_id);
        return;
    }
    const struct sort_key *k = &f->sort[i];
    const char *e = list_sql_sort_expr(ls, k);
    const struct sort_val *v = &f->after[i];
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 0)
            buf_printf(ls->sql, "((%s %s ", e, k->desc ? "<" : ">");
        else
            buf_printf(ls->sql, " OR (%s = ", e);
        if (k->field == SORT_RANK)
            ls->bind_real(ls->ctx, v->d);
        else if (k->field == SORT_TITLE)
            ls->bind_text(ls->ctx, v->s ? v->s : "");
        else
            ls->bind_i64(ls->ctx, v->i);
        buf_puts(ls->sql, pass == 0 ? ")" : " AND (");
    }
    keyset(ls, f, i + 1);
    buf_puts(ls->sql, ")))");
}

void list_sql_where(const struct list_sql *ls, const struct task_filter *f)
{
    struct buf *b = ls->sql;
    if (f->status_mask)
        mask_in(ls, "t.status", f->status_mask);
    if (f->priority_mask)
        mask_in(ls, "t.priority", f->priority_mask);
    if (f->ntags) {
        buf_puts(b, f->tag_any ? " AND EXISTS (SELECT 1" : " AND (SELECT count(*)");
        buf_puts(b, " FROM task_tags tt JOIN tags g ON g.id = tt.tag_id WHERE "
                    "tt.task_id = t.id AND g.name IN (");
        for (size_t i = 0; i < f->ntags; i++) {
            if (i)
                buf_puts(b, ",");
            ls->bind_text(ls->ctx, f->tags[i]);
        }
        buf_puts(b, "))");
        if (!f->tag_any) {
            /* All of the tags: duplicated tag filters count once. */
            size_t distinct = 0;
            for (size_t i = 0; i < f->ntags; i++) {
                size_t j = 0;
                while (j < i && strcmp(f->tags[j], f->tags[i]) != 0)
                    j++;
                distinct += j == i;
            }
            buf_printf(b, " = %zu", distinct);
        }
    }
    if (f->has_due_before) {
        buf_puts(b, " AND t.due_at <= ");
        ls->bind_i64(ls->ctx, f->due_before);
    }
    if (f->has_due_after) {
        buf_puts(b, " AND t.due_at >= ");
        ls->bind_i64(ls->ctx, f->due_after);
    }
    if (f->overdue == 1) {
        buf_puts(b, " AND t.status <> 2 AND t.due_at < ");
        ls->bind_i64(ls->ctx, f->now);
    } else if (f->overdue == 0) {
        buf_puts(b, " AND (t.status = 2 OR t.due_at IS NULL OR t.due_at >= ");
        ls->bind_i64(ls->ctx, f->now);
        buf_puts(b, ")");
    }
    if (f->has_due >= 0)
        buf_puts(b, f->has_due ? " AND t.due_at IS NOT NULL" : " AND t.due_at IS NULL");
    if (f->recurring >= 0)
        buf_puts(b, f->recurring ? " AND t.rrule IS NOT NULL" : " AND t.rrule IS NULL");
    if (f->series_id) {
        buf_puts(b, " AND t.series_id = ");
        ls->bind_i64(ls->ctx, f->series_id);
    }
    if (f->has_cursor) {
        buf_puts(b, " AND (");
        keyset(ls, f, 0);
        buf_puts(b, ")");
    }
}

void list_sql_order_limit(const struct list_sql *ls, const struct task_filter *f)
{
    buf_puts(ls->sql, " ORDER BY ");
    for (size_t i = 0; i < f->nsort; i++)
        buf_printf(ls->sql, "%s %s, ", list_sql_sort_expr(ls, &f->sort[i]),
                   f->sort[i].desc ? "DESC" : "ASC");
    buf_printf(ls->sql, "t.id ASC LIMIT %d", f->limit + 1);
}
