/* model.c — release helpers for the value types of model.h. */
#include "core/model.h"

#include <stdlib.h>

void outbox_rows_free(struct outbox_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(rows[i].event_json);
    free(rows);
}
