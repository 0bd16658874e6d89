/*
 * t_intset.h - a sorted set of 64-bit integers in one compact allocation.
 *
 * The members are kept in ascending order in a plain array whose elements
 * all have the same width: 16, 32 or 64 bits, the smallest that holds every
 * member ever added. Adding a member that does not fit the current width
 * widens the whole array once ("upgrade"); removing members never narrows
 * it, as in Redis. Lookups are a binary search; an insert or a removal moves
 * the tail of the array (O(N)), which is why sets keep this encoding only
 * while they are small (set-max-intset-entries).
 *
 * An intset is an opaque handle. The functions that may grow or shrink the
 * allocation take a struct intset ** and may change the pointer, as
 * realloc(3) does: the old pointer is then invalid. Memory comes from mem_*.
 *
 * Not thread safe: an intset belongs to whoever owns the value holding it.
 */
#ifndef STRATA_T_INTSET_H
#define STRATA_T_INTSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct intset;

/* Largest number of members an intset may hold (its length is 32 bits; the
 * set layer converts long before, as Redis caps set-max-intset-entries at
 * 2^30). */
#define INTSET_MAX_LEN (1u << 30)

/* A new empty intset of width 16 bits. Never NULL (allocation failure
 * aborts, as every mem_* allocation does). */
struct intset *intset_create(void);
/* Frees is; NULL is accepted. */
void intset_destroy(struct intset *is);
/* A copy with the same width and members, owned by the caller. */
struct intset *intset_dup(const struct intset *is);

/* Number of members. */
size_t intset_len(const struct intset *is);
/* Bytes per member: 2, 4 or 8. */
unsigned intset_width(const struct intset *is);
/* Bytes the allocation uses (for MEMORY USAGE). */
size_t intset_mem(const struct intset *is);

/* The member at index i (0 <= i < intset_len), in ascending order. */
int64_t intset_get(const struct intset *is, size_t i);
/* True if v is a member. */
bool intset_contains(const struct intset *is, int64_t v);
/* True if v is a member and then *pos is its index; otherwise false and
 * *pos is the index v would take if inserted. pos may be NULL. */
bool intset_find(const struct intset *is, int64_t v, size_t *pos);

/* Adds v, widening the array if v needs it; returns true if v was added,
 * false if it was already a member (nothing changes). *isp may move. The
 * caller keeps the length below INTSET_MAX_LEN. */
bool intset_add(struct intset **isp, int64_t v);
/* Removes v; returns true if it was a member. *isp may move (the
 * allocation shrinks). The width stays. */
bool intset_remove(struct intset **isp, int64_t v);
/* Removes the member at index i (0 <= i < intset_len). *isp may move. */
void intset_remove_at(struct intset **isp, size_t i);

#endif
