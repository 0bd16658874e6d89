/*
 * sbuf.h - a growable byte buffer, the unit of every I/O and reply buffer.
 *
 * p[0..len) holds data; p[len..cap) is free space a reader (recv) may fill
 * directly, after which it calls sbuf_added(). Growth goes through mem_* so
 * buffers are accounted. A zero-initialized struct sbuf is a valid empty
 * buffer. Any call that may grow the buffer may move p: pointers into it are
 * valid only until the next growth, and never while the kernel owns it.
 */
#ifndef STRATA_SBUF_H
#define STRATA_SBUF_H

#include <stddef.h>
#include <stdarg.h>
#include <string.h>

struct sbuf {
	char *p;	/* data, or NULL when cap == 0 */
	size_t len;	/* bytes of data */
	size_t cap;	/* bytes allocated */
};

/* Frees the storage; the buffer is empty and reusable afterwards. */
void sbuf_free(struct sbuf *b);
/* Ensures cap - len >= extra (may move p). */
void sbuf_reserve(struct sbuf *b, size_t extra);
/* Slow path of sbuf_append, not to be called directly. */
void sbuf_append_slow(struct sbuf *b, const void *data, size_t n);
/* printf-style append. */
void sbuf_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sbuf_vprintf(struct sbuf *b, const char *fmt, va_list ap);
/* Drops the first n bytes (n <= len), moving the rest to the front. */
void sbuf_consume(struct sbuf *b, size_t n);
/* Drops the storage if cap exceeds keep while len == 0 (idle shrink). */
void sbuf_shrink_idle(struct sbuf *b, size_t keep);

static inline void sbuf_append(struct sbuf *b, const void *data, size_t n)
{
	if (__builtin_expect(b->cap - b->len >= n, 1)) {
		if (n)
			memcpy(b->p + b->len, data, n);
		b->len += n;
		return;
	}
	sbuf_append_slow(b, data, n);
}

static inline void sbuf_append_str(struct sbuf *b, const char *s)
{
	sbuf_append(b, s, strlen(s));
}

static inline void sbuf_append_char(struct sbuf *b, char c)
{
	sbuf_append(b, &c, 1);
}

/* Marks n bytes written into the free space as data. */
static inline void sbuf_added(struct sbuf *b, size_t n)
{
	b->len += n;
}

#endif
