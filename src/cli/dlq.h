/* dlq.h — `tock dlq list|replay`: the dead-letter tools (service/dlq.c). */
#ifndef TOCK_CLI_DLQ_H
#define TOCK_CLI_DLQ_H

#include "service/service.h"

/* sub is "list" or "replay"; args are the ids to replay, or "all". Exit status. */
int cli_dlq(struct svc *s, const char *sub, int nargs, char **args);

#endif
