/*
 * test_lathist.c - latency histograms as a specification: exact buckets
 * below 64 ns, 1/64 precision above, clamping, percentiles as
 * HdrHistogram's value_at_percentile reads them, and merging.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "lathist.h"

static struct lathist *new_hist(void)
{
	struct lathist *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	return h;
}

static void test_empty_histogram_answers_zero(void **state)
{
	struct lathist *h = new_hist();

	(void)state;
	assert_int_equal(lathist_percentile(h, 50.0), 0);
	free(h);
}

static void test_small_values_are_exact(void **state)
{
	struct lathist *h = new_hist();

	(void)state;
	for (uint64_t v = 1; v <= 10; v++)
		lathist_record(h, v);
	assert_int_equal(h->total, 10);
	assert_int_equal(lathist_percentile(h, 0.0), 1);
	assert_int_equal(lathist_percentile(h, 50.0), 5);
	assert_int_equal(lathist_percentile(h, 90.0), 9);
	assert_int_equal(lathist_percentile(h, 100.0), 10);
	free(h);
}

static void test_large_values_within_one_64th(void **state)
{
	static const uint64_t values[] = { 64, 100, 1000, 12345, 999999, 50000000, 1000000000 };

	(void)state;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		struct lathist *h = new_hist();
		uint64_t got;

		lathist_record(h, values[i]);
		got = lathist_percentile(h, 50.0);
		/* the highest value of the value's bucket */
		assert_true(got >= values[i]);
		assert_true(got - values[i] <= values[i] / 64);
		free(h);
	}
}

static void test_values_are_clamped(void **state)
{
	struct lathist *h = new_hist();

	(void)state;
	lathist_record(h, 0);
	assert_int_equal(lathist_percentile(h, 100.0), 1);
	lathist_record(h, UINT64_MAX);
	assert_int_equal(lathist_percentile(h, 100.0), (1ull << LATHIST_MAX_BITS) - 1);
	free(h);
}

static void test_percentile_of_a_spread(void **state)
{
	struct lathist *h = new_hist();

	(void)state;
	/* 99 fast calls of 1000 ns and one slow one of 1 ms */
	for (int i = 0; i < 99; i++)
		lathist_record(h, 1000);
	lathist_record(h, 1000000);
	assert_true(lathist_percentile(h, 50.0) < 1016);
	assert_true(lathist_percentile(h, 99.0) < 1016);
	assert_true(lathist_percentile(h, 99.9) >= 1000000);
	free(h);
}

static void test_merge_adds_counts(void **state)
{
	struct lathist *a = new_hist(), *b = new_hist();

	(void)state;
	lathist_record(a, 10);
	lathist_record(b, 20);
	lathist_record(b, 30);
	lathist_merge(a, b);
	assert_int_equal(a->total, 3);
	assert_int_equal(lathist_percentile(a, 100.0), 30);
	assert_int_equal(lathist_percentile(a, 1.0), 10);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_histogram_answers_zero),
		cmocka_unit_test(test_small_values_are_exact),
		cmocka_unit_test(test_large_values_within_one_64th),
		cmocka_unit_test(test_values_are_clamped),
		cmocka_unit_test(test_percentile_of_a_spread),
		cmocka_unit_test(test_merge_adds_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
