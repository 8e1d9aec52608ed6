/*
 * kafka_mock.c — tock-kafka-mock, a test helper: runs librdkafka's mock cluster (a
 * real Kafka-protocol cluster, 3 brokers by default, on loopback) until stdin
 * closes or SIGTERM/SIGINT arrives.
 *
 *   tock-kafka-mock [--brokers N] [TOPIC[:PARTITIONS]]...
 *
 * Prints the bootstrap list as the first line of stdout, then "ready" once the
 * topics given on the command line exist (default 6 partitions, replication
 * min(3, brokers)). Control commands, one per stdin line, each answered by one
 * stdout line ("ok" or "error: ..."):
 *
 *   down N | down all      broker N (1-based id) or every broker refuses connections
 *   up N | up all          and accepts them again
 *   topic NAME [PARTITIONS]  creates a topic
 *
 * Holds no tock code: it only links librdkafka.
 */
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t quit;

static void on_signal(int sig)
{
    (void)sig;
    quit = 1;
}

static int create_topic(rd_kafka_mock_cluster_t *mc, const char *spec, int brokers)
{
    char name[256];
    snprintf(name, sizeof name, "%s", spec);
    int parts = 6;
    char *colon = strchr(name, ':');
    if (colon) {
        *colon = 0;
        char *end;
        long p = strtol(colon + 1, &end, 10);
        if (*end || p < 1 || p > 10000)
            return -1;
        parts = (int)p;
    }
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, name, parts, brokers < 3 ? brokers : 3);
    if (e) {
        fprintf(stderr, "tock-kafka-mock: topic %s: %s\n", name, rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

static int set_brokers(rd_kafka_mock_cluster_t *mc, int brokers, const char *which, int up)
{
    int lo = 1, hi = brokers;
    if (strcmp(which, "all") != 0) {
        char *end;
        long id = strtol(which, &end, 10);
        if (*end || id < 1 || id > brokers)
            return -1;
        lo = hi = (int)id;
    }
    for (int id = lo; id <= hi; id++) {
        rd_kafka_resp_err_t e =
            up ? rd_kafka_mock_broker_set_up(mc, id) : rd_kafka_mock_broker_set_down(mc, id);
        if (e)
            return -1;
    }
    return 0;
}

static void command(rd_kafka_mock_cluster_t *mc, int brokers, char *line)
{
    char *save = NULL;
    char *verb = strtok_r(line, " \t\r\n", &save);
    char *a1 = verb ? strtok_r(NULL, " \t\r\n", &save) : NULL;
    char *a2 = a1 ? strtok_r(NULL, " \t\r\n", &save) : NULL;
    int rc = -1;
    if (!verb) {
        return;
    } else if ((strcmp(verb, "down") == 0 || strcmp(verb, "up") == 0) && a1) {
        rc = set_brokers(mc, brokers, a1, verb[0] == 'u');
    } else if (strcmp(verb, "topic") == 0 && a1) {
        char spec[300];
        snprintf(spec, sizeof spec, "%s%s%s", a1, a2 ? ":" : "", a2 ? a2 : "");
        rc = create_topic(mc, spec, brokers);
    }
    printf(rc ? "error: bad command\n" : "ok\n");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    int brokers = 3, first = 1;
    if (argc > 2 && strcmp(argv[1], "--brokers") == 0) {
        char *end;
        long v = strtol(argv[2], &end, 10);
        brokers = *end || end == argv[2] ? 0 : (int)v;
        first = 3;
        if (brokers < 1 || brokers > 32) {
            fprintf(stderr, "tock-kafka-mock: --brokers must be 1-32\n");
            return 2;
        }
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "tock-kafka-mock: %s\n", err);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) {
        fprintf(stderr, "tock-kafka-mock: cannot create the mock cluster\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    int rc = 0;
    for (int i = first; i < argc; i++) {
        if (create_topic(mc, argv[i], brokers)) {
            fprintf(stderr, "tock-kafka-mock: bad topic '%s'\n", argv[i]);
            rc = 1;
            quit = 1;
        }
    }
    if (!rc)
        printf("ready\n");
    fflush(stdout);

    char line[512];
    size_t len = 0;
    while (!quit) {
        struct pollfd p = {0, POLLIN, 0};
        int n = poll(&p, 1, 200);
        if (n < 0 && errno != EINTR)
            break;
        if (n <= 0)
            continue;
        ssize_t r = read(0, line + len, sizeof line - 1 - len);
        if (r <= 0)
            break; /* stdin closed */
        len += (size_t)r;
        line[len] = 0;
        char *nl;
        while ((nl = strchr(line, '\n'))) {
            *nl = 0;
            command(mc, brokers, line);
            size_t used = (size_t)(nl + 1 - line);
            memmove(line, nl + 1, len - used + 1);
            len -= used;
        }
        if (len == sizeof line - 1)
            len = 0; /* an overlong line: drop it */
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return rc;
}
