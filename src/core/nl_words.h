/*
 * nl_words.h — the keywords of the quick-add language (private to nl.c). The
 * list must stay sorted (byte order): the tokenizer finds a word by binary
 * search, and nl_selfcheck() verifies the order.
 */
#ifndef TOCK_CORE_NL_WORDS_H
#define TOCK_CORE_NL_WORDS_H

#define NL_WORDS(X) \
    X(a) X(add) X(after) X(afternoon) X(afternoons) X(ahead) X(alert) X(am) X(an) X(and) \
    X(annually) X(apr) X(april) X(around) X(asap) X(at) X(aug) X(august) X(before) \
    X(beginning) X(biweekly) X(business) X(by) X(clock) X(coming) X(completing) \
    X(completion) X(create) X(d) X(daily) X(day) X(days) X(dec) X(december) X(due) X(each) \
    X(earlier) X(eight) X(eighteen) X(eighth) X(eleven) X(eleventh) X(end) X(ending) X(eod) \
    X(eom) X(evening) X(evenings) X(every) X(everyday) X(feb) X(february) X(fifteen) \
    X(fifth) X(fifty) X(first) X(five) X(for) X(fortnightly) X(forty) X(four) X(fourteen) \
    X(fourth) X(fri) X(friday) X(fridays) X(from) X(h) X(half) X(high) X(highest) X(hour) \
    X(hours) X(hr) X(hrs) X(important) X(in) X(item) X(jan) X(january) X(jul) X(july) \
    X(jun) X(june) X(last) X(later) X(low) X(m) X(mar) X(march) X(may) X(me) X(med) \
    X(medium) X(midday) X(midnight) X(min) X(mins) X(minute) X(minutes) X(mo) X(mon) \
    X(monday) X(mondays) X(month) X(monthly) X(months) X(morning) X(mornings) X(nd) X(new) \
    X(next) X(night) X(nightly) X(nights) X(nine) X(nineteen) X(ninth) X(noon) X(normal) \
    X(notify) X(nov) X(november) X(now) X(o) X(occurrences) X(oct) X(october) X(of) X(on) \
    X(one) X(other) X(p) X(pm) X(prio) X(prior) X(priority) X(quarter) X(quarterly) X(rd) \
    X(remind) X(reminder) X(sat) X(saturday) X(saturdays) X(second) X(sep) X(sept) \
    X(september) X(set) X(seven) X(seventeen) X(seventh) X(six) X(sixteen) X(sixth) \
    X(sixty) X(st) X(starting) X(sun) X(sunday) X(sundays) X(task) X(tasks) X(ten) X(tenth) \
    X(th) X(the) X(then) X(third) X(thirteen) X(thirty) X(this) X(three) X(through) X(thru) \
    X(thu) X(thur) X(thurs) X(thursday) X(thursdays) X(til) X(till) X(time) X(times) X(tmr) \
    X(tmrw) X(tmw) X(to) X(today) X(todo) X(tomorrow) X(tonight) X(top) X(tue) X(tues) \
    X(tuesday) X(tuesdays) X(twelfth) X(twelve) X(twenty) X(two) X(until) X(urgent) X(very) \
    X(w) X(wed) X(wednesday) X(wednesdays) X(weds) X(week) X(weekday) X(weekdays) \
    X(weekend) X(weekends) X(weekly) X(weeks) X(with) X(within) X(wk) X(wks) X(workday) \
    X(workdays) X(y) X(year) X(yearly) X(years) X(yr) X(yrs)

#endif
