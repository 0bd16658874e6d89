/*
 * kv_dict.h - intrusive chained hash table with incremental rehash.
 *
 * The table does not own or allocate nodes: a caller embeds struct dict_node
 * in its own entry and tells the table how to read a node's key. Lookups
 * compare key bytes; the hash is not stored (it is recomputed when a node
 * moves during rehash), which saves eight bytes per key.
 *
 * Growth and shrink are incremental as in Redis's dict.c: while rehashing,
 * two tables exist; each insert, delete and dict_rehash_step() call moves a
 * few buckets from the old table to the new one, so no single call pays for
 * the whole table. Lookups do no rehash work, so a pointer returned by
 * dict_find_ref() stays valid until the next insert, remove or rehash call.
 *
 * Scan uses Redis's reverse-binary cursor: a full scan from cursor 0 until the
 * returned cursor is 0 visits every node present for the whole scan at least
 * once, even if the table grows, shrinks or rehashes between calls (a node may
 * be visited more than once).
 *
 * Not thread safe: a table belongs to one thread at a time.
 */
#ifndef STRATA_KV_DICT_H
#define STRATA_KV_DICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dict_node {
	struct dict_node *next;	/* bucket chain; owned by the table */
};

struct dict_ops {
	/* Sets *key and *len to the node's key bytes (a view into the node). */
	void (*key)(const struct dict_node *n, const char **key, size_t *len);
};

struct dict;

/* A new empty table; ops is borrowed and must outlive it. Never NULL. */
struct dict *dict_create(const struct dict_ops *ops);
/* Frees the table; calls free_node(node, arg) for every node if free_node is
 * not NULL. d may be NULL. */
void dict_destroy(struct dict *d, void (*free_node)(struct dict_node *, void *), void *arg);
/* Removes every node (calling free_node as in dict_destroy); the table stays
 * usable. */
void dict_clear(struct dict *d, void (*free_node)(struct dict_node *, void *), void *arg);

size_t dict_size(const struct dict *d);
/* Buckets in the main table plus the rehash target (for MEMORY/INFO). */
size_t dict_buckets(const struct dict *d);
bool dict_is_rehashing(const struct dict *d);

/* The table's keyed hash (seeded once per process with dict_set_seed). */
uint64_t dict_hash(const char *key, size_t len);
void dict_set_seed(const uint8_t seed[16]);

/* The node with this key, or NULL. */
struct dict_node *dict_find(struct dict *d, const char *key, size_t len);
/* The link that points at the node with this key (so the caller can replace
 * the node in place: new->next = old->next; *ref = new), or NULL. */
struct dict_node **dict_find_ref(struct dict *d, const char *key, size_t len);
/* Adds n, whose key the caller guarantees is absent. */
void dict_insert(struct dict *d, struct dict_node *n);
/* Unlinks and returns the node with this key, or NULL. */
struct dict_node *dict_remove(struct dict *d, const char *key, size_t len);
/* Unlinks exactly node n (which must be in the table). */
void dict_remove_node(struct dict *d, struct dict_node *n);

/* Does up to n bucket moves of an ongoing rehash; returns true if more
 * remain. */
bool dict_rehash_step(struct dict *d, int n);
/* Rehashes for about us microseconds; returns true if more remain. */
bool dict_rehash_for(struct dict *d, int64_t us);
/* Starts a shrink when the table is under 1/8 full (call from a cron). */
void dict_maybe_shrink(struct dict *d);

/* Calls fn for each node of the bucket(s) at cursor and returns the next
 * cursor (0 when the scan is complete). fn must not insert or remove. */
uint64_t dict_scan(struct dict *d, uint64_t cursor,
		   void (*fn)(struct dict_node *n, void *arg), void *arg);
/* A random node (every node has a chance; not exactly uniform), or NULL if
 * empty. */
struct dict_node *dict_random(struct dict *d);
/* Up to n random distinct-ish nodes into out (for eviction sampling);
 * returns how many. */
size_t dict_sample(struct dict *d, struct dict_node **out, size_t n);

/* Iteration over every node, for whole-table work (KEYS, FLUSHDB). The
 * table must not change during the iteration except through
 * dict_iter_remove_current(). */
struct dict_iter {
	struct dict *d;
	int table;
	size_t bucket;
	struct dict_node *cur, *next;
};
void dict_iter_init(struct dict_iter *it, struct dict *d);
struct dict_node *dict_iter_next(struct dict_iter *it);
/* Unlinks the node dict_iter_next() last returned (which the caller then
 * owns) without rehash work, so the iteration goes on and visits every other
 * node once. */
void dict_iter_remove_current(struct dict_iter *it);

#endif
