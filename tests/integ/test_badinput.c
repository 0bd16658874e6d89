/*
 * test_badinput.c - bad and extreme input never crashes or wedges the
 * server: 1 MB key names, commands of a million arguments, negative and
 * enormous lengths, bulk lengths that lie, inline commands with unbalanced
 * quotes, binary garbage. Each case checks the exact reply (or the closed
 * connection) of redis-server 7.0, then that another client is still
 * served. Runs with two shards, so multi-key commands also take the parked
 * path; the last case is the regression test of an inline command with
 * quoted keys on two shards, which the dispatch fuzzer found.
 */
#include "harness.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIG_KEY_LEN (1024 * 1024)
#define MILLION 1000000

static struct harness_server *srv;

/* A fresh connection gets PONG: the server is up and serving. */
static void check_serving(const char *after)
{
	redisContext *c = harness_try_connect(srv);

	if (!c) {
		check(false, "after %s, a new client can connect", after);
		return;
	}
	expect_status(cmd(c, "PING"), "PONG", "after %s, another client is served", after);
	redisFree(c);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p)
		harness_bail("out of memory (%zu bytes)", n);
	return p;
}

static void test_big_key(redisContext *c)
{
	char *key = xmalloc(BIG_KEY_LEN), *val = xmalloc(BIG_KEY_LEN);

	for (size_t i = 0; i < BIG_KEY_LEN; i++) {
		key[i] = (char)('a' + i % 26);
		val[i] = (char)i;
	}
	expect_status(cmd(c, "SET %b %b", key, (size_t)BIG_KEY_LEN, "v", (size_t)1), "OK",
		      "SET of a 1 MB key name");
	expect_str(cmd(c, "GET %b", key, (size_t)BIG_KEY_LEN), "v", "GET of the 1 MB key name");
	expect_int(cmd(c, "STRLEN %b", key, (size_t)BIG_KEY_LEN), 1, "STRLEN of it");
	expect_status(cmd(c, "SET %b %b", key, (size_t)BIG_KEY_LEN, val, (size_t)BIG_KEY_LEN),
		      "OK", "SET of a 1 MB value under the 1 MB key");
	expect_bin(cmd(c, "GET %b", key, (size_t)BIG_KEY_LEN), val, BIG_KEY_LEN,
		   "GET returns the 1 MB value intact");
	/* One byte less is another key. */
	expect_nil(cmd(c, "GET %b", key, (size_t)BIG_KEY_LEN - 1), "a key one byte shorter is absent");
	expect_int(cmd(c, "HSET h %b %b", key, (size_t)BIG_KEY_LEN, "x", (size_t)1), 1,
		   "a 1 MB hash field");
	expect_int(cmd(c, "HSTRLEN h %b", key, (size_t)BIG_KEY_LEN), 1, "read back");
	expect_int(cmd(c, "DEL %b h", key, (size_t)BIG_KEY_LEN), 2, "DEL of the 1 MB key");
	check_serving("1 MB keys");
	free(key);
	free(val);
}

/* argv of "name a0 a1 ... a<n-1>" (each a<i> is prefix + i). */
struct bigcmd {
	const char **argv;
	size_t *lens;
	char *store;
	int argc;
};

static void bigcmd_make(struct bigcmd *b, const char *name, const char *prefix, int n)
{
	size_t off = 0;

	b->argc = n + 1;
	b->argv = xmalloc(sizeof(*b->argv) * (size_t)b->argc);
	b->lens = xmalloc(sizeof(*b->lens) * (size_t)b->argc);
	b->store = xmalloc((size_t)n * 24);
	b->argv[0] = name;
	b->lens[0] = strlen(name);
	for (int i = 0; i < n; i++) {
		int w = snprintf(b->store + off, 24, "%s%d", prefix, i);

		b->argv[i + 1] = b->store + off;
		b->lens[i + 1] = (size_t)w;
		off += (size_t)w + 1;
	}
}

static void bigcmd_free(struct bigcmd *b)
{
	free(b->argv);
	free(b->lens);
	free(b->store);
}

static void test_million_args(redisContext *c)
{
	struct bigcmd b;
	redisReply *r;

	bigcmd_make(&b, "SADD", "m", MILLION);
	b.argv[1] = "bigset";	/* SADD bigset m1 ... m999999 */
	b.lens[1] = 6;
	expect_int(cmd_argv(c, b.argc, b.argv, b.lens), MILLION - 1,
		   "SADD of a million arguments adds 999999 members");
	expect_int(cmd(c, "SCARD bigset"), MILLION - 1, "SCARD counts them");
	expect_int(cmd(c, "SISMEMBER bigset m999999"), 1, "the last one is there");
	bigcmd_free(&b);

	/* Keys on both shards: the command runs with the other shard parked. */
	bigcmd_make(&b, "DEL", "k", MILLION);
	run(c, "MSET k0 a k1 b k2 c k999999 d");
	expect_int(cmd_argv(c, b.argc, b.argv, b.lens), 4,
		   "DEL of a million keys over both shards deletes the 4 that exist");
	bigcmd_free(&b);

	bigcmd_make(&b, "MSET", "k", MILLION - 1);	/* an odd argument count */
	expect_err(cmd_argv(c, b.argc, b.argv, b.lens),
		   "ERR wrong number of arguments for 'mset' command",
		   "MSET with a million arguments and one value missing: arity error");
	bigcmd_free(&b);

	bigcmd_make(&b, "MGET", "k", MILLION);
	r = cmd_argv(c, b.argc, b.argv, b.lens);
	check(r && r->type == REDIS_REPLY_ARRAY && r->elements == MILLION &&
	      r->element[0]->type == REDIS_REPLY_NIL &&
	      r->element[MILLION - 1]->type == REDIS_REPLY_NIL,
	      "MGET of a million absent keys answers a million nils");
	freeReplyObject(r);
	bigcmd_free(&b);
	expect_int(cmd(c, "DEL bigset"), 1, "clean up");
	check_serving("commands of a million arguments");
}

/* Sends bytes on a fresh connection: expects exactly reply (NULL: nothing
 * within 300 ms) and then a closed connection if closed, else that PING
 * still works on it. */
static void check_raw(const char *bytes, size_t len, const char *reply, bool closed,
		      const char *what)
{
	struct harness_raw *raw = raw_connect(srv);

	raw_send(raw, bytes, len);
	if (reply) {
		expect_raw_reply(raw, reply, "%s", what);
	} else {
		char *r = raw_read_reply(raw, 300, NULL);

		check(r == NULL, "%s: no reply, the server waits for the rest", what);
		free(r);
	}
	if (closed) {
		expect_raw_closed(raw, 3000, "%s: connection closed after the error", what);
	} else if (reply) {
		raw_send_str(raw, "PING\r\n");
		expect_raw_reply(raw, "+PONG\r\n", "%s: the connection still works", what);
	}
	raw_close(raw);
	check_serving(what);
}

static void check_raw_str(const char *bytes, const char *reply, bool closed, const char *what)
{
	check_raw(bytes, strlen(bytes), reply, closed, what);
}

#define BULK_LEN_ERR "-ERR Protocol error: invalid bulk length\r\n"
#define MBULK_LEN_ERR "-ERR Protocol error: invalid multibulk length\r\n"
#define QUOTES_ERR "-ERR Protocol error: unbalanced quotes in request\r\n"

static void test_lengths(void)
{
	check_raw_str("*1\r\n$-1\r\n", BULK_LEN_ERR, true, "a bulk length of -1 in a request");
	check_raw_str("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$-5\r\n", BULK_LEN_ERR, true,
		      "a negative bulk length after two good arguments");
	check_raw_str("*1\r\n$9223372036854775807\r\n", BULK_LEN_ERR, true,
		      "a bulk length of LLONG_MAX");
	check_raw_str("*1\r\n$99999999999999999999\r\n", BULK_LEN_ERR, true,
		      "a bulk length beyond 64 bits");
	check_raw_str("*1\r\n$536870913\r\n", BULK_LEN_ERR, true,
		      "a bulk length of 512 MB + 1");
	check_raw_str("*9999999999\r\n", MBULK_LEN_ERR, true, "a multibulk count beyond INT_MAX");
	check_raw_str("*-9223372036854775808\r\nPING\r\n", "+PONG\r\n", false,
		      "a multibulk count of LLONG_MIN is an empty command, skipped");
	check_raw_str("*-5\r\nPING\r\n", "+PONG\r\n", false,
		      "a negative multibulk count is an empty command, skipped");
	/* Announcing two billion arguments costs nothing until they come. */
	check_raw_str("*2147483647\r\n$4\r\nPING\r\n", NULL, false,
		      "a multibulk count of INT_MAX with one argument sent");
	check_raw_str("*1\r\n$1073741824\r\n", BULK_LEN_ERR, true, "a 1 GB bulk length");
}

static void test_lying_lengths(void)
{
	struct harness_raw *raw;

	check_raw_str("*2\r\n$4\r\nECHO\r\n$2\r\nabcd\r\n", "$2\r\nab\r\n", false,
		      "a bulk shorter than its data: the 2 bytes after it are taken as "
		      "its CRLF unchecked, the rest is an empty inline line");
	check_raw_str("*2\r\n$4\r\nECHO\r\n$10\r\nabc\r\n", NULL, false,
		      "a bulk longer than the data sent");
	check_raw_str("*2\r\n$4\r\nECHO\r\n$10\r\nabc\r\ndefghij\r\n", "$10\r\nabc\r\ndefgh\r\n",
		      false, "a bulk longer than its line takes the CRLF and the next bytes");
	check_raw_str("*3\r\n$4\r\nECHO\r\n$1\r\na\r\n", NULL, false,
		      "a multibulk count larger than the arguments sent");
	raw = raw_connect(srv);
	raw_send_str(raw, "*1\r\n$4\r\nPING\r\n$4\r\nPING\r\n");
	expect_raw_reply(raw, "+PONG\r\n", "a multibulk count smaller than the arguments sent");
	expect_raw_reply(raw, "-ERR unknown command '$4', with args beginning with: \r\n",
			 "the extra '$4' line is an inline command");
	expect_raw_reply(raw, "+PONG\r\n", "and the extra PING another one");
	raw_close(raw);
	check_serving("a multibulk count smaller than the arguments sent");
}

static void test_quotes(void)
{
	struct harness_raw *raw;

	check_raw_str("SET k \"abc\r\n", QUOTES_ERR, true, "an inline double quote never closed");
	check_raw_str("ECHO 'abc\r\n", QUOTES_ERR, true, "an inline single quote never closed");
	check_raw_str("ECHO \"a\"b\r\n", QUOTES_ERR, true,
		      "a closing quote followed by a letter");
	check_raw_str("ECHO \"a\\\"\r\n", QUOTES_ERR, true, "an escaped closing quote");
	check_raw_str("ECHO \"a\\x4\"\r\n", "$3\r\nax4\r\n", false,
		      "a short \\x escape is kept as a plain x");
	raw = raw_connect(srv);
	raw_send_str(raw, "PING\r\nECHO 'x\r\nPING\r\n");
	expect_raw_reply(raw, "+PONG\r\n", "the command before unbalanced quotes is answered");
	expect_raw_reply(raw, QUOTES_ERR, "then the error");
	expect_raw_closed(raw, 3000, "and nothing after it: the connection is closed");
	raw_close(raw);
	check_serving("unbalanced quotes after a command");
}

static void test_garbage(void)
{
	static const char ctl[] = "\x01\x02\xfe\r\n";
	static const char nul_cmd[] = "*1\r\n$4\r\nPI\0G\r\n";
	size_t big = 70 * 1024;
	char *buf = xmalloc(big);
	struct harness_raw *raw;
	uint32_t x = 2463534242u;

	check_raw(ctl, sizeof(ctl) - 1,
		  "-ERR unknown command '\x01\x02\xfe', with args beginning with: \r\n", false,
		  "control bytes and high bytes as an inline command");
	check_raw(nul_cmd, sizeof(nul_cmd) - 1,
		  "-ERR unknown command 'PI', with args beginning with: \r\n", false,
		  "a command name with a NUL byte (Redis prints it up to the NUL)");
	/* A NUL hides the end of an inline line, as in Redis: the request
	 * waits until it is too big. */
	memset(buf, 'x', big);
	buf[0] = '\0';
	buf[1] = '\r';
	buf[2] = '\n';
	check_raw(buf, 3, NULL, false, "a NUL byte before an inline line end");
	check_raw(buf, big, "-ERR Protocol error: too big inline request\r\n", true,
		  "a NUL then 70 KB without a newline");

	/* 1 MB of pseudo-random bytes (xorshift32, fixed seed): whatever the
	 * replies, the server must survive it. */
	raw = raw_connect(srv);
	for (int round = 0; round < 16; round++) {
		for (size_t i = 0; i < big; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			buf[i] = (char)x;
		}
		if (!raw_send(raw, buf, big))
			break;	/* closed after a protocol error */
	}
	raw_close(raw);
	check_serving("1 MB of random bytes");
	free(buf);
}

/* The dispatch fuzzer's first find: a retried (parked) inline command was
 * parsed again from a buffer already unescaped in place. */
static void test_inline_quotes_parked(void)
{
	struct harness_raw *raw = raw_connect(srv);
	char a[32], b[32], req[256];

	harness_pick_key(a, sizeof(a), "qa", "", 2, 0);
	harness_pick_key(b, sizeof(b), "qb", "", 2, 1);
	snprintf(req, sizeof(req), "MSET \"%s\" 1 '%s' 2\r\nMGET \"%s\" \"%s\"\r\n"
		 "DEL \"%s\" '%s'\r\n", a, b, a, b, a, b);
	raw_send_str(raw, req);
	expect_raw_reply(raw, "+OK\r\n", "inline MSET with quoted keys on two shards");
	expect_raw_reply(raw, "*2\r\n$1\r\n1\r\n$1\r\n2\r\n",
			 "inline MGET with quoted keys on two shards");
	expect_raw_reply(raw, ":2\r\n", "inline DEL with quoted keys on two shards");
	raw_close(raw);
}

int main(void)
{
	redisContext *c;

	harness_init("test_badinput: huge keys and argument counts, bad lengths, quotes, garbage");
	srv = harness_server_start("--shards", "2");
	c = harness_connect(srv);
	expect_status(cmd(c, "FLUSHALL"), "OK", "FLUSHALL before the tests");

	test_big_key(c);
	test_million_args(c);
	test_lengths();
	test_lying_lengths();
	test_quotes();
	test_garbage();
	test_inline_quotes_parked();

	expect_status(cmd(c, "FLUSHALL"), "OK", "FLUSHALL after the tests");
	redisFree(c);
	harness_server_stop(srv);
	return harness_done();
}
