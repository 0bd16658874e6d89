/*
 * test_protocol.c - the wire protocol: deep pipelines, many concurrent
 * connections, inline commands, requests split at every byte, and the
 * exact protocol errors of redis-server 7.0 (after which the server closes
 * the connection).
 */
#include "harness.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PIPELINE_DEPTH 10000
#define CONNECTIONS 200
#define OPS_PER_CONNECTION 50

static struct harness_server *srv;

/*
 * A pipeline of PIPELINE_DEPTH commands sent at once: in groups of three,
 * SET p:i i, INCR p:i, GET p:i, so each reply depends on the one before.
 */
static void test_pipeline_10k(redisContext *c)
{
	int bad = 0, first_bad = -1;
	char want[64], got[128];

	for (int i = 0; i < PIPELINE_DEPTH; i++) {
		int k = i / 3;

		switch (i % 3) {
		case 0:
			redisAppendCommand(c, "SET p:%d %d", k, k * 10);
			break;
		case 1:
			redisAppendCommand(c, "INCR p:%d", k);
			break;
		default:
			redisAppendCommand(c, "GET p:%d", k);
			break;
		}
	}
	for (int i = 0; i < PIPELINE_DEPTH; i++) {
		void *v = NULL;
		redisReply *r;
		bool ok;
		int k = i / 3;

		if (redisGetReply(c, &v) != REDIS_OK)
			harness_bail("pipeline reply %d: %s", i, c->errstr);
		r = v;
		switch (i % 3) {
		case 0:
			snprintf(want, sizeof(want), "+OK");
			ok = r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0;
			break;
		case 1:
			snprintf(want, sizeof(want), "%d", k * 10 + 1);
			ok = r->type == REDIS_REPLY_INTEGER && r->integer == k * 10 + 1;
			break;
		default:
			snprintf(want, sizeof(want), "'%d'", k * 10 + 1);
			ok = r->type == REDIS_REPLY_STRING && atoi(r->str) == k * 10 + 1 &&
			     r->len == strlen(want) - 2;
			break;
		}
		if (!ok && bad++ == 0) {
			char *s = harness_repr(r);

			first_bad = i;
			snprintf(got, sizeof(got), "%s", s);
			free(s);
			harness_diag("pipeline reply %d: expected %s, got %s", i, want, got);
		}
		freeReplyObject(r);
	}
	check(bad == 0, "a pipeline of %d SET/INCR/GET is answered in order, every reply exact "
	      "(%d wrong, first at %d)", PIPELINE_DEPTH, bad, first_bad);
	expect_int(cmd(c, "DBSIZE"), (PIPELINE_DEPTH + 2) / 3, "the pipeline created one key per group");
	run(c, "FLUSHALL");
}

struct conn_worker {
	int index;			/* 0..CONNECTIONS-1 */
	pthread_barrier_t *barrier;	/* shared with main */
	int failures;			/* replies that were not as expected */
	bool connected;			/* the connection came up */
};

static void *conn_worker_main(void *arg)
{
	struct conn_worker *w = arg;
	redisContext *c = harness_try_connect(srv);

	w->connected = c != NULL;
	if (c) {
		/* A finished TCP handshake only means the kernel queued the
		 * connection; an answered PING means the server accepted it. */
		redisReply *r = cmd(c, "PING");

		w->connected = r && r->type == REDIS_REPLY_STATUS;
		if (r)
			freeReplyObject(r);
	}
	/* Everyone is connected: main counts connected_clients. */
	pthread_barrier_wait(w->barrier);
	pthread_barrier_wait(w->barrier);
	for (int i = 0; c && i < OPS_PER_CONNECTION; i++) {
		redisReply *r = cmd(c, "SET conn:%d:%d v%d-%d", w->index, i, w->index, i);

		if (!r || r->type != REDIS_REPLY_STATUS)
			w->failures++;
		if (r)
			freeReplyObject(r);
		r = cmd(c, "GET conn:%d:%d", w->index, i);
		if (r && r->type == REDIS_REPLY_STRING) {
			char want[64];

			snprintf(want, sizeof(want), "v%d-%d", w->index, i);
			if (strcmp(r->str, want) != 0)
				w->failures++;
		} else {
			w->failures++;
		}
		if (r)
			freeReplyObject(r);
	}
	if (!c)
		w->failures = OPS_PER_CONNECTION;
	redisFree(c);
	return NULL;
}

static void test_concurrent_connections(redisContext *c)
{
	static struct conn_worker workers[CONNECTIONS];
	static pthread_t threads[CONNECTIONS];
	pthread_barrier_t barrier;
	pthread_attr_t attr;
	int connected = 0, failures = 0;
	long long clients;

	pthread_barrier_init(&barrier, NULL, CONNECTIONS + 1);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (int i = 0; i < CONNECTIONS; i++) {
		workers[i] = (struct conn_worker){ .index = i, .barrier = &barrier };
		if (pthread_create(&threads[i], &attr, conn_worker_main, &workers[i]) != 0)
			harness_bail("pthread_create %d failed", i);
	}
	pthread_barrier_wait(&barrier);
	clients = harness_info_int(c, "clients", "connected_clients");
	pthread_barrier_wait(&barrier);
	for (int i = 0; i < CONNECTIONS; i++) {
		pthread_join(threads[i], NULL);
		connected += workers[i].connected;
		failures += workers[i].failures;
	}
	pthread_attr_destroy(&attr);
	pthread_barrier_destroy(&barrier);
	check_int(connected, CONNECTIONS, "%d connections open at once", CONNECTIONS);
	check_int_range(clients, CONNECTIONS + 1, CONNECTIONS + 1000,
			"INFO connected_clients counts the %d connections and ours", CONNECTIONS);
	check_int(failures, 0, "each of %d connections did %d SET/GET of its own keys, all exact",
		  CONNECTIONS, OPS_PER_CONNECTION);
	expect_int(cmd(c, "DBSIZE"), CONNECTIONS * OPS_PER_CONNECTION, "every SET landed");
	run(c, "FLUSHALL");
}

static void test_inline_commands(void)
{
	struct harness_raw *raw = raw_connect(srv);

	raw_send_str(raw, "PING\r\n");
	expect_raw_reply(raw, "+PONG\r\n", "inline PING");
	raw_send_str(raw, "SET inl hello\r\nGET inl\n");
	expect_raw_reply(raw, "+OK\r\n", "inline SET");
	expect_raw_reply(raw, "$5\r\nhello\r\n", "inline GET ended by LF alone");
	raw_send_str(raw, "ECHO \"hello world\"\r\n");
	expect_raw_reply(raw, "$11\r\nhello world\r\n", "inline double quotes keep spaces");
	raw_send_str(raw, "ECHO 'a b'\r\n");
	expect_raw_reply(raw, "$3\r\na b\r\n", "inline single quotes keep spaces");
	raw_send_str(raw, "ECHO \"a\\x41\\n\"\r\n");
	expect_raw_reply(raw, "$3\r\naA\n\r\n", "inline double quotes understand \\x41 and \\n");
	raw_send_str(raw, "   PING    \r\n");
	expect_raw_reply(raw, "+PONG\r\n", "inline spaces around the command are ignored");
	raw_send_str(raw, "\r\n\n\r\nPING\r\n");
	expect_raw_reply(raw, "+PONG\r\n", "empty inline lines are ignored");
	raw_send_str(raw, "ping\r\nPING\r\nPING\r\n");
	expect_raw_reply(raw, "+PONG\r\n", "inline pipeline, reply 1");
	expect_raw_reply(raw, "+PONG\r\n", "inline pipeline, reply 2");
	expect_raw_reply(raw, "+PONG\r\n", "inline pipeline, reply 3");
	raw_send_str(raw, "FOO bar\r\n");
	expect_raw_reply(raw, "-ERR unknown command 'FOO', with args beginning with: 'bar' \r\n",
			 "inline unknown command");
	raw_send_str(raw, "PING\r\n*1\r\n$4\r\nPING\r\nPING\r\n");
	expect_raw_reply(raw, "+PONG\r\n", "inline then multibulk then inline, reply 1");
	expect_raw_reply(raw, "+PONG\r\n", "inline then multibulk then inline, reply 2");
	expect_raw_reply(raw, "+PONG\r\n", "inline then multibulk then inline, reply 3");
	raw_send_str(raw, "DEL inl\r\n");
	expect_raw_reply(raw, ":1\r\n", "inline DEL");
	raw_close(raw);
}

#define SPLIT_REQUEST \
	"*3\r\n$3\r\nSET\r\n$5\r\nsplit\r\n$5\r\nhello\r\n" \
	"*3\r\n$6\r\nAPPEND\r\n$5\r\nsplit\r\n$0\r\n\r\n" \
	"*2\r\n$3\r\nGET\r\n$5\r\nsplit\r\n"
#define SPLIT_REPLY "+OK\r\n:5\r\n$5\r\nhello\r\n"

/* Reads replies until want's length is reached or nothing more comes. */
static bool read_exact(struct harness_raw *raw, const char *want, char *got,
		       size_t gotlen)
{
	size_t have = 0, wlen = strlen(want);

	got[0] = '\0';
	while (have < wlen) {
		size_t n;
		char *r = raw_read_reply(raw, 3000, &n);

		if (!r)
			break;
		if (have + n < gotlen) {
			memcpy(got + have, r, n);
			got[have + n] = '\0';
		}
		have += n;
		free(r);
	}
	return have == wlen && strcmp(got, want) == 0;
}

static void test_split_requests(void)
{
	const char *req = SPLIT_REQUEST;
	size_t len = strlen(req);
	struct harness_raw *raw = raw_connect(srv);
	char got[256];
	int bad = 0, first_bad = -1;

	/* One byte at a time, with a pause after each. */
	for (size_t i = 0; i < len; i++) {
		raw_send(raw, req + i, 1);
		harness_sleep_ms(1);
	}
	check(read_exact(raw, SPLIT_REPLY, got, sizeof(got)),
	      "a pipeline of three commands sent one byte at a time is answered exactly");
	raw_send_str(raw, "DEL split\r\n");
	free(raw_read_reply(raw, 3000, NULL));

	/* Two pieces, at every split point. */
	for (size_t cut = 1; cut < len; cut++) {
		raw_send(raw, req, cut);
		harness_sleep_ms(2);
		raw_send(raw, req + cut, len - cut);
		if (!read_exact(raw, SPLIT_REPLY, got, sizeof(got)) && bad++ == 0)
			first_bad = (int)cut;
		raw_send_str(raw, "DEL split\r\n");
		free(raw_read_reply(raw, 3000, NULL));
	}
	check(bad == 0, "the same pipeline split in two at each of its %zu points is answered "
	      "exactly (%d wrong, first at %d)", len - 1, bad, first_bad);

	/* An inline command one byte at a time. */
	for (const char *p = "ECHO \"x y\"\r\n"; *p; p++) {
		raw_send(raw, p, 1);
		harness_sleep_ms(1);
	}
	expect_raw_reply(raw, "$3\r\nx y\r\n", "an inline command sent one byte at a time");
	raw_close(raw);
}

/* A half-sent command does not hold up anyone else. */
static void test_stalled_client(redisContext *c)
{
	struct harness_raw *raw = raw_connect(srv);

	raw_send_str(raw, "*3\r\n$3\r\nSET\r\n$5\r\nstall\r\n$9\r\nhalf");
	harness_sleep_ms(50);
	expect_status(cmd(c, "PING"), "PONG", "another connection is served while one sends half a command");
	expect_int(cmd(c, "EXISTS stall"), 0, "the half-sent SET has not run");
	raw_send_str(raw, "-done\r\n");
	expect_raw_reply(raw, "+OK\r\n", "the stalled command completes when the rest arrives");
	expect_str(cmd(c, "GET stall"), "half-done", "and stores the whole value");
	raw_close(raw);
	run(c, "DEL stall");
}

/* Sends bytes on a fresh connection, expects one error reply, then EOF. */
static void check_protocol_error(const char *bytes, size_t len, const char *error,
				 const char *what)
{
	struct harness_raw *raw = raw_connect(srv);

	raw_send(raw, bytes, len);
	expect_raw_reply(raw, error, "%s", what);
	expect_raw_closed(raw, 3000, "%s: connection closed after the error", what);
	raw_close(raw);
}

static void check_protocol_error_str(const char *bytes, const char *error, const char *what)
{
	check_protocol_error(bytes, strlen(bytes), error, what);
}

static void test_protocol_errors(void)
{
	size_t big = 70 * 1024;
	char *buf = malloc(big + 16);
	struct harness_raw *raw;

	if (!buf)
		harness_bail("out of memory");
	check_protocol_error_str("*abc\r\n", "-ERR Protocol error: invalid multibulk length\r\n",
				 "a non-numeric multibulk length");
	check_protocol_error_str("*3000000000\r\n", "-ERR Protocol error: invalid multibulk length\r\n",
				 "a multibulk length above INT_MAX");
	check_protocol_error_str("*1\r\n$abc\r\n", "-ERR Protocol error: invalid bulk length\r\n",
				 "a non-numeric bulk length");
	check_protocol_error_str("*1\r\n$-5\r\n", "-ERR Protocol error: invalid bulk length\r\n",
				 "a negative bulk length");
	check_protocol_error_str("*1\r\n$600000000\r\n", "-ERR Protocol error: invalid bulk length\r\n",
				 "a bulk length above proto-max-bulk-len (512 MB)");
	check_protocol_error_str("*1\r\nfoo\r\n", "-ERR Protocol error: expected '$', got 'f'\r\n",
				 "a multibulk element that is not a bulk string");
	check_protocol_error_str("*2\r\n$4\r\nECHO\r\n:5\r\n",
				 "-ERR Protocol error: expected '$', got ':'\r\n",
				 "an integer where a bulk string must be");
	check_protocol_error_str("ECHO \"abc\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n",
				 "an inline command with unbalanced quotes");
	raw = raw_connect(srv);
	raw_send_str(raw, "PING\r\n*x\r\nPING\r\n");
	expect_raw_reply(raw, "+PONG\r\n", "a command before a protocol error is answered");
	expect_raw_reply(raw, "-ERR Protocol error: invalid multibulk length\r\n",
			 "then the protocol error");
	expect_raw_closed(raw, 3000, "and nothing after it: the connection is closed");
	raw_close(raw);

	memset(buf, 'a', big);
	check_protocol_error(buf, big, "-ERR Protocol error: too big inline request\r\n",
			     "an inline request over 64 KiB without a newline");
	buf[0] = '*';
	memset(buf + 1, '1', big - 1);
	check_protocol_error(buf, big, "-ERR Protocol error: too big mbulk count string\r\n",
			     "a multibulk count line over 64 KiB");
	memcpy(buf, "*1\r\n$", 5);
	check_protocol_error(buf, big, "-ERR Protocol error: too big bulk count string\r\n",
			     "a bulk count line over 64 KiB");
	free(buf);

	raw = raw_connect(srv);
	raw_send_str(raw, "*0\r\n*-1\r\nPING\r\n");
	expect_raw_reply(raw, "+PONG\r\n", "empty multibulks (*0, *-1) are skipped silently");
	raw_send_str(raw, "PING\r\nQUIT\r\nPING\r\n");
	expect_raw_reply(raw, "+PONG\r\n", "PING before QUIT in a pipeline");
	expect_raw_reply(raw, "+OK\r\n", "QUIT in a pipeline");
	expect_raw_closed(raw, 3000, "nothing after QUIT is answered");
	raw_close(raw);
}

int main(void)
{
	redisContext *c;

	harness_init("test_protocol: pipelining, concurrency, inline, splits, errors");
	srv = harness_server_start();
	c = harness_connect(srv);
	expect_status(cmd(c, "FLUSHALL"), "OK", "FLUSHALL before the tests");

	test_pipeline_10k(c);
	test_concurrent_connections(c);
	test_inline_commands();
	test_split_requests();
	test_stalled_client(c);
	test_protocol_errors();

	redisFree(c);
	harness_server_stop(srv);
	return harness_done();
}
