/*
 * test_blob_alloc.c - the blob tier's buddy allocator against its contract
 * and against a reference model.
 *
 * The model is an owner map with one entry per block (0 = free, else the id
 * of the live value holding it) plus a "fresh" byte per block (free space not
 * yet reported for punching). It knows nothing about buddies: after every
 * operation the allocator's extents must land on free blocks of the map, and
 * at checkpoints the allocator's free blocks per order must be exactly the
 * maximal aligned blocks of the map's free runs (full coalescing), with the
 * accounting exact. Random tests use fixed seeds, so a failure repeats.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blob_alloc.h"
#include "mem.h"
#include "util.h"

#define KB 1024ULL
#define MB (1024ULL * KB)
#define GB (1024ULL * MB)
#define B4K 4096ULL

/* ---- helpers ---- */

static uint64_t rng_state;

static void rng_seed(uint64_t seed)
{
	rng_state = seed;
}

/* splitmix64 */
static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static uint64_t rng_range(uint64_t lo, uint64_t hi)
{
	return lo + rng() % (hi - lo + 1);
}

static struct blob_alloc *make(uint64_t block, uint64_t capacity)
{
	struct blob_alloc *a = NULL;

	assert_int_equal(blob_alloc_create(block, capacity, &a), 0);
	assert_non_null(a);
	return a;
}

static void assert_consistent(const struct blob_alloc *a)
{
	const char *why = blob_alloc_check_why(a);

	if (why)
		fail_msg("blob_alloc_check: %s", why);
	assert_true(blob_alloc_check(a));
}

static struct blob_alloc_stats stats(const struct blob_alloc *a)
{
	struct blob_alloc_stats st;

	blob_alloc_stats(a, &st);
	return st;
}

/* want[k]: expected free blocks of order k, for orders 0..n-1; every other
 * order must have none. */
static void assert_free_by_order(const struct blob_alloc *a, const uint64_t *want, int n)
{
	struct blob_alloc_stats st = stats(a);
	int k;

	for (k = 0; k < BLOB_ALLOC_ORDERS; k++)
		assert_int_equal(st.free_by_order[k], k < n ? want[k] : 0);
}

static struct blob_extent ext(uint64_t off, uint64_t len)
{
	struct blob_extent e = { off, len };

	return e;
}

static uint64_t sum_len(const struct blob_extent *e, int n)
{
	uint64_t s = 0;
	int i;

	for (i = 0; i < n; i++)
		s += e[i].len;
	return s;
}

static bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

/* Every extent a power-of-two number of blocks, aligned to its length. */
static void assert_buddy_extents(const struct blob_extent *e, int n, uint64_t block)
{
	int i;

	for (i = 0; i < n; i++) {
		assert_true(e[i].len % block == 0);
		assert_true(is_pow2(e[i].len / block));
		assert_true(e[i].len <= BLOB_ALLOC_MAX_EXTENT);
		assert_int_equal(e[i].off % e[i].len, 0);
	}
}

/* Counts of the maximal aligned blocks (order <= max_order) that tile the
 * blocks [s, e): what a fully coalesced allocator holds for a free run. */
static void carve(uint64_t s, uint64_t e, unsigned max_order, uint64_t *cnt)
{
	unsigned k;

	while (s < e) {
		k = s ? (unsigned)__builtin_ctzll(s) : max_order;
		if (k > max_order)
			k = max_order;
		while ((1ULL << k) > e - s)
			k--;
		cnt[k]++;
		s += 1ULL << k;
	}
}

static unsigned max_order_of(uint64_t block)
{
	return (unsigned)__builtin_ctzll(BLOB_ALLOC_MAX_EXTENT / block);
}

/* ---- create, grow, shrink ---- */

static void test_create_rejects_bad_arguments(void **state)
{
	struct blob_alloc *a = NULL;

	(void)state;
	assert_int_equal(blob_alloc_create(2048, 0, &a), -EINVAL);
	assert_int_equal(blob_alloc_create(6144, 0, &a), -EINVAL);
	assert_int_equal(blob_alloc_create(2 * GB, 0, &a), -EINVAL);
	assert_int_equal(blob_alloc_create(B4K, 4097, &a), -EINVAL);
	assert_int_equal(blob_alloc_create(B4K, BLOB_ALLOC_MAX_CAPACITY + B4K, &a), -EFBIG);
	assert_null(a);
}

static void test_create_carves_capacity_into_maximal_blocks(void **state)
{
	static const uint64_t seven[] = { 1, 1, 1 };
	uint64_t three_gb[BLOB_ALLOC_ORDERS] = { 0 };
	struct blob_alloc *a;

	(void)state;
	a = make(B4K, 0);
	assert_free_by_order(a, NULL, 0);
	assert_int_equal(stats(a).capacity, 0);
	assert_consistent(a);
	blob_alloc_destroy(a);

	a = make(B4K, 7 * B4K);
	assert_free_by_order(a, seven, 3);
	assert_int_equal(stats(a).free, 7 * B4K);
	assert_int_equal(stats(a).largest_free, 4 * B4K);
	assert_consistent(a);
	blob_alloc_destroy(a);

	/* Nothing larger than BLOB_ALLOC_MAX_EXTENT: three 1 GiB blocks. */
	a = make(B4K, 3 * GB);
	three_gb[18] = 3;
	assert_free_by_order(a, three_gb, BLOB_ALLOC_ORDERS);
	assert_consistent(a);
	blob_alloc_destroy(a);
}

static void test_destroy_accepts_null(void **state)
{
	(void)state;
	blob_alloc_destroy(NULL);
}

static void test_grow_coalesces_with_free_buddies(void **state)
{
	static const uint64_t one_of_order_3[] = { 0, 0, 0, 1 };
	struct blob_alloc *a = make(B4K, 3 * B4K);

	(void)state;
	assert_int_equal(blob_alloc_grow(a, 8 * B4K), 0);
	assert_free_by_order(a, one_of_order_3, 4);
	assert_int_equal(blob_alloc_capacity(a), 8 * B4K);
	assert_consistent(a);
	blob_alloc_destroy(a);
}

static void test_grow_rejects_smaller_or_unaligned_capacity(void **state)
{
	struct blob_alloc *a = make(B4K, 8 * B4K);

	(void)state;
	assert_int_equal(blob_alloc_grow(a, 4 * B4K), -EINVAL);
	assert_int_equal(blob_alloc_grow(a, 8 * B4K + 512), -EINVAL);
	assert_int_equal(blob_alloc_grow(a, BLOB_ALLOC_MAX_CAPACITY + B4K), -EFBIG);
	assert_int_equal(blob_alloc_grow(a, 8 * B4K), 0);
	assert_int_equal(blob_alloc_capacity(a), 8 * B4K);
	assert_consistent(a);
	blob_alloc_destroy(a);
}

static void test_trim_point_is_end_of_highest_extent(void **state)
{
	struct blob_alloc *a = make(B4K, 64 * B4K);
	struct blob_extent e[4], f[4];

	(void)state;
	assert_int_equal(blob_alloc_trim_point(a), 0);
	/* Best fit splits the 64-block block: 16 blocks at 0, 1 block at 16. */
	assert_int_equal(blob_alloc_value(a, 16 * B4K, e, 4), 1);
	assert_int_equal(blob_alloc_value(a, B4K, f, 4), 1);
	assert_int_equal(f[0].off, 16 * B4K);
	assert_int_equal(blob_alloc_trim_point(a), 17 * B4K);
	blob_alloc_free(a, f, 1);
	assert_int_equal(blob_alloc_trim_point(a), 16 * B4K);
	blob_alloc_free(a, e, 1);
	assert_int_equal(blob_alloc_trim_point(a), 0);
	blob_alloc_destroy(a);
}

static void test_shrink_to_trim_point_forgets_the_tail(void **state)
{
	static const uint64_t after[] = { 0, 0, 0, 1 };
	struct blob_alloc *a = make(B4K, 64 * B4K);
	struct blob_extent e[4];
	struct blob_alloc_stats st;

	(void)state;
	assert_int_equal(blob_alloc_value(a, 8 * B4K, e, 4), 1);
	assert_int_equal(blob_alloc_value(a, 8 * B4K, e + 1, 4), 1);
	assert_int_equal(e[1].off, 8 * B4K);
	blob_alloc_free(a, e, 1);
	assert_int_equal(blob_alloc_trim_point(a), 16 * B4K);
	assert_int_equal(blob_alloc_shrink(a, 16 * B4K), 0);
	st = stats(a);
	assert_int_equal(st.capacity, 16 * B4K);
	assert_int_equal(st.allocated, 8 * B4K);
	assert_int_equal(st.free, 8 * B4K);
	assert_free_by_order(a, after, 4);
	assert_consistent(a);
	/* The space can grow back, and merges with the free block below. */
	blob_alloc_free(a, e + 1, 1);
	assert_int_equal(blob_alloc_grow(a, 32 * B4K), 0);
	assert_int_equal(stats(a).free_by_order[5], 1);
	assert_int_equal(stats(a).nfree_blocks, 1);
	assert_consistent(a);
	blob_alloc_destroy(a);
}

static void test_shrink_below_trim_point_is_einval(void **state)
{
	struct blob_alloc *a = make(B4K, 64 * B4K);
	struct blob_extent e[4];

	(void)state;
	assert_int_equal(blob_alloc_value(a, 5 * B4K, e, 4), 2);
	assert_int_equal(blob_alloc_trim_point(a), 5 * B4K);
	assert_int_equal(blob_alloc_shrink(a, 4 * B4K), -EINVAL);
	assert_int_equal(blob_alloc_shrink(a, 5 * B4K + 1), -EINVAL);
	assert_int_equal(blob_alloc_shrink(a, 65 * B4K), -EINVAL);
	assert_int_equal(blob_alloc_capacity(a), 64 * B4K);
	assert_consistent(a);
	blob_alloc_destroy(a);
}

static void test_shrink_keeps_lower_part_of_straddling_block(void **state)
{
	static const uint64_t five[] = { 1, 0, 1 };
	struct blob_alloc *a = make(B4K, 8 * B4K);

	(void)state;
	assert_int_equal(blob_alloc_shrink(a, 5 * B4K), 0);
	assert_free_by_order(a, five, 3);
	assert_int_equal(stats(a).free, 5 * B4K);
	assert_consistent(a);
	blob_alloc_destroy(a);
}

static void test_memory_is_under_seven_bits_per_block(void **state)
{
	struct blob_alloc *a = make(B4K, 4 * GB);
	uint64_t blocks = 4 * GB / B4K;

	(void)state;
	/* Three bitmaps of ~2 bits per block each, plus the struct. */
	assert_true(stats(a).mem_bytes * 8 < 7 * blocks);
	assert_true(stats(a).mem_bytes * 8 > 6 * blocks);
	blob_alloc_destroy(a);
}

/* ---- values ---- */

static void test_alloc_zero_length_is_einval(void **state)
{
	struct blob_alloc *a = make(B4K, 64 * B4K);
	struct blob_extent e[4];

	(void)state;
	assert_int_equal(blob_alloc_value(a, 0, e, 4), -EINVAL);
	assert_int_equal(blob_alloc_value(a, B4K, e, 0), -EINVAL);
	assert_int_equal(stats(a).allocated, 0);
	blob_alloc_destroy(a);
}

static void test_alloc_power_of_two_takes_one_extent(void **state)
{
	struct blob_alloc *a = make(B4K, 1024 * B4K);
	struct blob_extent e[4];

	(void)state;
	assert_int_equal(blob_alloc_value(a, 256 * KB, e, 4), 1);
	assert_int_equal(e[0].off, 0);
	assert_int_equal(e[0].len, 256 * KB);
	/* A partial last block rounds up to a whole block. */
	assert_int_equal(blob_alloc_value(a, 3 * B4K + 1, e, 4), 1);
	assert_int_equal(e[0].len, 4 * B4K);
	blob_alloc_destroy(a);
}

/* Block counts and the extent lengths (in blocks) they get with 4 extents:
 * N rounded up to the finest multiple of 2^q that has at most 4 set bits. */
static void test_alloc_rounds_to_finest_granularity_with_4_extents(void **state)
{
	static const struct {
		uint64_t blocks;
		int n;
		uint64_t want[4];
	} cases[] = {
		{ 5, 2, { 4, 1 } },
		{ 23, 4, { 16, 4, 2, 1 } },	/* 10111: exact */
		{ 91, 4, { 64, 16, 8, 4 } },	/* 1011011 -> 1011100 (q = 2) */
		{ 93, 2, { 64, 32 } },		/* 1011101 -> 1011110 (5 bits) -> 1100000 */
		{ 31, 1, { 32 } },		/* 11111 -> 100000 */
		{ 47, 2, { 32, 16 } },		/* 101111 -> 110000 */
		{ 1000, 1, { 1024 } },		/* 1111101000 -> 1111110000 -> 10000000000 */
	};
	struct blob_alloc *a = make(B4K, 4096 * B4K);
	struct blob_extent e[4];
	size_t c;
	int n, i;

	(void)state;
	for (c = 0; c < ARRAY_SIZE(cases); c++) {
		n = blob_alloc_value(a, cases[c].blocks * B4K, e, 4);
		assert_int_equal(n, cases[c].n);
		for (i = 0; i < n; i++)
			assert_int_equal(e[i].len, cases[c].want[i] * B4K);
		blob_alloc_free(a, e, n);
	}
	assert_int_equal(stats(a).allocated, 0);
	blob_alloc_destroy(a);
}

/* Fewer extents round more coarsely: 1100 blocks = 10001001100. */
static void test_alloc_honours_max_extents(void **state)
{
	struct blob_alloc *a = make(B4K, 4096 * B4K);
	struct blob_extent e[4];

	(void)state;
	assert_int_equal(blob_alloc_value(a, 1100 * B4K, e, 4), 4);
	assert_int_equal(sum_len(e, 4), 1100 * B4K);
	blob_alloc_free(a, e, 4);
	/* 3 extents: 1104 = 10001010000. */
	assert_int_equal(blob_alloc_value(a, 1100 * B4K, e, 3), 3);
	assert_int_equal(e[0].len, 1024 * B4K);
	assert_int_equal(e[1].len, 64 * B4K);
	assert_int_equal(e[2].len, 16 * B4K);
	blob_alloc_free(a, e, 3);
	/* 2 extents: 1152 = 10010000000. */
	assert_int_equal(blob_alloc_value(a, 1100 * B4K, e, 2), 2);
	assert_int_equal(e[0].len, 1024 * B4K);
	assert_int_equal(e[1].len, 128 * B4K);
	blob_alloc_free(a, e, 2);
	/* 1 extent: the next power of two. */
	assert_int_equal(blob_alloc_value(a, 1100 * B4K, e, 1), 1);
	assert_int_equal(e[0].len, 2048 * B4K);
	blob_alloc_free(a, e, 1);
	assert_consistent(a);
	blob_alloc_destroy(a);
}

static void test_alloc_prefers_smallest_order_then_lowest_offset(void **state)
{
	struct blob_alloc *a = make(B4K, 16 * B4K);
	struct blob_extent x[4], y[4], z[4];

	(void)state;
	/* Free: [0,16). Take 1 block at 0: free 1@1, 2@2, 4@4, 8@8. */
	assert_int_equal(blob_alloc_value(a, B4K, x, 4), 1);
	assert_int_equal(x[0].off, 0);
	/* Two blocks: the free 2-block at 2, not a split of 4@4 or 8@8. */
	assert_int_equal(blob_alloc_value(a, 2 * B4K, y, 4), 1);
	assert_int_equal(y[0].off, 2 * B4K);
	/* One block: 1@1. */
	assert_int_equal(blob_alloc_value(a, B4K, z, 4), 1);
	assert_int_equal(z[0].off, 1 * B4K);
	assert_consistent(a);
	blob_alloc_destroy(a);
}

static void test_alloc_takes_lowest_offset_within_an_order(void **state)
{
	struct blob_alloc *a = make(B4K, 16 * B4K);
	struct blob_extent e[4][4], x[4];
	int i;

	(void)state;
	for (i = 0; i < 4; i++)
		assert_int_equal(blob_alloc_value(a, 4 * B4K, e[i], 4), 1);
	/* Free 4@12 then 4@4: their buddies are live, so two free blocks of
	 * order 2; the one at 4 is taken first, whatever the free order. */
	blob_alloc_free(a, e[3], 1);
	blob_alloc_free(a, e[1], 1);
	assert_int_equal(stats(a).free_by_order[2], 2);
	assert_int_equal(blob_alloc_value(a, B4K, x, 4), 1);
	assert_int_equal(x[0].off, 4 * B4K);
	assert_int_equal(blob_alloc_value(a, 4 * B4K, x, 4), 1);
	assert_int_equal(x[0].off, 12 * B4K);
	assert_consistent(a);
	blob_alloc_destroy(a);
}

static void test_alloc_enospc_allocates_nothing(void **state)
{
	static const uint64_t before[] = { 0, 1, 1 };
	struct blob_alloc *a = make(B4K, 8 * B4K);
	struct blob_extent e[4], f[4];

	(void)state;
	assert_int_equal(blob_alloc_value(a, 2 * B4K, e, 4), 1);
	/* Free: 2@2 and 4@4. Seven blocks = 4 + 2 + 1: the first two extents
	 * would fit, the third not; nothing may be taken. */
	assert_int_equal(blob_alloc_value(a, 7 * B4K, f, 4), -ENOSPC);
	assert_int_equal(stats(a).allocated, 2 * B4K);
	assert_free_by_order(a, before, 3);
	assert_consistent(a);
	/* Six blocks = 4 + 2 fit exactly. */
	assert_int_equal(blob_alloc_value(a, 6 * B4K, f, 4), 2);
	assert_int_equal(stats(a).free, 0);
	assert_int_equal(blob_alloc_value(a, 1, f, 4), -ENOSPC);
	blob_alloc_destroy(a);
}

static void test_alloc_efbig_when_max_extents_too_small(void **state)
{
	struct blob_alloc *a = make(MB, 16 * GB);
	struct blob_extent e[16];

	(void)state;
	assert_int_equal(blob_alloc_value(a, 5 * GB, e, 4), -EFBIG);
	assert_int_equal(blob_alloc_value(a, GB + 1, e, 1), -EFBIG);
	assert_int_equal(stats(a).allocated, 0);
	/* Exactly four largest extents fit in four. */
	assert_int_equal(blob_alloc_value(a, 4 * GB, e, 4), 4);
	assert_int_equal(stats(a).allocated, 4 * GB);
	blob_alloc_destroy(a);
}

static void test_alloc_value_over_max_extent_uses_extents_for(void **state)
{
	struct blob_alloc *a = make(MB, 16 * GB);
	struct blob_extent e[16];
	uint64_t len = 5 * GB + 7 * MB + 1;	/* 5 x 1 GiB + 8 MiB: 6 extents */
	int want = blob_alloc_extents_for(len), n, i;

	(void)state;
	assert_int_equal(blob_alloc_extents_for(GB), BLOB_ALLOC_EXTENTS);
	assert_int_equal(want, 6 + 3);
	n = blob_alloc_value(a, len, e, want);
	assert_int_equal(n, 6);
	for (i = 0; i < 5; i++)
		assert_int_equal(e[i].len, GB);
	assert_int_equal(e[5].len, 8 * MB);
	assert_buddy_extents(e, n, MB);
	assert_consistent(a);
	blob_alloc_destroy(a);
}

/* The space for the smallest len of each block count, for every count from
 * 64 KiB to 64 MiB at 4 KiB blocks: the worst case of each count. */
static void test_space_is_within_1_15_of_len_for_every_block_count(void **state)
{
	struct blob_alloc *a = make(B4K, 128 * MB);
	struct blob_extent e[4];
	double worst = 0, r;
	uint64_t nb, len, worst_len = 0;
	int n;

	(void)state;
	for (nb = 16; nb <= 64 * MB / B4K; nb++) {
		len = nb == 16 ? 64 * KB : (nb - 1) * B4K + 1;
		n = blob_alloc_value(a, len, e, 4);
		assert_true(n >= 1 && n <= 4);
		r = (double)sum_len(e, n) / (double)len;
		if (r > worst) {
			worst = r;
			worst_len = len;
		}
		assert_true(r <= 17.0 / 15.0);
		blob_alloc_free(a, e, n);
	}
	print_message("space/len worst over every block count 64KiB..64MiB: %.4f "
		      "(len %llu)\n", worst, (unsigned long long)worst_len);
	assert_true(worst <= 1.15);
	assert_int_equal(stats(a).allocated, 0);
	blob_alloc_destroy(a);
}

static void test_space_ratio_for_random_lengths(void **state)
{
	struct blob_alloc *a = make(B4K, 128 * MB);
	struct blob_extent e[4];
	double worst = 0, sum = 0, r;
	uint64_t len;
	int i, n, samples = 200000;

	(void)state;
	rng_seed(15);
	for (i = 0; i < samples; i++) {
		/* Uniform in the exponent, then in the mantissa: every size
		 * class gets as many samples. */
		len = 64 * KB << rng_range(0, 9);
		len = rng_range(len, MIN(2 * len, 64 * MB));
		n = blob_alloc_value(a, len, e, 4);
		assert_true(n >= 1 && n <= 4);
		r = (double)sum_len(e, n) / (double)len;
		sum += r;
		worst = MAX(worst, r);
		blob_alloc_free(a, e, n);
	}
	print_message("space/len for %d random lengths 64KiB..64MiB: worst %.4f, "
		      "mean %.4f\n", samples, worst, sum / samples);
	assert_true(worst <= 1.15);
	blob_alloc_destroy(a);
}

static void test_every_extent_is_aligned_to_its_size(void **state)
{
	struct blob_alloc *a = make(B4K, 256 * MB);
	struct blob_extent e[64][4];
	int n[64], i, round;

	(void)state;
	rng_seed(42);
	for (round = 0; round < 200; round++) {
		for (i = 0; i < 64; i++) {
			n[i] = blob_alloc_value(a, rng_range(1, 2 * MB), e[i], 4);
			assert_true(n[i] >= 1);
			assert_buddy_extents(e[i], n[i], B4K);
		}
		for (i = 0; i < 64; i += 1 + (int)(rng() % 2))
			blob_alloc_free(a, e[i], n[i]), n[i] = 0;
		for (i = 0; i < 64; i++)
			if (n[i])
				blob_alloc_free(a, e[i], n[i]);
	}
	assert_int_equal(stats(a).allocated, 0);
	assert_consistent(a);
	blob_alloc_destroy(a);
}

static void test_grow_target_makes_alloc_succeed(void **state)
{
	struct blob_alloc *a = make(B4K, 0);
	struct blob_extent e[4];
	uint64_t cap, len;
	int i, n;

	(void)state;
	rng_seed(7);
	for (i = 0; i < 2000; i++) {
		len = rng_range(1, 8 * MB);
		n = blob_alloc_value(a, len, e, 4);
		if (n == -ENOSPC) {
			assert_int_equal(blob_alloc_grow_target(a, len, 4, &cap), 0);
			assert_true(cap > blob_alloc_capacity(a));
			assert_int_equal(blob_alloc_grow(a, cap), 0);
			n = blob_alloc_value(a, len, e, 4);
		}
		assert_true(n >= 1);
		/* Free about half, so the file has holes of every size. */
		if (rng() & 1)
			blob_alloc_free(a, e, n);
	}
	assert_int_equal(blob_alloc_grow_target(a, 0, 4, &cap), -EINVAL);
	assert_consistent(a);
	blob_alloc_destroy(a);
}

/* ---- free ---- */

static void test_free_coalesces_fully(void **state)
{
	uint64_t want[BLOB_ALLOC_ORDERS] = { 0 };
	uint64_t cap = 3 * GB + 5 * MB + 12 * KB;
	struct blob_alloc *a = make(B4K, cap);
	struct blob_extent (*e)[4] = mem_alloc(4096 * sizeof(*e));
	struct blob_extent tmp[4];
	int n[4096], i, j, t, cnt = 0;

	(void)state;
	rng_seed(3);
	while (cnt < 4096) {
		n[cnt] = blob_alloc_value(a, rng_range(1, 4 * MB), e[cnt], 4);
		if (n[cnt] < 0)
			break;
		cnt++;
	}
	/* Free in a random order. */
	for (i = cnt - 1; i > 0; i--) {
		j = (int)(rng() % (uint64_t)(i + 1));
		t = n[i], n[i] = n[j], n[j] = t;
		memcpy(tmp, e[i], sizeof(tmp));
		memcpy(e[i], e[j], sizeof(tmp));
		memcpy(e[j], tmp, sizeof(tmp));
	}
	for (i = 0; i < cnt; i++)
		blob_alloc_free(a, e[i], n[i]);
	carve(0, cap / B4K, max_order_of(B4K), want);
	assert_free_by_order(a, want, BLOB_ALLOC_ORDERS);
	assert_int_equal(stats(a).allocated, 0);
	assert_int_equal(stats(a).free, cap);
	assert_consistent(a);
	mem_free(e);
	blob_alloc_destroy(a);
}

/* Runs fn in a child and expects it to abort (an ASSERT). */
static void assert_aborts(void (*fn)(void))
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stderr))
			_exit(2);
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
}

static void free_never_allocated(void)
{
	struct blob_alloc *a = make(B4K, 64 * B4K);
	struct blob_extent e = ext(8 * B4K, 8 * B4K);

	blob_alloc_free(a, &e, 1);
}

static void free_twice(void)
{
	struct blob_alloc *a = make(B4K, 64 * B4K);
	struct blob_extent e[4];
	int n = blob_alloc_value(a, 8 * B4K, e, 4);

	blob_alloc_free(a, e, n);
	blob_alloc_free(a, e, n);
}

static void free_part_of_extent(void)
{
	struct blob_alloc *a = make(B4K, 64 * B4K);
	struct blob_extent e[4];

	blob_alloc_value(a, 8 * B4K, e, 4);
	e[0].len = 4 * B4K;
	blob_alloc_free(a, e, 1);
}

static void test_free_of_unallocated_extent_aborts(void **state)
{
	(void)state;
	assert_aborts(free_never_allocated);
	assert_aborts(free_twice);
	assert_aborts(free_part_of_extent);
}

/* ---- reserve ---- */

static void test_reserve_marks_extents_in_use(void **state)
{
	static const uint64_t want[] = { 1, 1, 2 };
	struct blob_alloc *a = make(B4K, 16 * B4K);
	struct blob_extent e[2] = { ext(4 * B4K, 4 * B4K), ext(12 * B4K, B4K) };

	(void)state;
	assert_int_equal(blob_alloc_reserve(a, e, 2), 0);
	assert_int_equal(stats(a).allocated, 5 * B4K);
	/* Free: 4@0, 4@8, 1@13, 2@14. */
	assert_free_by_order(a, want, 3);
	assert_consistent(a);
	blob_alloc_free(a, e, 2);
	assert_int_equal(stats(a).nfree_blocks, 1);
	assert_consistent(a);
	blob_alloc_destroy(a);
}

static void test_reserve_rejects_overlap(void **state)
{
	struct blob_alloc *a = make(B4K, 16 * B4K);
	struct blob_extent e = ext(0, 4 * B4K);
	struct blob_extent inside = ext(2 * B4K, B4K);
	struct blob_extent around = ext(0, 8 * B4K);
	struct blob_extent again = ext(0, 4 * B4K);

	(void)state;
	assert_int_equal(blob_alloc_reserve(a, &e, 1), 0);
	assert_int_equal(blob_alloc_reserve(a, &inside, 1), -EEXIST);
	assert_int_equal(blob_alloc_reserve(a, &around, 1), -EEXIST);
	assert_int_equal(blob_alloc_reserve(a, &again, 1), -EEXIST);
	assert_int_equal(stats(a).allocated, 4 * B4K);
	assert_consistent(a);
	blob_alloc_destroy(a);
}

static void test_reserve_rejects_invalid_buddy_block(void **state)
{
	struct blob_alloc *a = make(B4K, 4 * GB);
	struct blob_extent bad[] = {
		ext(0, 3 * B4K),		/* not a power of two */
		ext(2 * B4K, 4 * B4K),		/* not aligned to its length */
		ext(0, 2048),			/* not whole blocks */
		ext(B4K, 0),			/* empty */
		ext(0, 2 * GB),			/* over the largest extent */
		ext(1, B4K),			/* offset inside a block */
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(blob_alloc_reserve(a, &bad[i], 1), -EEXIST);
	assert_int_equal(stats(a).allocated, 0);
	assert_consistent(a);
	blob_alloc_destroy(a);
}

static void test_reserve_outside_capacity_is_erange(void **state)
{
	struct blob_alloc *a = make(B4K, 16 * B4K);
	struct blob_extent e = ext(16 * B4K, 16 * B4K);
	struct blob_extent bad[2] = { ext(3 * B4K, 4 * B4K), ext(64 * B4K, B4K) };

	(void)state;
	assert_int_equal(blob_alloc_reserve(a, &e, 1), -ERANGE);
	/* -ERANGE is reported before -EEXIST. */
	assert_int_equal(blob_alloc_reserve(a, bad, 2), -ERANGE);
	assert_int_equal(blob_alloc_grow(a, 32 * B4K), 0);
	assert_int_equal(blob_alloc_reserve(a, &e, 1), 0);
	assert_int_equal(stats(a).allocated, 16 * B4K);
	assert_consistent(a);
	blob_alloc_destroy(a);
}

static void test_reserve_is_all_or_nothing(void **state)
{
	static const uint64_t whole[] = { 0, 0, 0, 0, 0, 1 };
	struct blob_alloc *a = make(B4K, 32 * B4K);
	struct blob_extent e[3] = {
		ext(0, 8 * B4K), ext(16 * B4K, 2 * B4K), ext(4 * B4K, B4K),
	};

	(void)state;
	assert_int_equal(blob_alloc_reserve(a, e, 3), -EEXIST);
	assert_int_equal(stats(a).allocated, 0);
	assert_free_by_order(a, whole, 6);
	assert_consistent(a);
	blob_alloc_destroy(a);
}

/* ---- punching ---- */

static void test_punch_reports_each_free_block_once(void **state)
{
	struct blob_alloc *a = make(B4K, 24 * B4K);
	struct blob_extent out[8];

	(void)state;
	/* 16@0 and 8@16, largest first. */
	assert_int_equal(blob_alloc_punch_candidates(a, 0, out, 8), 2);
	assert_int_equal(out[0].off, 0);
	assert_int_equal(out[0].len, 16 * B4K);
	assert_int_equal(out[1].off, 16 * B4K);
	assert_int_equal(out[1].len, 8 * B4K);
	assert_int_equal(blob_alloc_punch_candidates(a, 0, out, 8), 0);
	assert_int_equal(stats(a).unreported, 0);
	assert_int_equal(blob_alloc_punch_candidates(a, 0, out, -1), -EINVAL);
	assert_consistent(a);
	blob_alloc_destroy(a);
}

static void test_punch_skips_blocks_below_min_len(void **state)
{
	struct blob_alloc *a = make(B4K, 7 * B4K);
	struct blob_extent out[8];

	(void)state;
	/* 4@0, 2@4, 1@6: at least 2 blocks, and at most one per call. */
	assert_int_equal(blob_alloc_punch_candidates(a, 2 * B4K - 1, out, 1), 1);
	assert_int_equal(out[0].len, 4 * B4K);
	assert_int_equal(blob_alloc_punch_candidates(a, 2 * B4K, out, 8), 1);
	assert_int_equal(out[0].off, 4 * B4K);
	assert_int_equal(blob_alloc_punch_candidates(a, 2 * GB, out, 8), 0);
	assert_int_equal(stats(a).unreported, B4K);
	assert_int_equal(blob_alloc_punch_candidates(a, 0, out, 8), 1);
	assert_int_equal(out[0].off, 6 * B4K);
	blob_alloc_destroy(a);
}

static void test_punch_split_of_reported_block_stays_reported(void **state)
{
	struct blob_alloc *a = make(B4K, 16 * B4K);
	struct blob_extent out[8], e[4];

	(void)state;
	assert_int_equal(blob_alloc_punch_candidates(a, 0, out, 8), 1);
	/* Allocating splits the punched block; the rest is still a hole. */
	assert_int_equal(blob_alloc_value(a, B4K, e, 4), 1);
	assert_int_equal(blob_alloc_punch_candidates(a, 0, out, 8), 0);
	assert_int_equal(stats(a).unreported, 0);
	assert_consistent(a);
	blob_alloc_destroy(a);
}

static void test_punch_reports_freed_space_again(void **state)
{
	struct blob_alloc *a = make(B4K, 16 * B4K);
	struct blob_extent out[8], e[4];

	(void)state;
	assert_int_equal(blob_alloc_value(a, 4 * B4K, e, 4), 1);
	assert_int_equal(blob_alloc_punch_candidates(a, 0, out, 8), 2);
	/* Freeing merges back into the reported 4@4 and 8@8: the union is one
	 * free block with unreported space in it, reported whole. */
	blob_alloc_free(a, e, 1);
	assert_int_equal(stats(a).unreported, 16 * B4K);
	assert_int_equal(blob_alloc_punch_candidates(a, 0, out, 8), 1);
	assert_int_equal(out[0].off, 0);
	assert_int_equal(out[0].len, 16 * B4K);
	assert_int_equal(blob_alloc_punch_candidates(a, 0, out, 8), 0);
	assert_consistent(a);
	blob_alloc_destroy(a);
}

static void test_punch_reports_grown_space(void **state)
{
	struct blob_alloc *a = make(B4K, 16 * B4K);
	struct blob_extent out[8];

	(void)state;
	assert_int_equal(blob_alloc_punch_candidates(a, 0, out, 8), 1);
	assert_int_equal(blob_alloc_grow(a, 24 * B4K), 0);
	assert_int_equal(blob_alloc_punch_candidates(a, 0, out, 8), 1);
	assert_int_equal(out[0].off, 16 * B4K);
	assert_int_equal(out[0].len, 8 * B4K);
	blob_alloc_destroy(a);
}

/* ---- stats ---- */

static void test_stats_allocated_is_exact_sum_of_extents(void **state)
{
	struct blob_alloc *a = make(B4K, 64 * MB);
	struct blob_extent e[4];
	uint64_t live = 0;
	int i, n;

	(void)state;
	rng_seed(99);
	for (i = 0; i < 100; i++) {
		n = blob_alloc_value(a, rng_range(1, 300 * KB), e, 4);
		assert_true(n > 0);
		live += sum_len(e, n);
		assert_int_equal(stats(a).allocated, live);
		assert_int_equal(stats(a).free, 64 * MB - live);
	}
	blob_alloc_destroy(a);
}

static void test_stats_fragmentation_and_largest_free(void **state)
{
	struct blob_alloc *a = make(B4K, 16 * B4K);
	struct blob_extent e[4];
	struct blob_alloc_stats st;

	(void)state;
	assert_true(stats(a).fragmentation == 0.0);
	/* Take 1@0: free 1@1, 2@2, 4@4, 8@8 = 15 blocks, largest 8. */
	assert_int_equal(blob_alloc_value(a, B4K, e, 4), 1);
	st = stats(a);
	assert_int_equal(st.largest_free, 8 * B4K);
	assert_int_equal(st.nfree_blocks, 4);
	assert_true(st.fragmentation > 7.0 / 15 - 1e-9 && st.fragmentation < 7.0 / 15 + 1e-9);
	blob_alloc_destroy(a);
	/* Free space over the largest extent: whole 1 GiB blocks are ideal. */
	a = make(B4K, 3 * GB);
	assert_true(stats(a).fragmentation == 0.0);
	assert_int_equal(stats(a).largest_free, GB);
	blob_alloc_destroy(a);
}

/* ---- random operations against the model ---- */

#define MODEL_MAX_EXT 16

struct model_value {
	uint32_t id;
	int n;
	struct blob_extent e[MODEL_MAX_EXT];
};

struct model {
	uint64_t block;
	unsigned max_order;
	uint64_t limit;		/* most blocks the test lets the file have */
	uint64_t nblocks;	/* capacity in blocks */
	uint32_t *owner;	/* per block: 0 free, else the value's id */
	uint8_t *fresh;		/* per block: free and not reported */
	uint64_t nfresh;	/* blocks with fresh set */
	struct model_value *live;
	int nlive, maxlive;
	uint32_t next_id;
	uint64_t allocated;	/* blocks */
};

static void model_set_fresh(struct model *m, uint64_t b, uint8_t v)
{
	m->nfresh += (uint64_t)v - m->fresh[b];
	m->fresh[b] = v;
}

static void model_grow(struct model *m, struct blob_alloc *a, uint64_t nb)
{
	uint64_t b;

	assert_int_equal(blob_alloc_grow(a, nb * m->block), 0);
	for (b = m->nblocks; b < nb; b++)
		model_set_fresh(m, b, 1);
	m->nblocks = nb;
}

static void model_check(struct model *m, struct blob_alloc *a)
{
	uint64_t want[BLOB_ALLOC_ORDERS] = { 0 }, b, s;
	struct blob_alloc_stats st = stats(a);

	assert_consistent(a);
	assert_int_equal(st.capacity, m->nblocks * m->block);
	assert_int_equal(st.allocated, m->allocated * m->block);
	for (b = 0; b < m->nblocks;) {
		if (m->owner[b]) {
			b++;
			continue;
		}
		for (s = b; b < m->nblocks && !m->owner[b]; b++)
			;
		carve(s, b, m->max_order, want);
	}
	assert_free_by_order(a, want, BLOB_ALLOC_ORDERS);
}

static uint64_t model_len(struct model *m)
{
	uint64_t r = rng() % 1000;

	if (m->block == B4K) {
		if (r < 600)
			return rng_range(1, 256 * KB);
		if (r < 990)
			return rng_range(256 * KB, 4 * MB);
		return rng_range(4 * MB, 64 * MB);
	}
	if (r < 700)
		return rng_range(1, 64 * MB);
	if (r < 995)
		return rng_range(64 * MB, 1 * GB);
	return rng_range(1 * GB, 3 * GB);
}

static void model_alloc(struct model *m, struct blob_alloc *a)
{
	struct model_value *v = &m->live[m->nlive];
	uint64_t len = model_len(m), cap, b;
	int max = blob_alloc_extents_for(len), n, i;

	assert_true(max <= MODEL_MAX_EXT);
	n = blob_alloc_value(a, len, v->e, max);
	if (n == -ENOSPC) {
		assert_int_equal(blob_alloc_grow_target(a, len, max, &cap), 0);
		if (cap / m->block > m->limit)
			return;
		model_grow(m, a, cap / m->block);
		n = blob_alloc_value(a, len, v->e, max);
	}
	assert_true(n >= 1 && n <= max);
	assert_true(sum_len(v->e, n) >= len);
	assert_buddy_extents(v->e, n, m->block);
	v->id = ++m->next_id;
	v->n = n;
	for (i = 0; i < n; i++) {
		assert_true(v->e[i].off + v->e[i].len <= m->nblocks * m->block);
		for (b = v->e[i].off / m->block; b < (v->e[i].off + v->e[i].len) / m->block; b++) {
			assert_int_equal(m->owner[b], 0);
			m->owner[b] = v->id;
			model_set_fresh(m, b, 0);
		}
		m->allocated += v->e[i].len / m->block;
	}
	m->nlive++;
}

static void model_free(struct model *m, struct blob_alloc *a)
{
	int x = (int)(rng() % (uint64_t)m->nlive), i;
	struct model_value *v = &m->live[x];
	uint64_t b;

	for (i = 0; i < v->n; i++) {
		for (b = v->e[i].off / m->block; b < (v->e[i].off + v->e[i].len) / m->block; b++) {
			assert_int_equal(m->owner[b], v->id);
			m->owner[b] = 0;
			model_set_fresh(m, b, 1);
		}
		m->allocated -= v->e[i].len / m->block;
	}
	blob_alloc_free(a, v->e, v->n);
	*v = m->live[--m->nlive];
}

static void model_shrink(struct model *m, struct blob_alloc *a)
{
	uint64_t t = blob_alloc_trim_point(a) / m->block, b, nb;

	/* The trim point is just above the highest owned block. */
	for (b = m->nblocks; b > 0 && !m->owner[b - 1]; b--)
		;
	assert_int_equal(t, b);
	nb = rng_range(t, m->nblocks);
	assert_int_equal(blob_alloc_shrink(a, nb * m->block), 0);
	for (b = nb; b < m->nblocks; b++)
		model_set_fresh(m, b, 0);
	m->nblocks = nb;
}

/* Reported blocks are free, aligned, and (when everything is asked for)
 * cover every fresh block of the model. */
static void model_punch(struct model *m, struct blob_alloc *a)
{
	struct blob_extent out[64];
	uint64_t min = rng() & 1 ? 0 : m->block << rng_range(0, m->max_order), b;
	int n, i;

	do {
		n = blob_alloc_punch_candidates(a, min, out, 64);
		assert_true(n >= 0);
		assert_buddy_extents(out, n, m->block);
		for (i = 0; i < n; i++) {
			assert_true(out[i].len >= min);
			for (b = out[i].off / m->block; b < (out[i].off + out[i].len) / m->block; b++) {
				assert_int_equal(m->owner[b], 0);
				model_set_fresh(m, b, 0);
			}
		}
	} while (n == 64);
	assert_int_equal(blob_alloc_punch_candidates(a, min, out, 64), 0);
	if (min == 0) {
		assert_int_equal(m->nfresh, 0);
		assert_int_equal(stats(a).unreported, 0);
	}
}

static void run_model(uint64_t block, uint64_t limit, uint64_t seed, int ops)
{
	struct model m = { 0 };
	struct blob_alloc *a = make(block, 0);
	uint64_t want[BLOB_ALLOC_ORDERS] = { 0 }, r;
	int i, counts[5] = { 0 };

	rng_seed(seed);
	m.block = block;
	m.max_order = max_order_of(block);
	m.limit = limit;
	m.owner = mem_calloc(limit, sizeof(*m.owner));
	m.fresh = mem_calloc(limit, 1);
	m.maxlive = 1 << 16;
	m.live = mem_alloc((size_t)m.maxlive * sizeof(*m.live));
	for (i = 0; i < ops; i++) {
		r = rng() % 1000;
		/* Alloc more while the file is less than half used. */
		if (m.nlive < m.maxlive &&
		    (r < (m.allocated * 2 < limit ? 560u : 470u) || !m.nlive)) {
			model_alloc(&m, a);
			counts[0]++;
		} else if (r < 960) {
			model_free(&m, a);
			counts[1]++;
		} else if (r < 975) {
			if (m.nblocks < limit)
				model_grow(&m, a, rng_range(m.nblocks, limit));
			counts[2]++;
		} else if (r < 990) {
			model_shrink(&m, a);
			counts[3]++;
		} else {
			model_punch(&m, a);
			counts[4]++;
		}
		if (i % 4096 == 0)
			model_check(&m, a);
	}
	model_check(&m, a);
	while (m.nlive)
		model_free(&m, a);
	/* Everything freed: exactly the maximal blocks of the capacity. */
	carve(0, m.nblocks, m.max_order, want);
	assert_free_by_order(a, want, BLOB_ALLOC_ORDERS);
	assert_int_equal(stats(a).allocated, 0);
	assert_consistent(a);
	print_message("block %llu: %d ops (alloc %d, free %d, grow %d, shrink %d, "
		      "punch %d), final capacity %llu blocks\n",
		      (unsigned long long)block, ops, counts[0], counts[1], counts[2],
		      counts[3], counts[4], (unsigned long long)m.nblocks);
	mem_free(m.owner);
	mem_free(m.fresh);
	mem_free(m.live);
	blob_alloc_destroy(a);
}

static void test_random_ops_match_model_4k_blocks(void **state)
{
	(void)state;
	run_model(B4K, 1 << 17, 0x5eed0001, 1500000);
}

static void test_random_ops_match_model_1m_blocks(void **state)
{
	(void)state;
	run_model(MB, 1 << 14, 0x5eed0002, 1000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_rejects_bad_arguments),
		cmocka_unit_test(test_create_carves_capacity_into_maximal_blocks),
		cmocka_unit_test(test_destroy_accepts_null),
		cmocka_unit_test(test_grow_coalesces_with_free_buddies),
		cmocka_unit_test(test_grow_rejects_smaller_or_unaligned_capacity),
		cmocka_unit_test(test_trim_point_is_end_of_highest_extent),
		cmocka_unit_test(test_shrink_to_trim_point_forgets_the_tail),
		cmocka_unit_test(test_shrink_below_trim_point_is_einval),
		cmocka_unit_test(test_shrink_keeps_lower_part_of_straddling_block),
		cmocka_unit_test(test_memory_is_under_seven_bits_per_block),
		cmocka_unit_test(test_alloc_zero_length_is_einval),
		cmocka_unit_test(test_alloc_power_of_two_takes_one_extent),
		cmocka_unit_test(test_alloc_rounds_to_finest_granularity_with_4_extents),
		cmocka_unit_test(test_alloc_honours_max_extents),
		cmocka_unit_test(test_alloc_prefers_smallest_order_then_lowest_offset),
		cmocka_unit_test(test_alloc_takes_lowest_offset_within_an_order),
		cmocka_unit_test(test_alloc_enospc_allocates_nothing),
		cmocka_unit_test(test_alloc_efbig_when_max_extents_too_small),
		cmocka_unit_test(test_alloc_value_over_max_extent_uses_extents_for),
		cmocka_unit_test(test_space_is_within_1_15_of_len_for_every_block_count),
		cmocka_unit_test(test_space_ratio_for_random_lengths),
		cmocka_unit_test(test_every_extent_is_aligned_to_its_size),
		cmocka_unit_test(test_grow_target_makes_alloc_succeed),
		cmocka_unit_test(test_free_coalesces_fully),
		cmocka_unit_test(test_free_of_unallocated_extent_aborts),
		cmocka_unit_test(test_reserve_marks_extents_in_use),
		cmocka_unit_test(test_reserve_rejects_overlap),
		cmocka_unit_test(test_reserve_rejects_invalid_buddy_block),
		cmocka_unit_test(test_reserve_outside_capacity_is_erange),
		cmocka_unit_test(test_reserve_is_all_or_nothing),
		cmocka_unit_test(test_punch_reports_each_free_block_once),
		cmocka_unit_test(test_punch_skips_blocks_below_min_len),
		cmocka_unit_test(test_punch_split_of_reported_block_stays_reported),
		cmocka_unit_test(test_punch_reports_freed_space_again),
		cmocka_unit_test(test_punch_reports_grown_space),
		cmocka_unit_test(test_stats_allocated_is_exact_sum_of_extents),
		cmocka_unit_test(test_stats_fragmentation_and_largest_free),
		cmocka_unit_test(test_random_ops_match_model_4k_blocks),
		cmocka_unit_test(test_random_ops_match_model_1m_blocks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
