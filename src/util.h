/*
 * util.h - assertions, branch hints and clocks shared by every module.
 *
 * ASSERT is always on: an invariant that does not hold is a bug, and a
 * server that goes on after one may corrupt data. DASSERT is for checks that
 * cost more than the code they guard; it compiles only with -DSTRATA_DEBUG.
 * Client input never reaches an ASSERT: bad input is an error reply.
 */
#ifndef STRATA_UTIL_H
#define STRATA_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Prints the expression, file and line to stderr and aborts. */
_Noreturn void util_assert_fail(const char *expr, const char *file, int line);

#define ASSERT(e) \
	do { if (unlikely(!(e))) util_assert_fail(#e, __FILE__, __LINE__); } while (0)
#ifdef STRATA_DEBUG
#define DASSERT(e) ASSERT(e)
#else
#define DASSERT(e) ((void)0)
#endif

/* Wall clock (CLOCK_REALTIME) in microseconds and milliseconds since the
 * epoch: what TTLs, TIME and EXPIREAT are measured in. */
int64_t util_ustime(void);
int64_t util_mstime(void);
/* Monotonic clock (CLOCK_MONOTONIC) in microseconds: for durations. */
int64_t util_monotonic_us(void);

#endif
