/*
 * unit_store.h — the fixture shared by the C unit tests that run services on a real
 * store: a fresh SQLite database in a temp directory, the services on it, and one
 * user whose context (id, zone) the tests act as. Include after <cmocka.h>.
 */
#ifndef TOCK_TESTS_UNIT_STORE_H
#define TOCK_TESTS_UNIT_STORE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "service/service.h"
#include "store/store.h"

struct unit_store {
    char dir[64];
    struct store *store;
    const struct store_ops *ops;
    struct svc svc;
    struct svc_ctx ctx; /* the one user's */
};

static const unsigned char unit_store_secret[] = "0123456789abcdef0123456789abcdef";

/* Opens the store with `pool` connections and creates the user, living in `zone`. */
static inline void unit_store_open(struct unit_store *u, int pool, const char *zone)
{
    memset(u, 0, sizeof *u);
    snprintf(u->dir, sizeof u->dir, "/tmp/tock-unit-XXXXXX");
    assert_non_null(mkdtemp(u->dir));
    char url[128], err[256];
    snprintf(url, sizeof url, "sqlite:%s/t.db", u->dir);
    struct store_config sc = {pool, 5000, false};
    assert_int_equal(store_open(url, &sc, &u->store, &u->ops, err, sizeof err), 0);
    struct svc_config vc = {unit_store_secret, 32, 3600, 10, 300, "tock/test"};
    assert_int_equal(svc_init(&u->svc, u->store, u->ops, &vc), 0);
    struct store_conn *c;
    assert_int_equal(u->ops->acquire(u->store, &c), 0);
    struct user usr = {0};
    snprintf(usr.email, sizeof usr.email, "unit@example.com");
    snprintf(usr.password_hash, sizeof usr.password_hash, "x");
    snprintf(usr.timezone, sizeof usr.timezone, "%s", zone);
    assert_int_equal(u->ops->user_insert(c, &usr), 0);
    u->ops->release(c);
    u->ctx.user_id = usr.id;
    snprintf(u->ctx.timezone, sizeof u->ctx.timezone, "%s", zone);
}

/* Closes everything and removes the directory. */
static inline void unit_store_close(struct unit_store *u)
{
    svc_free(&u->svc);
    u->ops->close(u->store);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", u->dir);
    assert_int_equal(system(cmd), 0);
}

#endif
