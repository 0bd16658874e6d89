/*
 * test_resp_parse.c - the request parser, as a specification.
 *
 * Every input is copied so that its last byte sits just before a PROT_NONE
 * page: a parser that reads one byte past what it was given crashes here.
 * Pipelines are fed whole, at every split point, at every pair of split
 * points and byte by byte, and must produce the same transcript each time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "resp_parse.h"

#define LIT(s) (s), (sizeof(s) - 1)

/* ---- input against a guard page ---------------------------------------- */

struct guarded {
	char *map;	/* the mapping: data pages then one PROT_NONE page */
	size_t maplen;
	char *buf;	/* the input, ending where the guard page begins */
};

static char *guard_copy(struct guarded *g, const void *data, size_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t pages = n / page + 1;

	g->maplen = (pages + 1) * page;
	g->map = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(g->map != MAP_FAILED);
	assert_int_equal(mprotect(g->map + pages * page, page, PROT_NONE), 0);
	g->buf = g->map + pages * page - n;
	if (n)
		memcpy(g->buf, data, n);
	return g->buf;
}

static void guard_free(struct guarded *g)
{
	if (g->map)
		munmap(g->map, g->maplen);
	g->map = NULL;
}

/* ---- a parser with its input and a fixed argv -------------------------- */

struct fx {
	struct resp_parser p;
	struct guarded g;
	char *buf;
	size_t len;
	struct resp_arg argv[64];
	size_t cap;		/* argv entries offered to the parser */
	size_t argc, consumed;
	int rc;
};

static void fx_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	resp_parser_reset(&f->p, 0);
	f->cap = 64;
}

/* Parses in[0..n) placed against the guard page, with the parser state
 * carried over from the previous call (same offsets, new address). */
static int fx_parse(struct fx *f, const void *in, size_t n)
{
	guard_free(&f->g);
	f->buf = guard_copy(&f->g, in, n);
	f->len = n;
	f->argc = f->consumed = (size_t)-1;
	f->rc = resp_parse(&f->p, f->buf, n, f->argv, f->cap, &f->argc, &f->consumed);
	return f->rc;
}

static void fx_done(struct fx *f)
{
	guard_free(&f->g);
}

static void assert_arg(const struct fx *f, size_t i, const char *s, size_t n)
{
	assert_true(i < f->argc);
	assert_int_equal(f->argv[i].len, n);
	assert_memory_equal(f->buf + f->argv[i].off, s, n);
}

#define ASSERT_ARG(f, i, lit) assert_arg((f), (i), LIT(lit))

static void assert_error(struct fx *f, const char *text)
{
	char msg[128];

	assert_int_equal(f->rc, RESP_ERROR);
	resp_parse_strerror(&f->p, msg, sizeof(msg));
	assert_string_equal(msg, text);
}

/* One-shot: the whole input at once, fresh parser, default limits. */
static int parse1(struct fx *f, const void *in, size_t n)
{
	fx_init(f);
	return fx_parse(f, in, n);
}

/* ---- multibulk: well-formed commands ----------------------------------- */

static void mbulk_command_is_parsed_with_exact_offsets(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")), RESP_DONE);
	assert_int_equal(f.argc, 2);
	assert_int_equal(f.consumed, 20);
	assert_int_equal(f.argv[0].off, 8);
	assert_int_equal(f.argv[0].len, 3);
	assert_int_equal(f.argv[1].off, 17);
	assert_int_equal(f.argv[1].len, 1);
	assert_int_equal(f.p.argc, 2);
	assert_int_equal(f.p.nargs, 2);
	assert_int_equal(f.p.need, 0);
	fx_done(&f);
}

static void mbulk_consumes_one_command_of_a_pipeline(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT("*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n")), RESP_DONE);
	assert_int_equal(f.argc, 1);
	assert_int_equal(f.consumed, 14);
	ASSERT_ARG(&f, 0, "PING");
	fx_done(&f);
}

static void mbulk_bulk_data_is_binary_safe(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT("*1\r\n$7\r\na\r\n\0*$\n\r\n")), RESP_DONE);
	assert_int_equal(f.argc, 1);
	ASSERT_ARG(&f, 0, "a\r\n\0*$\n");
	assert_int_equal(f.consumed, 17);
	fx_done(&f);
}

static void mbulk_empty_bulk_is_an_empty_argument(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT("*2\r\n$0\r\n\r\n$0\r\n\r\n")), RESP_DONE);
	assert_int_equal(f.argc, 2);
	assert_int_equal(f.argv[0].off, 8);
	assert_int_equal(f.argv[0].len, 0);
	assert_int_equal(f.argv[1].off, 14);
	assert_int_equal(f.argv[1].len, 0);
	assert_int_equal(f.consumed, 16);
	fx_done(&f);
}

static void mbulk_count_zero_is_a_command_without_arguments(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT("*0\r\n*1\r\n")), RESP_DONE);
	assert_int_equal(f.argc, 0);
	assert_int_equal(f.consumed, 4);
	fx_done(&f);
}

static void mbulk_negative_count_is_a_command_without_arguments(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT("*-1\r\n")), RESP_DONE);
	assert_int_equal(f.argc, 0);
	assert_int_equal(f.consumed, 5);
	fx_done(&f);
	assert_int_equal(parse1(&f, LIT("*-10\r\n")), RESP_DONE);
	assert_int_equal(f.argc, 0);
	assert_int_equal(f.consumed, 6);
	fx_done(&f);
	/* The smallest long long is still a number, hence still "empty". */
	assert_int_equal(parse1(&f, LIT("*-9223372036854775808\r\n")), RESP_DONE);
	assert_int_equal(f.argc, 0);
	assert_int_equal(f.consumed, 23);
	fx_done(&f);
}

static void mbulk_count_line_ends_at_cr_and_skips_the_next_byte(void **state)
{
	struct fx f;

	(void)state;
	/* Redis skips the byte after '\r' without checking it is '\n'. */
	assert_int_equal(parse1(&f, LIT("*1\rX$1\rYa\r\n")), RESP_DONE);
	assert_int_equal(f.argc, 1);
	ASSERT_ARG(&f, 0, "a");
	assert_int_equal(f.consumed, 11);
	fx_done(&f);
}

static void mbulk_bulk_terminator_is_skipped_unchecked(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT("*2\r\n$3\r\nfooXY$1\r\nz\r\n")), RESP_DONE);
	assert_int_equal(f.argc, 2);
	ASSERT_ARG(&f, 0, "foo");
	ASSERT_ARG(&f, 1, "z");
	assert_int_equal(f.consumed, 20);
	fx_done(&f);
}

static void mbulk_largest_count_is_accepted_without_asking_for_argv(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f);
	f.cap = 0;
	assert_int_equal(fx_parse(&f, LIT("*2147483647\r\n")), RESP_NEED_MORE);
	assert_int_equal(f.p.argc, 2147483647);
	assert_int_equal(f.p.nargs, 0);
	fx_done(&f);
}

static void mbulk_bulk_of_max_bulk_len_is_accepted(void **state)
{
	static const char in[] = "*1\r\n$536870912\r\n";
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT(in)), RESP_NEED_MORE);
	assert_int_equal(f.p.bulk_len, 536870912);
	assert_int_equal(f.p.need, sizeof(in) - 1 + 536870912ull + 2);
	fx_done(&f);
}

static void mbulk_need_covers_a_bulk_larger_than_4gib(void **state)
{
	static const char in[] = "*1\r\n$1099511627776\r\n";
	struct fx f;

	(void)state;
	fx_init(&f);
	f.p.max_bulk_len = 1ull << 40;
	assert_int_equal(fx_parse(&f, LIT(in)), RESP_NEED_MORE);
	assert_int_equal(f.p.need, sizeof(in) - 1 + (1ull << 40) + 2);
	fx_done(&f);
}

/* ---- multibulk: NEED_MORE and p->need ---------------------------------- */

static void need_more_on_empty_input(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, "", 0), RESP_NEED_MORE);
	assert_int_equal(f.p.need, 1);
	fx_done(&f);
}

static void need_more_while_count_line_is_incomplete(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT("*12")), RESP_NEED_MORE);
	assert_int_equal(f.p.need, 4);
	assert_int_equal(f.p.argc, -1);
	fx_done(&f);
}

static void need_more_when_count_line_lacks_the_byte_after_cr(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT("*1\r")), RESP_NEED_MORE);
	assert_int_equal(f.p.need, 4);
	assert_int_equal(f.p.argc, -1);
	fx_done(&f);
}

static void need_for_a_bulk_is_the_offset_past_its_terminator(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT("*1\r\n$10\r\nabc")), RESP_NEED_MORE);
	assert_int_equal(f.p.bulk_len, 10);
	assert_int_equal(f.p.need, 4 + 5 + 10 + 2);
	fx_done(&f);
}

static void need_more_when_only_the_terminator_is_missing(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT("*1\r\n$3\r\nfoo\r")), RESP_NEED_MORE);
	assert_int_equal(f.p.need, 13);
	assert_int_equal(fx_parse(&f, LIT("*1\r\n$3\r\nfoo\r\n")), RESP_DONE);
	ASSERT_ARG(&f, 0, "foo");
	fx_done(&f);
}

static void resumes_with_buffer_moved_to_another_address(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f);
	assert_int_equal(fx_parse(&f, LIT("*2\r\n$3\r\nfoo\r\n$3\r\nb")), RESP_NEED_MORE);
	assert_int_equal(f.p.nargs, 1);
	/* fx_parse maps a fresh copy: same offsets, new address. */
	assert_int_equal(fx_parse(&f, LIT("*2\r\n$3\r\nfoo\r\n$3\r\nbar\r\n")), RESP_DONE);
	assert_int_equal(f.argc, 2);
	ASSERT_ARG(&f, 0, "foo");
	ASSERT_ARG(&f, 1, "bar");
	fx_done(&f);
}

/* ---- multibulk: protocol errors ---------------------------------------- */

static void count_above_int32_max_is_invalid_multibulk_length(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT("*2147483648\r\n")), RESP_ERROR);
	assert_int_equal(f.p.err, RESP_ERR_MBULK_LEN);
	assert_error(&f, "Protocol error: invalid multibulk length");
	fx_done(&f);
	assert_int_equal(parse1(&f, LIT("*3000000000\r\n")), RESP_ERROR);
	assert_error(&f, "Protocol error: invalid multibulk length");
	fx_done(&f);
}

static void count_not_a_strict_integer_is_invalid_multibulk_length(void **state)
{
	static const char *const bad[] = {
		"*\r\n", "*abc\r\n", "*+1\r\n", "*01\r\n", "*00\r\n", "* 1\r\n",
		"*1 \r\n", "*-\r\n", "*-0\r\n", "*1x\r\n", "*0x10\r\n",
		"*9223372036854775808\r\n", "*-9223372036854775809\r\n",
		"*99999999999999999999\r\n", "*000000000000000000001\r\n",
	};
	struct fx f;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse1(&f, bad[i], strlen(bad[i])), RESP_ERROR);
		assert_int_equal(f.p.err, RESP_ERR_MBULK_LEN);
		fx_done(&f);
	}
}

static void count_above_max_args_is_invalid_multibulk_length(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f);
	f.p.max_args = 5;
	assert_int_equal(fx_parse(&f, LIT("*6\r\n")), RESP_ERROR);
	assert_error(&f, "Protocol error: invalid multibulk length");
	fx_done(&f);
	fx_init(&f);
	f.p.max_args = 5;
	assert_int_equal(fx_parse(&f, LIT("*5\r\n")), RESP_NEED_MORE);
	assert_int_equal(f.p.argc, 5);
	fx_done(&f);
}

static void count_line_without_cr_past_64k_is_too_big_mbulk(void **state)
{
	size_t n = 65536 + 1;
	char *in = malloc(n);
	struct fx f;

	(void)state;
	in[0] = '*';
	memset(in + 1, '1', n - 1);
	/* 64 KiB exactly is still waiting. */
	assert_int_equal(parse1(&f, in, n - 1), RESP_NEED_MORE);
	assert_int_equal(fx_parse(&f, in, n), RESP_ERROR);
	assert_int_equal(f.p.err, RESP_ERR_BIG_MBULK);
	assert_error(&f, "Protocol error: too big mbulk count string");
	fx_done(&f);
	free(in);
}

static void count_line_with_cr_as_its_65537th_byte_is_parsed(void **state)
{
	size_t n = 65536 + 2;
	char *in = malloc(n);
	struct fx f;

	(void)state;
	in[0] = '*';
	memset(in + 1, '1', n - 3);
	memcpy(in + n - 2, "\r\n", 2);
	/* Within the limit, so judged as a number (and too long for one). */
	assert_int_equal(parse1(&f, in, n), RESP_ERROR);
	assert_int_equal(f.p.err, RESP_ERR_MBULK_LEN);
	fx_done(&f);
	free(in);
}

static void count_line_with_cr_past_64k_is_too_big_even_when_buffered(void **state)
{
	size_t n = 65537 + 2;
	char *in = malloc(n);
	struct fx f;

	(void)state;
	in[0] = '*';
	memset(in + 1, '1', n - 3);
	memcpy(in + n - 2, "\r\n", 2);
	/* The same answer as when the bytes arrive one at a time. */
	assert_int_equal(parse1(&f, in, n), RESP_ERROR);
	assert_int_equal(f.p.err, RESP_ERR_BIG_MBULK);
	fx_done(&f);
	free(in);
}

static void unauthenticated_count_above_10_is_rejected(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f);
	f.p.unauthenticated = 1;
	assert_int_equal(fx_parse(&f, LIT("*11\r\n")), RESP_ERROR);
	assert_int_equal(f.p.err, RESP_ERR_UNAUTH_MBULK);
	assert_error(&f, "Protocol error: unauthenticated multibulk length");
	fx_done(&f);
	fx_init(&f);
	f.p.unauthenticated = 1;
	assert_int_equal(fx_parse(&f, LIT("*10\r\n")), RESP_NEED_MORE);
	fx_done(&f);
}

static void unauthenticated_invalid_count_reports_invalid_length_first(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f);
	f.p.unauthenticated = 1;
	assert_int_equal(fx_parse(&f, LIT("*3000000000\r\n")), RESP_ERROR);
	assert_int_equal(f.p.err, RESP_ERR_MBULK_LEN);
	fx_done(&f);
}

static void bulk_header_without_dollar_is_expected_dollar(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT("*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n")), RESP_ERROR);
	assert_int_equal(f.p.err, RESP_ERR_EXPECTED_DOLLAR);
	assert_int_equal(f.p.err_byte, 'f');
	assert_error(&f, "Protocol error: expected '$', got 'f'");
	fx_done(&f);
}

static void expected_dollar_is_reported_once_the_line_is_complete(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f);
	assert_int_equal(fx_parse(&f, LIT("*1\r\nfoo")), RESP_NEED_MORE);
	assert_int_equal(fx_parse(&f, LIT("*1\r\nfoo\r")), RESP_NEED_MORE);
	assert_int_equal(fx_parse(&f, LIT("*1\r\nfoo\r\n")), RESP_ERROR);
	assert_int_equal(f.p.err_byte, 'f');
	fx_done(&f);
}

static void empty_bulk_header_line_is_expected_dollar_got_cr(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT("*1\r\n\r\n")), RESP_ERROR);
	assert_int_equal(f.p.err_byte, '\r');
	/* The raw byte: the writer turns it into a space. */
	assert_error(&f, "Protocol error: expected '$', got '\r'");
	fx_done(&f);
}

static void negative_bulk_length_is_invalid_bulk_length(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT("*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n")), RESP_ERROR);
	assert_int_equal(f.p.err, RESP_ERR_BULK_LEN);
	assert_error(&f, "Protocol error: invalid bulk length");
	fx_done(&f);
	assert_int_equal(parse1(&f, LIT("*1\r\n$-1\r\n")), RESP_ERROR);
	assert_int_equal(f.p.err, RESP_ERR_BULK_LEN);
	fx_done(&f);
}

static void bulk_length_not_a_strict_integer_is_invalid(void **state)
{
	static const char *const bad[] = {
		"*1\r\n$\r\n", "*1\r\n$abc\r\n", "*1\r\n$+3\r\n", "*1\r\n$03\r\n",
		"*1\r\n$ 3\r\n", "*1\r\n$3 \r\n", "*1\r\n$-0\r\n",
		"*1\r\n$9223372036854775808\r\n",
	};
	struct fx f;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse1(&f, bad[i], strlen(bad[i])), RESP_ERROR);
		assert_int_equal(f.p.err, RESP_ERR_BULK_LEN);
		fx_done(&f);
	}
}

static void bulk_length_above_max_bulk_len_is_invalid(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT("*1\r\n$536870913\r\n")), RESP_ERROR);
	assert_int_equal(f.p.err, RESP_ERR_BULK_LEN);
	fx_done(&f);
	assert_int_equal(parse1(&f, LIT("*1\r\n$2000000000\r\n")), RESP_ERROR);
	assert_int_equal(f.p.err, RESP_ERR_BULK_LEN);
	fx_done(&f);
	assert_int_equal(parse1(&f, LIT("*1\r\n$9223372036854775807\r\n")), RESP_ERROR);
	assert_int_equal(f.p.err, RESP_ERR_BULK_LEN);
	fx_done(&f);
}

static void bulk_length_limit_is_configurable(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f);
	f.p.max_bulk_len = 3;
	assert_int_equal(fx_parse(&f, LIT("*2\r\n$3\r\nabc\r\n$4\r\n")), RESP_ERROR);
	assert_int_equal(f.p.err, RESP_ERR_BULK_LEN);
	assert_int_equal(f.p.nargs, 1);
	fx_done(&f);
}

static void bulk_header_without_cr_past_64k_is_too_big_bulk(void **state)
{
	size_t n = 4 + 65536 + 1;
	char *in = malloc(n);
	struct fx f;

	(void)state;
	memcpy(in, "*1\r\n$", 5);
	memset(in + 5, '1', n - 5);
	/* Counted from the '$': 64 KiB exactly is still waiting. */
	assert_int_equal(parse1(&f, in, n - 1), RESP_NEED_MORE);
	assert_int_equal(fx_parse(&f, in, n), RESP_ERROR);
	assert_int_equal(f.p.err, RESP_ERR_BIG_BULK);
	assert_error(&f, "Protocol error: too big bulk count string");
	fx_done(&f);
	free(in);
}

static void unauthenticated_bulk_above_16384_is_rejected(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f);
	f.p.unauthenticated = 1;
	assert_int_equal(fx_parse(&f, LIT("*2\r\n$4\r\nAUTH\r\n$16385\r\n")), RESP_ERROR);
	assert_int_equal(f.p.err, RESP_ERR_UNAUTH_BULK);
	assert_error(&f, "Protocol error: unauthenticated bulk length");
	fx_done(&f);
	fx_init(&f);
	f.p.unauthenticated = 1;
	assert_int_equal(fx_parse(&f, LIT("*2\r\n$4\r\nAUTH\r\n$16384\r\n")), RESP_NEED_MORE);
	assert_int_equal(f.p.bulk_len, 16384);
	fx_done(&f);
}

static void unauthenticated_invalid_bulk_reports_invalid_length_first(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f);
	f.p.unauthenticated = 1;
	assert_int_equal(fx_parse(&f, LIT("*1\r\n$2000000000\r\n")), RESP_ERROR);
	assert_int_equal(f.p.err, RESP_ERR_BULK_LEN);
	fx_done(&f);
}

static void nul_before_count_cr_stalls_until_64k_like_redis(void **state)
{
	size_t n = 65537;
	char *in = calloc(1, n);
	struct fx f;

	(void)state;
	/* Redis's strchr() stops at the NUL and never sees the '\r'. */
	memcpy(in, "*1\0\r\n$1\r\na\r\n", 12);
	assert_int_equal(parse1(&f, in, 12), RESP_NEED_MORE);
	assert_int_equal(fx_parse(&f, in, n - 1), RESP_NEED_MORE);
	assert_int_equal(fx_parse(&f, in, n), RESP_ERROR);
	assert_int_equal(f.p.err, RESP_ERR_BIG_MBULK);
	fx_done(&f);
	free(in);
}

static void nul_before_bulk_header_cr_stalls_until_64k_like_redis(void **state)
{
	size_t n = 4 + 65537;
	char *in = calloc(1, n);
	struct fx f;

	(void)state;
	memcpy(in, "*1\r\n$1\0\r\na\r\n", 12);
	assert_int_equal(parse1(&f, in, 12), RESP_NEED_MORE);
	assert_int_equal(fx_parse(&f, in, n - 1), RESP_NEED_MORE);
	assert_int_equal(fx_parse(&f, in, n), RESP_ERROR);
	assert_int_equal(f.p.err, RESP_ERR_BIG_BULK);
	fx_done(&f);
	free(in);
}

static void error_is_sticky_until_reset(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT("*x\r\n")), RESP_ERROR);
	assert_int_equal(fx_parse(&f, LIT("*x\r\n*1\r\n$1\r\na\r\n")), RESP_ERROR);
	assert_int_equal(f.p.err, RESP_ERR_MBULK_LEN);
	resp_parser_reset(&f.p, 4);
	assert_int_equal(f.p.err, RESP_ERR_NONE);
	assert_int_equal(fx_parse(&f, LIT("*x\r\n*1\r\n$1\r\na\r\n")), RESP_DONE);
	ASSERT_ARG(&f, 0, "a");
	fx_done(&f);
}

/* ---- argv growth ------------------------------------------------------- */

static void need_argv_is_returned_when_an_argument_finds_argv_full(void **state)
{
	static const char in[] = "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n";
	struct fx f;

	(void)state;
	fx_init(&f);
	f.cap = 1;
	assert_int_equal(fx_parse(&f, LIT(in)), RESP_NEED_ARGV);
	assert_int_equal(f.p.argc, 3);
	assert_int_equal(f.p.nargs, 1);
	assert_int_equal(f.argv[0].off, 8);
	f.cap = 2;
	assert_int_equal(fx_parse(&f, LIT(in)), RESP_NEED_ARGV);
	assert_int_equal(f.p.nargs, 2);
	f.cap = 3;
	assert_int_equal(fx_parse(&f, LIT(in)), RESP_DONE);
	assert_int_equal(f.argc, 3);
	ASSERT_ARG(&f, 0, "a");
	ASSERT_ARG(&f, 1, "b");
	ASSERT_ARG(&f, 2, "c");
	assert_int_equal(f.consumed, sizeof(in) - 1);
	fx_done(&f);
}

static void need_argv_keeps_entries_filled_in_the_old_array(void **state)
{
	static const char in[] = "*3\r\n$1\r\na\r\n$2\r\nbb\r\n$3\r\nccc\r\n";
	struct resp_parser p;
	struct resp_arg small[1], *big;
	size_t argc, consumed;
	char buf[sizeof(in)];

	(void)state;
	memcpy(buf, in, sizeof(in));
	memset(&p, 0, sizeof(p));
	resp_parser_reset(&p, 0);
	assert_int_equal(resp_parse(&p, buf, sizeof(in) - 1, small, 1, &argc, &consumed),
			 RESP_NEED_ARGV);
	big = calloc((size_t)p.argc, sizeof(*big));
	big[0] = small[0];
	assert_int_equal(resp_parse(&p, buf, sizeof(in) - 1, big, (size_t)p.argc, &argc, &consumed),
			 RESP_DONE);
	assert_int_equal(argc, 3);
	assert_int_equal(big[0].off, 8);
	assert_int_equal(big[1].off, 15);
	assert_int_equal(big[2].off, 23);
	assert_int_equal(big[2].len, 3);
	free(big);
}

static void need_argv_waits_for_the_argument_data(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f);
	f.cap = 0;
	/* A huge announced count alone never asks for argv. */
	assert_int_equal(fx_parse(&f, LIT("*1000000\r\n$3\r\nfo")), RESP_NEED_MORE);
	assert_int_equal(fx_parse(&f, LIT("*1000000\r\n$3\r\nfoo\r\n")), RESP_NEED_ARGV);
	assert_int_equal(f.p.argc, 1000000);
	assert_int_equal(f.p.nargs, 0);
	fx_done(&f);
}

static void need_argv_for_an_inline_line_leaves_the_buffer_untouched(void **state)
{
	static const char in[] = "a \"\\x41\" 'c'\r\n";
	struct fx f;

	(void)state;
	fx_init(&f);
	f.cap = 2;
	assert_int_equal(fx_parse(&f, LIT(in)), RESP_NEED_ARGV);
	assert_int_equal(f.p.argc, 3);
	assert_memory_equal(f.buf, in, sizeof(in) - 1);
	f.cap = 3;
	/* Same mapping: the parser resumes on the bytes it left alone. */
	f.rc = resp_parse(&f.p, f.buf, f.len, f.argv, f.cap, &f.argc, &f.consumed);
	assert_int_equal(f.rc, RESP_DONE);
	assert_int_equal(f.argc, 3);
	ASSERT_ARG(&f, 0, "a");
	ASSERT_ARG(&f, 1, "A");
	ASSERT_ARG(&f, 2, "c");
	assert_int_equal(f.consumed, sizeof(in) - 1);
	fx_done(&f);
}

/* ---- parser state ------------------------------------------------------ */

static void parse_starts_at_the_reset_offset(void **state)
{
	static const char in[] = "junk!*1\r\n$2\r\nhi\r\n";
	struct fx f;

	(void)state;
	fx_init(&f);
	resp_parser_reset(&f.p, 5);
	assert_int_equal(fx_parse(&f, LIT(in)), RESP_DONE);
	assert_int_equal(f.argc, 1);
	assert_int_equal(f.argv[0].off, 13);
	ASSERT_ARG(&f, 0, "hi");
	assert_int_equal(f.consumed, sizeof(in) - 1);
	fx_done(&f);
}

static void reset_keeps_the_limits(void **state)
{
	struct resp_parser p;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.max_bulk_len = 7;
	p.max_args = 8;
	p.max_inline = 9;
	p.unauthenticated = 1;
	resp_parser_reset(&p, 3);
	assert_int_equal(p.max_bulk_len, 7);
	assert_int_equal(p.max_args, 8);
	assert_int_equal(p.max_inline, 9);
	assert_int_equal(p.unauthenticated, 1);
	assert_int_equal(p.argc, -1);
	assert_int_equal(p.bulk_len, -1);
	assert_int_equal(p.nargs, 0);
	assert_int_equal(p.start, 3);
	assert_int_equal(p.pos, 3);
	assert_int_equal(p.kind, 0);
}

static void zeroed_parser_parses_from_offset_zero(void **state)
{
	char buf[] = "*1\r\n$1\r\nx\r\n";
	struct resp_parser p;
	struct resp_arg argv[1];
	size_t argc, consumed;

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_int_equal(resp_parse(&p, buf, sizeof(buf) - 1, argv, 1, &argc, &consumed),
			 RESP_DONE);
	assert_int_equal(argc, 1);
	assert_int_equal(argv[0].off, 8);
	assert_int_equal(consumed, 11);
}

static void parse_again_after_done_repeats_the_result(void **state)
{
	static const char in[] = "set \"a\\x41\" b\n";
	struct fx f;

	(void)state;
	fx_init(&f);
	assert_int_equal(fx_parse(&f, LIT(in)), RESP_DONE);
	f.argc = f.consumed = 0;
	/* Same (already unescaped) bytes: nothing is unescaped twice. */
	f.rc = resp_parse(&f.p, f.buf, f.len, f.argv, f.cap, &f.argc, &f.consumed);
	assert_int_equal(f.rc, RESP_DONE);
	assert_int_equal(f.argc, 3);
	ASSERT_ARG(&f, 1, "aA");
	assert_int_equal(f.consumed, sizeof(in) - 1);
	fx_done(&f);
}

static void kind_records_the_request_type(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT("*1")), RESP_NEED_MORE);
	assert_int_equal(f.p.kind, '*');
	fx_done(&f);
	assert_int_equal(parse1(&f, LIT("PI")), RESP_NEED_MORE);
	assert_int_equal(f.p.kind, 'i');
	fx_done(&f);
}

/* ---- inline ------------------------------------------------------------ */

static void inline_words_are_split_on_spaces_with_exact_offsets(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT("SET k v\r\n")), RESP_DONE);
	assert_int_equal(f.argc, 3);
	assert_int_equal(f.argv[0].off, 0);
	assert_int_equal(f.argv[1].off, 4);
	assert_int_equal(f.argv[2].off, 6);
	ASSERT_ARG(&f, 0, "SET");
	ASSERT_ARG(&f, 2, "v");
	assert_int_equal(f.consumed, 9);
	fx_done(&f);
}

static void inline_line_may_end_with_lf_alone(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT("PING\nPING\n")), RESP_DONE);
	assert_int_equal(f.argc, 1);
	ASSERT_ARG(&f, 0, "PING");
	assert_int_equal(f.consumed, 5);
	fx_done(&f);
}

static void inline_only_one_cr_before_lf_is_stripped(void **state)
{
	struct fx f;

	(void)state;
	/* The second '\r' stays in the line, where it is a blank. */
	assert_int_equal(parse1(&f, LIT("a\r\r\n")), RESP_DONE);
	assert_int_equal(f.argc, 1);
	ASSERT_ARG(&f, 0, "a");
	assert_int_equal(f.consumed, 4);
	fx_done(&f);
}

static void inline_runs_of_blanks_separate_words(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT(" \t a \t\t b\r c \t\n")), RESP_DONE);
	assert_int_equal(f.argc, 3);
	ASSERT_ARG(&f, 0, "a");
	ASSERT_ARG(&f, 1, "b");
	ASSERT_ARG(&f, 2, "c");
	fx_done(&f);
}

static void inline_vt_and_ff_are_skipped_between_words_but_kept_inside(void **state)
{
	struct fx f;

	(void)state;
	/* sdssplitargs skips isspace() blanks, but ends a bare word only on
	 * space, tab, CR and LF. */
	assert_int_equal(parse1(&f, LIT("\v\fa\vb c\n")), RESP_DONE);
	assert_int_equal(f.argc, 2);
	ASSERT_ARG(&f, 0, "a\vb");
	ASSERT_ARG(&f, 1, "c");
	fx_done(&f);
}

static void inline_empty_line_is_a_command_without_arguments(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT("\r\n")), RESP_DONE);
	assert_int_equal(f.argc, 0);
	assert_int_equal(f.consumed, 2);
	fx_done(&f);
	assert_int_equal(parse1(&f, LIT("\n")), RESP_DONE);
	assert_int_equal(f.argc, 0);
	assert_int_equal(f.consumed, 1);
	fx_done(&f);
	assert_int_equal(parse1(&f, LIT(" \t \r\n")), RESP_DONE);
	assert_int_equal(f.argc, 0);
	assert_int_equal(f.consumed, 5);
	fx_done(&f);
}

static void inline_line_starting_with_dollar_is_inline(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT("$3\r\n")), RESP_DONE);
	assert_int_equal(f.argc, 1);
	ASSERT_ARG(&f, 0, "$3");
	fx_done(&f);
}

static void inline_double_quotes_keep_blanks(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT("set \"a b\t c\" d\r\n")), RESP_DONE);
	assert_int_equal(f.argc, 3);
	ASSERT_ARG(&f, 1, "a b\t c");
	assert_int_equal(f.argv[1].off, 4);
	ASSERT_ARG(&f, 2, "d");
	fx_done(&f);
}

static void inline_double_quote_escapes(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT("\"\\n\\r\\t\\b\\a\\\\\\\"\"\n")), RESP_DONE);
	assert_int_equal(f.argc, 1);
	ASSERT_ARG(&f, 0, "\n\r\t\b\a\\\"");
	fx_done(&f);
}

static void inline_double_quote_unknown_escape_is_the_char(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT("\"\\q\\'\\0\"\n")), RESP_DONE);
	ASSERT_ARG(&f, 0, "q'0");
	fx_done(&f);
}

static void inline_hex_escape_takes_two_hex_digits(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT("\"\\x41\\x6a\\xFF\\x00\\x4A1\"\n")), RESP_DONE);
	assert_int_equal(f.argc, 1);
	ASSERT_ARG(&f, 0, "Aj\xff\0J1");
	fx_done(&f);
}

static void inline_hex_escape_without_two_hex_digits_is_x(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT("\"\\xZZ\" \"\\x4\" \"\\x\"\n")), RESP_DONE);
	assert_int_equal(f.argc, 3);
	ASSERT_ARG(&f, 0, "xZZ");
	ASSERT_ARG(&f, 1, "x4");
	ASSERT_ARG(&f, 2, "x");
	fx_done(&f);
}

static void inline_single_quotes_escape_only_the_quote(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT("'a b' 'it\\'s' 'x\\ny\\\\z' '\"'\n")), RESP_DONE);
	assert_int_equal(f.argc, 4);
	ASSERT_ARG(&f, 0, "a b");
	ASSERT_ARG(&f, 1, "it's");
	ASSERT_ARG(&f, 2, "x\\ny\\\\z");
	ASSERT_ARG(&f, 3, "\"");
	fx_done(&f);
}

static void inline_empty_quotes_are_empty_arguments(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT("a \"\" ''\n")), RESP_DONE);
	assert_int_equal(f.argc, 3);
	assert_int_equal(f.argv[1].len, 0);
	assert_int_equal(f.argv[2].len, 0);
	fx_done(&f);
}

static void inline_quote_may_open_inside_a_word(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT("foo\"bar baz\" x'y z'\n")), RESP_DONE);
	assert_int_equal(f.argc, 2);
	ASSERT_ARG(&f, 0, "foobar baz");
	ASSERT_ARG(&f, 1, "xy z");
	fx_done(&f);
}

static void inline_closing_quote_may_be_followed_by_any_blank(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT("\"a\"\vb 'c'\td\r\n")), RESP_DONE);
	assert_int_equal(f.argc, 4);
	ASSERT_ARG(&f, 0, "a");
	ASSERT_ARG(&f, 1, "b");
	ASSERT_ARG(&f, 2, "c");
	ASSERT_ARG(&f, 3, "d");
	fx_done(&f);
}

static void inline_closing_quote_followed_by_a_char_is_unbalanced(void **state)
{
	static const char *const bad[] = {
		"\"foo\"bar\n", "'foo'bar\n", "'a'\"b\"\n", "\"a\"'b'\r\n",
	};
	struct fx f;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse1(&f, bad[i], strlen(bad[i])), RESP_ERROR);
		assert_int_equal(f.p.err, RESP_ERR_QUOTES);
		assert_error(&f, "Protocol error: unbalanced quotes in request");
		fx_done(&f);
	}
}

static void inline_unterminated_quotes_are_unbalanced(void **state)
{
	static const char *const bad[] = {
		"\"foo\n", "'foo\r\n", "set k \"v\\\"\n", "'it\\'\n", "\"\\\n", "\"\n",
	};
	struct fx f;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse1(&f, bad[i], strlen(bad[i])), RESP_ERROR);
		assert_int_equal(f.p.err, RESP_ERR_QUOTES);
		fx_done(&f);
	}
}

static void inline_quote_error_leaves_the_buffer_untouched(void **state)
{
	static const char in[] = "\"\\x41\" \"b\n";
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT(in)), RESP_ERROR);
	assert_memory_equal(f.buf, in, sizeof(in) - 1);
	fx_done(&f);
}

static void inline_closing_quote_may_end_the_line(void **state)
{
	struct fx f;

	(void)state;
	assert_int_equal(parse1(&f, LIT("'a'\r\n")), RESP_DONE);
	ASSERT_ARG(&f, 0, "a");
	fx_done(&f);
}

static void inline_waits_for_its_newline(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f);
	assert_int_equal(fx_parse(&f, LIT("GET k")), RESP_NEED_MORE);
	assert_int_equal(f.p.need, 6);
	assert_int_equal(fx_parse(&f, LIT("GET k\r")), RESP_NEED_MORE);
	assert_int_equal(fx_parse(&f, LIT("GET k\r\n")), RESP_DONE);
	assert_int_equal(f.argc, 2);
	fx_done(&f);
}

static void inline_without_newline_past_64k_is_too_big(void **state)
{
	size_t n = 65537;
	char *in = malloc(n);
	struct fx f;

	(void)state;
	memset(in, 'a', n);
	assert_int_equal(parse1(&f, in, n - 1), RESP_NEED_MORE);
	assert_int_equal(fx_parse(&f, in, n), RESP_ERROR);
	assert_int_equal(f.p.err, RESP_ERR_BIG_INLINE);
	assert_error(&f, "Protocol error: too big inline request");
	fx_done(&f);
	free(in);
}

static void inline_limit_is_configurable(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f);
	f.p.max_inline = 8;
	assert_int_equal(fx_parse(&f, LIT("12345678")), RESP_NEED_MORE);
	assert_int_equal(fx_parse(&f, LIT("123456789")), RESP_ERROR);
	assert_int_equal(f.p.err, RESP_ERR_BIG_INLINE);
	fx_done(&f);
}

static void inline_line_of_64k_bytes_is_accepted(void **state)
{
	size_t n = 65536 + 1;
	char *in = malloc(n);
	struct fx f;

	(void)state;
	memset(in, 'a', n - 1);
	in[3] = ' ';
	in[n - 1] = '\n';
	assert_int_equal(parse1(&f, in, n), RESP_DONE);
	assert_int_equal(f.argc, 2);
	assert_int_equal(f.argv[1].len, n - 5);
	assert_int_equal(f.consumed, n);
	fx_done(&f);
	free(in);
}

static void inline_line_past_64k_is_too_big_even_with_its_newline(void **state)
{
	size_t n = 65536 + 2;
	char *in = malloc(n);
	struct fx f;

	(void)state;
	/* 64 KiB and a '\r': the '\n' is the 65538th byte. */
	memset(in, 'a', n - 2);
	memcpy(in + n - 2, "\r\n", 2);
	assert_int_equal(parse1(&f, in, n), RESP_ERROR);
	assert_int_equal(f.p.err, RESP_ERR_BIG_INLINE);
	fx_done(&f);
	free(in);
}

static void inline_nul_before_newline_stalls_until_the_limit(void **state)
{
	size_t n = 65537;
	char *in = calloc(1, n);
	struct fx f;

	(void)state;
	memcpy(in, "PI\0NG\r\n", 7);
	assert_int_equal(parse1(&f, in, 7), RESP_NEED_MORE);
	assert_int_equal(fx_parse(&f, in, n - 1), RESP_NEED_MORE);
	assert_int_equal(fx_parse(&f, in, n), RESP_ERROR);
	assert_int_equal(f.p.err, RESP_ERR_BIG_INLINE);
	fx_done(&f);
	free(in);
}

/* ---- strerror ---------------------------------------------------------- */

static void strerror_words_every_error_as_redis(void **state)
{
	static const struct { enum resp_err err; const char *text; } t[] = {
		{ RESP_ERR_MBULK_LEN, "Protocol error: invalid multibulk length" },
		{ RESP_ERR_BULK_LEN, "Protocol error: invalid bulk length" },
		{ RESP_ERR_BIG_MBULK, "Protocol error: too big mbulk count string" },
		{ RESP_ERR_BIG_BULK, "Protocol error: too big bulk count string" },
		{ RESP_ERR_BIG_INLINE, "Protocol error: too big inline request" },
		{ RESP_ERR_QUOTES, "Protocol error: unbalanced quotes in request" },
		{ RESP_ERR_UNAUTH_MBULK, "Protocol error: unauthenticated multibulk length" },
		{ RESP_ERR_UNAUTH_BULK, "Protocol error: unauthenticated bulk length" },
	};
	struct resp_parser p;
	char out[128];
	size_t i;

	(void)state;
	memset(&p, 0, sizeof(p));
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		p.err = t[i].err;
		resp_parse_strerror(&p, out, sizeof(out));
		assert_string_equal(out, t[i].text);
	}
	p.err = RESP_ERR_EXPECTED_DOLLAR;
	p.err_byte = '#';
	resp_parse_strerror(&p, out, sizeof(out));
	assert_string_equal(out, "Protocol error: expected '$', got '#'");
}

static void strerror_truncates_to_cap(void **state)
{
	struct resp_parser p;
	char out[10];

	(void)state;
	memset(&p, 0, sizeof(p));
	p.err = RESP_ERR_BULK_LEN;
	resp_parse_strerror(&p, out, sizeof(out));
	assert_string_equal(out, "Protocol ");
}

/* ---- feeding in pieces ------------------------------------------------- */

/*
 * Feeds in[0 .. ends[k]) for each k, each time at a fresh address against
 * the guard page, parsing every command that completes, and writes a
 * transcript: per command its arguments as "<len>:<bytes>," then ";", and
 * "E:<strerror>" on an error. argv starts with 1 entry and doubles on
 * RESP_NEED_ARGV. Returns the transcript length.
 */
static size_t feed(const char *in, size_t n, const size_t *ends, size_t nends,
		   char *out, size_t outcap)
{
	struct resp_parser p;
	struct resp_arg *argv = malloc(sizeof(*argv));
	size_t cap = 1, o = 0, k, argc, consumed, i;
	struct guarded g = { 0 };
	int rc = RESP_NEED_MORE;

	memset(&p, 0, sizeof(p));
	resp_parser_reset(&p, 0);
	for (k = 0; k < nends && rc != RESP_ERROR; k++) {
		char *buf;

		assert_true(ends[k] <= n);
		buf = guard_copy(&g, in, ends[k]);
		for (;;) {
			rc = resp_parse(&p, buf, ends[k], argv, cap, &argc, &consumed);
			if (rc == RESP_NEED_ARGV) {
				assert_int_equal(p.nargs, p.kind == '*' ? (int64_t)cap : 0);
				cap *= 2;
				argv = realloc(argv, cap * sizeof(*argv));
				continue;
			}
			if (rc == RESP_DONE) {
				for (i = 0; i < argc; i++) {
					o += (size_t)snprintf(out + o, outcap - o, "%zu:", argv[i].len);
					assert_true(o + argv[i].len + 2 < outcap);
					memcpy(out + o, buf + argv[i].off, argv[i].len);
					o += argv[i].len;
					out[o++] = ',';
				}
				out[o++] = ';';
				resp_parser_reset(&p, consumed);
				continue;
			}
			if (rc == RESP_ERROR) {
				char msg[128];

				resp_parse_strerror(&p, msg, sizeof(msg));
				o += (size_t)snprintf(out + o, outcap - o, "E:%s", msg);
			}
			break;
		}
		guard_free(&g);
	}
	free(argv);
	assert_true(o < outcap);
	return o;
}

static const char pipeline[] =
	"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$6\r\nv\r\n\0x*\r\n"
	"PING\r\n"
	"*0\r\n"
	"\r\n"
	"set \"a b\" 'c\\'d' \"\\x41\\n\"\n"
	"*-1\r\n"
	"*1\r\n$0\r\n\r\n"
	"*4\r\n$4\r\nECHO\r\n$11\r\nhello world\r\n$1\r\n1\r\n$2\r\n22\r\n";

static const char pipeline_transcript[] =
	"3:SET,3:key,6:v\r\n\0x*,;"
	"4:PING,;"
	";"
	";"
	"3:set,3:a b,3:c'd,2:A\n,;"
	";"
	"0:,;"
	"4:ECHO,11:hello world,1:1,2:22,;";

static void pipeline_whole_gives_every_command(void **state)
{
	size_t n = sizeof(pipeline) - 1, ends[1] = { n };
	char out[1024];

	(void)state;
	assert_int_equal(feed(pipeline, n, ends, 1, out, sizeof(out)),
			 sizeof(pipeline_transcript) - 1);
	assert_memory_equal(out, pipeline_transcript, sizeof(pipeline_transcript) - 1);
}

static void pipeline_split_at_every_point_gives_the_same_commands(void **state)
{
	size_t n = sizeof(pipeline) - 1, k, ends[2];
	char out[1024];

	(void)state;
	for (k = 0; k <= n; k++) {
		ends[0] = k;
		ends[1] = n;
		assert_int_equal(feed(pipeline, n, ends, 2, out, sizeof(out)),
				 sizeof(pipeline_transcript) - 1);
		assert_memory_equal(out, pipeline_transcript, sizeof(pipeline_transcript) - 1);
	}
}

static void pipeline_split_at_every_two_points_gives_the_same_commands(void **state)
{
	size_t n = sizeof(pipeline) - 1, i, j, ends[3];
	char out[1024];

	(void)state;
	for (i = 0; i <= n; i++) {
		for (j = i; j <= n; j++) {
			ends[0] = i;
			ends[1] = j;
			ends[2] = n;
			assert_int_equal(feed(pipeline, n, ends, 3, out, sizeof(out)),
					 sizeof(pipeline_transcript) - 1);
			assert_memory_equal(out, pipeline_transcript,
					    sizeof(pipeline_transcript) - 1);
		}
	}
}

static void pipeline_byte_by_byte_gives_the_same_commands(void **state)
{
	size_t n = sizeof(pipeline) - 1, k;
	size_t *ends = malloc(n * sizeof(*ends));
	char out[1024];

	(void)state;
	for (k = 0; k < n; k++)
		ends[k] = k + 1;
	assert_int_equal(feed(pipeline, n, ends, n, out, sizeof(out)),
			 sizeof(pipeline_transcript) - 1);
	assert_memory_equal(out, pipeline_transcript, sizeof(pipeline_transcript) - 1);
	free(ends);
}

static const char bad_pipeline[] =
	"PING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\nX\r\n*1\r\n$4\r\nPING\r\n";
static const char bad_transcript[] =
	"4:PING,;3:GET,1:k,;E:Protocol error: expected '$', got 'X'";

static void pipeline_with_an_error_stops_there_at_every_split_point(void **state)
{
	size_t n = sizeof(bad_pipeline) - 1, k, ends[2];
	char out[1024];

	(void)state;
	for (k = 0; k <= n; k++) {
		ends[0] = k;
		ends[1] = n;
		assert_int_equal(feed(bad_pipeline, n, ends, 2, out, sizeof(out)),
				 sizeof(bad_transcript) - 1);
		assert_memory_equal(out, bad_transcript, sizeof(bad_transcript) - 1);
	}
}

static void pipeline_with_an_error_stops_there_byte_by_byte(void **state)
{
	size_t n = sizeof(bad_pipeline) - 1, k;
	size_t *ends = malloc(n * sizeof(*ends));
	char out[1024];

	(void)state;
	for (k = 0; k < n; k++)
		ends[k] = k + 1;
	assert_int_equal(feed(bad_pipeline, n, ends, n, out, sizeof(out)),
			 sizeof(bad_transcript) - 1);
	assert_memory_equal(out, bad_transcript, sizeof(bad_transcript) - 1);
	free(ends);
}

/*
 * 100 000 arguments ("0" .. "99999") fed in chunks of `chunk` bytes, argv
 * doubling from 1. Byte by byte this is about 1.1 million calls: a parser
 * that rescanned finished arguments would not end.
 */
static void feed_100k_arguments(size_t chunk)
{
	enum { NARGS = 100000 };
	size_t cap = 1, len = 0, n = 0, argc = 0, consumed = 0, i;
	struct resp_arg *argv = malloc(sizeof(*argv));
	struct resp_parser p;
	char *in = malloc(16 + (size_t)NARGS * 16);
	int rc = RESP_NEED_MORE;
	size_t calls = 0;

	n += (size_t)sprintf(in, "*%d\r\n", NARGS);
	for (i = 0; i < NARGS; i++) {
		char num[16];
		int d = sprintf(num, "%zu", i);

		n += (size_t)sprintf(in + n, "$%d\r\n%s\r\n", d, num);
	}
	memset(&p, 0, sizeof(p));
	resp_parser_reset(&p, 0);
	while (len < n) {
		len = len + chunk < n ? len + chunk : n;
		do {
			rc = resp_parse(&p, in, len, argv, cap, &argc, &consumed);
			calls++;
			if (rc == RESP_NEED_ARGV) {
				assert_int_equal(p.nargs, (int64_t)cap);
				cap *= 2;
				argv = realloc(argv, cap * sizeof(*argv));
			}
		} while (rc == RESP_NEED_ARGV);
		if (len < n)
			assert_int_equal(rc, RESP_NEED_MORE);
	}
	assert_int_equal(rc, RESP_DONE);
	assert_int_equal(argc, NARGS);
	assert_int_equal(consumed, n);
	for (i = 0; i < NARGS; i++) {
		char num[16];
		int d = sprintf(num, "%zu", i);

		assert_int_equal(argv[i].len, (size_t)d);
		assert_memory_equal(in + argv[i].off, num, (size_t)d);
	}
	assert_true(calls >= n / chunk);
	free(argv);
	free(in);
}

static void command_of_100k_arguments_in_4k_chunks(void **state)
{
	(void)state;
	feed_100k_arguments(4096);
}

static void command_of_100k_arguments_in_7_byte_chunks(void **state)
{
	(void)state;
	feed_100k_arguments(7);
}

static void command_of_100k_arguments_byte_by_byte(void **state)
{
	(void)state;
	feed_100k_arguments(1);
}

static void long_count_line_fed_byte_by_byte_is_scanned_once(void **state)
{
	size_t n = 65537, len;
	char *in = malloc(n);
	struct resp_parser p;
	struct resp_arg argv[1];
	size_t argc, consumed;
	int rc = RESP_NEED_MORE;

	(void)state;
	/* 64K calls: a rescan from the line start each time would be 2^31 steps. */
	in[0] = '*';
	memset(in + 1, '7', n - 1);
	memset(&p, 0, sizeof(p));
	resp_parser_reset(&p, 0);
	for (len = 1; len <= n; len++) {
		rc = resp_parse(&p, in, len, argv, 1, &argc, &consumed);
		if (rc != RESP_NEED_MORE)
			break;
		assert_int_equal(p.pos, len);
	}
	assert_int_equal(rc, RESP_ERROR);
	assert_int_equal(len, n);
	assert_int_equal(p.err, RESP_ERR_BIG_MBULK);
	free(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mbulk_command_is_parsed_with_exact_offsets),
		cmocka_unit_test(mbulk_consumes_one_command_of_a_pipeline),
		cmocka_unit_test(mbulk_bulk_data_is_binary_safe),
		cmocka_unit_test(mbulk_empty_bulk_is_an_empty_argument),
		cmocka_unit_test(mbulk_count_zero_is_a_command_without_arguments),
		cmocka_unit_test(mbulk_negative_count_is_a_command_without_arguments),
		cmocka_unit_test(mbulk_count_line_ends_at_cr_and_skips_the_next_byte),
		cmocka_unit_test(mbulk_bulk_terminator_is_skipped_unchecked),
		cmocka_unit_test(mbulk_largest_count_is_accepted_without_asking_for_argv),
		cmocka_unit_test(mbulk_bulk_of_max_bulk_len_is_accepted),
		cmocka_unit_test(mbulk_need_covers_a_bulk_larger_than_4gib),
		cmocka_unit_test(need_more_on_empty_input),
		cmocka_unit_test(need_more_while_count_line_is_incomplete),
		cmocka_unit_test(need_more_when_count_line_lacks_the_byte_after_cr),
		cmocka_unit_test(need_for_a_bulk_is_the_offset_past_its_terminator),
		cmocka_unit_test(need_more_when_only_the_terminator_is_missing),
		cmocka_unit_test(resumes_with_buffer_moved_to_another_address),
		cmocka_unit_test(count_above_int32_max_is_invalid_multibulk_length),
		cmocka_unit_test(count_not_a_strict_integer_is_invalid_multibulk_length),
		cmocka_unit_test(count_above_max_args_is_invalid_multibulk_length),
		cmocka_unit_test(count_line_without_cr_past_64k_is_too_big_mbulk),
		cmocka_unit_test(count_line_with_cr_as_its_65537th_byte_is_parsed),
		cmocka_unit_test(count_line_with_cr_past_64k_is_too_big_even_when_buffered),
		cmocka_unit_test(unauthenticated_count_above_10_is_rejected),
		cmocka_unit_test(unauthenticated_invalid_count_reports_invalid_length_first),
		cmocka_unit_test(bulk_header_without_dollar_is_expected_dollar),
		cmocka_unit_test(expected_dollar_is_reported_once_the_line_is_complete),
		cmocka_unit_test(empty_bulk_header_line_is_expected_dollar_got_cr),
		cmocka_unit_test(negative_bulk_length_is_invalid_bulk_length),
		cmocka_unit_test(bulk_length_not_a_strict_integer_is_invalid),
		cmocka_unit_test(bulk_length_above_max_bulk_len_is_invalid),
		cmocka_unit_test(bulk_length_limit_is_configurable),
		cmocka_unit_test(bulk_header_without_cr_past_64k_is_too_big_bulk),
		cmocka_unit_test(unauthenticated_bulk_above_16384_is_rejected),
		cmocka_unit_test(unauthenticated_invalid_bulk_reports_invalid_length_first),
		cmocka_unit_test(nul_before_count_cr_stalls_until_64k_like_redis),
		cmocka_unit_test(nul_before_bulk_header_cr_stalls_until_64k_like_redis),
		cmocka_unit_test(error_is_sticky_until_reset),
		cmocka_unit_test(need_argv_is_returned_when_an_argument_finds_argv_full),
		cmocka_unit_test(need_argv_keeps_entries_filled_in_the_old_array),
		cmocka_unit_test(need_argv_waits_for_the_argument_data),
		cmocka_unit_test(need_argv_for_an_inline_line_leaves_the_buffer_untouched),
		cmocka_unit_test(parse_starts_at_the_reset_offset),
		cmocka_unit_test(reset_keeps_the_limits),
		cmocka_unit_test(zeroed_parser_parses_from_offset_zero),
		cmocka_unit_test(parse_again_after_done_repeats_the_result),
		cmocka_unit_test(kind_records_the_request_type),
		cmocka_unit_test(inline_words_are_split_on_spaces_with_exact_offsets),
		cmocka_unit_test(inline_line_may_end_with_lf_alone),
		cmocka_unit_test(inline_only_one_cr_before_lf_is_stripped),
		cmocka_unit_test(inline_runs_of_blanks_separate_words),
		cmocka_unit_test(inline_vt_and_ff_are_skipped_between_words_but_kept_inside),
		cmocka_unit_test(inline_empty_line_is_a_command_without_arguments),
		cmocka_unit_test(inline_line_starting_with_dollar_is_inline),
		cmocka_unit_test(inline_double_quotes_keep_blanks),
		cmocka_unit_test(inline_double_quote_escapes),
		cmocka_unit_test(inline_double_quote_unknown_escape_is_the_char),
		cmocka_unit_test(inline_hex_escape_takes_two_hex_digits),
		cmocka_unit_test(inline_hex_escape_without_two_hex_digits_is_x),
		cmocka_unit_test(inline_single_quotes_escape_only_the_quote),
		cmocka_unit_test(inline_empty_quotes_are_empty_arguments),
		cmocka_unit_test(inline_quote_may_open_inside_a_word),
		cmocka_unit_test(inline_closing_quote_may_be_followed_by_any_blank),
		cmocka_unit_test(inline_closing_quote_followed_by_a_char_is_unbalanced),
		cmocka_unit_test(inline_unterminated_quotes_are_unbalanced),
		cmocka_unit_test(inline_quote_error_leaves_the_buffer_untouched),
		cmocka_unit_test(inline_closing_quote_may_end_the_line),
		cmocka_unit_test(inline_waits_for_its_newline),
		cmocka_unit_test(inline_without_newline_past_64k_is_too_big),
		cmocka_unit_test(inline_limit_is_configurable),
		cmocka_unit_test(inline_line_of_64k_bytes_is_accepted),
		cmocka_unit_test(inline_line_past_64k_is_too_big_even_with_its_newline),
		cmocka_unit_test(inline_nul_before_newline_stalls_until_the_limit),
		cmocka_unit_test(strerror_words_every_error_as_redis),
		cmocka_unit_test(strerror_truncates_to_cap),
		cmocka_unit_test(pipeline_whole_gives_every_command),
		cmocka_unit_test(pipeline_split_at_every_point_gives_the_same_commands),
		cmocka_unit_test(pipeline_split_at_every_two_points_gives_the_same_commands),
		cmocka_unit_test(pipeline_byte_by_byte_gives_the_same_commands),
		cmocka_unit_test(pipeline_with_an_error_stops_there_at_every_split_point),
		cmocka_unit_test(pipeline_with_an_error_stops_there_byte_by_byte),
		cmocka_unit_test(command_of_100k_arguments_in_4k_chunks),
		cmocka_unit_test(command_of_100k_arguments_in_7_byte_chunks),
		cmocka_unit_test(command_of_100k_arguments_byte_by_byte),
		cmocka_unit_test(long_count_line_fed_byte_by_byte_is_scanned_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
