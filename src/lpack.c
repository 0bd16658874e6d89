/*
 * lpack.c - the compact sequence: many small strings and integers packed
 * into one allocation, walked by byte offset in both directions.
 *
 * Layout. An lpack is an 8-byte header followed by the elements, back to
 * back, with nothing after the last one:
 *
 *	+----------+----------+---------+---------+-----+
 *	| bytes:32 | count:32 | elem 0  | elem 1  | ... |
 *	+----------+----------+---------+---------+-----+
 *
 * `bytes` is the size of the whole allocation (header included) and `count`
 * the number of elements, so both are O(1) to read. The header is in host
 * byte order: an lpack lives only in memory and is never written to disk or
 * sent anywhere, so no byte swapping is paid for.
 *
 * An element is a tag byte, an optional length or integer body, the string
 * bytes if any, and a back-length:
 *
 *	tag            meaning                        body        data
 *	0x00..0x7f     integer 0..127 (the tag itself) -           -
 *	0x80..0xbf     string of (tag & 0x3f) bytes    -           0..63 bytes
 *	0xc0..0xc7     integer in n = (tag & 7) + 1    n bytes LE  -
 *	               bytes, two's complement
 *	0xe0           string, 16-bit length           2 bytes LE  64..65535 bytes
 *	0xe1           string, 32-bit length           4 bytes LE  the rest
 *
 * Integers take the fewest bytes that hold them, so -1 is two bytes and
 * 1000 three. Every other tag value is invalid and never written.
 *
 * The back-length is the size L of tag + body + data, written as a base-128
 * number whose *last* byte holds the lowest 7 bits: each byte but the first
 * of the back-length has the high bit set, meaning "more bits in the byte
 * before me". Reading from an element's end towards the front therefore
 * finds L without knowing where the element starts, which makes
 * lpack_prev() O(1). Since an element's back-length describes only that
 * element, inserting or deleting never rewrites a neighbour (no cascading
 * update as in the old ziplist).
 *
 * Invariant: a string that is a canonical integer (strutil_to_ll() accepts
 * it and it has at most 20 bytes) is always stored as an integer, so a
 * string element is never equal to such a text. lpack_find() relies on
 * this to compare integers with integers and strings with strings only.
 *
 * Positions are byte offsets from the start of the allocation: the first
 * element sits at LP_HDR, and the offset one past the last element equals
 * `bytes`. Offsets, not pointers, are what callers keep, so a realloc that
 * moves the block does not invalidate them.
 *
 * Size limit: `bytes` is 32 bits. The types that use an lpack convert to
 * another encoding long before (hashes and sorted sets at a few entries of
 * at most a few KiB; list nodes at 8 KiB); an lpack that would pass 4 GiB
 * is a bug in the caller and trips an ASSERT.
 */
#include "lpack.h"

#include "mem.h"
#include "strutil.h"
#include "util.h"

#include <stdint.h>
#include <string.h>

#define LP_HDR		8		/* header bytes: total size and count */
#define LP_TAG_STR6	0x80		/* 0x80..0xbf: 6-bit length string */
#define LP_TAG_INTN	0xc0		/* 0xc0..0xc7: 1..8 byte integer */
#define LP_TAG_STR16	0xe0		/* 16-bit length string */
#define LP_TAG_STR32	0xe1		/* 32-bit length string */
#define LP_MAX_INT_TEXT	20		/* longest canonical int text stored as int */

/* ---- header ---- */

static size_t lp_total(const unsigned char *lp)
{
	uint32_t v;

	memcpy(&v, lp, 4);
	return v;
}

static void lp_set_total(unsigned char *lp, size_t v)
{
	uint32_t u = (uint32_t)v;

	ASSERT(v <= UINT32_MAX);
	memcpy(lp, &u, 4);
}

static size_t lp_cnt(const unsigned char *lp)
{
	uint32_t v;

	memcpy(&v, lp + 4, 4);
	return v;
}

static void lp_set_cnt(unsigned char *lp, size_t v)
{
	uint32_t u = (uint32_t)v;

	ASSERT(v <= UINT32_MAX);
	memcpy(lp + 4, &u, 4);
}

/* ---- element decoding ---- */

/* Bytes the back-length of an element of l bytes (tag + body + data) takes. */
static size_t lp_blen_size(size_t l)
{
	size_t n = 1;

	while (l >= 128) {
		l >>= 7;
		n++;
	}
	return n;
}

/* Writes the back-length of l into p (lp_blen_size(l) bytes). */
static void lp_blen_write(unsigned char *p, size_t l)
{
	size_t n = lp_blen_size(l);

	for (size_t i = n; i-- > 0;) {
		p[i] = (unsigned char)(l & 0x7f) | (i > 0 ? 0x80 : 0);
		l >>= 7;
	}
}

/* Reads the back-length that ends just before end; returns the element's
 * tag + body + data size and stores the back-length's own size in *n. */
static size_t lp_blen_read(const unsigned char *end, size_t *n)
{
	size_t l = 0, k = 0;
	unsigned shift = 0;
	unsigned char b;

	do {
		b = *--end;
		l |= (size_t)(b & 0x7f) << shift;
		shift += 7;
		k++;
	} while (b & 0x80);
	*n = k;
	return l;
}

static uint64_t lp_rd_le(const unsigned char *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* A decoded element. */
struct lp_ent {
	size_t hlen;		/* tag + body bytes */
	size_t dlen;		/* string bytes (0 for an integer) */
	size_t size;		/* whole element: hlen + dlen + back-length */
	bool is_int;		/* integer element */
	long long ll;		/* its value if is_int */
};

static void lp_parse(const unsigned char *p, struct lp_ent *e)
{
	unsigned t = p[0];

	e->is_int = false;
	e->ll = 0;
	e->dlen = 0;
	if (t < LP_TAG_STR6) {
		e->is_int = true;
		e->ll = t;
		e->hlen = 1;
	} else if (t < LP_TAG_INTN) {
		e->hlen = 1;
		e->dlen = t & 0x3f;
	} else if (t < LP_TAG_INTN + 8) {
		unsigned n = (t & 7) + 1;
		uint64_t u = lp_rd_le(p + 1, n);

		if (n < 8 && (u >> (8 * n - 1)) & 1)
			u |= ~(uint64_t)0 << (8 * n);
		e->is_int = true;
		e->ll = (long long)u;
		e->hlen = 1 + n;
	} else if (t == LP_TAG_STR16) {
		e->hlen = 3;
		e->dlen = lp_rd_le(p + 1, 2);
	} else {
		ASSERT(t == LP_TAG_STR32);
		e->hlen = 5;
		e->dlen = lp_rd_le(p + 1, 4);
	}
	e->size = e->hlen + e->dlen + lp_blen_size(e->hlen + e->dlen);
}

static size_t lp_ent_size(const unsigned char *p)
{
	struct lp_ent e;

	lp_parse(p, &e);
	return e.size;
}

/* ---- element encoding ---- */

/* An element about to be written. */
struct lp_enc {
	unsigned char hdr[9];	/* tag and body */
	size_t hlen;		/* bytes used in hdr */
	const char *data;	/* string bytes (borrowed), or NULL */
	size_t dlen;		/* their number */
	size_t size;		/* whole element, back-length included */
};

static void lp_enc_finish(struct lp_enc *en)
{
	size_t l = en->hlen + en->dlen;

	en->size = l + lp_blen_size(l);
}

static void lp_enc_ll(struct lp_enc *en, long long v)
{
	en->data = NULL;
	en->dlen = 0;
	if (v >= 0 && v < LP_TAG_STR6) {
		en->hdr[0] = (unsigned char)v;
		en->hlen = 1;
	} else {
		unsigned n = 1;
		uint64_t u = (uint64_t)v;

		/* the fewest bytes whose sign extension gives v back */
		while (n < 8) {
			long long lim = 1LL << (8 * n - 1);

			if (v >= -lim && v < lim)
				break;
			n++;
		}
		en->hdr[0] = (unsigned char)(LP_TAG_INTN | (n - 1));
		for (unsigned i = 0; i < n; i++)
			en->hdr[1 + i] = (unsigned char)(u >> (8 * i));
		en->hlen = 1 + n;
	}
	lp_enc_finish(en);
}

static void lp_enc_str(struct lp_enc *en, const char *s, size_t len)
{
	long long v;

	if (len <= LP_MAX_INT_TEXT && strutil_to_ll(s, len, &v)) {
		lp_enc_ll(en, v);
		return;
	}
	en->data = s;
	en->dlen = len;
	if (len < 64) {
		en->hdr[0] = (unsigned char)(LP_TAG_STR6 | len);
		en->hlen = 1;
	} else if (len <= UINT16_MAX) {
		en->hdr[0] = LP_TAG_STR16;
		en->hdr[1] = (unsigned char)len;
		en->hdr[2] = (unsigned char)(len >> 8);
		en->hlen = 3;
	} else {
		ASSERT(len <= UINT32_MAX);
		en->hdr[0] = LP_TAG_STR32;
		for (unsigned i = 0; i < 4; i++)
			en->hdr[1 + i] = (unsigned char)(len >> (8 * i));
		en->hlen = 5;
	}
	lp_enc_finish(en);
}

static void lp_enc_write(unsigned char *p, const struct lp_enc *en)
{
	memcpy(p, en->hdr, en->hlen);
	if (en->dlen)
		memcpy(p + en->hlen, en->data, en->dlen);
	lp_blen_write(p + en->hlen + en->dlen, en->hlen + en->dlen);
}

/* ---- creation and size ---- */

unsigned char *lpack_new(void)
{
	unsigned char *lp = mem_alloc(LP_HDR);

	lp_set_total(lp, LP_HDR);
	lp_set_cnt(lp, 0);
	return lp;
}

void lpack_free(unsigned char *lp)
{
	mem_free(lp);
}

unsigned char *lpack_dup(const unsigned char *lp)
{
	size_t n = lp_total(lp);
	unsigned char *d = mem_alloc(n);

	memcpy(d, lp, n);
	return d;
}

size_t lpack_count(const unsigned char *lp)
{
	return lp_cnt(lp);
}

size_t lpack_bytes(const unsigned char *lp)
{
	return lp_total(lp);
}

/* ---- walking ---- */

size_t lpack_first(const unsigned char *lp)
{
	return lp_cnt(lp) ? LP_HDR : LPACK_END;
}

size_t lpack_last(const unsigned char *lp)
{
	return lp_cnt(lp) ? lpack_prev(lp, lp_total(lp)) : LPACK_END;
}

size_t lpack_next(const unsigned char *lp, size_t pos)
{
	size_t n;

	if (pos == LPACK_END)
		return LPACK_END;
	n = pos + lp_ent_size(lp + pos);
	return n < lp_total(lp) ? n : LPACK_END;
}

/* Also accepts pos == the total size (one past the last element), which is
 * how lpack_last() finds the last element. */
size_t lpack_prev(const unsigned char *lp, size_t pos)
{
	size_t l, bl;

	if (pos == LPACK_END || pos <= LP_HDR)
		return LPACK_END;
	l = lp_blen_read(lp + pos, &bl);
	return pos - bl - l;
}

size_t lpack_seek(const unsigned char *lp, long long index)
{
	size_t n = lp_cnt(lp), pos;

	if (index < 0) {
		if ((unsigned long long)-(index + 1) >= n)
			return LPACK_END;
		index += (long long)n;
	}
	if ((unsigned long long)index >= n)
		return LPACK_END;
	if ((size_t)index < n / 2) {
		pos = LP_HDR;
		for (long long i = 0; i < index; i++)
			pos += lp_ent_size(lp + pos);
	} else {
		pos = lp_total(lp);
		for (size_t i = n; i > (size_t)index; i--)
			pos = lpack_prev(lp, pos);
	}
	return pos;
}

/* ---- reading ---- */

void lpack_get(const unsigned char *lp, size_t pos, struct lpack_val *v)
{
	struct lp_ent e;

	lp_parse(lp + pos, &e);
	v->is_int = e.is_int;
	if (e.is_int) {
		v->ll = e.ll;
		v->len = (size_t)strutil_ll_to_str(v->buf, sizeof(v->buf), e.ll);
		v->p = v->buf;
	} else {
		v->ll = 0;
		v->p = (const char *)lp + pos + e.hlen;
		v->len = e.dlen;
	}
}

/* The text s[0..len) as the lpack would store it: *is_int and *ll tell if
 * it is a canonical integer. */
static void lp_classify(const char *s, size_t len, bool *is_int, long long *ll)
{
	*is_int = len <= LP_MAX_INT_TEXT && strutil_to_ll(s, len, ll);
}

static bool lp_ent_eq(const unsigned char *p, const struct lp_ent *e, const char *s, size_t len,
		      bool s_int, long long s_ll)
{
	if (e->is_int)
		return s_int && e->ll == s_ll;
	return !s_int && e->dlen == len && memcmp(p + e->hlen, s, len) == 0;
}

bool lpack_eq(const unsigned char *lp, size_t pos, const char *s, size_t len)
{
	struct lp_ent e;
	long long ll = 0;
	bool is_int;

	lp_parse(lp + pos, &e);
	lp_classify(s, len, &is_int, &ll);
	return lp_ent_eq(lp + pos, &e, s, len, is_int, ll);
}

size_t lpack_find(const unsigned char *lp, size_t pos, const char *s, size_t len, unsigned skip)
{
	size_t total = lp_total(lp);
	long long ll = 0;
	bool is_int;

	if (pos == LPACK_END)
		return LPACK_END;
	lp_classify(s, len, &is_int, &ll);
	while (pos < total) {
		struct lp_ent e;

		lp_parse(lp + pos, &e);
		if (lp_ent_eq(lp + pos, &e, s, len, is_int, ll))
			return pos;
		pos += e.size;
		for (unsigned i = 0; i < skip && pos < total; i++)
			pos += lp_ent_size(lp + pos);
	}
	return LPACK_END;
}

/* ---- changing ---- */

/* If en's bytes lie inside lp itself (a caller copying one element of an
 * lpack into the same lpack), the realloc and memmove ahead would pull them
 * from under us: copy them out first. Returns the copy to free, or NULL. */
static char *lp_unalias(const unsigned char *lp, struct lp_enc *en)
{
	const char *b = (const char *)lp;
	char *copy;

	if (!en->dlen || en->data < b || en->data >= b + lp_total(lp))
		return NULL;
	copy = mem_alloc(en->dlen);
	memcpy(copy, en->data, en->dlen);
	en->data = copy;
	return copy;
}

/* Makes room for en at offset off and writes it there. */
static unsigned char *lp_insert_enc(unsigned char *lp, size_t off, struct lp_enc *en)
{
	size_t total = lp_total(lp);
	char *copy = lp_unalias(lp, en);

	ASSERT(total + en->size <= UINT32_MAX);
	lp = mem_realloc(lp, total + en->size);
	memmove(lp + off + en->size, lp + off, total - off);
	lp_enc_write(lp + off, en);
	lp_set_total(lp, total + en->size);
	lp_set_cnt(lp, lp_cnt(lp) + 1);
	mem_free(copy);
	return lp;
}

unsigned char *lpack_append(unsigned char *lp, const char *s, size_t len)
{
	struct lp_enc en;

	lp_enc_str(&en, s, len);
	return lp_insert_enc(lp, lp_total(lp), &en);
}

unsigned char *lpack_prepend(unsigned char *lp, const char *s, size_t len)
{
	struct lp_enc en;

	lp_enc_str(&en, s, len);
	return lp_insert_enc(lp, LP_HDR, &en);
}

unsigned char *lpack_append_ll(unsigned char *lp, long long v)
{
	struct lp_enc en;

	lp_enc_ll(&en, v);
	return lp_insert_enc(lp, lp_total(lp), &en);
}

unsigned char *lpack_insert(unsigned char *lp, size_t *pos, bool after, const char *s, size_t len)
{
	struct lp_enc en;
	size_t off;

	if (*pos == LPACK_END)
		off = lp_total(lp);
	else if (after)
		off = *pos + lp_ent_size(lp + *pos);
	else
		off = *pos;
	lp_enc_str(&en, s, len);
	lp = lp_insert_enc(lp, off, &en);
	*pos = off;
	return lp;
}

unsigned char *lpack_replace(unsigned char *lp, size_t *pos, const char *s, size_t len)
{
	size_t total = lp_total(lp), off = *pos, old = lp_ent_size(lp + off);
	size_t tail = off + old;
	struct lp_enc en;
	char *copy;

	lp_enc_str(&en, s, len);
	copy = lp_unalias(lp, &en);
	if (en.size > old) {
		ASSERT(total - old + en.size <= UINT32_MAX);
		lp = mem_realloc(lp, total - old + en.size);
		memmove(lp + off + en.size, lp + tail, total - tail);
	} else if (en.size < old) {
		memmove(lp + off + en.size, lp + tail, total - tail);
		lp = mem_realloc(lp, total - old + en.size);
	}
	lp_enc_write(lp + off, &en);
	lp_set_total(lp, total - old + en.size);
	mem_free(copy);
	return lp;
}

/* Removes the bytes [from, to) holding n elements. */
static unsigned char *lp_cut(unsigned char *lp, size_t from, size_t to, size_t n)
{
	size_t total = lp_total(lp);

	memmove(lp + from, lp + to, total - to);
	lp_set_total(lp, total - (to - from));
	lp_set_cnt(lp, lp_cnt(lp) - n);
	return mem_realloc(lp, total - (to - from));
}

unsigned char *lpack_delete(unsigned char *lp, size_t *pos)
{
	size_t off = *pos;

	lp = lp_cut(lp, off, off + lp_ent_size(lp + off), 1);
	*pos = off < lp_total(lp) ? off : LPACK_END;
	return lp;
}

unsigned char *lpack_delete_range(unsigned char *lp, long long index, size_t count)
{
	size_t start = lpack_seek(lp, index), end, total = lp_total(lp), n = 0;

	if (start == LPACK_END || count == 0)
		return lp;
	end = start;
	while (n < count && end < total) {
		end += lp_ent_size(lp + end);
		n++;
	}
	return lp_cut(lp, start, end, n);
}
