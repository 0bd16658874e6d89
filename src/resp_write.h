/*
 * resp_write.h - reply encoders for RESP2 and RESP3.
 *
 * Every command writes its reply through a struct resp_w, which names the
 * buffer and the protocol version of the client the reply is for. Where
 * RESP3 has a type RESP2 lacks, the encoder writes the RESP2 form Redis uses:
 *
 *   null      RESP3 "_\r\n"       RESP2 "$-1\r\n"  (resp_w_null)
 *   null arr  RESP3 "_\r\n"       RESP2 "*-1\r\n"  (resp_w_null_array)
 *   map n     RESP3 "%n\r\n"      RESP2 "*2n\r\n"
 *   set n     RESP3 "~n\r\n"      RESP2 "*n\r\n"
 *   push n    RESP3 ">n\r\n"      RESP2 "*n\r\n"
 *   double    RESP3 ",d\r\n"      RESP2 bulk string of the same text
 *   bool      RESP3 "#t\r\n"      RESP2 ":1\r\n" / ":0\r\n"
 *   verbatim  RESP3 "=n\r\ntxt:…" RESP2 bulk string without the "txt:" prefix
 *
 * Doubles are formatted as Redis 7.0 does: "%.17g", with "inf", "-inf" and
 * "nan" spelled so in both protocols.
 */
#ifndef STRATA_RESP_WRITE_H
#define STRATA_RESP_WRITE_H

#include "sbuf.h"

#include <stddef.h>
#include <stdint.h>

enum { RESP2 = 2, RESP3 = 3 };

struct resp_w {
	struct sbuf *b;		/* borrowed: where bytes are appended */
	int proto;		/* RESP2 or RESP3 */
	uint32_t nerr;		/* error replies written (for error stats) */
	/* Called for every error reply written, with its code: the first word
	 * ("ERR", "WRONGTYPE", "NOPERM" ...), not NUL-terminated. For INFO
	 * errorstats; NULL calls nothing. */
	void (*on_error)(void *arg, const char *code, size_t len);
	void *err_arg;		/* on_error's arg */
};

void resp_w_raw(struct resp_w *w, const void *p, size_t n);
void resp_w_simple(struct resp_w *w, const char *s);	/* +s\r\n */
void resp_w_ok(struct resp_w *w);			/* +OK\r\n */
/*
 * An error reply. msg is used as is when it starts with '-' (like
 * "-WRONGTYPE Operation ..."); otherwise "-ERR " is put before it, as Redis's
 * addReplyError does. Any '\r' or '\n' inside msg becomes a space so the reply
 * stays one line. Counts in w->nerr, and calls w->on_error.
 */
void resp_w_error(struct resp_w *w, const char *msg);
void resp_w_errorf(struct resp_w *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void resp_w_int(struct resp_w *w, long long v);		/* :v\r\n */
void resp_w_bulk(struct resp_w *w, const void *p, size_t n);
void resp_w_bulk_cstr(struct resp_w *w, const char *s);
void resp_w_bulk_ll(struct resp_w *w, long long v);	/* integer as bulk */
void resp_w_null(struct resp_w *w);
void resp_w_null_array(struct resp_w *w);
void resp_w_array(struct resp_w *w, size_t n);
void resp_w_map(struct resp_w *w, size_t n);		/* n pairs */
void resp_w_set(struct resp_w *w, size_t n);
void resp_w_push(struct resp_w *w, size_t n);
void resp_w_double(struct resp_w *w, double d);
void resp_w_bool(struct resp_w *w, int b);
/* fmt is a three-letter format such as "txt". */
void resp_w_verbatim(struct resp_w *w, const char *fmt, const void *p, size_t n);

/*
 * Aggregates whose length is known only after the elements are written:
 * off = resp_w_defer(w); ...elements...; resp_w_defer_end(w, off, '*', n).
 * type is '*' (array), '%' (map, n pairs), '~' (set) or '>' (push), and is
 * mapped to RESP2 as above. The header is inserted before the elements
 * (one memmove of them).
 */
size_t resp_w_defer(struct resp_w *w);
void resp_w_defer_end(struct resp_w *w, size_t off, char type, size_t n);

/* Formats d as a reply would ("%.17g", "inf", "-inf", "nan") into buf, which
 * must hold 32 bytes; returns the length. */
int resp_format_double(char *buf, double d);

#endif
