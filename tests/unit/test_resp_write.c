/*
 * test_resp_write.c - the reply encoders, as a specification: for each
 * encoder, the exact bytes in RESP2 and in RESP3.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp_write.h"

struct wfx {
	struct sbuf b;
	struct resp_w w;
};

static void wfx_init(struct wfx *f, int proto)
{
	memset(f, 0, sizeof(*f));
	f->w.b = &f->b;
	f->w.proto = proto;
}

/* The buffer holds exactly the n bytes at want; then it is emptied. */
static void expect_bytes(struct wfx *f, const char *want, size_t n)
{
	assert_int_equal(f->b.len, n);
	assert_memory_equal(f->b.p, want, n);
	f->b.len = 0;
}

#define EXPECT(f, lit) expect_bytes((f), (lit), sizeof(lit) - 1)

static void wfx_done(struct wfx *f)
{
	sbuf_free(&f->b);
}

/* ---- the same in both protocols ---------------------------------------- */

static void raw_appends_bytes_as_given(void **state)
{
	struct wfx f;

	(void)state;
	wfx_init(&f, RESP2);
	resp_w_raw(&f.w, "a\0b", 3);
	resp_w_raw(&f.w, NULL, 0);
	EXPECT(&f, "a\0b");
	wfx_done(&f);
}

static void simple_string(void **state)
{
	int proto;

	(void)state;
	for (proto = RESP2; proto <= RESP3; proto++) {
		struct wfx f;

		wfx_init(&f, proto);
		resp_w_simple(&f.w, "PONG");
		EXPECT(&f, "+PONG\r\n");
		resp_w_simple(&f.w, "");
		EXPECT(&f, "+\r\n");
		wfx_done(&f);
	}
}

static void ok_is_plus_ok(void **state)
{
	int proto;

	(void)state;
	for (proto = RESP2; proto <= RESP3; proto++) {
		struct wfx f;

		wfx_init(&f, proto);
		resp_w_ok(&f.w);
		EXPECT(&f, "+OK\r\n");
		wfx_done(&f);
	}
}

static void error_without_dash_gets_err_prefix(void **state)
{
	int proto;

	(void)state;
	for (proto = RESP2; proto <= RESP3; proto++) {
		struct wfx f;

		wfx_init(&f, proto);
		resp_w_error(&f.w, "unknown command");
		EXPECT(&f, "-ERR unknown command\r\n");
		wfx_done(&f);
	}
}

static void error_with_dash_is_used_as_is(void **state)
{
	struct wfx f;

	(void)state;
	wfx_init(&f, RESP3);
	resp_w_error(&f.w, "-WRONGTYPE Operation against a key holding the wrong kind of value");
	EXPECT(&f, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
	wfx_done(&f);
}

static void error_empty_message_is_err_and_a_space(void **state)
{
	struct wfx f;

	(void)state;
	wfx_init(&f, RESP2);
	resp_w_error(&f.w, "");
	EXPECT(&f, "-ERR \r\n");
	wfx_done(&f);
}

static void error_cr_and_lf_become_spaces(void **state)
{
	struct wfx f;

	(void)state;
	wfx_init(&f, RESP2);
	resp_w_error(&f.w, "a\r\nb\nc\r");
	EXPECT(&f, "-ERR a  b c \r\n");
	resp_w_error(&f.w, "-X\ny");
	EXPECT(&f, "-X y\r\n");
	wfx_done(&f);
}

static void error_counts_in_nerr(void **state)
{
	struct wfx f;

	(void)state;
	wfx_init(&f, RESP2);
	resp_w_error(&f.w, "a");
	resp_w_errorf(&f.w, "b %d", 1);
	resp_w_ok(&f.w);
	assert_int_equal(f.w.nerr, 2);
	wfx_done(&f);
}

static char seen_codes[256];

static void record_code(void *arg, const char *code, size_t len)
{
	size_t n = strlen(seen_codes);

	(*(int *)arg)++;
	snprintf(seen_codes + n, sizeof(seen_codes) - n, "%.*s;", (int)len, code);
}

static void error_hook_gets_the_code(void **state)
{
	struct wfx f;
	int calls = 0;

	(void)state;
	seen_codes[0] = '\0';
	wfx_init(&f, RESP3);
	f.w.on_error = record_code;
	f.w.err_arg = &calls;
	resp_w_error(&f.w, "unknown command");
	resp_w_error(&f.w, "-WRONGTYPE Operation against a key");
	resp_w_error(&f.w, "-NOAUTH");
	resp_w_error(&f.w, "");
	resp_w_errorf(&f.w, "-%s %d", "MOVED", 42);
	assert_int_equal(calls, 5);
	assert_string_equal(seen_codes, "ERR;WRONGTYPE;NOAUTH;ERR;MOVED;");
	wfx_done(&f);
}

static void errorf_formats_then_prefixes(void **state)
{
	struct wfx f;

	(void)state;
	wfx_init(&f, RESP2);
	resp_w_errorf(&f.w, "wrong number of arguments for '%s' command", "get");
	EXPECT(&f, "-ERR wrong number of arguments for 'get' command\r\n");
	resp_w_errorf(&f.w, "-%s %d", "MOVED", 42);
	EXPECT(&f, "-MOVED 42\r\n");
	wfx_done(&f);
}

static void errorf_trims_cr_lf_at_both_ends_and_maps_the_rest(void **state)
{
	struct wfx f;

	(void)state;
	wfx_init(&f, RESP2);
	resp_w_errorf(&f.w, "\r\n%s\r\n", "a\rb");
	EXPECT(&f, "-ERR a b\r\n");
	resp_w_errorf(&f.w, "%s", "\n\n");
	EXPECT(&f, "-ERR \r\n");
	wfx_done(&f);
}

static void errorf_message_longer_than_the_stack_buffer(void **state)
{
	char arg[1001], want[1100];
	struct wfx f;
	size_t n;

	(void)state;
	memset(arg, 'x', 1000);
	arg[1000] = '\0';
	n = (size_t)snprintf(want, sizeof(want), "-ERR [%s]\r\n", arg);
	wfx_init(&f, RESP2);
	resp_w_errorf(&f.w, "[%s]", arg);
	expect_bytes(&f, want, n);
	wfx_done(&f);
}

static void errorf_keeps_an_embedded_nul(void **state)
{
	struct wfx f;

	(void)state;
	wfx_init(&f, RESP2);
	resp_w_errorf(&f.w, "got '%c'", 0);
	EXPECT(&f, "-ERR got '\0'\r\n");
	wfx_done(&f);
}

static void integer(void **state)
{
	int proto;

	(void)state;
	for (proto = RESP2; proto <= RESP3; proto++) {
		struct wfx f;

		wfx_init(&f, proto);
		resp_w_int(&f.w, 0);
		EXPECT(&f, ":0\r\n");
		resp_w_int(&f.w, -1);
		EXPECT(&f, ":-1\r\n");
		resp_w_int(&f.w, 1234567890);
		EXPECT(&f, ":1234567890\r\n");
		resp_w_int(&f.w, LLONG_MAX);
		EXPECT(&f, ":9223372036854775807\r\n");
		resp_w_int(&f.w, LLONG_MIN);
		EXPECT(&f, ":-9223372036854775808\r\n");
		wfx_done(&f);
	}
}

static void bulk_string(void **state)
{
	int proto;

	(void)state;
	for (proto = RESP2; proto <= RESP3; proto++) {
		struct wfx f;

		wfx_init(&f, proto);
		resp_w_bulk(&f.w, "hello", 5);
		EXPECT(&f, "$5\r\nhello\r\n");
		resp_w_bulk(&f.w, "", 0);
		EXPECT(&f, "$0\r\n\r\n");
		resp_w_bulk(&f.w, "a\r\n\0b", 5);
		EXPECT(&f, "$5\r\na\r\n\0b\r\n");
		wfx_done(&f);
	}
}

static void bulk_string_large(void **state)
{
	size_t n = 100000;
	char *data = malloc(n);
	struct wfx f;

	(void)state;
	memset(data, 'v', n);
	wfx_init(&f, RESP2);
	resp_w_bulk(&f.w, data, n);
	assert_int_equal(f.b.len, 9 + n + 2);
	assert_memory_equal(f.b.p, "$100000\r\n", 9);
	assert_memory_equal(f.b.p + 9, data, n);
	assert_memory_equal(f.b.p + 9 + n, "\r\n", 2);
	wfx_done(&f);
	free(data);
}

static void bulk_cstr(void **state)
{
	int proto;

	(void)state;
	for (proto = RESP2; proto <= RESP3; proto++) {
		struct wfx f;

		wfx_init(&f, proto);
		resp_w_bulk_cstr(&f.w, "value");
		EXPECT(&f, "$5\r\nvalue\r\n");
		resp_w_bulk_cstr(&f.w, "");
		EXPECT(&f, "$0\r\n\r\n");
		wfx_done(&f);
	}
}

static void bulk_cstr_null_is_the_null_reply(void **state)
{
	struct wfx f;

	(void)state;
	wfx_init(&f, RESP2);
	resp_w_bulk_cstr(&f.w, NULL);
	EXPECT(&f, "$-1\r\n");
	f.w.proto = RESP3;
	resp_w_bulk_cstr(&f.w, NULL);
	EXPECT(&f, "_\r\n");
	wfx_done(&f);
}

static void bulk_ll(void **state)
{
	int proto;

	(void)state;
	for (proto = RESP2; proto <= RESP3; proto++) {
		struct wfx f;

		wfx_init(&f, proto);
		resp_w_bulk_ll(&f.w, 0);
		EXPECT(&f, "$1\r\n0\r\n");
		resp_w_bulk_ll(&f.w, -42);
		EXPECT(&f, "$3\r\n-42\r\n");
		resp_w_bulk_ll(&f.w, LLONG_MIN);
		EXPECT(&f, "$20\r\n-9223372036854775808\r\n");
		wfx_done(&f);
	}
}

static void array_header(void **state)
{
	int proto;

	(void)state;
	for (proto = RESP2; proto <= RESP3; proto++) {
		struct wfx f;

		wfx_init(&f, proto);
		resp_w_array(&f.w, 0);
		EXPECT(&f, "*0\r\n");
		resp_w_array(&f.w, 12345);
		EXPECT(&f, "*12345\r\n");
		wfx_done(&f);
	}
}

/* ---- RESP2 and RESP3 differ -------------------------------------------- */

static void null_resp2_is_null_bulk(void **state)
{
	struct wfx f;

	(void)state;
	wfx_init(&f, RESP2);
	resp_w_null(&f.w);
	EXPECT(&f, "$-1\r\n");
	wfx_done(&f);
}

static void null_resp3_is_underscore(void **state)
{
	struct wfx f;

	(void)state;
	wfx_init(&f, RESP3);
	resp_w_null(&f.w);
	EXPECT(&f, "_\r\n");
	wfx_done(&f);
}

static void null_array_resp2_is_star_minus_one(void **state)
{
	struct wfx f;

	(void)state;
	wfx_init(&f, RESP2);
	resp_w_null_array(&f.w);
	EXPECT(&f, "*-1\r\n");
	wfx_done(&f);
}

static void null_array_resp3_is_underscore(void **state)
{
	struct wfx f;

	(void)state;
	wfx_init(&f, RESP3);
	resp_w_null_array(&f.w);
	EXPECT(&f, "_\r\n");
	wfx_done(&f);
}

static void map_resp2_is_array_of_twice_the_pairs(void **state)
{
	struct wfx f;

	(void)state;
	wfx_init(&f, RESP2);
	resp_w_map(&f.w, 3);
	EXPECT(&f, "*6\r\n");
	resp_w_map(&f.w, 0);
	EXPECT(&f, "*0\r\n");
	wfx_done(&f);
}

static void map_resp3_is_percent(void **state)
{
	struct wfx f;

	(void)state;
	wfx_init(&f, RESP3);
	resp_w_map(&f.w, 3);
	EXPECT(&f, "%3\r\n");
	wfx_done(&f);
}

static void set_resp2_is_array(void **state)
{
	struct wfx f;

	(void)state;
	wfx_init(&f, RESP2);
	resp_w_set(&f.w, 4);
	EXPECT(&f, "*4\r\n");
	wfx_done(&f);
}

static void set_resp3_is_tilde(void **state)
{
	struct wfx f;

	(void)state;
	wfx_init(&f, RESP3);
	resp_w_set(&f.w, 4);
	EXPECT(&f, "~4\r\n");
	wfx_done(&f);
}

static void push_resp2_is_array(void **state)
{
	struct wfx f;

	(void)state;
	wfx_init(&f, RESP2);
	resp_w_push(&f.w, 3);
	EXPECT(&f, "*3\r\n");
	wfx_done(&f);
}

static void push_resp3_is_greater_than(void **state)
{
	struct wfx f;

	(void)state;
	wfx_init(&f, RESP3);
	resp_w_push(&f.w, 3);
	EXPECT(&f, ">3\r\n");
	wfx_done(&f);
}

static void double_resp2_is_bulk_of_17_digits(void **state)
{
	struct wfx f;

	(void)state;
	wfx_init(&f, RESP2);
	resp_w_double(&f.w, 3.14);
	EXPECT(&f, "$18\r\n3.1400000000000001\r\n");
	resp_w_double(&f.w, 1.0);
	EXPECT(&f, "$1\r\n1\r\n");
	resp_w_double(&f.w, 0.1);
	EXPECT(&f, "$19\r\n0.10000000000000001\r\n");
	resp_w_double(&f.w, -2.5e-10);
	EXPECT(&f, "$23\r\n-2.5000000000000002e-10\r\n");
	resp_w_double(&f.w, 1e300);
	EXPECT(&f, "$23\r\n1.0000000000000001e+300\r\n");
	resp_w_double(&f.w, -0.0);
	EXPECT(&f, "$2\r\n-0\r\n");
	wfx_done(&f);
}

static void double_resp3_is_comma(void **state)
{
	struct wfx f;

	(void)state;
	wfx_init(&f, RESP3);
	resp_w_double(&f.w, 3.14);
	EXPECT(&f, ",3.1400000000000001\r\n");
	resp_w_double(&f.w, 1.5);
	EXPECT(&f, ",1.5\r\n");
	resp_w_double(&f.w, 1e300);
	EXPECT(&f, ",1.0000000000000001e+300\r\n");
	wfx_done(&f);
}

static void double_infinities_and_nan_resp2(void **state)
{
	struct wfx f;

	(void)state;
	wfx_init(&f, RESP2);
	resp_w_double(&f.w, INFINITY);
	EXPECT(&f, "$3\r\ninf\r\n");
	resp_w_double(&f.w, -INFINITY);
	EXPECT(&f, "$4\r\n-inf\r\n");
	resp_w_double(&f.w, NAN);
	EXPECT(&f, "$3\r\nnan\r\n");
	resp_w_double(&f.w, -NAN);
	EXPECT(&f, "$3\r\nnan\r\n");
	wfx_done(&f);
}

static void double_infinities_and_nan_resp3(void **state)
{
	struct wfx f;

	(void)state;
	wfx_init(&f, RESP3);
	resp_w_double(&f.w, INFINITY);
	EXPECT(&f, ",inf\r\n");
	resp_w_double(&f.w, -INFINITY);
	EXPECT(&f, ",-inf\r\n");
	resp_w_double(&f.w, NAN);
	EXPECT(&f, ",nan\r\n");
	resp_w_double(&f.w, -NAN);
	EXPECT(&f, ",nan\r\n");
	wfx_done(&f);
}

static void format_double_returns_the_length(void **state)
{
	char buf[32];

	(void)state;
	assert_int_equal(resp_format_double(buf, 3.14), 18);
	assert_string_equal(buf, "3.1400000000000001");
	assert_int_equal(resp_format_double(buf, -INFINITY), 4);
	assert_string_equal(buf, "-inf");
	assert_int_equal(resp_format_double(buf, INFINITY), 3);
	assert_string_equal(buf, "inf");
	assert_int_equal(resp_format_double(buf, -NAN), 3);
	assert_string_equal(buf, "nan");
	assert_int_equal(resp_format_double(buf, -1.2345678901234567e-308), 24);
	assert_string_equal(buf, "-1.2345678901234567e-308");
}

static void bool_resp2_is_integer(void **state)
{
	struct wfx f;

	(void)state;
	wfx_init(&f, RESP2);
	resp_w_bool(&f.w, 1);
	EXPECT(&f, ":1\r\n");
	resp_w_bool(&f.w, 0);
	EXPECT(&f, ":0\r\n");
	resp_w_bool(&f.w, 7);
	EXPECT(&f, ":1\r\n");
	wfx_done(&f);
}

static void bool_resp3_is_hash(void **state)
{
	struct wfx f;

	(void)state;
	wfx_init(&f, RESP3);
	resp_w_bool(&f.w, 1);
	EXPECT(&f, "#t\r\n");
	resp_w_bool(&f.w, 0);
	EXPECT(&f, "#f\r\n");
	wfx_done(&f);
}

static void verbatim_resp2_is_bulk_without_format(void **state)
{
	struct wfx f;

	(void)state;
	wfx_init(&f, RESP2);
	resp_w_verbatim(&f.w, "txt", "Some string", 11);
	EXPECT(&f, "$11\r\nSome string\r\n");
	wfx_done(&f);
}

static void verbatim_resp3_is_equals_with_format_prefix(void **state)
{
	struct wfx f;

	(void)state;
	wfx_init(&f, RESP3);
	resp_w_verbatim(&f.w, "txt", "Some string", 11);
	EXPECT(&f, "=15\r\ntxt:Some string\r\n");
	resp_w_verbatim(&f.w, "mkd", "", 0);
	EXPECT(&f, "=4\r\nmkd:\r\n");
	wfx_done(&f);
}

/* ---- deferred aggregates ----------------------------------------------- */

static void defer_array_inserts_the_header_before_elements(void **state)
{
	int proto;

	(void)state;
	for (proto = RESP2; proto <= RESP3; proto++) {
		struct wfx f;
		size_t off;

		wfx_init(&f, proto);
		off = resp_w_defer(&f.w);
		assert_int_equal(off, 0);
		resp_w_bulk(&f.w, "a", 1);
		resp_w_int(&f.w, 2);
		resp_w_defer_end(&f.w, off, '*', 2);
		EXPECT(&f, "*2\r\n$1\r\na\r\n:2\r\n");
		wfx_done(&f);
	}
}

static void defer_after_earlier_replies_keeps_them(void **state)
{
	struct wfx f;
	size_t off;

	(void)state;
	wfx_init(&f, RESP2);
	resp_w_ok(&f.w);
	off = resp_w_defer(&f.w);
	assert_int_equal(off, 5);
	resp_w_int(&f.w, 1);
	resp_w_defer_end(&f.w, off, '*', 1);
	EXPECT(&f, "+OK\r\n*1\r\n:1\r\n");
	wfx_done(&f);
}

static void defer_with_no_elements(void **state)
{
	struct wfx f;

	(void)state;
	wfx_init(&f, RESP3);
	resp_w_defer_end(&f.w, resp_w_defer(&f.w), '*', 0);
	EXPECT(&f, "*0\r\n");
	wfx_done(&f);
}

static void defer_map_resp2_counts_twice_the_pairs(void **state)
{
	struct wfx f;
	size_t off;

	(void)state;
	wfx_init(&f, RESP2);
	off = resp_w_defer(&f.w);
	resp_w_bulk(&f.w, "k", 1);
	resp_w_int(&f.w, 1);
	resp_w_defer_end(&f.w, off, '%', 1);
	EXPECT(&f, "*2\r\n$1\r\nk\r\n:1\r\n");
	wfx_done(&f);
}

static void defer_map_resp3_is_percent(void **state)
{
	struct wfx f;
	size_t off;

	(void)state;
	wfx_init(&f, RESP3);
	off = resp_w_defer(&f.w);
	resp_w_bulk(&f.w, "k", 1);
	resp_w_int(&f.w, 1);
	resp_w_defer_end(&f.w, off, '%', 1);
	EXPECT(&f, "%1\r\n$1\r\nk\r\n:1\r\n");
	wfx_done(&f);
}

static void defer_set_and_push_map_to_array_in_resp2(void **state)
{
	struct wfx f;
	size_t off;

	(void)state;
	wfx_init(&f, RESP2);
	off = resp_w_defer(&f.w);
	resp_w_int(&f.w, 1);
	resp_w_defer_end(&f.w, off, '~', 1);
	EXPECT(&f, "*1\r\n:1\r\n");
	off = resp_w_defer(&f.w);
	resp_w_int(&f.w, 1);
	resp_w_defer_end(&f.w, off, '>', 1);
	EXPECT(&f, "*1\r\n:1\r\n");
	wfx_done(&f);
}

static void defer_set_and_push_in_resp3(void **state)
{
	struct wfx f;
	size_t off;

	(void)state;
	wfx_init(&f, RESP3);
	off = resp_w_defer(&f.w);
	resp_w_int(&f.w, 1);
	resp_w_defer_end(&f.w, off, '~', 1);
	EXPECT(&f, "~1\r\n:1\r\n");
	off = resp_w_defer(&f.w);
	resp_w_int(&f.w, 1);
	resp_w_defer_end(&f.w, off, '>', 1);
	EXPECT(&f, ">1\r\n:1\r\n");
	wfx_done(&f);
}

static void defer_nested_inner_ends_first(void **state)
{
	struct wfx f;
	size_t outer, inner;

	(void)state;
	wfx_init(&f, RESP3);
	outer = resp_w_defer(&f.w);
	resp_w_int(&f.w, 1);
	inner = resp_w_defer(&f.w);
	resp_w_bulk(&f.w, "x", 1);
	resp_w_bulk(&f.w, "y", 1);
	resp_w_defer_end(&f.w, inner, '~', 2);
	resp_w_defer_end(&f.w, outer, '*', 2);
	EXPECT(&f, "*2\r\n:1\r\n~2\r\n$1\r\nx\r\n$1\r\ny\r\n");
	wfx_done(&f);
}

static void defer_of_many_elements_moves_them_intact(void **state)
{
	enum { N = 20000 };
	struct wfx f;
	size_t off, i, pos;
	char want[16];

	(void)state;
	wfx_init(&f, RESP2);
	off = resp_w_defer(&f.w);
	for (i = 0; i < N; i++)
		resp_w_int(&f.w, (long long)i);
	resp_w_defer_end(&f.w, off, '*', N);
	assert_memory_equal(f.b.p, "*20000\r\n", 8);
	pos = 8;
	for (i = 0; i < N; i++) {
		int n = snprintf(want, sizeof(want), ":%zu\r\n", i);

		assert_memory_equal(f.b.p + pos, want, (size_t)n);
		pos += (size_t)n;
	}
	assert_int_equal(f.b.len, pos);
	wfx_done(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(raw_appends_bytes_as_given),
		cmocka_unit_test(simple_string),
		cmocka_unit_test(ok_is_plus_ok),
		cmocka_unit_test(error_without_dash_gets_err_prefix),
		cmocka_unit_test(error_with_dash_is_used_as_is),
		cmocka_unit_test(error_empty_message_is_err_and_a_space),
		cmocka_unit_test(error_cr_and_lf_become_spaces),
		cmocka_unit_test(error_counts_in_nerr),
		cmocka_unit_test(errorf_formats_then_prefixes),
		cmocka_unit_test(errorf_trims_cr_lf_at_both_ends_and_maps_the_rest),
		cmocka_unit_test(errorf_message_longer_than_the_stack_buffer),
		cmocka_unit_test(errorf_keeps_an_embedded_nul),
		cmocka_unit_test(integer),
		cmocka_unit_test(bulk_string),
		cmocka_unit_test(bulk_string_large),
		cmocka_unit_test(bulk_cstr),
		cmocka_unit_test(bulk_cstr_null_is_the_null_reply),
		cmocka_unit_test(bulk_ll),
		cmocka_unit_test(array_header),
		cmocka_unit_test(null_resp2_is_null_bulk),
		cmocka_unit_test(null_resp3_is_underscore),
		cmocka_unit_test(null_array_resp2_is_star_minus_one),
		cmocka_unit_test(null_array_resp3_is_underscore),
		cmocka_unit_test(map_resp2_is_array_of_twice_the_pairs),
		cmocka_unit_test(map_resp3_is_percent),
		cmocka_unit_test(set_resp2_is_array),
		cmocka_unit_test(set_resp3_is_tilde),
		cmocka_unit_test(push_resp2_is_array),
		cmocka_unit_test(push_resp3_is_greater_than),
		cmocka_unit_test(double_resp2_is_bulk_of_17_digits),
		cmocka_unit_test(double_resp3_is_comma),
		cmocka_unit_test(double_infinities_and_nan_resp2),
		cmocka_unit_test(double_infinities_and_nan_resp3),
		cmocka_unit_test(format_double_returns_the_length),
		cmocka_unit_test(bool_resp2_is_integer),
		cmocka_unit_test(bool_resp3_is_hash),
		cmocka_unit_test(verbatim_resp2_is_bulk_without_format),
		cmocka_unit_test(verbatim_resp3_is_equals_with_format_prefix),
		cmocka_unit_test(defer_array_inserts_the_header_before_elements),
		cmocka_unit_test(defer_after_earlier_replies_keeps_them),
		cmocka_unit_test(defer_with_no_elements),
		cmocka_unit_test(defer_map_resp2_counts_twice_the_pairs),
		cmocka_unit_test(defer_map_resp3_is_percent),
		cmocka_unit_test(defer_set_and_push_map_to_array_in_resp2),
		cmocka_unit_test(defer_set_and_push_in_resp3),
		cmocka_unit_test(defer_nested_inner_ends_first),
		cmocka_unit_test(defer_of_many_elements_moves_them_intact),
		cmocka_unit_test(error_hook_gets_the_code),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
