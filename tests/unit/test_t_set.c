/*
 * test_t_set.c - the set value: which encoding a set gets and when it
 * converts (Redis 7.0's rules), membership across both encodings, random
 * members and their fairness, iteration, scan, copies, swap, memory and the
 * kv_type_ops table.
 *
 * set-max-intset-entries is read from the global cfg at each add, so tests
 * set cfg.set_max_intset_entries directly (the group setup restores the
 * defaults before each test).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "kv.h"
#include "mem.h"
#include "t_set.h"

static int reset_cfg(void **state)
{
	(void)state;
	cfg_init_defaults();
	set_rand_seed(0x1234567887654321ull);
	return 0;
}

static struct set *set_of_strs(const char *const *v, size_t n)
{
	struct set *s = set_create_for(v[0], strlen(v[0]));

	for (size_t i = 0; i < n; i++)
		set_add(s, v[i], strlen(v[i]));
	return s;
}

static bool has(struct set *s, const char *m)
{
	return set_contains(s, m, strlen(m));
}

/* Counts visits per member name through the iterator, failing on a member
 * not in names[0..n) and on a member visited twice. */
static void assert_iterates_exactly(struct set *s, const char *const *names, size_t n)
{
	int seen[64] = { 0 };
	struct set_iter it;
	struct set_elem e;
	size_t total = 0;

	assert_true(n <= 64);
	set_iter_init(&it, s);
	while (set_iter_next(&it, &e)) {
		size_t len, i;
		const char *p = set_elem_str(&e, &len);

		for (i = 0; i < n; i++) {
			if (strlen(names[i]) == len && memcmp(names[i], p, len) == 0)
				break;
		}
		assert_true(i < n);
		assert_int_equal(++seen[i], 1);
		total++;
	}
	assert_int_equal(total, n);
	assert_int_equal(set_size(s), n);
}

static void test_first_member_decides_the_initial_encoding(void **state)
{
	struct set *a = set_create_for("17", 2), *b = set_create_for("foo", 3), *c = set_create();

	(void)state;
	assert_int_equal(set_encoding(a), SET_ENC_INTSET);
	assert_string_equal(set_enc_name(a), "intset");
	assert_int_equal(set_encoding(b), SET_ENC_HT);
	assert_string_equal(set_enc_name(b), "hashtable");
	assert_int_equal(set_encoding(c), SET_ENC_INTSET);
	assert_int_equal(set_size(c), 0);
	set_destroy(a);
	set_destroy(b);
	set_destroy(c);
	set_destroy(NULL);
}

static void test_only_canonical_integers_stay_in_an_intset(void **state)
{
	static const char *const not_ints[] = {
		"007", "+1", "-0", " 1", "1 ", "1.0", "", "9223372036854775808",
		"-9223372036854775809", "213244124402402314402033402", "0x10",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(not_ints) / sizeof(not_ints[0]); i++) {
		struct set *s = set_create();

		assert_true(set_add(s, "5", 1));
		assert_true(set_add(s, not_ints[i], strlen(not_ints[i])));
		assert_int_equal(set_encoding(s), SET_ENC_HT);
		assert_true(has(s, not_ints[i]));
		assert_true(has(s, "5"));
		set_destroy(s);
	}
}

static void test_extreme_integers_stay_in_an_intset(void **state)
{
	static const char *const ints[] = {
		"0", "-1", "9223372036854775807", "-9223372036854775808", "32768", "-2147483649",
	};
	struct set *s = set_create();

	(void)state;
	for (size_t i = 0; i < 6; i++)
		assert_true(set_add(s, ints[i], strlen(ints[i])));
	assert_int_equal(set_encoding(s), SET_ENC_INTSET);
	assert_iterates_exactly(s, ints, 6);
	set_destroy(s);
}

static void test_adding_a_string_converts_and_keeps_every_member(void **state)
{
	static const char *const want[] = { "1", "2", "3", "a" };
	struct set *s = set_of_strs(want, 3);

	(void)state;
	assert_int_equal(set_encoding(s), SET_ENC_INTSET);
	assert_true(set_add(s, "a", 1));
	assert_int_equal(set_encoding(s), SET_ENC_HT);
	assert_iterates_exactly(s, want, 4);
	assert_false(set_add(s, "2", 1));
	set_destroy(s);
}

static void test_intset_converts_past_set_max_intset_entries(void **state)
{
	struct set *s = set_create();
	char buf[8];

	(void)state;
	cfg.set_max_intset_entries = 4;
	for (int i = 0; i < 4; i++) {
		snprintf(buf, sizeof(buf), "%d", i);
		assert_true(set_add(s, buf, strlen(buf)));
	}
	assert_int_equal(set_encoding(s), SET_ENC_INTSET);
	/* A duplicate does not grow the set, so does not convert it. */
	assert_false(set_add(s, "3", 1));
	assert_int_equal(set_encoding(s), SET_ENC_INTSET);
	assert_true(set_add(s, "4", 1));
	assert_int_equal(set_encoding(s), SET_ENC_HT);
	assert_int_equal(set_size(s), 5);
	assert_true(has(s, "0"));
	assert_true(has(s, "4"));
	set_destroy(s);
}

static void test_zero_intset_entries_converts_on_the_first_add(void **state)
{
	struct set *s = set_create_for("1", 1);

	(void)state;
	cfg.set_max_intset_entries = 0;
	assert_true(set_add(s, "1", 1));
	assert_int_equal(set_encoding(s), SET_ENC_HT);
	set_destroy(s);
}

static void test_removal_never_converts_back(void **state)
{
	struct set *s = set_create();

	(void)state;
	set_add(s, "1", 1);
	set_add(s, "x", 1);
	assert_true(set_remove(s, "x", 1));
	assert_false(set_remove(s, "x", 1));
	assert_int_equal(set_encoding(s), SET_ENC_HT);
	assert_int_equal(set_size(s), 1);
	set_destroy(s);
}

static void test_membership_works_in_both_encodings(void **state)
{
	struct set *is = set_create(), *ht = set_create_for("a", 1);

	(void)state;
	set_add(is, "10", 2);
	set_add(is, "-5", 2);
	set_add(ht, "10", 2);
	set_add(ht, "a", 1);
	assert_true(has(is, "10"));
	assert_true(has(is, "-5"));
	assert_false(has(is, "010"));
	assert_false(has(is, "a"));
	assert_false(set_remove(is, "a", 1));
	assert_true(has(ht, "10"));
	assert_false(has(ht, "010"));
	assert_true(has(ht, "a"));
	assert_false(has(ht, "b"));
	set_destroy(is);
	set_destroy(ht);
}

static void test_binary_and_empty_members_are_kept_exactly(void **state)
{
	static const char bin[] = { 'a', '\0', 'b', '\r', '\n' };
	struct set *s = set_create_for("x", 1);
	struct set_elem e;

	(void)state;
	assert_true(set_add(s, bin, sizeof(bin)));
	assert_true(set_add(s, "", 0));
	assert_false(set_add(s, "", 0));
	assert_true(set_contains(s, bin, sizeof(bin)));
	assert_false(set_contains(s, bin, 1));
	assert_true(set_contains(s, "", 0));
	set_random(s, &e);
	assert_true(set_remove(s, "", 0));
	assert_int_equal(set_size(s), 1);
	set_destroy(s);
}

static void test_elements_from_a_hashtable_that_spell_integers_go_to_an_intset(void **state)
{
	static const char *const src[] = { "1", "2", "x" };
	struct set *ht = set_of_strs(src, 3), *dst = set_create();
	struct set_iter it;
	struct set_elem e;

	(void)state;
	assert_true(set_remove(ht, "x", 1));
	set_iter_init(&it, ht);
	while (set_iter_next(&it, &e)) {
		assert_false(e.is_int);		/* a hashtable member comes as bytes */
		assert_true(set_add_elem(dst, &e));
		assert_true(set_contains_elem(dst, &e));
	}
	assert_int_equal(set_encoding(dst), SET_ENC_INTSET);
	assert_int_equal(set_size(dst), 2);
	set_destroy(ht);
	set_destroy(dst);
}

static void test_intset_iterates_in_ascending_order(void **state)
{
	static const char *const in[] = { "30", "-2", "7", "100000", "0" };
	static const int64_t want[] = { -2, 0, 7, 30, 100000 };
	struct set *s = set_of_strs(in, 5);
	struct set_iter it;
	struct set_elem e;
	size_t i = 0;

	(void)state;
	set_iter_init(&it, s);
	while (set_iter_next(&it, &e)) {
		assert_true(e.is_int);
		assert_null(e.p);
		assert_int_equal(e.ll, want[i++]);
	}
	assert_int_equal(i, 5);
	set_destroy(s);
}

/* Draws n random members of s and returns Pearson's chi-square statistic
 * of the counts against a uniform distribution. */
static double chi_square_of_draws(struct set *s, const char *const *names, size_t k, int n)
{
	int count[64] = { 0 };
	double expect = (double)n / (double)k, chi = 0;

	for (int d = 0; d < n; d++) {
		struct set_elem e;
		size_t len, i;
		const char *p;

		set_random(s, &e);
		p = set_elem_str(&e, &len);
		for (i = 0; i < k; i++) {
			if (strlen(names[i]) == len && memcmp(names[i], p, len) == 0)
				break;
		}
		assert_true(i < k);
		count[i]++;
	}
	for (size_t i = 0; i < k; i++)
		chi += (count[i] - expect) * (count[i] - expect) / expect;
	return chi;
}

static void test_random_members_are_uniform_in_both_encodings(void **state)
{
	static const char *const strs[] = {
		"1", "5", "10", "50", "125", "MARY", "PATRICIA", "LINDA", "BARBARA", "ELIZABETH",
	};
	static const char *const ints[] = { "0", "1", "2", "3", "4", "5", "6", "7", "8", "9" };
	struct set *ht = set_of_strs(strs, 10), *is = set_of_strs(ints, 10);

	(void)state;
	assert_int_equal(set_encoding(ht), SET_ENC_HT);
	assert_int_equal(set_encoding(is), SET_ENC_INTSET);
	/* df = 9: 40 is exceeded with probability 1e-5 by a fair draw. Chains
	 * must not bias a hashtable's draw (the suite checks the same). */
	for (int round = 0; round < 5; round++) {
		assert_true(chi_square_of_draws(ht, strs, 10, 1000) < 40);
		assert_true(chi_square_of_draws(is, ints, 10, 1000) < 40);
	}
	set_destroy(ht);
	set_destroy(is);
}

static void test_random_reaches_every_member_of_a_large_set(void **state)
{
	struct set *s = set_create_for("m", 1);
	char buf[16];
	bool seen[2000] = { false };
	size_t nseen = 0;

	(void)state;
	for (int i = 0; i < 2000; i++) {
		snprintf(buf, sizeof(buf), "m%d", i);
		set_add(s, buf, strlen(buf));
	}
	for (int d = 0; d < 200000 && nseen < 2000; d++) {
		struct set_elem e;
		int i;

		set_random(s, &e);
		/* Elements are not NUL-terminated: copy one out before atoi. */
		assert_true(e.len > 1 && e.len < sizeof(buf) && e.p[0] == 'm');
		memcpy(buf, e.p, e.len);
		buf[e.len] = '\0';
		i = atoi(buf + 1);
		assert_true(i >= 0 && i < 2000);
		if (!seen[i]) {
			seen[i] = true;
			nseen++;
		}
	}
	assert_int_equal(nseen, 2000);
	set_destroy(s);
}

struct scan_count {
	int seen[3000];		/* visits per member index */
};

static void scan_cb(struct set_elem *e, void *arg)
{
	struct scan_count *sc = arg;
	size_t len;
	const char *p = set_elem_str(e, &len);
	char buf[16];

	assert_true(len < sizeof(buf));
	memcpy(buf, p, len);
	buf[len] = '\0';
	sc->seen[atoi(buf[0] == 'k' ? buf + 1 : buf)]++;
}

static void test_scan_visits_every_member_of_a_hashtable(void **state)
{
	struct set *s = set_create_for("k", 1);
	struct scan_count *sc = calloc(1, sizeof(*sc));
	uint64_t cursor = 0;
	char buf[16];
	int calls = 0;

	(void)state;
	for (int i = 0; i < 3000; i++) {
		snprintf(buf, sizeof(buf), "k%d", i);
		set_add(s, buf, strlen(buf));
	}
	do {
		cursor = set_scan(s, cursor, scan_cb, sc);
		calls++;
	} while (cursor);
	assert_true(calls > 1);
	for (int i = 0; i < 3000; i++)
		assert_true(sc->seen[i] >= 1);
	free(sc);
	set_destroy(s);
}

static void test_scan_of_an_intset_returns_everything_at_once(void **state)
{
	static const char *const ints[] = { "3", "1", "2" };
	struct set *s = set_of_strs(ints, 3);
	struct scan_count *sc = calloc(1, sizeof(*sc));

	(void)state;
	assert_int_equal(set_scan(s, 0, scan_cb, sc), 0);
	assert_int_equal(sc->seen[1] + sc->seen[2] + sc->seen[3], 3);
	free(sc);
	set_destroy(s);
}

static void test_dup_keeps_the_encoding_and_is_independent(void **state)
{
	static const char *const ints[] = { "1", "2", "3" };
	static const char *const strs[] = { "a", "b", "1" };
	struct set *is = set_of_strs(ints, 3), *ht = set_of_strs(strs, 3);
	struct set *is2 = set_dup(is), *ht2 = set_dup(ht);

	(void)state;
	assert_int_equal(set_encoding(is2), SET_ENC_INTSET);
	assert_int_equal(set_encoding(ht2), SET_ENC_HT);
	assert_iterates_exactly(is2, ints, 3);
	assert_iterates_exactly(ht2, strs, 3);
	set_remove(is, "1", 1);
	set_remove(ht, "a", 1);
	assert_true(has(is2, "1"));
	assert_true(has(ht2, "a"));
	set_destroy(is);
	set_destroy(ht);
	set_destroy(is2);
	set_destroy(ht2);
}

static void test_swap_exchanges_contents(void **state)
{
	static const char *const ints[] = { "1", "2" };
	static const char *const strs[] = { "x" };
	struct set *a = set_of_strs(ints, 2), *b = set_of_strs(strs, 1);

	(void)state;
	set_swap(a, b);
	assert_iterates_exactly(a, strs, 1);
	assert_iterates_exactly(b, ints, 2);
	assert_int_equal(set_encoding(a), SET_ENC_HT);
	set_destroy(a);
	set_destroy(b);
}

static void test_memory_grows_with_members_and_is_returned(void **state)
{
	size_t before = mem_used();
	struct set *s = set_create();
	size_t small, large;
	char buf[32];

	(void)state;
	for (int i = 0; i < 100; i++) {
		snprintf(buf, sizeof(buf), "%d", i);
		set_add(s, buf, strlen(buf));
	}
	small = set_mem(s);
	assert_true(small >= 100 * 2);
	set_add(s, "a fairly long member to force a hashtable", 41);
	large = set_mem(s);
	assert_true(large > small + 100 * 8);
	for (int i = 0; i < 100; i++) {
		snprintf(buf, sizeof(buf), "%d", i);
		set_remove(s, buf, strlen(buf));
	}
	assert_true(set_mem(s) < large);
	set_destroy(s);
	assert_int_equal(mem_used(), before);
}

static void test_kv_finds_the_set_ops(void **state)
{
	const struct kv_type_ops *ops = kv_type_ops(KV_SET);
	struct set *s = set_create_for("a", 1), *copy;

	(void)state;
	assert_ptr_equal(ops, &kv_set_ops);
	set_add(s, "a", 1);
	assert_string_equal(ops->enc_name(s), "hashtable");
	assert_true(ops->mem(s) > 0);
	copy = ops->dup(s);
	assert_true(has(copy, "a"));
	ops->free(copy);
	ops->free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup(f, reset_cfg)
		T(test_first_member_decides_the_initial_encoding),
		T(test_only_canonical_integers_stay_in_an_intset),
		T(test_extreme_integers_stay_in_an_intset),
		T(test_adding_a_string_converts_and_keeps_every_member),
		T(test_intset_converts_past_set_max_intset_entries),
		T(test_zero_intset_entries_converts_on_the_first_add),
		T(test_removal_never_converts_back),
		T(test_membership_works_in_both_encodings),
		T(test_binary_and_empty_members_are_kept_exactly),
		T(test_elements_from_a_hashtable_that_spell_integers_go_to_an_intset),
		T(test_intset_iterates_in_ascending_order),
		T(test_random_members_are_uniform_in_both_encodings),
		T(test_random_reaches_every_member_of_a_large_set),
		T(test_scan_visits_every_member_of_a_hashtable),
		T(test_scan_of_an_intset_returns_everything_at_once),
		T(test_dup_keeps_the_encoding_and_is_independent),
		T(test_swap_exchanges_contents),
		T(test_memory_grows_with_members_and_is_returned),
		T(test_kv_finds_the_set_ops),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
