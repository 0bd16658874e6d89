/*
 * fuzz_resp_parse.c - libFuzzer harness for the request parser.
 *
 * Input: two configuration bytes, then the bytes a client sends.
 *
 *   byte 0, limits   bit 0     unauthenticated
 *                    bits 1-3  max_bulk_len, from bulk_limits[]
 *                    bits 4-5  max_inline, from inline_limits[]
 *                    bits 6-7  max_args, from args_limits[]
 *   byte 1, feeding  bits 0-1  argv entries before the first growth,
 *                              from argv_starts[]
 *                    bit 2     split pass: compact the buffer after each
 *                              command (resp_parser_reset(p, 0))
 *                    bits 3-7  split pass: 0 feeds byte by byte, anything
 *                              else seeds the chunk sizes (0 .. 2^k bytes)
 *
 * So "\0\0" followed by a request is the request with Redis's default limits
 * fed one byte at a time. Shorter inputs are ignored.
 *
 * The stream is parsed three ways and the three transcripts (each command's
 * argc and argument bytes, then how the stream ended: still waiting or which
 * protocol error, at which offset) must be identical:
 *
 *  - ref: a straight reading of Redis 7.0's processMultibulkBuffer and
 *    processInlineBuffer + sdssplitargs over the whole stream, written here
 *    without resumption, offsets or in-place unescaping;
 *  - one-shot: resp_parse over the whole stream, in a buffer of exactly its
 *    size, argv grown geometrically on RESP_NEED_ARGV as conn.c grows it;
 *  - split: the same stream arriving in chunks into a buffer whose bytes not
 *    yet received are poisoned for ASan, resuming after each chunk,
 *    optionally compacting the buffer after each command.
 *
 * Every resp_parse call is checked against resp_parse.h: offsets and
 * lengths inside the buffer and in order, consumed past start, argc equal to
 * the announced count and within argv, need a true lower bound (a call with
 * fewer bytes than need must still wait), an error sticky, a finished
 * command answered again unchanged, and the limits obeyed. A violation
 * prints the check and aborts, which libFuzzer reports as a crash.
 */
#include "resp_parse.h"

#include <sanitizer/asan_interface.h>

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The parser's fixed and default limits (resp_parse.c), and Redis's. */
#define HEADER_MAX		(64 * 1024)
#define DEF_MAX_BULK		(512ull * 1024 * 1024)
#define DEF_MAX_ARGS		INT32_MAX
#define DEF_MAX_INLINE		(64 * 1024)
#define UNAUTH_MAX_ARGS		10
#define UNAUTH_MAX_BULK		16384
#define NUM_MAX_CHARS		20

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define CHECK(e) \
	do { if (!(e)) check_fail(#e, __LINE__); } while (0)

static _Noreturn void check_fail(const char *expr, int line)
{
	fprintf(stderr, "fuzz_resp_parse.c:%d: check failed: %s\n", line, expr);
	abort();
}

/* ---- configuration from the first two bytes ---------------------------- */

static const uint64_t bulk_limits[8] = { 0, 1, 3, 8, 16, 100, 16384, UINT64_MAX };
static const size_t inline_limits[4] = { 0, 1, 8, 100 };
static const int64_t args_limits[4] = { 0, 1, 3, 10 };
static const size_t argv_starts[4] = { 0, 1, 2, 16 };

struct cfg {
	uint64_t max_bulk_len;	/* as given to the parser: 0 is the default */
	int64_t max_args;
	size_t max_inline;
	int unauthenticated;
	size_t argv_start;	/* argv entries before the first NEED_ARGV */
	bool compact;		/* split pass: move the buffer after commands */
	unsigned chunk_seed;	/* split pass: 0 byte by byte, else a seed */
};

static void cfg_decode(struct cfg *c, uint8_t limits, uint8_t feeding)
{
	c->unauthenticated = limits & 1;
	c->max_bulk_len = bulk_limits[(limits >> 1) & 7];
	c->max_inline = inline_limits[(limits >> 4) & 3];
	c->max_args = args_limits[(limits >> 6) & 3];
	c->argv_start = argv_starts[feeding & 3];
	c->compact = (feeding >> 2) & 1;
	c->chunk_seed = feeding >> 3;
}

static uint64_t cfg_max_bulk(const struct cfg *c)
{
	return c->max_bulk_len ? c->max_bulk_len : DEF_MAX_BULK;
}

static int64_t cfg_max_args(const struct cfg *c)
{
	return c->max_args > 0 ? c->max_args : DEF_MAX_ARGS;
}

static size_t cfg_max_inline(const struct cfg *c)
{
	return c->max_inline ? c->max_inline : DEF_MAX_INLINE;
}

/* ---- transcripts -------------------------------------------------------- */

struct bytes {
	uint8_t *p;
	size_t len;
	size_t cap;
};

static void bytes_put(struct bytes *b, const void *p, size_t n)
{
	if (b->cap - b->len < n) {
		size_t ncap = MAX(b->cap * 2, b->len + n + 64);

		b->p = realloc(b->p, ncap);
		CHECK(b->p != NULL);
		b->cap = ncap;
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void bytes_put_u64(struct bytes *b, uint64_t v)
{
	bytes_put(b, &v, sizeof(v));
}

/* What a parse of a stream produced: its commands, then how it ended. */
struct transcript {
	struct bytes cmds;	/* per command: u64 argc, then u64 len + bytes each */
	size_t ncmds;
	int status;		/* RESP_NEED_MORE or RESP_ERROR */
	enum resp_err err;
	char err_byte;
	size_t stop;		/* stream offset of the command not completed */
	uint64_t need;		/* stream offset form of p->need (0: unknown);
				 * not computed by the reference */
};

static void t_free(struct transcript *t)
{
	free(t->cmds.p);
}

/* Records a command whose arguments are views into buf. */
static void t_command(struct transcript *t, const char *buf,
		      const struct resp_arg *argv, size_t argc)
{
	bytes_put_u64(&t->cmds, argc);
	for (size_t i = 0; i < argc; i++) {
		bytes_put_u64(&t->cmds, argv[i].len);
		bytes_put(&t->cmds, buf + argv[i].off, argv[i].len);
	}
	t->ncmds++;
}

static void t_compare(const char *what, const struct transcript *a,
		      const struct transcript *b, bool need_too)
{
	bool same = a->cmds.len == b->cmds.len &&
		    (a->cmds.len == 0 || memcmp(a->cmds.p, b->cmds.p, a->cmds.len) == 0) &&
		    a->status == b->status && a->err == b->err &&
		    a->err_byte == b->err_byte && a->stop == b->stop &&
		    (!need_too || a->need == b->need);

	if (same)
		return;
	fprintf(stderr, "%s differ:\n", what);
	fprintf(stderr, "  commands %zu vs %zu (%zu vs %zu transcript bytes)\n",
		a->ncmds, b->ncmds, a->cmds.len, b->cmds.len);
	fprintf(stderr, "  status %d vs %d, err %d vs %d, err_byte %d vs %d\n",
		a->status, b->status, (int)a->err, (int)b->err, a->err_byte, b->err_byte);
	fprintf(stderr, "  stop %zu vs %zu, need %llu vs %llu\n", a->stop, b->stop,
		(unsigned long long)a->need, (unsigned long long)b->need);
	abort();
}

/* ---- the reference: Redis 7.0's reading, no resumption ---------------- */

/*
 * The end of the line starting at line: Redis searches with strchr() each
 * time bytes arrive and gives up once more than max bytes wait without an
 * end, so the end must be among the first max + 1 bytes, before any NUL.
 * Returns 1 with *at set, 0 to wait, -1 for a line too long.
 */
static int ref_line(const uint8_t *s, size_t n, size_t line, size_t max,
		    uint8_t term, size_t *at)
{
	size_t lim = n - line > max ? line + max + 1 : n;

	for (size_t i = line; i < lim && s[i] != '\0'; i++) {
		if (s[i] == term) {
			*at = i;
			return 1;
		}
	}
	return n - line > max ? -1 : 0;
}

/* string2ll(): optional '-', no leading zero, 1..20 chars, in range. */
static bool ref_ll(const uint8_t *s, size_t n, long long *out)
{
	char tmp[NUM_MAX_CHARS + 1];
	size_t digits = 0;
	char *end;

	if (n == 0 || n > NUM_MAX_CHARS)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (i == 0 && s[i] == '-')
			continue;
		if (s[i] < '0' || s[i] > '9')
			return false;
		digits++;
	}
	if (digits == 0)
		return false;
	if (s[n - digits] == '0' && n > 1)	/* "01", "-0", "-01" */
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	errno = 0;
	*out = strtoll(tmp, &end, 10);
	return errno == 0 && end == tmp + n;
}

static bool ref_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int ref_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * sdssplitargs() on the NUL-terminated line p, transcribed from Redis:
 * appends each word (u64 length, bytes) to words and returns their count,
 * or -1 for unbalanced quotes.
 */
static int64_t ref_splitargs(const char *p, struct bytes *words)
{
	int64_t argc = 0;

	for (;;) {
		bool inq = false, insq = false, done = false;
		size_t lenpos, from;
		uint64_t wlen;

		while (*p && ref_is_space(*p))
			p++;
		if (!*p)
			return argc;
		lenpos = words->len;
		bytes_put_u64(words, 0);
		from = words->len;
		while (!done) {
			char c;

			if (inq) {
				if (p[0] == '\\' && p[1] == 'x' &&
				    ref_hex(p[2]) >= 0 && ref_hex(p[3]) >= 0) {
					c = (char)(ref_hex(p[2]) * 16 + ref_hex(p[3]));
					bytes_put(words, &c, 1);
					p += 3;
				} else if (p[0] == '\\' && p[1]) {
					p++;
					switch (*p) {
					case 'n': c = '\n'; break;
					case 'r': c = '\r'; break;
					case 't': c = '\t'; break;
					case 'b': c = '\b'; break;
					case 'a': c = '\a'; break;
					default: c = *p; break;
					}
					bytes_put(words, &c, 1);
				} else if (*p == '"') {
					/* A closing quote must be followed by a space or
					 * by nothing at all. */
					if (p[1] && !ref_is_space(p[1]))
						return -1;
					done = true;
				} else if (!*p) {
					return -1;
				} else {
					bytes_put(words, p, 1);
				}
			} else if (insq) {
				if (p[0] == '\\' && p[1] == '\'') {
					p++;
					bytes_put(words, "'", 1);
				} else if (*p == '\'') {
					if (p[1] && !ref_is_space(p[1]))
						return -1;
					done = true;
				} else if (!*p) {
					return -1;
				} else {
					bytes_put(words, p, 1);
				}
			} else {
				switch (*p) {
				case ' ':
				case '\n':
				case '\r':
				case '\t':
				case '\0':
					done = true;
					break;
				case '"':
					inq = true;
					break;
				case '\'':
					insq = true;
					break;
				default:
					bytes_put(words, p, 1);
					break;
				}
			}
			if (*p)
				p++;
		}
		wlen = words->len - from;
		memcpy(words->p + lenpos, &wlen, sizeof(wlen));
		argc++;
	}
}

static int ref_fail(struct transcript *t, enum resp_err err, char err_byte)
{
	t->err = err;
	t->err_byte = err_byte;
	return RESP_ERROR;
}

static int ref_multibulk(const struct cfg *c, const uint8_t *s, size_t n,
			 size_t start, struct transcript *t, size_t *next)
{
	struct bytes cmd = { 0 };
	long long count, ll;
	size_t cr, pos;
	int found, rc = RESP_NEED_MORE;

	found = ref_line(s, n, start, HEADER_MAX, '\r', &cr);
	if (found < 0)
		return ref_fail(t, RESP_ERR_BIG_MBULK, 0);
	if (found == 0 || n - cr < 2)
		return RESP_NEED_MORE;
	if (!ref_ll(s + start + 1, cr - start - 1, &count) || count > INT_MAX ||
	    count > cfg_max_args(c))
		return ref_fail(t, RESP_ERR_MBULK_LEN, 0);
	if (count > UNAUTH_MAX_ARGS && c->unauthenticated)
		return ref_fail(t, RESP_ERR_UNAUTH_MBULK, 0);
	pos = cr + 2;
	if (count < 0)
		count = 0;
	for (long long i = 0; i < count; i++) {
		found = ref_line(s, n, pos, HEADER_MAX, '\r', &cr);
		if (found < 0) {
			rc = ref_fail(t, RESP_ERR_BIG_BULK, 0);
			goto out;
		}
		if (found == 0 || n - cr < 2)
			goto out;
		if (s[pos] != '$') {
			rc = ref_fail(t, RESP_ERR_EXPECTED_DOLLAR, (char)s[pos]);
			goto out;
		}
		if (!ref_ll(s + pos + 1, cr - pos - 1, &ll) || ll < 0 ||
		    (uint64_t)ll > cfg_max_bulk(c)) {
			rc = ref_fail(t, RESP_ERR_BULK_LEN, 0);
			goto out;
		}
		if (ll > UNAUTH_MAX_BULK && c->unauthenticated) {
			rc = ref_fail(t, RESP_ERR_UNAUTH_BULK, 0);
			goto out;
		}
		pos = cr + 2;
		if (n - pos < (uint64_t)ll + 2)
			goto out;
		bytes_put_u64(&cmd, (uint64_t)ll);
		bytes_put(&cmd, s + pos, (size_t)ll);
		pos += (size_t)ll + 2;
	}
	bytes_put_u64(&t->cmds, (uint64_t)count);
	bytes_put(&t->cmds, cmd.p, cmd.len);
	t->ncmds++;
	*next = pos;
	rc = RESP_DONE;
out:
	free(cmd.p);
	return rc;
}

static int ref_inline(const struct cfg *c, const uint8_t *s, size_t n,
		      size_t start, struct transcript *t, size_t *next)
{
	struct bytes words = { 0 };
	size_t nl, end;
	int64_t argc;
	char *line;
	int found;

	found = ref_line(s, n, start, cfg_max_inline(c), '\n', &nl);
	if (found < 0)
		return ref_fail(t, RESP_ERR_BIG_INLINE, 0);
	if (found == 0)
		return RESP_NEED_MORE;
	end = nl;
	if (end > start && s[end - 1] == '\r')
		end--;
	/* No NUL inside: the search for '\n' stopped at none. */
	line = malloc(end - start + 1);
	CHECK(line != NULL);
	memcpy(line, s + start, end - start);
	line[end - start] = '\0';
	argc = ref_splitargs(line, &words);
	free(line);
	if (argc < 0) {
		free(words.p);
		return ref_fail(t, RESP_ERR_QUOTES, 0);
	}
	bytes_put_u64(&t->cmds, (uint64_t)argc);
	bytes_put(&t->cmds, words.p, words.len);
	t->ncmds++;
	free(words.p);
	*next = nl + 1;
	return RESP_DONE;
}

static void ref_run(const struct cfg *c, const uint8_t *s, size_t n,
		    struct transcript *t)
{
	size_t start = 0, next = 0;
	int rc;

	for (;;) {
		if (start == n)
			rc = RESP_NEED_MORE;
		else if (s[start] == '*')
			rc = ref_multibulk(c, s, n, start, t, &next);
		else
			rc = ref_inline(c, s, n, start, t, &next);
		if (rc != RESP_DONE)
			break;
		start = next;
	}
	t->status = rc;
	t->stop = start;
}

/* ---- the parser under test, every call checked ------------------------- */

struct drv {
	struct resp_parser p;
	const struct cfg *cfg;
	const uint8_t *stream;	/* the whole input, never written */
	struct resp_arg *argv;	/* exactly cap entries, so ASan sees overflows */
	size_t cap;
	size_t calls;		/* resp_parse calls so far */
	size_t max_calls;	/* more is a loop that makes no progress */
};

static void drv_init(struct drv *d, const struct cfg *c, const uint8_t *s, size_t n)
{
	memset(d, 0, sizeof(*d));
	d->p.max_bulk_len = c->max_bulk_len;
	d->p.max_args = c->max_args;
	d->p.max_inline = c->max_inline;
	d->p.unauthenticated = c->unauthenticated;
	resp_parser_reset(&d->p, 0);
	d->cfg = c;
	d->stream = s;
	d->cap = c->argv_start;
	d->argv = malloc(MAX(d->cap, (size_t)1) * sizeof(*d->argv));
	CHECK(d->argv != NULL);
	d->max_calls = 8 * (n + 1) + 128;
}

static void drv_free(struct drv *d)
{
	free(d->argv);
}

/* Grows argv as conn.c does, doubling and never past the announced count,
 * but from 1 entry instead of 16 so that it runs out often. */
static void drv_grow(struct drv *d)
{
	size_t ncap = MIN((size_t)d->p.argc, MAX(d->cap * 2, (size_t)1));

	CHECK(ncap > d->cap);
	d->argv = realloc(d->argv, ncap * sizeof(*d->argv));
	CHECK(d->argv != NULL);
	d->cap = ncap;
}

static void check_strerror(const struct resp_parser *p)
{
	char msg[128], tiny[4];

	resp_parse_strerror(p, msg, sizeof(msg));
	CHECK(strncmp(msg, "Protocol error: ", 16) == 0);
	CHECK(strlen(msg) > 16);
	memset(tiny, 'x', sizeof(tiny));
	resp_parse_strerror(p, tiny, sizeof(tiny));
	CHECK(memcmp(tiny, "Pro", 4) == 0);	/* truncated and NUL-terminated */
}

/* The promises of a RESP_DONE for the command at stream offset base + start. */
static void check_done(const struct drv *d, size_t len, size_t base, size_t start,
		       size_t argc, size_t consumed)
{
	bool mbulk = d->stream[base + start] == '*';
	size_t prev_end = start;

	CHECK(consumed > start && consumed <= len);
	CHECK(argc <= d->cap);
	CHECK(d->p.argc >= 0 && (uint64_t)d->p.argc == argc);
	CHECK(d->p.nargs == d->p.argc);
	CHECK(d->p.need == 0);
	CHECK(d->p.err == RESP_ERR_NONE);
	for (size_t i = 0; i < argc; i++) {
		const struct resp_arg *a = &d->argv[i];

		CHECK(a->off >= prev_end && a->off <= len && a->len <= len - a->off);
		if (mbulk) {
			/* The byte after the data is in the buffer and the
			 * two terminator bytes are inside the command. */
			CHECK(a->len < len - a->off);
			CHECK(a->off + a->len + 2 <= consumed);
			CHECK(a->len <= cfg_max_bulk(d->cfg));
			CHECK(!d->cfg->unauthenticated || a->len <= UNAUTH_MAX_BULK);
		} else {
			CHECK(a->off + a->len < consumed);
		}
		prev_end = a->off + a->len;
	}
	if (mbulk) {
		CHECK(argc <= (uint64_t)cfg_max_args(d->cfg));
		CHECK(!d->cfg->unauthenticated || argc <= UNAUTH_MAX_ARGS);
		if (argc > 0)
			CHECK(prev_end + 2 == consumed);
	} else {
		CHECK(d->stream[base + consumed - 1] == '\n');
		CHECK(consumed - start <= cfg_max_inline(d->cfg) + 1);
		CHECK(memchr(d->stream + base + start, '\0', consumed - start) == NULL);
	}
}

/* One resp_parse call on buf[0 .. len), whose byte 0 is stream offset base. */
static int drv_call(struct drv *d, char *buf, size_t len, size_t base,
		    size_t *argc, size_t *consumed)
{
	size_t start = d->p.start;
	int rc;

	CHECK(++d->calls <= d->max_calls);
	*argc = *consumed = SIZE_MAX;
	rc = resp_parse(&d->p, buf, len, d->argv, d->cap, argc, consumed);
	CHECK(d->p.start == start);
	CHECK(d->p.pos <= len);
	switch (rc) {
	case RESP_DONE:
		check_done(d, len, base, start, *argc, *consumed);
		break;
	case RESP_NEED_MORE:
		CHECK(d->p.err == RESP_ERR_NONE);
		CHECK(d->p.need == 0 || d->p.need > len);
		break;
	case RESP_NEED_ARGV:
		CHECK(d->p.err == RESP_ERR_NONE);
		CHECK(d->p.argc >= 0 && (uint64_t)d->p.argc > d->cap);
		CHECK(d->p.nargs >= 0 && (uint64_t)d->p.nargs <= d->cap);
		break;
	case RESP_ERROR:
		CHECK(d->p.err != RESP_ERR_NONE);
		check_strerror(&d->p);
		break;
	default:
		CHECK(!"resp_parse returned an unknown status");
	}
	return rc;
}

/*
 * Runs the parser on the command at d->p.start until it is done, needs more
 * bytes or fails, growing argv on the way; records a finished command in t.
 * Each outcome is then asked for again and must repeat.
 */
static int drv_next(struct drv *d, char *buf, size_t len, size_t base,
		    struct transcript *t, size_t *consumed)
{
	size_t argc, argc2, consumed2;
	uint64_t need;
	enum resp_err err;
	int rc;

	while ((rc = drv_call(d, buf, len, base, &argc, consumed)) == RESP_NEED_ARGV)
		drv_grow(d);
	switch (rc) {
	case RESP_DONE:
		t_command(t, buf, d->argv, argc);
		CHECK(drv_call(d, buf, len, base, &argc2, &consumed2) == RESP_DONE);
		CHECK(argc2 == argc && consumed2 == *consumed);
		break;
	case RESP_NEED_MORE:
		need = d->p.need;
		CHECK(drv_call(d, buf, len, base, &argc2, &consumed2) == RESP_NEED_MORE);
		CHECK(d->p.need == need);
		break;
	case RESP_ERROR:
		err = d->p.err;
		CHECK(drv_call(d, buf, len, base, &argc2, &consumed2) == RESP_ERROR);
		CHECK(d->p.err == err);
		break;
	}
	return rc;
}

static void drv_end(const struct drv *d, struct transcript *t, int rc, size_t base)
{
	t->status = rc;
	t->err = d->p.err;
	t->err_byte = d->p.err == RESP_ERR_EXPECTED_DOLLAR ? d->p.err_byte : 0;
	t->stop = base + d->p.start;
	t->need = rc == RESP_NEED_MORE && d->p.need ? base + d->p.need : 0;
}

/* The whole stream at once, in a buffer of exactly its size. */
static void run_oneshot(const struct cfg *c, const uint8_t *s, size_t n,
			struct transcript *t)
{
	char *buf = malloc(MAX(n, (size_t)1));
	struct drv d;
	size_t consumed;
	int rc;

	CHECK(buf != NULL);
	if (n)
		memcpy(buf, s, n);
	drv_init(&d, c, s, n);
	while ((rc = drv_next(&d, buf, n, 0, t, &consumed)) == RESP_DONE)
		resp_parser_reset(&d.p, consumed);
	drv_end(&d, t, rc, 0);
	drv_free(&d);
	free(buf);
}

/* Chunk sizes for the split pass: 1 each, or xorshift32 in 0 .. range with
 * never two empty chunks in a row. */
struct chunker {
	uint32_t x;
	uint32_t range;		/* 0: byte by byte */
	bool was_empty;
};

static void chunker_init(struct chunker *ch, unsigned seed, size_t n)
{
	ch->range = seed ? 1u << (seed % 8 + 1) : 0;
	ch->x = (uint32_t)seed * 0x9e3779b9u ^ (uint32_t)n;
	if (ch->x == 0)
		ch->x = 1;
	ch->was_empty = false;
}

static size_t chunker_next(struct chunker *ch)
{
	size_t k;

	if (ch->range == 0)
		return 1;
	ch->x ^= ch->x << 13;
	ch->x ^= ch->x >> 17;
	ch->x ^= ch->x << 5;
	k = ch->x % (ch->range + 1);
	if (k == 0 && ch->was_empty)
		k = 1;
	ch->was_empty = k == 0;
	return k;
}

/*
 * The stream in chunks. buf has room for all of it, but only the bytes
 * received are addressable: the rest is poisoned, so a read past len is an
 * ASan report as it would be past the end of a connection's buffer.
 */
static void run_split(const struct cfg *c, const uint8_t *s, size_t n,
		      struct transcript *t)
{
	char *buf = malloc(MAX(n, (size_t)1));
	size_t base = 0;	/* stream offset of buf[0] */
	size_t fed = 0;		/* stream bytes received */
	uint64_t need = 0;	/* stream offset form of the last wait's need */
	struct chunker ch;
	struct drv d;
	int rc;

	CHECK(buf != NULL);
	ASAN_POISON_MEMORY_REGION(buf, n);
	drv_init(&d, c, s, n);
	chunker_init(&ch, c->chunk_seed, n);
	do {
		size_t k = chunker_next(&ch), len, consumed;

		k = MIN(k, n - fed);
		ASAN_UNPOISON_MEMORY_REGION(buf + (fed - base), k);
		if (k)
			memcpy(buf + (fed - base), s + fed, k);
		fed += k;
		len = fed - base;
		for (;;) {
			bool starved = need != 0 && fed < need;

			rc = drv_next(&d, buf, len, base, t, &consumed);
			/* need is a lower bound: short of it, no progress. */
			if (starved)
				CHECK(rc == RESP_NEED_MORE);
			if (rc != RESP_DONE)
				break;
			need = 0;
			if (c->compact) {
				memmove(buf, buf + consumed, len - consumed);
				base += consumed;
				len -= consumed;
				ASAN_POISON_MEMORY_REGION(buf + len, n - len);
				resp_parser_reset(&d.p, 0);
			} else {
				resp_parser_reset(&d.p, consumed);
			}
		}
		need = rc == RESP_NEED_MORE && d.p.need ? base + d.p.need : 0;
	} while (rc == RESP_NEED_MORE && fed < n);
	drv_end(&d, t, rc, base);
	drv_free(&d);
	ASAN_UNPOISON_MEMORY_REGION(buf, n);
	free(buf);
}

/* With FUZZ_TRACE set in the environment, says how each input ended: a
 * way to see what a corpus file exercises. */
static void trace(const struct transcript *t)
{
	static int on = -1;
	char msg[128] = "waiting";
	struct resp_parser p;

	if (on < 0)
		on = getenv("FUZZ_TRACE") != NULL;
	if (!on)
		return;
	if (t->status == RESP_ERROR) {
		memset(&p, 0, sizeof(p));
		p.err = t->err;
		p.err_byte = t->err_byte;
		resp_parse_strerror(&p, msg, sizeof(msg));
	}
	fprintf(stderr, "%zu commands, then %s at offset %zu\n", t->ncmds, msg, t->stop);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct transcript ref = { 0 }, one = { 0 }, split = { 0 };
	struct cfg c;

	if (size < 2)
		return 0;
	cfg_decode(&c, data[0], data[1]);
	data += 2;
	size -= 2;
	ref_run(&c, data, size, &ref);
	run_oneshot(&c, data, size, &one);
	run_split(&c, data, size, &split);
	t_compare("reference and one-shot parse", &ref, &one, false);
	t_compare("one-shot and split parse", &one, &split, true);
	trace(&one);
	t_free(&ref);
	t_free(&one);
	t_free(&split);
	return 0;
}
