/*
 * test_t_intset.c - the sorted integer array: ordering, duplicates, the
 * width it picks and widens to, binary search positions, removal, copies
 * and memory accounting, and a randomized run against a reference model.
 *
 * The model is a plain sorted array of int64_t; every randomized step is
 * checked against it member by member. Randomness is xorshift with fixed
 * seeds, so a failure reproduces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "t_intset.h"

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Asserts that is holds exactly want[0..n) in that order. */
static void assert_members(const struct intset *is, const int64_t *want, size_t n)
{
	assert_int_equal(intset_len(is), n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(intset_get(is, i), want[i]);
}

static void test_new_intset_is_empty_and_16_bits_wide(void **state)
{
	struct intset *is = intset_create();

	(void)state;
	assert_int_equal(intset_len(is), 0);
	assert_int_equal(intset_width(is), 2);
	assert_false(intset_contains(is, 0));
	intset_destroy(is);
	intset_destroy(NULL);
}

static void test_add_keeps_members_sorted_whatever_the_order(void **state)
{
	static const int64_t want[] = { -7, -1, 0, 3, 5, 9, 100 };
	static const int64_t order[] = { 5, -1, 100, 0, 9, -7, 3 };
	struct intset *is = intset_create();

	(void)state;
	for (size_t i = 0; i < 7; i++)
		assert_true(intset_add(&is, order[i]));
	assert_members(is, want, 7);
	intset_destroy(is);
}

static void test_add_of_a_member_returns_false_and_changes_nothing(void **state)
{
	static const int64_t want[] = { 1, 2, 3 };
	struct intset *is = intset_create();

	(void)state;
	assert_true(intset_add(&is, 2));
	assert_true(intset_add(&is, 1));
	assert_true(intset_add(&is, 3));
	assert_false(intset_add(&is, 2));
	assert_false(intset_add(&is, 1));
	assert_false(intset_add(&is, 3));
	assert_members(is, want, 3);
	intset_destroy(is);
}

static void test_width_is_the_narrowest_that_holds_every_member(void **state)
{
	struct intset *is = intset_create();

	(void)state;
	intset_add(&is, INT16_MAX);
	intset_add(&is, INT16_MIN);
	assert_int_equal(intset_width(is), 2);
	intset_add(&is, (int64_t)INT16_MAX + 1);
	assert_int_equal(intset_width(is), 4);
	intset_add(&is, INT32_MIN);
	assert_int_equal(intset_width(is), 4);
	intset_add(&is, (int64_t)INT32_MIN - 1);
	assert_int_equal(intset_width(is), 8);
	intset_destroy(is);

	is = intset_create();
	intset_add(&is, (int64_t)INT16_MIN - 1);
	assert_int_equal(intset_width(is), 4);
	intset_destroy(is);

	is = intset_create();
	intset_add(&is, INT64_MAX);
	assert_int_equal(intset_width(is), 8);
	intset_destroy(is);
}

static void test_widening_keeps_members_and_puts_the_new_one_at_its_end(void **state)
{
	static const int64_t up[] = { -3, -2, -1, 10, 20, 30, 70000 };
	static const int64_t down[] = { INT64_MIN, -3, -2, -1, 10, 20, 30, 70000 };
	static const int64_t ends[] = { INT64_MIN, -3, -2, -1, 10, 20, 30, 70000, INT64_MAX };
	struct intset *is = intset_create();

	(void)state;
	for (int64_t v = -3; v <= -1; v++)
		intset_add(&is, v);
	intset_add(&is, 10);
	intset_add(&is, 20);
	intset_add(&is, 30);
	/* Larger than every member: appended after widening to 32 bits. */
	assert_true(intset_add(&is, 70000));
	assert_int_equal(intset_width(is), 4);
	assert_members(is, up, 7);
	/* Smaller than every member: first after widening to 64 bits. */
	assert_true(intset_add(&is, INT64_MIN));
	assert_int_equal(intset_width(is), 8);
	assert_members(is, down, 8);
	assert_true(intset_add(&is, INT64_MAX));
	assert_members(is, ends, 9);
	intset_destroy(is);
}

static void test_contains_answers_for_values_wider_than_the_set(void **state)
{
	struct intset *is = intset_create();

	(void)state;
	intset_add(&is, 1);
	intset_add(&is, 2);
	assert_true(intset_contains(is, 1));
	assert_false(intset_contains(is, -65537));
	assert_false(intset_contains(is, INT64_MAX));
	assert_false(intset_contains(is, INT64_MIN));
	/* 65537 truncated to 16 bits is 1: it must not be found as 1. */
	assert_false(intset_contains(is, 65536 + 1));
	intset_destroy(is);
}

static void test_find_gives_the_insert_position_of_a_missing_value(void **state)
{
	struct intset *is = intset_create();
	size_t pos = 99;

	(void)state;
	assert_false(intset_find(is, 5, &pos));
	assert_int_equal(pos, 0);
	for (int64_t v = 10; v <= 50; v += 10)
		intset_add(&is, v);
	assert_false(intset_find(is, 5, &pos));
	assert_int_equal(pos, 0);
	assert_false(intset_find(is, 25, &pos));
	assert_int_equal(pos, 2);
	assert_false(intset_find(is, 55, &pos));
	assert_int_equal(pos, 5);
	assert_true(intset_find(is, 30, &pos));
	assert_int_equal(pos, 2);
	assert_true(intset_find(is, 10, &pos));
	assert_int_equal(pos, 0);
	assert_true(intset_find(is, 50, &pos));
	assert_int_equal(pos, 4);
	assert_false(intset_find(is, 1000000, &pos));
	assert_int_equal(pos, 5);
	assert_false(intset_find(is, -1000000, &pos));
	assert_int_equal(pos, 0);
	assert_false(intset_find(is, 35, NULL));
	intset_destroy(is);
}

static void test_remove_takes_out_members_and_keeps_the_width(void **state)
{
	static const int64_t want[] = { 1, 3 };
	struct intset *is = intset_create();

	(void)state;
	intset_add(&is, 1);
	intset_add(&is, 2);
	intset_add(&is, 3);
	intset_add(&is, 5000000000ll);
	assert_true(intset_remove(&is, 5000000000ll));
	assert_true(intset_remove(&is, 2));
	assert_false(intset_remove(&is, 2));
	assert_false(intset_remove(&is, 4));
	assert_false(intset_remove(&is, INT64_MIN));
	assert_members(is, want, 2);
	assert_int_equal(intset_width(is), 8);
	intset_remove_at(&is, 0);
	intset_remove_at(&is, 0);
	assert_int_equal(intset_len(is), 0);
	intset_destroy(is);
}

static void test_dup_is_an_independent_equal_copy(void **state)
{
	static const int64_t want[] = { -40000, 7, 8 };
	struct intset *is = intset_create(), *copy;

	(void)state;
	intset_add(&is, 7);
	intset_add(&is, 8);
	intset_add(&is, -40000);
	copy = intset_dup(is);
	assert_members(copy, want, 3);
	assert_int_equal(intset_width(copy), 4);
	intset_add(&is, 9);
	intset_remove(&copy, 7);
	assert_int_equal(intset_len(is), 4);
	assert_int_equal(intset_len(copy), 2);
	intset_destroy(is);
	intset_destroy(copy);
}

static void test_memory_is_accounted_and_returned(void **state)
{
	size_t before = mem_used();
	struct intset *is = intset_create();

	(void)state;
	for (int64_t v = 0; v < 1000; v++)
		intset_add(&is, v * 100000);
	assert_true(intset_mem(is) >= 1000 * 4);
	assert_true(mem_used() >= before + 1000 * 4);
	/* Removing most members gives memory back. */
	for (int64_t v = 0; v < 990; v++)
		intset_remove(&is, v * 100000);
	assert_true(intset_mem(is) < 1000);
	intset_destroy(is);
	assert_int_equal(mem_used(), before);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* A value of a random width class, from a small range so that adds and
 * removes hit existing members often. */
static int64_t random_value(uint64_t *rng)
{
	uint64_t r = xorshift(rng);

	switch (r % 4) {
	case 0: return (int64_t)(r >> 8) % 300 - 150;
	case 1: return (int64_t)(r >> 8) % 200 + 40000;
	case 2: return -(int64_t)((r >> 8) % 200) - 3000000000ll;
	default: return (int64_t)(r >> 8) % 100;
	}
}

static void test_random_adds_and_removes_match_a_sorted_array(void **state)
{
	uint64_t rng = 0x9E3779B97F4A7C15ull;

	(void)state;
	for (int round = 0; round < 20; round++) {
		struct intset *is = intset_create();
		int64_t model[2000];
		size_t n = 0;

		for (int step = 0; step < 1500; step++) {
			int64_t v = random_value(&rng);
			int64_t *at = bsearch(&v, model, n, sizeof(*model), cmp_i64);

			if (xorshift(&rng) % 3) {
				assert_int_equal(intset_add(&is, v), at == NULL);
				if (!at) {
					model[n++] = v;
					qsort(model, n, sizeof(*model), cmp_i64);
				}
			} else {
				assert_int_equal(intset_remove(&is, v), at != NULL);
				if (at) {
					memmove(at, at + 1, (size_t)(model + n - at - 1) * sizeof(*at));
					n--;
				}
			}
			assert_int_equal(intset_contains(is, v), bsearch(&v, model, n, sizeof(*model),
									 cmp_i64) != NULL);
		}
		assert_members(is, model, n);
		intset_destroy(is);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_intset_is_empty_and_16_bits_wide),
		cmocka_unit_test(test_add_keeps_members_sorted_whatever_the_order),
		cmocka_unit_test(test_add_of_a_member_returns_false_and_changes_nothing),
		cmocka_unit_test(test_width_is_the_narrowest_that_holds_every_member),
		cmocka_unit_test(test_widening_keeps_members_and_puts_the_new_one_at_its_end),
		cmocka_unit_test(test_contains_answers_for_values_wider_than_the_set),
		cmocka_unit_test(test_find_gives_the_insert_position_of_a_missing_value),
		cmocka_unit_test(test_remove_takes_out_members_and_keeps_the_width),
		cmocka_unit_test(test_dup_is_an_independent_equal_copy),
		cmocka_unit_test(test_memory_is_accounted_and_returned),
		cmocka_unit_test(test_random_adds_and_removes_match_a_sorted_array),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
