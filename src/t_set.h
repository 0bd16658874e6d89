/*
 * t_set.h - the set value: an unordered collection of distinct byte
 * strings, the value of a key of type KV_SET.
 *
 * Two encodings, chosen exactly as Redis 7.0 does (OBJECT ENCODING names):
 *
 *   "intset"     every member is an integer in canonical form (what
 *                strutil_to_ll() accepts) and there are at most
 *                set-max-intset-entries of them: a struct intset.
 *   "hashtable"  anything else: a kv_dict of member nodes.
 *
 * A set starts as an intset when its first member is an integer, else as a
 * hashtable (set_create_for). It is converted to a hashtable when a member
 * that is not an integer is added, or when an add makes the intset longer
 * than set-max-intset-entries (read at that moment; capped at 2^30). It is
 * never converted back, even when members are removed.
 *
 * Members are exchanged as struct set_elem, which carries either bytes or
 * an integer (an intset member is never turned into text unless asked).
 *
 * Ownership: a struct set owns its members. A set_elem filled by an
 * iterator or set_random() is a view valid until the set next changes.
 * Not thread safe: a set belongs to the thread of the shard owning its key
 * (or a coordinator while that shard is parked).
 */
#ifndef STRATA_T_SET_H
#define STRATA_T_SET_H

#include "kv.h"
#include "kv_dict.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum set_enc { SET_ENC_INTSET = 0, SET_ENC_HT };

struct set;

/*
 * A member as the set hands it out (or as a caller hands it in). Either p
 * is NULL and the member is the integer ll (an intset member), or p[0..len)
 * are its bytes; then is_int says whether those bytes are known to spell
 * the integer ll. A hashtable member comes with bytes and is_int false,
 * and may still spell an integer: the set parses it when that matters.
 */
struct set_elem {
	bool is_int;		/* ll holds the member's integer value */
	int64_t ll;		/* the integer, when is_int */
	const char *p;		/* the bytes (a view), or NULL for an integer */
	size_t len;		/* bytes at p */
	char buf[KV_INT_BUF];	/* room for set_elem_str() of an integer */
};

/* The member's bytes (an integer is formatted into e->buf); sets *len. */
const char *set_elem_str(struct set_elem *e, size_t *len);
/* Fills e with the bytes p[0..len) (a view: p must outlive e's use; p is
 * not NULL); is_int is set when the bytes are an integer in canonical
 * form. */
void set_elem_from(struct set_elem *e, const char *p, size_t len);

/* A new empty set encoded as an intset (SINTERSTORE and friends build
 * into this, as Redis does). */
struct set *set_create(void);
/* A new empty set with the encoding Redis gives a set whose first member
 * is ele: intset if it is an integer, else hashtable. */
struct set *set_create_for(const char *ele, size_t len);
/* Frees s and its members; NULL is accepted. */
void set_destroy(struct set *s);
/* A deep copy with the same encoding (COPY). */
struct set *set_dup(const struct set *s);
/* Exchanges the contents of a and b (a value replaced in place keeps its
 * key entry, and so its TTL). */
void set_swap(struct set *a, struct set *b);

size_t set_size(const struct set *s);
enum set_enc set_encoding(const struct set *s);
/* "intset" or "hashtable". */
const char *set_enc_name(const struct set *s);
/* Bytes of memory the set uses, members and tables included. */
size_t set_mem(const struct set *s);

/* Adds a member; returns true if it was not there. May convert the
 * encoding (see above). */
bool set_add(struct set *s, const char *ele, size_t len);
bool set_add_elem(struct set *s, struct set_elem *e);
/* Removes a member; returns true if it was there. */
bool set_remove(struct set *s, const char *ele, size_t len);
bool set_remove_elem(struct set *s, struct set_elem *e);
/* True if ele is a member. */
bool set_contains(struct set *s, const char *ele, size_t len);
bool set_contains_elem(struct set *s, struct set_elem *e);

/* A random member of a non-empty set into e. Every member has about the
 * same chance: an intset picks an index uniformly; a hashtable picks
 * uniformly among a few members read from a random place of the table (as
 * Redis's dictGetFairRandomKey), so chain lengths do not bias the pick. */
void set_random(struct set *s, struct set_elem *e);
/* Seeds this thread's generator (tests); 0 picks a seed from the clock. */
void set_rand_seed(uint64_t seed);

/* Iteration over every member once, in no defined order (ascending for an
 * intset). The set must not change during the iteration. */
struct set_iter {
	struct set *s;		/* the set (borrowed) */
	size_t i;		/* intset: next index */
	struct dict_iter di;	/* hashtable: the table walk */
};
void set_iter_init(struct set_iter *it, struct set *s);
/* Fills e with the next member and returns true, or returns false at the
 * end. */
bool set_iter_next(struct set_iter *it, struct set_elem *e);

/* SSCAN's walk: calls fn for the members of the bucket(s) at cursor and
 * returns the next cursor (0 at the end), with kv_dict's guarantee (every
 * member present for the whole scan is seen at least once). An intset is
 * small and has no buckets: every member is passed at once and 0 returned.
 * fn must not change the set. */
uint64_t set_scan(struct set *s, uint64_t cursor,
		  void (*fn)(struct set_elem *e, void *arg), void *arg);

/* The set held by a key's entry (type KV_SET). */
static inline struct set *set_of(const struct kv_entry *e)
{
	return (struct set *)e->v.ptr;
}

/* For kv: free, dup, OBJECT ENCODING and MEMORY USAGE of a set value. */
extern const struct kv_type_ops kv_set_ops;

#endif
