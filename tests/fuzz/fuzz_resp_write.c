/*
 * fuzz_resp_write.c - libFuzzer harness for the reply encoders.
 *
 * The input is a program: each value starts with an opcode byte choosing a
 * resp_w_* encoder, followed by its operands (lengths, integers, doubles as
 * 8 raw bytes, strings as raw bytes); aggregates, direct or deferred
 * (resp_w_defer .. resp_w_defer_end), are followed by their elements. Top
 * level values are replies written one after another into one sbuf, until
 * the input runs out; elements still owed after that are empty simple
 * strings. The same program is run for a RESP2 and a RESP3 client.
 *
 *   opcode % 19   operands
 *    0 simple     n % 64, n bytes (CR and LF become '.')
 *    1 ok
 *    2 error      n, 4n bytes (at most 255), frame (bits 0-3 put CR/LF at ends)
 *    3 errorf     n, 4n bytes (at most 1020), frame, form: odd "%s",
 *                 even "%s|%lld\r\n" and 8 bytes of the integer
 *    4 int        8 bytes, little-endian
 *    5 bulk       hi, lo, then 8 hi + lo % 8 bytes
 *    6 bulk_cstr  flag (odd: NULL), else n % 64, n bytes
 *    7 bulk_ll    8 bytes
 *    8 null, 9 null_array
 *   10 array, 11 map, 12 set, 13 push: n % 17, the elements (2n for a map)
 *   14 double     8 bytes, the IEEE 754 bits
 *   15 bool       v % 3 (2 is another true)
 *   16 verbatim   3 bytes for the format letters, n, n bytes
 *   17 defer      type % 4 (* % ~ >), n % 17, the elements, then defer_end
 *   18 raw        n % 64, n bytes: "+bytes\r\n" through resp_w_raw
 *
 * While it writes, the harness records what each value must look like on
 * the wire for that protocol (type byte, count or integer, exact payload),
 * in pre-order. A strict RESP reader written here then walks the buffer:
 * only the types of the protocol (+ - : $ * in RESP2; also % ~ > _ , # = in
 * RESP3), CRLF line ends with no CR or LF inside a line, canonical integers,
 * bulk payloads of exactly their length followed by CRLF, doubles that read
 * back to the very value written, every aggregate followed by its elements,
 * and nothing left over. Each value read must equal the one recorded. Error
 * messages carry CR and LF inside and at their ends, and errorf messages are
 * long enough to take its heap path. The error count (w->nerr) and the
 * allocation accounting (mem_used back to where it was) are checked too.
 */
#include "mem.h"
#include "resp_write.h"
#include "sbuf.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NODES	512	/* values per run, elements included */
#define MAX_DEPTH	6	/* aggregates nested deeper get no elements */
#define READ_DEPTH	64	/* the reader refuses deeper nesting */

#define MIN(a, b) ((a) < (b) ? (a) : (b))

#define CHECK(e) \
	do { if (!(e)) check_fail(#e, __LINE__); } while (0)

static _Noreturn void check_fail(const char *expr, int line)
{
	fprintf(stderr, "fuzz_resp_write.c:%d: check failed: %s\n", line, expr);
	abort();
}

/* ---- the input, read as operands --------------------------------------- */

struct rd {
	const uint8_t *p;
	size_t n;
};

/* The next byte, 0 once the input is used up. */
static uint8_t rd_byte(struct rd *r)
{
	uint8_t b;

	if (r->n == 0)
		return 0;
	b = *r->p++;
	r->n--;
	return b;
}

/* Up to 8 bytes as an integer (missing ones are 0). */
static uint64_t rd_u64(struct rd *r)
{
	uint64_t v = 0;
	size_t n = MIN(r->n, sizeof(v));

	memcpy(&v, r->p, n);
	r->p += n;
	r->n -= n;
	return v;
}

/* Up to n bytes: a view into the input, *got of them. */
static const uint8_t *rd_bytes(struct rd *r, size_t n, size_t *got)
{
	const uint8_t *p = r->p;

	*got = MIN(n, r->n);
	r->p += *got;
	r->n -= *got;
	return p;
}

/* Up to n bytes as a NUL-terminated string in out (cap > n); a NUL byte in
 * the input ends it early, as it would end any C string. */
static size_t rd_cstr(struct rd *r, size_t n, char *out)
{
	size_t got;
	const uint8_t *p = rd_bytes(r, n, &got);

	memcpy(out, p, got);
	out[got] = '\0';
	return strlen(out);
}

/* ---- what the reader must find ----------------------------------------- */

enum kind {
	K_LINE,		/* + or -: payload is the line after the type byte */
	K_INT,		/* ':' num */
	K_BULK,		/* '$' payload */
	K_NULL,		/* '_' (RESP3) or '$' / '*' with num -1 (RESP2) */
	K_AGGR,		/* '*' '%' '~' '>' with num elements (num pairs for '%') */
	K_DOUBLE,	/* ',' (RESP3) or '$' (RESP2) text reading back as d */
	K_BOOL,		/* '#' num 0 or 1 */
	K_VERB,		/* '=' payload, "fmt:" and the data */
};

struct node {
	enum kind kind;
	char type;		/* the type byte expected */
	long long num;
	double d;
	size_t off;		/* payload in the gen's arena */
	size_t len;
};

struct bytes {
	char *p;
	size_t len;
	size_t cap;
};

static void bytes_put(struct bytes *b, const void *p, size_t n)
{
	if (b->cap - b->len < n) {
		size_t ncap = b->cap * 2 > b->len + n + 64 ? b->cap * 2 : b->len + n + 64;

		b->p = realloc(b->p, ncap);
		CHECK(b->p != NULL);
		b->cap = ncap;
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* ---- writing: the program, run against resp_w_* ----------------------- */

enum op {
	OP_SIMPLE, OP_OK, OP_ERROR, OP_ERRORF, OP_INT, OP_BULK, OP_BULK_CSTR,
	OP_BULK_LL, OP_NULL, OP_NULL_ARRAY, OP_ARRAY, OP_MAP, OP_SET, OP_PUSH,
	OP_DOUBLE, OP_BOOL, OP_VERBATIM, OP_DEFER, OP_RAW,
	OP_COUNT
};

struct gen {
	struct resp_w w;
	struct rd rd;
	struct node *nodes;	/* pre-order */
	size_t nnodes;
	size_t capnodes;
	struct bytes arena;	/* node payloads */
	size_t budget;		/* values that may still be announced */
	uint32_t nerr;		/* error replies written */
};

static size_t node_new(struct gen *g, enum kind kind, char type)
{
	struct node *e;

	if (g->nnodes == g->capnodes) {
		g->capnodes = g->capnodes ? 2 * g->capnodes : 64;
		g->nodes = realloc(g->nodes, g->capnodes * sizeof(*g->nodes));
		CHECK(g->nodes != NULL);
	}
	e = &g->nodes[g->nnodes];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->type = type;
	e->off = g->arena.len;
	return g->nnodes++;
}

/* Appends to the payload of node i, which must be the last one given one. */
static void node_put(struct gen *g, size_t i, const void *p, size_t n)
{
	CHECK(g->nodes[i].off + g->nodes[i].len == g->arena.len);
	bytes_put(&g->arena, p, n);
	g->nodes[i].len += n;
}

static bool is_crlf(char c)
{
	return c == '\r' || c == '\n';
}

/* The line of an error reply for msg[0 .. n): its own code after a leading
 * '-', else "ERR " before it; CR and LF become spaces. */
static void expect_error(struct gen *g, const char *msg, size_t n)
{
	size_t i = node_new(g, K_LINE, '-'), from;

	if (n > 0 && msg[0] == '-') {
		msg++;
		n--;
	} else {
		node_put(g, i, "ERR ", 4);
	}
	from = g->arena.len;
	node_put(g, i, msg, n);
	for (size_t j = from; j < g->arena.len; j++) {
		if (is_crlf(g->arena.p[j]))
			g->arena.p[j] = ' ';
	}
	g->nerr++;
}

static void expect_null(struct gen *g, char resp2_type)
{
	size_t i;

	if (g->w.proto == RESP3) {
		node_new(g, K_NULL, '_');
	} else {
		i = node_new(g, K_NULL, resp2_type);
		g->nodes[i].num = -1;
	}
}

static size_t expect_aggr(struct gen *g, char type, size_t n)
{
	size_t i;

	if (g->w.proto == RESP3) {
		i = node_new(g, K_AGGR, type);
		g->nodes[i].num = (long long)n;
	} else {
		i = node_new(g, K_AGGR, '*');
		g->nodes[i].num = (long long)(type == '%' ? 2 * n : n);
	}
	return i;
}

/* Elements of an aggregate about to be written: taken from the budget so a
 * run stays within MAX_NODES values. Returns the count (pairs for '%'). */
static size_t gen_count(struct gen *g, int depth, char type)
{
	size_t per = type == '%' ? 2 : 1;
	size_t n = rd_byte(&g->rd) % 17;

	if (depth >= MAX_DEPTH)
		n = 0;
	n = MIN(n, g->budget / per);
	g->budget -= n * per;
	return n;
}

static void gen_value(struct gen *g, int depth);

static void gen_elements(struct gen *g, int depth, char type, size_t n)
{
	size_t count = type == '%' ? 2 * n : n;

	for (size_t k = 0; k < count; k++)
		gen_value(g, depth + 1);
}

/* An error message of up to max bytes, with CR and LF likely inside and at
 * both ends (the input chooses). */
static size_t gen_message(struct gen *g, size_t max, char *out)
{
	size_t want = (size_t)rd_byte(&g->rd) * 4;
	size_t n = rd_cstr(&g->rd, MIN(want, max), out);
	uint8_t frame = rd_byte(&g->rd);

	/* Bit 0..3: replace the first/last byte with CR/LF. */
	if (n > 0 && (frame & 1))
		out[0] = (frame & 2) ? '\r' : '\n';
	if (n > 1 && (frame & 4))
		out[n - 1] = (frame & 8) ? '\r' : '\n';
	return n;
}

static void gen_value(struct gen *g, int depth)
{
	static const char aggr_types[4] = { '*', '%', '~', '>' };
	enum op op = (enum op)(rd_byte(&g->rd) % OP_COUNT);
	char s[1024 + 64], fmt[4];
	const uint8_t *data;
	size_t i, n, from, to, off;
	long long ll;
	double d;
	char type;

	switch (op) {
	case OP_SIMPLE:
		n = rd_cstr(&g->rd, rd_byte(&g->rd) % 64, s);
		/* The caller's side of the contract: no CR or LF. */
		for (size_t j = 0; j < n; j++) {
			if (is_crlf(s[j]))
				s[j] = '.';
		}
		resp_w_simple(&g->w, s);
		i = node_new(g, K_LINE, '+');
		node_put(g, i, s, n);
		break;
	case OP_OK:
		resp_w_ok(&g->w);
		i = node_new(g, K_LINE, '+');
		node_put(g, i, "OK", 2);
		break;
	case OP_ERROR:
		n = gen_message(g, 255, s);
		resp_w_error(&g->w, s);
		expect_error(g, s, n);
		break;
	case OP_ERRORF:
		n = gen_message(g, 1020, s);
		if (rd_byte(&g->rd) & 1) {
			resp_w_errorf(&g->w, "%s", s);
		} else {
			ll = (long long)rd_u64(&g->rd);
			resp_w_errorf(&g->w, "%s|%lld\r\n", s, ll);
			n = (size_t)snprintf(s + n, sizeof(s) - n, "|%lld\r\n", ll) + n;
		}
		/* errorf trims CR and LF at both ends first. */
		from = 0;
		to = n;
		while (from < to && is_crlf(s[from]))
			from++;
		while (to > from && is_crlf(s[to - 1]))
			to--;
		expect_error(g, s + from, to - from);
		break;
	case OP_INT:
		ll = (long long)rd_u64(&g->rd);
		resp_w_int(&g->w, ll);
		i = node_new(g, K_INT, ':');
		g->nodes[i].num = ll;
		break;
	case OP_BULK:
		n = rd_byte(&g->rd);
		n = n * 8 + rd_byte(&g->rd) % 8;
		data = rd_bytes(&g->rd, n, &n);
		resp_w_bulk(&g->w, data, n);
		i = node_new(g, K_BULK, '$');
		node_put(g, i, data, n);
		break;
	case OP_BULK_CSTR:
		if (rd_byte(&g->rd) & 1) {
			resp_w_bulk_cstr(&g->w, NULL);
			expect_null(g, '$');
			break;
		}
		n = rd_cstr(&g->rd, rd_byte(&g->rd) % 64, s);
		resp_w_bulk_cstr(&g->w, s);
		i = node_new(g, K_BULK, '$');
		node_put(g, i, s, n);
		break;
	case OP_BULK_LL:
		ll = (long long)rd_u64(&g->rd);
		resp_w_bulk_ll(&g->w, ll);
		n = (size_t)snprintf(s, sizeof(s), "%lld", ll);
		i = node_new(g, K_BULK, '$');
		node_put(g, i, s, n);
		break;
	case OP_NULL:
		resp_w_null(&g->w);
		expect_null(g, '$');
		break;
	case OP_NULL_ARRAY:
		resp_w_null_array(&g->w);
		expect_null(g, '*');
		break;
	case OP_ARRAY:
	case OP_MAP:
	case OP_SET:
	case OP_PUSH:
		type = aggr_types[op - OP_ARRAY];
		n = gen_count(g, depth, type);
		switch (type) {
		case '*': resp_w_array(&g->w, n); break;
		case '%': resp_w_map(&g->w, n); break;
		case '~': resp_w_set(&g->w, n); break;
		default: resp_w_push(&g->w, n); break;
		}
		expect_aggr(g, type, n);
		gen_elements(g, depth, type, n);
		break;
	case OP_DOUBLE:
		ll = (long long)rd_u64(&g->rd);
		memcpy(&d, &ll, sizeof(d));
		resp_w_double(&g->w, d);
		i = node_new(g, K_DOUBLE, g->w.proto == RESP3 ? ',' : '$');
		g->nodes[i].d = d;
		n = (size_t)resp_format_double(s, d);
		CHECK(n > 0 && n < 32 && strlen(s) == n);
		break;
	case OP_BOOL:
		n = rd_byte(&g->rd) % 3;	/* 2: any nonzero is true */
		resp_w_bool(&g->w, (int)n);
		i = node_new(g, g->w.proto == RESP3 ? K_BOOL : K_INT,
			     g->w.proto == RESP3 ? '#' : ':');
		g->nodes[i].num = n != 0;
		break;
	case OP_VERBATIM:
		for (int j = 0; j < 3; j++)
			fmt[j] = (char)('a' + rd_byte(&g->rd) % 26);
		fmt[3] = '\0';
		n = rd_byte(&g->rd);
		data = rd_bytes(&g->rd, n, &n);
		resp_w_verbatim(&g->w, fmt, data, n);
		if (g->w.proto == RESP3) {
			i = node_new(g, K_VERB, '=');
			node_put(g, i, fmt, 3);
			node_put(g, i, ":", 1);
		} else {
			i = node_new(g, K_BULK, '$');
		}
		node_put(g, i, data, n);
		break;
	case OP_DEFER:
		type = aggr_types[rd_byte(&g->rd) % 4];
		off = resp_w_defer(&g->w);
		CHECK(off == g->w.b->len);
		/* The header goes first in pre-order: its node is made now and
		 * counted once the elements are written. */
		i = expect_aggr(g, type, 0);
		n = gen_count(g, depth, type);
		gen_elements(g, depth, type, n);
		resp_w_defer_end(&g->w, off, type, n);
		g->nodes[i].num = (long long)(g->w.proto != RESP3 && type == '%' ? 2 * n : n);
		break;
	case OP_RAW:
		s[0] = '+';
		n = rd_cstr(&g->rd, rd_byte(&g->rd) % 64, s + 1);
		for (size_t j = 1; j <= n; j++) {
			if (is_crlf(s[j]))
				s[j] = '_';
		}
		resp_w_raw(&g->w, s, n + 1);
		resp_w_raw(&g->w, "\r\n", 2);
		i = node_new(g, K_LINE, '+');
		node_put(g, i, s + 1, n);
		break;
	case OP_COUNT:
		break;
	}
}

/* ---- reading: a strict RESP reply reader ------------------------------ */

struct reader {
	const char *p;		/* the replies */
	size_t len;
	size_t pos;
	int proto;
	const struct gen *g;	/* what must be found */
	size_t next;		/* index of the next node expected */
};

/* The rest of a line, up to CRLF, which is consumed. No CR or LF inside. */
static const char *read_line(struct reader *r, size_t *n)
{
	const char *start = r->p + r->pos;
	const char *cr = memchr(start, '\r', r->len - r->pos);

	CHECK(cr != NULL);
	*n = (size_t)(cr - start);
	CHECK(memchr(start, '\n', *n) == NULL);
	CHECK(r->len - r->pos > *n + 1 && cr[1] == '\n');
	r->pos += *n + 2;
	return start;
}

/* A canonical decimal long long: optional '-', no leading zero, no "-0". */
static long long read_number(const char *s, size_t n)
{
	unsigned long long v = 0, lim;
	bool neg = n > 0 && s[0] == '-';
	size_t i = neg;

	CHECK(n > i);
	CHECK(s[i] != '0' || n == i + 1);
	CHECK(!(neg && s[i] == '0'));
	lim = neg ? (unsigned long long)INT64_MAX + 1 : (unsigned long long)INT64_MAX;
	for (; i < n; i++) {
		CHECK(s[i] >= '0' && s[i] <= '9');
		CHECK(v <= (lim - (unsigned)(s[i] - '0')) / 10);
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (neg)
		return v == (unsigned long long)INT64_MAX + 1 ? INT64_MIN : -(long long)v;
	return (long long)v;
}

/* A RESP3 double's text: inf, -inf, nan, or [-]digits[.digits][e[+-]digits];
 * returns its value. */
static double read_double(const char *s, size_t n)
{
	char tmp[64], *end;
	size_t i = 0;
	double d;

	if (n == 3 && memcmp(s, "inf", 3) == 0)
		return INFINITY;
	if (n == 4 && memcmp(s, "-inf", 4) == 0)
		return -INFINITY;
	if (n == 3 && memcmp(s, "nan", 3) == 0)
		return NAN;
	CHECK(n > 0 && n < sizeof(tmp));
	if (s[i] == '-')
		i++;
	CHECK(i < n && s[i] >= '0' && s[i] <= '9');
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i < n && s[i] == '.') {
		i++;
		CHECK(i < n && s[i] >= '0' && s[i] <= '9');
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		CHECK(i < n && s[i] >= '0' && s[i] <= '9');
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	CHECK(i == n);
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	d = strtod(tmp, &end);
	CHECK(end == tmp + n);
	return d;
}

static void check_double(const struct node *e, const char *s, size_t n)
{
	double d = read_double(s, n);

	if (isnan(e->d))
		CHECK(isnan(d));
	else
		CHECK(memcmp(&d, &e->d, sizeof(d)) == 0);	/* -0 too */
}

static void check_payload(const struct reader *r, const struct node *e,
			  const char *p, size_t n)
{
	CHECK(n == e->len);
	CHECK(n == 0 || memcmp(p, r->g->arena.p + e->off, n) == 0);
}

/* A bulk's payload after its length line; NULL for the RESP2 null bulk. */
static const char *read_bulk(struct reader *r, size_t *n)
{
	size_t hn;
	const char *h = read_line(r, &hn);
	long long len = read_number(h, hn);
	const char *p;

	if (len == -1) {
		CHECK(r->proto == RESP2);
		*n = 0;
		return NULL;
	}
	CHECK(len >= 0);
	CHECK((unsigned long long)len <= r->len - r->pos &&
	      r->len - r->pos - (size_t)len >= 2);
	p = r->p + r->pos;
	CHECK(p[len] == '\r' && p[len + 1] == '\n');
	r->pos += (size_t)len + 2;
	*n = (size_t)len;
	return p;
}

static void read_value(struct reader *r, int depth)
{
	const struct node *e;
	const char *p;
	long long num;
	size_t n;
	char type;

	CHECK(depth < READ_DEPTH);
	CHECK(r->pos < r->len);
	CHECK(r->next < r->g->nnodes);
	e = &r->g->nodes[r->next++];
	type = r->p[r->pos++];
	if (r->proto == RESP2)
		CHECK(strchr("+-:$*", type) != NULL && type != '\0');
	else
		CHECK(strchr("+-:$*%~>_,#=", type) != NULL && type != '\0');
	CHECK(type == e->type);
	switch (type) {
	case '+':
	case '-':
		p = read_line(r, &n);
		CHECK(e->kind == K_LINE);
		check_payload(r, e, p, n);
		break;
	case ':':
		p = read_line(r, &n);
		CHECK(e->kind == K_INT && read_number(p, n) == e->num);
		break;
	case '$':
		p = read_bulk(r, &n);
		if (p == NULL)
			CHECK(e->kind == K_NULL);
		else if (e->kind == K_DOUBLE)
			check_double(e, p, n);
		else {
			CHECK(e->kind == K_BULK);
			check_payload(r, e, p, n);
		}
		break;
	case '=':
		p = read_bulk(r, &n);
		CHECK(p != NULL && n >= 4 && p[3] == ':');
		for (int j = 0; j < 3; j++)
			CHECK(p[j] > ' ' && p[j] < 0x7f);
		CHECK(e->kind == K_VERB);
		check_payload(r, e, p, n);
		break;
	case '*':
	case '%':
	case '~':
	case '>':
		p = read_line(r, &n);
		num = read_number(p, n);
		CHECK(num >= 0 || (num == -1 && type == '*' && r->proto == RESP2));
		CHECK(e->kind == (num == -1 ? K_NULL : K_AGGR) && num == e->num);
		if (type == '%')
			num *= 2;
		for (long long k = 0; k < num; k++)
			read_value(r, depth + 1);
		break;
	case '_':
		read_line(r, &n);
		CHECK(n == 0 && e->kind == K_NULL);
		break;
	case ',':
		p = read_line(r, &n);
		CHECK(e->kind == K_DOUBLE);
		check_double(e, p, n);
		break;
	case '#':
		p = read_line(r, &n);
		CHECK(n == 1 && (p[0] == 't' || p[0] == 'f'));
		CHECK(e->kind == K_BOOL && (p[0] == 't') == (e->num != 0));
		break;
	}
}

/* ---- one run per protocol --------------------------------------------- */

static void run(const uint8_t *data, size_t size, int proto)
{
	size_t mem_before = mem_used();
	struct sbuf b = { 0 };
	struct gen g;
	struct reader r;

	memset(&g, 0, sizeof(g));
	g.w.b = &b;
	g.w.proto = proto;
	g.rd.p = data;
	g.rd.n = size;
	g.budget = MAX_NODES;
	while (g.rd.n > 0 && g.budget > 0) {
		g.budget--;
		gen_value(&g, 0);
	}
	CHECK(b.len <= b.cap);
	CHECK(g.w.nerr == g.nerr);

	memset(&r, 0, sizeof(r));
	r.p = b.p;
	r.len = b.len;
	r.proto = proto;
	r.g = &g;
	while (r.pos < r.len)
		read_value(&r, 0);
	CHECK(r.next == g.nnodes);

	sbuf_free(&b);
	CHECK(mem_used() == mem_before);
	free(g.nodes);
	free(g.arena.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run(data, size, RESP2);
	run(data, size, RESP3);
	return 0;
}
