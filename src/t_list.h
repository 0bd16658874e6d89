/*
 * t_list.h - the list value: a quicklist, a doubly linked list of lpack
 * nodes, as Redis 7.0 stores every list.
 *
 * A list is a chain of nodes; each node holds a run of consecutive
 * elements in one lpack (lpack.h). Pushing and popping at either end touch
 * only the end node: O(1). Reaching index i walks node counts from the
 * nearer end (O(nodes)) and then seeks inside one node. Node size is
 * bounded by the list's fill, taken from list-max-listpack-size when the
 * list is created (later CONFIG SET changes only new lists, as in Redis):
 *
 *   fill > 0     at most fill elements per node (and at most 8 KiB, the
 *                safety limit Redis applies as well)
 *   fill -1..-5  at most 4, 8, 16, 32, 64 KiB of lpack per node
 *   fill 0       one element per node
 *
 * fill is clamped to -5..32767 as Redis does. An element larger than the
 * limit still fits: it gets a node of its own. No node is ever empty, and
 * an empty list has no node.
 *
 * Elements are byte strings; reads give a struct lpack_val, a view into a
 * node or into the val's own buffer, valid until the list next changes.
 *
 * Memory goes through mem_* (accounted). A list is owned by whoever holds
 * the pointer (a kv entry, through kv_list_ops); nothing here is shared
 * between threads.
 */
#ifndef STRATA_T_LIST_H
#define STRATA_T_LIST_H

#include "kv.h"
#include "lpack.h"

#include <stdbool.h>
#include <stddef.h>

/* Which end of a list. */
enum t_list_end { T_LIST_HEAD = 0, T_LIST_TAIL = 1 };

struct t_list;
struct t_list_node;

/* A cursor over a list in one direction. Fields are private to t_list.c;
 * the struct is public so that a cursor lives on the caller's stack. */
struct t_list_iter {
	struct t_list *l;		/* the list walked */
	struct t_list_node *node;	/* node of the next element, or NULL at the end */
	size_t pos;			/* lpack position of the next element in node */
	struct t_list_node *cur_node;	/* node of the element last returned, or NULL */
	size_t cur_pos;			/* its lpack position */
	bool forward;			/* head to tail */
};

/* The ops kv uses for KV_LIST values (free, dup, "quicklist", mem). */
extern const struct kv_type_ops kv_list_ops;

/* A new empty list whose nodes are bounded by fill (see above); the caller
 * owns it. */
struct t_list *t_list_new(int fill);
/* Frees the list and its elements; l may be NULL. */
void t_list_free(struct t_list *l);
/* A deep copy with the same fill and the same node layout; caller owns it. */
struct t_list *t_list_dup(const struct t_list *l);

/* Number of elements, O(1). */
size_t t_list_len(const struct t_list *l);
/* Number of nodes, O(1). */
size_t t_list_nodes(const struct t_list *l);
/* Bytes of memory the list uses: its header, nodes and lpacks. O(nodes). */
size_t t_list_mem(const struct t_list *l);

/* Adds s[0..len) at the given end. O(1) plus the lpack insert. */
void t_list_push(struct t_list *l, enum t_list_end where, const char *s, size_t len);
/* Reads the element at the given end into *v and returns true, or returns
 * false if the list is empty. v stays valid until the list changes. */
bool t_list_peek(const struct t_list *l, enum t_list_end where, struct lpack_val *v);
/* Removes up to n elements from the given end; returns how many went. */
size_t t_list_pop(struct t_list *l, enum t_list_end where, size_t n);

/* Reads the element at index (negative counts from the tail, -1 = last) and
 * returns true, or returns false if index is out of range. */
bool t_list_index(const struct t_list *l, long long index, struct lpack_val *v);
/* Replaces the element at index with s[0..len) and returns true, or returns
 * false (nothing changed) if index is out of range. A node that grows past
 * its limit is split. */
bool t_list_set(struct t_list *l, long long index, const char *s, size_t len);
/* Removes count elements from index on (index negative counts from the
 * tail; elements beyond the end are ignored); returns how many went. */
size_t t_list_del_range(struct t_list *l, long long index, size_t count);

/*
 * Iteration. t_list_iter_init() places the cursor on index (negative from
 * the tail; out of range gives an exhausted cursor), walking towards the
 * tail when forward, else towards the head. t_list_iter_next() reads the
 * next element into *v and returns true, or returns false at the end.
 * While iterating, the list may be changed only through the cursor:
 * t_list_iter_delete() removes the element last returned (the walk goes
 * on with the one after it), t_list_iter_insert() adds s before or after
 * it (the new element is not returned by the walk). Any other change
 * invalidates the cursor. A cursor holds nothing to release.
 */
void t_list_iter_init(struct t_list *l, long long index, bool forward, struct t_list_iter *it);
bool t_list_iter_next(struct t_list_iter *it, struct lpack_val *v);
/* True if the element last returned equals s[0..len). */
bool t_list_iter_eq(const struct t_list_iter *it, const char *s, size_t len);
void t_list_iter_delete(struct t_list_iter *it);
void t_list_iter_insert(struct t_list_iter *it, bool after, const char *s, size_t len);

/* Checks every invariant (counts, links, no empty node, node limits) and
 * aborts on a violation. For tests; O(n). */
void t_list_check(const struct t_list *l);

#endif
