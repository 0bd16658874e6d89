/*
 * resp_write.c - reply encoders, RESP2 and RESP3.
 *
 * Every reply is appended to w->b in the wire form of w->proto. The RESP2
 * forms of the RESP3-only types, and the spelling of doubles, are Redis 7.0's
 * (the table is in resp_write.h). Integers are formatted by hand: they are
 * in nearly every reply and snprintf() costs more than the rest of an encoder.
 *
 * Errors follow Redis: a message that starts with '-' carries its own code,
 * anything else (the empty message too) gets "-ERR ". CR and LF become
 * spaces so an error stays one line; resp_w_errorf() first trims CR and LF at
 * both ends as addReplyErrorFormat() does, so a format ending in "\n" does
 * not leave a trailing space.
 *
 * Deferred aggregates reserve nothing: resp_w_defer() only remembers the
 * offset, and resp_w_defer_end() moves the elements up by the header's size
 * and writes the header in the gap. Nested defers work because an inner one
 * ends before its outer one, and only moves bytes after its own offset.
 */
#include "resp_write.h"
#include "mem.h"
#include "util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A type byte, a sign, 20 digits and CRLF fit with room to spare. */
#define RESP_HDR_MAX 32

/* Writes v in decimal at out; returns the length (at most 20). */
static size_t fmt_u64(char *out, unsigned long long v)
{
	char tmp[20];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

/* Writes v in decimal at out; returns the length (at most 20). */
static size_t fmt_ll(char *out, long long v)
{
	if (v < 0) {
		out[0] = '-';
		return 1 + fmt_u64(out + 1, 0ull - (unsigned long long)v);
	}
	return fmt_u64(out, (unsigned long long)v);
}

/* "<type><v>\r\n" into out; returns the length. */
static size_t fmt_hdr_ll(char *out, char type, long long v)
{
	size_t n;

	out[0] = type;
	n = 1 + fmt_ll(out + 1, v);
	out[n++] = '\r';
	out[n++] = '\n';
	return n;
}

static size_t fmt_hdr_u64(char *out, char type, unsigned long long v)
{
	size_t n;

	out[0] = type;
	n = 1 + fmt_u64(out + 1, v);
	out[n++] = '\r';
	out[n++] = '\n';
	return n;
}

static void put_hdr(struct resp_w *w, char type, unsigned long long v)
{
	char hdr[RESP_HDR_MAX];

	sbuf_append(w->b, hdr, fmt_hdr_u64(hdr, type, v));
}

void resp_w_raw(struct resp_w *w, const void *p, size_t n)
{
	sbuf_append(w->b, p, n);
}

void resp_w_simple(struct resp_w *w, const char *s)
{
	size_t n = strlen(s);

	sbuf_reserve(w->b, n + 3);
	sbuf_append_char(w->b, '+');
	sbuf_append(w->b, s, n);
	sbuf_append(w->b, "\r\n", 2);
}

void resp_w_ok(struct resp_w *w)
{
	sbuf_append(w->b, "+OK\r\n", 5);
}

/* The error reply for the n bytes at msg (which may hold NULs). */
static void put_error(struct resp_w *w, const char *msg, size_t n)
{
	struct sbuf *b = w->b;
	size_t from, i;

	sbuf_reserve(b, n + 7);
	if (n == 0 || msg[0] != '-')
		sbuf_append(b, "-ERR ", 5);
	from = b->len;
	sbuf_append(b, msg, n);
	for (i = from; i < b->len; i++) {
		if (b->p[i] == '\r' || b->p[i] == '\n')
			b->p[i] = ' ';
	}
	sbuf_append(b, "\r\n", 2);
	w->nerr++;
	if (w->on_error) {
		size_t len = 0;

		if (n && msg[0] == '-') {
			while (len + 1 < n && msg[len + 1] != ' ')
				len++;
			w->on_error(w->err_arg, msg + 1, len);
		} else {
			w->on_error(w->err_arg, "ERR", 3);
		}
	}
}

void resp_w_error(struct resp_w *w, const char *msg)
{
	put_error(w, msg, strlen(msg));
}

static bool is_crlf(char c)
{
	return c == '\r' || c == '\n';
}

void resp_w_errorf(struct resp_w *w, const char *fmt, ...)
{
	char stack[256], *s = stack;
	va_list ap, ap2;
	size_t from = 0, to;
	int n;

	va_start(ap, fmt);
	va_copy(ap2, ap);
	n = vsnprintf(stack, sizeof(stack), fmt, ap);
	va_end(ap);
	ASSERT(n >= 0);
	if ((size_t)n >= sizeof(stack)) {
		s = mem_alloc((size_t)n + 1);
		vsnprintf(s, (size_t)n + 1, fmt, ap2);
	}
	va_end(ap2);
	to = (size_t)n;
	while (from < to && is_crlf(s[from]))
		from++;
	while (to > from && is_crlf(s[to - 1]))
		to--;
	put_error(w, s + from, to - from);
	if (s != stack)
		mem_free(s);
}

void resp_w_int(struct resp_w *w, long long v)
{
	char hdr[RESP_HDR_MAX];

	sbuf_append(w->b, hdr, fmt_hdr_ll(hdr, ':', v));
}

void resp_w_bulk(struct resp_w *w, const void *p, size_t n)
{
	sbuf_reserve(w->b, RESP_HDR_MAX + n + 2);
	put_hdr(w, '$', n);
	sbuf_append(w->b, p, n);
	sbuf_append(w->b, "\r\n", 2);
}

void resp_w_bulk_cstr(struct resp_w *w, const char *s)
{
	if (!s) {
		resp_w_null(w);
		return;
	}
	resp_w_bulk(w, s, strlen(s));
}

void resp_w_bulk_ll(struct resp_w *w, long long v)
{
	char digits[RESP_HDR_MAX];

	resp_w_bulk(w, digits, fmt_ll(digits, v));
}

void resp_w_null(struct resp_w *w)
{
	if (w->proto == RESP3)
		sbuf_append(w->b, "_\r\n", 3);
	else
		sbuf_append(w->b, "$-1\r\n", 5);
}

void resp_w_null_array(struct resp_w *w)
{
	if (w->proto == RESP3)
		sbuf_append(w->b, "_\r\n", 3);
	else
		sbuf_append(w->b, "*-1\r\n", 5);
}

/* The header of an aggregate of type '*', '%', '~' or '>' holding n
 * elements (n pairs for '%'), in w's protocol; returns its length. */
static size_t fmt_aggr(const struct resp_w *w, char *out, char type, size_t n)
{
	unsigned long long count = n;

	ASSERT(type == '*' || type == '%' || type == '~' || type == '>');
	if (w->proto != RESP3) {
		if (type == '%')
			count *= 2;
		type = '*';
	}
	return fmt_hdr_u64(out, type, count);
}

static void put_aggr(struct resp_w *w, char type, size_t n)
{
	char hdr[RESP_HDR_MAX];

	sbuf_append(w->b, hdr, fmt_aggr(w, hdr, type, n));
}

void resp_w_array(struct resp_w *w, size_t n)
{
	put_aggr(w, '*', n);
}

void resp_w_map(struct resp_w *w, size_t n)
{
	put_aggr(w, '%', n);
}

void resp_w_set(struct resp_w *w, size_t n)
{
	put_aggr(w, '~', n);
}

void resp_w_push(struct resp_w *w, size_t n)
{
	put_aggr(w, '>', n);
}

int resp_format_double(char *buf, double d)
{
	if (isinf(d)) {
		strcpy(buf, d > 0 ? "inf" : "-inf");
		return d > 0 ? 3 : 4;
	}
	/* glibc prints a NaN with its sign bit set as "-nan". */
	if (isnan(d)) {
		strcpy(buf, "nan");
		return 3;
	}
	return snprintf(buf, 32, "%.17g", d);
}

void resp_w_double(struct resp_w *w, double d)
{
	char txt[32];
	int n = resp_format_double(txt, d);

	if (w->proto != RESP3) {
		resp_w_bulk(w, txt, (size_t)n);
		return;
	}
	sbuf_reserve(w->b, (size_t)n + 3);
	sbuf_append_char(w->b, ',');
	sbuf_append(w->b, txt, (size_t)n);
	sbuf_append(w->b, "\r\n", 2);
}

void resp_w_bool(struct resp_w *w, int b)
{
	if (w->proto == RESP3)
		sbuf_append(w->b, b ? "#t\r\n" : "#f\r\n", 4);
	else
		sbuf_append(w->b, b ? ":1\r\n" : ":0\r\n", 4);
}

void resp_w_verbatim(struct resp_w *w, const char *fmt, const void *p, size_t n)
{
	ASSERT(strlen(fmt) == 3);
	if (w->proto != RESP3) {
		resp_w_bulk(w, p, n);
		return;
	}
	sbuf_reserve(w->b, RESP_HDR_MAX + 4 + n + 2);
	put_hdr(w, '=', (unsigned long long)n + 4);
	sbuf_append(w->b, fmt, 3);
	sbuf_append_char(w->b, ':');
	sbuf_append(w->b, p, n);
	sbuf_append(w->b, "\r\n", 2);
}

size_t resp_w_defer(struct resp_w *w)
{
	return w->b->len;
}

void resp_w_defer_end(struct resp_w *w, size_t off, char type, size_t n)
{
	struct sbuf *b = w->b;
	char hdr[RESP_HDR_MAX];
	size_t hlen;

	ASSERT(off <= b->len);
	hlen = fmt_aggr(w, hdr, type, n);
	sbuf_reserve(b, hlen);
	memmove(b->p + off + hlen, b->p + off, b->len - off);
	memcpy(b->p + off, hdr, hlen);
	b->len += hlen;
}
