/*
 * test_kv_dict.c - the chained hash table: lookups against a reference,
 * incremental grow and shrink, the scan guarantee, iteration with removal,
 * random picks and the keyed hash.
 *
 * Entries live in one array indexed by id; entry.in is the reference model
 * of membership that every check compares the table against. All randomness
 * comes from xorshift with fixed seeds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_dict.h"
#include "mem.h"

struct ent {
	struct dict_node node;	/* first, so a node pointer is an entry pointer */
	uint32_t id;		/* index in the entry array */
	uint8_t len;		/* key length */
	bool in;		/* reference: is it in the table? */
	char key[20];		/* "k<id>" */
};

struct pool {
	struct ent *e;		/* n entries, key i is "k<i>" */
	size_t n;
	size_t in;		/* reference count of entries in the table */
	uint32_t *seen;		/* visit counts, for scan and iteration */
};

static void ent_key(const struct dict_node *n, const char **key, size_t *len)
{
	const struct ent *e = (const struct ent *)n;

	*key = e->key;
	*len = e->len;
}

static const struct dict_ops ent_ops = { .key = ent_key };

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static struct ent *ent_of(struct dict_node *n)
{
	return (struct ent *)n;
}

static void pool_init(struct pool *p, size_t n)
{
	p->e = calloc(n, sizeof(*p->e));
	p->seen = calloc(n, sizeof(*p->seen));
	assert_non_null(p->e);
	assert_non_null(p->seen);
	p->n = n;
	p->in = 0;
	for (size_t i = 0; i < n; i++) {
		p->e[i].id = (uint32_t)i;
		p->e[i].len = (uint8_t)snprintf(p->e[i].key, sizeof(p->e[i].key), "k%zu", i);
	}
}

static void pool_free(struct pool *p)
{
	free(p->e);
	free(p->seen);
}

static void pool_add(struct pool *p, struct dict *d, size_t i)
{
	assert_false(p->e[i].in);
	dict_insert(d, &p->e[i].node);
	p->e[i].in = true;
	p->in++;
}

static void pool_del(struct pool *p, struct dict *d, size_t i)
{
	struct dict_node *n;

	assert_true(p->e[i].in);
	n = dict_remove(d, p->e[i].key, p->e[i].len);
	assert_ptr_equal(n, &p->e[i].node);
	p->e[i].in = false;
	p->in--;
}

static struct dict_node *find_id(struct dict *d, struct pool *p, size_t i)
{
	return dict_find(d, p->e[i].key, p->e[i].len);
}

/* Every entry the reference holds is found, every other one is not. */
static void check_matches_reference(struct dict *d, struct pool *p)
{
	assert_int_equal(dict_size(d), p->in);
	for (size_t i = 0; i < p->n; i++) {
		struct dict_node *n = find_id(d, p, i);

		if (p->e[i].in)
			assert_ptr_equal(n, &p->e[i].node);
		else
			assert_null(n);
	}
}

static void count_visit(struct dict_node *n, void *arg)
{
	struct pool *p = arg;

	p->seen[ent_of(n)->id]++;
}

/* Runs rehash steps until no rehash is in progress. */
static void finish_rehash(struct dict *d)
{
	while (dict_rehash_step(d, 1000))
		;
	assert_false(dict_is_rehashing(d));
}

/* ---- basics ---- */

static void test_empty_table_has_nothing(void **state)
{
	struct dict *d = dict_create(&ent_ops);
	struct dict_node *out[4];
	struct dict_iter it;
	struct pool p;

	(void)state;
	pool_init(&p, 1);
	assert_int_equal(dict_size(d), 0);
	assert_int_equal(dict_buckets(d), 0);
	assert_false(dict_is_rehashing(d));
	assert_null(dict_find(d, "k0", 2));
	assert_null(dict_find_ref(d, "k0", 2));
	assert_null(dict_remove(d, "k0", 2));
	assert_null(dict_random(d));
	assert_int_equal(dict_sample(d, out, 4), 0);
	assert_int_equal(dict_scan(d, 0, count_visit, &p), 0);
	assert_int_equal(p.seen[0], 0);
	dict_iter_init(&it, d);
	assert_null(dict_iter_next(&it));
	assert_false(dict_rehash_step(d, 10));
	dict_maybe_shrink(d);
	assert_int_equal(dict_buckets(d), 0);
	dict_destroy(d, NULL, NULL);
	pool_free(&p);
}

static void test_destroy_accepts_null(void **state)
{
	(void)state;
	dict_destroy(NULL, NULL, NULL);
}

static void test_first_insert_allocates_four_buckets(void **state)
{
	struct dict *d = dict_create(&ent_ops);
	struct pool p;

	(void)state;
	pool_init(&p, 1);
	pool_add(&p, d, 0);
	assert_int_equal(dict_size(d), 1);
	assert_int_equal(dict_buckets(d), 4);
	assert_false(dict_is_rehashing(d));
	assert_ptr_equal(find_id(d, &p, 0), &p.e[0].node);
	dict_destroy(d, NULL, NULL);
	pool_free(&p);
}

static void test_lookup_compares_key_bytes_and_length(void **state)
{
	struct dict *d = dict_create(&ent_ops);
	struct pool p;

	(void)state;
	pool_init(&p, 20);
	pool_add(&p, d, 1);
	pool_add(&p, d, 12);
	assert_ptr_equal(dict_find(d, "k1", 2), &p.e[1].node);
	assert_ptr_equal(dict_find(d, "k12", 3), &p.e[12].node);
	assert_null(dict_find(d, "k1", 1));
	assert_null(dict_find(d, "k12x", 4));
	assert_null(dict_find(d, "K1", 2));
	dict_destroy(d, NULL, NULL);
	pool_free(&p);
}

static void test_find_ref_allows_replacing_a_node_in_place(void **state)
{
	struct dict *d = dict_create(&ent_ops);
	struct dict_node **ref;
	struct ent repl;
	struct pool p;

	(void)state;
	pool_init(&p, 100);
	for (size_t i = 0; i < 100; i++)
		pool_add(&p, d, i);
	memset(&repl, 0, sizeof(repl));
	memcpy(repl.key, "k42", 3);
	repl.len = 3;
	ref = dict_find_ref(d, "k42", 3);
	assert_non_null(ref);
	assert_ptr_equal(*ref, &p.e[42].node);
	repl.node.next = (*ref)->next;
	*ref = &repl.node;
	assert_ptr_equal(dict_find(d, "k42", 3), &repl.node);
	assert_int_equal(dict_size(d), 100);
	assert_ptr_equal(dict_remove(d, "k42", 3), &repl.node);
	assert_null(dict_find(d, "k42", 3));
	dict_destroy(d, NULL, NULL);
	pool_free(&p);
}

/* ---- reference model at scale ---- */

static void test_insert_find_remove_100k_match_reference(void **state)
{
	const size_t n = 100000;
	struct dict *d = dict_create(&ent_ops);
	uint64_t seed = 0x2545f4914f6cdd1dULL;
	bool saw_rehash = false;
	struct pool p;

	(void)state;
	pool_init(&p, n);
	/* Fill to 100k, then churn: 400k mixed operations. */
	for (size_t i = 0; i < n; i++)
		pool_add(&p, d, i);
	check_matches_reference(d, &p);
	for (int op = 0; op < 400000; op++) {
		size_t i = (size_t)(xorshift(&seed) % n);
		uint64_t r = xorshift(&seed);

		if (dict_is_rehashing(d))
			saw_rehash = true;
		if (!p.e[i].in) {
			assert_null(find_id(d, &p, i));
			pool_add(&p, d, i);
		} else if (r % 3 == 0) {
			assert_ptr_equal(find_id(d, &p, i), &p.e[i].node);
		} else if (r % 3 == 1) {
			pool_del(&p, d, i);
		} else {
			dict_remove_node(d, &p.e[i].node);
			p.e[i].in = false;
			p.in--;
		}
		if (op % 1000 == 0)
			dict_maybe_shrink(d);
		assert_int_equal(dict_size(d), p.in);
	}
	assert_true(saw_rehash);
	check_matches_reference(d, &p);
	/* Drain completely. */
	for (size_t i = 0; i < n; i++) {
		if (p.e[i].in)
			pool_del(&p, d, i);
	}
	assert_int_equal(dict_size(d), 0);
	check_matches_reference(d, &p);
	dict_destroy(d, NULL, NULL);
	pool_free(&p);
}

/* ---- grow and shrink ---- */

static void test_fifth_insert_into_four_buckets_starts_growth(void **state)
{
	struct dict *d = dict_create(&ent_ops);
	struct pool p;

	(void)state;
	pool_init(&p, 5);
	for (size_t i = 0; i < 4; i++)
		pool_add(&p, d, i);
	assert_int_equal(dict_buckets(d), 4);
	assert_false(dict_is_rehashing(d));
	pool_add(&p, d, 4);
	assert_true(dict_is_rehashing(d));
	assert_int_equal(dict_buckets(d), 4 + 8);
	check_matches_reference(d, &p);
	assert_false(dict_rehash_step(d, 100));
	assert_false(dict_is_rehashing(d));
	assert_int_equal(dict_buckets(d), 8);
	check_matches_reference(d, &p);
	dict_destroy(d, NULL, NULL);
	pool_free(&p);
}

static void test_growth_rehash_finishes_before_target_fills(void **state)
{
	struct dict *d = dict_create(&ent_ops);
	struct pool p;
	size_t i;

	(void)state;
	pool_init(&p, 5000);
	for (i = 0; i < 1024; i++)
		pool_add(&p, d, i);
	finish_rehash(d);
	assert_int_equal(dict_buckets(d), 1024);
	/* The next insert starts 1024 -> 2048; the inserts that follow do the
	 * moves, and the rehash is over before the new table is full. */
	for (; i < 2048; i++) {
		pool_add(&p, d, i);
		if (!dict_is_rehashing(d))
			break;
	}
	assert_false(dict_is_rehashing(d));
	assert_true(i < 2048);
	assert_int_equal(dict_buckets(d), 2048);
	check_matches_reference(d, &p);
	dict_destroy(d, NULL, NULL);
	pool_free(&p);
}

static void test_find_does_no_rehash_work(void **state)
{
	struct dict *d = dict_create(&ent_ops);
	struct dict_node **ref;
	struct pool p;

	(void)state;
	pool_init(&p, 1025);
	for (size_t i = 0; i < 1024; i++)
		pool_add(&p, d, i);
	finish_rehash(d);
	pool_add(&p, d, 1024);
	assert_true(dict_is_rehashing(d));
	ref = dict_find_ref(d, "k7", 2);
	assert_non_null(ref);
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < p.n; i++)
			assert_ptr_equal(find_id(d, &p, i), &p.e[i].node);
	}
	/* Still mid-rehash, and the link found first still points at k7. */
	assert_true(dict_is_rehashing(d));
	assert_int_equal(dict_buckets(d), 1024 + 2048);
	assert_ptr_equal(*ref, &p.e[7].node);
	dict_destroy(d, NULL, NULL);
	pool_free(&p);
}

static void test_remove_during_growth_rehash(void **state)
{
	struct dict *d = dict_create(&ent_ops);
	struct pool p;

	(void)state;
	pool_init(&p, 600);
	for (size_t i = 0; i < 513; i++)
		pool_add(&p, d, i);
	assert_true(dict_is_rehashing(d));
	/* Remove every third entry, from both tables, while the rehash runs. */
	for (size_t i = 0; i < 513; i += 3)
		pool_del(&p, d, i);
	check_matches_reference(d, &p);
	finish_rehash(d);
	assert_int_equal(dict_buckets(d), 1024);
	check_matches_reference(d, &p);
	dict_destroy(d, NULL, NULL);
	pool_free(&p);
}

static void test_shrink_starts_only_under_one_eighth_full(void **state)
{
	struct dict *d = dict_create(&ent_ops);
	struct pool p;
	size_t i;

	(void)state;
	pool_init(&p, 1000);
	for (i = 0; i < 1000; i++)
		pool_add(&p, d, i);
	finish_rehash(d);
	assert_int_equal(dict_buckets(d), 1024);
	for (i = 0; i < 1000 - 128; i++)
		pool_del(&p, d, i);
	finish_rehash(d);
	/* 128 of 1024 is exactly 1/8: not under it. */
	dict_maybe_shrink(d);
	assert_false(dict_is_rehashing(d));
	assert_int_equal(dict_buckets(d), 1024);
	pool_del(&p, d, i);
	dict_maybe_shrink(d);
	assert_true(dict_is_rehashing(d));
	assert_int_equal(dict_buckets(d), 1024 + 128);
	check_matches_reference(d, &p);
	finish_rehash(d);
	assert_int_equal(dict_buckets(d), 128);
	check_matches_reference(d, &p);
	dict_destroy(d, NULL, NULL);
	pool_free(&p);
}

static void test_shrink_never_goes_below_four_buckets(void **state)
{
	struct dict *d = dict_create(&ent_ops);
	struct pool p;

	(void)state;
	pool_init(&p, 100);
	for (size_t i = 0; i < 100; i++)
		pool_add(&p, d, i);
	finish_rehash(d);
	for (size_t i = 0; i < 100; i++)
		pool_del(&p, d, i);
	dict_maybe_shrink(d);
	finish_rehash(d);
	assert_int_equal(dict_buckets(d), 4);
	dict_maybe_shrink(d);
	assert_false(dict_is_rehashing(d));
	assert_int_equal(dict_buckets(d), 4);
	dict_destroy(d, NULL, NULL);
	pool_free(&p);
}

static void test_inserts_during_shrink_rehash_overfill_then_grow(void **state)
{
	struct dict *d = dict_create(&ent_ops);
	struct pool p;

	(void)state;
	pool_init(&p, 20000);
	for (size_t i = 0; i < 16384; i++)
		pool_add(&p, d, i);
	finish_rehash(d);
	for (size_t i = 100; i < 16384; i++)
		pool_del(&p, d, i);
	finish_rehash(d);
	dict_maybe_shrink(d);
	assert_true(dict_is_rehashing(d));
	assert_int_equal(dict_buckets(d), 16384 + 128);
	/* Add far more than the 128-bucket target holds, mid-rehash. */
	for (size_t i = 16384; i < 20000; i++) {
		pool_add(&p, d, i);
		if (i % 256 == 0)
			check_matches_reference(d, &p);
	}
	check_matches_reference(d, &p);
	finish_rehash(d);
	check_matches_reference(d, &p);
	/* The load factor is restored by growth once the shrink is done. */
	assert_true(dict_buckets(d) >= dict_size(d));
	dict_destroy(d, NULL, NULL);
	pool_free(&p);
}

static void test_rehash_for_runs_to_completion(void **state)
{
	struct dict *d = dict_create(&ent_ops);
	struct pool p;
	int calls = 0;

	(void)state;
	pool_init(&p, 65537);
	for (size_t i = 0; i < 65536; i++)
		pool_add(&p, d, i);
	finish_rehash(d);
	pool_add(&p, d, 65536);
	assert_true(dict_is_rehashing(d));
	while (dict_rehash_for(d, 100))
		calls++;
	assert_false(dict_is_rehashing(d));
	assert_int_equal(dict_buckets(d), 131072);
	assert_true(calls < 100000);
	check_matches_reference(d, &p);
	dict_destroy(d, NULL, NULL);
	pool_free(&p);
}

/* ---- scan ---- */

static void test_scan_of_unchanged_table_visits_each_node_once(void **state)
{
	struct dict *d = dict_create(&ent_ops);
	struct pool p;
	uint64_t cursor = 0;
	int calls = 0;

	(void)state;
	pool_init(&p, 1000);
	for (size_t i = 0; i < 1000; i++)
		pool_add(&p, d, i);
	finish_rehash(d);
	do {
		cursor = dict_scan(d, cursor, count_visit, &p);
		calls++;
	} while (cursor != 0);
	assert_int_equal(calls, 1024);
	for (size_t i = 0; i < 1000; i++)
		assert_int_equal(p.seen[i], 1);
	dict_destroy(d, NULL, NULL);
	pool_free(&p);
}

/*
 * Ids below nstable are inserted before the scan and never removed; the rest
 * come and go between scan calls. Between calls the table is driven through
 * growth, a shrink to a fraction of its size, and partial rehash steps, so
 * cursors cross every combination of table sizes and rehash states.
 * prefill transients are added before the first call so that even a tiny
 * stable set gives a scan long enough to span all of that.
 */
/* dict_maybe_shrink(), telling whether it started a shrink. */
static bool shrink(struct dict *d)
{
	bool was = dict_is_rehashing(d);

	dict_maybe_shrink(d);
	return !was && dict_is_rehashing(d);
}

static void scan_under_churn(uint64_t seed, size_t nstable, size_t ntransient, size_t prefill)
{
	struct dict *d = dict_create(&ent_ops);
	size_t n = nstable + ntransient, next_add = nstable;
	size_t churn = nstable / 8 > 2 ? nstable / 8 : 2;
	uint64_t cursor = 0;
	bool shrank = false;
	size_t max_buckets = 0, rehash_calls = 0, calls_after_shrink = 0;
	struct pool p;
	int calls = 0;

	pool_init(&p, n);
	for (size_t i = 0; i < nstable; i++)
		pool_add(&p, d, i);
	while (next_add < nstable + prefill)
		pool_add(&p, d, next_add++);
	/* Start with a growth rehash half done. */
	while (!dict_is_rehashing(d))
		pool_add(&p, d, next_add++);
	do {
		if (dict_is_rehashing(d))
			rehash_calls++;
		cursor = dict_scan(d, cursor, count_visit, &p);
		calls++;
		if (calls <= 40) {
			/* Grow. */
			for (int k = 0; k < 100 && next_add < n; k++)
				pool_add(&p, d, next_add++);
		} else if (calls <= 80) {
			/* Remove random transients, all of them at the end, and
			 * shrink whenever the table allows it. */
			for (int k = 0; k < 100; k++) {
				size_t i = nstable + (size_t)(xorshift(&seed) % ntransient);

				if (p.e[i].in)
					pool_del(&p, d, i);
			}
			for (size_t i = nstable; calls == 80 && i < n; i++) {
				if (p.e[i].in)
					pool_del(&p, d, i);
			}
			shrank |= shrink(d);
		} else {
			/* Churn a few transients around the shrunk table, too few
			 * to make it grow back (a regrowth would let even a
			 * linear cursor catch up with what it skipped). */
			for (int k = 0; k < 2; k++) {
				size_t i = nstable + (size_t)(xorshift(&seed) % churn);

				if (p.e[i].in)
					pool_del(&p, d, i);
				else
					pool_add(&p, d, i);
			}
			if (xorshift(&seed) % 4 == 0)
				shrank |= shrink(d);
		}
		dict_rehash_step(d, (int)(xorshift(&seed) % (calls <= 80 ? 3 : 40)));
		if (dict_buckets(d) > max_buckets)
			max_buckets = dict_buckets(d);
		if (cursor != 0 && shrank)
			calls_after_shrink++;
		assert_true(calls < 1000000);
	} while (cursor != 0);
	for (size_t i = 0; i < nstable; i++) {
		if (p.seen[i] == 0)
			fail_msg("seed %llu: stable node %zu never visited",
				 (unsigned long long)seed, i);
	}
	/* The scan really spanned growth, a rehash and a shrink: calls were
	 * made after a shrink had started. */
	assert_true(calls > 80);
	assert_true(rehash_calls > 0);
	assert_true(max_buckets >= 8192);
	assert_true(calls_after_shrink > 0);
	check_matches_reference(d, &p);
	dict_destroy(d, NULL, NULL);
	pool_free(&p);
}

static void test_scan_visits_every_stable_node_across_grow_shrink_and_rehash(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 20; seed++)
		scan_under_churn(seed * 0x9e3779b97f4a7c15ULL, 300, 6000, 0);
}

static void test_scan_of_tiny_table_across_grow_shrink_and_rehash(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 20; seed++)
		scan_under_churn(seed * 0xd1b54a32d192ed03ULL, 3, 6000, 1000);
}

static void test_scan_callback_sees_nodes_of_both_tables_mid_rehash(void **state)
{
	struct dict *d = dict_create(&ent_ops);
	uint64_t cursor = 0;
	struct pool p;

	(void)state;
	pool_init(&p, 513);
	for (size_t i = 0; i < 513; i++)
		pool_add(&p, d, i);
	/* Growth to 1024 started at the 513th insert; nothing else moves. */
	assert_true(dict_is_rehashing(d));
	do {
		cursor = dict_scan(d, cursor, count_visit, &p);
		assert_true(dict_is_rehashing(d));
	} while (cursor != 0);
	for (size_t i = 0; i < 513; i++)
		assert_int_equal(p.seen[i], 1);
	dict_destroy(d, NULL, NULL);
	pool_free(&p);
}

/* ---- iteration ---- */

static void iterate_counting(struct dict *d, struct pool *p)
{
	struct dict_iter it;
	struct dict_node *n;

	memset(p->seen, 0, p->n * sizeof(*p->seen));
	dict_iter_init(&it, d);
	while ((n = dict_iter_next(&it)))
		p->seen[ent_of(n)->id]++;
	assert_null(dict_iter_next(&it));
}

static void test_iterator_visits_every_node_once(void **state)
{
	struct dict *d = dict_create(&ent_ops);
	struct pool p;

	(void)state;
	pool_init(&p, 3000);
	for (size_t i = 0; i < 3000; i += 2)
		pool_add(&p, d, i);
	finish_rehash(d);
	iterate_counting(d, &p);
	for (size_t i = 0; i < 3000; i++)
		assert_int_equal(p.seen[i], p.e[i].in ? 1 : 0);
	dict_destroy(d, NULL, NULL);
	pool_free(&p);
}

static void test_iterator_visits_every_node_once_mid_rehash(void **state)
{
	struct dict *d = dict_create(&ent_ops);
	struct pool p;

	(void)state;
	pool_init(&p, 1100);
	for (size_t i = 0; i < 1100; i++)
		pool_add(&p, d, i);
	assert_true(dict_is_rehashing(d));
	iterate_counting(d, &p);
	for (size_t i = 0; i < 1100; i++)
		assert_int_equal(p.seen[i], 1);
	dict_destroy(d, NULL, NULL);
	pool_free(&p);
}

static void remove_odd_ids_while_iterating(struct dict *d, struct pool *p)
{
	struct dict_iter it;
	struct dict_node *n;

	memset(p->seen, 0, p->n * sizeof(*p->seen));
	dict_iter_init(&it, d);
	while ((n = dict_iter_next(&it))) {
		struct ent *e = ent_of(n);

		p->seen[e->id]++;
		if (e->id % 2) {
			dict_iter_remove_current(&it);
			e->in = false;
			p->in--;
		}
	}
}

static void test_iterator_remove_current_keeps_iterating(void **state)
{
	struct dict *d = dict_create(&ent_ops);
	struct pool p;

	(void)state;
	pool_init(&p, 5000);
	for (size_t i = 0; i < 5000; i++)
		pool_add(&p, d, i);
	finish_rehash(d);
	remove_odd_ids_while_iterating(d, &p);
	for (size_t i = 0; i < 5000; i++)
		assert_int_equal(p.seen[i], 1);
	assert_int_equal(dict_size(d), 2500);
	check_matches_reference(d, &p);
	dict_destroy(d, NULL, NULL);
	pool_free(&p);
}

static void test_iterator_remove_current_mid_rehash(void **state)
{
	struct dict *d = dict_create(&ent_ops);
	struct pool p;

	(void)state;
	pool_init(&p, 1100);
	for (size_t i = 0; i < 1100; i++)
		pool_add(&p, d, i);
	assert_true(dict_is_rehashing(d));
	remove_odd_ids_while_iterating(d, &p);
	/* Removal did no rehash work. */
	assert_true(dict_is_rehashing(d));
	for (size_t i = 0; i < 1100; i++)
		assert_int_equal(p.seen[i], 1);
	check_matches_reference(d, &p);
	finish_rehash(d);
	check_matches_reference(d, &p);
	dict_destroy(d, NULL, NULL);
	pool_free(&p);
}

static void test_iterator_can_empty_the_table(void **state)
{
	struct dict *d = dict_create(&ent_ops);
	struct dict_iter it;
	struct dict_node *n;
	struct pool p;
	size_t removed = 0;

	(void)state;
	pool_init(&p, 700);
	for (size_t i = 0; i < 700; i++)
		pool_add(&p, d, i);
	dict_iter_init(&it, d);
	while ((n = dict_iter_next(&it))) {
		dict_iter_remove_current(&it);
		ent_of(n)->in = false;
		removed++;
	}
	p.in = 0;
	assert_int_equal(removed, 700);
	assert_int_equal(dict_size(d), 0);
	check_matches_reference(d, &p);
	/* A rehash left without nodes finishes on its next step. */
	assert_false(dict_rehash_step(d, 1));
	dict_destroy(d, NULL, NULL);
	pool_free(&p);
}

/* ---- random and sample ---- */

static void test_random_reaches_every_node_of_a_small_table(void **state)
{
	struct dict *d = dict_create(&ent_ops);
	struct pool p;

	(void)state;
	pool_init(&p, 3);
	for (size_t i = 0; i < 3; i++)
		pool_add(&p, d, i);
	for (int k = 0; k < 3000; k++) {
		struct dict_node *n = dict_random(d);

		assert_non_null(n);
		assert_true(ent_of(n)->id < 3);
		p.seen[ent_of(n)->id]++;
	}
	for (size_t i = 0; i < 3; i++)
		assert_true(p.seen[i] > 500);
	dict_destroy(d, NULL, NULL);
	pool_free(&p);
}

/* 100k inserted, all but 3 removed, no shrink: 3 nodes in 131072 buckets. */
static struct dict *make_sparse(struct pool *p)
{
	struct dict *d = dict_create(&ent_ops);

	pool_init(p, 100000);
	for (size_t i = 0; i < 100000; i++)
		pool_add(p, d, i);
	finish_rehash(d);
	for (size_t i = 0; i < 100000; i++) {
		if (i != 10 && i != 50000 && i != 99999)
			pool_del(p, d, i);
	}
	finish_rehash(d);
	assert_int_equal(dict_size(d), 3);
	assert_int_equal(dict_buckets(d), 131072);
	return d;
}

static void test_random_finds_the_few_nodes_of_a_sparse_table(void **state)
{
	struct pool p;
	struct dict *d = make_sparse(&p);

	(void)state;
	for (int k = 0; k < 3000; k++) {
		struct dict_node *n = dict_random(d);

		assert_non_null(n);
		assert_true(ent_of(n)->in);
		p.seen[ent_of(n)->id]++;
	}
	assert_true(p.seen[10] > 0);
	assert_true(p.seen[50000] > 0);
	assert_true(p.seen[99999] > 0);
	dict_destroy(d, NULL, NULL);
	pool_free(&p);
}

static void test_random_mid_rehash_returns_live_nodes(void **state)
{
	struct dict *d = dict_create(&ent_ops);
	struct pool p;

	(void)state;
	pool_init(&p, 1100);
	for (size_t i = 0; i < 1100; i++)
		pool_add(&p, d, i);
	assert_true(dict_is_rehashing(d));
	for (int k = 0; k < 100000; k++) {
		struct dict_node *n = dict_random(d);

		assert_non_null(n);
		assert_true(ent_of(n)->in);
		p.seen[ent_of(n)->id]++;
	}
	/* Both tables contribute. */
	assert_true(dict_is_rehashing(d));
	for (size_t i = 0; i < 1100; i++)
		assert_true(p.seen[i] > 0);
	dict_destroy(d, NULL, NULL);
	pool_free(&p);
}

static void test_sample_of_small_table_returns_all_distinct(void **state)
{
	struct dict *d = dict_create(&ent_ops);
	struct dict_node *out[10];
	struct pool p;
	size_t got;

	(void)state;
	pool_init(&p, 5);
	for (size_t i = 0; i < 5; i++)
		pool_add(&p, d, i);
	finish_rehash(d);
	assert_int_equal(dict_buckets(d), 8);
	got = dict_sample(d, out, 10);
	assert_int_equal(got, 5);
	for (size_t i = 0; i < got; i++)
		p.seen[ent_of(out[i])->id]++;
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(p.seen[i], 1);
	dict_destroy(d, NULL, NULL);
	pool_free(&p);
}

static void test_sample_of_sparse_table_returns_at_least_one(void **state)
{
	struct pool p;
	struct dict *d = make_sparse(&p);
	struct dict_node *out[16];

	(void)state;
	for (int k = 0; k < 200; k++) {
		size_t got = dict_sample(d, out, 16);

		assert_true(got >= 1 && got <= 3);
		for (size_t i = 0; i < got; i++)
			assert_true(ent_of(out[i])->in);
	}
	dict_destroy(d, NULL, NULL);
	pool_free(&p);
}

static void test_sample_of_large_table_fills_the_request(void **state)
{
	struct dict *d = dict_create(&ent_ops);
	struct dict_node *out[16];
	struct pool p;

	(void)state;
	pool_init(&p, 10000);
	for (size_t i = 0; i < 10000; i++)
		pool_add(&p, d, i);
	finish_rehash(d);
	for (int k = 0; k < 1000; k++) {
		assert_int_equal(dict_sample(d, out, 16), 16);
		for (size_t i = 0; i < 16; i++)
			assert_true(ent_of(out[i])->in);
	}
	assert_int_equal(dict_sample(d, out, 0), 0);
	dict_destroy(d, NULL, NULL);
	pool_free(&p);
}

static void test_sample_mid_rehash_returns_live_nodes(void **state)
{
	struct dict *d = dict_create(&ent_ops);
	struct dict_node *out[16];
	struct pool p;

	(void)state;
	pool_init(&p, 10000);
	for (size_t i = 0; i < 10000; i++)
		pool_add(&p, d, i);
	assert_true(dict_is_rehashing(d));
	for (int k = 0; k < 1000; k++) {
		size_t got = dict_sample(d, out, 16);

		assert_true(got >= 1 && got <= 16);
		for (size_t i = 0; i < got; i++)
			assert_true(ent_of(out[i])->in);
	}
	assert_true(dict_is_rehashing(d));
	dict_destroy(d, NULL, NULL);
	pool_free(&p);
}

/* ---- clear, destroy, memory ---- */

static void count_free(struct dict_node *n, void *arg)
{
	size_t *count = arg;

	ent_of(n)->in = false;
	(*count)++;
}

static void test_clear_frees_every_node_and_table_stays_usable(void **state)
{
	struct dict *d = dict_create(&ent_ops);
	size_t freed = 0;
	struct pool p;

	(void)state;
	pool_init(&p, 1100);
	for (size_t i = 0; i < 1100; i++)
		pool_add(&p, d, i);
	assert_true(dict_is_rehashing(d));
	dict_clear(d, count_free, &freed);
	p.in = 0;
	assert_int_equal(freed, 1100);
	assert_int_equal(dict_size(d), 0);
	assert_int_equal(dict_buckets(d), 0);
	assert_false(dict_is_rehashing(d));
	check_matches_reference(d, &p);
	pool_add(&p, d, 5);
	assert_ptr_equal(find_id(d, &p, 5), &p.e[5].node);
	freed = 0;
	dict_destroy(d, count_free, &freed);
	assert_int_equal(freed, 1);
	pool_free(&p);
}

static void test_memory_is_accounted_and_returned(void **state)
{
	size_t before = mem_used();
	struct dict *d = dict_create(&ent_ops);
	struct pool p;

	(void)state;
	pool_init(&p, 4096);
	for (size_t i = 0; i < 4096; i++)
		pool_add(&p, d, i);
	finish_rehash(d);
	assert_true(mem_used() >= before + 4096 * sizeof(void *));
	dict_destroy(d, NULL, NULL);
	assert_int_equal(mem_used(), before);
	pool_free(&p);
}

/* ---- hash ---- */

static void test_hash_is_siphash13(void **state)
{
	static const uint8_t zero[16];
	static const uint8_t seq[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
	char msg[15];

	(void)state;
	for (int i = 0; i < 15; i++)
		msg[i] = (char)i;
	/* SipHash-1-3 under the all-zero key (CPython's bytes hash with
	 * PYTHONHASHSEED=0 gives the same values). */
	dict_set_seed(zero);
	assert_true(dict_hash(msg, 1) == 0x68a914128e01e473ULL);
	assert_true(dict_hash(msg, 7) == 0x2f098ab0c751325aULL);
	assert_true(dict_hash(msg, 8) == 0xead411e67ebe2eeaULL);
	assert_true(dict_hash(msg, 15) == 0xf30eb725bb91c9eaULL);
	dict_set_seed(seq);
}

static void test_hash_depends_on_the_seed(void **state)
{
	static const uint8_t a[16] = { 1 };
	static const uint8_t b[16] = { 2 };
	uint64_t ha, hb;

	(void)state;
	dict_set_seed(a);
	ha = dict_hash("key", 3);
	dict_set_seed(b);
	hb = dict_hash("key", 3);
	assert_true(ha != hb);
	dict_set_seed(a);
	assert_true(dict_hash("key", 3) == ha);
}

static void test_hash_spreads_sequential_keys_over_buckets(void **state)
{
	enum { KEYS = 1 << 16, BUCKETS = 1 << 10 };
	static uint32_t counts[BUCKETS];
	uint32_t max = 0;
	char key[16];

	(void)state;
	for (int i = 0; i < KEYS; i++) {
		int len = snprintf(key, sizeof(key), "key:%d", i);

		counts[dict_hash(key, (size_t)len) & (BUCKETS - 1)]++;
	}
	for (int i = 0; i < BUCKETS; i++)
		max = counts[i] > max ? counts[i] : max;
	/* Mean 64 per bucket; a sound hash stays well under twice that. */
	assert_true(max < 110);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_table_has_nothing),
		cmocka_unit_test(test_destroy_accepts_null),
		cmocka_unit_test(test_first_insert_allocates_four_buckets),
		cmocka_unit_test(test_lookup_compares_key_bytes_and_length),
		cmocka_unit_test(test_find_ref_allows_replacing_a_node_in_place),
		cmocka_unit_test(test_insert_find_remove_100k_match_reference),
		cmocka_unit_test(test_fifth_insert_into_four_buckets_starts_growth),
		cmocka_unit_test(test_growth_rehash_finishes_before_target_fills),
		cmocka_unit_test(test_find_does_no_rehash_work),
		cmocka_unit_test(test_remove_during_growth_rehash),
		cmocka_unit_test(test_shrink_starts_only_under_one_eighth_full),
		cmocka_unit_test(test_shrink_never_goes_below_four_buckets),
		cmocka_unit_test(test_inserts_during_shrink_rehash_overfill_then_grow),
		cmocka_unit_test(test_rehash_for_runs_to_completion),
		cmocka_unit_test(test_scan_of_unchanged_table_visits_each_node_once),
		cmocka_unit_test(test_scan_visits_every_stable_node_across_grow_shrink_and_rehash),
		cmocka_unit_test(test_scan_of_tiny_table_across_grow_shrink_and_rehash),
		cmocka_unit_test(test_scan_callback_sees_nodes_of_both_tables_mid_rehash),
		cmocka_unit_test(test_iterator_visits_every_node_once),
		cmocka_unit_test(test_iterator_visits_every_node_once_mid_rehash),
		cmocka_unit_test(test_iterator_remove_current_keeps_iterating),
		cmocka_unit_test(test_iterator_remove_current_mid_rehash),
		cmocka_unit_test(test_iterator_can_empty_the_table),
		cmocka_unit_test(test_random_reaches_every_node_of_a_small_table),
		cmocka_unit_test(test_random_finds_the_few_nodes_of_a_sparse_table),
		cmocka_unit_test(test_random_mid_rehash_returns_live_nodes),
		cmocka_unit_test(test_sample_of_small_table_returns_all_distinct),
		cmocka_unit_test(test_sample_of_sparse_table_returns_at_least_one),
		cmocka_unit_test(test_sample_of_large_table_fills_the_request),
		cmocka_unit_test(test_sample_mid_rehash_returns_live_nodes),
		cmocka_unit_test(test_clear_frees_every_node_and_table_stays_usable),
		cmocka_unit_test(test_memory_is_accounted_and_returned),
		cmocka_unit_test(test_hash_is_siphash13),
		cmocka_unit_test(test_hash_depends_on_the_seed),
		cmocka_unit_test(test_hash_spreads_sequential_keys_over_buckets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
