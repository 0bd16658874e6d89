/*
 * lathist.h - latency histograms for INFO latencystats.
 *
 * A histogram counts durations in nanoseconds, from 1 ns to 2^30 ns (about
 * 1.07 s; longer ones count as the longest), in log-linear buckets: values
 * below 64 exactly, and each power of two above split into 64 equal
 * buckets, so a value is known within 1/64 (1.6%) -- the two significant
 * digits Redis 7.0 keeps with HdrHistogram. 1600 buckets, 12.5 KiB.
 *
 * Not thread-safe: a histogram belongs to one shard; readers (INFO) merge
 * them while the shards are parked.
 */
#ifndef STRATA_LATHIST_H
#define STRATA_LATHIST_H

#include <stdint.h>

#define LATHIST_SUB_BITS 6			/* 64 buckets per power of two */
#define LATHIST_SUB (1 << LATHIST_SUB_BITS)
#define LATHIST_MAX_BITS 30			/* values up to 2^30 - 1 ns */
#define LATHIST_BUCKETS (LATHIST_SUB + (LATHIST_MAX_BITS - LATHIST_SUB_BITS) * LATHIST_SUB)

struct lathist {
	uint64_t total;				/* values recorded */
	uint64_t count[LATHIST_BUCKETS];	/* per bucket */
};

/* Counts one duration of ns nanoseconds (clamped to 1 .. 2^30 - 1). */
void lathist_record(struct lathist *h, uint64_t ns);
/* Adds every count of src to dst. */
void lathist_merge(struct lathist *dst, const struct lathist *src);
/* The smallest recorded value v (in ns, as the highest value of its
 * bucket) such that at least pct percent (0..100) of the values are <= v,
 * as HdrHistogram's value_at_percentile answers; 0 for an empty histogram. */
uint64_t lathist_percentile(const struct lathist *h, double pct);

#endif
