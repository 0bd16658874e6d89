/*
 * test_lpack.c - the compact sequence: every call of lpack.h, integers and
 * strings of every encoded size read back byte for byte, inserts, deletes
 * and replaces at the head, middle and tail, seeks from both ends, finds
 * with a skip, and a long random run checked against an array of strings
 * after every operation.
 *
 * All randomness comes from xorshift with fixed seeds, so a failure
 * reproduces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lpack.h"
#include "mem.h"

/* ---- helpers ---- */

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static unsigned char *append_cstr(unsigned char *lp, const char *s)
{
	return lpack_append(lp, s, strlen(s));
}

/* Asserts that the element at pos reads back as exactly s. */
static void assert_elem(const unsigned char *lp, size_t pos, const char *s, size_t len)
{
	struct lpack_val v;

	assert_int_not_equal(pos, LPACK_END);
	lpack_get(lp, pos, &v);
	assert_int_equal(v.len, len);
	assert_memory_equal(v.p, s, len);
	assert_true(lpack_eq(lp, pos, s, len));
}

static void assert_elem_cstr(const unsigned char *lp, size_t pos, const char *s)
{
	assert_elem(lp, pos, s, strlen(s));
}

/* Asserts the whole lpack reads as the NULL-terminated list want, walking
 * forward, backward, and by seek with positive and negative indexes. */
static void assert_contents(const unsigned char *lp, const char *const *want)
{
	size_t n = 0, pos;

	while (want[n])
		n++;
	assert_int_equal(lpack_count(lp), n);
	pos = lpack_first(lp);
	for (size_t i = 0; i < n; i++) {
		assert_elem_cstr(lp, pos, want[i]);
		assert_int_equal(lpack_seek(lp, (long long)i), pos);
		assert_int_equal(lpack_seek(lp, (long long)i - (long long)n), pos);
		pos = lpack_next(lp, pos);
	}
	assert_int_equal(pos, LPACK_END);
	pos = lpack_last(lp);
	for (size_t i = n; i-- > 0;) {
		assert_elem_cstr(lp, pos, want[i]);
		pos = lpack_prev(lp, pos);
	}
	assert_int_equal(pos, LPACK_END);
}

/* ---- creation ---- */

static void test_new_is_empty(void **state)
{
	unsigned char *lp = lpack_new();

	(void)state;
	assert_int_equal(lpack_count(lp), 0);
	assert_true(lpack_bytes(lp) > 0);
	assert_int_equal(lpack_first(lp), LPACK_END);
	assert_int_equal(lpack_last(lp), LPACK_END);
	assert_int_equal(lpack_seek(lp, 0), LPACK_END);
	assert_int_equal(lpack_seek(lp, -1), LPACK_END);
	assert_int_equal(lpack_find(lp, lpack_first(lp), "a", 1, 0), LPACK_END);
	lpack_free(lp);
}

static void test_free_null(void **state)
{
	(void)state;
	lpack_free(NULL);
}

static void test_bytes_grow_and_shrink(void **state)
{
	unsigned char *lp = lpack_new();
	size_t empty = lpack_bytes(lp), pos;

	(void)state;
	lp = append_cstr(lp, "hello");
	assert_true(lpack_bytes(lp) > empty + 5);
	pos = lpack_first(lp);
	lp = lpack_delete(lp, &pos);
	assert_int_equal(lpack_bytes(lp), empty);
	lpack_free(lp);
}

static void test_dup_is_deep(void **state)
{
	unsigned char *lp = lpack_new(), *d;
	size_t pos;

	(void)state;
	lp = append_cstr(lp, "a");
	lp = append_cstr(lp, "17");
	d = lpack_dup(lp);
	assert_int_equal(lpack_bytes(d), lpack_bytes(lp));
	assert_memory_equal(d, lp, lpack_bytes(lp));
	pos = lpack_first(lp);
	lp = lpack_replace(lp, &pos, "changed", 7);
	assert_contents(d, (const char *[]){ "a", "17", NULL });
	assert_contents(lp, (const char *[]){ "changed", "17", NULL });
	lpack_free(lp);
	lpack_free(d);
}

/* ---- integers and strings ---- */

static void test_integers_round_trip(void **state)
{
	static const long long vals[] = {
		0, 1, 127, 128, -1, -128, -129, 255, 256, 32767, 32768, -32768, -32769,
		8388607, 8388608, -8388608, -8388609, 2147483647, 2147483648LL,
		-2147483648LL, -2147483649LL, 549755813887LL, 549755813888LL,
		140737488355327LL, 140737488355328LL, 36028797018963967LL,
		36028797018963968LL, LLONG_MAX, LLONG_MIN, LLONG_MIN + 1,
	};
	unsigned char *lp = lpack_new();
	size_t pos;

	(void)state;
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		lp = lpack_append_ll(lp, vals[i]);
	pos = lpack_first(lp);
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		struct lpack_val v;
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "%lld", vals[i]);

		lpack_get(lp, pos, &v);
		assert_true(v.is_int);
		assert_true(v.ll == vals[i]);
		assert_int_equal(v.len, (size_t)n);
		assert_memory_equal(v.p, buf, (size_t)n);
		assert_true(lpack_eq(lp, pos, buf, (size_t)n));
		pos = lpack_next(lp, pos);
	}
	assert_int_equal(pos, LPACK_END);
	lpack_free(lp);
}

static void test_integer_text_is_stored_as_integer(void **state)
{
	unsigned char *lp = lpack_new();
	struct lpack_val v;

	(void)state;
	lp = append_cstr(lp, "-9223372036854775808");
	lpack_get(lp, lpack_first(lp), &v);
	assert_true(v.is_int);
	assert_true(v.ll == LLONG_MIN);
	lpack_free(lp);
}

static void test_non_canonical_numbers_stay_strings(void **state)
{
	static const char *const texts[] = {
		"007", "-0", "+1", " 1", "1 ", "1.5", "9223372036854775808",
		"-9223372036854775809", "", "0x10", "1e3", "-",
	};
	unsigned char *lp = lpack_new();
	size_t pos;

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		lp = append_cstr(lp, texts[i]);
	pos = lpack_first(lp);
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct lpack_val v;

		lpack_get(lp, pos, &v);
		assert_false(v.is_int);
		assert_int_equal(v.len, strlen(texts[i]));
		assert_memory_equal(v.p, texts[i], v.len);
		pos = lpack_next(lp, pos);
	}
	lpack_free(lp);
}

static void test_strings_of_every_length_class(void **state)
{
	static const size_t lens[] = { 0, 1, 62, 63, 64, 65, 127, 128, 16383, 16384,
				       65535, 65536, 70000 };
	size_t n = sizeof(lens) / sizeof(lens[0]);
	unsigned char *lp = lpack_new();
	char *buf = malloc(70000);
	size_t pos;

	(void)state;
	for (size_t i = 0; i < 70000; i++)
		buf[i] = (char)('a' + i % 26);
	for (size_t i = 0; i < n; i++) {
		buf[0] = (char)('A' + i);	/* never a number, distinct */
		lp = lpack_append(lp, buf, lens[i]);
	}
	assert_int_equal(lpack_count(lp), n);
	pos = lpack_first(lp);
	for (size_t i = 0; i < n; i++) {
		buf[0] = (char)('A' + i);
		assert_elem(lp, pos, buf, lens[i]);
		pos = lpack_next(lp, pos);
	}
	/* and backwards, through back-lengths of one to three bytes */
	pos = lpack_last(lp);
	for (size_t i = n; i-- > 0;) {
		buf[0] = (char)('A' + i);
		assert_elem(lp, pos, buf, lens[i]);
		pos = lpack_prev(lp, pos);
	}
	assert_int_equal(pos, LPACK_END);
	free(buf);
	lpack_free(lp);
}

static void test_binary_strings(void **state)
{
	unsigned char *lp = lpack_new();
	const char bin[] = { 'a', 0, '\r', '\n', (char)0xff, (char)0x80 };

	(void)state;
	lp = lpack_append(lp, bin, sizeof(bin));
	assert_elem(lp, lpack_first(lp), bin, sizeof(bin));
	lpack_free(lp);
}

static void test_eq(void **state)
{
	unsigned char *lp = lpack_new();
	size_t p0, p1;

	(void)state;
	lp = append_cstr(lp, "12");
	lp = append_cstr(lp, "abc");
	p0 = lpack_first(lp);
	p1 = lpack_next(lp, p0);
	assert_true(lpack_eq(lp, p0, "12", 2));
	assert_false(lpack_eq(lp, p0, "012", 3));
	assert_false(lpack_eq(lp, p0, "13", 2));
	assert_false(lpack_eq(lp, p0, "1", 1));
	assert_true(lpack_eq(lp, p1, "abc", 3));
	assert_false(lpack_eq(lp, p1, "abd", 3));
	assert_false(lpack_eq(lp, p1, "ab", 2));
	assert_false(lpack_eq(lp, p1, "12", 2));
	lpack_free(lp);
}

/* ---- walking and seeking ---- */

static unsigned char *make_digits(void)
{
	unsigned char *lp = lpack_new();
	static const char *const words[] = { "zero", "1", "two", "3", "four", "-5", "six" };

	for (size_t i = 0; i < 7; i++)
		lp = append_cstr(lp, words[i]);
	return lp;
}

static void test_seek_positive_and_negative(void **state)
{
	unsigned char *lp = make_digits();

	(void)state;
	assert_elem_cstr(lp, lpack_seek(lp, 0), "zero");
	assert_elem_cstr(lp, lpack_seek(lp, 3), "3");
	assert_elem_cstr(lp, lpack_seek(lp, 6), "six");
	assert_elem_cstr(lp, lpack_seek(lp, -1), "six");
	assert_elem_cstr(lp, lpack_seek(lp, -2), "-5");
	assert_elem_cstr(lp, lpack_seek(lp, -7), "zero");
	assert_int_equal(lpack_seek(lp, 7), LPACK_END);
	assert_int_equal(lpack_seek(lp, -8), LPACK_END);
	assert_int_equal(lpack_seek(lp, LLONG_MAX), LPACK_END);
	assert_int_equal(lpack_seek(lp, LLONG_MIN), LPACK_END);
	assert_int_equal(lpack_seek(lp, 0), lpack_first(lp));
	assert_int_equal(lpack_seek(lp, -1), lpack_last(lp));
	lpack_free(lp);
}

static void test_next_prev_ends(void **state)
{
	unsigned char *lp = make_digits();

	(void)state;
	assert_int_equal(lpack_prev(lp, lpack_first(lp)), LPACK_END);
	assert_int_equal(lpack_next(lp, lpack_last(lp)), LPACK_END);
	assert_int_equal(lpack_next(lp, LPACK_END), LPACK_END);
	assert_int_equal(lpack_prev(lp, LPACK_END), LPACK_END);
	assert_int_equal(lpack_next(lp, lpack_prev(lp, lpack_last(lp))), lpack_last(lp));
	lpack_free(lp);
}

static void test_find_with_skip(void **state)
{
	unsigned char *lp = lpack_new();
	size_t pos;

	(void)state;
	/* field/value pairs where a value equals a later field */
	lp = append_cstr(lp, "f1");
	lp = append_cstr(lp, "f2");
	lp = append_cstr(lp, "f2");
	lp = append_cstr(lp, "100");
	lp = append_cstr(lp, "100");
	lp = append_cstr(lp, "v");
	pos = lpack_find(lp, lpack_first(lp), "f2", 2, 1);
	assert_int_equal(pos, lpack_seek(lp, 2));
	pos = lpack_find(lp, lpack_first(lp), "100", 3, 1);
	assert_int_equal(pos, lpack_seek(lp, 4));
	assert_int_equal(lpack_find(lp, lpack_first(lp), "v", 1, 1), LPACK_END);
	/* skip 0 finds the first occurrence anywhere */
	assert_int_equal(lpack_find(lp, lpack_first(lp), "f2", 2, 0), lpack_seek(lp, 1));
	assert_int_equal(lpack_find(lp, lpack_first(lp), "100", 3, 0), lpack_seek(lp, 3));
	assert_int_equal(lpack_find(lp, lpack_first(lp), "v", 1, 0), lpack_seek(lp, 5));
	/* starting in the middle, and on the values (pos 1, skip 1) */
	assert_int_equal(lpack_find(lp, lpack_seek(lp, 1), "v", 1, 1), lpack_seek(lp, 5));
	assert_int_equal(lpack_find(lp, lpack_seek(lp, 4), "f1", 2, 0), LPACK_END);
	assert_int_equal(lpack_find(lp, LPACK_END, "f1", 2, 0), LPACK_END);
	/* a skip running past the end stops cleanly */
	assert_int_equal(lpack_find(lp, lpack_first(lp), "zz", 2, 4), LPACK_END);
	/* integer text with another spelling does not match */
	assert_int_equal(lpack_find(lp, lpack_first(lp), "0100", 4, 0), LPACK_END);
	lpack_free(lp);
}

/* ---- changing ---- */

static void test_prepend_and_append(void **state)
{
	unsigned char *lp = lpack_new();

	(void)state;
	lp = append_cstr(lp, "b");
	lp = lpack_prepend(lp, "a", 1);
	lp = lpack_append_ll(lp, 3);
	lp = lpack_prepend(lp, "-7", 2);
	assert_contents(lp, (const char *[]){ "-7", "a", "b", "3", NULL });
	lpack_free(lp);
}

static void test_insert_head_middle_tail(void **state)
{
	unsigned char *lp = lpack_new();
	size_t pos;

	(void)state;
	lp = append_cstr(lp, "b");
	lp = append_cstr(lp, "d");
	pos = lpack_first(lp);
	lp = lpack_insert(lp, &pos, false, "a", 1);		/* head, before */
	assert_elem_cstr(lp, pos, "a");
	assert_int_equal(pos, lpack_first(lp));
	pos = lpack_seek(lp, 1);
	lp = lpack_insert(lp, &pos, true, "c", 1);		/* middle, after */
	assert_elem_cstr(lp, pos, "c");
	assert_int_equal(pos, lpack_seek(lp, 2));
	pos = lpack_last(lp);
	lp = lpack_insert(lp, &pos, true, "5", 1);		/* tail, after */
	assert_elem_cstr(lp, pos, "5");
	assert_int_equal(pos, lpack_last(lp));
	pos = LPACK_END;
	lp = lpack_insert(lp, &pos, false, "end", 3);		/* END = append */
	assert_int_equal(pos, lpack_last(lp));
	pos = lpack_last(lp);
	lp = lpack_insert(lp, &pos, false, "x", 1);		/* before the tail */
	assert_int_equal(pos, lpack_seek(lp, -2));
	assert_contents(lp, (const char *[]){ "a", "b", "c", "d", "5", "x", "end", NULL });
	lpack_free(lp);
}

static void test_replace_head_middle_tail(void **state)
{
	unsigned char *lp = make_digits();
	char big[300];
	size_t pos;

	(void)state;
	memset(big, 'q', sizeof(big));
	pos = lpack_first(lp);
	lp = lpack_replace(lp, &pos, "Z", 1);			/* shrinks */
	assert_int_equal(pos, lpack_first(lp));
	pos = lpack_seek(lp, 3);
	lp = lpack_replace(lp, &pos, big, sizeof(big));		/* grows */
	assert_int_equal(pos, lpack_seek(lp, 3));
	assert_elem(lp, pos, big, sizeof(big));
	pos = lpack_last(lp);
	lp = lpack_replace(lp, &pos, "123456789", 9);		/* to an integer */
	assert_int_equal(pos, lpack_last(lp));
	pos = lpack_seek(lp, 1);
	lp = lpack_replace(lp, &pos, "111", 3);			/* same size class */
	assert_elem_cstr(lp, lpack_seek(lp, 0), "Z");
	assert_elem_cstr(lp, lpack_seek(lp, 1), "111");
	assert_elem_cstr(lp, lpack_seek(lp, 2), "two");
	assert_elem(lp, lpack_seek(lp, 3), big, sizeof(big));
	assert_elem_cstr(lp, lpack_seek(lp, 4), "four");
	assert_elem_cstr(lp, lpack_seek(lp, 5), "-5");
	assert_elem_cstr(lp, lpack_seek(lp, 6), "123456789");
	assert_elem(lp, lpack_prev(lp, lpack_seek(lp, 4)), big, sizeof(big));
	assert_int_equal(lpack_count(lp), 7);
	lpack_free(lp);
}

static void test_delete_head_middle_tail(void **state)
{
	unsigned char *lp = make_digits();
	size_t pos;

	(void)state;
	pos = lpack_first(lp);
	lp = lpack_delete(lp, &pos);
	assert_elem_cstr(lp, pos, "1");
	pos = lpack_seek(lp, 2);				/* "3" */
	lp = lpack_delete(lp, &pos);
	assert_elem_cstr(lp, pos, "four");
	pos = lpack_last(lp);
	lp = lpack_delete(lp, &pos);
	assert_int_equal(pos, LPACK_END);
	assert_contents(lp, (const char *[]){ "1", "two", "four", "-5", NULL });
	lpack_free(lp);
}

static void test_delete_range(void **state)
{
	unsigned char *lp = make_digits();

	(void)state;
	lp = lpack_delete_range(lp, 1, 2);
	assert_contents(lp, (const char *[]){ "zero", "3", "four", "-5", "six", NULL });
	lp = lpack_delete_range(lp, -2, 10);		/* runs past the end */
	assert_contents(lp, (const char *[]){ "zero", "3", "four", NULL });
	lp = lpack_delete_range(lp, 5, 1);		/* out of range: no-op */
	lp = lpack_delete_range(lp, 0, 0);		/* nothing */
	assert_contents(lp, (const char *[]){ "zero", "3", "four", NULL });
	lp = lpack_delete_range(lp, 0, 1);
	assert_contents(lp, (const char *[]){ "3", "four", NULL });
	lp = lpack_delete_range(lp, -2, 2);
	assert_contents(lp, (const char *[]){ NULL });
	lpack_free(lp);
}

static void test_insert_from_own_element(void **state)
{
	unsigned char *lp = lpack_new();
	struct lpack_val v;
	size_t pos;
	char big[200];

	(void)state;
	memset(big, 'w', sizeof(big));
	lp = lpack_append(lp, big, sizeof(big));
	lp = append_cstr(lp, "x");
	/* copying an element of the lpack into itself, at every kind of call */
	lpack_get(lp, lpack_first(lp), &v);
	lp = lpack_append(lp, v.p, v.len);
	lpack_get(lp, lpack_first(lp), &v);
	lp = lpack_prepend(lp, v.p, v.len);
	lpack_get(lp, lpack_first(lp), &v);
	pos = lpack_seek(lp, 2);
	lp = lpack_replace(lp, &pos, v.p, v.len);
	lpack_get(lp, lpack_first(lp), &v);
	pos = lpack_seek(lp, 1);
	lp = lpack_insert(lp, &pos, true, v.p, v.len);
	assert_int_equal(lpack_count(lp), 5);
	for (pos = lpack_first(lp); pos != LPACK_END; pos = lpack_next(lp, pos))
		assert_elem(lp, pos, big, sizeof(big));
	lpack_free(lp);
}

/* ---- random operations against an array model ---- */

#define MODEL_CAP 512

struct model {
	char *s[MODEL_CAP];	/* malloc'd copies */
	size_t len[MODEL_CAP];
	size_t n;
};

static void model_insert(struct model *m, size_t at, const char *s, size_t len)
{
	memmove(&m->s[at + 1], &m->s[at], (m->n - at) * sizeof(m->s[0]));
	memmove(&m->len[at + 1], &m->len[at], (m->n - at) * sizeof(m->len[0]));
	m->s[at] = malloc(len + 1);
	memcpy(m->s[at], s, len);
	m->len[at] = len;
	m->n++;
}

static void model_delete(struct model *m, size_t at, size_t count)
{
	for (size_t i = at; i < at + count; i++)
		free(m->s[i]);
	memmove(&m->s[at], &m->s[at + count], (m->n - at - count) * sizeof(m->s[0]));
	memmove(&m->len[at], &m->len[at + count], (m->n - at - count) * sizeof(m->len[0]));
	m->n -= count;
}

/* A random element: small and large integers, their non-canonical
 * spellings, and strings across the length classes. */
static size_t random_elem(uint64_t *rng, char *buf)
{
	uint64_t r = xorshift(rng);

	switch (r % 6) {
	case 0:
		return (size_t)sprintf(buf, "%d", (int)(r >> 8) % 300 - 150);
	case 1:
		return (size_t)sprintf(buf, "%lld", (long long)(xorshift(rng) >> (r >> 8) % 64));
	case 2:
		return (size_t)sprintf(buf, "-%lld", (long long)(xorshift(rng) >> 1));
	case 3:
		return (size_t)sprintf(buf, "0%d", (int)(r >> 8) % 100);
	default: {
		static const size_t classes[] = { 0, 5, 63, 64, 200, 1000 };
		size_t len = classes[(r >> 8) % 6] + (r >> 16) % 3;

		for (size_t i = 0; i < len; i++)
			buf[i] = (char)(' ' + xorshift(rng) % 90);
		if (len)
			buf[0] = 'k';	/* keep it a string */
		return len;
	}
	}
}

static void model_check(const unsigned char *lp, const struct model *m)
{
	size_t pos = lpack_first(lp);

	assert_int_equal(lpack_count(lp), m->n);
	for (size_t i = 0; i < m->n; i++) {
		assert_elem(lp, pos, m->s[i], m->len[i]);
		pos = lpack_next(lp, pos);
	}
	assert_int_equal(pos, LPACK_END);
	pos = lpack_last(lp);
	for (size_t i = m->n; i-- > 0;) {
		assert_elem(lp, pos, m->s[i], m->len[i]);
		pos = lpack_prev(lp, pos);
	}
	assert_int_equal(pos, LPACK_END);
}

static void test_random_against_model(void **state)
{
	static struct model m;
	unsigned char *lp = lpack_new();
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	char *buf = malloc(2048);

	(void)state;
	m.n = 0;
	for (int op = 0; op < 20000; op++) {
		uint64_t r = xorshift(&rng);
		size_t len = random_elem(&rng, buf), at, pos;
		unsigned kind = (unsigned)(r % 9);

		if (m.n == 0 || (m.n < MODEL_CAP - 1 && kind < 4)) {
			at = m.n ? (size_t)(r >> 8) % (m.n + 1) : 0;
			if (kind == 0) {
				lp = lpack_prepend(lp, buf, len);
				at = 0;
			} else if (kind == 1 || at == m.n) {
				pos = LPACK_END;
				lp = lpack_insert(lp, &pos, false, buf, len);
				at = m.n;
				assert_int_equal(pos, lpack_last(lp));
			} else if (kind == 2) {
				pos = lpack_seek(lp, (long long)at);
				lp = lpack_insert(lp, &pos, false, buf, len);
				assert_int_equal(pos, lpack_seek(lp, (long long)at));
			} else {
				/* by negative index: before the head, or after
				 * the element before at */
				if (at == 0) {
					pos = lpack_seek(lp, -(long long)m.n);
					lp = lpack_insert(lp, &pos, false, buf, len);
				} else {
					pos = lpack_seek(lp, (long long)at - 1 - (long long)m.n);
					lp = lpack_insert(lp, &pos, true, buf, len);
				}
				assert_int_equal(pos, lpack_seek(lp, (long long)at));
			}
			model_insert(&m, at, buf, len);
		} else if (kind < 6) {
			at = (size_t)(r >> 8) % m.n;
			pos = lpack_seek(lp, (long long)at);
			lp = lpack_replace(lp, &pos, buf, len);
			assert_int_equal(pos, lpack_seek(lp, (long long)at));
			free(m.s[at]);
			m.s[at] = malloc(len + 1);
			memcpy(m.s[at], buf, len);
			m.len[at] = len;
		} else if (kind < 8) {
			at = (size_t)(r >> 8) % m.n;
			pos = lpack_seek(lp, -(long long)(m.n - at));
			lp = lpack_delete(lp, &pos);
			model_delete(&m, at, 1);
			if (at < m.n)
				assert_int_equal(pos, lpack_seek(lp, (long long)at));
			else
				assert_int_equal(pos, LPACK_END);
		} else {
			size_t cnt = (size_t)(r >> 20) % 5;

			at = (size_t)(r >> 8) % m.n;
			lp = lpack_delete_range(lp, (long long)at, cnt);
			model_delete(&m, at, cnt < m.n - at ? cnt : m.n - at);
		}
		if (op % 64 == 0 || m.n < 8)
			model_check(lp, &m);
		/* find the first copy of a random element's text */
		if (m.n) {
			size_t want = (size_t)(xorshift(&rng) % m.n), first = want;

			for (size_t i = 0; i < want; i++) {
				if (m.len[i] == m.len[want] &&
				    memcmp(m.s[i], m.s[want], m.len[i]) == 0) {
					first = i;
					break;
				}
			}
			assert_int_equal(lpack_find(lp, lpack_first(lp), m.s[want], m.len[want], 0),
					 lpack_seek(lp, (long long)first));
		}
	}
	model_check(lp, &m);
	model_delete(&m, 0, m.n);
	free(buf);
	lpack_free(lp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_is_empty),
		cmocka_unit_test(test_free_null),
		cmocka_unit_test(test_bytes_grow_and_shrink),
		cmocka_unit_test(test_dup_is_deep),
		cmocka_unit_test(test_integers_round_trip),
		cmocka_unit_test(test_integer_text_is_stored_as_integer),
		cmocka_unit_test(test_non_canonical_numbers_stay_strings),
		cmocka_unit_test(test_strings_of_every_length_class),
		cmocka_unit_test(test_binary_strings),
		cmocka_unit_test(test_eq),
		cmocka_unit_test(test_seek_positive_and_negative),
		cmocka_unit_test(test_next_prev_ends),
		cmocka_unit_test(test_find_with_skip),
		cmocka_unit_test(test_prepend_and_append),
		cmocka_unit_test(test_insert_head_middle_tail),
		cmocka_unit_test(test_replace_head_middle_tail),
		cmocka_unit_test(test_delete_head_middle_tail),
		cmocka_unit_test(test_delete_range),
		cmocka_unit_test(test_insert_from_own_element),
		cmocka_unit_test(test_random_against_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
