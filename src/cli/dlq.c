/*
 * dlq.c — `tock dlq list` prints the dead letters as JSON lines (oldest first);
 * `tock dlq replay ID...` / `tock dlq replay all` sends their original events back
 * to the consumers that gave up on them (see service/dlq.c for the semantics).
 */
#include "cli/dlq.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 500

static void print_row(const struct outbox_row *r)
{
    json_t *ev = json_loads(r->event_json, 0, NULL);
    json_t *data = ev ? json_object_get(ev, "data") : NULL;
    json_t *orig = data ? json_object_get(data, "original") : NULL;
    json_t *line = json_pack(
        "{s:I,s:s,s:O?,s:O?,s:O?,s:O?,s:O?,s:O?,s:O?,s:b}", "seq", (json_int_t)r->seq, "id",
        r->event_id, "time", ev ? json_object_get(ev, "time") : NULL, "consumer",
        data ? json_object_get(data, "consumer") : NULL, "error",
        data ? json_object_get(data, "error") : NULL, "attempts",
        data ? json_object_get(data, "attempts") : NULL, "topic",
        data ? json_object_get(data, "topic") : NULL, "original_id",
        json_is_object(orig) ? json_object_get(orig, "id") : NULL, "original_type",
        json_is_object(orig) ? json_object_get(orig, "type") : NULL, "replayed", r->replayed);
    char *s = line ? json_dumps(line, JSON_COMPACT) : NULL;
    if (s)
        printf("%s\n", s);
    free(s);
    json_decref(line);
    json_decref(ev);
}

/* Calls fn for every dead letter, page by page; stops at the first error. */
static int each(struct svc *s, int (*fn)(struct svc *, const struct outbox_row *, void *),
                void *arg)
{
    int64_t after = 0;
    for (;;) {
        struct outbox_row *rows = NULL;
        size_t n = 0;
        int rc = svc_dlq_list(s, after, PAGE, &rows, &n);
        if (rc)
            return rc;
        for (size_t i = 0; i < n && !rc; i++) {
            rc = fn(s, &rows[i], arg);
            after = rows[i].seq;
        }
        outbox_rows_free(rows, n);
        if (rc || n < PAGE)
            return rc;
    }
}

static int list_one(struct svc *s, const struct outbox_row *r, void *arg)
{
    (void)s;
    (void)arg;
    print_row(r);
    return 0;
}

struct replay_job {
    int nids;
    char **ids; /* NULL: all not yet replayed */
    int *done;  /* per id: found */
    int failures, replayed;
};

static int replay_one(struct svc *s, const struct outbox_row *r, void *arg)
{
    struct replay_job *j = arg;
    int want = !j->ids && !r->replayed;
    for (int i = 0; j->ids && i < j->nids; i++)
        if (strcmp(j->ids[i], r->event_id) == 0) {
            want = 1;
            j->done[i] = 1;
        }
    if (!want)
        return 0;
    char consumer[128] = "";
    struct tock_error e = {0};
    int rc = svc_dlq_replay(s, r, consumer, sizeof consumer, &e);
    if (rc) {
        fprintf(stderr, "tock: dead letter %s: %s\n", r->event_id,
                e.message[0] ? e.message : tock_strerror(rc));
        j->failures++;
        /* A store failure stops the run; a bad or replayed letter does not. */
        return rc == TOCK_EINVAL || rc == TOCK_ECONFLICT ? 0 : rc;
    }
    printf("replayed %s to consumer %s\n", r->event_id, consumer);
    j->replayed++;
    return 0;
}

int cli_dlq(struct svc *s, const char *sub, int nargs, char **args)
{
    if (strcmp(sub, "list") == 0 && nargs == 0) {
        int rc = each(s, list_one, NULL);
        if (rc)
            fprintf(stderr, "tock: %s\n", tock_strerror(rc));
        return rc ? 1 : 0;
    }
    if (strcmp(sub, "replay") != 0 || nargs == 0) {
        fprintf(stderr, "usage: tock dlq list | tock dlq replay (ID... | all)\n");
        return 2;
    }
    bool all = nargs == 1 && strcmp(args[0], "all") == 0;
    struct replay_job j = {nargs, all ? NULL : args, calloc((size_t)nargs, sizeof(int)), 0, 0};
    if (!j.done)
        return 1;
    int rc = each(s, replay_one, &j);
    if (rc)
        fprintf(stderr, "tock: %s\n", tock_strerror(rc));
    for (int i = 0; !all && i < nargs; i++)
        if (!j.done[i]) {
            fprintf(stderr, "tock: no dead letter with id %s\n", args[i]);
            j.failures++;
        }
    free(j.done);
    if (all)
        printf("%d dead letters replayed\n", j.replayed);
    return rc || j.failures ? 1 : 0;
}
