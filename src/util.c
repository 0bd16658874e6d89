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

uint64_t util_cycles_per_us = 1000;

void util_cycles_calibrate(void)
{
	struct timespec pause = { 0, 5 * 1000 * 1000 };
	int64_t t0 = util_monotonic_us(), t1;
	uint64_t c0 = util_cycles(), c1;

	nanosleep(&pause, NULL);
	t1 = util_monotonic_us();
	c1 = util_cycles();
	if (t1 > t0 && c1 > c0)
		util_cycles_per_us = (c1 - c0) / (uint64_t)(t1 - t0);
	if (!util_cycles_per_us)
		util_cycles_per_us = 1;
}
