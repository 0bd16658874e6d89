/*
 * kv_dict.c - intrusive chained hash table with incremental rehash.
 *
 * A table is one or two arrays of bucket heads. Bucket counts are powers of
 * two, so a hash picks its bucket with a mask. tab[0] is the main table; while
 * a resize is in progress tab[1] is its target and every new node goes there.
 * Buckets of tab[0] below rehash_idx have already moved and are empty, so a
 * node is always in exactly one of the two tables and a lookup that checks
 * both is correct at any point of the rehash.
 *
 * Invariants:
 *   - size[t] is 0 or a power of two >= DICT_MIN_BUCKETS; tab[t] is NULL
 *     exactly when size[t] is 0.
 *   - tab[1] != NULL means a rehash is running; then tab[0][i] == NULL for
 *     every i < rehash_idx.
 *   - used[t] counts the nodes chained in tab[t].
 *
 * The table grows (to twice the nodes) when an insert finds as many nodes as
 * buckets, and shrinks only when dict_maybe_shrink() finds it under 1/8 full.
 * Inserts and deletes each move one bucket (visiting at most ten empty ones);
 * a growth rehash therefore finishes before its target table fills. Finds,
 * scans, random picks and iteration move nothing, which is what lets callers
 * hold a pointer from dict_find_ref() across them.
 *
 * Scan cursors count in reverse bit order: the cursor's low bits name a
 * bucket, and the counter is incremented from the top bit of the mask
 * downwards. Bucket b of a 2^k table holds exactly the nodes of buckets b,
 * b + 2^k, b + 2*2^k ... of any larger table, and in reverse order those
 * larger buckets all come right after one another. So whatever the table
 * size at each call, the set of hash values "already covered" is a prefix
 * in reverse order, and a node present for the whole scan cannot be skipped.
 * During a rehash a call visits one bucket of the smaller table and every
 * bucket of the larger table that maps onto it, and advances the cursor by
 * the smaller mask.
 *
 * dict_random() picks a random non-empty bucket, then a random node of its
 * chain, so nodes in long chains are picked a little less often; on a table
 * so sparse that random probes keep missing it walks from a random bucket to
 * the next chain. dict_sample() reads consecutive buckets from a random one,
 * jumping elsewhere after a long empty run. Both skip the moved-out part of
 * tab[0] during a rehash.
 *
 * dict_iter walks tab[0] then tab[1]. dict_iter_remove_current() unlinks
 * without moving anything, so the walk stays valid.
 *
 * The hash is SipHash-1-3 (Aumasson and Bernstein's construction with one
 * compression and three finalization rounds), keyed once per process by
 * dict_set_seed(). A keyed PRF means a client who does not know the key
 * cannot choose keys that collide, which plain multiplicative hashes do not
 * promise.
 */
#include "kv_dict.h"
#include "mem.h"
#include "util.h"

#include <string.h>

#define DICT_MIN_BUCKETS 4
/* Empty buckets a single rehash move may skip before giving up its turn. */
#define DICT_EMPTY_VISITS 10
/* Random bucket probes dict_random() tries before walking linearly. */
#define DICT_RANDOM_PROBES 32
/* SipHash-c-d round counts; overridable only to check against the reference
 * vectors of SipHash-2-4. */
#ifndef DICT_SIP_C_ROUNDS
#define DICT_SIP_C_ROUNDS 1
#define DICT_SIP_D_ROUNDS 3
#endif

/* Owned, like everything it points to, by one thread at a time. */
struct dict {
	const struct dict_ops *ops;	/* key accessor; borrowed */
	struct dict_node **tab[2];	/* bucket heads; [1] only while rehashing */
	size_t size[2];			/* buckets in tab[t], 0 or a power of two */
	size_t used[2];			/* nodes chained in tab[t] */
	size_t rehash_idx;		/* next tab[0] bucket to move */
	uint64_t rng;			/* state of dict_random()/dict_sample() */
};

/*
 * Hash key. Written once at start-up, before any thread hashes, then only
 * read; the default lets unit tests and tools hash without seeding.
 */
static uint64_t dict_k0 = 0x0706050403020100ULL;
static uint64_t dict_k1 = 0x0f0e0d0c0b0a0908ULL;

/* Gives each table created by a thread its own random stream. */
static _Thread_local uint64_t dict_rng_counter;

static inline uint64_t rotl64(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static inline uint64_t load_le64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static inline void sip_round(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = rotl64(v[1], 13);
	v[1] ^= v[0];
	v[0] = rotl64(v[0], 32);
	v[2] += v[3];
	v[3] = rotl64(v[3], 16);
	v[3] ^= v[2];
	v[0] += v[3];
	v[3] = rotl64(v[3], 21);
	v[3] ^= v[0];
	v[2] += v[1];
	v[1] = rotl64(v[1], 17);
	v[1] ^= v[2];
	v[2] = rotl64(v[2], 32);
}

uint64_t dict_hash(const char *key, size_t len)
{
	const unsigned char *p = (const unsigned char *)key;
	const unsigned char *end = p + (len & ~(size_t)7);
	uint64_t v[4], m;
	size_t rem = len & 7;

	/* The four constants spell "somepseudorandomlygeneratedbytes". */
	v[0] = dict_k0 ^ 0x736f6d6570736575ULL;
	v[1] = dict_k1 ^ 0x646f72616e646f6dULL;
	v[2] = dict_k0 ^ 0x6c7967656e657261ULL;
	v[3] = dict_k1 ^ 0x7465646279746573ULL;
	for (; p != end; p += 8) {
		m = load_le64(p);
		v[3] ^= m;
		for (int r = 0; r < DICT_SIP_C_ROUNDS; r++)
			sip_round(v);
		v[0] ^= m;
	}
	/* Last word: the leftover bytes, and the length mod 256 on top. */
	m = (uint64_t)len << 56;
	for (size_t i = 0; i < rem; i++)
		m |= (uint64_t)p[i] << (8 * i);
	v[3] ^= m;
	for (int r = 0; r < DICT_SIP_C_ROUNDS; r++)
		sip_round(v);
	v[0] ^= m;
	v[2] ^= 0xff;
	for (int r = 0; r < DICT_SIP_D_ROUNDS; r++)
		sip_round(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

void dict_set_seed(const uint8_t seed[16])
{
	dict_k0 = load_le64(seed);
	dict_k1 = load_le64(seed + 8);
}

/* splitmix64: a full-period 64-bit generator with a good output mix. */
static uint64_t dict_rand(struct dict *d)
{
	uint64_t z = (d->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A roughly uniform value in [0, n), n > 0. */
static size_t dict_rand_below(struct dict *d, size_t n)
{
	return (size_t)(((unsigned __int128)dict_rand(d) * n) >> 64);
}

static size_t dict_pow2_at_least(size_t n)
{
	size_t s = DICT_MIN_BUCKETS;

	while (s < n) {
		ASSERT(s <= SIZE_MAX / 2);
		s <<= 1;
	}
	return s;
}

static inline uint64_t dict_node_hash(const struct dict *d, const struct dict_node *n)
{
	const char *k;
	size_t kl;

	d->ops->key(n, &k, &kl);
	return dict_hash(k, kl);
}

static inline bool dict_node_has_key(const struct dict *d, const struct dict_node *n,
				     const char *key, size_t len)
{
	const char *k;
	size_t kl;

	d->ops->key(n, &k, &kl);
	return kl == len && memcmp(k, key, len) == 0;
}

struct dict *dict_create(const struct dict_ops *ops)
{
	struct dict *d = mem_calloc(1, sizeof(*d));

	d->ops = ops;
	d->rng = dict_k0 ^ (++dict_rng_counter * 0xd6e8feb86659fd93ULL);
	return d;
}

static void dict_free_tables(struct dict *d, void (*free_node)(struct dict_node *, void *),
			     void *arg)
{
	for (int t = 0; t < 2; t++) {
		if (free_node) {
			for (size_t i = 0; i < d->size[t]; i++) {
				struct dict_node *n = d->tab[t][i], *next;

				for (; n; n = next) {
					next = n->next;
					free_node(n, arg);
				}
			}
		}
		mem_free(d->tab[t]);
		d->tab[t] = NULL;
		d->size[t] = 0;
		d->used[t] = 0;
	}
	d->rehash_idx = 0;
}

void dict_destroy(struct dict *d, void (*free_node)(struct dict_node *, void *), void *arg)
{
	if (!d)
		return;
	dict_free_tables(d, free_node, arg);
	mem_free(d);
}

void dict_clear(struct dict *d, void (*free_node)(struct dict_node *, void *), void *arg)
{
	dict_free_tables(d, free_node, arg);
}

size_t dict_size(const struct dict *d)
{
	return d->used[0] + d->used[1];
}

size_t dict_buckets(const struct dict *d)
{
	return d->size[0] + d->size[1];
}

bool dict_is_rehashing(const struct dict *d)
{
	return d->tab[1] != NULL;
}

static void dict_start_rehash(struct dict *d, size_t buckets)
{
	DASSERT(!dict_is_rehashing(d));
	d->tab[1] = mem_calloc(buckets, sizeof(*d->tab[1]));
	d->size[1] = buckets;
	d->used[1] = 0;
	d->rehash_idx = 0;
}

static void dict_finish_rehash(struct dict *d)
{
	ASSERT(d->used[0] == 0);
	mem_free(d->tab[0]);
	d->tab[0] = d->tab[1];
	d->size[0] = d->size[1];
	d->used[0] = d->used[1];
	d->tab[1] = NULL;
	d->size[1] = 0;
	d->used[1] = 0;
	d->rehash_idx = 0;
}

/* Moves one chain of tab[0] into tab[1]. */
static void dict_move_bucket(struct dict *d, size_t idx)
{
	struct dict_node *n = d->tab[0][idx], *next;
	size_t mask1 = d->size[1] - 1;

	for (; n; n = next) {
		size_t b = (size_t)dict_node_hash(d, n) & mask1;

		next = n->next;
		n->next = d->tab[1][b];
		d->tab[1][b] = n;
		d->used[0]--;
		d->used[1]++;
	}
	d->tab[0][idx] = NULL;
}

bool dict_rehash_step(struct dict *d, int n)
{
	size_t empty_left = (size_t)(n > 0 ? n : 0) * DICT_EMPTY_VISITS;

	if (!dict_is_rehashing(d))
		return false;
	while (n-- > 0 && d->used[0] != 0) {
		/* used[0] != 0 means a non-empty bucket lies at or after
		 * rehash_idx, so this never runs off the table. */
		while (d->tab[0][d->rehash_idx] == NULL) {
			d->rehash_idx++;
			if (--empty_left == 0)
				return true;
		}
		dict_move_bucket(d, d->rehash_idx);
		d->rehash_idx++;
	}
	if (d->used[0] == 0) {
		dict_finish_rehash(d);
		return false;
	}
	return true;
}

bool dict_rehash_for(struct dict *d, int64_t us)
{
	int64_t start = util_monotonic_us();

	while (dict_rehash_step(d, 100)) {
		if (util_monotonic_us() - start >= us)
			return true;
	}
	return false;
}

void dict_maybe_shrink(struct dict *d)
{
	if (dict_is_rehashing(d) || d->size[0] <= DICT_MIN_BUCKETS)
		return;
	if (d->used[0] < d->size[0] / 8)
		dict_start_rehash(d, dict_pow2_at_least(d->used[0]));
}

/*
 * The link that points at the node with this key, and which table holds it.
 * Does no rehash work.
 */
static struct dict_node **dict_lookup(struct dict *d, const char *key, size_t len, int *table)
{
	uint64_t h;

	if (dict_size(d) == 0)
		return NULL;
	h = dict_hash(key, len);
	for (int t = 0; t < 2 && d->tab[t]; t++) {
		struct dict_node **link = &d->tab[t][(size_t)h & (d->size[t] - 1)];

		for (; *link; link = &(*link)->next) {
			if (dict_node_has_key(d, *link, key, len)) {
				if (table)
					*table = t;
				return link;
			}
		}
	}
	return NULL;
}

struct dict_node *dict_find(struct dict *d, const char *key, size_t len)
{
	struct dict_node **link = dict_lookup(d, key, len, NULL);

	return link ? *link : NULL;
}

struct dict_node **dict_find_ref(struct dict *d, const char *key, size_t len)
{
	return dict_lookup(d, key, len, NULL);
}

#ifdef STRATA_DEBUG
static bool dict_key_absent(struct dict *d, const struct dict_node *n)
{
	const char *k;
	size_t kl;

	d->ops->key(n, &k, &kl);
	return dict_lookup(d, k, kl, NULL) == NULL;
}
#endif

void dict_insert(struct dict *d, struct dict_node *n)
{
	int t;
	size_t b;

	DASSERT(dict_key_absent(d, n));

	if (dict_is_rehashing(d))
		dict_rehash_step(d, 1);
	if (!dict_is_rehashing(d)) {
		if (d->size[0] == 0) {
			d->tab[0] = mem_calloc(DICT_MIN_BUCKETS, sizeof(*d->tab[0]));
			d->size[0] = DICT_MIN_BUCKETS;
		} else if (d->used[0] >= d->size[0]) {
			dict_start_rehash(d, dict_pow2_at_least(d->used[0] + 1));
		}
	}
	t = dict_is_rehashing(d) ? 1 : 0;
	b = (size_t)dict_node_hash(d, n) & (d->size[t] - 1);
	n->next = d->tab[t][b];
	d->tab[t][b] = n;
	d->used[t]++;
}

struct dict_node *dict_remove(struct dict *d, const char *key, size_t len)
{
	struct dict_node **link, *n;
	int t = 0;

	if (dict_is_rehashing(d))
		dict_rehash_step(d, 1);
	link = dict_lookup(d, key, len, &t);
	if (!link)
		return NULL;
	n = *link;
	*link = n->next;
	n->next = NULL;
	d->used[t]--;
	return n;
}

void dict_remove_node(struct dict *d, struct dict_node *n)
{
	uint64_t h;

	if (dict_is_rehashing(d))
		dict_rehash_step(d, 1);
	h = dict_node_hash(d, n);
	for (int t = 0; t < 2 && d->tab[t]; t++) {
		struct dict_node **link = &d->tab[t][(size_t)h & (d->size[t] - 1)];

		for (; *link; link = &(*link)->next) {
			if (*link == n) {
				*link = n->next;
				n->next = NULL;
				d->used[t]--;
				return;
			}
		}
	}
	ASSERT(!"dict_remove_node: node not in table");
}

/* Reverses the bits of a 64-bit word. */
static uint64_t bit_reverse64(uint64_t v)
{
	v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
	v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
	v = ((v >> 4) & 0x0f0f0f0f0f0f0f0fULL) | ((v & 0x0f0f0f0f0f0f0f0fULL) << 4);
	return __builtin_bswap64(v);
}

/*
 * The cursor after v for a table with this mask: add one to the masked bits
 * read from the top bit down. Setting the unmasked bits first makes the carry
 * run through them into the mask, and clears them on the way.
 */
static uint64_t scan_advance(uint64_t v, uint64_t mask)
{
	v |= ~mask;
	v = bit_reverse64(v);
	v++;
	return bit_reverse64(v);
}

static void scan_bucket(struct dict_node *n, void (*fn)(struct dict_node *, void *), void *arg)
{
	struct dict_node *next;

	for (; n; n = next) {
		next = n->next;
		fn(n, arg);
	}
}

uint64_t dict_scan(struct dict *d, uint64_t cursor,
		   void (*fn)(struct dict_node *n, void *arg), void *arg)
{
	int small, large;
	uint64_t ms, ml;

	if (dict_size(d) == 0)
		return 0;
	if (!dict_is_rehashing(d)) {
		ms = d->size[0] - 1;
		scan_bucket(d->tab[0][cursor & ms], fn, arg);
		return scan_advance(cursor, ms);
	}
	small = d->size[0] <= d->size[1] ? 0 : 1;
	large = !small;
	ms = d->size[small] - 1;
	ml = d->size[large] - 1;
	scan_bucket(d->tab[small][cursor & ms], fn, arg);
	/* Every bucket of the larger table that folds onto that one. */
	for (uint64_t b = cursor & ms; b <= ml; b += ms + 1)
		scan_bucket(d->tab[large][b], fn, arg);
	return scan_advance(cursor, ms);
}

/*
 * Bucket i of the live range: while rehashing that is tab[0][rehash_idx..]
 * followed by all of tab[1], otherwise tab[0].
 */
static struct dict_node *dict_live_bucket(const struct dict *d, size_t i)
{
	if (!dict_is_rehashing(d))
		return d->tab[0][i];
	i += d->rehash_idx;
	if (i < d->size[0])
		return d->tab[0][i];
	return d->tab[1][i - d->size[0]];
}

struct dict_node *dict_random(struct dict *d)
{
	struct dict_node *head = NULL, *n;
	size_t range, i, len, pick;

	if (dict_size(d) == 0)
		return NULL;
	range = dict_is_rehashing(d) ? d->size[0] - d->rehash_idx + d->size[1] : d->size[0];
	for (int probe = 0; probe < DICT_RANDOM_PROBES && !head; probe++)
		head = dict_live_bucket(d, dict_rand_below(d, range));
	if (!head) {
		/* Sparse table: walk from a random bucket to the next chain. */
		i = dict_rand_below(d, range);
		while (!(head = dict_live_bucket(d, i)))
			i = i + 1 == range ? 0 : i + 1;
	}
	len = 0;
	for (n = head; n; n = n->next)
		len++;
	pick = dict_rand_below(d, len);
	for (n = head; pick--; n = n->next)
		;
	return n;
}

size_t dict_sample(struct dict *d, struct dict_node **out, size_t n)
{
	size_t total = dict_size(d), got = 0, empties = 0, steps, maxmask, pos;
	int ntab = dict_is_rehashing(d) ? 2 : 1;

	if (total == 0 || n == 0)
		return 0;
	if (n > total)
		n = total;
	maxmask = MAX(d->size[0], d->size[1]) - 1;
	steps = n * 10;
	pos = (size_t)dict_rand(d) & maxmask;
	while (got < n && steps-- > 0) {
		for (int t = 0; t < ntab && got < n; t++) {
			struct dict_node *c;

			/* Past this table's end, or already moved out of it. */
			if (pos >= d->size[t] || (t == 0 && ntab == 2 && pos < d->rehash_idx))
				continue;
			c = d->tab[t][pos];
			if (!c) {
				empties++;
				continue;
			}
			empties = 0;
			for (; c && got < n; c = c->next)
				out[got++] = c;
		}
		/* A long empty run: jump rather than crawl through it. */
		if (empties >= 5 && empties > n) {
			pos = (size_t)dict_rand(d) & maxmask;
			empties = 0;
		} else {
			pos = (pos + 1) & maxmask;
		}
	}
	if (got == 0)
		out[got++] = dict_random(d);
	return got;
}

void dict_iter_init(struct dict_iter *it, struct dict *d)
{
	it->d = d;
	it->table = 0;
	it->bucket = (size_t)-1;	/* the first advance wraps to bucket 0 */
	it->cur = NULL;
	it->next = NULL;
}

struct dict_node *dict_iter_next(struct dict_iter *it)
{
	struct dict *d = it->d;

	if (it->next) {
		it->cur = it->next;
		it->next = it->cur->next;
		return it->cur;
	}
	while (it->table < 2) {
		size_t b = it->bucket + 1;

		if (b >= d->size[it->table]) {
			it->table++;
			it->bucket = (size_t)-1;
			continue;
		}
		it->bucket = b;
		if (d->tab[it->table][b]) {
			it->cur = d->tab[it->table][b];
			it->next = it->cur->next;
			return it->cur;
		}
	}
	it->cur = NULL;
	return NULL;
}

void dict_iter_remove_current(struct dict_iter *it)
{
	struct dict *d = it->d;
	struct dict_node **link;

	ASSERT(it->cur != NULL);
	link = &d->tab[it->table][it->bucket];
	while (*link != it->cur)
		link = &(*link)->next;
	*link = it->cur->next;
	it->cur->next = NULL;
	it->cur = NULL;
	d->used[it->table]--;
}
