/*
 * sync.h — the sync role: real-time task sync over WebSocket (docs/sync.md).
 *
 * The hub owns every upgraded socket in one epoll thread (non-blocking, one
 * bounded write queue per connection, pings). It subscribes to task-updates
 * with a consumer group unique to this process, so every replica sees every
 * event, and fans each task.sync / notification.created event out to the sockets
 * of that event's user, encoded once and shared by all of them.
 *
 * GET /api/v1/ws (api/h_ws.c) does the HTTP side: handshake checks, auth and
 * limits, then sync_conn_open() (registers the connection so live events are
 * buffered, then replays missed changes from the outbox), then the 101; once the
 * socket is handed over, sync_conn_attach() puts it into the epoll loop.
 *
 * Threads: the bus handler thread (fan-out), the HTTP threads (open, attach,
 * abort) and the hub thread (socket I/O, pings, timeouts) share one mutex. Only
 * the hub thread frees a connection that has a socket.
 */
#ifndef TOCK_ROLES_SYNC_H
#define TOCK_ROLES_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/bus.h"
#include "service/service.h"

struct sync_config {
    int max_conns;       /* TOCK_WS_MAX_CONNS (10000): sockets on this process */
    int max_per_user;    /* TOCK_WS_MAX_PER_USER (50) */
    int ping_s;          /* TOCK_WS_PING_SECONDS (30): ping after this much silence;
                            no pong within as long again: dropped */
    size_t queue_bytes;  /* TOCK_WS_QUEUE_BYTES (4 MiB): unsent bytes per connection
                            before it is closed with 1008 */
    size_t max_message;  /* TOCK_WS_MAX_MESSAGE (65536): inbound frame/message bytes */
    int resume_max;      /* TOCK_WS_RESUME_MAX (1000): changes replayed on resume;
                            more than that: resync */
};

struct sync_hub;
struct sync_conn;

int sync_config_from_env(struct sync_config *cfg, char *err, size_t errlen);

/* Starts the hub thread and subscribes to the bus (before the bus starts). */
int sync_start(struct svc *svc, struct bus *bus, const struct bus_ops *bops,
               const struct sync_config *cfg, struct sync_hub **out);
/* Sends close 1001 to every socket and hands them back; later upgrades are refused. */
void sync_close_all(struct sync_hub *h);
/* Stops the thread and frees everything; call after the HTTP server and the bus stopped. */
void sync_stop(struct sync_hub *h);

/* ---- for GET /api/v1/ws (api/h_ws.c) ---- */

/* sync_conn_open results besides 0 / TOCK_E*. */
#define SYNC_LIMIT_USER 1
#define SYNC_LIMIT_GLOBAL 2
#define SYNC_CLOSING 3 /* shutting down */

/*
 * Registers a connection for user_id (live events are queued from now on) and
 * queues its first messages: with has_since, the changes after `since` from the
 * outbox (or "resync" when they are no longer all there); else "hello". Returns
 * 0 with *out set, SYNC_LIMIT_USER / SYNC_LIMIT_GLOBAL when a limit is reached, SYNC_CLOSING,
 * or a TOCK_E* (database). On 0 exactly one of sync_conn_attach/_abort follows.
 */
int sync_conn_open(struct sync_hub *h, int64_t user_id, bool has_since, int64_t since,
                   struct sync_conn **out);
/* The http_upgrade_fn: the socket is ours; runs in an HTTP thread, never blocks. */
void sync_conn_attach(void *conn, int fd, const char *extra, size_t extra_len, void *handle);
/* The http_upgrade_abort_fn: the 101 never went out. */
void sync_conn_abort(void *conn);

/* Number of open (or opening) connections: for tests and metrics. */
int sync_conn_count(struct sync_hub *h);

#endif
