/*
 * sbuf.c - growable byte buffer. Growth doubles up to 1 MiB then adds 1 MiB
 * steps, so large values do not over-allocate by half.
 */
#include "sbuf.h"
#include "mem.h"
#include "util.h"

#include <stdio.h>

void sbuf_free(struct sbuf *b)
{
	mem_free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void sbuf_reserve(struct sbuf *b, size_t extra)
{
	size_t need, ncap;

	if (b->cap - b->len >= extra)
		return;
	need = b->len + extra;
	ASSERT(need >= b->len);
	ncap = b->cap ? b->cap : 64;
	while (ncap < need)
		ncap = ncap < (1u << 20) ? ncap * 2 : ncap + (1u << 20);
	b->p = mem_realloc(b->p, ncap);
	b->cap = ncap;
}

void sbuf_append_slow(struct sbuf *b, const void *data, size_t n)
{
	sbuf_reserve(b, n);
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
}

void sbuf_vprintf(struct sbuf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	sbuf_reserve(b, 64);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap2);
	va_end(ap2);
	ASSERT(n >= 0);
	if ((size_t)n >= b->cap - b->len) {
		sbuf_reserve(b, (size_t)n + 1);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	}
	b->len += (size_t)n;
}

void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sbuf_vprintf(b, fmt, ap);
	va_end(ap);
}

void sbuf_consume(struct sbuf *b, size_t n)
{
	ASSERT(n <= b->len);
	if (n == b->len) {
		b->len = 0;
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

void sbuf_shrink_idle(struct sbuf *b, size_t keep)
{
	if (b->len == 0 && b->cap > keep)
		sbuf_free(b);
}
