/*
 * test_t_list.c - the quicklist: ends, indexes, ranges, iteration with
 * deletes and inserts, node limits, splitting and merging, and long random
 * runs checked element by element against a plain array model.
 *
 * Every test ends with t_list_check(), which aborts on a broken invariant
 * (counts, links, empty nodes, node limits), and frees what it made, so
 * that the memory accounting test can see a leak.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "t_list.h"
#include "util.h"

#define S(lit) (lit), (sizeof(lit) - 1)

/* ---- helpers ---- */

static void push_str(struct t_list *l, enum t_list_end where, const char *s)
{
	t_list_push(l, where, s, strlen(s));
}

/* Pushes "0", "1", ... "n-1" at the tail. */
static struct t_list *list_of_numbers(int fill, int n)
{
	struct t_list *l = t_list_new(fill);
	char buf[32];

	for (int i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "%d", i);
		push_str(l, T_LIST_TAIL, buf);
	}
	t_list_check(l);
	return l;
}

static void assert_index_is(const struct t_list *l, long long i, const char *want)
{
	struct lpack_val v;

	assert_true(t_list_index(l, i, &v));
	assert_int_equal(v.len, strlen(want));
	assert_memory_equal(v.p, want, v.len);
}

/* The whole list, joined with ',' (elements are short in these tests). */
static char *list_join(struct t_list *l)
{
	static char out[65536];
	struct t_list_iter it;
	struct lpack_val v;
	size_t n = 0;

	out[0] = '\0';
	t_list_iter_init(l, 0, true, &it);
	while (t_list_iter_next(&it, &v)) {
		assert_true(n + v.len + 2 < sizeof(out));
		if (n)
			out[n++] = ',';
		memcpy(out + n, v.p, v.len);
		n += v.len;
	}
	out[n] = '\0';
	return out;
}

/* ---- the ends ---- */

static void test_new_list_is_empty(void **state)
{
	struct t_list *l = t_list_new(-2);
	struct lpack_val v;

	(void)state;
	assert_int_equal(t_list_len(l), 0);
	assert_int_equal(t_list_nodes(l), 0);
	assert_false(t_list_peek(l, T_LIST_HEAD, &v));
	assert_false(t_list_peek(l, T_LIST_TAIL, &v));
	assert_int_equal(t_list_pop(l, T_LIST_HEAD, 3), 0);
	assert_false(t_list_index(l, 0, &v));
	assert_false(t_list_index(l, -1, &v));
	assert_false(t_list_set(l, 0, S("x")));
	assert_int_equal(t_list_del_range(l, 0, 5), 0);
	t_list_check(l);
	t_list_free(l);
	t_list_free(NULL);
}

static void test_push_both_ends_and_peek(void **state)
{
	struct t_list *l = t_list_new(-2);
	struct lpack_val v;

	(void)state;
	push_str(l, T_LIST_TAIL, "b");
	push_str(l, T_LIST_HEAD, "a");
	push_str(l, T_LIST_TAIL, "c");
	assert_int_equal(t_list_len(l), 3);
	assert_true(t_list_peek(l, T_LIST_HEAD, &v));
	assert_int_equal(v.len, 1);
	assert_memory_equal(v.p, "a", 1);
	assert_true(t_list_peek(l, T_LIST_TAIL, &v));
	assert_memory_equal(v.p, "c", 1);
	assert_string_equal(list_join(l), "a,b,c");
	t_list_check(l);
	t_list_free(l);
}

static void test_integers_and_binary_read_back_as_pushed(void **state)
{
	static const char bin[] = "x\0y\r\n";
	struct t_list *l = t_list_new(-2);
	struct lpack_val v;

	(void)state;
	push_str(l, T_LIST_TAIL, "-9223372036854775808");
	push_str(l, T_LIST_TAIL, "007");
	t_list_push(l, T_LIST_TAIL, bin, sizeof(bin) - 1);
	t_list_push(l, T_LIST_TAIL, "", 0);
	assert_index_is(l, 0, "-9223372036854775808");
	assert_index_is(l, 1, "007");
	assert_true(t_list_index(l, 2, &v));
	assert_int_equal(v.len, sizeof(bin) - 1);
	assert_memory_equal(v.p, bin, v.len);
	assert_true(t_list_index(l, 3, &v));
	assert_int_equal(v.len, 0);
	t_list_check(l);
	t_list_free(l);
}

static void test_pop_takes_from_the_chosen_end_and_stops_when_empty(void **state)
{
	struct t_list *l = list_of_numbers(3, 10);

	(void)state;
	assert_int_equal(t_list_pop(l, T_LIST_HEAD, 4), 4);
	assert_string_equal(list_join(l), "4,5,6,7,8,9");
	assert_int_equal(t_list_pop(l, T_LIST_TAIL, 1), 1);
	assert_string_equal(list_join(l), "4,5,6,7,8");
	t_list_check(l);
	assert_int_equal(t_list_pop(l, T_LIST_TAIL, 100), 5);
	assert_int_equal(t_list_len(l), 0);
	assert_int_equal(t_list_nodes(l), 0);
	t_list_check(l);
	t_list_free(l);
}

/* ---- node limits ---- */

static void test_positive_fill_counts_elements_per_node(void **state)
{
	struct t_list *l = list_of_numbers(4, 10);

	(void)state;
	assert_int_equal(t_list_nodes(l), 3);	/* 4 + 4 + 2 */
	t_list_free(l);
	l = t_list_new(4);
	for (int i = 0; i < 10; i++)
		push_str(l, T_LIST_HEAD, "h");
	assert_int_equal(t_list_nodes(l), 3);
	t_list_check(l);
	t_list_free(l);
}

static void test_fill_zero_keeps_one_element_per_node(void **state)
{
	struct t_list *l = list_of_numbers(0, 7);

	(void)state;
	assert_int_equal(t_list_nodes(l), 7);
	t_list_free(l);
}

static void test_positive_fill_is_also_capped_at_8kib(void **state)
{
	struct t_list *l = t_list_new(1000);
	char big[1000];

	(void)state;
	memset(big, 'x', sizeof(big));
	for (int i = 0; i < 100; i++)
		t_list_push(l, T_LIST_TAIL, big, sizeof(big));
	/* about 8 elements of 1000 bytes fit in 8 KiB */
	assert_in_range(t_list_nodes(l), 12, 15);
	t_list_check(l);
	t_list_free(l);
}

static void test_negative_fill_limits_node_bytes(void **state)
{
	static const struct { int fill; size_t per_node; } cases[] = {
		{ -1, 4096 }, { -2, 8192 }, { -3, 16384 }, { -4, 32768 }, { -5, 65536 },
	};
	char elem[100];

	(void)state;
	memset(elem, 'e', sizeof(elem));
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct t_list *l = t_list_new(cases[c].fill);
		size_t n = 2000, min_nodes = n * sizeof(elem) / cases[c].per_node;

		for (size_t i = 0; i < n; i++)
			t_list_push(l, i % 2 ? T_LIST_HEAD : T_LIST_TAIL, elem, sizeof(elem));
		assert_in_range(t_list_nodes(l), min_nodes, min_nodes * 2);
		t_list_check(l);
		t_list_free(l);
	}
}

static void test_fill_below_minus_5_is_clamped(void **state)
{
	struct t_list *a = t_list_new(-5), *b = t_list_new(-1000);
	char elem[100];

	(void)state;
	memset(elem, 'e', sizeof(elem));
	for (int i = 0; i < 3000; i++) {
		t_list_push(a, T_LIST_TAIL, elem, sizeof(elem));
		t_list_push(b, T_LIST_TAIL, elem, sizeof(elem));
	}
	assert_int_equal(t_list_nodes(a), t_list_nodes(b));
	t_list_check(b);
	t_list_free(a);
	t_list_free(b);
}

static void test_element_larger_than_the_limit_gets_its_own_node(void **state)
{
	struct t_list *l = list_of_numbers(-1, 3);
	size_t big_len = 100000;
	char *big = malloc(big_len);
	struct lpack_val v;

	(void)state;
	memset(big, 'B', big_len);
	t_list_push(l, T_LIST_TAIL, big, big_len);
	push_str(l, T_LIST_TAIL, "after");
	assert_int_equal(t_list_nodes(l), 3);
	assert_true(t_list_index(l, 3, &v));
	assert_int_equal(v.len, big_len);
	assert_memory_equal(v.p, big, big_len);
	assert_index_is(l, 4, "after");
	t_list_check(l);
	t_list_free(l);
	free(big);
}

/* ---- by index ---- */

static void test_index_counts_from_both_ends(void **state)
{
	struct t_list *l = list_of_numbers(3, 20);
	struct lpack_val v;

	(void)state;
	for (int i = 0; i < 20; i++) {
		char buf[16];

		snprintf(buf, sizeof(buf), "%d", i);
		assert_index_is(l, i, buf);
		assert_index_is(l, i - 20, buf);
	}
	assert_false(t_list_index(l, 20, &v));
	assert_false(t_list_index(l, -21, &v));
	assert_false(t_list_index(l, INT64_MIN, &v));
	assert_false(t_list_index(l, INT64_MAX, &v));
	t_list_free(l);
}

static void test_set_replaces_in_place(void **state)
{
	struct t_list *l = list_of_numbers(3, 7);

	(void)state;
	assert_true(t_list_set(l, 0, S("first")));
	assert_true(t_list_set(l, -1, S("last")));
	assert_true(t_list_set(l, 3, S("mid")));
	assert_false(t_list_set(l, 7, S("out")));
	assert_false(t_list_set(l, -8, S("out")));
	assert_string_equal(list_join(l), "first,1,2,mid,4,5,last");
	t_list_check(l);
	t_list_free(l);
}

static void test_set_of_a_big_value_splits_its_node(void **state)
{
	struct t_list *l = list_of_numbers(-1, 30);
	size_t nodes = t_list_nodes(l);
	char big[6000];
	struct lpack_val v;

	(void)state;
	assert_int_equal(nodes, 1);
	memset(big, 'Z', sizeof(big));
	assert_true(t_list_set(l, 15, big, sizeof(big)));
	assert_int_equal(t_list_nodes(l), 3);
	assert_true(t_list_index(l, 15, &v));
	assert_int_equal(v.len, sizeof(big));
	assert_index_is(l, 14, "14");
	assert_index_is(l, 16, "16");
	t_list_check(l);
	/* Back to small: the pieces fit one node again after a range delete
	 * next to them merges them. */
	assert_true(t_list_set(l, 15, S("15")));
	t_list_check(l);
	t_list_free(l);
}

/* ---- ranges ---- */

static void test_del_range_inside_one_node(void **state)
{
	struct t_list *l = list_of_numbers(-2, 10);

	(void)state;
	assert_int_equal(t_list_del_range(l, 2, 3), 3);
	assert_string_equal(list_join(l), "0,1,5,6,7,8,9");
	assert_int_equal(t_list_del_range(l, -2, 10), 2);
	assert_string_equal(list_join(l), "0,1,5,6,7");
	assert_int_equal(t_list_del_range(l, 5, 1), 0);
	assert_int_equal(t_list_del_range(l, -6, 1), 0);
	assert_int_equal(t_list_del_range(l, 0, 0), 0);
	t_list_check(l);
	t_list_free(l);
}

static void test_del_range_across_nodes_merges_what_is_left(void **state)
{
	struct t_list *l = list_of_numbers(4, 40);

	(void)state;
	assert_int_equal(t_list_nodes(l), 10);
	/* keep 0,1 of the first node and 38,39 of the last: they fit one node */
	assert_int_equal(t_list_del_range(l, 2, 36), 36);
	assert_string_equal(list_join(l), "0,1,38,39");
	assert_int_equal(t_list_nodes(l), 1);
	t_list_check(l);
	t_list_free(l);
}

static void test_del_range_of_everything_empties_the_list(void **state)
{
	struct t_list *l = list_of_numbers(2, 9);

	(void)state;
	assert_int_equal(t_list_del_range(l, 0, 100), 9);
	assert_int_equal(t_list_len(l), 0);
	assert_int_equal(t_list_nodes(l), 0);
	t_list_check(l);
	t_list_free(l);
}

/* ---- iteration ---- */

static void test_iterator_walks_both_ways_from_any_index(void **state)
{
	struct t_list *l = list_of_numbers(3, 10);
	struct t_list_iter it;
	struct lpack_val v;
	char want[16];
	int i;

	(void)state;
	t_list_iter_init(l, 4, true, &it);
	for (i = 4; t_list_iter_next(&it, &v); i++) {
		snprintf(want, sizeof(want), "%d", i);
		assert_int_equal(v.len, strlen(want));
		assert_memory_equal(v.p, want, v.len);
	}
	assert_int_equal(i, 10);
	t_list_iter_init(l, -3, false, &it);
	for (i = 7; t_list_iter_next(&it, &v); i--) {
		snprintf(want, sizeof(want), "%d", i);
		assert_memory_equal(v.p, want, v.len);
	}
	assert_int_equal(i, -1);
	t_list_iter_init(l, 10, true, &it);
	assert_false(t_list_iter_next(&it, &v));
	t_list_free(l);
}

/* Deletes every element equal to one of the odd numbers, walking in the
 * given direction (LREM's loop). */
static void delete_odds(struct t_list *l, bool forward)
{
	struct t_list_iter it;
	struct lpack_val v;

	t_list_iter_init(l, forward ? 0 : -1, forward, &it);
	while (t_list_iter_next(&it, &v)) {
		if ((v.p[v.len - 1] - '0') % 2)
			t_list_iter_delete(&it);
		t_list_check(l);
	}
}

static void test_iterator_delete_forward_and_backward(void **state)
{
	struct t_list *l = list_of_numbers(3, 12);

	(void)state;
	delete_odds(l, true);
	assert_string_equal(list_join(l), "0,2,4,6,8,10");
	t_list_free(l);
	l = list_of_numbers(3, 12);
	delete_odds(l, false);
	assert_string_equal(list_join(l), "0,2,4,6,8,10");
	t_list_free(l);
	l = list_of_numbers(1, 5);	/* every node empties */
	delete_odds(l, false);
	assert_string_equal(list_join(l), "0,2,4");
	assert_int_equal(t_list_nodes(l), 3);
	t_list_free(l);
}

static void test_iterator_delete_of_everything(void **state)
{
	struct t_list *l = list_of_numbers(2, 7);
	struct t_list_iter it;
	struct lpack_val v;
	int n = 0;

	(void)state;
	t_list_iter_init(l, -1, false, &it);
	while (t_list_iter_next(&it, &v)) {
		t_list_iter_delete(&it);
		n++;
	}
	assert_int_equal(n, 7);
	assert_int_equal(t_list_len(l), 0);
	t_list_check(l);
	t_list_free(l);
}

/* Inserts s before or after the element equal to pivot (LINSERT). */
static void insert_at(struct t_list *l, const char *pivot, bool after, const char *s)
{
	struct t_list_iter it;
	struct lpack_val v;

	t_list_iter_init(l, 0, true, &it);
	while (t_list_iter_next(&it, &v)) {
		if (t_list_iter_eq(&it, pivot, strlen(pivot))) {
			t_list_iter_insert(&it, after, s, strlen(s));
			assert_false(t_list_iter_next(&it, &v));
			t_list_check(l);
			return;
		}
	}
	fail_msg("pivot %s not found", pivot);
}

static void test_insert_into_a_node_with_room(void **state)
{
	struct t_list *l = list_of_numbers(-2, 4);

	(void)state;
	insert_at(l, "0", false, "a");
	insert_at(l, "3", true, "z");
	insert_at(l, "1", true, "m");
	assert_string_equal(list_join(l), "a,0,1,m,2,3,z");
	assert_int_equal(t_list_nodes(l), 1);
	t_list_free(l);
}

static void test_insert_into_full_nodes_splits_and_uses_neighbours(void **state)
{
	struct t_list *l = list_of_numbers(3, 6);	/* [0,1,2] [3,4,5] */

	(void)state;
	assert_int_equal(t_list_nodes(l), 2);
	insert_at(l, "1", true, "x");		/* middle of a full node: split */
	assert_string_equal(list_join(l), "0,1,x,2,3,4,5");
	assert_int_equal(t_list_len(l), 7);
	insert_at(l, "5", true, "end");		/* tail of the last node: new node */
	insert_at(l, "0", false, "start");	/* head of the first node */
	assert_string_equal(list_join(l), "start,0,1,x,2,3,4,5,end");
	t_list_free(l);

	l = list_of_numbers(2, 4);		/* [0,1] [2,3] */
	t_list_pop(l, T_LIST_TAIL, 1);		/* [0,1] [2] */
	insert_at(l, "1", true, "y");		/* tail of a full node: next has room */
	assert_string_equal(list_join(l), "0,1,y,2");
	assert_int_equal(t_list_nodes(l), 2);
	t_list_free(l);
}

static void test_insert_next_to_one_element_nodes(void **state)
{
	struct t_list *l = list_of_numbers(1, 3);	/* one element per node */

	(void)state;
	insert_at(l, "1", false, "a");
	insert_at(l, "1", true, "b");
	assert_string_equal(list_join(l), "0,a,1,b,2");
	assert_int_equal(t_list_nodes(l), 5);
	t_list_free(l);
}

/* ---- copy and memory ---- */

static void test_dup_is_deep_and_equal(void **state)
{
	struct t_list *l = list_of_numbers(3, 10), *d = t_list_dup(l);
	char want[128];

	(void)state;
	strcpy(want, list_join(l));
	assert_string_equal(list_join(d), want);
	assert_int_equal(t_list_nodes(d), t_list_nodes(l));
	t_list_pop(l, T_LIST_HEAD, 5);
	assert_string_equal(list_join(d), want);
	t_list_check(d);
	t_list_free(l);
	t_list_free(d);
}

static void test_kv_ops_report_quicklist_and_memory(void **state)
{
	struct t_list *l = list_of_numbers(-2, 100);
	size_t m = kv_list_ops.mem(l);
	void *d;

	(void)state;
	assert_string_equal(kv_list_ops.enc_name(l), "quicklist");
	assert_true(m > 100);
	for (int i = 0; i < 1000; i++)
		push_str(l, T_LIST_TAIL, "some longer element text");
	assert_true(kv_list_ops.mem(l) > m + 1000 * 24);
	d = kv_list_ops.dup(l);
	assert_int_equal(t_list_len(d), 1100);
	kv_list_ops.free(d);
	kv_list_ops.free(l);
}

static void test_memory_is_returned(void **state)
{
	size_t before = mem_used();
	struct t_list *l = list_of_numbers(2, 1000);

	(void)state;
	assert_true(mem_used() > before);
	t_list_del_range(l, 10, 500);
	t_list_free(l);
	assert_int_equal(mem_used(), before);
}

/* ---- randomized against an array model ---- */

struct model {
	char **s;	/* elements, malloc'd */
	size_t *len;
	size_t n, cap;
};

static void model_insert(struct model *m, size_t at, const char *s, size_t len)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->s = realloc(m->s, m->cap * sizeof(*m->s));
		m->len = realloc(m->len, m->cap * sizeof(*m->len));
	}
	memmove(m->s + at + 1, m->s + at, (m->n - at) * sizeof(*m->s));
	memmove(m->len + at + 1, m->len + at, (m->n - at) * sizeof(*m->len));
	m->s[at] = malloc(len + 1);
	memcpy(m->s[at], s, len);
	m->len[at] = len;
	m->n++;
}

static void model_delete(struct model *m, size_t at, size_t count)
{
	if (!count)
		return;
	for (size_t i = at; i < at + count; i++)
		free(m->s[i]);
	memmove(m->s + at, m->s + at + count, (m->n - at - count) * sizeof(*m->s));
	memmove(m->len + at, m->len + at + count, (m->n - at - count) * sizeof(*m->len));
	m->n -= count;
}

static void model_free(struct model *m)
{
	model_delete(m, 0, m->n);
	free(m->s);
	free(m->len);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static size_t rnd_below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

/* A random element: small integers (so that equal values repeat), short
 * strings, and now and then one bigger than a node. */
static size_t random_elem(char *buf)
{
	size_t r = rnd_below(100), len;

	if (r < 50)
		return (size_t)snprintf(buf, 32, "%d", (int)rnd_below(20) - 5);
	if (r < 97) {
		len = rnd_below(40);
		for (size_t i = 0; i < len; i++)
			buf[i] = (char)('a' + rnd_below(3));
		return len;
	}
	len = 3000 + rnd_below(70000);
	memset(buf, 'L', len);
	buf[0] = (char)('0' + rnd_below(10));
	return len;
}

static void assert_matches_model(struct t_list *l, const struct model *m)
{
	struct t_list_iter it;
	struct lpack_val v;
	size_t i = 0;

	t_list_check(l);
	assert_int_equal(t_list_len(l), m->n);
	t_list_iter_init(l, 0, true, &it);
	while (t_list_iter_next(&it, &v)) {
		assert_true(i < m->n);
		assert_int_equal(v.len, m->len[i]);
		assert_memory_equal(v.p, m->s[i], v.len);
		i++;
	}
	assert_int_equal(i, m->n);
}

static void random_run(int fill, int steps)
{
	static char buf[80000];
	struct t_list *l = t_list_new(fill);
	struct model m = { 0 };
	struct lpack_val v;
	size_t maxn = 0;

	for (int step = 0; step < steps; step++) {
		size_t op = rnd_below(100), len, i, k;

		/* Alternate phases of growing towards a few thousand elements
		 * and shrinking towards a few, so that runs see long chains of
		 * nodes and chains emptying again. */
		size_t target = (step / 1500) % 2 ? 20 : 3000;

		if (m.n < target && op >= 50 && op < 84 && (rnd() & 1))
			op = rnd_below(50);
		else if (m.n > target && op < 50 && (rnd() & 1))
			op = 50 + rnd_below(34);
		if (op < 20) {
			len = random_elem(buf);
			t_list_push(l, T_LIST_HEAD, buf, len);
			model_insert(&m, 0, buf, len);
		} else if (op < 40) {
			len = random_elem(buf);
			t_list_push(l, T_LIST_TAIL, buf, len);
			model_insert(&m, m.n, buf, len);
		} else if (op < 50) {
			/* insert through the iterator next to a random element */
			bool after = rnd() & 1;
			struct t_list_iter it;

			if (!m.n)
				continue;
			i = rnd_below(m.n);
			len = random_elem(buf);
			t_list_iter_init(l, (long long)i, true, &it);
			assert_true(t_list_iter_next(&it, &v));
			assert_int_equal(v.len, m.len[i]);
			t_list_iter_insert(&it, after, buf, len);
			model_insert(&m, i + (after ? 1 : 0), buf, len);
		} else if (op < 58) {
			k = 1 + rnd_below(5);
			bool head = rnd() & 1;
			size_t want = MIN(k, m.n);

			assert_int_equal(t_list_pop(l, head ? T_LIST_HEAD : T_LIST_TAIL, k), want);
			model_delete(&m, head ? 0 : m.n - want, want);
		} else if (op < 66) {
			if (!m.n)
				continue;
			i = rnd_below(m.n);
			len = random_elem(buf);
			assert_true(t_list_set(l, rnd() & 1 ? (long long)i : (long long)i - (long long)m.n,
					       buf, len));
			model_delete(&m, i, 1);
			model_insert(&m, i, buf, len);
		} else if (op < 74) {
			if (!m.n)
				continue;
			i = rnd_below(m.n);
			k = rnd_below(m.n > target ? 200 : 4);
			size_t want = MIN(k, m.n - i);

			assert_int_equal(t_list_del_range(l, (long long)i, k), want);
			model_delete(&m, i, want);
		} else if (op < 84) {
			/* LREM-like: delete up to k copies of a value, either way */
			struct t_list_iter it;
			bool fwd = rnd() & 1;
			size_t removed = 0, limit = rnd_below(4);

			len = (size_t)snprintf(buf, 32, "%d", (int)rnd_below(20) - 5);
			t_list_iter_init(l, fwd ? 0 : -1, fwd, &it);
			while (t_list_iter_next(&it, &v)) {
				if (t_list_iter_eq(&it, buf, len)) {
					t_list_iter_delete(&it);
					removed++;
					if (limit && removed == limit)
						break;
				}
			}
			removed = 0;
			if (fwd) {
				for (i = 0; i < m.n && !(limit && removed == limit);) {
					if (m.len[i] == len && !memcmp(m.s[i], buf, len)) {
						model_delete(&m, i, 1);
						removed++;
					} else {
						i++;
					}
				}
			} else {
				for (i = m.n; i > 0 && !(limit && removed == limit); i--) {
					if (m.len[i - 1] == len && !memcmp(m.s[i - 1], buf, len)) {
						model_delete(&m, i - 1, 1);
						removed++;
					}
				}
			}
		} else {
			/* reads: index both ways, peek */
			if (!m.n) {
				assert_false(t_list_index(l, 0, &v));
				continue;
			}
			i = rnd_below(m.n);
			assert_true(t_list_index(l, (long long)i, &v));
			assert_int_equal(v.len, m.len[i]);
			assert_memory_equal(v.p, m.s[i], v.len);
			assert_true(t_list_index(l, (long long)i - (long long)m.n, &v));
			assert_memory_equal(v.p, m.s[i], v.len);
			assert_false(t_list_index(l, (long long)m.n, &v));
			assert_true(t_list_peek(l, T_LIST_TAIL, &v));
			assert_int_equal(v.len, m.len[m.n - 1]);
		}
		maxn = MAX(maxn, m.n);
		t_list_check(l);
		if (step % 50 == 0)
			assert_matches_model(l, &m);
	}
	assert_matches_model(l, &m);
	assert_true(maxn >= 300);	/* the run did build long chains */
	t_list_free(l);
	model_free(&m);
}

static void test_random_ops_match_array_model_fill_entries(void **state)
{
	(void)state;
	random_run(1, 6000);
	random_run(2, 6000);
	random_run(5, 6000);
	random_run(128, 6000);
}

static void test_random_ops_match_array_model_fill_bytes(void **state)
{
	(void)state;
	random_run(-1, 6000);
	random_run(-2, 6000);
	random_run(-5, 6000);
}

static void test_random_ops_match_array_model_fill_zero(void **state)
{
	(void)state;
	random_run(0, 6000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_list_is_empty),
		cmocka_unit_test(test_push_both_ends_and_peek),
		cmocka_unit_test(test_integers_and_binary_read_back_as_pushed),
		cmocka_unit_test(test_pop_takes_from_the_chosen_end_and_stops_when_empty),
		cmocka_unit_test(test_positive_fill_counts_elements_per_node),
		cmocka_unit_test(test_fill_zero_keeps_one_element_per_node),
		cmocka_unit_test(test_positive_fill_is_also_capped_at_8kib),
		cmocka_unit_test(test_negative_fill_limits_node_bytes),
		cmocka_unit_test(test_fill_below_minus_5_is_clamped),
		cmocka_unit_test(test_element_larger_than_the_limit_gets_its_own_node),
		cmocka_unit_test(test_index_counts_from_both_ends),
		cmocka_unit_test(test_set_replaces_in_place),
		cmocka_unit_test(test_set_of_a_big_value_splits_its_node),
		cmocka_unit_test(test_del_range_inside_one_node),
		cmocka_unit_test(test_del_range_across_nodes_merges_what_is_left),
		cmocka_unit_test(test_del_range_of_everything_empties_the_list),
		cmocka_unit_test(test_iterator_walks_both_ways_from_any_index),
		cmocka_unit_test(test_iterator_delete_forward_and_backward),
		cmocka_unit_test(test_iterator_delete_of_everything),
		cmocka_unit_test(test_insert_into_a_node_with_room),
		cmocka_unit_test(test_insert_into_full_nodes_splits_and_uses_neighbours),
		cmocka_unit_test(test_insert_next_to_one_element_nodes),
		cmocka_unit_test(test_dup_is_deep_and_equal),
		cmocka_unit_test(test_kv_ops_report_quicklist_and_memory),
		cmocka_unit_test(test_memory_is_returned),
		cmocka_unit_test(test_random_ops_match_array_model_fill_entries),
		cmocka_unit_test(test_random_ops_match_array_model_fill_bytes),
		cmocka_unit_test(test_random_ops_match_array_model_fill_zero),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
