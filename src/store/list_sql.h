/*
 * list_sql.h — the part of the task list query both SQL backends share: sort
 * expressions, filter conditions, the keyset condition, ORDER BY and LIMIT, built
 * from a validated task_filter. The backend supplies its dialect: how a bound value
 * is written (SQLite "?", PostgreSQL "$n") and how titles compare. Only integer
 * literals and fixed expressions are spliced into the SQL; every user value goes
 * through a bind hook.
 */
#ifndef TOCK_STORE_LIST_SQL_H
#define TOCK_STORE_LIST_SQL_H

#include <stdint.h>

#include "core/buf.h"
#include "core/filter.h"

struct list_sql {
    struct buf *sql;
    /* Each hook records the value and appends its placeholder to sql. */
    void (*bind_i64)(void *ctx, int64_t v);
    void (*bind_text)(void *ctx, const char *s);
    void (*bind_real)(void *ctx, double d);
    void *ctx;
    /* Title ordering: ASCII-only lower-casing compared bytewise, like the cursor. */
    const char *title_expr;
    /* The rank column of the search CTE (only used when the filter has q). */
    const char *rank_expr;
};

/* The SQL expression a sort key orders by (the same one the keyset compares). */
const char *list_sql_sort_expr(const struct list_sql *ls, const struct sort_key *k);
/* Appends " AND ..." for every filter of f and for its cursor. */
void list_sql_where(const struct list_sql *ls, const struct task_filter *f);
/* Appends " ORDER BY <keys>, t.id ASC LIMIT <limit + 1>". */
void list_sql_order_limit(const struct list_sql *ls, const struct task_filter *f);

#endif
