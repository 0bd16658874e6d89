/*
 * t_set.c - the set value, in its two encodings, and its kv_type_ops.
 *
 * A struct set is a small header naming the encoding and pointing at either
 * an intset (t_intset.h) or a kv_dict. The header is what the key's entry
 * points at, so converting an intset to a hashtable, or replacing the whole
 * contents (set_swap), never touches the entry.
 *
 * Hashtable members are intrusive dict nodes: one allocation per member
 * holding the chain link, the length and the bytes, and the table keys on
 * those bytes. A member's length is 32 bits; a member of 4 GiB or more
 * (possible only with proto-max-bulk-len raised that far) stores
 * SET_MEMBER_LONG there and its 64-bit length in the first 8 bytes of the
 * data, so the common case pays 4 bytes, not 8.
 *
 * Encoding rules are Redis 7.0's (t_set.h): integers are recognised with
 * strutil_to_ll(), Redis's string2ll, so "007", "+1", " 1" and "-0" are
 * strings and go to a hashtable; conversion happens on the add that breaks
 * the intset's limits and is never undone.
 *
 * Random members. An intset picks an index uniformly. kv_dict's
 * dict_random() picks a bucket, then a member of its chain, which favours
 * members of short chains; on a set of ten members that bias is enough to
 * fail a chi-square test of SRANDMEMBER. As Redis's dictGetFairRandomKey,
 * set_random() reads up to SET_FAIR_SAMPLE members from a random place of
 * the table (dict_sample) and picks one of them uniformly: a chain is then
 * read whole, so its length no longer matters. The generator is a
 * per-thread xorshift64*, seeded from the clock.
 *
 * Memory: set_mem() counts the header, the intset block, or the table's
 * buckets plus the usable size of every member node (kept as a running sum
 * so MEMORY USAGE is O(1) apart from the table itself).
 */
#include "t_set.h"
#include "t_intset.h"
#include "cfg.h"
#include "mem.h"
#include "strutil.h"
#include "util.h"

#include <string.h>

/* Members read by set_random() from one place of a hashtable. */
#define SET_FAIR_SAMPLE 15
/* A member length that does not fit 32 bits (see above). */
#define SET_MEMBER_LONG UINT32_MAX

struct set_member {
	struct dict_node node;	/* chain link, owned by the set's dict */
	uint32_t len;		/* bytes of data, or SET_MEMBER_LONG */
	char data[];		/* the member (after a uint64_t length if long) */
};

struct set {
	uint8_t enc;		/* enum set_enc */
	size_t member_bytes;	/* hashtable: usable bytes of all member nodes */
	union {
		struct intset *is;	/* SET_ENC_INTSET */
		struct dict *d;		/* SET_ENC_HT: of struct set_member */
	} u;
};

static _Thread_local uint64_t set_rng;

void set_rand_seed(uint64_t seed)
{
	set_rng = seed;
}

/* xorshift64*; a zero state means "not seeded yet". */
static uint64_t set_rand(void)
{
	uint64_t x = set_rng;

	if (unlikely(!x))
		x = ((uint64_t)util_monotonic_us() ^ (uint64_t)(uintptr_t)&set_rng) *
		    0x9E3779B97F4A7C15ull | 1;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	set_rng = x;
	return x * 0x2545F4914F6CDD1Dull;
}

/* Uniform in [0, n) for n > 0 (multiply-shift, no modulo bias worth
 * mentioning at these sizes). */
static size_t set_rand_below(size_t n)
{
	return (size_t)(((unsigned __int128)set_rand() * n) >> 64);
}

/* ---- member nodes ---- */

static void set_member_view(const struct set_member *m, const char **p, size_t *len)
{
	if (likely(m->len != SET_MEMBER_LONG)) {
		*p = m->data;
		*len = m->len;
	} else {
		uint64_t n;

		memcpy(&n, m->data, sizeof(n));
		*p = m->data + sizeof(n);
		*len = (size_t)n;
	}
}

static void set_member_key(const struct dict_node *n, const char **key, size_t *len)
{
	set_member_view((const struct set_member *)n, key, len);
}

static const struct dict_ops set_dict_ops = { .key = set_member_key };

static struct set_member *set_member_new(struct set *s, const char *p, size_t len)
{
	bool is_long = len >= SET_MEMBER_LONG;
	size_t hdr = is_long ? sizeof(uint64_t) : 0;
	struct set_member *m = mem_alloc(sizeof(*m) + hdr + len);

	m->node.next = NULL;
	if (is_long) {
		uint64_t n = len;

		m->len = SET_MEMBER_LONG;
		memcpy(m->data, &n, sizeof(n));
	} else {
		m->len = (uint32_t)len;
	}
	if (len)
		memcpy(m->data + hdr, p, len);
	s->member_bytes += mem_usable(m);
	return m;
}

static void set_member_free(struct set *s, struct set_member *m)
{
	s->member_bytes -= mem_usable(m);
	mem_free(m);
}

static void set_member_free_cb(struct dict_node *n, void *arg)
{
	set_member_free(arg, (struct set_member *)n);
}

/* ---- elements ---- */

const char *set_elem_str(struct set_elem *e, size_t *len)
{
	if (!e->p) {
		*len = (size_t)strutil_ll_to_str(e->buf, sizeof(e->buf), e->ll);
		return e->buf;
	}
	*len = e->len;
	return e->p;
}

/* True if e is an integer, stored in *v. An element that came with bytes
 * only (a hashtable member) is parsed: its text may spell an integer. */
static bool set_elem_int(const struct set_elem *e, int64_t *v)
{
	long long x;

	if (e->is_int) {
		*v = e->ll;
		return true;
	}
	if (!strutil_to_ll(e->p, e->len, &x))
		return false;
	*v = x;
	return true;
}

void set_elem_from(struct set_elem *e, const char *p, size_t len)
{
	long long v;

	e->p = p;
	e->len = len;
	e->is_int = strutil_to_ll(p, len, &v);
	e->ll = e->is_int ? v : 0;
}

static void set_elem_from_member(struct set_elem *e, const struct set_member *m)
{
	e->is_int = false;
	e->ll = 0;
	set_member_view(m, &e->p, &e->len);
}

static void set_elem_from_int(struct set_elem *e, int64_t v)
{
	e->is_int = true;
	e->ll = v;
	e->p = NULL;
	e->len = 0;
}

/* ---- the set ---- */

struct set *set_create(void)
{
	struct set *s = mem_alloc(sizeof(*s));

	s->enc = SET_ENC_INTSET;
	s->member_bytes = 0;
	s->u.is = intset_create();
	return s;
}

static struct set *set_create_ht(void)
{
	struct set *s = mem_alloc(sizeof(*s));

	s->enc = SET_ENC_HT;
	s->member_bytes = 0;
	s->u.d = dict_create(&set_dict_ops);
	return s;
}

struct set *set_create_for(const char *ele, size_t len)
{
	long long v;

	return strutil_to_ll(ele, len, &v) ? set_create() : set_create_ht();
}

void set_destroy(struct set *s)
{
	if (!s)
		return;
	if (s->enc == SET_ENC_INTSET)
		intset_destroy(s->u.is);
	else
		dict_destroy(s->u.d, set_member_free_cb, s);
	mem_free(s);
}

struct set *set_dup(const struct set *s)
{
	struct set *copy;
	struct dict_iter it;
	struct dict_node *n;

	if (s->enc == SET_ENC_INTSET) {
		copy = mem_alloc(sizeof(*copy));
		copy->enc = SET_ENC_INTSET;
		copy->member_bytes = 0;
		copy->u.is = intset_dup(s->u.is);
		return copy;
	}
	copy = set_create_ht();
	dict_iter_init(&it, s->u.d);
	while ((n = dict_iter_next(&it))) {
		const char *p;
		size_t len;

		set_member_key(n, &p, &len);
		dict_insert(copy->u.d, &set_member_new(copy, p, len)->node);
	}
	return copy;
}

void set_swap(struct set *a, struct set *b)
{
	struct set t = *a;

	*a = *b;
	*b = t;
}

size_t set_size(const struct set *s)
{
	return s->enc == SET_ENC_INTSET ? intset_len(s->u.is) : dict_size(s->u.d);
}

enum set_enc set_encoding(const struct set *s)
{
	return (enum set_enc)s->enc;
}

const char *set_enc_name(const struct set *s)
{
	return s->enc == SET_ENC_INTSET ? "intset" : "hashtable";
}

size_t set_mem(const struct set *s)
{
	size_t n = mem_usable(s);

	if (s->enc == SET_ENC_INTSET)
		return n + intset_mem(s->u.is);
	/* The dict header is opaque; count it as a few words. */
	return n + 8 * sizeof(void *) + dict_buckets(s->u.d) * sizeof(void *) + s->member_bytes;
}

/* set-max-intset-entries, capped as Redis caps it. */
static size_t set_max_intset(void)
{
	if (cfg.set_max_intset_entries <= 0)
		return 0;
	return MIN((size_t)cfg.set_max_intset_entries, (size_t)INTSET_MAX_LEN);
}

/* Converts an intset-encoded set to a hashtable holding the same members
 * as decimal text. */
static void set_convert_to_ht(struct set *s)
{
	struct intset *is = s->u.is;
	size_t n = intset_len(is);

	ASSERT(s->enc == SET_ENC_INTSET);
	s->enc = SET_ENC_HT;
	s->member_bytes = 0;
	s->u.d = dict_create(&set_dict_ops);
	for (size_t i = 0; i < n; i++) {
		char buf[KV_INT_BUF];
		int len = strutil_ll_to_str(buf, sizeof(buf), intset_get(is, i));

		dict_insert(s->u.d, &set_member_new(s, buf, (size_t)len)->node);
	}
	intset_destroy(is);
}

/* Adds the integer v to an intset-encoded set, converting it when it grows
 * past the limit. */
static bool set_intset_add(struct set *s, int64_t v)
{
	if (!intset_add(&s->u.is, v))
		return false;
	if (intset_len(s->u.is) > set_max_intset())
		set_convert_to_ht(s);
	return true;
}

static bool set_ht_add(struct set *s, const char *ele, size_t len)
{
	if (dict_find(s->u.d, ele, len))
		return false;
	dict_insert(s->u.d, &set_member_new(s, ele, len)->node);
	return true;
}

bool set_add(struct set *s, const char *ele, size_t len)
{
	struct set_elem e;

	set_elem_from(&e, ele, len);
	return set_add_elem(s, &e);
}

bool set_add_elem(struct set *s, struct set_elem *e)
{
	const char *p;
	size_t len;
	int64_t v;

	if (s->enc == SET_ENC_INTSET) {
		if (set_elem_int(e, &v))
			return set_intset_add(s, v);
		/* Not an integer, so certainly not a member yet. */
		set_convert_to_ht(s);
	}
	p = set_elem_str(e, &len);
	return set_ht_add(s, p, len);
}

bool set_remove(struct set *s, const char *ele, size_t len)
{
	struct set_elem e;

	set_elem_from(&e, ele, len);
	return set_remove_elem(s, &e);
}

bool set_remove_elem(struct set *s, struct set_elem *e)
{
	struct dict_node *n;
	const char *p;
	size_t len;
	int64_t v;

	if (s->enc == SET_ENC_INTSET)
		return set_elem_int(e, &v) && intset_remove(&s->u.is, v);
	p = set_elem_str(e, &len);
	n = dict_remove(s->u.d, p, len);
	if (!n)
		return false;
	set_member_free(s, (struct set_member *)n);
	dict_maybe_shrink(s->u.d);
	return true;
}

bool set_contains(struct set *s, const char *ele, size_t len)
{
	struct set_elem e;

	set_elem_from(&e, ele, len);
	return set_contains_elem(s, &e);
}

bool set_contains_elem(struct set *s, struct set_elem *e)
{
	const char *p;
	size_t len;
	int64_t v;

	if (s->enc == SET_ENC_INTSET)
		return set_elem_int(e, &v) && intset_contains(s->u.is, v);
	p = set_elem_str(e, &len);
	return dict_find(s->u.d, p, len) != NULL;
}

void set_random(struct set *s, struct set_elem *e)
{
	struct dict_node *pick[SET_FAIR_SAMPLE];
	size_t got;

	ASSERT(set_size(s) > 0);
	if (s->enc == SET_ENC_INTSET) {
		set_elem_from_int(e, intset_get(s->u.is, set_rand_below(intset_len(s->u.is))));
		return;
	}
	got = dict_sample(s->u.d, pick, SET_FAIR_SAMPLE);
	ASSERT(got > 0);
	set_elem_from_member(e, (struct set_member *)pick[set_rand_below(got)]);
}

void set_iter_init(struct set_iter *it, struct set *s)
{
	it->s = s;
	it->i = 0;
	if (s->enc == SET_ENC_HT)
		dict_iter_init(&it->di, s->u.d);
}

bool set_iter_next(struct set_iter *it, struct set_elem *e)
{
	struct dict_node *n;

	if (it->s->enc == SET_ENC_INTSET) {
		if (it->i >= intset_len(it->s->u.is))
			return false;
		set_elem_from_int(e, intset_get(it->s->u.is, it->i++));
		return true;
	}
	n = dict_iter_next(&it->di);
	if (!n)
		return false;
	set_elem_from_member(e, (struct set_member *)n);
	return true;
}

/* set_scan()'s caller, as the dict scan callback sees it. */
struct set_scan_arg {
	void (*fn)(struct set_elem *e, void *arg);	/* the caller's callback */
	void *arg;					/* and its argument */
};

static void set_scan_cb(struct dict_node *n, void *arg)
{
	struct set_scan_arg *a = arg;
	struct set_elem e;

	set_elem_from_member(&e, (struct set_member *)n);
	a->fn(&e, a->arg);
}

uint64_t set_scan(struct set *s, uint64_t cursor,
		  void (*fn)(struct set_elem *e, void *arg), void *arg)
{
	struct set_scan_arg a = { .fn = fn, .arg = arg };

	if (s->enc == SET_ENC_INTSET) {
		struct set_elem e;

		for (size_t i = 0; i < intset_len(s->u.is); i++) {
			set_elem_from_int(&e, intset_get(s->u.is, i));
			fn(&e, arg);
		}
		return 0;
	}
	return dict_scan(s->u.d, cursor, set_scan_cb, &a);
}

/* ---- kv_type_ops ---- */

static void set_ops_free(void *ptr)
{
	set_destroy(ptr);
}

static void *set_ops_dup(const void *ptr)
{
	return set_dup(ptr);
}

static const char *set_ops_enc_name(const void *ptr)
{
	return set_enc_name(ptr);
}

static size_t set_ops_mem(const void *ptr)
{
	return set_mem(ptr);
}

const struct kv_type_ops kv_set_ops = {
	.free = set_ops_free,
	.dup = set_ops_dup,
	.enc_name = set_ops_enc_name,
	.mem = set_ops_mem,
};
