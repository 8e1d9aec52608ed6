/* rrule.h — strict RFC 5545 RRULE validation (pure; see rrule.c for the rules). */
#ifndef TOCK_CORE_RRULE_H
#define TOCK_CORE_RRULE_H

/* 0 if rule is a valid RRULE value (without the "RRULE:" prefix), else TOCK_EINVAL. */
int rrule_check(const char *rule);

#endif
