/*
 * blob_alloc.c - buddy allocator for the space of one blob block file.
 *
 * Units. Inside this file everything is counted in blocks (block = 1 <<
 * shift bytes); bytes appear only at the interface. A block of order k is
 * the 2^k blocks starting at index i << k, named (i, k); its buddy is
 * (i ^ 1, k) and its parent (i >> 1, k + 1). Orders run from 0 to max_order,
 * where 1 << max_order blocks is BLOB_ALLOC_MAX_EXTENT bytes.
 *
 * State. For every order k there are three bitmaps over the nblocks >> k
 * blocks of that order that lie wholly inside the capacity:
 *   free[k]   (i, k) is a free block;
 *   used[k]   (i, k) is a live extent, exactly as handed out or reserved;
 *   fresh[k]  (i, k) is free and has not been reported as a punch candidate.
 * Invariants (all verified by blob_alloc_check):
 *   - the free blocks and the live extents are disjoint and together tile
 *     [0, nblocks): each block of the file is in exactly one of them;
 *   - full coalescing: for k < max_order, (i, k) and (i ^ 1, k) are never
 *     both free; consequently every 2^k-aligned run of 2^k free blocks lies
 *     inside a single free block of order >= k (if it were tiled by smaller
 *     free blocks, the smallest of them would have a free buddy inside the
 *     run), so the free blocks are exactly the maximal aligned free runs;
 *   - fresh[k] is a subset of free[k];
 *   - nfree[k] counts free[k]; allocated is the sum of live extents and
 *     nblocks - allocated the sum of free blocks; unreported sums fresh.
 *
 * Each bitmap is hierarchical ("hbm"): level 0 holds the bits, and bit w of
 * level j + 1 says whether word w of level j is non-zero, up to a top level
 * of one word. Finding the lowest (or highest, or next) set bit walks down
 * from the top with one ctz per level; setting or clearing a bit touches the
 * levels above only when a word changes between zero and non-zero. With 64
 * children per summary bit the summaries add 1/63 to the bitmap, and a
 * bitmap of 2^36 bits has six levels. The three bitmaps of all orders come to
 * about 3 x 2 bits per block. Arrays grow by doubling as the capacity grows
 * (a file grown a little at a time does not copy its bitmaps each time) and
 * give memory back after a large shrink.
 *
 * Allocation of order k takes the smallest order j >= k with a free block
 * (best fit, keeps large blocks whole), its lowest free block (keeps data low
 * in the file, for truncation), and splits it: the upper halves at orders
 * j - 1 .. k become free, the lower block of order k is the extent. Free
 * merges with the buddy while the buddy is free, up to max_order. Both are
 * O(orders x levels). A buddy outside the capacity is never free (its bit
 * does not exist), so coalescing never reaches past the end of the file.
 *
 * Values. A value of N blocks is given S >= N blocks as at most m extents:
 * S is N rounded up to the finest multiple of 2^q such that S is the sum of
 * at most m blocks of order <= max_order (S >> max_order whole largest
 * extents plus one extent per set bit of the rest). The bound, for
 * N <= 2^max_order: let b1 > b2 > ... > bp be the set bits of N. If p <= m,
 * q = 0 and S = N. Otherwise let T = 2^b1 + ... + 2^b(m-1) and R = N - T;
 * R has top bit bm and at least one lower bit, so 2^bm < R < 2^(bm+1).
 * T + 2^(bm+1), which is N rounded up to a multiple of 2^(bm+1), has at most
 * m set bits, so q <= bm + 1 and S - N <= 2^(bm+1) - R < 2^bm. And
 * N = T + R > (2^(m-1) + ... + 2 + 1) 2^bm = (2^m - 1) 2^bm. Hence
 * S - N < N / (2^m - 1), i.e. S < 16/15 N for m = 4. In bytes, N < len /
 * block + 1, so S block / len < 16/15 (1 + block / len) <= 17/15 (1.1333)
 * whenever len >= 16 blocks: every value from 64 KiB up with 4 KiB blocks.
 * Above 2^max_order blocks the same argument applies to the remainder below
 * the whole largest extents when m is their count plus 4
 * (blob_alloc_extents_for), and the whole extents carry no waste.
 *
 * A value is allocated once, all or nothing, without undo: the extents are
 * taken largest first, and before taking anything the same best-fit choice
 * is simulated on a copy of the per-order free counts (taking a block of
 * order j for a request of order k removes one from count j and adds one to
 * each of counts k .. j - 1), which predicts exactly whether the real
 * allocation will find a block for every extent.
 *
 * Grow target. After the file grows to R + S blocks, R = the capacity
 * rounded up to the largest planned extent 2^K, placing the extents in
 * non-increasing size from R leaves each one aligned. So for every order k
 * the prefix of [R, R + S) covered by the extents of order >= k is a run of
 * free 2^k-aligned chunks, each inside a free block of order >= k (the
 * coalescing argument above); each earlier best-fit allocation of order
 * >= k removes exactly its own size from the free blocks of order >= k, so
 * when the turn of an extent of order k comes, at least its own size is
 * left there, and it is found.
 *
 * Punching. fresh marks free space that the caller may still hold on disk.
 * All space starts fresh (after a restart nobody knows what was punched), as
 * does space that is freed or grown. Reporting a block clears its mark.
 * Splitting a block gives its halves its mark (they are holes if it was
 * punched); merging with a buddy gives the union the OR of the marks, so a
 * merged block that contains anything unreported is reported again, whole
 * (punching a range that is partly a hole already is harmless).
 */
#include "blob_alloc.h"
#include "mem.h"
#include "util.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <string.h>

/* Levels of a hierarchical bitmap: 2^36 bits (the most blocks, at the
 * smallest block size and largest capacity) need six. */
#define HBM_LEVELS 7
#define HBM_NONE UINT64_MAX

static_assert(BLOB_ALLOC_MAX_EXTENT / BLOB_ALLOC_MIN_BLOCK ==
	      1ULL << (BLOB_ALLOC_ORDERS - 1), "orders span 4 KiB .. 1 GiB");

/* A bitmap with summary levels; owned by its allocator's thread. */
struct hbm {
	uint64_t nbits;			/* bits at level 0 */
	int nlevels;			/* levels in use; the top one is one word */
	uint64_t used[HBM_LEVELS];	/* words in use per level */
	uint64_t cap[HBM_LEVELS];	/* words allocated per level; words in
					 * [used, cap) are always zero */
	uint64_t *lv[HBM_LEVELS];	/* lv[j + 1] bit w == (lv[j][w] != 0) */
};

/* Every field is owned by the one thread that owns the block file. */
struct blob_alloc {
	unsigned shift;		/* log2 of the block size in bytes */
	unsigned max_order;	/* largest extent: 1 << max_order blocks */
	uint64_t nblocks;	/* capacity in blocks */
	uint64_t allocated;	/* blocks in live extents */
	uint64_t unreported;	/* blocks in free blocks marked fresh */
	uint64_t nfree[BLOB_ALLOC_ORDERS];	/* free blocks per order */
	struct hbm free[BLOB_ALLOC_ORDERS];	/* (i, k) is a free block */
	struct hbm fresh[BLOB_ALLOC_ORDERS];	/* free, not yet reported */
	struct hbm used[BLOB_ALLOC_ORDERS];	/* (i, k) is a live extent */
};

/* ---- hierarchical bitmap ---- */

/* Words per level for nbits bits; returns the number of levels. Level 0
 * always has a word, even for 0 bits, so that lookups need no special case. */
static int hbm_shape(uint64_t nbits, uint64_t used[HBM_LEVELS])
{
	uint64_t w = nbits ? (nbits + 63) / 64 : 1;
	int n = 0;

	used[n++] = w;
	while (w > 1) {
		w = (w + 63) / 64;
		ASSERT(n < HBM_LEVELS);
		used[n++] = w;
	}
	return n;
}

/* Makes level j hold at least words words: doubles when it grows, halves
 * when it is used at a quarter or less. New words are zero. */
static void hbm_level_reserve(struct hbm *h, int j, uint64_t words)
{
	uint64_t cap = h->cap[j];

	if (words > cap)
		cap = MAX(words, cap * 2);
	else if (words * 4 <= cap && cap > 8)
		cap = MAX(words * 2, 8);
	else
		return;
	h->lv[j] = mem_realloc(h->lv[j], cap * sizeof(uint64_t));
	if (cap > h->cap[j])
		memset(h->lv[j] + h->cap[j], 0, (cap - h->cap[j]) * sizeof(uint64_t));
	h->cap[j] = cap;
}

/* Sets the size to nbits. When shrinking, the bits at nbits and above must
 * already be clear; new bits are clear. */
static void hbm_resize(struct hbm *h, uint64_t nbits)
{
	uint64_t used[HBM_LEVELS], w;
	int n = hbm_shape(nbits, used), j;

	for (j = 0; j < n; j++)
		hbm_level_reserve(h, j, used[j]);
	for (j = n; j < h->nlevels; j++) {
		mem_free(h->lv[j]);
		h->lv[j] = NULL;
		h->cap[j] = 0;
		h->used[j] = 0;
	}
	for (j = 0; j < n; j++)
		h->used[j] = used[j];
	/* Summary levels that did not exist: build them from the level below,
	 * which is consistent (its lower part was the old top word). */
	for (j = MAX(h->nlevels, 1); j < n; j++)
		for (w = 0; w < used[j - 1]; w++)
			if (h->lv[j - 1][w])
				h->lv[j][w >> 6] |= 1ULL << (w & 63);
	h->nlevels = n;
	h->nbits = nbits;
}

static void hbm_destroy(struct hbm *h)
{
	int j;

	for (j = 0; j < HBM_LEVELS; j++)
		mem_free(h->lv[j]);
	memset(h, 0, sizeof(*h));
}

/* False for i outside the bitmap: a block past the capacity is not free. */
static bool hbm_test(const struct hbm *h, uint64_t i)
{
	return i < h->nbits && (h->lv[0][i >> 6] >> (i & 63) & 1);
}

static void hbm_set(struct hbm *h, uint64_t i)
{
	int j;

	ASSERT(i < h->nbits);
	for (j = 0; j < h->nlevels; j++) {
		uint64_t *w = &h->lv[j][i >> 6];
		uint64_t old = *w;

		*w = old | 1ULL << (i & 63);
		if (old)
			break;
		i >>= 6;
	}
}

static void hbm_clear(struct hbm *h, uint64_t i)
{
	int j;

	ASSERT(i < h->nbits);
	for (j = 0; j < h->nlevels; j++) {
		uint64_t *w = &h->lv[j][i >> 6];

		*w &= ~(1ULL << (i & 63));
		if (*w)
			break;
		i >>= 6;
	}
}

/* The lowest set bit, or HBM_NONE. */
static uint64_t hbm_first(const struct hbm *h)
{
	uint64_t i = 0;
	int j = h->nlevels - 1;

	if (!h->lv[j][0])
		return HBM_NONE;
	for (; j >= 0; j--)
		i = i << 6 | (uint64_t)__builtin_ctzll(h->lv[j][i]);
	return i;
}

/* The highest set bit, or HBM_NONE. */
static uint64_t hbm_last(const struct hbm *h)
{
	uint64_t i = 0;
	int j = h->nlevels - 1;

	if (!h->lv[j][0])
		return HBM_NONE;
	for (; j >= 0; j--)
		i = i << 6 | (uint64_t)(63 - __builtin_clzll(h->lv[j][i]));
	return i;
}

/* The lowest set bit >= from, or HBM_NONE: climbs while the rest of the
 * word at each level is empty, then descends along first bits. */
static uint64_t hbm_next(const struct hbm *h, uint64_t from)
{
	uint64_t pos = from, w, m, i;
	int j;

	for (j = 0; j < h->nlevels; j++) {
		w = pos >> 6;
		if (w >= h->used[j])
			return HBM_NONE;
		m = h->lv[j][w] & (~0ULL << (pos & 63));
		if (m) {
			i = w << 6 | (uint64_t)__builtin_ctzll(m);
			while (j-- > 0)
				i = i << 6 | (uint64_t)__builtin_ctzll(h->lv[j][i]);
			return i;
		}
		pos = w + 1;
	}
	return HBM_NONE;
}

static uint64_t hbm_bytes(const struct hbm *h)
{
	uint64_t n = 0;
	int j;

	for (j = 0; j < HBM_LEVELS; j++)
		n += h->cap[j] * sizeof(uint64_t);
	return n;
}

/* Why h is not a consistent bitmap of nbits bits, or NULL. */
static const char *hbm_why(const struct hbm *h, uint64_t nbits)
{
	uint64_t used[HBM_LEVELS], w, b, c, i;
	int n = hbm_shape(nbits, used), j;

	if (h->nbits != nbits || h->nlevels != n)
		return "bitmap size does not match the capacity";
	for (j = 0; j < n; j++) {
		if (h->used[j] != used[j] || h->cap[j] < used[j])
			return "bitmap level has the wrong size";
		for (w = used[j]; w < h->cap[j]; w++)
			if (h->lv[j][w])
				return "bitmap word beyond the used part is set";
	}
	if (nbits & 63 && h->lv[0][used[0] - 1] >> (nbits & 63))
		return "bitmap bit beyond the capacity is set";
	if (!nbits && h->lv[0][0])
		return "bitmap of an empty capacity has a bit set";
	for (j = 1; j < n; j++) {
		for (w = 0; w < used[j]; w++) {
			for (b = 0; b < 64; b++) {
				i = w << 6 | b;
				c = i < used[j - 1] && h->lv[j - 1][i];
				if ((h->lv[j][w] >> b & 1) != c)
					return "bitmap summary disagrees with the level below";
			}
		}
	}
	return NULL;
}

/* ---- free blocks ---- */

/* Removes free block (i, k); returns whether it was fresh. */
static bool free_del(struct blob_alloc *a, uint64_t i, unsigned k)
{
	bool fresh = hbm_test(&a->fresh[k], i);

	hbm_clear(&a->free[k], i);
	a->nfree[k]--;
	if (fresh) {
		hbm_clear(&a->fresh[k], i);
		a->unreported -= 1ULL << k;
	}
	return fresh;
}

/* Adds free block (i, k) without looking at its buddy (a split half, whose
 * buddy is being taken). */
static void free_add(struct blob_alloc *a, uint64_t i, unsigned k, bool fresh)
{
	hbm_set(&a->free[k], i);
	a->nfree[k]++;
	if (fresh) {
		hbm_set(&a->fresh[k], i);
		a->unreported += 1ULL << k;
	}
}

/* Adds free block (i, k), merging it with its free buddy at every order. */
static void free_merge(struct blob_alloc *a, uint64_t i, unsigned k, bool fresh)
{
	while (k < a->max_order && hbm_test(&a->free[k], i ^ 1)) {
		fresh |= free_del(a, i ^ 1, k);
		i >>= 1;
		k++;
	}
	free_add(a, i, k, fresh);
}

/* Adds the blocks [s, e) as free: maximal aligned blocks, merged. */
static void free_range(struct blob_alloc *a, uint64_t s, uint64_t e, bool fresh)
{
	unsigned k;

	while (s < e) {
		k = s ? (unsigned)__builtin_ctzll(s) : a->max_order;
		k = MIN(k, a->max_order);
		while ((1ULL << k) > e - s)
			k--;
		free_merge(a, s >> k, k, fresh);
		s += 1ULL << k;
	}
}

/* Takes a block of order k (one is known to exist at order k or above):
 * best fit, lowest address. Returns its index at order k. */
static uint64_t take(struct blob_alloc *a, unsigned k)
{
	unsigned j = k;
	uint64_t i;
	bool fresh;

	while (j <= a->max_order && !a->nfree[j])
		j++;
	ASSERT(j <= a->max_order);
	i = hbm_first(&a->free[j]);
	ASSERT(i != HBM_NONE);
	fresh = free_del(a, i, j);
	while (j > k) {
		j--;
		i <<= 1;
		free_add(a, i | 1, j, fresh);
	}
	hbm_set(&a->used[k], i);
	a->allocated += 1ULL << k;
	return i;
}

/* Marks (i, k) as a live extent if every block of it is free; it lies
 * inside the capacity. Returns 0 or -EEXIST. */
static int reserve_one(struct blob_alloc *a, uint64_t i, unsigned k)
{
	unsigned j;
	uint64_t p;
	bool fresh;

	/* By full coalescing, (i, k) is all free iff a free block of order
	 * >= k contains it. */
	for (j = k; j <= a->max_order; j++)
		if (hbm_test(&a->free[j], i >> (j - k)))
			break;
	if (j > a->max_order)
		return -EEXIST;
	p = i >> (j - k);
	fresh = free_del(a, p, j);
	while (j > k) {
		j--;
		p = i >> (j - k);
		free_add(a, p ^ 1, j, fresh);
	}
	hbm_set(&a->used[k], i);
	a->allocated += 1ULL << k;
	return 0;
}

static void release_one(struct blob_alloc *a, uint64_t i, unsigned k)
{
	ASSERT(hbm_test(&a->used[k], i));
	hbm_clear(&a->used[k], i);
	a->allocated -= 1ULL << k;
	free_merge(a, i, k, true);
}

/* Decodes a valid buddy block; returns false for anything else. Does not
 * look at the capacity. */
static bool extent_decode(const struct blob_alloc *a, const struct blob_extent *e,
			  uint64_t *i, unsigned *k)
{
	uint64_t nb;

	if (!e->len || e->len & ((1ULL << a->shift) - 1))
		return false;
	nb = e->len >> a->shift;
	if (nb & (nb - 1) || nb > 1ULL << a->max_order || e->off & (e->len - 1))
		return false;
	*k = (unsigned)__builtin_ctzll(nb);
	*i = e->off >> (a->shift + *k);
	return true;
}

static bool extent_inside(const struct blob_alloc *a, const struct blob_extent *e)
{
	uint64_t cap = a->nblocks << a->shift;

	return e->off <= cap && e->len <= cap - e->off;
}

static void resize_all(struct blob_alloc *a)
{
	unsigned k;

	for (k = 0; k <= a->max_order; k++) {
		hbm_resize(&a->free[k], a->nblocks >> k);
		hbm_resize(&a->fresh[k], a->nblocks >> k);
		hbm_resize(&a->used[k], a->nblocks >> k);
	}
}

/* ---- values ---- */

static uint64_t len_blocks(const struct blob_alloc *a, uint64_t len)
{
	return (len >> a->shift) + !!(len & ((1ULL << a->shift) - 1));
}

/* Rounds nb blocks up to the space of a value of at most max extents (see
 * the essay); sets *space and returns the number of extents, or -EFBIG. */
static int plan_round(const struct blob_alloc *a, uint64_t nb, int max, uint64_t *space)
{
	uint64_t mask = (1ULL << a->max_order) - 1, s, n;
	unsigned q;

	for (q = 0; q <= a->max_order; q++) {
		s = (nb + (1ULL << q) - 1) & ~((1ULL << q) - 1);
		n = (s >> a->max_order) + (uint64_t)__builtin_popcountll(s & mask);
		if (n <= (uint64_t)max) {
			*space = s;
			return (int)n;
		}
	}
	return -EFBIG;
}

/* Order of the largest extent of a planned space. */
static unsigned plan_top(const struct blob_alloc *a, uint64_t space)
{
	if (space >> a->max_order)
		return a->max_order;
	return 63 - (unsigned)__builtin_clzll(space);
}

/* Writes the extent lengths of space blocks, non-increasing; returns n. */
static int plan_fill(const struct blob_alloc *a, uint64_t space, struct blob_extent *out)
{
	uint64_t big = space >> a->max_order;
	int n = 0;
	unsigned k;

	while (big--)
		out[n++].len = 1ULL << (a->max_order + a->shift);
	for (k = a->max_order; k-- > 0;)
		if (space >> k & 1)
			out[n++].len = 1ULL << (k + a->shift);
	return n;
}

/* Whether best fit finds a block for each planned extent (non-increasing),
 * simulated on the free counts. */
static bool plan_fits(const struct blob_alloc *a, const struct blob_extent *e, int n)
{
	uint64_t cnt[BLOB_ALLOC_ORDERS];
	unsigned j, k;
	int x;

	memcpy(cnt, a->nfree, sizeof(cnt));
	for (x = 0; x < n; x++) {
		k = (unsigned)__builtin_ctzll(e[x].len) - a->shift;
		for (j = k; j <= a->max_order && !cnt[j]; j++)
			;
		if (j > a->max_order)
			return false;
		cnt[j]--;
		while (j > k)
			cnt[--j]++;
	}
	return true;
}

int blob_alloc_value(struct blob_alloc *a, uint64_t len, struct blob_extent *out,
		     int max_extents)
{
	uint64_t space;
	unsigned k;
	int n, x;

	if (!len || max_extents < 1)
		return -EINVAL;
	n = plan_round(a, len_blocks(a, len), max_extents, &space);
	if (n < 0)
		return n;
	plan_fill(a, space, out);
	if (!plan_fits(a, out, n))
		return -ENOSPC;
	for (x = 0; x < n; x++) {
		k = (unsigned)__builtin_ctzll(out[x].len) - a->shift;
		out[x].off = take(a, k) << (k + a->shift);
	}
	return n;
}

int blob_alloc_extents_for(uint64_t len)
{
	uint64_t n;

	if (len <= BLOB_ALLOC_MAX_EXTENT)
		return BLOB_ALLOC_EXTENTS;
	n = len / BLOB_ALLOC_MAX_EXTENT + !!(len % BLOB_ALLOC_MAX_EXTENT) + 3;
	return n > INT_MAX ? INT_MAX : (int)n;
}

int blob_alloc_grow_target(const struct blob_alloc *a, uint64_t len, int max_extents,
			   uint64_t *capacity)
{
	uint64_t space, top, base;
	int n;

	if (!len || max_extents < 1)
		return -EINVAL;
	n = plan_round(a, len_blocks(a, len), max_extents, &space);
	if (n < 0)
		return n;
	top = 1ULL << plan_top(a, space);
	base = (a->nblocks + top - 1) & ~(top - 1);
	if (space > (BLOB_ALLOC_MAX_CAPACITY >> a->shift) - base)
		return -EFBIG;
	*capacity = (base + space) << a->shift;
	return 0;
}

void blob_alloc_free(struct blob_alloc *a, const struct blob_extent *e, int n)
{
	uint64_t i;
	unsigned k;
	int x;

	ASSERT(n >= 0);
	for (x = 0; x < n; x++) {
		ASSERT(extent_decode(a, &e[x], &i, &k));
		ASSERT(extent_inside(a, &e[x]));
		release_one(a, i, k);
	}
}

int blob_alloc_reserve(struct blob_alloc *a, const struct blob_extent *e, int n)
{
	uint64_t i;
	unsigned k;
	int x, rc;

	if (n < 0)
		return -EINVAL;
	for (x = 0; x < n; x++)
		if (!extent_inside(a, &e[x]))
			return -ERANGE;
	for (x = 0; x < n; x++)
		if (!extent_decode(a, &e[x], &i, &k))
			return -EEXIST;
	for (x = 0; x < n; x++) {
		extent_decode(a, &e[x], &i, &k);
		rc = reserve_one(a, i, k);
		if (rc < 0) {
			while (x-- > 0) {
				extent_decode(a, &e[x], &i, &k);
				release_one(a, i, k);
			}
			return rc;
		}
	}
	return 0;
}

/* ---- capacity ---- */

int blob_alloc_create(uint64_t block, uint64_t capacity, struct blob_alloc **out)
{
	struct blob_alloc *a;
	int rc;

	if (block < BLOB_ALLOC_MIN_BLOCK || block > BLOB_ALLOC_MAX_EXTENT ||
	    block & (block - 1) || capacity & (block - 1))
		return -EINVAL;
	if (capacity > BLOB_ALLOC_MAX_CAPACITY)
		return -EFBIG;
	a = mem_calloc(1, sizeof(*a));
	a->shift = (unsigned)__builtin_ctzll(block);
	a->max_order = (unsigned)__builtin_ctzll(BLOB_ALLOC_MAX_EXTENT) - a->shift;
	resize_all(a);
	rc = blob_alloc_grow(a, capacity);
	ASSERT(rc == 0);
	*out = a;
	return 0;
}

void blob_alloc_destroy(struct blob_alloc *a)
{
	unsigned k;

	if (!a)
		return;
	for (k = 0; k < BLOB_ALLOC_ORDERS; k++) {
		hbm_destroy(&a->free[k]);
		hbm_destroy(&a->fresh[k]);
		hbm_destroy(&a->used[k]);
	}
	mem_free(a);
}

uint64_t blob_alloc_block(const struct blob_alloc *a)
{
	return 1ULL << a->shift;
}

uint64_t blob_alloc_capacity(const struct blob_alloc *a)
{
	return a->nblocks << a->shift;
}

int blob_alloc_grow(struct blob_alloc *a, uint64_t new_capacity)
{
	uint64_t old = a->nblocks;

	if (new_capacity & ((1ULL << a->shift) - 1) || new_capacity < old << a->shift)
		return -EINVAL;
	if (new_capacity > BLOB_ALLOC_MAX_CAPACITY)
		return -EFBIG;
	a->nblocks = new_capacity >> a->shift;
	resize_all(a);
	free_range(a, old, a->nblocks, true);
	return 0;
}

uint64_t blob_alloc_trim_point(const struct blob_alloc *a)
{
	uint64_t end = 0, i;
	unsigned k;

	for (k = 0; k <= a->max_order; k++) {
		i = hbm_last(&a->used[k]);
		if (i != HBM_NONE)
			end = MAX(end, (i + 1) << k);
	}
	return end << a->shift;
}

int blob_alloc_shrink(struct blob_alloc *a, uint64_t off)
{
	uint64_t nb = off >> a->shift, i, cut = 0;
	bool straddle = false, cut_fresh = false, fresh;
	unsigned k;

	if (off & ((1ULL << a->shift) - 1) || nb > a->nblocks ||
	    off < blob_alloc_trim_point(a))
		return -EINVAL;
	/* Everything from the trim point up is free blocks; drop those that
	 * reach nb or beyond. At most one of them starts below nb. */
	for (k = 0; k <= a->max_order; k++) {
		for (i = hbm_next(&a->free[k], nb >> k); i != HBM_NONE;
		     i = hbm_next(&a->free[k], i + 1)) {
			fresh = free_del(a, i, k);
			if (i << k < nb) {
				ASSERT(!straddle);
				straddle = true;
				cut = i << k;
				cut_fresh = fresh;
			}
		}
	}
	a->nblocks = nb;
	if (straddle)
		free_range(a, cut, nb, cut_fresh);
	resize_all(a);
	return 0;
}

/* ---- punching, stats, check ---- */

int blob_alloc_punch_candidates(struct blob_alloc *a, uint64_t min_len,
				struct blob_extent *out, int max)
{
	unsigned k, kmin = 0;
	uint64_t i;
	int n = 0;

	if (max < 0)
		return -EINVAL;
	if (min_len > BLOB_ALLOC_MAX_EXTENT)
		return 0;
	while ((1ULL << (kmin + a->shift)) < min_len)
		kmin++;
	for (k = a->max_order + 1; k-- > kmin && n < max;) {
		while (n < max && (i = hbm_first(&a->fresh[k])) != HBM_NONE) {
			hbm_clear(&a->fresh[k], i);
			a->unreported -= 1ULL << k;
			out[n].off = i << (k + a->shift);
			out[n].len = 1ULL << (k + a->shift);
			n++;
		}
	}
	return n;
}

void blob_alloc_stats(const struct blob_alloc *a, struct blob_alloc_stats *st)
{
	unsigned k;

	memset(st, 0, sizeof(*st));
	st->capacity = a->nblocks << a->shift;
	st->allocated = a->allocated << a->shift;
	st->free = st->capacity - st->allocated;
	st->unreported = a->unreported << a->shift;
	st->mem_bytes = sizeof(*a);
	for (k = 0; k <= a->max_order; k++) {
		st->free_by_order[k] = a->nfree[k];
		st->nfree_blocks += a->nfree[k];
		if (a->nfree[k])
			st->largest_free = 1ULL << (k + a->shift);
		st->mem_bytes += hbm_bytes(&a->free[k]) + hbm_bytes(&a->fresh[k]) +
				 hbm_bytes(&a->used[k]);
	}
	if (st->free)
		st->fragmentation = 1.0 - (double)st->largest_free /
				    (double)MIN(st->free, BLOB_ALLOC_MAX_EXTENT);
}

/* Marks blocks [s, s + n) in cover; false if one was already marked. */
static bool cover_mark(uint64_t *cover, uint64_t s, uint64_t n)
{
	uint64_t b;

	for (b = s; b < s + n; b++) {
		if (cover[b >> 6] >> (b & 63) & 1)
			return false;
		cover[b >> 6] |= 1ULL << (b & 63);
	}
	return true;
}

/* Every free block and live extent marked once in cover: no overlap. */
static const char *check_tiling(const struct blob_alloc *a)
{
	uint64_t *cover = mem_calloc(a->nblocks / 64 + 1, sizeof(uint64_t));
	const char *why = NULL;
	uint64_t w, m, i;
	unsigned k;

	for (k = 0; k <= a->max_order && !why; k++) {
		for (w = 0; w < a->free[k].used[0] && !why; w++) {
			m = a->free[k].lv[0][w] | a->used[k].lv[0][w];
			while (m && !why) {
				i = w << 6 | (uint64_t)__builtin_ctzll(m);
				m &= m - 1;
				if (!cover_mark(cover, i << k, 1ULL << k))
					why = "free blocks and live extents overlap";
			}
		}
	}
	mem_free(cover);
	return why;
}

const char *blob_alloc_check_why(const struct blob_alloc *a)
{
	uint64_t free_sum = 0, used_sum = 0, fresh_sum = 0, nfree, w, f, r, u;
	const char *why;
	unsigned k;

	if (a->max_order + a->shift != (unsigned)__builtin_ctzll(BLOB_ALLOC_MAX_EXTENT))
		return "orders do not match the block size";
	if (a->nblocks > BLOB_ALLOC_MAX_CAPACITY >> a->shift)
		return "capacity over the maximum";
	for (k = 0; k < BLOB_ALLOC_ORDERS; k++) {
		if (k > a->max_order) {
			if (a->nfree[k] || a->free[k].nlevels || a->fresh[k].nlevels ||
			    a->used[k].nlevels)
				return "state above the largest order";
			continue;
		}
		if ((why = hbm_why(&a->free[k], a->nblocks >> k)) ||
		    (why = hbm_why(&a->fresh[k], a->nblocks >> k)) ||
		    (why = hbm_why(&a->used[k], a->nblocks >> k)))
			return why;
		nfree = 0;
		for (w = 0; w < a->free[k].used[0]; w++) {
			f = a->free[k].lv[0][w];
			r = a->fresh[k].lv[0][w];
			u = a->used[k].lv[0][w];
			if (r & ~f)
				return "fresh mark on a block that is not free";
			if (f & u)
				return "block both free and live";
			if (k < a->max_order && (f & (f >> 1) & 0x5555555555555555ULL))
				return "two free buddies not coalesced";
			nfree += (uint64_t)__builtin_popcountll(f);
			free_sum += (uint64_t)__builtin_popcountll(f) << k;
			fresh_sum += (uint64_t)__builtin_popcountll(r) << k;
			used_sum += (uint64_t)__builtin_popcountll(u) << k;
		}
		if (nfree != a->nfree[k])
			return "free count of an order is wrong";
	}
	if (used_sum != a->allocated)
		return "allocated is not the sum of live extents";
	if (free_sum + used_sum != a->nblocks)
		return "free blocks and live extents do not add up to the capacity";
	if (fresh_sum != a->unreported)
		return "unreported is not the sum of fresh blocks";
	return check_tiling(a);
}

bool blob_alloc_check(const struct blob_alloc *a)
{
	return blob_alloc_check_why(a) == NULL;
}
