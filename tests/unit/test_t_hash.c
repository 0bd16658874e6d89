/*
 * test_t_hash.c - the hash value: both encodings behind one interface, the
 * conversion from listpack to hashtable at exactly Redis's thresholds (and
 * never back), iteration, random picks (repeats, distinct picks, fairness),
 * the scan walk, copies, and kv's ops table. A random run compares a hash
 * with a plain array model through the conversion.
 *
 * The limits are set on the cfg global directly, as CONFIG SET would.
 * Randomness comes from fixed seeds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "mem.h"
#include "t_hash.h"

static int setup(void **state)
{
	(void)state;
	cfg_init_defaults();
	cfg.hash_max_listpack_entries = 128;
	cfg.hash_max_listpack_value = 64;
	hash_rand_seed(12345);
	return 0;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static bool set_cstr(struct hash *h, const char *f, const char *v)
{
	return hash_set(h, f, strlen(f), v, strlen(v));
}

static void assert_value(const struct hash *h, const char *f, const char *want)
{
	struct hash_str v;

	assert_true(hash_get(h, f, strlen(f), &v));
	assert_int_equal(v.len, strlen(want));
	assert_memory_equal(v.p, want, v.len);
}

static void assert_missing(const struct hash *h, const char *f)
{
	assert_false(hash_get(h, f, strlen(f), NULL));
}

/* Fills h with fields f0..f(n-1) holding v0..v(n-1). */
static void fill(struct hash *h, int n)
{
	char f[32], v[32];

	for (int i = 0; i < n; i++) {
		snprintf(f, sizeof(f), "f%d", i);
		snprintf(v, sizeof(v), "v%d", i);
		assert_true(set_cstr(h, f, v));
	}
}

/* Index i of a field "f<i>". */
static int field_index(const struct hash_str *f)
{
	char buf[32];

	assert_true(f->len > 1 && f->len < sizeof(buf));
	memcpy(buf, f->p, f->len);
	buf[f->len] = '\0';
	assert_int_equal(buf[0], 'f');
	return atoi(buf + 1);
}

/* ---- basics, listpack ---- */

static void test_new_hash_is_empty_listpack(void **state)
{
	struct hash *h = hash_create();

	(void)state;
	assert_int_equal(hash_len(h), 0);
	assert_int_equal(hash_encoding(h), HASH_ENC_LISTPACK);
	assert_string_equal(hash_enc_name(h), "listpack");
	assert_missing(h, "a");
	assert_false(hash_delete(h, "a", 1));
	assert_true(hash_mem(h) > 0);
	hash_destroy(h);
	hash_destroy(NULL);
}

static void test_set_get_replace_delete_listpack(void **state)
{
	struct hash *h = hash_create();

	(void)state;
	assert_true(set_cstr(h, "name", "strata"));
	assert_true(set_cstr(h, "n", "42"));
	assert_true(set_cstr(h, "", ""));
	assert_false(set_cstr(h, "name", "redis"));	/* update: not new */
	assert_int_equal(hash_len(h), 3);
	assert_value(h, "name", "redis");
	assert_value(h, "n", "42");
	assert_value(h, "", "");
	assert_false(set_cstr(h, "n", "-9223372036854775808"));
	assert_value(h, "n", "-9223372036854775808");
	assert_false(set_cstr(h, "n", "0042"));	/* not canonical: stays text */
	assert_value(h, "n", "0042");
	assert_true(hash_delete(h, "name", 4));
	assert_false(hash_delete(h, "name", 4));
	assert_missing(h, "name");
	assert_int_equal(hash_len(h), 2);
	assert_int_equal(hash_encoding(h), HASH_ENC_LISTPACK);
	hash_destroy(h);
}

static void test_value_equal_to_a_field_is_not_a_field(void **state)
{
	struct hash *h = hash_create();

	(void)state;
	set_cstr(h, "a", "b");
	set_cstr(h, "c", "a");
	assert_missing(h, "b");
	assert_true(set_cstr(h, "b", "x"));
	assert_value(h, "a", "b");
	assert_value(h, "b", "x");
	assert_true(hash_delete(h, "a", 1));
	assert_value(h, "c", "a");
	assert_value(h, "b", "x");
	hash_destroy(h);
}

static void test_listpack_iterates_in_insertion_order(void **state)
{
	struct hash *h = hash_create();
	struct hash_iter it;
	struct hash_str f, v;
	static const char *const want[] = { "z", "1", "y", "2", "x", "three" };
	int i = 0;

	(void)state;
	set_cstr(h, "z", "0");
	set_cstr(h, "y", "2");
	set_cstr(h, "x", "three");
	set_cstr(h, "z", "1");			/* update keeps the place */
	hash_iter_init(&it, h);
	while (hash_iter_next(&it, &f, &v)) {
		assert_int_equal(f.len, strlen(want[i]));
		assert_memory_equal(f.p, want[i], f.len);
		assert_int_equal(v.len, strlen(want[i + 1]));
		assert_memory_equal(v.p, want[i + 1], v.len);
		i += 2;
	}
	assert_int_equal(i, 6);
	hash_iter_init(&it, h);
	assert_true(hash_iter_next(&it, &f, NULL));	/* values optional */
	hash_destroy(h);
}

/* ---- conversion ---- */

static void test_converts_past_entries_limit(void **state)
{
	struct hash *h = hash_create();

	(void)state;
	cfg.hash_max_listpack_entries = 4;
	fill(h, 4);
	assert_int_equal(hash_encoding(h), HASH_ENC_LISTPACK);
	assert_false(set_cstr(h, "f0", "new"));	/* update at the limit */
	assert_int_equal(hash_encoding(h), HASH_ENC_LISTPACK);
	set_cstr(h, "f4", "v4");
	assert_int_equal(hash_encoding(h), HASH_ENC_HT);
	assert_string_equal(hash_enc_name(h), "hashtable");
	assert_int_equal(hash_len(h), 5);
	assert_value(h, "f0", "new");
	assert_value(h, "f3", "v3");
	assert_value(h, "f4", "v4");
	hash_destroy(h);
}

static void test_entries_limit_zero_converts_at_once(void **state)
{
	struct hash *h = hash_create();

	(void)state;
	cfg.hash_max_listpack_entries = 0;
	set_cstr(h, "a", "b");
	assert_int_equal(hash_encoding(h), HASH_ENC_HT);
	assert_value(h, "a", "b");
	hash_destroy(h);
}

static void test_converts_on_long_value_or_field(void **state)
{
	char s[66];
	struct hash *h;

	(void)state;
	memset(s, 'x', sizeof(s));
	h = hash_create();
	hash_set(h, "f", 1, s, 64);			/* exactly the limit */
	hash_set(h, s, 64, "v", 1);
	assert_int_equal(hash_encoding(h), HASH_ENC_LISTPACK);
	hash_set(h, "g", 1, s, 65);			/* one byte over */
	assert_int_equal(hash_encoding(h), HASH_ENC_HT);
	assert_int_equal(hash_len(h), 3);
	hash_destroy(h);

	h = hash_create();
	hash_set(h, s, 65, "v", 1);			/* a long field */
	assert_int_equal(hash_encoding(h), HASH_ENC_HT);
	hash_destroy(h);
}

static void test_prepare_converts_before_writing(void **state)
{
	struct hash *h = hash_create();

	(void)state;
	hash_prepare(h, 64, 128);
	assert_int_equal(hash_encoding(h), HASH_ENC_LISTPACK);
	hash_prepare(h, 65, 65);
	assert_int_equal(hash_encoding(h), HASH_ENC_HT);
	hash_prepare(h, 1000, 1000);			/* no-op on a hashtable */
	assert_int_equal(hash_encoding(h), HASH_ENC_HT);
	hash_destroy(h);

	h = hash_create();
	hash_prepare(h, 1, (size_t)1 << 31);		/* unsafe total size */
	assert_int_equal(hash_encoding(h), HASH_ENC_HT);
	hash_destroy(h);
}

static void test_never_converts_back(void **state)
{
	struct hash *h = hash_create();
	char f[16];

	(void)state;
	cfg.hash_max_listpack_entries = 4;
	fill(h, 10);
	for (int i = 0; i < 9; i++) {
		snprintf(f, sizeof(f), "f%d", i);
		assert_true(hash_delete(h, f, strlen(f)));
	}
	assert_int_equal(hash_len(h), 1);
	assert_int_equal(hash_encoding(h), HASH_ENC_HT);
	cfg.hash_max_listpack_entries = 128;
	set_cstr(h, "x", "y");
	assert_int_equal(hash_encoding(h), HASH_ENC_HT);
	hash_convert(h);				/* no-op */
	assert_value(h, "f9", "v9");
	assert_value(h, "x", "y");
	hash_destroy(h);
}

static void test_lowering_limits_affects_next_write_only(void **state)
{
	struct hash *h = hash_create();

	(void)state;
	fill(h, 10);
	cfg.hash_max_listpack_entries = 4;
	assert_int_equal(hash_encoding(h), HASH_ENC_LISTPACK);
	assert_true(hash_delete(h, "f0", 2));		/* deletes do not convert */
	assert_int_equal(hash_encoding(h), HASH_ENC_LISTPACK);
	assert_false(set_cstr(h, "f1", "x"));		/* an update checks the count */
	assert_int_equal(hash_encoding(h), HASH_ENC_HT);
	hash_destroy(h);
}

/* ---- hashtable ---- */

static void test_hashtable_values_change_size(void **state)
{
	struct hash *h = hash_create();
	char big[300];

	(void)state;
	memset(big, 'b', sizeof(big));
	hash_convert(h);
	assert_int_equal(hash_encoding(h), HASH_ENC_HT);
	fill(h, 200);
	assert_false(hash_set(h, "f7", 2, big, sizeof(big)));	/* grows */
	assert_false(set_cstr(h, "f8", "v9"));			/* same size */
	assert_false(set_cstr(h, "f9", ""));			/* shrinks */
	for (int i = 0; i < 200; i++) {
		struct hash_str v;
		char f[16], want[16];

		snprintf(f, sizeof(f), "f%d", i);
		assert_true(hash_get(h, f, strlen(f), &v));
		if (i == 7) {
			assert_int_equal(v.len, sizeof(big));
			assert_memory_equal(v.p, big, sizeof(big));
			continue;
		}
		snprintf(want, sizeof(want), "v%d", i == 8 ? 9 : i);
		if (i == 9)
			want[0] = '\0';
		assert_int_equal(v.len, strlen(want));
		assert_memory_equal(v.p, want, v.len);
	}
	assert_int_equal(hash_len(h), 200);
	hash_destroy(h);
}

static void test_hashtable_iterates_every_field_once(void **state)
{
	struct hash *h = hash_create();
	static int seen[500];
	struct hash_iter it;
	struct hash_str f, v;
	int n = 0;

	(void)state;
	cfg.hash_max_listpack_entries = 16;
	fill(h, 500);
	memset(seen, 0, sizeof(seen));
	hash_iter_init(&it, h);
	while (hash_iter_next(&it, &f, &v)) {
		int i = field_index(&f);

		seen[i]++;
		assert_int_equal(v.len, f.len);
		assert_memory_equal(v.p + 1, f.p + 1, f.len - 1);
		n++;
	}
	assert_int_equal(n, 500);
	for (int i = 0; i < 500; i++)
		assert_int_equal(seen[i], 1);
	hash_destroy(h);
}

static void test_dup_is_deep(void **state)
{
	for (int enc = 0; enc < 2; enc++) {
		struct hash *h = hash_create(), *c;

		(void)state;
		fill(h, 20);
		if (enc)
			hash_convert(h);
		c = hash_dup(h);
		assert_int_equal(hash_encoding(c), hash_encoding(h));
		assert_int_equal(hash_len(c), 20);
		set_cstr(h, "f0", "changed");
		hash_delete(h, "f1", 2);
		assert_value(c, "f0", "v0");
		assert_value(c, "f1", "v1");
		assert_value(h, "f0", "changed");
		hash_destroy(h);
		assert_value(c, "f19", "v19");
		hash_destroy(c);
	}
}

static void test_mem_follows_contents(void **state)
{
	for (int enc = 0; enc < 2; enc++) {
		struct hash *h = hash_create();
		size_t m0, m1;

		(void)state;
		if (enc)
			hash_convert(h);
		m0 = hash_mem(h);
		fill(h, 50);
		m1 = hash_mem(h);
		assert_true(m1 > m0 + 50 * 4);
		for (int i = 0; i < 50; i++) {
			char f[16];

			snprintf(f, sizeof(f), "f%d", i);
			hash_delete(h, f, strlen(f));
		}
		assert_true(hash_mem(h) < m1);
		hash_destroy(h);
	}
}

/* ---- random picks ---- */

struct counts {
	int n[64];		/* picks per field index */
	int total;
	bool values_match;	/* every value was the field's own */
};

static void count_pick(const struct hash_str *f, const struct hash_str *v, void *arg)
{
	struct counts *c = arg;
	int i = field_index(f);

	assert_true(i >= 0 && i < 64);
	c->n[i]++;
	c->total++;
	if (v->len != f->len || memcmp(v->p + 1, f->p + 1, f->len - 1) != 0)
		c->values_match = false;
}

/* Pearson's chi-square of the counts of n equally likely fields. */
static double chi_square(const struct counts *c, int n)
{
	double e = (double)c->total / n, x = 0;

	for (int i = 0; i < n; i++)
		x += (c->n[i] - e) * (c->n[i] - e) / e;
	return x;
}

static void test_random_pairs_are_fair(void **state)
{
	for (int enc = 0; enc < 2; enc++) {
		struct hash *h = hash_create();
		struct counts c = { .values_match = true };

		(void)state;
		fill(h, 10);
		if (enc)
			hash_convert(h);
		hash_random_pairs(h, 10000, count_pick, &c);
		assert_int_equal(c.total, 10000);
		assert_true(c.values_match);
		/* df = 9: 40 is exceeded with probability 1e-5 */
		assert_true(chi_square(&c, 10) < 40);
		hash_destroy(h);
	}
}

static void test_random_distinct_picks_distinct_fields(void **state)
{
	/* listpack and hashtable; few of many (random picks with a seen set
	 * on a hashtable) and most of them (selection sampling) */
	static const uint64_t counts[] = { 1, 2, 3, 10, 30, 59 };

	for (int enc = 0; enc < 2; enc++) {
		for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
			struct hash *h = hash_create();
			struct counts all = { .values_match = true };

			(void)state;
			fill(h, 60);
			if (enc)
				hash_convert(h);
			for (int round = 0; round < 300; round++) {
				struct counts c = { .values_match = true };

				hash_random_distinct(h, counts[k], count_pick, &c);
				assert_int_equal(c.total, (int)counts[k]);
				assert_true(c.values_match);
				for (int i = 0; i < 60; i++) {
					assert_true(c.n[i] <= 1);
					all.n[i] += c.n[i];
				}
				all.total += c.total;
			}
			/* every field is picked sooner or later, none favoured */
			for (int i = 0; i < 60; i++)
				assert_true(all.n[i] > 0 || counts[k] < 3);
			if (counts[k] >= 3 && counts[k] < 59)
				assert_true(chi_square(&all, 60) < 120);
			hash_destroy(h);
		}
	}
}

/* ---- scan ---- */

static void scan_count(const struct hash_str *f, const struct hash_str *v, void *arg)
{
	count_pick(f, v, arg);
}

static void test_scan_listpack_returns_everything_at_once(void **state)
{
	struct hash *h = hash_create();
	struct counts c = { .values_match = true };

	(void)state;
	fill(h, 30);
	assert_int_equal(hash_scan(h, 0, scan_count, &c), 0);
	assert_int_equal(c.total, 30);
	for (int i = 0; i < 30; i++)
		assert_int_equal(c.n[i], 1);
	assert_true(c.values_match);
	hash_destroy(h);
}

static void test_scan_hashtable_visits_every_field(void **state)
{
	struct hash *h = hash_create();
	struct counts c = { .values_match = true };
	uint64_t cursor = 0;
	int calls = 0;

	(void)state;
	fill(h, 60);
	hash_convert(h);
	do {
		cursor = hash_scan(h, cursor, scan_count, &c);
		calls++;
	} while (cursor != 0);
	assert_true(calls > 1);
	for (int i = 0; i < 60; i++)
		assert_true(c.n[i] >= 1);
	assert_true(c.values_match);
	hash_destroy(h);
}

/* ---- kv's table ---- */

static void test_kv_ops(void **state)
{
	struct hash *h = hash_create(), *c;

	(void)state;
	assert_ptr_equal(kv_type_ops(KV_HASH), &kv_hash_ops);
	fill(h, 3);
	assert_string_equal(kv_hash_ops.enc_name(h), "listpack");
	assert_int_equal(kv_hash_ops.mem(h), hash_mem(h));
	c = kv_hash_ops.dup(h);
	hash_convert(c);
	assert_string_equal(kv_hash_ops.enc_name(c), "hashtable");
	assert_value(c, "f2", "v2");
	kv_hash_ops.free(h);
	kv_hash_ops.free(c);
}

/* ---- random operations against a model ---- */

#define MODEL_N 300

struct model {
	bool in[MODEL_N];		/* field "k<i>" present? */
	char val[MODEL_N][80];		/* its value */
	size_t vlen[MODEL_N];
	size_t n;
};

static void model_check(const struct hash *h, const struct model *m)
{
	struct hash_iter it;
	struct hash_str f, v;
	size_t seen = 0;

	assert_int_equal(hash_len(h), m->n);
	hash_iter_init(&it, h);
	while (hash_iter_next(&it, &f, &v)) {
		char buf[16];
		int i;

		assert_true(f.len < sizeof(buf));
		memcpy(buf, f.p, f.len);
		buf[f.len] = '\0';
		i = atoi(buf + 1);
		assert_true(m->in[i]);
		assert_int_equal(v.len, m->vlen[i]);
		assert_memory_equal(v.p, m->val[i], v.len);
		seen++;
	}
	assert_int_equal(seen, m->n);
}

static void test_random_against_model(void **state)
{
	static struct model m;
	struct hash *h = hash_create();
	uint64_t rng = 0x2545f4914f6cdd1dULL;
	bool converted = false;

	(void)state;
	memset(&m, 0, sizeof(m));
	cfg.hash_max_listpack_entries = 64;
	for (int op = 0; op < 30000; op++) {
		uint64_t r = xorshift(&rng);
		int i = (int)(r % MODEL_N);
		char f[16], v[80];
		size_t flen = (size_t)snprintf(f, sizeof(f), "k%d", i), vlen;
		struct hash_str got;

		if (r >> 62) {
			/* a set: numbers, short text, and now and then a
			 * value past the 64-byte limit */
			switch ((r >> 8) % 4) {
			case 0:
				vlen = (size_t)snprintf(v, sizeof(v), "%lld",
							(long long)(r >> 20) - (1LL << 40));
				break;
			case 1:
				vlen = (r >> 12) % 20;
				memset(v, 'a' + (int)(r % 26), vlen);
				break;
			case 2:
				vlen = (r >> 16) % 50 == 0 ? 70 : 10;
				memset(v, 'q', vlen);
				break;
			default:
				vlen = 0;
				break;
			}
			assert_int_equal(hash_set(h, f, flen, v, vlen), !m.in[i]);
			m.n += !m.in[i];
			m.in[i] = true;
			memcpy(m.val[i], v, vlen);
			m.vlen[i] = vlen;
		} else if ((r >> 60) & 1) {
			assert_int_equal(hash_delete(h, f, flen), m.in[i]);
			m.n -= m.in[i];
			m.in[i] = false;
		} else {
			assert_int_equal(hash_get(h, f, flen, &got), m.in[i]);
			if (m.in[i]) {
				assert_int_equal(got.len, m.vlen[i]);
				assert_memory_equal(got.p, m.val[i], got.len);
			}
		}
		if (hash_encoding(h) == HASH_ENC_HT)
			converted = true;
		else
			assert_false(converted);
		if (op % 500 == 0)
			model_check(h, &m);
	}
	assert_true(converted);
	model_check(h, &m);
	hash_destroy(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_new_hash_is_empty_listpack, setup),
		cmocka_unit_test_setup(test_set_get_replace_delete_listpack, setup),
		cmocka_unit_test_setup(test_value_equal_to_a_field_is_not_a_field, setup),
		cmocka_unit_test_setup(test_listpack_iterates_in_insertion_order, setup),
		cmocka_unit_test_setup(test_converts_past_entries_limit, setup),
		cmocka_unit_test_setup(test_entries_limit_zero_converts_at_once, setup),
		cmocka_unit_test_setup(test_converts_on_long_value_or_field, setup),
		cmocka_unit_test_setup(test_prepare_converts_before_writing, setup),
		cmocka_unit_test_setup(test_never_converts_back, setup),
		cmocka_unit_test_setup(test_lowering_limits_affects_next_write_only, setup),
		cmocka_unit_test_setup(test_hashtable_values_change_size, setup),
		cmocka_unit_test_setup(test_hashtable_iterates_every_field_once, setup),
		cmocka_unit_test_setup(test_dup_is_deep, setup),
		cmocka_unit_test_setup(test_mem_follows_contents, setup),
		cmocka_unit_test_setup(test_random_pairs_are_fair, setup),
		cmocka_unit_test_setup(test_random_distinct_picks_distinct_fields, setup),
		cmocka_unit_test_setup(test_scan_listpack_returns_everything_at_once, setup),
		cmocka_unit_test_setup(test_scan_hashtable_visits_every_field, setup),
		cmocka_unit_test_setup(test_kv_ops, setup),
		cmocka_unit_test_setup(test_random_against_model, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
