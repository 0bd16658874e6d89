/*
 * test_strutil.c - Redis 7.0's number rules and glob language.
 *
 * Inputs are passed with explicit lengths (S()), so bytes after the end and
 * embedded NULs are part of what is being specified.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "strutil.h"

#define S(lit) (lit), (sizeof(lit) - 1)

static bool ll_ok(const char *s, size_t len, long long want)
{
	long long v = 12345;

	return strutil_to_ll(s, len, &v) && v == want;
}

static bool ull_ok(const char *s, size_t len, unsigned long long want)
{
	unsigned long long v = 12345;

	return strutil_to_ull(s, len, &v) && v == want;
}

static bool glob_cs(const char *pat, const char *str)
{
	return strutil_glob_match(pat, strlen(pat), str, strlen(str), false);
}

static bool glob_nocase(const char *pat, const char *str)
{
	return strutil_glob_match(pat, strlen(pat), str, strlen(str), true);
}

/* INCRBYFLOAT: parse both operands, add, format. */
static const char *incrbyfloat(const char *cur, const char *by, char *buf, size_t cap)
{
	long double a, b;

	assert_true(strutil_to_ld(cur, strlen(cur), &a));
	assert_true(strutil_to_ld(by, strlen(by), &b));
	assert_true(isfinite(a + b));
	assert_int_not_equal(strutil_ld_to_str(buf, cap, a + b), 0);
	return buf;
}

/* ---- strutil_to_ll ---- */

static void test_to_ll_accepts_zero(void **state)
{
	(void)state;
	assert_true(ll_ok(S("0"), 0));
}

static void test_to_ll_accepts_plain_decimals(void **state)
{
	(void)state;
	assert_true(ll_ok(S("1"), 1));
	assert_true(ll_ok(S("99"), 99));
	assert_true(ll_ok(S("-1"), -1));
	assert_true(ll_ok(S("-99"), -99));
	assert_true(ll_ok(S("1234567890"), 1234567890LL));
}

static void test_to_ll_accepts_the_extremes(void **state)
{
	(void)state;
	assert_true(ll_ok(S("9223372036854775807"), LLONG_MAX));
	assert_true(ll_ok(S("-9223372036854775808"), LLONG_MIN));
}

static void test_to_ll_rejects_one_past_the_extremes(void **state)
{
	(void)state;
	assert_false(strutil_to_ll(S("9223372036854775808"), NULL));
	assert_false(strutil_to_ll(S("-9223372036854775809"), NULL));
	assert_false(strutil_to_ll(S("18446744073709551615"), NULL));
	assert_false(strutil_to_ll(S("18446744073709551616"), NULL));
	assert_false(strutil_to_ll(S("99999999999999999999999999"), NULL));
}

static void test_to_ll_rejects_negative_zero(void **state)
{
	(void)state;
	assert_false(strutil_to_ll(S("-0"), NULL));
}

static void test_to_ll_rejects_plus_sign(void **state)
{
	(void)state;
	assert_false(strutil_to_ll(S("+1"), NULL));
	assert_false(strutil_to_ll(S("+0"), NULL));
}

static void test_to_ll_rejects_spaces(void **state)
{
	(void)state;
	assert_false(strutil_to_ll(S(" 1"), NULL));
	assert_false(strutil_to_ll(S("1 "), NULL));
	assert_false(strutil_to_ll(S("- 1"), NULL));
}

static void test_to_ll_rejects_leading_zeros(void **state)
{
	(void)state;
	assert_false(strutil_to_ll(S("01"), NULL));
	assert_false(strutil_to_ll(S("00"), NULL));
	assert_false(strutil_to_ll(S("-01"), NULL));
}

static void test_to_ll_rejects_empty_and_lone_sign(void **state)
{
	(void)state;
	assert_false(strutil_to_ll("", 0, NULL));
	assert_false(strutil_to_ll(S("-"), NULL));
}

static void test_to_ll_rejects_trailing_garbage_and_nul(void **state)
{
	(void)state;
	assert_false(strutil_to_ll(S("12a"), NULL));
	assert_false(strutil_to_ll(S("1\0"), NULL));
	assert_false(strutil_to_ll(S("1.0"), NULL));
	assert_false(strutil_to_ll(S("0x10"), NULL));
}

static void test_to_ll_reads_only_len_bytes(void **state)
{
	(void)state;
	assert_true(ll_ok("123", 2, 12));
	assert_true(ll_ok("-5xyz", 2, -5));
}

static void test_to_ll_round_trips_through_ll_to_str(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	char buf[32];

	(void)state;
	for (int i = 0; i < 100000; i++) {
		long long v, back;
		int n;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* Spread over all magnitudes, not just 19-digit values. */
		v = (long long)(x >> (x % 64));
		if (x & 1)
			v = -v;
		n = strutil_ll_to_str(buf, sizeof(buf), v);
		assert_true(strutil_to_ll(buf, (size_t)n, &back));
		assert_true(back == v);
	}
}

/* ---- strutil_to_ull ---- */

static void test_to_ull_accepts_the_full_range(void **state)
{
	(void)state;
	assert_true(ull_ok(S("0"), 0));
	assert_true(ull_ok(S("9223372036854775807"), 9223372036854775807ULL));
	assert_true(ull_ok(S("9223372036854775808"), 9223372036854775808ULL));
	assert_true(ull_ok(S("18446744073709551615"), ULLONG_MAX));
}

static void test_to_ull_rejects_overflow(void **state)
{
	(void)state;
	assert_false(strutil_to_ull(S("18446744073709551616"), NULL));
	assert_false(strutil_to_ull(S("99999999999999999999"), NULL));
}

static void test_to_ull_rejects_canonical_negatives(void **state)
{
	(void)state;
	assert_false(strutil_to_ull(S("-1"), NULL));
	assert_false(strutil_to_ull(S("-9223372036854775808"), NULL));
}

static void test_to_ull_falls_back_to_strtoull_rules(void **state)
{
	(void)state;
	/* Redis's string2ull retries with strtoull(3) when string2ll fails. */
	assert_true(ull_ok(S("01"), 1));
	assert_true(ull_ok(S("+5"), 5));
	assert_true(ull_ok(S(" \t7"), 7));
	assert_true(ull_ok(S("-0"), 0));
	assert_true(ull_ok(S("-01"), ULLONG_MAX));
	assert_true(ull_ok(S("-9223372036854775809"), 9223372036854775807ULL));
}

static void test_to_ull_rejects_what_strtoull_leaves_unparsed(void **state)
{
	(void)state;
	assert_false(strutil_to_ull("", 0, NULL));
	assert_false(strutil_to_ull(S(" "), NULL));
	assert_false(strutil_to_ull(S("-"), NULL));
	assert_false(strutil_to_ull(S("+"), NULL));
	assert_false(strutil_to_ull(S("1 "), NULL));
	assert_false(strutil_to_ull(S("0x10"), NULL));
	assert_false(strutil_to_ull(S("1\0"), NULL));
	assert_false(strutil_to_ull(S("+-1"), NULL));
}

/* ---- strutil_ll_to_str ---- */

static void test_ll_to_str_formats_zero_and_signs(void **state)
{
	char buf[32];

	(void)state;
	assert_int_equal(strutil_ll_to_str(buf, sizeof(buf), 0), 1);
	assert_string_equal(buf, "0");
	assert_int_equal(strutil_ll_to_str(buf, sizeof(buf), -1), 2);
	assert_string_equal(buf, "-1");
	assert_int_equal(strutil_ll_to_str(buf, sizeof(buf), 1000), 4);
	assert_string_equal(buf, "1000");
}

static void test_ll_to_str_formats_the_extremes(void **state)
{
	char buf[21];

	(void)state;
	assert_int_equal(strutil_ll_to_str(buf, sizeof(buf), LLONG_MIN), 20);
	assert_string_equal(buf, "-9223372036854775808");
	assert_int_equal(strutil_ll_to_str(buf, sizeof(buf), LLONG_MAX), 19);
	assert_string_equal(buf, "9223372036854775807");
}

static void test_ll_to_str_skips_nul_when_digits_fill_cap(void **state)
{
	char buf[4] = { 'x', 'x', 'x', 'x' };

	(void)state;
	assert_int_equal(strutil_ll_to_str(buf, 3, 123), 3);
	assert_memory_equal(buf, "123x", 4);
}

static void test_ll_to_str_returns_zero_without_room(void **state)
{
	char buf[4];

	(void)state;
	assert_int_equal(strutil_ll_to_str(buf, 3, -123), 0);
	assert_int_equal(buf[0], '\0');
}

/* ---- strutil_to_ld ---- */

static void test_to_ld_parses_decimals_and_exponents(void **state)
{
	long double v;

	(void)state;
	assert_true(strutil_to_ld(S("1.5"), &v));
	assert_true(v == 1.5L);
	assert_true(strutil_to_ld(S("-3.0e3"), &v));
	assert_true(v == -3000.0L);
	assert_true(strutil_to_ld(S("+1"), &v));
	assert_true(v == 1.0L);
	assert_true(strutil_to_ld(S(".5"), &v));
	assert_true(v == 0.5L);
	assert_true(strutil_to_ld(S("0x1p-2"), &v));
	assert_true(v == 0.25L);
}

static void test_to_ld_has_long_double_range(void **state)
{
	long double v;

	(void)state;
	/* Beyond double's range, inside x87 extended precision. */
	assert_true(strutil_to_ld(S("1e400"), &v));
	assert_true(v > 1e300L * 1e99L);
	assert_true(strutil_to_ld(S("1e-4940"), &v));
	assert_true(v > 0);
}

static void test_to_ld_rejects_overflow_and_underflow_to_zero(void **state)
{
	(void)state;
	assert_false(strutil_to_ld(S("1e5000"), NULL));
	assert_false(strutil_to_ld(S("-1e5000"), NULL));
	assert_false(strutil_to_ld(S("1e-5000"), NULL));
}

static void test_to_ld_rejects_nan_and_accepts_inf(void **state)
{
	long double v;

	(void)state;
	assert_false(strutil_to_ld(S("nan"), NULL));
	assert_false(strutil_to_ld(S("-nan"), NULL));
	assert_true(strutil_to_ld(S("inf"), &v));
	assert_true(isinf(v) && v > 0);
	assert_true(strutil_to_ld(S("-inf"), &v));
	assert_true(isinf(v) && v < 0);
}

static void test_to_ld_rejects_spaces_empty_and_garbage(void **state)
{
	(void)state;
	assert_false(strutil_to_ld("", 0, NULL));
	assert_false(strutil_to_ld(S(" 1"), NULL));
	assert_false(strutil_to_ld(S("\t1"), NULL));
	assert_false(strutil_to_ld(S("1 "), NULL));
	assert_false(strutil_to_ld(S("1e"), NULL));
	assert_false(strutil_to_ld(S("abc"), NULL));
	assert_false(strutil_to_ld(S("1.5\0"), NULL));
}

static void test_to_ld_accepts_up_to_5119_bytes(void **state)
{
	static char buf[5120];
	long double v;

	(void)state;
	memset(buf, '0', sizeof(buf));
	buf[5118] = '7';
	assert_true(strutil_to_ld(buf, 5119, &v));
	assert_true(v == 7.0L);
	buf[5119] = '7';
	assert_false(strutil_to_ld(buf, 5120, &v));
}

/* ---- strutil_to_d ---- */

static void test_to_d_parses_numbers(void **state)
{
	double v;

	(void)state;
	assert_true(strutil_to_d(S("3.14"), &v));
	assert_true(v == 3.14);
	assert_true(strutil_to_d(S("-0"), &v));
	assert_true(v == 0 && signbit(v));
	assert_true(strutil_to_d(S("1e308"), &v));
	assert_true(v == 1e308);
}

static void test_to_d_accepts_inf_in_every_spelling(void **state)
{
	double v;

	(void)state;
	assert_true(strutil_to_d(S("inf"), &v));
	assert_true(isinf(v) && v > 0);
	assert_true(strutil_to_d(S("-inf"), &v));
	assert_true(isinf(v) && v < 0);
	assert_true(strutil_to_d(S("+inf"), &v));
	assert_true(strutil_to_d(S("Infinity"), &v));
}

static void test_to_d_rejects_nan(void **state)
{
	(void)state;
	assert_false(strutil_to_d(S("nan"), NULL));
	assert_false(strutil_to_d(S("NaN"), NULL));
}

static void test_to_d_rejects_overflow_and_underflow_to_zero(void **state)
{
	(void)state;
	assert_false(strutil_to_d(S("1e400"), NULL));
	assert_false(strutil_to_d(S("-1e400"), NULL));
	assert_false(strutil_to_d(S("1e-400"), NULL));
}

static void test_to_d_keeps_subnormals(void **state)
{
	double v;

	(void)state;
	assert_true(strutil_to_d(S("4.9e-324"), &v));
	assert_true(v > 0 && v < DBL_MIN);
}

static void test_to_d_rejects_spaces_empty_and_garbage(void **state)
{
	(void)state;
	assert_false(strutil_to_d("", 0, NULL));
	assert_false(strutil_to_d(S(" 1"), NULL));
	assert_false(strutil_to_d(S("1 "), NULL));
	assert_false(strutil_to_d(S("1x"), NULL));
	assert_false(strutil_to_d(S("1\0"), NULL));
}

static void test_to_d_parses_long_input(void **state)
{
	char buf[202];
	double v;

	(void)state;
	/* "1" and 200 zeros: longer than the on-stack copy. */
	buf[0] = '1';
	memset(buf + 1, '0', 200);
	assert_true(strutil_to_d(buf, 201, &v));
	assert_true(v == 1e200);
	buf[201] = ' ';
	assert_false(strutil_to_d(buf, 202, &v));
}

/* ---- strutil_ld_to_str (INCRBYFLOAT) ---- */

static void test_incrbyfloat_10_5_plus_0_1_is_10_6(void **state)
{
	char buf[5120];

	(void)state;
	assert_string_equal(incrbyfloat("10.5", "0.1", buf, sizeof(buf)), "10.6");
}

static void test_incrbyfloat_exponents_print_as_integers(void **state)
{
	char buf[5120];

	(void)state;
	assert_string_equal(incrbyfloat("0", "3.0e3", buf, sizeof(buf)), "3000");
	assert_string_equal(incrbyfloat("0", "5.0e3", buf, sizeof(buf)), "5000");
	assert_string_equal(incrbyfloat("3.0e3", "5.0e3", buf, sizeof(buf)), "8000");
}

static void test_incrbyfloat_redis_suite_values(void **state)
{
	char buf[5120];

	(void)state;
	assert_string_equal(incrbyfloat("0", "1", buf, sizeof(buf)), "1");
	assert_string_equal(incrbyfloat("1", "0.25", buf, sizeof(buf)), "1.25");
	assert_string_equal(incrbyfloat("10", "1.5", buf, sizeof(buf)), "11.5");
	assert_string_equal(incrbyfloat("17179869184", "1.5", buf, sizeof(buf)), "17179869185.5");
	assert_string_equal(incrbyfloat("1.1", "2.2", buf, sizeof(buf)), "3.3");
	assert_string_equal(incrbyfloat("5", "-10", buf, sizeof(buf)), "-5");
}

static void test_incrbyfloat_never_prints_negative_zero(void **state)
{
	char buf[5120];

	(void)state;
	assert_string_equal(incrbyfloat("0.024390243902439025", "-0.024390243902439025",
					buf, sizeof(buf)), "0");
	assert_int_equal(strutil_ld_to_str(buf, sizeof(buf), -0.0L), 1);
	assert_string_equal(buf, "0");
	/* Rounds to "-0.00000000000000000" before trimming. */
	assert_int_equal(strutil_ld_to_str(buf, sizeof(buf), -1e-20L), 1);
	assert_string_equal(buf, "0");
}

static void test_ld_to_str_trims_zeros_and_dot(void **state)
{
	char buf[5120];

	(void)state;
	assert_int_equal(strutil_ld_to_str(buf, sizeof(buf), 0.0L), 1);
	assert_string_equal(buf, "0");
	assert_int_equal(strutil_ld_to_str(buf, sizeof(buf), 100.0L), 3);
	assert_string_equal(buf, "100");
	assert_int_equal(strutil_ld_to_str(buf, sizeof(buf), 0.5L), 3);
	assert_string_equal(buf, "0.5");
	assert_int_equal(strutil_ld_to_str(buf, sizeof(buf), 1e20L), 21);
	assert_string_equal(buf, "100000000000000000000");
}

static void test_ld_to_str_prints_17_decimals_at_most(void **state)
{
	char buf[5120];

	(void)state;
	assert_int_equal(strutil_ld_to_str(buf, sizeof(buf), 1.0L / 3), 19);
	assert_string_equal(buf, "0.33333333333333333");
	/* Smaller than 0.5e-17: nothing survives the rounding. */
	assert_int_equal(strutil_ld_to_str(buf, sizeof(buf), 1e-18L), 1);
	assert_string_equal(buf, "0");
}

static void test_ld_to_str_fits_the_largest_long_double_in_5120(void **state)
{
	char buf[5120];

	(void)state;
	assert_int_equal(strutil_ld_to_str(buf, sizeof(buf), LDBL_MAX), 4933);
	assert_memory_equal(buf, "11897314953572317650", 20);
	assert_int_equal(strutil_ld_to_str(buf, sizeof(buf), -LDBL_MAX), 4934);
}

static void test_ld_to_str_spells_out_infinity(void **state)
{
	char buf[8];

	(void)state;
	assert_int_equal(strutil_ld_to_str(buf, sizeof(buf), INFINITY), 3);
	assert_string_equal(buf, "inf");
	assert_int_equal(strutil_ld_to_str(buf, sizeof(buf), -INFINITY), 4);
	assert_string_equal(buf, "-inf");
}

static void test_ld_to_str_returns_zero_without_room(void **state)
{
	char buf[8];

	(void)state;
	/* "1234.5" needs 6 + 1, but "%.17Lf" needs 22 + 1 before trimming. */
	assert_int_equal(strutil_ld_to_str(buf, sizeof(buf), 1234.5L), 0);
	assert_string_equal(buf, "");
	assert_int_equal(strutil_ld_to_str(buf, 4, -INFINITY), 0);
}

/* ---- strutil_glob_match ---- */

static void test_glob_star_matches_any_run(void **state)
{
	(void)state;
	assert_true(glob_cs("*", "anything"));
	assert_true(glob_cs("h*llo", "hllo"));
	assert_true(glob_cs("h*llo", "heeeello"));
	assert_true(glob_cs("*b*", "abc"));
	assert_true(glob_cs("a*b*c", "aXXbYYc"));
	assert_true(glob_cs("a*", "a"));
	assert_true(glob_cs("a**", "a"));
	assert_true(glob_cs("*a", "a"));
	assert_false(glob_cs("h*llo", "hllox"));
	assert_false(glob_cs("a*b", "acbc"));
}

static void test_glob_empty_string_matches_only_empty_pattern(void **state)
{
	(void)state;
	assert_true(glob_cs("", ""));
	assert_false(glob_cs("*", ""));
	assert_false(glob_cs("**", ""));
	assert_false(glob_cs("?", ""));
	assert_false(glob_cs("", "a"));
}

static void test_glob_question_mark_matches_exactly_one_byte(void **state)
{
	(void)state;
	assert_true(glob_cs("h?llo", "hello"));
	assert_true(glob_cs("h?llo", "hallo"));
	assert_false(glob_cs("h?llo", "hllo"));
	assert_false(glob_cs("a?", "a"));
	assert_true(strutil_glob_match(S("a?c"), S("a\0c"), false));
}

static void test_glob_set_matches_listed_bytes(void **state)
{
	(void)state;
	assert_true(glob_cs("h[ae]llo", "hello"));
	assert_true(glob_cs("h[ae]llo", "hallo"));
	assert_false(glob_cs("h[ae]llo", "hillo"));
}

static void test_glob_negated_set(void **state)
{
	(void)state;
	assert_true(glob_cs("h[^e]llo", "hallo"));
	assert_true(glob_cs("h[^e]llo", "hbllo"));
	assert_false(glob_cs("h[^e]llo", "hello"));
}

static void test_glob_ranges_in_either_order(void **state)
{
	(void)state;
	assert_true(glob_cs("h[a-b]llo", "hallo"));
	assert_true(glob_cs("h[a-b]llo", "hbllo"));
	assert_false(glob_cs("h[a-b]llo", "hcllo"));
	assert_true(glob_cs("h[b-a]llo", "hallo"));
	assert_true(glob_cs("[0-9a-f]", "c"));
	assert_false(glob_cs("[^0-9]", "5"));
}

static void test_glob_backslash_escapes(void **state)
{
	(void)state;
	assert_true(glob_cs("h\\*llo", "h*llo"));
	assert_false(glob_cs("h\\*llo", "hello"));
	assert_true(glob_cs("\\?", "?"));
	assert_false(glob_cs("\\?", "x"));
	assert_true(glob_cs("[\\]]", "]"));
	assert_true(glob_cs("[\\-]", "-"));
	/* A backslash that ends the pattern stands for itself. */
	assert_true(glob_cs("a\\", "a\\"));
}

static void test_glob_set_closes_at_first_bracket(void **state)
{
	(void)state;
	/* "[]" is an empty set: "[]]" cannot match anything. */
	assert_false(glob_cs("[]]", "]"));
	assert_false(glob_cs("[]]", "]]"));
}

static void test_glob_unterminated_set_runs_to_end_of_pattern(void **state)
{
	(void)state;
	assert_true(glob_cs("[abc", "b"));
	assert_true(glob_cs("a[bc", "ac"));
	assert_false(glob_cs("[abc", "d"));
	assert_true(glob_cs("[^", "x"));
	assert_false(glob_cs("[", "["));
}

static void test_glob_dash_before_close_is_a_range_to_bracket(void **state)
{
	(void)state;
	/* As in Redis, "[a-]" is the range ']'..'a', then an unterminated set. */
	assert_true(glob_cs("[a-]", "_"));
	assert_true(glob_cs("[a-]", "]"));
	assert_false(glob_cs("[a-]", "-"));
	assert_true(glob_cs("[-a]", "-"));
}

static void test_glob_nocase_folds_ascii(void **state)
{
	(void)state;
	assert_true(glob_nocase("HELLO", "hello"));
	assert_false(glob_cs("HELLO", "hello"));
	assert_true(glob_nocase("h[A-Z]llo", "hello"));
	assert_true(glob_nocase("[ae]", "E"));
	assert_true(glob_nocase("\\A", "a"));
	assert_false(glob_nocase("\xc9", "\xe9"));
}

static void test_glob_nocase_escaped_set_member_is_exact(void **state)
{
	(void)state;
	assert_true(glob_nocase("[\\A]", "A"));
	assert_false(glob_nocase("[\\A]", "a"));
}

static void test_glob_nocase_folds_range_ends_after_ordering(void **state)
{
	(void)state;
	/* 'Z'..'a' folds to 'z'..'a': empty, as in Redis. */
	assert_false(glob_nocase("[Z-a]", "_"));
	assert_true(glob_cs("[Z-a]", "_"));
}

static void test_glob_many_stars_stay_linear(void **state)
{
	char str[4001];

	(void)state;
	memset(str, 'a', 4000);
	str[4000] = '\0';
	assert_false(glob_cs("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", str));
	assert_true(glob_cs("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a", str));
}

static void test_glob_fails_past_1000_star_groups(void **state)
{
	static char pat[2 * 1001 + 1];
	static char str[1002];

	(void)state;
	for (int i = 0; i < 1001; i++) {
		pat[2 * i] = '*';
		pat[2 * i + 1] = 'a';
	}
	memset(str, 'a', 1001);
	assert_false(strutil_glob_match(pat, 2 * 1001, str, 1001, false));
	assert_true(strutil_glob_match(pat, 2 * 1000, str, 1000, false));
	/* A trailing star is not a group the match has to pass through. */
	pat[2 * 1000] = '*';
	assert_true(strutil_glob_match(pat, 2 * 1000 + 1, str, 1001, false));
}

/* ---- strutil_eq_nocase ---- */

static void test_eq_nocase(void **state)
{
	(void)state;
	assert_true(strutil_eq_nocase(S("GET"), "get"));
	assert_true(strutil_eq_nocase(S("gEt"), "GeT"));
	assert_true(strutil_eq_nocase("", 0, ""));
	assert_false(strutil_eq_nocase(S("GETX"), "get"));
	assert_false(strutil_eq_nocase(S("GE"), "get"));
	assert_false(strutil_eq_nocase(S("g\0t"), "g"));
	assert_false(strutil_eq_nocase(S("[et"), "{et"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_to_ll_accepts_zero),
		cmocka_unit_test(test_to_ll_accepts_plain_decimals),
		cmocka_unit_test(test_to_ll_accepts_the_extremes),
		cmocka_unit_test(test_to_ll_rejects_one_past_the_extremes),
		cmocka_unit_test(test_to_ll_rejects_negative_zero),
		cmocka_unit_test(test_to_ll_rejects_plus_sign),
		cmocka_unit_test(test_to_ll_rejects_spaces),
		cmocka_unit_test(test_to_ll_rejects_leading_zeros),
		cmocka_unit_test(test_to_ll_rejects_empty_and_lone_sign),
		cmocka_unit_test(test_to_ll_rejects_trailing_garbage_and_nul),
		cmocka_unit_test(test_to_ll_reads_only_len_bytes),
		cmocka_unit_test(test_to_ll_round_trips_through_ll_to_str),
		cmocka_unit_test(test_to_ull_accepts_the_full_range),
		cmocka_unit_test(test_to_ull_rejects_overflow),
		cmocka_unit_test(test_to_ull_rejects_canonical_negatives),
		cmocka_unit_test(test_to_ull_falls_back_to_strtoull_rules),
		cmocka_unit_test(test_to_ull_rejects_what_strtoull_leaves_unparsed),
		cmocka_unit_test(test_ll_to_str_formats_zero_and_signs),
		cmocka_unit_test(test_ll_to_str_formats_the_extremes),
		cmocka_unit_test(test_ll_to_str_skips_nul_when_digits_fill_cap),
		cmocka_unit_test(test_ll_to_str_returns_zero_without_room),
		cmocka_unit_test(test_to_ld_parses_decimals_and_exponents),
		cmocka_unit_test(test_to_ld_has_long_double_range),
		cmocka_unit_test(test_to_ld_rejects_overflow_and_underflow_to_zero),
		cmocka_unit_test(test_to_ld_rejects_nan_and_accepts_inf),
		cmocka_unit_test(test_to_ld_rejects_spaces_empty_and_garbage),
		cmocka_unit_test(test_to_ld_accepts_up_to_5119_bytes),
		cmocka_unit_test(test_to_d_parses_numbers),
		cmocka_unit_test(test_to_d_accepts_inf_in_every_spelling),
		cmocka_unit_test(test_to_d_rejects_nan),
		cmocka_unit_test(test_to_d_rejects_overflow_and_underflow_to_zero),
		cmocka_unit_test(test_to_d_keeps_subnormals),
		cmocka_unit_test(test_to_d_rejects_spaces_empty_and_garbage),
		cmocka_unit_test(test_to_d_parses_long_input),
		cmocka_unit_test(test_incrbyfloat_10_5_plus_0_1_is_10_6),
		cmocka_unit_test(test_incrbyfloat_exponents_print_as_integers),
		cmocka_unit_test(test_incrbyfloat_redis_suite_values),
		cmocka_unit_test(test_incrbyfloat_never_prints_negative_zero),
		cmocka_unit_test(test_ld_to_str_trims_zeros_and_dot),
		cmocka_unit_test(test_ld_to_str_prints_17_decimals_at_most),
		cmocka_unit_test(test_ld_to_str_fits_the_largest_long_double_in_5120),
		cmocka_unit_test(test_ld_to_str_spells_out_infinity),
		cmocka_unit_test(test_ld_to_str_returns_zero_without_room),
		cmocka_unit_test(test_glob_star_matches_any_run),
		cmocka_unit_test(test_glob_empty_string_matches_only_empty_pattern),
		cmocka_unit_test(test_glob_question_mark_matches_exactly_one_byte),
		cmocka_unit_test(test_glob_set_matches_listed_bytes),
		cmocka_unit_test(test_glob_negated_set),
		cmocka_unit_test(test_glob_ranges_in_either_order),
		cmocka_unit_test(test_glob_backslash_escapes),
		cmocka_unit_test(test_glob_set_closes_at_first_bracket),
		cmocka_unit_test(test_glob_unterminated_set_runs_to_end_of_pattern),
		cmocka_unit_test(test_glob_dash_before_close_is_a_range_to_bracket),
		cmocka_unit_test(test_glob_nocase_folds_ascii),
		cmocka_unit_test(test_glob_nocase_escaped_set_member_is_exact),
		cmocka_unit_test(test_glob_nocase_folds_range_ends_after_ordering),
		cmocka_unit_test(test_glob_many_stars_stay_linear),
		cmocka_unit_test(test_glob_fails_past_1000_star_groups),
		cmocka_unit_test(test_eq_nocase),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
