/*
 * ws_bench.c — WebSocket benchmark client for `tock serve` (bench/ws/run.sh).
 *
 *   ws_bench PORT TOKEN_FANOUT TOKEN_LATENCY CONNS ROUNDS SAMPLES
 *
 * 1. Opens CONNS WebSockets for the fan-out user (batches of 500, each waits for
 *    its hello) plus one for the latency user, all in one epoll loop.
 * 2. Fan-out: ROUNDS times, POSTs a task as the fan-out user (its own keep-alive
 *    HTTP connection) and measures the time from sending the request until the
 *    change's frame has arrived on every one of the CONNS sockets (and the median
 *    socket's arrival).
 * 3. Write-to-other-client: SAMPLES times, POSTs a task as the latency user and
 *    measures the time until the frame arrives on that user's socket (the other
 *    client), with the CONNS sockets still open and idle.
 * Prints one JSON object with the figures. Frames are counted, not parsed: each
 * change is one text frame.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
    int fd;
    int handshake_done;
    char hbuf[512];
    size_t hlen;
    /* frame state */
    uint8_t fh[14];
    size_t fhlen;
    uint64_t remaining;
    int in_payload;
    long frames; /* complete text frames */
    int64_t last_frame_ns;
};

static int port;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *m)
{
    perror(m);
    exit(1);
}

static int dial(int nonblock)
{
    int fd = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0)
        die("socket");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS)
        die("connect");
    return fd;
}

static void ws_open(struct conn *c, const char *token)
{
    c->fd = dial(0); /* blocking for the handshake write, then non-blocking */
    char req[1024];
    int n = snprintf(req, sizeof req,
                     "GET /api/v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\nAuthorization: Bearer %s\r\n\r\n",
                     token);
    if (write(c->fd, req, (size_t)n) != n)
        die("write handshake");
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
}

/* Consumes bytes read from a WebSocket (after the HTTP response). */
static void feed_frames(struct conn *c, const uint8_t *p, size_t n, int64_t t)
{
    while (n) {
        if (!c->in_payload) {
            c->fh[c->fhlen++] = *p++;
            n--;
            if (c->fhlen < 2)
                continue;
            size_t need = 2;
            uint64_t len = c->fh[1] & 0x7f;
            if (len == 126)
                need = 4;
            else if (len == 127)
                need = 10;
            if (c->fhlen < need)
                continue;
            if (len == 126)
                len = ((uint64_t)c->fh[2] << 8) | c->fh[3];
            else if (len == 127) {
                len = 0;
                for (int i = 0; i < 8; i++)
                    len = (len << 8) | c->fh[2 + i];
            }
            c->remaining = len;
            c->in_payload = 1;
        }
        size_t take = c->remaining < n ? (size_t)c->remaining : n;
        p += take;
        n -= take;
        c->remaining -= take;
        if (c->remaining == 0) {
            if ((c->fh[0] & 0x0f) == 0x1) {
                c->frames++;
                c->last_frame_ns = t;
            }
            c->in_payload = 0;
            c->fhlen = 0;
        }
    }
}

static void on_read(struct conn *c)
{
    uint8_t buf[65536];
    for (;;) {
        ssize_t n = read(c->fd, buf, sizeof buf);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            fprintf(stderr, "ws_bench: a WebSocket closed (%s)\n", n ? strerror(errno) : "EOF");
            exit(1);
        }
        int64_t t = now_ns();
        const uint8_t *p = buf;
        size_t left = (size_t)n;
        if (!c->handshake_done) {
            size_t take = left < sizeof c->hbuf - 1 - c->hlen ? left : sizeof c->hbuf - 1 - c->hlen;
            memcpy(c->hbuf + c->hlen, p, take);
            c->hlen += take;
            c->hbuf[c->hlen] = 0;
            char *end = strstr(c->hbuf, "\r\n\r\n");
            if (!end) {
                if (c->hlen == sizeof c->hbuf - 1) {
                    fprintf(stderr, "ws_bench: handshake response too long\n");
                    exit(1);
                }
                continue;
            }
            if (strncmp(c->hbuf, "HTTP/1.1 101", 12) != 0) {
                fprintf(stderr, "ws_bench: upgrade refused: %.80s\n", c->hbuf);
                exit(1);
            }
            size_t hdr = (size_t)(end + 4 - c->hbuf);
            size_t extra_in_hbuf = c->hlen - hdr;
            c->handshake_done = 1;
            /* Bytes after the headers: part of hbuf plus what did not fit. */
            feed_frames(c, (const uint8_t *)c->hbuf + hdr, extra_in_hbuf, t);
            p += take;
            left -= take;
        }
        feed_frames(c, p, left, t);
    }
}

/* A keep-alive HTTP connection for POSTs. */
struct http {
    int fd;
    char token[1024];
};

static void http_post_send(struct http *h, int i)
{
    char body[128], req[2048];
    int bl = snprintf(body, sizeof body, "{\"title\":\"bench %d\"}", i);
    int n = snprintf(req, sizeof req,
                     "POST /api/v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                     "%s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                     h->token, bl, body);
    if (write(h->fd, req, (size_t)n) != n)
        die("write POST");
}

/* Reads one whole response (blocking); exits unless 201. */
static void http_post_wait(struct http *h)
{
    static char buf[65536];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(h->fd, buf + len, sizeof buf - 1 - len);
        if (n <= 0)
            die("read POST response");
        len += (size_t)n;
        buf[len] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        if (!end)
            continue;
        char *cl = strcasestr(buf, "Content-Length:");
        long want = cl ? strtol(cl + 15, NULL, 10) : 0;
        if ((long)(len - (size_t)(end + 4 - buf)) < want)
            continue;
        if (strncmp(buf, "HTTP/1.1 201", 12) != 0) {
            fprintf(stderr, "ws_bench: POST failed: %.200s\n", buf);
            exit(1);
        }
        return;
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double pct(int64_t *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmp_i64);
    int i = (int)(p * (n - 1) + 0.5);
    return (double)v[i] / 1e6;
}

static void pump(int ep, int timeout_ms)
{
    struct epoll_event evs[512];
    int n = epoll_wait(ep, evs, 512, timeout_ms);
    for (int i = 0; i < n; i++)
        on_read(evs[i].data.ptr);
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: ws_bench PORT TOKEN_FANOUT TOKEN_LATENCY CONNS ROUNDS SAMPLES\n");
        return 2;
    }
    port = (int)strtol(argv[1], NULL, 10);
    const char *tok_fan = argv[2], *tok_lat = argv[3];
    int nconn = (int)strtol(argv[4], NULL, 10);
    int rounds = (int)strtol(argv[5], NULL, 10);
    int samples = (int)strtol(argv[6], NULL, 10);
    if (nconn < 1 || rounds < 1 || samples < 1)
        return 2;
    struct conn *cs = calloc((size_t)nconn + 1, sizeof *cs);
    int ep = epoll_create1(0);
    if (!cs || ep < 0)
        die("setup");

    int64_t t_open = now_ns();
    for (int start = 0; start <= nconn; start += 500) {
        int end = start + 500 > nconn + 1 ? nconn + 1 : start + 500;
        for (int i = start; i < end; i++) {
            ws_open(&cs[i], i == nconn ? tok_lat : tok_fan);
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
            epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
        }
        int64_t deadline = now_ns() + 60000000000LL;
        for (;;) {
            int ready = 1;
            for (int i = start; i < end && ready; i++)
                ready = cs[i].frames >= 1; /* the hello */
            if (ready)
                break;
            if (now_ns() > deadline) {
                fprintf(stderr, "ws_bench: hellos missing after 60 s\n");
                return 1;
            }
            pump(ep, 100);
        }
    }
    double open_s = (double)(now_ns() - t_open) / 1e9;
    fprintf(stderr, "ws_bench: %d WebSockets open in %.1f s\n", nconn + 1, open_s);
    printf("{\"connections\":%d,\"open_seconds\":%.2f,", nconn + 1, open_s);
    fflush(stdout);
    if (getenv("WS_BENCH_PAUSE")) { /* the script reads RSS now */
        fprintf(stderr, "ws_bench: ready\n");
        char line[8];
        if (!fgets(line, sizeof line, stdin))
            return 1;
    }

    struct http hf = {.fd = dial(0)}, hl = {.fd = dial(0)};
    snprintf(hf.token, sizeof hf.token, "%s", tok_fan);
    snprintf(hl.token, sizeof hl.token, "%s", tok_lat);

    /* Fan-out rounds. */
    int64_t *all_ms = calloc((size_t)rounds, sizeof *all_ms);
    int64_t *med_ms = calloc((size_t)rounds, sizeof *med_ms);
    int64_t *arr = calloc((size_t)nconn, sizeof *arr);
    for (int r = 0; r < rounds; r++) {
        long want = cs[0].frames + 1;
        int64_t t0 = now_ns();
        http_post_send(&hf, r);
        int64_t deadline = t0 + 30000000000LL;
        for (;;) {
            int done = 1;
            for (int i = 0; i < nconn && done; i++)
                done = cs[i].frames >= want;
            if (done)
                break;
            if (now_ns() > deadline) {
                fprintf(stderr, "ws_bench: fan-out round %d incomplete after 30 s\n", r);
                return 1;
            }
            pump(ep, 50);
        }
        int64_t last = 0;
        for (int i = 0; i < nconn; i++) {
            arr[i] = cs[i].last_frame_ns - t0;
            if (arr[i] > last)
                last = arr[i];
        }
        all_ms[r] = last;
        med_ms[r] = (int64_t)(pct(arr, nconn, 0.5) * 1e6);
        http_post_wait(&hf);
    }
    printf("\"fanout_rounds\":%d,\"fanout_all_ms_p50\":%.2f,\"fanout_all_ms_max\":%.2f,"
           "\"fanout_median_socket_ms_p50\":%.2f,",
           rounds, pct(all_ms, rounds, 0.5), pct(all_ms, rounds, 1.0), pct(med_ms, rounds, 0.5));

    /* Write-to-other-client latency. */
    int64_t *lat = calloc((size_t)samples, sizeof *lat);
    struct conn *other = &cs[nconn];
    for (int s = 0; s < samples; s++) {
        long want = other->frames + 1;
        int64_t t0 = now_ns();
        http_post_send(&hl, s);
        int64_t deadline = t0 + 30000000000LL;
        while (other->frames < want) {
            if (now_ns() > deadline) {
                fprintf(stderr, "ws_bench: change %d never reached the other client\n", s);
                return 1;
            }
            pump(ep, 50);
        }
        lat[s] = other->last_frame_ns - t0;
        http_post_wait(&hl);
    }
    printf("\"latency_samples\":%d,\"latency_ms_p50\":%.2f,\"latency_ms_p99\":%.2f,"
           "\"latency_ms_max\":%.2f}\n",
           samples, pct(lat, samples, 0.5), pct(lat, samples, 0.99), pct(lat, samples, 1.0));
    return 0;
}
