/*
 * lathist.c - log-linear latency histograms (see lathist.h).
 *
 * Bucket of a value v: below LATHIST_SUB, v itself. Otherwise, with m the
 * index of v's highest set bit (m >= LATHIST_SUB_BITS), the LATHIST_SUB_BITS
 * bits after it pick one of the LATHIST_SUB buckets of [2^m, 2^(m+1)), which
 * come after the buckets of the lower powers:
 *
 *     bucket = LATHIST_SUB + (m - LATHIST_SUB_BITS) * LATHIST_SUB + sub
 *
 * Every bucket of [2^m, 2^(m+1)) is 2^(m - LATHIST_SUB_BITS) wide.
 */
#include "lathist.h"

#include <math.h>

static int bucket_of(uint64_t v)
{
	int m, sub;

	if (v < LATHIST_SUB)
		return (int)v;
	m = 63 - __builtin_clzll(v);
	sub = (int)((v >> (m - LATHIST_SUB_BITS)) & (LATHIST_SUB - 1));
	return LATHIST_SUB + (m - LATHIST_SUB_BITS) * LATHIST_SUB + sub;
}

/* The highest value that falls in bucket b. */
static uint64_t bucket_high(int b)
{
	int m, sub;

	if (b < LATHIST_SUB)
		return (uint64_t)b;
	m = (b - LATHIST_SUB) / LATHIST_SUB + LATHIST_SUB_BITS;
	sub = (b - LATHIST_SUB) % LATHIST_SUB;
	return (((uint64_t)LATHIST_SUB + (uint64_t)sub + 1) << (m - LATHIST_SUB_BITS)) - 1;
}

void lathist_record(struct lathist *h, uint64_t ns)
{
	if (ns < 1)
		ns = 1;
	if (ns >= (1ull << LATHIST_MAX_BITS))
		ns = (1ull << LATHIST_MAX_BITS) - 1;
	h->count[bucket_of(ns)]++;
	h->total++;
}

void lathist_merge(struct lathist *dst, const struct lathist *src)
{
	for (int b = 0; b < LATHIST_BUCKETS; b++)
		dst->count[b] += src->count[b];
	dst->total += src->total;
}

uint64_t lathist_percentile(const struct lathist *h, double pct)
{
	uint64_t want, seen = 0;
	int last = 0;

	if (!h->total)
		return 0;
	if (pct > 100.0)
		pct = 100.0;
	want = (uint64_t)ceil(pct / 100.0 * (double)h->total);
	if (want < 1)
		want = 1;
	for (int b = 0; b < LATHIST_BUCKETS; b++) {
		if (!h->count[b])
			continue;
		seen += h->count[b];
		last = b;
		if (seen >= want)
			break;
	}
	return bucket_high(last);
}
