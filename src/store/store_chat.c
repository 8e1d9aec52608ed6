/*
 * store_chat.c — what both backends share for chat rows (store.h "chat").
 */
#include <stdlib.h>

#include "store/store.h"

void chat_messages_free(struct chat_message *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].content);
        free(v[i].actions);
    }
    free(v);
}
