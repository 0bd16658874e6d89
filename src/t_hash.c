/*
 * t_hash.c - the hash value and its two encodings.
 *
 * A small hash is one lpack holding field, value, field, value ... in the
 * order the fields were first set: a lookup is a linear lpack_find() over
 * the fields only (skip 1), which for a few dozen short strings costs less
 * than hashing and beats any table on memory. An update replaces the value
 * where it stands, so the order of fields never changes; a delete removes
 * the pair and closes the gap.
 *
 * A big hash is a kv_dict of struct hash_node, one allocation per field
 * holding the field bytes followed by the value bytes. The table is
 * intrusive and stores no hash codes, so a field costs its two strings, two
 * lengths, the chain pointer and the bucket slot. A value is changed in
 * place when its length stays the same; otherwise the node is reallocated
 * and the bucket link that pointed at it (dict_find_ref) is repointed: the
 * chain pointer travels inside the node, so nothing else moves.
 *
 * Conversion is one way, listpack to hashtable, exactly at Redis 7.0's
 * thresholds (see t_hash.h), so OBJECT ENCODING answers as Redis does for
 * the same commands. The limits are read from cfg when a write happens:
 * lowering them with CONFIG SET affects the next write, not hashes at rest.
 *
 * Invariants:
 *  - enc == HASH_ENC_LISTPACK  <=>  lp != NULL and d == NULL; the lpack has
 *    an even count, and no field occurs twice in it.
 *  - enc == HASH_ENC_HT        <=>  d != NULL and lp == NULL; ht_bytes is the
 *    sum of the usable sizes of the nodes (MEMORY USAGE in O(1)).
 *  - A hash owned by a key is never empty: the commands delete the key when
 *    its last field goes (an empty hash exists only while being built).
 *
 * Randomness comes from a per-thread splitmix64 generator; a hashtable pick
 * samples a short run of the table with dict_sample() and chooses among the
 * fields found, which is what makes HRANDFIELD's counts pass a chi-square
 * test even when some chains are longer than others.
 */
#include "t_hash.h"

#include "cfg.h"
#include "mem.h"
#include "util.h"

#include <string.h>

/* Redis's LISTPACK_MAX_SAFETY_SIZE: past this, a listpack hash converts
 * rather than grow (and it keeps an lpack far below its 4 GiB limit). */
#define HASH_LP_SAFETY	(1ull << 30)
/* How many fields a fair random pick chooses among (Redis samples 20). */
#define HASH_FAIR_SAMPLE 20

struct hash {
	enum hash_enc enc;	/* current encoding */
	unsigned char *lp;	/* listpack: field, value, ... or NULL */
	struct dict *d;		/* hashtable: struct hash_node, or NULL */
	size_t ht_bytes;	/* hashtable: usable bytes of all nodes */
};

struct hash_node {
	struct dict_node node;	/* chain link, owned by the table */
	size_t flen;		/* field bytes */
	size_t vlen;		/* value bytes */
	char data[];		/* field, then value */
};

static struct hash_node *node_of(const struct dict_node *n)
{
	return (struct hash_node *)n;
}

static void node_key(const struct dict_node *n, const char **key, size_t *len)
{
	const struct hash_node *hn = node_of(n);

	*key = hn->data;
	*len = hn->flen;
}

static const struct dict_ops hash_dict_ops = { .key = node_key };

static struct hash_node *node_new(const char *f, size_t flen, const char *v, size_t vlen)
{
	struct hash_node *n = mem_alloc(sizeof(*n) + flen + vlen);

	n->node.next = NULL;
	n->flen = flen;
	n->vlen = vlen;
	memcpy(n->data, f, flen);
	if (vlen)
		memcpy(n->data + flen, v, vlen);
	return n;
}

static void node_free(struct dict_node *n, void *arg)
{
	(void)arg;
	mem_free(node_of(n));
}

static void str_from_node(struct hash_str *s, const char *p, size_t len)
{
	s->p = p;
	s->len = len;
}

static void node_pair(const struct hash_node *n, struct hash_str *f, struct hash_str *v)
{
	if (f)
		str_from_node(f, n->data, n->flen);
	if (v)
		str_from_node(v, n->data + n->flen, n->vlen);
}

/* Reads the lpack element at pos into s (an integer is rendered into
 * s->buf). */
static void str_from_lp(struct hash_str *s, const unsigned char *lp, size_t pos)
{
	struct lpack_val lv;

	lpack_get(lp, pos, &lv);
	if (lv.p == lv.buf) {
		memcpy(s->buf, lv.buf, lv.len);
		s->p = s->buf;
	} else {
		s->p = lv.p;
	}
	s->len = lv.len;
}

/* ---- randomness ---- */

static _Thread_local uint64_t hash_rng;

void hash_rand_seed(uint64_t seed)
{
	hash_rng = seed ? seed : (uint64_t)util_monotonic_us() ^ (uint64_t)(uintptr_t)&hash_rng;
}

static uint64_t hash_rand(void)
{
	uint64_t z;

	if (unlikely(!hash_rng))
		hash_rand_seed(0);
	z = (hash_rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0. */
static uint64_t hash_rand_below(uint64_t n)
{
	return (uint64_t)(((unsigned __int128)hash_rand() * n) >> 64);
}

/* ---- life cycle ---- */

struct hash *hash_create(void)
{
	struct hash *h = mem_calloc(1, sizeof(*h));

	h->enc = HASH_ENC_LISTPACK;
	h->lp = lpack_new();
	return h;
}

void hash_destroy(struct hash *h)
{
	if (!h)
		return;
	lpack_free(h->lp);
	dict_destroy(h->d, node_free, NULL);
	mem_free(h);
}

struct hash *hash_dup(const struct hash *h)
{
	struct hash *c = mem_calloc(1, sizeof(*c));

	c->enc = h->enc;
	if (h->enc == HASH_ENC_LISTPACK) {
		c->lp = lpack_dup(h->lp);
	} else {
		struct dict_iter it;
		struct dict_node *n;

		c->d = dict_create(&hash_dict_ops);
		dict_iter_init(&it, h->d);
		while ((n = dict_iter_next(&it))) {
			const struct hash_node *o = node_of(n);
			struct hash_node *cp = node_new(o->data, o->flen, o->data + o->flen, o->vlen);

			dict_insert(c->d, &cp->node);
			c->ht_bytes += mem_usable(cp);
		}
	}
	return c;
}

size_t hash_len(const struct hash *h)
{
	return h->enc == HASH_ENC_LISTPACK ? lpack_count(h->lp) / 2 : dict_size(h->d);
}

enum hash_enc hash_encoding(const struct hash *h)
{
	return h->enc;
}

const char *hash_enc_name(const struct hash *h)
{
	return h->enc == HASH_ENC_LISTPACK ? "listpack" : "hashtable";
}

size_t hash_mem(const struct hash *h)
{
	size_t n = mem_usable(h);

	if (h->enc == HASH_ENC_LISTPACK)
		return n + mem_usable(h->lp);
	return n + dict_buckets(h->d) * sizeof(void *) + h->ht_bytes;
}

/* ---- conversion ---- */

static void ht_add_node(struct hash *h, struct hash_node *n)
{
	dict_insert(h->d, &n->node);
	h->ht_bytes += mem_usable(n);
}

void hash_convert(struct hash *h)
{
	struct hash_str f, v;
	size_t pos;

	if (h->enc != HASH_ENC_LISTPACK)
		return;
	h->d = dict_create(&hash_dict_ops);
	h->ht_bytes = 0;
	for (pos = lpack_first(h->lp); pos != LPACK_END; pos = lpack_next(h->lp, pos)) {
		str_from_lp(&f, h->lp, pos);
		pos = lpack_next(h->lp, pos);
		str_from_lp(&v, h->lp, pos);
		ht_add_node(h, node_new(f.p, f.len, v.p, v.len));
	}
	lpack_free(h->lp);
	h->lp = NULL;
	h->enc = HASH_ENC_HT;
}

static bool lp_would_be_unsafe(const struct hash *h, size_t add)
{
	return (unsigned long long)lpack_bytes(h->lp) + add > HASH_LP_SAFETY;
}

void hash_prepare(struct hash *h, size_t maxlen, size_t sum)
{
	if (h->enc != HASH_ENC_LISTPACK)
		return;
	if ((unsigned long long)maxlen > (unsigned long long)cfg.hash_max_listpack_value ||
	    lp_would_be_unsafe(h, sum))
		hash_convert(h);
}

/* ---- fields ---- */

bool hash_get(const struct hash *h, const char *f, size_t flen, struct hash_str *v)
{
	struct dict_node *n;
	size_t pos;

	if (h->enc == HASH_ENC_LISTPACK) {
		pos = lpack_find(h->lp, lpack_first(h->lp), f, flen, 1);
		if (pos == LPACK_END)
			return false;
		if (v)
			str_from_lp(v, h->lp, lpack_next(h->lp, pos));
		return true;
	}
	n = dict_find(h->d, f, flen);
	if (!n)
		return false;
	node_pair(node_of(n), NULL, v);
	return true;
}

static bool ht_set(struct hash *h, const char *f, size_t flen, const char *v, size_t vlen)
{
	struct dict_node **ref = dict_find_ref(h->d, f, flen);
	struct hash_node *n;

	if (!ref) {
		ht_add_node(h, node_new(f, flen, v, vlen));
		return true;
	}
	n = node_of(*ref);
	if (n->vlen != vlen) {
		h->ht_bytes -= mem_usable(n);
		n = mem_realloc(n, sizeof(*n) + flen + vlen);
		h->ht_bytes += mem_usable(n);
		n->vlen = vlen;
		*ref = &n->node;	/* the chain link moved with the node */
	}
	if (vlen)
		memcpy(n->data + flen, v, vlen);
	return false;
}

bool hash_set(struct hash *h, const char *f, size_t flen, const char *v, size_t vlen)
{
	unsigned long long maxv = (unsigned long long)cfg.hash_max_listpack_value;
	size_t pos;

	if (h->enc == HASH_ENC_LISTPACK &&
	    (flen > maxv || vlen > maxv || lp_would_be_unsafe(h, flen + vlen)))
		hash_convert(h);
	if (h->enc == HASH_ENC_HT)
		return ht_set(h, f, flen, v, vlen);

	pos = lpack_find(h->lp, lpack_first(h->lp), f, flen, 1);
	if (pos != LPACK_END) {
		pos = lpack_next(h->lp, pos);
		h->lp = lpack_replace(h->lp, &pos, v, vlen);
	} else {
		h->lp = lpack_append(h->lp, f, flen);
		h->lp = lpack_append(h->lp, v, vlen);
	}
	/* checked after an update too (as Redis), so a limit lowered by
	 * CONFIG SET takes effect at the next write of any kind */
	if (hash_len(h) > (size_t)cfg.hash_max_listpack_entries)
		hash_convert(h);
	return pos == LPACK_END;
}

bool hash_delete(struct hash *h, const char *f, size_t flen)
{
	struct dict_node *n;
	size_t pos;

	if (h->enc == HASH_ENC_LISTPACK) {
		pos = lpack_find(h->lp, lpack_first(h->lp), f, flen, 1);
		if (pos == LPACK_END)
			return false;
		h->lp = lpack_delete(h->lp, &pos);	/* the field; pos -> value */
		h->lp = lpack_delete(h->lp, &pos);
		return true;
	}
	n = dict_remove(h->d, f, flen);
	if (!n)
		return false;
	h->ht_bytes -= mem_usable(n);
	node_free(n, NULL);
	/* as Redis resizes a hash's table after HDEL: a big hash emptied down
	 * to a few fields does not keep its table */
	dict_maybe_shrink(h->d);
	return true;
}

/* ---- iteration ---- */

void hash_iter_init(struct hash_iter *it, const struct hash *h)
{
	it->h = h;
	if (h->enc == HASH_ENC_LISTPACK)
		it->pos = lpack_first(h->lp);
	else
		dict_iter_init(&it->di, h->d);
}

bool hash_iter_next(struct hash_iter *it, struct hash_str *f, struct hash_str *v)
{
	const struct hash *h = it->h;
	struct dict_node *n;
	size_t vpos;

	if (h->enc == HASH_ENC_LISTPACK) {
		if (it->pos == LPACK_END)
			return false;
		vpos = lpack_next(h->lp, it->pos);
		if (f)
			str_from_lp(f, h->lp, it->pos);
		if (v)
			str_from_lp(v, h->lp, vpos);
		it->pos = lpack_next(h->lp, vpos);
		return true;
	}
	n = dict_iter_next(&it->di);
	if (!n)
		return false;
	node_pair(node_of(n), f, v);
	return true;
}

/* ---- random picks ---- */

/* The positions of every field of a listpack hash, so that a pick is O(1)
 * after one O(n) walk. Caller frees. */
static size_t *lp_field_positions(const unsigned char *lp, size_t n)
{
	size_t *pos = mem_alloc(n * sizeof(*pos)), p = lpack_first(lp);

	for (size_t i = 0; i < n; i++) {
		pos[i] = p;
		p = lpack_next(lp, lpack_next(lp, p));
	}
	return pos;
}

static void lp_emit(const unsigned char *lp, size_t fpos, hash_pair_fn *fn, void *arg)
{
	struct hash_str f, v;

	str_from_lp(&f, lp, fpos);
	str_from_lp(&v, lp, lpack_next(lp, fpos));
	fn(&f, &v, arg);
}

/* A field of a non-empty hashtable, each with about the same chance: one
 * of up to HASH_FAIR_SAMPLE fields read from a random run of buckets. */
static struct hash_node *ht_fair_random(struct dict *d)
{
	struct dict_node *s[HASH_FAIR_SAMPLE];
	size_t n = dict_sample(d, s, HASH_FAIR_SAMPLE);

	if (n == 0)
		return node_of(dict_random(d));
	return node_of(s[hash_rand_below(n)]);
}

static void ht_emit(const struct hash_node *n, hash_pair_fn *fn, void *arg)
{
	struct hash_str f, v;

	node_pair(n, &f, &v);
	fn(&f, &v, arg);
}

void hash_random_pairs(const struct hash *h, uint64_t count, hash_pair_fn *fn, void *arg)
{
	size_t n = hash_len(h);

	ASSERT(n > 0);
	if (h->enc == HASH_ENC_LISTPACK) {
		size_t *pos = lp_field_positions(h->lp, n);

		while (count--)
			lp_emit(h->lp, pos[hash_rand_below(n)], fn, arg);
		mem_free(pos);
		return;
	}
	while (count--)
		ht_emit(ht_fair_random(h->d), fn, arg);
}

/* A set of node addresses (open addressing, linear probing), to tell which
 * fields a run of random picks already returned. */
struct ptr_set {
	const void **slot;
	size_t mask;
};

static void ptr_set_init(struct ptr_set *s, uint64_t count)
{
	size_t cap = 16;

	while (cap < count * 2)
		cap <<= 1;
	s->slot = mem_calloc(cap, sizeof(*s->slot));
	s->mask = cap - 1;
}

/* Adds p; returns false if it was there already. */
static bool ptr_set_add(struct ptr_set *s, const void *p)
{
	uint64_t x = (uint64_t)(uintptr_t)p;
	size_t i;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	for (i = (size_t)x & s->mask; s->slot[i]; i = (i + 1) & s->mask) {
		if (s->slot[i] == p)
			return false;
	}
	s->slot[i] = p;
	return true;
}

/* Few out of many (count <= n / 3) from a hashtable: random picks, dropping
 * repeats; each pick is new with probability above 2/3. */
static void ht_random_distinct(struct dict *d, uint64_t count, hash_pair_fn *fn, void *arg)
{
	struct ptr_set seen;
	uint64_t got = 0;

	ptr_set_init(&seen, count);
	while (got < count) {
		const struct hash_node *node = ht_fair_random(d);

		if (!ptr_set_add(&seen, node))
			continue;
		ht_emit(node, fn, arg);
		got++;
	}
	mem_free(seen.slot);
}

void hash_random_distinct(const struct hash *h, uint64_t count, hash_pair_fn *fn, void *arg)
{
	uint64_t left = hash_len(h);
	struct hash_iter it;
	struct hash_str f, v;

	ASSERT(count < left);
	if (h->enc == HASH_ENC_HT && count * 3 <= left) {
		ht_random_distinct(h->d, count, fn, arg);
		return;
	}
	/* Selection sampling (Knuth's algorithm S) in one walk: the field at
	 * hand is taken with probability wanted / remaining, which makes every
	 * subset of count fields equally likely. A listpack always comes here:
	 * it is small, and a random pick in it would cost a walk anyway. */
	hash_iter_init(&it, h);
	while (count > 0 && hash_iter_next(&it, &f, &v)) {
		if (hash_rand_below(left) < count) {
			fn(&f, &v, arg);
			count--;
		}
		left--;
	}
}

/* ---- scan ---- */

struct scan_ctx {
	hash_pair_fn *fn;
	void *arg;
};

static void scan_node(struct dict_node *n, void *arg)
{
	const struct scan_ctx *sc = arg;

	ht_emit(node_of(n), sc->fn, sc->arg);
}

uint64_t hash_scan(const struct hash *h, uint64_t cursor, hash_pair_fn *fn, void *arg)
{
	struct scan_ctx sc = { .fn = fn, .arg = arg };

	if (h->enc == HASH_ENC_LISTPACK) {
		for (size_t pos = lpack_first(h->lp); pos != LPACK_END;
		     pos = lpack_next(h->lp, lpack_next(h->lp, pos)))
			lp_emit(h->lp, pos, fn, arg);
		return 0;
	}
	return dict_scan(h->d, cursor, scan_node, &sc);
}

/* ---- kv's view of a hash ---- */

static void ops_free(void *ptr)
{
	hash_destroy(ptr);
}

static void *ops_dup(const void *ptr)
{
	return hash_dup(ptr);
}

static const char *ops_enc_name(const void *ptr)
{
	return hash_enc_name(ptr);
}

static size_t ops_mem(const void *ptr)
{
	return hash_mem(ptr);
}

const struct kv_type_ops kv_hash_ops = {
	.free = ops_free,
	.dup = ops_dup,
	.enc_name = ops_enc_name,
	.mem = ops_mem,
};
