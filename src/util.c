/*
 * util.c - the always-on assertion and the clocks.
 */
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void util_assert_fail(const char *expr, const char *file, int line)
{
	fprintf(stderr, "ASSERTION FAILED: %s at %s:%d\n", expr, file, line);
	fflush(stderr);
	abort();
}

static int64_t clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t util_ustime(void) { return clock_us(CLOCK_REALTIME); }
int64_t util_mstime(void) { return clock_us(CLOCK_REALTIME) / 1000; }
int64_t util_monotonic_us(void) { return clock_us(CLOCK_MONOTONIC); }
