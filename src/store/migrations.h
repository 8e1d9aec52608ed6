/*
 * migrations.h — schema migrations compiled into the binary from
 * the SQL files in migrations/DIALECT/ (cmake/embed.cmake). Applied in name order at
 * start-up, each in its own transaction, and recorded in schema_migrations.
 */
#ifndef TOCK_STORE_MIGRATIONS_H
#define TOCK_STORE_MIGRATIONS_H

struct migration {
    const char *name; /* file name, e.g. "0001_init.sql"; NULL ends the table */
    const char *sql;
};

extern const struct migration sqlite_migrations[];
extern const struct migration postgres_migrations[];

#endif
