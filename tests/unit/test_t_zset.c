/*
 * test_t_zset.c - the sorted-set value: both encodings checked against a
 * sorted-array model under random adds, updates and deletes (ranks, access
 * by rank, score and lex ranges, range deletion), the conversions between
 * encodings at the configured limits, range parsing, score formatting,
 * ZSCAN coverage and the union accumulator.
 *
 * The model is an array of (score, member) kept sorted with the set's order
 * (score, then memcmp of the member). All randomness comes from xorshift
 * with fixed seeds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "mem.h"
#include "t_zset.h"

/* ---- model ---- */

struct mel {
	double score;
	char m[16];
	size_t mlen;
};

struct model {
	struct mel *e;
	size_t n, cap;
};

static int mel_cmp(const struct mel *a, double score, const char *m, size_t mlen)
{
	size_t k = a->mlen < mlen ? a->mlen : mlen;
	int c;

	if (a->score < score)
		return -1;
	if (a->score > score)
		return 1;
	c = memcmp(a->m, m, k);
	if (c)
		return c;
	return a->mlen < mlen ? -1 : a->mlen > mlen;
}

static long model_find(const struct model *md, const char *m, size_t mlen)
{
	for (size_t i = 0; i < md->n; i++)
		if (md->e[i].mlen == mlen && memcmp(md->e[i].m, m, mlen) == 0)
			return (long)i;
	return -1;
}

static void model_del_at(struct model *md, size_t i)
{
	memmove(&md->e[i], &md->e[i + 1], (md->n - i - 1) * sizeof(*md->e));
	md->n--;
}

static void model_set(struct model *md, double score, const char *m, size_t mlen)
{
	long at = model_find(md, m, mlen);
	size_t i = 0;

	if (at >= 0)
		model_del_at(md, (size_t)at);
	if (md->n == md->cap) {
		md->cap = md->cap ? md->cap * 2 : 64;
		md->e = realloc(md->e, md->cap * sizeof(*md->e));
	}
	while (i < md->n && mel_cmp(&md->e[i], score, m, mlen) < 0)
		i++;
	memmove(&md->e[i + 1], &md->e[i], (md->n - i) * sizeof(*md->e));
	md->e[i].score = score;
	memcpy(md->e[i].m, m, mlen);
	md->e[i].mlen = mlen;
	md->n++;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static size_t member_name(char *buf, uint64_t k)
{
	return (size_t)snprintf(buf, 16, "m%llu", (unsigned long long)k);
}

static bool elem_is(const struct zset_elem *e, const struct mel *x)
{
	return e->mlen == x->mlen && memcmp(e->m, x->m, x->mlen) == 0 && e->score == x->score;
}

static void set_limits(int entries, long long value)
{
	cfg.zset_max_listpack_entries = entries;
	cfg.zset_max_listpack_value = value;
}

static int setup(void **state)
{
	(void)state;
	cfg_init_defaults();
	return 0;
}

/* Every observable of z agrees with the model. */
static void check_against_model(const struct zset *z, const struct model *md, uint64_t *rng)
{
	struct zset_iter it;
	struct zset_elem e;
	size_t i;

	assert_int_equal(zset_len(z), md->n);
	zset_iter_rank(&it, z, 0, false);
	for (i = 0; zset_iter_next(&it, &e); i++)
		assert_true(elem_is(&e, &md->e[i]));
	assert_int_equal(i, md->n);
	zset_iter_rank(&it, z, 0, true);
	for (i = 0; zset_iter_next(&it, &e); i++)
		assert_true(elem_is(&e, &md->e[md->n - 1 - i]));
	assert_int_equal(i, md->n);
	for (i = 0; i < md->n; i++) {
		double s;

		assert_int_equal(zset_rank(z, md->e[i].m, md->e[i].mlen, false), (long long)i);
		assert_int_equal(zset_rank(z, md->e[i].m, md->e[i].mlen, true),
				 (long long)(md->n - 1 - i));
		assert_true(zset_score(z, md->e[i].m, md->e[i].mlen, &s));
		assert_true(s == md->e[i].score);
		assert_true(zset_at_rank(z, i, &e));
		assert_true(elem_is(&e, &md->e[i]));
	}
	assert_false(zset_at_rank(z, md->n, &e));
	assert_int_equal(zset_rank(z, "absent", 6, false), -1);

	/* A few random score ranges: count and both walks. */
	for (int k = 0; k < 8; k++) {
		struct zset_range r;
		size_t want = 0, first = SIZE_MAX, last = 0;

		r.min = (double)(xorshift(rng) % 60) - 5;
		r.max = (double)(xorshift(rng) % 60) - 5;
		r.minex = xorshift(rng) & 1;
		r.maxex = xorshift(rng) & 1;
		for (i = 0; i < md->n; i++) {
			if (zset_in_range(&r, md->e[i].score)) {
				want++;
				if (first == SIZE_MAX)
					first = i;
				last = i;
			}
		}
		assert_int_equal(zset_count(z, &r), want);
		zset_iter_score(&it, z, &r, false);
		for (i = 0; zset_iter_next(&it, &e); i++)
			assert_true(elem_is(&e, &md->e[first + i]));
		assert_int_equal(i, want);
		zset_iter_score(&it, z, &r, true);
		for (i = 0; zset_iter_next(&it, &e); i++)
			assert_true(elem_is(&e, &md->e[last - i]));
		assert_int_equal(i, want);
	}
}

/* Random adds, increments, GT/LT/NX/XX updates and deletes. */
static void random_ops(struct zset *z, struct model *md, uint64_t *rng, int nops, int pool)
{
	for (int op = 0; op < nops; op++) {
		char m[16];
		uint64_t r = xorshift(rng);
		size_t mlen = member_name(m, r % (uint64_t)pool);
		double score = (double)(xorshift(rng) % 50);
		long at = model_find(md, m, mlen);
		unsigned out;
		double ns;

		switch (r >> 40 & 7) {
		case 0:
		case 1:
		case 2:
			assert_int_equal(zset_add(z, score, m, mlen, 0, &out, &ns), 0);
			assert_int_equal(out, at < 0 ? ZSET_OUT_ADDED :
					 (md->e[at].score != score ? ZSET_OUT_UPDATED : 0));
			model_set(md, score, m, mlen);
			break;
		case 3:
			assert_int_equal(zset_add(z, 1.5, m, mlen, ZSET_IN_INCR, &out, &ns), 0);
			model_set(md, at < 0 ? 1.5 : md->e[at].score + 1.5, m, mlen);
			assert_true(ns == md->e[model_find(md, m, mlen)].score);
			break;
		case 4:
			assert_int_equal(zset_add(z, score, m, mlen, ZSET_IN_GT | ZSET_IN_XX, &out, &ns), 0);
			if (at >= 0 && score > md->e[at].score) {
				assert_int_equal(out, ZSET_OUT_UPDATED);
				model_set(md, score, m, mlen);
			} else {
				assert_int_equal(out, ZSET_OUT_NOP);
			}
			break;
		case 5:
			assert_int_equal(zset_add(z, score, m, mlen, ZSET_IN_NX, &out, &ns), 0);
			if (at < 0) {
				assert_int_equal(out, ZSET_OUT_ADDED);
				model_set(md, score, m, mlen);
			} else {
				assert_int_equal(out, ZSET_OUT_NOP);
			}
			break;
		default:
			assert_int_equal(zset_del(z, m, mlen), at >= 0);
			if (at >= 0)
				model_del_at(md, (size_t)at);
			break;
		}
	}
}

static void run_random_model(int entries, int nops, int pool, uint64_t seed, bool want_listpack)
{
	struct model md = { 0 };
	struct zset *z;
	uint64_t rng = seed;

	set_limits(entries, 64);
	z = zset_new(1, 1);
	for (int round = 0; round < 10; round++) {
		random_ops(z, &md, &rng, nops, pool);
		check_against_model(z, &md, &rng);
	}
	assert_int_equal(zset_is_listpack(z), want_listpack);
	zset_free(z);
	free(md.e);
}

/* ---- tests ---- */

static void test_skiplist_matches_sorted_array_under_random_ops(void **state)
{
	(void)state;
	run_random_model(0, 400, 300, 88172645463325252ull, false);
}

static void test_listpack_matches_sorted_array_under_random_ops(void **state)
{
	(void)state;
	run_random_model(100000, 200, 100, 0x1234567ull, true);
}

static void test_big_skiplist_rank_and_access_by_rank(void **state)
{
	struct model md = { 0 };
	uint64_t rng = 42;
	struct zset *z;

	(void)state;
	set_limits(0, 0);
	z = zset_new(1, 1);
	random_ops(z, &md, &rng, 20000, 5000);
	check_against_model(z, &md, &rng);
	/* Long skips go through ranks. */
	for (size_t start = 0; start < md.n; start += 97) {
		struct zset_iter it;
		struct zset_elem e;

		zset_iter_rank(&it, z, start, false);
		zset_iter_skip(&it, 1000);
		if (start + 1000 < md.n) {
			assert_true(zset_iter_next(&it, &e));
			assert_true(elem_is(&e, &md.e[start + 1000]));
		} else {
			assert_false(zset_iter_next(&it, &e));
		}
		zset_iter_rank(&it, z, start, true);
		zset_iter_skip(&it, 20);
		if (start + 20 < md.n) {
			assert_true(zset_iter_next(&it, &e));
			assert_true(elem_is(&e, &md.e[md.n - 1 - start - 20]));
		}
	}
	zset_free(z);
	free(md.e);
}

static void del_ranges_vs_model(int entries)
{
	uint64_t rng = 7;

	for (int round = 0; round < 60; round++) {
		struct model md = { 0 };
		struct zset *z;
		size_t want = 0;

		set_limits(entries, 64);
		z = zset_new(1, 1);
		random_ops(z, &md, &rng, 150, 80);
		if (md.n == 0) {
			zset_free(z);
			free(md.e);
			continue;
		}
		if (round % 3 == 0) {
			size_t a = xorshift(&rng) % md.n, b = xorshift(&rng) % md.n;
			size_t s = a < b ? a : b, e = a < b ? b : a;

			assert_int_equal(zset_del_rank(z, s, e), e - s + 1);
			for (size_t k = s; k <= e; k++)
				model_del_at(&md, s);
		} else if (round % 3 == 1) {
			struct zset_range r = { (double)(xorshift(&rng) % 40), 0, false, true };

			r.max = r.min + (double)(xorshift(&rng) % 20);
			for (size_t k = md.n; k-- > 0;) {
				if (zset_in_range(&r, md.e[k].score)) {
					model_del_at(&md, k);
					want++;
				}
			}
			assert_int_equal(zset_del_range(z, &r), want);
		} else {
			/* Lex ranges need equal scores: rebuild with score 0. */
			struct zset_lex_range r;
			char lo[16], hi[16];
			size_t lolen = member_name(lo, xorshift(&rng) % 80);
			size_t hilen = member_name(hi, xorshift(&rng) % 80);

			zset_free(z);
			z = zset_new(1, 1);
			for (size_t k = 0; k < md.n; k++) {
				unsigned out;

				assert_int_equal(zset_add(z, 0, md.e[k].m, md.e[k].mlen, 0, &out, NULL), 0);
			}
			{
				struct model flat = { 0 };

				for (size_t k = 0; k < md.n; k++)
					model_set(&flat, 0, md.e[k].m, md.e[k].mlen);
				free(md.e);
				md = flat;
			}
			assert_true(zset_parse_lex_range("[", 1, "+", 1, &r));
			r.min = lo;
			r.minlen = lolen;
			r.max = hi;
			r.maxlen = hilen;
			r.maxkind = ZSET_LEX_STR;
			r.maxex = true;
			for (size_t k = md.n; k-- > 0;) {
				const struct mel *x = &md.e[k];
				int cl = memcmp(x->m, lo, x->mlen < lolen ? x->mlen : lolen);
				int ch = memcmp(x->m, hi, x->mlen < hilen ? x->mlen : hilen);

				if (!cl)
					cl = (x->mlen > lolen) - (x->mlen < lolen);
				if (!ch)
					ch = (x->mlen > hilen) - (x->mlen < hilen);
				if (cl >= 0 && ch < 0) {
					model_del_at(&md, k);
					want++;
				}
			}
			assert_int_equal(zset_del_lex(z, &r), want);
		}
		check_against_model(z, &md, &rng);
		zset_free(z);
		free(md.e);
	}
}

static void test_skiplist_range_deletes_match_model(void **state)
{
	(void)state;
	del_ranges_vs_model(0);
}

static void test_listpack_range_deletes_match_model(void **state)
{
	(void)state;
	del_ranges_vs_model(100000);
}

static void test_lex_ranges_and_counts(void **state)
{
	static const char *const names[] = { "a", "b", "c", "d", "e", "f", "g" };

	(void)state;
	for (int enc = 0; enc < 2; enc++) {
		struct zset_lex_range r;
		struct zset_iter it;
		struct zset_elem e;
		struct zset *z;
		unsigned out;

		set_limits(enc ? 0 : 128, 64);
		z = zset_new(1, 1);
		for (size_t i = 0; i < 7; i++)
			zset_add(z, 0, names[i], 1, 0, &out, NULL);
		assert_int_equal(zset_is_listpack(z), enc == 0);

		assert_true(zset_parse_lex_range("-", 1, "+", 1, &r));
		assert_int_equal(zset_lex_count(z, &r), 7);
		assert_true(zset_parse_lex_range("[b", 2, "(e", 2, &r));
		assert_int_equal(zset_lex_count(z, &r), 3);
		zset_iter_lex(&it, z, &r, true);
		assert_true(zset_iter_next(&it, &e));
		assert_memory_equal(e.m, "d", 1);
		assert_true(zset_parse_lex_range("(b", 2, "[b", 2, &r));
		assert_int_equal(zset_lex_count(z, &r), 0);
		assert_true(zset_parse_lex_range("+", 1, "-", 1, &r));
		assert_int_equal(zset_lex_count(z, &r), 0);
		assert_true(zset_parse_lex_range("-", 1, "-", 1, &r));
		assert_int_equal(zset_lex_count(z, &r), 0);
		assert_true(zset_parse_lex_range("[c", 2, "+", 1, &r));
		assert_int_equal(zset_del_lex(z, &r), 5);
		assert_int_equal(zset_len(z), 2);
		zset_free(z);
	}
}

static void test_range_parsing_follows_redis(void **state)
{
	struct zset_range r;
	struct zset_lex_range lr;

	(void)state;
	assert_true(zset_parse_range("(1.5", 4, "+inf", 4, &r));
	assert_true(r.minex && !r.maxex && r.min == 1.5 && isinf(r.max) && r.max > 0);
	assert_true(zset_parse_range("-inf", 4, "(3", 2, &r));
	assert_true(isinf(r.min) && r.min < 0 && r.maxex && r.max == 3);
	assert_true(zset_parse_range(" 1", 2, "2", 1, &r));	/* strtod skips spaces */
	assert_false(zset_parse_range("abc", 3, "1", 1, &r));
	assert_false(zset_parse_range("1", 1, "nan", 3, &r));
	assert_false(zset_parse_range("1x", 2, "2", 1, &r));
	assert_false(zset_parse_range("((1", 3, "2", 1, &r));

	assert_true(zset_parse_lex_range("[a", 2, "(z", 2, &lr));
	assert_true(!lr.minex && lr.maxex && lr.minlen == 1 && lr.min[0] == 'a');
	assert_true(zset_parse_lex_range("-", 1, "+", 1, &lr));
	assert_true(lr.minkind == ZSET_LEX_MIN && lr.maxkind == ZSET_LEX_MAX);
	assert_true(zset_parse_lex_range("[", 1, "(", 1, &lr));	/* empty strings */
	assert_false(zset_parse_lex_range("a", 1, "+", 1, &lr));
	assert_false(zset_parse_lex_range("-", 1, "+x", 2, &lr));
	assert_false(zset_parse_lex_range("", 0, "+", 1, &lr));
}

static void test_score_format_matches_listpack_storage(void **state)
{
	char buf[32];

	(void)state;
	assert_int_equal(zset_format_score(buf, 1), 1);
	assert_string_equal(buf, "1");
	zset_format_score(buf, -42);
	assert_string_equal(buf, "-42");
	zset_format_score(buf, 1.5);
	assert_string_equal(buf, "1.5");
	zset_format_score(buf, 0.1);
	assert_string_equal(buf, "0.10000000000000001");
	zset_format_score(buf, INFINITY);
	assert_string_equal(buf, "inf");
	zset_format_score(buf, -INFINITY);
	assert_string_equal(buf, "-inf");
	zset_format_score(buf, 1e20);
	assert_string_equal(buf, "1e+20");
}

static void test_listpack_converts_to_skiplist_past_the_entry_limit(void **state)
{
	struct zset *z;
	unsigned out;
	char m[16];

	(void)state;
	set_limits(4, 64);
	z = zset_new(1, 1);
	for (int i = 0; i < 4; i++)
		zset_add(z, i, m, member_name(m, (uint64_t)i), 0, &out, NULL);
	assert_true(zset_is_listpack(z));
	assert_string_equal(zset_encoding(z), "listpack");
	zset_add(z, 9, "x", 1, 0, &out, NULL);
	assert_false(zset_is_listpack(z));
	assert_string_equal(zset_encoding(z), "skiplist");
	assert_int_equal(zset_len(z), 5);
	assert_int_equal(zset_rank(z, "x", 1, false), 4);
	/* Back under the limit, compaction brings the listpack back. */
	assert_true(zset_del(z, "x", 1));
	zset_compact(z);
	assert_true(zset_is_listpack(z));
	assert_int_equal(zset_rank(z, "m3", 2, true), 0);
	zset_free(z);
}

static void test_long_member_converts_to_skiplist(void **state)
{
	char big[65];
	struct zset *z;
	unsigned out;

	(void)state;
	set_limits(128, 64);
	memset(big, 'a', sizeof(big));
	z = zset_new(1, 1);
	zset_add(z, 1, "short", 5, 0, &out, NULL);
	zset_add(z, 2, big, 64, 0, &out, NULL);
	assert_true(zset_is_listpack(z));
	zset_add(z, 3, big, 65, 0, &out, NULL);
	assert_false(zset_is_listpack(z));
	zset_compact(z);
	assert_false(zset_is_listpack(z));	/* a member is still too long */
	zset_free(z);
	z = zset_new(1, 65);
	assert_false(zset_is_listpack(z));
	zset_free(z);
	set_limits(0, 64);
	z = zset_new(1, 1);
	assert_false(zset_is_listpack(z));
	zset_free(z);
}

static void test_add_flags_follow_zadd_rules(void **state)
{
	(void)state;
	for (int enc = 0; enc < 2; enc++) {
		struct zset *z;
		unsigned out;
		double ns = 0;

		set_limits(enc ? 0 : 128, 64);
		z = zset_new(1, 1);
		assert_int_equal(zset_add(z, 5, "a", 1, ZSET_IN_XX, &out, &ns), 0);
		assert_int_equal(out, ZSET_OUT_NOP);
		assert_int_equal(zset_len(z), 0);
		assert_int_equal(zset_add(z, 5, "a", 1, 0, &out, &ns), 0);
		assert_int_equal(out, ZSET_OUT_ADDED);
		assert_int_equal(zset_add(z, 5, "a", 1, 0, &out, &ns), 0);
		assert_int_equal(out, 0);
		assert_int_equal(zset_add(z, 4, "a", 1, ZSET_IN_GT, &out, &ns), 0);
		assert_int_equal(out, ZSET_OUT_NOP);
		assert_int_equal(zset_add(z, 6, "a", 1, ZSET_IN_GT, &out, &ns), 0);
		assert_int_equal(out, ZSET_OUT_UPDATED);
		assert_int_equal(zset_add(z, 7, "a", 1, ZSET_IN_LT, &out, &ns), 0);
		assert_int_equal(out, ZSET_OUT_NOP);
		assert_int_equal(zset_add(z, 2, "a", 1, ZSET_IN_INCR | ZSET_IN_LT, &out, &ns), 0);
		assert_int_equal(out, ZSET_OUT_NOP);
		assert_int_equal(zset_add(z, -2, "a", 1, ZSET_IN_INCR | ZSET_IN_LT, &out, &ns), 0);
		assert_int_equal(out, ZSET_OUT_UPDATED);
		assert_true(ns == 4);
		assert_int_equal(zset_add(z, INFINITY, "a", 1, 0, &out, &ns), 0);
		assert_int_equal(zset_add(z, -INFINITY, "a", 1, ZSET_IN_INCR, &out, &ns), -EDOM);
		assert_int_equal(zset_add(z, NAN, "b", 1, 0, &out, &ns), -EDOM);
		assert_int_equal(zset_len(z), 1);
		zset_free(z);
	}
}

static void scan_collect(const char *m, size_t mlen, const char *s, size_t slen, void *arg)
{
	uint32_t *seen = arg;
	char mb[16], sb[32];
	unsigned long k;

	assert_true(mlen < sizeof(mb) && slen > 0 && slen < sizeof(sb));
	memcpy(mb, m, mlen);
	mb[mlen] = '\0';
	memcpy(sb, s, slen);
	sb[slen] = '\0';
	k = strtoul(mb + 1, NULL, 10);
	assert_true(strtod(sb, NULL) == (double)k);
	seen[k]++;
}

static void test_scan_visits_every_member(void **state)
{
	(void)state;
	for (int enc = 0; enc < 2; enc++) {
		uint32_t seen[1000] = { 0 };
		uint64_t cursor = 0;
		struct zset *z;
		unsigned out;
		int calls = 0;
		char m[16];

		set_limits(enc ? 0 : 2000, 64);
		z = zset_new(1, 1);
		for (uint64_t i = 0; i < 1000; i++)
			zset_add(z, (double)i, m, member_name(m, i), 0, &out, NULL);
		do {
			cursor = zset_scan(z, cursor, scan_collect, seen);
			calls++;
		} while (cursor);
		for (int i = 0; i < 1000; i++)
			assert_true(seen[i] >= 1);
		if (!enc)
			assert_int_equal(calls, 1);
		zset_free(z);
	}
}

static void test_accumulate_sums_and_aggregates(void **state)
{
	struct zset *z;
	double s;

	(void)state;
	set_limits(128, 64);
	z = zset_new(SIZE_MAX, 0);
	zset_accumulate(z, "a", 1, 1, ZSET_AGG_SUM);
	zset_accumulate(z, "a", 1, 2.5, ZSET_AGG_SUM);
	zset_accumulate(z, "b", 1, INFINITY, ZSET_AGG_SUM);
	zset_accumulate(z, "b", 1, -INFINITY, ZSET_AGG_SUM);
	zset_accumulate(z, "c", 1, 3, ZSET_AGG_MIN);
	zset_accumulate(z, "c", 1, 1, ZSET_AGG_MIN);
	zset_accumulate(z, "d", 1, 3, ZSET_AGG_MAX);
	zset_accumulate(z, "d", 1, 10, ZSET_AGG_MAX);
	assert_true(zset_score(z, "a", 1, &s) && s == 3.5);
	assert_true(zset_score(z, "b", 1, &s) && s == 0);	/* inf - inf is 0 */
	assert_true(zset_score(z, "c", 1, &s) && s == 1);
	assert_true(zset_score(z, "d", 1, &s) && s == 10);
	assert_int_equal(zset_rank(z, "d", 1, true), 0);
	zset_compact(z);
	assert_true(zset_is_listpack(z));
	assert_int_equal(zset_rank(z, "b", 1, false), 0);
	zset_free(z);
}

static void test_dup_is_deep_and_free_returns_memory(void **state)
{
	size_t before = mem_used();

	(void)state;
	for (int enc = 0; enc < 2; enc++) {
		struct zset *z, *d;
		unsigned out;
		char m[16];

		set_limits(enc ? 0 : 128, 64);
		z = zset_new(1, 1);
		for (uint64_t i = 0; i < 100; i++)
			zset_add(z, (double)(i % 7), m, member_name(m, i), 0, &out, NULL);
		d = zset_dup(z);
		assert_int_equal(zset_is_listpack(d), zset_is_listpack(z));
		zset_del(z, "m5", 2);
		assert_int_equal(zset_len(d), 100);
		assert_true(zset_score(d, "m5", 2, NULL));
		assert_true(zset_mem(d) > 100);
		zset_free(z);
		kv_zset_ops.free(d);
	}
	assert_int_equal(mem_used(), before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_skiplist_matches_sorted_array_under_random_ops),
		cmocka_unit_test(test_listpack_matches_sorted_array_under_random_ops),
		cmocka_unit_test(test_big_skiplist_rank_and_access_by_rank),
		cmocka_unit_test(test_skiplist_range_deletes_match_model),
		cmocka_unit_test(test_listpack_range_deletes_match_model),
		cmocka_unit_test(test_lex_ranges_and_counts),
		cmocka_unit_test(test_range_parsing_follows_redis),
		cmocka_unit_test(test_score_format_matches_listpack_storage),
		cmocka_unit_test(test_listpack_converts_to_skiplist_past_the_entry_limit),
		cmocka_unit_test(test_long_member_converts_to_skiplist),
		cmocka_unit_test(test_add_flags_follow_zadd_rules),
		cmocka_unit_test(test_scan_visits_every_member),
		cmocka_unit_test(test_accumulate_sums_and_aggregates),
		cmocka_unit_test(test_dup_is_deep_and_free_returns_memory),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
