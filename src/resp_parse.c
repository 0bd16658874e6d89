/*
 * resp_parse.c - the request parser: RESP2 multibulk and inline commands.
 *
 * Wire format. A request starting with '*' is a multibulk:
 *
 *     *<count>\r\n  then count times  $<len>\r\n<len bytes>\r\n
 *
 * and anything else is an inline command, one line ended by '\n' (a '\r'
 * before it is dropped) and split into words as redis-cli would quote them.
 *
 * What the client sees is Redis 7.0's networking.c, byte for byte, including
 * its quirks, because clients and the Redis test suite depend on them:
 *
 *  - A header line ('*' count or '$' length) ends at the first '\r', and the
 *    byte after it is skipped unchecked, as is the 2-byte terminator after a
 *    bulk's data: "$3\r\nfooXY" is the argument "foo". The header contract
 *    "the byte after an argument is its '\r'" therefore holds for well-formed
 *    input; for any input, that byte is inside the buffer.
 *  - Numbers are read with string2ll's rules: an optional '-', no '+', no
 *    blanks, no leading zero, at most 20 characters, within long long.
 *  - A header ('*' or '$' line) whose '\r' is not among its first 64 KiB + 1
 *    bytes is too big, as is an inline request whose '\n' is not among its
 *    first max_inline + 1 bytes. Redis applies the limit to whatever its
 *    reads happen to have buffered, so for a longer line its answer depends
 *    on how the bytes were chunked; we answer as Redis does when the bytes
 *    arrive one at a time, which makes the outcome a function of the byte
 *    stream alone. Lines within the limit are treated identically.
 *  - Redis finds line ends with strchr() on its NUL-terminated query buffer,
 *    so a NUL byte before the line end hides the end: the request waits for
 *    data until the size limit above turns it into an error. We stop line
 *    scans at a NUL for the same result (bulk data may hold any byte).
 *  - A header's errors are reported only once its line is complete, in
 *    Redis's order: '$' expected, then the number, then the limits.
 *
 * State. The parser never rescans: p->pos is the next byte to look at. For
 * a line being searched it is where the search stopped (at a NUL it stays
 * there); while bulk data arrives it is the data's start, with p->bulk_len
 * its length. The start of a bulk header line is not stored: it is the end
 * of the previous argument plus 2 (argv entries stay valid across calls), or
 * for the first argument the end of the count line, which is at most 22
 * bytes past p->start since its count parsed. argv is filled lazily: the
 * parser asks for room (RESP_NEED_ARGV) only when an argument is complete
 * and argv is full, so a client announcing a huge count costs nothing until
 * it sends the arguments.
 *
 * Inline commands are split in two passes over the complete line: the first
 * counts words and checks quoting without writing, so RESP_NEED_ARGV and
 * RESP_ERROR leave the buffer untouched and the call can be repeated; the
 * second unescapes each word in place (a word never grows when unescaped, so
 * it is written over its own bytes) and fills argv.
 */
#include "resp_parse.h"
#include "util.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define RESP_DEF_MAX_BULK	(512ull * 1024 * 1024)	/* proto-max-bulk-len */
#define RESP_DEF_MAX_ARGS	INT32_MAX
#define RESP_DEF_MAX_INLINE	(64 * 1024)		/* PROTO_INLINE_MAX_SIZE */
#define RESP_HEADER_MAX		(64 * 1024)		/* PROTO_INLINE_MAX_SIZE */
#define RESP_UNAUTH_MAX_ARGS	10
#define RESP_UNAUTH_MAX_BULK	16384
#define RESP_NUM_MAX_CHARS	20	/* string2ll: LONG_STR_SIZE - 1 */

/* Internal: a step made progress and parsing goes on. */
enum { STEP_GO = 100 };

void resp_parser_reset(struct resp_parser *p, size_t start)
{
	p->argc = -1;
	p->nargs = 0;
	p->bulk_len = -1;
	p->pos = start;
	p->start = start;
	p->need = 0;
	p->err = RESP_ERR_NONE;
	p->err_byte = 0;
	p->kind = 0;
}

static int parse_fail(struct resp_parser *p, enum resp_err err)
{
	p->err = err;
	p->need = 0;
	return RESP_ERROR;
}

static int parse_wait(struct resp_parser *p, uint64_t need)
{
	p->need = need;
	return RESP_NEED_MORE;
}

/*
 * Index of the first `term` or NUL in buf[from .. len), or len. The NUL stop
 * is Redis's strchr() (see the essay). A scan stuck at a NUL returns at once
 * on the next call, so waiting behind a NUL stays O(1) per call.
 */
static size_t scan_line(const char *buf, size_t from, size_t len, char term)
{
	const char *t, *z;
	size_t end;

	if (from >= len)
		return len;
	if (buf[from] == '\0')
		return from;
	t = memchr(buf + from, term, len - from);
	end = t ? (size_t)(t - buf) : len;
	z = memchr(buf + from, '\0', end - from);
	return z ? (size_t)(z - buf) : end;
}

/* Strict decimal: Redis string2ll's grammar and range (see the essay). */
static bool parse_ll(const char *s, size_t n, long long *out)
{
	unsigned long long v;
	bool neg = false;
	size_t i = 0;

	if (n == 0 || n > RESP_NUM_MAX_CHARS)
		return false;
	if (n == 1 && s[0] == '0') {
		*out = 0;
		return true;
	}
	if (s[0] == '-') {
		neg = true;
		i = 1;
		if (n == 1)
			return false;
	}
	if (s[i] < '1' || s[i] > '9')
		return false;
	v = (unsigned long long)(s[i++] - '0');
	for (; i < n; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return false;
		d = (unsigned)(s[i] - '0');
		if (v > (ULLONG_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (neg) {
		if (v > (unsigned long long)LLONG_MAX + 1)
			return false;
		*out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
	} else {
		if (v > (unsigned long long)LLONG_MAX)
			return false;
		*out = (long long)v;
	}
	return true;
}

/*
 * Looks for the end of the line starting at offset line, resuming at p->pos:
 * the first term among the line's first max + 1 bytes, unless a NUL comes
 * before it. Returns 1 with p->pos at the terminator, 0 when more bytes may
 * still bring it, -1 when the line is too long. p->pos keeps where the search
 * stopped, so no byte is looked at twice (or, behind a NUL, none again).
 */
static int line_end(struct resp_parser *p, const char *buf, size_t len,
		    size_t line, size_t max, char term)
{
	size_t lim = len - line > max ? line + max + 1 : len;
	size_t i = scan_line(buf, p->pos, lim, term);

	p->pos = i;
	if (i < lim && buf[i] == term)
		return 1;
	return len - line > max ? -1 : 0;
}

/*
 * Finds the end of the header line starting at line. Returns STEP_GO with
 * *cr at its '\r' once the '\r' and the byte after it are in the buffer;
 * otherwise NEED_MORE, or big_err for a line too long.
 */
static int header_line(struct resp_parser *p, const char *buf, size_t len,
		       size_t line, enum resp_err big_err, size_t *cr)
{
	int found = line_end(p, buf, len, line, RESP_HEADER_MAX, '\r');

	if (found < 0)
		return parse_fail(p, big_err);
	if (found == 0)
		return parse_wait(p, (uint64_t)len + 1);
	if (len - p->pos < 2)
		return parse_wait(p, (uint64_t)p->pos + 2);
	*cr = p->pos;
	return STEP_GO;
}

static int parse_count(struct resp_parser *p, const char *buf, size_t len)
{
	int64_t max_args = p->max_args > 0 ? p->max_args : RESP_DEF_MAX_ARGS;
	long long ll;
	size_t cr;
	int rc;

	rc = header_line(p, buf, len, p->start, RESP_ERR_BIG_MBULK, &cr);
	if (rc != STEP_GO)
		return rc;
	if (!parse_ll(buf + p->start + 1, cr - p->start - 1, &ll) ||
	    ll > INT32_MAX || ll > max_args)
		return parse_fail(p, RESP_ERR_MBULK_LEN);
	if (ll > RESP_UNAUTH_MAX_ARGS && p->unauthenticated)
		return parse_fail(p, RESP_ERR_UNAUTH_MBULK);
	p->pos = cr + 2;
	/* A count <= 0 is a complete command without arguments. */
	p->argc = ll > 0 ? ll : 0;
	return STEP_GO;
}

/* Offset of the '$' line of argument p->nargs (see the essay). */
static size_t bulk_header_start(const struct resp_parser *p, const char *buf,
				size_t len, const struct resp_arg *argv)
{
	const char *cr;

	if (p->nargs > 0) {
		const struct resp_arg *prev = &argv[p->nargs - 1];

		return prev->off + prev->len + 2;
	}
	cr = memchr(buf + p->start, '\r', MIN(len - p->start, RESP_NUM_MAX_CHARS + 2));
	ASSERT(cr != NULL);
	return (size_t)(cr - buf) + 2;
}

static int parse_bulk_header(struct resp_parser *p, const char *buf, size_t len,
			     const struct resp_arg *argv)
{
	uint64_t max_bulk = p->max_bulk_len ? p->max_bulk_len : RESP_DEF_MAX_BULK;
	size_t line = bulk_header_start(p, buf, len, argv);
	long long ll;
	size_t cr;
	int rc;

	rc = header_line(p, buf, len, line, RESP_ERR_BIG_BULK, &cr);
	if (rc != STEP_GO)
		return rc;
	if (buf[line] != '$') {
		p->err_byte = buf[line];
		return parse_fail(p, RESP_ERR_EXPECTED_DOLLAR);
	}
	if (!parse_ll(buf + line + 1, cr - line - 1, &ll) || ll < 0 ||
	    (uint64_t)ll > max_bulk)
		return parse_fail(p, RESP_ERR_BULK_LEN);
	if (ll > RESP_UNAUTH_MAX_BULK && p->unauthenticated)
		return parse_fail(p, RESP_ERR_UNAUTH_BULK);
	p->pos = cr + 2;
	p->bulk_len = ll;
	return STEP_GO;
}

static int parse_multibulk(struct resp_parser *p, const char *buf, size_t len,
			   struct resp_arg *argv, size_t cap)
{
	int rc;

	if (p->argc < 0) {
		rc = parse_count(p, buf, len);
		if (rc != STEP_GO)
			return rc;
	}
	while (p->nargs < p->argc) {
		if (p->bulk_len < 0) {
			rc = parse_bulk_header(p, buf, len, argv);
			if (rc != STEP_GO)
				return rc;
		}
		/* The data and the two terminator bytes, skipped unchecked. */
		if (len - p->pos < (uint64_t)p->bulk_len + 2)
			return parse_wait(p, (uint64_t)p->pos + (uint64_t)p->bulk_len + 2);
		if ((uint64_t)p->nargs >= cap)
			return RESP_NEED_ARGV;
		argv[p->nargs].off = p->pos;
		argv[p->nargs].len = (size_t)p->bulk_len;
		p->pos += (size_t)p->bulk_len + 2;
		p->nargs++;
		p->bulk_len = -1;
	}
	return RESP_DONE;
}

/* Blank in the C locale, as isspace() is for sdssplitargs. */
static bool is_blank(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Ends an unquoted word: sdssplitargs stops only on these, not on \v \f. */
static bool is_word_end(char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static char unescape_char(char c)
{
	switch (c) {
	case 'n': return '\n';
	case 'r': return '\r';
	case 't': return '\t';
	case 'b': return '\b';
	case 'a': return '\a';
	default: return c;
	}
}

/*
 * Splits buf[from .. end) with sdssplitargs' rules. A quote may open inside
 * a word ("ab\"c d\"" is one word), and a closing quote must be followed by a
 * blank or the end of the line. With argv NULL it only counts and checks;
 * otherwise it unescapes each word over its own first bytes (the write index
 * never passes the read index) and records it. Returns the word count, or -1
 * for unbalanced quotes.
 */
static int64_t split_inline(char *buf, size_t from, size_t end,
			    struct resp_arg *argv)
{
	int64_t n = 0;
	size_t i = from;

	for (;;) {
		enum { Q_NONE, Q_DOUBLE, Q_SINGLE } q = Q_NONE;
		size_t w, word;
		bool done = false;

		while (i < end && is_blank(buf[i]))
			i++;
		if (i == end)
			return n;
		word = w = i;
		while (!done) {
			char c;

			if (q == Q_NONE) {
				if (i == end)
					break;
				c = buf[i++];
				if (is_word_end(c)) {
					done = true;
					continue;
				}
				if (c == '"') {
					q = Q_DOUBLE;
					continue;
				}
				if (c == '\'') {
					q = Q_SINGLE;
					continue;
				}
			} else if (i == end) {
				return -1;	/* unterminated quotes */
			} else if (q == Q_DOUBLE) {
				c = buf[i];
				if (c == '\\' && end - i >= 4 && buf[i + 1] == 'x' &&
				    hex_val(buf[i + 2]) >= 0 && hex_val(buf[i + 3]) >= 0) {
					c = (char)(hex_val(buf[i + 2]) * 16 + hex_val(buf[i + 3]));
					i += 4;
				} else if (c == '\\' && end - i >= 2) {
					c = unescape_char(buf[i + 1]);
					i += 2;
				} else if (c == '"') {
					if (end - i >= 2 && !is_blank(buf[i + 1]))
						return -1;
					i++;
					done = true;
					continue;
				} else {
					i++;
				}
			} else {
				c = buf[i];
				if (c == '\\' && end - i >= 2 && buf[i + 1] == '\'') {
					c = '\'';
					i += 2;
				} else if (c == '\'') {
					if (end - i >= 2 && !is_blank(buf[i + 1]))
						return -1;
					i++;
					done = true;
					continue;
				} else {
					i++;
				}
			}
			if (argv)
				buf[w] = c;
			w++;
		}
		if (argv) {
			argv[n].off = word;
			argv[n].len = w - word;
		}
		n++;
	}
}

static int parse_inline(struct resp_parser *p, char *buf, size_t len,
			struct resp_arg *argv, size_t cap)
{
	size_t max_inline = p->max_inline ? p->max_inline : RESP_DEF_MAX_INLINE;
	size_t nl, end;
	int64_t n;
	int found;

	found = line_end(p, buf, len, p->start, max_inline, '\n');
	if (found < 0)
		return parse_fail(p, RESP_ERR_BIG_INLINE);
	if (found == 0)
		return parse_wait(p, (uint64_t)len + 1);
	nl = p->pos;
	end = nl;
	if (end > p->start && buf[end - 1] == '\r')
		end--;
	n = split_inline(buf, p->start, end, NULL);
	if (n < 0)
		return parse_fail(p, RESP_ERR_QUOTES);
	p->argc = n;
	if ((uint64_t)n > cap)
		return RESP_NEED_ARGV;	/* buffer untouched: the call can repeat */
	split_inline(buf, p->start, end, argv);
	p->nargs = n;
	p->pos = nl + 1;
	return RESP_DONE;
}

int resp_parse(struct resp_parser *p, char *buf, size_t len,
	       struct resp_arg *argv, size_t cap, size_t *argc, size_t *consumed)
{
	int rc;

	if (p->err != RESP_ERR_NONE)
		return RESP_ERROR;
	if (p->kind == 0) {
		if (p->start >= len)
			return parse_wait(p, (uint64_t)p->start + 1);
		p->kind = buf[p->start] == '*' ? '*' : 'i';
		p->argc = -1;
		p->nargs = 0;
		p->bulk_len = -1;
		p->pos = p->start;
	}
	/* The caller must never shrink what it already passed. */
	ASSERT(p->pos <= len);
	/* Done already (called again without a reset): the same answer. */
	if (p->argc >= 0 && p->nargs == p->argc) {
		rc = RESP_DONE;
	} else if (p->kind == '*') {
		rc = parse_multibulk(p, buf, len, argv, cap);
	} else {
		rc = parse_inline(p, buf, len, argv, cap);
	}
	if (rc == RESP_DONE) {
		p->need = 0;
		*argc = (size_t)p->nargs;
		*consumed = p->pos;
	}
	return rc;
}

void resp_parse_strerror(const struct resp_parser *p, char *out, size_t cap)
{
	const char *msg;

	switch (p->err) {
	case RESP_ERR_NONE:
		msg = "no error";
		break;
	case RESP_ERR_MBULK_LEN:
		msg = "Protocol error: invalid multibulk length";
		break;
	case RESP_ERR_BULK_LEN:
		msg = "Protocol error: invalid bulk length";
		break;
	case RESP_ERR_EXPECTED_DOLLAR:
		snprintf(out, cap, "Protocol error: expected '$', got '%c'", p->err_byte);
		return;
	case RESP_ERR_BIG_MBULK:
		msg = "Protocol error: too big mbulk count string";
		break;
	case RESP_ERR_BIG_BULK:
		msg = "Protocol error: too big bulk count string";
		break;
	case RESP_ERR_BIG_INLINE:
		msg = "Protocol error: too big inline request";
		break;
	case RESP_ERR_QUOTES:
		msg = "Protocol error: unbalanced quotes in request";
		break;
	case RESP_ERR_UNAUTH_MBULK:
		msg = "Protocol error: unauthenticated multibulk length";
		break;
	case RESP_ERR_UNAUTH_BULK:
		msg = "Protocol error: unauthenticated bulk length";
		break;
	default:
		msg = "Protocol error: unknown";
		break;
	}
	snprintf(out, cap, "%s", msg);
}
