/*
 * t_zset.h - the sorted-set value: members (byte strings, unique) ordered by
 * a double score, ties broken by the member's bytes (memcmp, then length).
 *
 * Two encodings, as in Redis, and OBJECT ENCODING names them the same way:
 *
 *   "listpack"  an lpack of member,score,member,score... in order; used
 *               while the set has at most cfg.zset_max_listpack_entries
 *               members of at most cfg.zset_max_listpack_value bytes.
 *   "skiplist"  a skiplist whose links carry spans (O(log n) rank and
 *               by-rank access) plus a kv_dict member -> node index
 *               (O(1) ZSCORE).
 *
 * A set is converted to a skiplist by zset_add() when it outgrows the
 * limits; it goes back to a listpack only through zset_compact() (the
 * store commands do that with their result, as Redis does).
 *
 * Ranks are 0-based from the lowest score. Views of members handed out
 * (struct zset_elem) stay valid until the set is next changed.
 *
 * Not thread safe: a value belongs to the shard that owns its key. Memory
 * goes through mem_* (accounted).
 */
#ifndef STRATA_T_ZSET_H
#define STRATA_T_ZSET_H

#include "kv.h"
#include "lpack.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct zset;

/* The kv type table of sorted sets (free, dup, encoding name, memory). */
extern const struct kv_type_ops kv_zset_ops;

/* ---- score and lexicographic ranges ---- */

/* min..max, each bound inclusive unless its *ex flag is set. */
struct zset_range {
	double min, max;
	bool minex, maxex;
};

/* A bound of a lex range: "-" (below everything), "+" (above everything),
 * or a string, inclusive ("[foo") or exclusive ("(foo"). */
#define ZSET_LEX_STR	0
#define ZSET_LEX_MIN	1	/* "-" */
#define ZSET_LEX_MAX	2	/* "+" */
struct zset_lex_range {
	const char *min, *max;	/* bound bytes (after '[' or '('); views of the
				 * parsed arguments, borrowed */
	size_t minlen, maxlen;
	uint8_t minkind, maxkind; /* ZSET_LEX_* */
	bool minex, maxex;
};

/* Parses ZRANGEBYSCORE-style bounds ("1.5", "(1.5", "-inf", "+inf") with
 * Redis's rules (strtod over the whole argument; NaN refused). Returns false
 * if either is invalid ("min or max is not a float"). */
bool zset_parse_range(const char *min, size_t minlen, const char *max, size_t maxlen,
		      struct zset_range *r);
/* Parses ZRANGEBYLEX-style bounds; r borrows views of min and max. Returns
 * false if either is invalid ("min or max not valid string range item"). */
bool zset_parse_lex_range(const char *min, size_t minlen, const char *max, size_t maxlen,
			  struct zset_lex_range *r);
/* True if score lies in r. */
bool zset_in_range(const struct zset_range *r, double score);

/* ---- the value ---- */

/* A new empty set, in the encoding Redis would choose for a set about to
 * receive size_hint members of at most max_len bytes: a listpack when both
 * are within the limits, else a skiplist. */
struct zset *zset_new(size_t size_hint, size_t max_len);
/* Frees z; NULL is accepted. */
void zset_free(struct zset *z);
/* A deep copy, in the same encoding. */
struct zset *zset_dup(const struct zset *z);
size_t zset_len(const struct zset *z);
bool zset_is_listpack(const struct zset *z);
/* "listpack" or "skiplist". */
const char *zset_encoding(const struct zset *z);
/* Bytes allocated for the value (estimated from a sample of nodes for a big
 * skiplist, as Redis's MEMORY USAGE does). */
size_t zset_mem(const struct zset *z);
/* Converts a listpack set to a skiplist (no-op if it is one already). */
void zset_to_skiplist(struct zset *z);
/* Converts a skiplist back to a listpack if it is within both limits (no-op
 * otherwise, or if it is a listpack). */
void zset_compact(struct zset *z);

/* ---- members ---- */

/* zset_add() input flags (ZADD options). */
#define ZSET_IN_INCR	0x01	/* add score to the current one (0 if new) */
#define ZSET_IN_NX	0x02	/* only add new members */
#define ZSET_IN_XX	0x04	/* only update existing members */
#define ZSET_IN_GT	0x08	/* update only if the new score is greater */
#define ZSET_IN_LT	0x10	/* update only if the new score is less */
/* zset_add() output flags. */
#define ZSET_OUT_ADDED		0x01	/* the member was new */
#define ZSET_OUT_UPDATED	0x02	/* its score changed */
#define ZSET_OUT_NOP		0x04	/* nothing done because of NX/XX/GT/LT */

/*
 * Adds member m with score, or updates its score, under the ZSET_IN_* rules
 * of Redis's zsetAdd. *out gets ZSET_OUT_* (none if a member was re-added
 * with its own score). When newscore is not NULL it gets the member's score
 * after the call (set whenever the member was added or its score was
 * decided, i.e. unless ZSET_OUT_NOP). Returns 0, or -EDOM when the score is
 * NaN or an INCR makes it NaN (nothing is changed then). May convert a
 * listpack to a skiplist. m is copied.
 */
int zset_add(struct zset *z, double score, const char *m, size_t mlen, unsigned in,
	     unsigned *out, double *newscore);
/* True if m is a member; its score goes to *score (if not NULL). */
bool zset_score(const struct zset *z, const char *m, size_t mlen, double *score);
/* Removes m; returns whether it was a member. */
bool zset_del(struct zset *z, const char *m, size_t mlen);
/* The 0-based rank of m from the lowest score (from the highest with rev),
 * or -1 if m is not a member. */
long long zset_rank(const struct zset *z, const char *m, size_t mlen, bool rev);

/* ---- reading elements ---- */

/* One element as read: m/mlen view the member (in the set or in lv.buf),
 * valid until the set changes. */
struct zset_elem {
	const char *m;		/* the member's bytes (a view) */
	size_t mlen;		/* their number */
	double score;		/* the member's score */
	struct lpack_val lv;	/* private: holds a listpack member */
};

/* The element at 0-based rank (from the lowest); false if out of range.
 * O(log n) for a skiplist, O(n) for a listpack. */
bool zset_at_rank(const struct zset *z, size_t rank, struct zset_elem *e);

/* Walks elements in order (or reverse order), optionally bounded by a
 * score or lex range. The set must not change during the walk. */
struct zset_iter {
	const struct zset *z;
	size_t pos;			/* listpack: offset of the member, or LPACK_END */
	const void *node;		/* skiplist: current node, or NULL */
	bool rev;			/* walking from high to low */
	uint8_t bound;			/* ZSET_IT_* */
	struct zset_range sr;		/* ZSET_IT_SCORE: the range (a copy) */
	struct zset_lex_range lr;	/* ZSET_IT_LEX: the range (views borrowed) */
};
#define ZSET_IT_NONE	0
#define ZSET_IT_SCORE	1
#define ZSET_IT_LEX	2

/* Starts at 0-based rank counted from the walk's start (the lowest score,
 * or the highest with rev); past the end the walk is empty. */
void zset_iter_rank(struct zset_iter *it, const struct zset *z, size_t rank, bool rev);
/* Starts at the first element of r (the last with rev); the walk ends at
 * the first element out of r. r is copied. */
void zset_iter_score(struct zset_iter *it, const struct zset *z, const struct zset_range *r,
		     bool rev);
/* The same with a lex range; r's views must outlive the walk. */
void zset_iter_lex(struct zset_iter *it, const struct zset *z, const struct zset_lex_range *r,
		   bool rev);
/* Skips n elements without testing the bound (LIMIT's offset). */
void zset_iter_skip(struct zset_iter *it, size_t n);
/* Reads the current element into e and advances; false when the walk is
 * over (end of the set, or out of the bound). */
bool zset_iter_next(struct zset_iter *it, struct zset_elem *e);

/* Elements in a score range and in a lex range. */
size_t zset_count(const struct zset *z, const struct zset_range *r);
size_t zset_lex_count(const struct zset *z, const struct zset_lex_range *r);

/* Deletes ranks start..end (0-based, inclusive, start <= end < len), the
 * elements in a score range, or in a lex range; each returns how many were
 * deleted. */
size_t zset_del_rank(struct zset *z, size_t start, size_t end);
size_t zset_del_range(struct zset *z, const struct zset_range *r);
size_t zset_del_lex(struct zset *z, const struct zset_lex_range *r);

/*
 * One step of ZSCAN. A listpack is returned whole and the next cursor is 0;
 * a skiplist is scanned through its member index with the dict's cursor
 * (dict_scan()'s guarantees). fn gets each member and its score as text:
 * the stored text for a listpack, "%.17g" (or an integer) for a skiplist,
 * as Redis replies them. fn must not change z.
 */
uint64_t zset_scan(const struct zset *z, uint64_t cursor,
		   void (*fn)(const char *m, size_t mlen, const char *s, size_t slen, void *arg),
		   void *arg);

/* ---- ZUNION's accumulator ---- */

#define ZSET_AGG_SUM	0
#define ZSET_AGG_MIN	1
#define ZSET_AGG_MAX	2

/* Adds m with score if absent, else combines score with its current one
 * (sum, min or max; a NaN sum becomes 0 as in Redis). z should be a
 * skiplist (zset_new with a large hint); zset_compact() it at the end. */
void zset_accumulate(struct zset *z, const char *m, size_t mlen, double score, int agg);

/* Formats a score as it is stored in a listpack (an integer when it is one
 * exactly, else "%.17g"); buf holds 32 bytes. Returns the length. */
int zset_format_score(char *buf, double score);

#endif
