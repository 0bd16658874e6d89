/*
 * lpack.h - a compact sequence of small strings and integers in a single
 * allocation, the role Redis's listpack plays: the encoding of small hashes
 * and sorted sets, and the node format of lists.
 *
 * An lpack is an `unsigned char *` from lpack_new(). Every call that changes
 * it may move it and returns the new pointer, which replaces the old one.
 * Elements are addressed by positions (byte offsets) from lpack_first(),
 * lpack_last(), lpack_next(), lpack_prev() and lpack_seek(); LPACK_END means
 * "none". A position stays valid until the lpack is next changed, except
 * where a call says it updates one.
 *
 * A string that is a canonical integer (strutil_to_ll, at most 20 bytes) is
 * stored as an integer; reading it back gives the same bytes. Memory goes
 * through mem_* (accounted).
 */
#ifndef STRATA_LPACK_H
#define STRATA_LPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LPACK_END ((size_t)-1)
#define LPACK_INTBUF 24

/* An element read back: p/len are always valid (an integer is rendered into
 * buf); is_int and ll tell if it was stored as an integer. p points into the
 * lpack or into buf, valid until either changes. */
struct lpack_val {
	const char *p;
	size_t len;
	bool is_int;
	long long ll;
	char buf[LPACK_INTBUF];
};

unsigned char *lpack_new(void);
void lpack_free(unsigned char *lp);		/* lp may be NULL */
unsigned char *lpack_dup(const unsigned char *lp);
size_t lpack_count(const unsigned char *lp);	/* O(1) */
size_t lpack_bytes(const unsigned char *lp);	/* allocation size, O(1) */

size_t lpack_first(const unsigned char *lp);
size_t lpack_last(const unsigned char *lp);
size_t lpack_next(const unsigned char *lp, size_t pos);
size_t lpack_prev(const unsigned char *lp, size_t pos);
/* The element at index (negative counts from the end, -1 = last), or
 * LPACK_END if out of range. O(n) from the nearer end. */
size_t lpack_seek(const unsigned char *lp, long long index);
void lpack_get(const unsigned char *lp, size_t pos, struct lpack_val *v);
/* True if the element at pos equals s[0..len). */
bool lpack_eq(const unsigned char *lp, size_t pos, const char *s, size_t len);
/* From pos, compares every (skip + 1)-th element with s (skip = 1 walks the
 * keys of a key/value sequence); returns the first equal position or
 * LPACK_END. */
size_t lpack_find(const unsigned char *lp, size_t pos, const char *s, size_t len, unsigned skip);

unsigned char *lpack_append(unsigned char *lp, const char *s, size_t len);
unsigned char *lpack_prepend(unsigned char *lp, const char *s, size_t len);
unsigned char *lpack_append_ll(unsigned char *lp, long long v);
/* Inserts before (after == false) or after the element at *pos (LPACK_END
 * with before = append); *pos becomes the new element's position. */
unsigned char *lpack_insert(unsigned char *lp, size_t *pos, bool after, const char *s, size_t len);
/* Replaces the element at *pos; *pos stays on it. */
unsigned char *lpack_replace(unsigned char *lp, size_t *pos, const char *s, size_t len);
/* Deletes the element at *pos; *pos becomes the next element or LPACK_END. */
unsigned char *lpack_delete(unsigned char *lp, size_t *pos);
/* Deletes count elements from index (negative from the end). */
unsigned char *lpack_delete_range(unsigned char *lp, long long index, size_t count);

#endif
