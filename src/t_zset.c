/*
 * t_zset.c - the sorted-set value in its two encodings.
 *
 * Order. Elements sort by score, then by the member's bytes compared with
 * memcmp (a prefix sorts first). Scores are never NaN: zset_add() refuses
 * one, and every score stored came through it. Members are unique.
 *
 * Listpack. A small set is one lpack holding member, score, member, score...
 * in that order. A score is stored as an integer when the double is exactly
 * an integer in +-2^62 (the lpack then keeps it in a few bytes), else as its
 * "%.17g" text, which strtod() reads back to the same double: the same
 * choice Redis makes, so ZSCAN shows the same text. Every operation is a
 * linear walk, which at <= 128 entries is faster than any pointer structure
 * and a fraction of its memory.
 *
 * Skiplist. A big set is a skiplist as in Pugh's paper with Redis's two
 * additions: a back pointer at level 0 (reverse walks), and a span on each
 * link, the number of level-0 steps the link jumps, so the rank of a node
 * is the sum of the spans on the path to it and the node at a rank is
 * found in O(log n). A link whose forward pointer is NULL keeps, as its
 * span, the number of nodes between its node and the end; the head's links
 * above the current level are reset when the level grows. Levels are drawn
 * with p = 1/4, up to 32. Each node is one allocation: header, links, then
 * the member's bytes. The node also embeds the dict_node of the member
 * index (a kv_dict keyed by member), so ZSCORE and the membership test of
 * ZADD are O(1) and the index costs no allocation of its own.
 *
 * Invariants of the skiplist: len equals the number of nodes and of index
 * entries; for every level i < level, the spans along level i add up to the
 * rank of each node reached; tail is the last node at level 0 and back
 * pointers mirror level 0's forward pointers; level >= 1 and the head has a
 * forward node at level - 1 unless the set is empty.
 *
 * Conversion. zset_add() turns a listpack into a skiplist before adding a
 * member that would pass zset-max-listpack-entries or whose length passes
 * zset-max-listpack-value (or that would make the lpack pass 1 GiB, far
 * below lpack's own 4 GiB limit). The way back is only zset_compact(),
 * which the store commands call on their result.
 */
#include "t_zset.h"

#include "cfg.h"
#include "kv_dict.h"
#include "mem.h"
#include "strutil.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ZSL_MAXLEVEL		32
#define ZSET_LP_MAX_BYTES	(1ul << 30)	/* stay far from lpack's 4 GiB */
#define ZSET_MEM_SAMPLES	64		/* nodes measured by zset_mem() */

struct zsl_node;

struct zsl_link {
	struct zsl_node *fwd;	/* next node at this level, or NULL */
	size_t span;		/* level-0 steps to fwd (to the end if NULL) */
};

struct zsl_node {
	struct dict_node dn;	/* member index link; first, so a dict node
				 * pointer is a zsl_node pointer */
	double score;
	struct zsl_node *back;	/* previous node at level 0; NULL for the first */
	size_t mlen;		/* member bytes, stored after lv[nlevel] */
	uint32_t nlevel;	/* links in lv[] */
	struct zsl_link lv[];
};

struct zsl {
	struct zsl_node *head;	/* sentinel: ZSL_MAXLEVEL links, no member */
	struct zsl_node *tail;	/* last node, or NULL if empty */
	size_t len;		/* nodes */
	int level;		/* levels in use, >= 1 */
	struct dict *dict;	/* member -> node (the nodes' dn) */
};

/* Exactly one of lp and sl is set. */
struct zset {
	unsigned char *lp;	/* listpack encoding */
	struct zsl *sl;		/* skiplist encoding */
};

/* ---- comparisons ---- */

static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0;

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static inline char *zn_member(const struct zsl_node *n)
{
	return (char *)&n->lv[n->nlevel];
}

/* <0, 0, >0 as node n sorts before, at, after (score, m). */
static int zn_cmp(const struct zsl_node *n, double score, const char *m, size_t mlen)
{
	if (n->score < score)
		return -1;
	if (n->score > score)
		return 1;
	return bytes_cmp(zn_member(n), n->mlen, m, mlen);
}

/* Compares two lex items, each a kind (ZSET_LEX_*) and, for a string, its
 * bytes: "-" is below everything but itself, "+" above everything but
 * itself. */
static int lex_cmp(uint8_t ka, const char *a, size_t alen, uint8_t kb, const char *b, size_t blen)
{
	if (ka == kb && ka != ZSET_LEX_STR)
		return 0;
	if (ka == ZSET_LEX_MIN || kb == ZSET_LEX_MAX)
		return -1;
	if (ka == ZSET_LEX_MAX || kb == ZSET_LEX_MIN)
		return 1;
	return bytes_cmp(a, alen, b, blen);
}

static bool lex_gte_min(const struct zset_lex_range *r, const char *s, size_t len)
{
	int c = lex_cmp(ZSET_LEX_STR, s, len, r->minkind, r->min, r->minlen);

	return r->minex ? c > 0 : c >= 0;
}

static bool lex_lte_max(const struct zset_lex_range *r, const char *s, size_t len)
{
	int c = lex_cmp(ZSET_LEX_STR, s, len, r->maxkind, r->max, r->maxlen);

	return r->maxex ? c < 0 : c <= 0;
}

/* True if no string can be in r. */
static bool lex_range_empty(const struct zset_lex_range *r)
{
	int c = lex_cmp(r->minkind, r->min, r->minlen, r->maxkind, r->max, r->maxlen);

	return c > 0 || (c == 0 && (r->minex || r->maxex));
}

static bool score_gte_min(const struct zset_range *r, double s)
{
	return r->minex ? s > r->min : s >= r->min;
}

static bool score_lte_max(const struct zset_range *r, double s)
{
	return r->maxex ? s < r->max : s <= r->max;
}

static bool score_range_empty(const struct zset_range *r)
{
	return r->min > r->max || (r->min == r->max && (r->minex || r->maxex));
}

bool zset_in_range(const struct zset_range *r, double score)
{
	return score_gte_min(r, score) && score_lte_max(r, score);
}

/* ---- parsing ---- */

/* One score bound: strtod over the whole text (Redis's zslParseRange reads
 * the argument as a C string, so leading spaces pass and the text ends at
 * its first NUL), NaN refused. */
static bool parse_bound(const char *s, size_t len, double *v, bool *ex)
{
	char small[128], *buf = small, *end;
	bool ok;

	*ex = false;
	if (len && s[0] == '(') {
		*ex = true;
		s++;
		len--;
	}
	if (len >= sizeof(small))
		buf = mem_alloc(len + 1);
	memcpy(buf, s, len);
	buf[len] = '\0';
	*v = strtod(buf, &end);
	ok = *end == '\0' && !isnan(*v);
	if (buf != small)
		mem_free(buf);
	return ok;
}

bool zset_parse_range(const char *min, size_t minlen, const char *max, size_t maxlen,
		      struct zset_range *r)
{
	return parse_bound(min, minlen, &r->min, &r->minex) &&
	       parse_bound(max, maxlen, &r->max, &r->maxex);
}

static bool parse_lex_item(const char *s, size_t len, const char **out, size_t *outlen,
			   uint8_t *kind, bool *ex)
{
	if (len == 0)
		return false;
	*out = s + 1;
	*outlen = len - 1;
	*kind = ZSET_LEX_STR;
	switch (s[0]) {
	case '+':
	case '-':
		if (len != 1)
			return false;
		*kind = s[0] == '+' ? ZSET_LEX_MAX : ZSET_LEX_MIN;
		*ex = true;
		return true;
	case '(':
		*ex = true;
		return true;
	case '[':
		*ex = false;
		return true;
	default:
		return false;
	}
}

bool zset_parse_lex_range(const char *min, size_t minlen, const char *max, size_t maxlen,
			  struct zset_lex_range *r)
{
	return parse_lex_item(min, minlen, &r->min, &r->minlen, &r->minkind, &r->minex) &&
	       parse_lex_item(max, maxlen, &r->max, &r->maxlen, &r->maxkind, &r->maxex);
}

/* ---- scores as listpack elements ---- */

int zset_format_score(char *buf, double score)
{
	/* Exactly an integer, and well inside long long: stored as one. */
	if (score >= -4611686018427387903.0 && score <= 4611686018427387903.0) {
		long long ll = (long long)score;

		if ((double)ll == score)
			return strutil_ll_to_str(buf, 32, ll);
	}
	if (isinf(score)) {
		strcpy(buf, score > 0 ? "inf" : "-inf");
		return (int)strlen(buf);
	}
	return snprintf(buf, 32, "%.17g", score);
}

static double text_score(const char *p, size_t len)
{
	char buf[128];

	if (len > sizeof(buf) - 1)
		len = sizeof(buf) - 1;
	memcpy(buf, p, len);
	buf[len] = '\0';
	return strtod(buf, NULL);
}

static double lp_score(const unsigned char *lp, size_t spos)
{
	struct lpack_val v;

	lpack_get(lp, spos, &v);
	return v.is_int ? (double)v.ll : text_score(v.p, v.len);
}

/* The member at pos, read into v. */
static void lp_member(const unsigned char *lp, size_t pos, struct lpack_val *v)
{
	lpack_get(lp, pos, v);
}

/* Position of member m, or LPACK_END. */
static size_t lp_find(const unsigned char *lp, const char *m, size_t mlen)
{
	size_t pos = lpack_first(lp);

	if (pos == LPACK_END)
		return LPACK_END;
	return lpack_find(lp, pos, m, mlen, 1);
}

/* Inserts (m, score), m absent, at its place in the order. */
static unsigned char *lp_insert(unsigned char *lp, const char *m, size_t mlen, double score)
{
	char sbuf[32];
	int slen = zset_format_score(sbuf, score);
	size_t pos = lpack_first(lp);

	while (pos != LPACK_END) {
		size_t spos = lpack_next(lp, pos);
		double s = lp_score(lp, spos);

		if (s > score)
			break;
		if (s == score) {
			struct lpack_val v;

			lp_member(lp, pos, &v);
			if (bytes_cmp(v.p, v.len, m, mlen) > 0)
				break;
		}
		pos = lpack_next(lp, spos);
	}
	lp = lpack_insert(lp, &pos, false, m, mlen);
	return lpack_insert(lp, &pos, true, sbuf, (size_t)slen);
}

/* Deletes the pair whose member is at pos. */
static unsigned char *lp_delete_pair(unsigned char *lp, size_t pos)
{
	lp = lpack_delete(lp, &pos);
	return lpack_delete(lp, &pos);
}

/* Moves a member position one pair forward or back; LPACK_END at the ends. */
static size_t lp_step(const unsigned char *lp, size_t pos, bool rev)
{
	if (rev) {
		pos = lpack_prev(lp, pos);
		return pos == LPACK_END ? LPACK_END : lpack_prev(lp, pos);
	}
	pos = lpack_next(lp, pos);
	return pos == LPACK_END ? LPACK_END : lpack_next(lp, pos);
}

static size_t lp_first_in_range(const unsigned char *lp, const struct zset_range *r)
{
	if (score_range_empty(r))
		return LPACK_END;
	for (size_t pos = lpack_first(lp); pos != LPACK_END; pos = lp_step(lp, pos, false)) {
		double s = lp_score(lp, lpack_next(lp, pos));

		if (score_gte_min(r, s))
			return score_lte_max(r, s) ? pos : LPACK_END;
	}
	return LPACK_END;
}

static size_t lp_last_in_range(const unsigned char *lp, const struct zset_range *r)
{
	size_t spos;

	if (score_range_empty(r))
		return LPACK_END;
	for (spos = lpack_last(lp); spos != LPACK_END;) {
		size_t pos = lpack_prev(lp, spos);
		double s = lp_score(lp, spos);

		if (score_lte_max(r, s))
			return score_gte_min(r, s) ? pos : LPACK_END;
		spos = lpack_prev(lp, pos);
	}
	return LPACK_END;
}

/* Redis's zzlIsInLexRange: the last member reaches min and the first one
 * does not pass max. Only a set of equal scores is in lex order, but on any
 * other the result must still be Redis's, so the same early test is made. */
static bool lp_lex_overlaps(const unsigned char *lp, const struct zset_lex_range *r)
{
	struct lpack_val v;
	size_t pos;

	if (lex_range_empty(r))
		return false;
	pos = lpack_seek(lp, -2);
	if (pos == LPACK_END)
		return false;
	lp_member(lp, pos, &v);
	if (!lex_gte_min(r, v.p, v.len))
		return false;
	lp_member(lp, lpack_first(lp), &v);
	return lex_lte_max(r, v.p, v.len);
}

static size_t lp_first_in_lex(const unsigned char *lp, const struct zset_lex_range *r)
{
	if (!lp_lex_overlaps(lp, r))
		return LPACK_END;
	for (size_t pos = lpack_first(lp); pos != LPACK_END; pos = lp_step(lp, pos, false)) {
		struct lpack_val v;

		lp_member(lp, pos, &v);
		if (lex_gte_min(r, v.p, v.len))
			return lex_lte_max(r, v.p, v.len) ? pos : LPACK_END;
	}
	return LPACK_END;
}

static size_t lp_last_in_lex(const unsigned char *lp, const struct zset_lex_range *r)
{
	size_t spos;

	if (!lp_lex_overlaps(lp, r))
		return LPACK_END;
	for (spos = lpack_last(lp); spos != LPACK_END;) {
		size_t pos = lpack_prev(lp, spos);
		struct lpack_val v;

		lp_member(lp, pos, &v);
		if (lex_lte_max(r, v.p, v.len))
			return lex_gte_min(r, v.p, v.len) ? pos : LPACK_END;
		spos = lpack_prev(lp, pos);
	}
	return LPACK_END;
}

/* ---- skiplist ---- */

static void zn_key(const struct dict_node *dn, const char **key, size_t *len)
{
	const struct zsl_node *n = (const struct zsl_node *)dn;

	*key = zn_member(n);
	*len = n->mlen;
}

static const struct dict_ops zsl_dict_ops = { .key = zn_key };

static _Thread_local uint64_t zsl_rng;

static uint64_t zsl_rand(void)
{
	uint64_t x = zsl_rng;

	if (unlikely(!x)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		x = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)(uintptr_t)&zsl_rng ^ 0x9e3779b97f4a7c15ull;
		if (!x)
			x = 1;
	}
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	zsl_rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* 1 + the number of times a 1/4 chance succeeds in a row: two random bits
 * per level, and 64 bits are enough for all 32 levels. */
static uint32_t zsl_random_level(void)
{
	uint64_t r = zsl_rand();
	uint32_t lvl = 1;

	while ((r & 3) == 0 && lvl < ZSL_MAXLEVEL) {
		lvl++;
		r >>= 2;
	}
	return lvl;
}

static struct zsl_node *zn_new(uint32_t nlevel, double score, const char *m, size_t mlen)
{
	struct zsl_node *n = mem_alloc(sizeof(*n) + nlevel * sizeof(struct zsl_link) + mlen);

	n->dn.next = NULL;
	n->score = score;
	n->back = NULL;
	n->mlen = mlen;
	n->nlevel = nlevel;
	if (mlen)
		memcpy(zn_member(n), m, mlen);
	return n;
}

static struct zsl *zsl_create(void)
{
	struct zsl *sl = mem_alloc(sizeof(*sl));

	sl->head = zn_new(ZSL_MAXLEVEL, 0, NULL, 0);
	for (int i = 0; i < ZSL_MAXLEVEL; i++) {
		sl->head->lv[i].fwd = NULL;
		sl->head->lv[i].span = 0;
	}
	sl->tail = NULL;
	sl->len = 0;
	sl->level = 1;
	sl->dict = dict_create(&zsl_dict_ops);
	return sl;
}

static void zsl_destroy(struct zsl *sl)
{
	struct zsl_node *n, *next;

	if (!sl)
		return;
	dict_destroy(sl->dict, NULL, NULL);
	for (n = sl->head->lv[0].fwd; n; n = next) {
		next = n->lv[0].fwd;
		mem_free(n);
	}
	mem_free(sl->head);
	mem_free(sl);
}

/* Links node n, whose member is not in the list, at its place. */
static void zsl_link(struct zsl *sl, struct zsl_node *n)
{
	struct zsl_node *update[ZSL_MAXLEVEL], *x = sl->head;
	size_t rank[ZSL_MAXLEVEL];
	int i, lvl = (int)n->nlevel;

	for (i = sl->level - 1; i >= 0; i--) {
		rank[i] = i == sl->level - 1 ? 0 : rank[i + 1];
		while (x->lv[i].fwd && zn_cmp(x->lv[i].fwd, n->score, zn_member(n), n->mlen) < 0) {
			rank[i] += x->lv[i].span;
			x = x->lv[i].fwd;
		}
		update[i] = x;
	}
	if (lvl > sl->level) {
		for (i = sl->level; i < lvl; i++) {
			rank[i] = 0;
			update[i] = sl->head;
			sl->head->lv[i].fwd = NULL;
			sl->head->lv[i].span = sl->len;
		}
		sl->level = lvl;
	}
	for (i = 0; i < lvl; i++) {
		n->lv[i].fwd = update[i]->lv[i].fwd;
		update[i]->lv[i].fwd = n;
		/* update[i] is rank[0] - rank[i] steps before n's predecessor. */
		n->lv[i].span = update[i]->lv[i].span - (rank[0] - rank[i]);
		update[i]->lv[i].span = rank[0] - rank[i] + 1;
	}
	for (i = lvl; i < sl->level; i++)
		update[i]->lv[i].span++;
	n->back = update[0] == sl->head ? NULL : update[0];
	if (n->lv[0].fwd)
		n->lv[0].fwd->back = n;
	else
		sl->tail = n;
	sl->len++;
}

/* For each level, the last node before (score, m) into update. */
static void zsl_find_update(const struct zsl *sl, double score, const char *m, size_t mlen,
			    struct zsl_node **update)
{
	struct zsl_node *x = sl->head;

	for (int i = sl->level - 1; i >= 0; i--) {
		while (x->lv[i].fwd && zn_cmp(x->lv[i].fwd, score, m, mlen) < 0)
			x = x->lv[i].fwd;
		update[i] = x;
	}
}

/* Unlinks x, given the update vector of its position. */
static void zsl_unlink(struct zsl *sl, struct zsl_node *x, struct zsl_node **update)
{
	for (int i = 0; i < sl->level; i++) {
		if (update[i]->lv[i].fwd == x) {
			update[i]->lv[i].span += x->lv[i].span - 1;
			update[i]->lv[i].fwd = x->lv[i].fwd;
		} else {
			update[i]->lv[i].span--;
		}
	}
	if (x->lv[0].fwd)
		x->lv[0].fwd->back = x->back;
	else
		sl->tail = x->back;
	while (sl->level > 1 && !sl->head->lv[sl->level - 1].fwd)
		sl->level--;
	sl->len--;
}

/* Adds a new member (absent) with a fresh node. */
static struct zsl_node *zsl_add(struct zsl *sl, double score, const char *m, size_t mlen)
{
	struct zsl_node *n = zn_new(zsl_random_level(), score, m, mlen);

	zsl_link(sl, n);
	dict_insert(sl->dict, &n->dn);
	return n;
}

/* Removes node n from the list and the index and frees it. */
static void zsl_remove(struct zsl *sl, struct zsl_node *n)
{
	struct zsl_node *update[ZSL_MAXLEVEL];

	zsl_find_update(sl, n->score, zn_member(n), n->mlen, update);
	ASSERT(update[0]->lv[0].fwd == n);
	zsl_unlink(sl, n, update);
	dict_remove_node(sl->dict, &n->dn);
	mem_free(n);
}

/* Gives node n a new score, moving it only if its place changes. */
static void zsl_rescore(struct zsl *sl, struct zsl_node *n, double score)
{
	struct zsl_node *update[ZSL_MAXLEVEL];
	const char *m = zn_member(n);

	if ((!n->back || zn_cmp(n->back, score, m, n->mlen) < 0) &&
	    (!n->lv[0].fwd || zn_cmp(n->lv[0].fwd, score, m, n->mlen) > 0)) {
		n->score = score;
		return;
	}
	zsl_find_update(sl, n->score, m, n->mlen, update);
	ASSERT(update[0]->lv[0].fwd == n);
	zsl_unlink(sl, n, update);
	n->score = score;
	zsl_link(sl, n);
}

/* 1-based rank of node n. */
static size_t zsl_rank_of(const struct zsl *sl, const struct zsl_node *n)
{
	const struct zsl_node *x = sl->head;
	size_t rank = 0;

	for (int i = sl->level - 1; i >= 0; i--) {
		while (x->lv[i].fwd && zn_cmp(x->lv[i].fwd, n->score, zn_member(n), n->mlen) <= 0) {
			rank += x->lv[i].span;
			x = x->lv[i].fwd;
		}
		if (x == n)
			return rank;
	}
	ASSERT(!"node not in its skiplist");
	return 0;
}

/* The node at 1-based rank, or NULL. */
static struct zsl_node *zsl_at(const struct zsl *sl, size_t rank)
{
	struct zsl_node *x = sl->head;
	size_t seen = 0;

	if (rank == 0 || rank > sl->len)
		return NULL;
	for (int i = sl->level - 1; i >= 0; i--) {
		while (x->lv[i].fwd && seen + x->lv[i].span <= rank) {
			seen += x->lv[i].span;
			x = x->lv[i].fwd;
		}
		if (seen == rank)
			return x;
	}
	return NULL;
}

static struct zsl_node *zsl_first(const struct zsl *sl)
{
	return sl->head->lv[0].fwd;
}

static struct zsl_node *zsl_first_in_range(const struct zsl *sl, const struct zset_range *r)
{
	struct zsl_node *x = sl->head;

	if (score_range_empty(r) || !sl->tail || !score_gte_min(r, sl->tail->score) ||
	    !score_lte_max(r, zsl_first(sl)->score))
		return NULL;
	for (int i = sl->level - 1; i >= 0; i--)
		while (x->lv[i].fwd && !score_gte_min(r, x->lv[i].fwd->score))
			x = x->lv[i].fwd;
	x = x->lv[0].fwd;
	return x && score_lte_max(r, x->score) ? x : NULL;
}

static struct zsl_node *zsl_last_in_range(const struct zsl *sl, const struct zset_range *r)
{
	struct zsl_node *x = sl->head;

	if (score_range_empty(r) || !sl->tail || !score_gte_min(r, sl->tail->score) ||
	    !score_lte_max(r, zsl_first(sl)->score))
		return NULL;
	for (int i = sl->level - 1; i >= 0; i--)
		while (x->lv[i].fwd && score_lte_max(r, x->lv[i].fwd->score))
			x = x->lv[i].fwd;
	return x != sl->head && score_gte_min(r, x->score) ? x : NULL;
}

static bool zn_gte_lex(const struct zset_lex_range *r, const struct zsl_node *n)
{
	return lex_gte_min(r, zn_member(n), n->mlen);
}

static bool zn_lte_lex(const struct zset_lex_range *r, const struct zsl_node *n)
{
	return lex_lte_max(r, zn_member(n), n->mlen);
}

static struct zsl_node *zsl_first_in_lex(const struct zsl *sl, const struct zset_lex_range *r)
{
	struct zsl_node *x = sl->head;

	if (lex_range_empty(r) || !sl->tail || !zn_gte_lex(r, sl->tail) ||
	    !zn_lte_lex(r, zsl_first(sl)))
		return NULL;
	for (int i = sl->level - 1; i >= 0; i--)
		while (x->lv[i].fwd && !zn_gte_lex(r, x->lv[i].fwd))
			x = x->lv[i].fwd;
	x = x->lv[0].fwd;
	return x && zn_lte_lex(r, x) ? x : NULL;
}

static struct zsl_node *zsl_last_in_lex(const struct zsl *sl, const struct zset_lex_range *r)
{
	struct zsl_node *x = sl->head;

	if (lex_range_empty(r) || !sl->tail || !zn_gte_lex(r, sl->tail) ||
	    !zn_lte_lex(r, zsl_first(sl)))
		return NULL;
	for (int i = sl->level - 1; i >= 0; i--)
		while (x->lv[i].fwd && zn_lte_lex(r, x->lv[i].fwd))
			x = x->lv[i].fwd;
	return x != sl->head && zn_gte_lex(r, x) ? x : NULL;
}

/* ---- the value ---- */

static bool fits_listpack(size_t n, size_t max_len)
{
	return n <= (size_t)MAX(cfg.zset_max_listpack_entries, 0) &&
	       (long long)max_len <= cfg.zset_max_listpack_value;
}

struct zset *zset_new(size_t size_hint, size_t max_len)
{
	struct zset *z = mem_alloc(sizeof(*z));

	if (fits_listpack(size_hint, max_len)) {
		z->lp = lpack_new();
		z->sl = NULL;
	} else {
		z->lp = NULL;
		z->sl = zsl_create();
	}
	return z;
}

void zset_free(struct zset *z)
{
	if (!z)
		return;
	lpack_free(z->lp);
	zsl_destroy(z->sl);
	mem_free(z);
}

struct zset *zset_dup(const struct zset *z)
{
	struct zset *d = mem_alloc(sizeof(*d));

	d->lp = NULL;
	d->sl = NULL;
	if (z->lp) {
		d->lp = lpack_dup(z->lp);
	} else {
		d->sl = zsl_create();
		for (const struct zsl_node *n = zsl_first(z->sl); n; n = n->lv[0].fwd)
			zsl_add(d->sl, n->score, zn_member(n), n->mlen);
	}
	return d;
}

size_t zset_len(const struct zset *z)
{
	return z->lp ? lpack_count(z->lp) / 2 : z->sl->len;
}

bool zset_is_listpack(const struct zset *z)
{
	return z->lp != NULL;
}

const char *zset_encoding(const struct zset *z)
{
	return z->lp ? "listpack" : "skiplist";
}

size_t zset_mem(const struct zset *z)
{
	const struct zsl_node *n;
	size_t bytes = mem_usable(z), sampled = 0, k = 0;

	if (z->lp)
		return bytes + mem_usable(z->lp);
	bytes += mem_usable(z->sl) + mem_usable(z->sl->head);
	bytes += dict_buckets(z->sl->dict) * sizeof(void *);
	for (n = zsl_first(z->sl); n && k < ZSET_MEM_SAMPLES; n = n->lv[0].fwd, k++)
		sampled += mem_usable(n);
	if (k)
		bytes += sampled / k * z->sl->len;
	return bytes;
}

void zset_to_skiplist(struct zset *z)
{
	struct zsl *sl;

	if (!z->lp)
		return;
	sl = zsl_create();
	for (size_t pos = lpack_first(z->lp); pos != LPACK_END;) {
		size_t spos = lpack_next(z->lp, pos);
		struct lpack_val v;

		lp_member(z->lp, pos, &v);
		zsl_add(sl, lp_score(z->lp, spos), v.p, v.len);
		pos = lpack_next(z->lp, spos);
	}
	lpack_free(z->lp);
	z->lp = NULL;
	z->sl = sl;
}

void zset_compact(struct zset *z)
{
	const struct zsl_node *n;
	unsigned char *lp;
	size_t bytes = 0;

	if (z->lp || !fits_listpack(z->sl->len, 0))
		return;
	for (n = zsl_first(z->sl); n; n = n->lv[0].fwd) {
		if ((long long)n->mlen > cfg.zset_max_listpack_value)
			return;
		bytes += n->mlen + 48;
	}
	if (bytes > ZSET_LP_MAX_BYTES)
		return;
	lp = lpack_new();
	for (n = zsl_first(z->sl); n; n = n->lv[0].fwd) {
		char sbuf[32];
		int slen = zset_format_score(sbuf, n->score);

		lp = lpack_append(lp, zn_member(n), n->mlen);
		lp = lpack_append(lp, sbuf, (size_t)slen);
	}
	zsl_destroy(z->sl);
	z->sl = NULL;
	z->lp = lp;
}

/* ---- members ---- */

/* Whether an existing member with score cur takes the new score s under
 * the GT/LT flags. */
static bool gt_lt_allows(unsigned in, double cur, double s)
{
	return !((in & ZSET_IN_LT) && s >= cur) && !((in & ZSET_IN_GT) && s <= cur);
}

int zset_add(struct zset *z, double score, const char *m, size_t mlen, unsigned in,
	     unsigned *out, double *newscore)
{
	double cur;

	*out = 0;
	if (isnan(score))
		return -EDOM;
	if (z->lp) {
		size_t pos = lp_find(z->lp, m, mlen);

		if (pos != LPACK_END) {
			if (in & ZSET_IN_NX) {
				*out = ZSET_OUT_NOP;
				return 0;
			}
			cur = lp_score(z->lp, lpack_next(z->lp, pos));
			if (in & ZSET_IN_INCR) {
				score += cur;
				if (isnan(score))
					return -EDOM;
			}
			if (!gt_lt_allows(in, cur, score)) {
				*out = ZSET_OUT_NOP;
				return 0;
			}
			if (newscore)
				*newscore = score;
			if (score != cur) {
				z->lp = lp_delete_pair(z->lp, pos);
				z->lp = lp_insert(z->lp, m, mlen, score);
				*out = ZSET_OUT_UPDATED;
			}
			return 0;
		}
		if (in & ZSET_IN_XX) {
			*out = ZSET_OUT_NOP;
			return 0;
		}
		if (fits_listpack(zset_len(z) + 1, mlen) &&
		    lpack_bytes(z->lp) + mlen + 64 <= ZSET_LP_MAX_BYTES) {
			z->lp = lp_insert(z->lp, m, mlen, score);
			if (newscore)
				*newscore = score;
			*out = ZSET_OUT_ADDED;
			return 0;
		}
		zset_to_skiplist(z);
	}

	struct zsl_node *n = (struct zsl_node *)dict_find(z->sl->dict, m, mlen);

	if (n) {
		if (in & ZSET_IN_NX) {
			*out = ZSET_OUT_NOP;
			return 0;
		}
		cur = n->score;
		if (in & ZSET_IN_INCR) {
			score += cur;
			if (isnan(score))
				return -EDOM;
		}
		if (!gt_lt_allows(in, cur, score)) {
			*out = ZSET_OUT_NOP;
			return 0;
		}
		if (newscore)
			*newscore = score;
		if (score != cur) {
			zsl_rescore(z->sl, n, score);
			*out = ZSET_OUT_UPDATED;
		}
		return 0;
	}
	if (in & ZSET_IN_XX) {
		*out = ZSET_OUT_NOP;
		return 0;
	}
	zsl_add(z->sl, score, m, mlen);
	if (newscore)
		*newscore = score;
	*out = ZSET_OUT_ADDED;
	return 0;
}

bool zset_score(const struct zset *z, const char *m, size_t mlen, double *score)
{
	double s;

	if (z->lp) {
		size_t pos = lp_find(z->lp, m, mlen);

		if (pos == LPACK_END)
			return false;
		s = lp_score(z->lp, lpack_next(z->lp, pos));
	} else {
		const struct zsl_node *n = (const struct zsl_node *)dict_find(z->sl->dict, m, mlen);

		if (!n)
			return false;
		s = n->score;
	}
	if (score)
		*score = s;
	return true;
}

bool zset_del(struct zset *z, const char *m, size_t mlen)
{
	if (z->lp) {
		size_t pos = lp_find(z->lp, m, mlen);

		if (pos == LPACK_END)
			return false;
		z->lp = lp_delete_pair(z->lp, pos);
		return true;
	}

	struct zsl_node *n = (struct zsl_node *)dict_find(z->sl->dict, m, mlen);

	if (!n)
		return false;
	zsl_remove(z->sl, n);
	return true;
}

long long zset_rank(const struct zset *z, const char *m, size_t mlen, bool rev)
{
	size_t len = zset_len(z), rank = 0;

	if (z->lp) {
		size_t pos;

		for (pos = lpack_first(z->lp); pos != LPACK_END; pos = lp_step(z->lp, pos, false)) {
			if (lpack_eq(z->lp, pos, m, mlen))
				break;
			rank++;
		}
		if (pos == LPACK_END)
			return -1;
	} else {
		const struct zsl_node *n = (const struct zsl_node *)dict_find(z->sl->dict, m, mlen);

		if (!n)
			return -1;
		rank = zsl_rank_of(z->sl, n) - 1;
	}
	return (long long)(rev ? len - 1 - rank : rank);
}

/* ---- reading ---- */

static void elem_from_lp(const unsigned char *lp, size_t pos, struct zset_elem *e)
{
	lp_member(lp, pos, &e->lv);
	e->m = e->lv.p;
	e->mlen = e->lv.len;
	e->score = lp_score(lp, lpack_next(lp, pos));
}

static void elem_from_node(const struct zsl_node *n, struct zset_elem *e)
{
	e->m = zn_member(n);
	e->mlen = n->mlen;
	e->score = n->score;
}

bool zset_at_rank(const struct zset *z, size_t rank, struct zset_elem *e)
{
	if (rank >= zset_len(z))
		return false;
	if (z->lp)
		elem_from_lp(z->lp, lpack_seek(z->lp, 2 * (long long)rank), e);
	else
		elem_from_node(zsl_at(z->sl, rank + 1), e);
	return true;
}

static void iter_init(struct zset_iter *it, const struct zset *z, bool rev, uint8_t bound)
{
	it->z = z;
	it->pos = LPACK_END;
	it->node = NULL;
	it->rev = rev;
	it->bound = bound;
}

void zset_iter_rank(struct zset_iter *it, const struct zset *z, size_t rank, bool rev)
{
	size_t len = zset_len(z);

	iter_init(it, z, rev, ZSET_IT_NONE);
	if (rank >= len)
		return;
	if (z->lp) {
		long long idx = rev ? -2 - 2 * (long long)rank : 2 * (long long)rank;

		it->pos = lpack_seek(z->lp, idx);
	} else if (rank == 0) {
		it->node = rev ? z->sl->tail : zsl_first(z->sl);
	} else {
		it->node = zsl_at(z->sl, rev ? len - rank : rank + 1);
	}
}

void zset_iter_score(struct zset_iter *it, const struct zset *z, const struct zset_range *r,
		     bool rev)
{
	iter_init(it, z, rev, ZSET_IT_SCORE);
	it->sr = *r;
	if (z->lp)
		it->pos = rev ? lp_last_in_range(z->lp, r) : lp_first_in_range(z->lp, r);
	else
		it->node = rev ? zsl_last_in_range(z->sl, r) : zsl_first_in_range(z->sl, r);
}

void zset_iter_lex(struct zset_iter *it, const struct zset *z, const struct zset_lex_range *r,
		   bool rev)
{
	iter_init(it, z, rev, ZSET_IT_LEX);
	it->lr = *r;
	if (z->lp)
		it->pos = rev ? lp_last_in_lex(z->lp, r) : lp_first_in_lex(z->lp, r);
	else
		it->node = rev ? zsl_last_in_lex(z->sl, r) : zsl_first_in_lex(z->sl, r);
}

void zset_iter_skip(struct zset_iter *it, size_t n)
{
	const struct zset *z = it->z;

	if (z->lp) {
		while (n-- && it->pos != LPACK_END)
			it->pos = lp_step(z->lp, it->pos, it->rev);
		return;
	}
	if (!it->node || n == 0)
		return;
	if (n < 16) {
		const struct zsl_node *x = it->node;

		while (n-- && x)
			x = it->rev ? x->back : x->lv[0].fwd;
		it->node = x;
		return;
	}
	/* A long skip goes through the ranks: O(log n) instead of n steps. */
	size_t rank = zsl_rank_of(z->sl, it->node);

	if (it->rev)
		it->node = rank > n ? zsl_at(z->sl, rank - n) : NULL;
	else
		it->node = n <= z->sl->len - rank ? zsl_at(z->sl, rank + n) : NULL;
}

static bool iter_in_bound(const struct zset_iter *it, const struct zset_elem *e)
{
	switch (it->bound) {
	case ZSET_IT_SCORE:
		return it->rev ? score_gte_min(&it->sr, e->score) : score_lte_max(&it->sr, e->score);
	case ZSET_IT_LEX:
		return it->rev ? lex_gte_min(&it->lr, e->m, e->mlen) :
				 lex_lte_max(&it->lr, e->m, e->mlen);
	default:
		return true;
	}
}

bool zset_iter_next(struct zset_iter *it, struct zset_elem *e)
{
	const struct zset *z = it->z;

	if (z->lp) {
		if (it->pos == LPACK_END)
			return false;
		elem_from_lp(z->lp, it->pos, e);
		if (!iter_in_bound(it, e)) {
			it->pos = LPACK_END;
			return false;
		}
		it->pos = lp_step(z->lp, it->pos, it->rev);
		return true;
	}

	const struct zsl_node *n = it->node;

	if (!n)
		return false;
	elem_from_node(n, e);
	if (!iter_in_bound(it, e)) {
		it->node = NULL;
		return false;
	}
	it->node = it->rev ? n->back : n->lv[0].fwd;
	return true;
}

size_t zset_count(const struct zset *z, const struct zset_range *r)
{
	const struct zsl_node *first, *last;

	if (z->lp) {
		struct zset_iter it;
		struct zset_elem e;
		size_t n = 0;

		zset_iter_score(&it, z, r, false);
		while (zset_iter_next(&it, &e))
			n++;
		return n;
	}
	first = zsl_first_in_range(z->sl, r);
	if (!first)
		return 0;
	last = zsl_last_in_range(z->sl, r);
	return zsl_rank_of(z->sl, last) - zsl_rank_of(z->sl, first) + 1;
}

size_t zset_lex_count(const struct zset *z, const struct zset_lex_range *r)
{
	const struct zsl_node *first, *last;

	if (z->lp) {
		struct zset_iter it;
		struct zset_elem e;
		size_t n = 0;

		zset_iter_lex(&it, z, r, false);
		while (zset_iter_next(&it, &e))
			n++;
		return n;
	}
	first = zsl_first_in_lex(z->sl, r);
	if (!first)
		return 0;
	last = zsl_last_in_lex(z->sl, r);
	return zsl_rank_of(z->sl, last) - zsl_rank_of(z->sl, first) + 1;
}

/* ---- range deletion ---- */

/* Deletes from node x (reached with update) while keep_going(x). */
static size_t zsl_delete_run(struct zsl *sl, struct zsl_node *x, struct zsl_node **update,
			     bool (*in)(const struct zsl_node *, const void *), const void *arg,
			     size_t max)
{
	size_t n = 0;

	while (x && n < max && in(x, arg)) {
		struct zsl_node *next = x->lv[0].fwd;

		zsl_unlink(sl, x, update);
		dict_remove_node(sl->dict, &x->dn);
		mem_free(x);
		n++;
		x = next;
	}
	dict_maybe_shrink(sl->dict);
	return n;
}

static bool node_lte_max(const struct zsl_node *x, const void *arg)
{
	return score_lte_max(arg, x->score);
}

static bool node_lte_lex(const struct zsl_node *x, const void *arg)
{
	return zn_lte_lex(arg, x);
}

static bool node_any(const struct zsl_node *x, const void *arg)
{
	(void)x;
	(void)arg;
	return true;
}

/* Deletes the pairs from pair index first while the element at pos stays
 * in the bound (tested by the iterator's rule). */
static size_t lp_delete_bounded(struct zset *z, const struct zset_iter *proto, size_t pos)
{
	struct zset_iter it = *proto;
	struct zset_elem e;
	size_t first = 0, n = 0;

	if (pos == LPACK_END)
		return 0;
	for (size_t p = lpack_first(z->lp); p != pos; p = lp_step(z->lp, p, false))
		first++;
	it.pos = pos;
	while (zset_iter_next(&it, &e))
		n++;
	z->lp = lpack_delete_range(z->lp, 2 * (long long)first, 2 * n);
	return n;
}

size_t zset_del_rank(struct zset *z, size_t start, size_t end)
{
	struct zsl_node *update[ZSL_MAXLEVEL], *x;
	size_t seen = 0;

	ASSERT(start <= end && end < zset_len(z));
	if (z->lp) {
		z->lp = lpack_delete_range(z->lp, 2 * (long long)start, 2 * (end - start + 1));
		return end - start + 1;
	}
	/* update[i]: the last node at level i whose rank is <= start (0-based
	 * start is the 1-based rank of the node before the first to go). */
	x = z->sl->head;
	for (int i = z->sl->level - 1; i >= 0; i--) {
		while (x->lv[i].fwd && seen + x->lv[i].span <= start) {
			seen += x->lv[i].span;
			x = x->lv[i].fwd;
		}
		update[i] = x;
	}
	return zsl_delete_run(z->sl, x->lv[0].fwd, update, node_any, NULL, end - start + 1);
}

size_t zset_del_range(struct zset *z, const struct zset_range *r)
{
	struct zsl_node *update[ZSL_MAXLEVEL], *x;

	if (z->lp) {
		struct zset_iter it;

		iter_init(&it, z, false, ZSET_IT_SCORE);
		it.sr = *r;
		return lp_delete_bounded(z, &it, lp_first_in_range(z->lp, r));
	}
	if (!zsl_first_in_range(z->sl, r))
		return 0;
	x = z->sl->head;
	for (int i = z->sl->level - 1; i >= 0; i--) {
		while (x->lv[i].fwd && !score_gte_min(r, x->lv[i].fwd->score))
			x = x->lv[i].fwd;
		update[i] = x;
	}
	return zsl_delete_run(z->sl, x->lv[0].fwd, update, node_lte_max, r, SIZE_MAX);
}

size_t zset_del_lex(struct zset *z, const struct zset_lex_range *r)
{
	struct zsl_node *update[ZSL_MAXLEVEL], *x;

	if (z->lp) {
		struct zset_iter it;

		iter_init(&it, z, false, ZSET_IT_LEX);
		it.lr = *r;
		return lp_delete_bounded(z, &it, lp_first_in_lex(z->lp, r));
	}
	/* No early range test here: Redis's skiplist path has none, and on a
	 * set of mixed scores that changes what is deleted. */
	x = z->sl->head;
	for (int i = z->sl->level - 1; i >= 0; i--) {
		while (x->lv[i].fwd && !zn_gte_lex(r, x->lv[i].fwd))
			x = x->lv[i].fwd;
		update[i] = x;
	}
	return zsl_delete_run(z->sl, x->lv[0].fwd, update, node_lte_lex, r, SIZE_MAX);
}

/* ---- scan ---- */

struct scan_arg {
	void (*fn)(const char *m, size_t mlen, const char *s, size_t slen, void *arg);
	void *arg;
};

static void scan_node(struct dict_node *dn, void *arg)
{
	const struct zsl_node *n = (const struct zsl_node *)dn;
	struct scan_arg *a = arg;
	char buf[32];
	int len;

	if (isinf(n->score)) {
		strcpy(buf, n->score > 0 ? "inf" : "-inf");
		len = (int)strlen(buf);
	} else {
		len = snprintf(buf, sizeof(buf), "%.17g", n->score);
	}
	a->fn(zn_member(n), n->mlen, buf, (size_t)len, a->arg);
}

uint64_t zset_scan(const struct zset *z, uint64_t cursor,
		   void (*fn)(const char *m, size_t mlen, const char *s, size_t slen, void *arg),
		   void *arg)
{
	struct scan_arg a = { fn, arg };

	if (z->sl)
		return dict_scan(z->sl->dict, cursor, scan_node, &a);
	for (size_t pos = lpack_first(z->lp); pos != LPACK_END;) {
		size_t spos = lpack_next(z->lp, pos);
		struct lpack_val m, s;

		lp_member(z->lp, pos, &m);
		lpack_get(z->lp, spos, &s);
		fn(m.p, m.len, s.p, s.len, arg);
		pos = lpack_next(z->lp, spos);
	}
	return 0;
}

/* ---- accumulator ---- */

void zset_accumulate(struct zset *z, const char *m, size_t mlen, double score, int agg)
{
	struct zsl_node *n;
	double v;

	zset_to_skiplist(z);
	n = (struct zsl_node *)dict_find(z->sl->dict, m, mlen);
	if (!n) {
		zsl_add(z->sl, score, m, mlen);
		return;
	}
	v = n->score;
	switch (agg) {
	case ZSET_AGG_MIN:
		v = score < v ? score : v;
		break;
	case ZSET_AGG_MAX:
		v = score > v ? score : v;
		break;
	default:
		v += score;
		if (isnan(v))
			v = 0;
		break;
	}
	/* Bit equality, so that -0 + 0 = 0 replaces a -0 as Redis's sum does. */
	if (memcmp(&v, &n->score, sizeof(v)) != 0)
		zsl_rescore(z->sl, n, v);
}

/* ---- kv type table ---- */

static void zset_ops_free(void *ptr)
{
	zset_free(ptr);
}

static void *zset_ops_dup(const void *ptr)
{
	return zset_dup(ptr);
}

static const char *zset_ops_enc(const void *ptr)
{
	return zset_encoding(ptr);
}

static size_t zset_ops_mem(const void *ptr)
{
	return zset_mem(ptr);
}

const struct kv_type_ops kv_zset_ops = {
	.free = zset_ops_free,
	.dup = zset_ops_dup,
	.enc_name = zset_ops_enc,
	.mem = zset_ops_mem,
};
