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

/* A cheap cycle counter for timing commands (the TSC on x86, nanoseconds of
 * the monotonic clock elsewhere) and its rate, measured once at start-up by
 * util_cycles_calibrate(). Clock reads cost ~20 ns through the vDSO; at a
 * million commands a second, three per command were 7% of the CPU. */
static inline uint64_t util_cycles(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __builtin_ia32_rdtsc();
#else
	return (uint64_t)util_monotonic_us() * 1000;
#endif
}
void util_cycles_calibrate(void);
extern uint64_t util_cycles_per_us;	/* never 0 */

#endif
