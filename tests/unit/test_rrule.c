/* test_rrule.c — strict RRULE validation: every rule part, ranges, and structure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "core/rrule.h"
#include "core/task.h"

static void valid_rules(void **state)
{
    (void)state;
    static const char *const ok[] = {
        "FREQ=DAILY",
        "FREQ=WEEKLY;BYDAY=MO",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH",
        "FREQ=MONTHLY;BYDAY=-1FR",
        "FREQ=MONTHLY;BYDAY=2MO",
        "FREQ=MONTHLY;BYDAY=+2MO",
        "FREQ=MONTHLY;BYMONTHDAY=-1",
        "FREQ=MONTHLY;BYMONTHDAY=1,15,31",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
        "FREQ=DAILY;COUNT=5",
        "FREQ=DAILY;UNTIL=20270601",
        "FREQ=DAILY;UNTIL=20270601T235959Z",
        "FREQ=DAILY;UNTIL=20270601T090000",
        "FREQ=YEARLY;BYYEARDAY=-366,1,366",
        "FREQ=YEARLY;BYWEEKNO=53;BYDAY=MO",
        "FREQ=DAILY;BYHOUR=9;BYMINUTE=30;BYSECOND=0",
        "FREQ=WEEKLY;WKST=SU;BYDAY=SA",
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        if (rrule_check(ok[i]) != 0 || rrule_validate(ok[i]) != 0)
            fail_msg("rejected valid rule %s", ok[i]);
    }
}

static void invalid_rules(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "RRULE:FREQ=DAILY",
        "FREQ=SOMETIMES",
        "FREQ=HOURLY",
        "FREQ=SECONDLY",
        "freq=daily",
        "BYDAY=MO",                       /* no FREQ */
        "FREQ=DAILY;;",                   /* empty part */
        "FREQ=DAILY;",                    /* trailing separator */
        "FREQ=DAILY;FREQ=WEEKLY",         /* repeated part */
        "FREQ=DAILY;FOO=1",               /* unknown part */
        "FREQ=DAILY;INTERVAL=0",
        "FREQ=DAILY;INTERVAL=-1",
        "FREQ=DAILY;COUNT=abc",
        "FREQ=DAILY;COUNT=0",
        "FREQ=DAILY;COUNT=5;UNTIL=20270601", /* COUNT and UNTIL */
        "FREQ=DAILY;UNTIL=2027-06-01",
        "FREQ=DAILY;UNTIL=20270230",
        "FREQ=DAILY;UNTIL=99991231",
        "FREQ=YEARLY;BYMONTH=13",
        "FREQ=YEARLY;BYMONTH=0",
        "FREQ=YEARLY;BYYEARDAY=367",
        "FREQ=YEARLY;BYYEARDAY=0",
        "FREQ=YEARLY;BYWEEKNO=54",
        "FREQ=YEARLY;BYDAY=+54MO",
        "FREQ=MONTHLY;BYDAY=0MO",
        "FREQ=WEEKLY;BYDAY=XX",
        "FREQ=WEEKLY;BYDAY=MO,",
        "FREQ=MONTHLY;BYMONTHDAY=32",
        "FREQ=MONTHLY;BYMONTHDAY=0",
        "FREQ=MONTHLY;BYMONTHDAY=-32",
        "FREQ=DAILY;BYHOUR=24",
        "FREQ=DAILY;BYMINUTE=60",
        "FREQ=DAILY;BYSECOND=61",
        "FREQ=MONTHLY;BYSETPOS=0",
        "FREQ=WEEKLY;WKST=XX",
        "FREQ=DAILY;BYHOUR=",
        "FREQ=DAILY;BYHOUR=1234567",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (rrule_check(bad[i]) == 0 || rrule_validate(bad[i]) == 0)
            fail_msg("accepted invalid rule '%s'", bad[i]);
    }
}

/* ---- recurrence: combinations RFC 5545 forbids, and rules libical cannot expand ---- */
static void forbidden_combinations(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "FREQ=WEEKLY;BYDAY=2MO",            /* ordinal outside MONTHLY/YEARLY */
        "FREQ=DAILY;BYDAY=-1FR",
        "FREQ=YEARLY;BYWEEKNO=1;BYDAY=2MO", /* ordinal with BYWEEKNO */
        "FREQ=WEEKLY;BYMONTHDAY=1",         /* BYMONTHDAY with WEEKLY */
        "FREQ=MONTHLY;BYYEARDAY=1",         /* BYYEARDAY only YEARLY */
        "FREQ=DAILY;BYWEEKNO=1",            /* BYWEEKNO only YEARLY */
        "FREQ=MONTHLY;BYSETPOS=1",          /* BYSETPOS alone */
        /* never match: libical would search until 2582 for an instance */
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=MONTHLY;BYMONTH=4,6;BYMONTHDAY=31",
        "FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=-31",
        "FREQ=MONTHLY;BYDAY=6MO",
        "FREQ=YEARLY;BYMONTH=3;BYDAY=-6FR",
        "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6",
        "FREQ=WEEKLY;BYDAY=MO;BYSETPOS=2",
        "FREQ=YEARLY;BYDAY=MO;BYSETPOS=60",
        "FREQ=MONTHLY;BYMONTHDAY=1;BYDAY=MO;BYSETPOS=2",
        "FREQ=MONTHLY;BYDAY=5MO;BYMONTHDAY=1",
        "FREQ=MONTHLY;BYMONTHDAY=5;BYDAY=-1MO",
        "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=1;BYDAY=-1MO",
        "FREQ=YEARLY;BYYEARDAY=1;BYMONTHDAY=2",
        "FREQ=YEARLY;BYYEARDAY=60;BYMONTH=1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (rrule_check(bad[i]) == 0 || rrule_validate(bad[i]) == 0)
            fail_msg("accepted invalid rule '%s'", bad[i]);
    static const char *const ok[] = {
        "FREQ=MONTHLY;BYDAY=2MO", "FREQ=YEARLY;BYMONTH=2;BYDAY=-1MO",
        "FREQ=YEARLY;BYWEEKNO=1;BYDAY=MO", "FREQ=MONTHLY;BYMONTHDAY=1,2;BYSETPOS=1",
        "FREQ=MONTHLY;BYMONTHDAY=31",             /* some months */
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",    /* leap years */
        "FREQ=MONTHLY;BYMONTH=2;BYDAY=5MO",       /* Feb 29 on a Monday: every 28 years */
        "FREQ=MONTHLY;BYMONTHDAY=13;BYDAY=FR",    /* Friday the 13th */
        "FREQ=MONTHLY;BYMONTHDAY=29;BYDAY=-1MO",
        "FREQ=YEARLY;BYDAY=53MO",                 /* years with 53 Mondays */
        "FREQ=YEARLY;BYDAY=-1SU;BYMONTHDAY=31",   /* limits only: any Sunday the 31st */
        "FREQ=YEARLY;BYYEARDAY=366",
        "FREQ=YEARLY;BYYEARDAY=60;BYMONTH=2,3",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1,23",
        "FREQ=DAILY;BYHOUR=9,17;BYSETPOS=2",
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        if (rrule_check(ok[i]) != 0 || rrule_validate(ok[i]) != 0)
            fail_msg("rejected valid rule '%s'", ok[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_rules),
        cmocka_unit_test(invalid_rules),
        cmocka_unit_test(forbidden_combinations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
