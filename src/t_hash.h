/*
 * t_hash.h - the hash value: a map from field to value, both byte strings,
 * the value of a key of type KV_HASH.
 *
 * Two encodings, chosen exactly as Redis 7.0 does (OBJECT ENCODING names):
 *
 *   "listpack"   an lpack of field, value, field, value ... in insertion
 *                order, while there are at most hash-max-listpack-entries
 *                fields and no field or value is longer than
 *                hash-max-listpack-value bytes.
 *   "hashtable"  a kv_dict of nodes, each holding one field and its value.
 *
 * A hash starts as a listpack. It is converted to a hashtable when a set
 * would store a field or value longer than hash-max-listpack-value, when a
 * set makes the field count exceed hash-max-listpack-entries (both read at
 * that moment), or when the listpack would grow past 1 GiB. It is never
 * converted back, even when fields are removed.
 *
 * Ownership: a struct hash owns its fields and values; callers pass bytes
 * that are copied. A struct hash_str filled by a lookup, an iterator, a
 * random pick or a scan is a view valid until the hash next changes.
 * Not thread safe: a hash belongs to the thread of the shard owning its key
 * (or a coordinator while that shard is parked).
 */
#ifndef STRATA_T_HASH_H
#define STRATA_T_HASH_H

#include "kv.h"
#include "kv_dict.h"
#include "lpack.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum hash_enc { HASH_ENC_LISTPACK = 0, HASH_ENC_HT };

struct hash;

/* A field or value handed out by the hash: p/len are always valid (an
 * integer kept by the listpack is written into buf). A view. */
struct hash_str {
	const char *p;
	size_t len;
	char buf[LPACK_INTBUF];
};

/* A new empty hash, listpack encoded. */
struct hash *hash_create(void);
/* Frees h and its contents; NULL is accepted. */
void hash_destroy(struct hash *h);
/* A deep copy with the same encoding (COPY). */
struct hash *hash_dup(const struct hash *h);

size_t hash_len(const struct hash *h);
enum hash_enc hash_encoding(const struct hash *h);
/* "listpack" or "hashtable". */
const char *hash_enc_name(const struct hash *h);
/* Bytes of memory the hash uses, contents and tables included. */
size_t hash_mem(const struct hash *h);

/* Converts a listpack hash to a hashtable (no-op on a hashtable). */
void hash_convert(struct hash *h);
/* Before a command stores several strings at once (HSET, HSETNX): converts
 * a listpack hash now if one of them is longer than hash-max-listpack-value
 * (maxlen is the longest) or if sum more bytes could make the listpack
 * unsafely large, as Redis's hashTypeTryConversion. */
void hash_prepare(struct hash *h, size_t maxlen, size_t sum);

/* Fills v with the value of field f and returns true, or returns false if
 * there is no such field. v may be NULL (existence test). */
bool hash_get(const struct hash *h, const char *f, size_t flen, struct hash_str *v);
/* Sets field f to value v, creating it or replacing its value; returns true
 * if the field is new. May convert the encoding (see above). */
bool hash_set(struct hash *h, const char *f, size_t flen, const char *v, size_t vlen);
/* Removes field f; returns true if it was there. */
bool hash_delete(struct hash *h, const char *f, size_t flen);

/* Iteration over every field once: in insertion order for a listpack, in
 * no defined order for a hashtable. The hash must not change meanwhile. */
struct hash_iter {
	const struct hash *h;	/* the hash (borrowed) */
	size_t pos;		/* listpack: position of the next field */
	struct dict_iter di;	/* hashtable: the table walk */
};
void hash_iter_init(struct hash_iter *it, const struct hash *h);
/* Fills f and v (v may be NULL) with the next pair and returns true, or
 * returns false at the end. */
bool hash_iter_next(struct hash_iter *it, struct hash_str *f, struct hash_str *v);

/* Callback of the random and scan walks: one field and its value, views
 * valid during the call. fn must not change the hash. */
typedef void hash_pair_fn(const struct hash_str *f, const struct hash_str *v, void *arg);

/* Calls fn count times with a pair picked at random from a non-empty hash,
 * each pick independent (repeats possible), every field with about the same
 * chance: a listpack picks an index uniformly; a hashtable picks uniformly
 * among a few fields read from a random place of the table (Redis's
 * dictGetFairRandomKey), so that chain lengths do not bias it. */
void hash_random_pairs(const struct hash *h, uint64_t count, hash_pair_fn *fn, void *arg);
/* Calls fn for count distinct pairs picked at random, count < hash_len(h)
 * (HRANDFIELD with a positive count). Every subset of count fields is about
 * equally likely. */
void hash_random_distinct(const struct hash *h, uint64_t count, hash_pair_fn *fn, void *arg);
/* Seeds this thread's generator (tests); 0 picks a seed from the clock. */
void hash_rand_seed(uint64_t seed);

/* HSCAN's walk: calls fn for the pairs of the bucket(s) at cursor and
 * returns the next cursor (0 at the end), with kv_dict's guarantee (every
 * field present for the whole scan is seen at least once). A listpack is
 * small and has no buckets: every pair is passed at once and 0 returned. */
uint64_t hash_scan(const struct hash *h, uint64_t cursor, hash_pair_fn *fn, void *arg);

/* The hash held by a key's entry (type KV_HASH). */
static inline struct hash *hash_of(const struct kv_entry *e)
{
	return (struct hash *)e->v.ptr;
}

/* For kv: free, dup, OBJECT ENCODING and MEMORY USAGE of a hash value. */
extern const struct kv_type_ops kv_hash_ops;

#endif
