/*
 * test_pubsub.c - SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE, their UN- forms, PUBLISH,
 * SPUBLISH, PUBSUB.
 *
 * The server is started with "--shards N", N from STRATA_TEST_SHARDS
 * (default 2; dropped for redis-server). Subscribers are plain connections,
 * so the kernel spreads them over the shards; for strata the test finds out
 * where each fan-out subscriber landed (EXISTS of a key of shard s hops
 * unless the connection lives on s, and INFO's shard_hops counts hops) and
 * prints the spread.
 *
 * RESP2 replies are read through hiredis, which hands a subscribed client's
 * messages back as ordinary arrays. RESP3 push frames ('>') are compared
 * byte for byte on a raw socket, since hiredis 0.14 does not parse them.
 * A subscriber that is sent nothing more is checked by sending it PING: the
 * pong must be the next reply it reads.
 *
 * Every expected reply is what redis-server 7.0.15 answers. The last check
 * leaves a subscriber unread while large messages are published to it: the
 * server must close it at the pubsub output buffer limit (32 MiB hard by
 * default) and go on serving everyone else.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FAN_SUBS 100		/* fan-out subscribers */
#define FAN_MSGS 200		/* messages each of them must receive */
#define BIG_MSG (1 << 20)	/* payload size sent to the unread subscriber */
#define BIG_MAX_MSGS 200	/* give up after this many (200 MiB) */

#define CTX_ERR "only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET " \
	"are allowed in this context"

static struct harness_server *srv;
static int nshards = 1;		/* 1 for redis-server */

/* Writes into buf the first "<prefix>:<n>" whose slot is residue mod 8. */
static void pick_key(char *buf, size_t len, const char *prefix, unsigned residue)
{
	char pre[64];

	snprintf(pre, sizeof(pre), "%s:", prefix);
	harness_pick_key(buf, len, pre, "", 8, residue);
}

/* The shard a strata connection lives on, or -1 (redis-server, or unsure). */
static int conn_shard(redisContext *c)
{
	if (nshards <= 1)
		return -1;
	for (int s = 0; s < nshards; s++) {
		char probe[32];
		long long before, after;

		pick_key(probe, sizeof(probe), "probe", (unsigned)s);
		before = harness_info_int(c, "stats", "shard_hops");
		freeReplyObject(cmd(c, "EXISTS %s", probe));
		after = harness_info_int(c, "stats", "shard_hops");
		if (before != LLONG_MIN && after == before)
			return s;
	}
	return -1;
}

/* The next reply on c (a message or a pipelined reply); NULL on I/O error. */
static redisReply *next_reply(redisContext *c)
{
	void *r = NULL;

	if (redisGetReply(c, &r) != REDIS_OK)
		return NULL;
	return r;
}

/* Polls INFO clients until connected_clients is want, up to timeout_ms. */
static long long wait_clients(redisContext *c, long long want, int timeout_ms)
{
	int64_t end = harness_mono_ms() + timeout_ms;
	long long n;

	for (;;) {
		n = harness_info_int(c, "clients", "connected_clients");
		if (n == want || harness_mono_ms() > end)
			return n;
		harness_sleep_ms(20);
	}
}

/* connected_clients once closes still in flight have been seen: the same
 * count twice, 100 ms apart (at most 2 s). */
static long long settled_clients(redisContext *c)
{
	long long n = harness_info_int(c, "clients", "connected_clients"), prev;

	for (int i = 0; i < 20; i++) {
		harness_sleep_ms(100);
		prev = n;
		n = harness_info_int(c, "clients", "connected_clients");
		if (n == prev)
			break;
	}
	return n;
}

/* Polls PUBSUB NUMSUB channel until it is want, up to timeout_ms. */
static long long wait_numsub(redisContext *c, const char *channel, long long want, int timeout_ms)
{
	int64_t end = harness_mono_ms() + timeout_ms;
	long long n = -1;

	for (;;) {
		redisReply *r = cmd(c, "PUBSUB NUMSUB %s", channel);

		if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
		    r->element[1]->type == REDIS_REPLY_INTEGER)
			n = r->element[1]->integer;
		if (r)
			freeReplyObject(r);
		if (n == want || harness_mono_ms() > end)
			return n;
		harness_sleep_ms(20);
	}
}

/* ---- RESP2 reply shapes ---- */

static void test_subscribe_replies(redisContext *sub, redisContext *pub)
{
	expect_reply(cmd(sub, "SUBSCRIBE ps:a ps:b"), "['subscribe','ps:a',1]",
		     "SUBSCRIBE of two channels: the first confirmation");
	expect_reply(next_reply(sub), "['subscribe','ps:b',2]", "the second confirmation");
	expect_reply(cmd(sub, "SUBSCRIBE ps:a"), "['subscribe','ps:a',2]",
		     "SUBSCRIBE again to the same channel does not count it twice");
	expect_reply(cmd(sub, "PSUBSCRIBE ps:p*"), "['psubscribe','ps:p*',3]",
		     "PSUBSCRIBE counts channels and patterns together");

	expect_err(cmd(sub, "GET ps:key"), "ERR Can't execute 'get': " CTX_ERR,
		   "GET in the RESP2 subscribed context");
	expect_err(cmd(sub, "CONFIG GET maxmemory"), "ERR Can't execute 'config|get': " CTX_ERR,
		   "a subcommand in the subscribed context is named container|sub");
	expect_err(cmd(sub, "PUBLISH ps:a x"), "ERR Can't execute 'publish': " CTX_ERR,
		   "PUBLISH in the subscribed context");
	expect_reply(cmd(sub, "PING"), "['pong','']", "PING in the subscribed context");
	expect_reply(cmd(sub, "PING hello"), "['pong','hello']", "PING with an argument");

	expect_int(cmd(pub, "PUBLISH ps:a hello"), 1, "PUBLISH to a channel with one subscriber is 1");
	expect_reply(next_reply(sub), "['message','ps:a','hello']", "the subscriber gets a message");
	expect_int(cmd(pub, "PUBLISH ps:pq hi"), 1, "PUBLISH matching only the pattern is 1");
	expect_reply(next_reply(sub), "['pmessage','ps:p*','ps:pq','hi']",
		     "the subscriber gets a pmessage");
	expect_int(cmd(pub, "PUBLISH ps:nobody x"), 0, "PUBLISH to a channel nobody hears is 0");

	expect_reply(cmd(sub, "PSUBSCRIBE ps:a*"), "['psubscribe','ps:a*',4]",
		     "PSUBSCRIBE a pattern matching a subscribed channel");
	expect_int(cmd(pub, "PUBLISH ps:a both"), 2,
		   "PUBLISH to a channel heard directly and through a pattern counts 2");
	expect_reply(next_reply(sub), "['message','ps:a','both']", "first the message");
	expect_reply(next_reply(sub), "['pmessage','ps:a*','ps:a','both']", "then the pmessage");
	expect_reply(cmd(sub, "PUNSUBSCRIBE ps:a*"), "['punsubscribe','ps:a*',3]",
		     "PUNSUBSCRIBE of one pattern");

	expect_reply(cmd(sub, "UNSUBSCRIBE ps:zzz"), "['unsubscribe','ps:zzz',3]",
		     "UNSUBSCRIBE of a channel never subscribed");
	expect_reply(cmd(sub, "UNSUBSCRIBE ps:a"), "['unsubscribe','ps:a',2]", "UNSUBSCRIBE ps:a");
	expect_int(cmd(pub, "PUBLISH ps:a gone"), 0, "PUBLISH after UNSUBSCRIBE is 0");
	expect_reply(cmd(sub, "UNSUBSCRIBE"), "['unsubscribe','ps:b',1]",
		     "UNSUBSCRIBE without arguments drops the last channel");
	expect_reply(cmd(sub, "PUNSUBSCRIBE"), "['punsubscribe','ps:p*',0]",
		     "PUNSUBSCRIBE without arguments drops the last pattern");
	expect_reply(cmd(sub, "UNSUBSCRIBE"), "['unsubscribe',(nil),0]",
		     "UNSUBSCRIBE with nothing subscribed");
	expect_reply(cmd(sub, "PUNSUBSCRIBE"), "['punsubscribe',(nil),0]",
		     "PUNSUBSCRIBE with nothing subscribed");
	expect_reply(cmd(sub, "PUNSUBSCRIBE ps:q*"), "['punsubscribe','ps:q*',0]",
		     "PUNSUBSCRIBE of a pattern never subscribed");
	expect_nil(cmd(sub, "GET ps:key"), "GET works once nothing is subscribed");
	expect_status(cmd(sub, "PING"), "PONG", "PING answers +PONG outside the subscribed context");

	expect_reply(cmd(sub, "SUBSCRIBE ps:c"), "['subscribe','ps:c',1]", "SUBSCRIBE ps:c");
	expect_status(cmd(sub, "RESET"), "RESET", "RESET in the subscribed context");
	expect_int(cmd(pub, "PUBLISH ps:c x"), 0, "RESET dropped the subscription");
	expect_nil(cmd(sub, "GET ps:key"), "GET works after RESET");

	expect_err(cmd(sub, "SUBSCRIBE"), "ERR wrong number of arguments for 'subscribe' command",
		   "SUBSCRIBE without a channel");
	expect_err(cmd(sub, "PSUBSCRIBE"), "ERR wrong number of arguments for 'psubscribe' command",
		   "PSUBSCRIBE without a pattern");
	expect_err(cmd(sub, "PUBLISH ps:a"), "ERR wrong number of arguments for 'publish' command",
		   "PUBLISH without a message");
}

static void test_patterns(redisContext *sub, redisContext *pub)
{
	expect_reply(cmd(sub, "PSUBSCRIBE ps:h?llo ps:[ab]x"), "['psubscribe','ps:h?llo',1]",
		     "PSUBSCRIBE of two glob patterns");
	expect_reply(next_reply(sub), "['psubscribe','ps:[ab]x',2]", "the second confirmation");
	expect_int(cmd(pub, "PUBLISH ps:hello 1"), 1, "ps:hello matches ps:h?llo");
	expect_int(cmd(pub, "PUBLISH ps:hallo 2"), 1, "ps:hallo matches ps:h?llo");
	expect_int(cmd(pub, "PUBLISH ps:heello 3"), 0, "ps:heello does not match");
	expect_int(cmd(pub, "PUBLISH ps:bx 4"), 1, "ps:bx matches ps:[ab]x");
	expect_int(cmd(pub, "PUBLISH ps:cx 5"), 0, "ps:cx does not match");
	expect_reply(next_reply(sub), "['pmessage','ps:h?llo','ps:hello','1']", "pmessage 1");
	expect_reply(next_reply(sub), "['pmessage','ps:h?llo','ps:hallo','2']", "pmessage 2");
	expect_reply(next_reply(sub), "['pmessage','ps:[ab]x','ps:bx','4']", "pmessage 4");
	expect_reply(cmd(sub, "PING"), "['pong','']", "nothing else was delivered before the pong");
	expect_status(cmd(sub, "RESET"), "RESET", "RESET");
}

/* Shard channels: their own namespace, reached only by SPUBLISH, counted
 * apart from channels and patterns in the replies. */
static void test_shard_channels(redisContext *sub, redisContext *pub)
{
	expect_reply(cmd(sub, "SUBSCRIBE ps:s"), "['subscribe','ps:s',1]", "SUBSCRIBE ps:s");
	expect_reply(cmd(sub, "SSUBSCRIBE ps:s ps:t"), "['ssubscribe','ps:s',1]",
		     "SSUBSCRIBE counts shard channels alone");
	expect_reply(next_reply(sub), "['ssubscribe','ps:t',2]", "the second confirmation");
	expect_err(cmd(sub, "GET ps:key"), "ERR Can't execute 'get': " CTX_ERR,
		   "GET in the RESP2 subscribed context");
	expect_int(cmd(pub, "SPUBLISH ps:s hi"), 1, "SPUBLISH reaches the shard subscriber only");
	expect_reply(next_reply(sub), "['smessage','ps:s','hi']", "the subscriber gets an smessage");
	expect_int(cmd(pub, "PUBLISH ps:s ho"), 1, "PUBLISH reaches the channel subscriber only");
	expect_reply(next_reply(sub), "['message','ps:s','ho']", "the subscriber gets a message");
	expect_reply(cmd(pub, "PUBSUB SHARDCHANNELS ps:[s]"), "['ps:s']",
		     "PUBSUB SHARDCHANNELS lists the shard channels matching a pattern");
	expect_reply(cmd(pub, "PUBSUB SHARDNUMSUB ps:s ps:x"), "['ps:s',1,'ps:x',0]",
		     "PUBSUB SHARDNUMSUB");
	expect_reply(cmd(pub, "PUBSUB CHANNELS ps:*"), "['ps:s']",
		     "PUBSUB CHANNELS does not list shard channels");
	expect_reply(cmd(sub, "SUNSUBSCRIBE ps:t"), "['sunsubscribe','ps:t',1]", "SUNSUBSCRIBE ps:t");
	expect_reply(cmd(sub, "SUNSUBSCRIBE"), "['sunsubscribe','ps:s',0]",
		     "SUNSUBSCRIBE without arguments drops the last shard channel");
	expect_reply(cmd(sub, "SUNSUBSCRIBE"), "['sunsubscribe',(nil),0]",
		     "SUNSUBSCRIBE with nothing subscribed");
	expect_int(cmd(pub, "SPUBLISH ps:s gone"), 0, "SPUBLISH after SUNSUBSCRIBE is 0");
	expect_reply(cmd(sub, "UNSUBSCRIBE"), "['unsubscribe','ps:s',0]", "UNSUBSCRIBE ps:s");
	expect_reply(cmd(sub, "SSUBSCRIBE ps:r"), "['ssubscribe','ps:r',1]", "SSUBSCRIBE ps:r");
	expect_status(cmd(sub, "RESET"), "RESET", "RESET drops shard channels too");
	expect_int(cmd(pub, "SPUBLISH ps:r x"), 0, "nobody hears ps:r after RESET");
}

/* ---- PUBSUB and counts over several connections ---- */

static void test_counts(redisContext *pub)
{
	redisContext *subs[3], *psub, *psub2;
	long long before;

	for (int i = 0; i < 3; i++) {
		subs[i] = harness_connect(srv);
		expect_reply(cmd(subs[i], "SUBSCRIBE ps:multi"), "['subscribe','ps:multi',1]",
			     "subscriber %d: SUBSCRIBE ps:multi", i);
	}
	psub = harness_connect(srv);
	psub2 = harness_connect(srv);
	expect_reply(cmd(psub, "PSUBSCRIBE ps:m*"), "['psubscribe','ps:m*',1]", "PSUBSCRIBE ps:m*");
	expect_reply(cmd(psub2, "PSUBSCRIBE ps:m* ps:n*"), "['psubscribe','ps:m*',1]",
		     "another client PSUBSCRIBEs ps:m* too");
	expect_reply(next_reply(psub2), "['psubscribe','ps:n*',2]", "and ps:n*");

	expect_int(cmd(pub, "PUBLISH ps:multi hi"), 5,
		   "PUBLISH counts 3 channel subscribers and 2 pattern subscribers");
	for (int i = 0; i < 3; i++)
		expect_reply(next_reply(subs[i]), "['message','ps:multi','hi']",
			     "subscriber %d got the message", i);
	expect_reply(next_reply(psub), "['pmessage','ps:m*','ps:multi','hi']",
		     "the pattern subscriber got it");
	expect_reply(next_reply(psub2), "['pmessage','ps:m*','ps:multi','hi']",
		     "the second pattern subscriber got it");
	expect_int(cmd(pub, "PUBLISH ps:mx only-patterns"), 2, "PUBLISH heard only through patterns");

	expect_reply(cmd(pub, "PUBSUB NUMSUB ps:multi ps:none"), "['ps:multi',3,'ps:none',0]",
		     "PUBSUB NUMSUB counts subscribers on every connection");
	expect_empty_array(cmd(pub, "PUBSUB NUMSUB"), "PUBSUB NUMSUB without channels");
	expect_int(cmd(pub, "PUBSUB NUMPAT"), 2, "PUBSUB NUMPAT counts unique patterns");
	expect_set_of_str(cmd(pub, "PUBSUB CHANNELS ps:*"), STRS("ps:multi"),
			  "PUBSUB CHANNELS lists a channel with several subscribers once");
	expect_set_of_str(cmd(pub, "PUBSUB CHANNELS"), STRS("ps:multi"),
			  "PUBSUB CHANNELS without a pattern");
	expect_empty_array(cmd(pub, "PUBSUB CHANNELS nomatch*"), "PUBSUB CHANNELS of no match");
	expect_err(cmd(pub, "PUBSUB CHANNELS a b"),
		   "ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.",
		   "PUBSUB CHANNELS with two patterns");
	expect_err(cmd(pub, "PUBSUB NUMPAT x"),
		   "ERR wrong number of arguments for 'pubsub|numpat' command", "PUBSUB NUMPAT x");
	expect_err(cmd(pub, "PUBSUB FOO"), "ERR unknown subcommand 'FOO'. Try PUBSUB HELP.",
		   "PUBSUB FOO");

	before = settled_clients(pub);
	redisFree(subs[0]);
	check_int(wait_numsub(pub, "ps:multi", 2, 5000), 2,
		  "a subscriber that disconnects leaves NUMSUB");
	check_int(wait_clients(pub, before - 1, 5000), before - 1,
		  "and connected_clients drops by one");
	expect_int(cmd(pub, "PUBLISH ps:multi again"), 4, "PUBLISH no longer counts it");
	expect_reply(next_reply(subs[1]), "['message','ps:multi','again']", "the others still get it");
	redisFree(psub2);
	check_int(wait_clients(pub, before - 2, 5000), before - 2, "the second pattern client left");
	expect_int(cmd(pub, "PUBSUB NUMPAT"), 1, "NUMPAT after one ps:m* subscriber left");
	redisFree(subs[1]);
	redisFree(subs[2]);
	redisFree(psub);
	check_int(wait_numsub(pub, "ps:multi", 0, 5000), 0, "all subscribers gone: NUMSUB 0");
	check_int(wait_clients(pub, before - 5, 5000), before - 5, "connected_clients back");
	expect_int(cmd(pub, "PUBSUB NUMPAT"), 0, "NUMPAT 0");
	expect_empty_array(cmd(pub, "PUBSUB CHANNELS"), "PUBSUB CHANNELS is empty");
}

/* CLIENT LIST, INFO, PUBLISH inside MULTI, binary names and payloads. */
static void test_introspection(redisContext *pub)
{
	static const char chan[] = "ps:\0\r\nbin", msg[] = "a\r\nb\0c";
	long long clients = settled_clients(pub);
	redisContext *sub = harness_connect(srv);
	const char *argv[2] = { "SUBSCRIBE", chan };
	size_t argvlen[2] = { 9, sizeof(chan) - 1 };
	const char *line;
	bool counts_ok, flags_ok;
	long long id = -1;
	redisReply *r;

	r = cmd(sub, "CLIENT ID");
	if (r && r->type == REDIS_REPLY_INTEGER)
		id = r->integer;
	if (r)
		freeReplyObject(r);
	expect_reply(cmd(sub, "SUBSCRIBE ps:i1 ps:i2"), "['subscribe','ps:i1',1]", "SUBSCRIBE ps:i1 ps:i2");
	expect_reply(next_reply(sub), "['subscribe','ps:i2',2]", "second confirmation");
	expect_reply(cmd(sub, "PSUBSCRIBE ps:i*"), "['psubscribe','ps:i*',3]", "PSUBSCRIBE ps:i*");

	r = cmd(pub, "CLIENT LIST ID %lld", id);
	line = r && r->type == REDIS_REPLY_STRING ? r->str : "";
	counts_ok = check(strstr(line, " sub=2 psub=1 ") != NULL, "CLIENT LIST shows sub=2 psub=1");
	flags_ok = check(strstr(line, " flags=P ") != NULL, "CLIENT LIST flags of a subscriber are P");
	if (!counts_ok || !flags_ok)
		harness_diag("CLIENT LIST ID %lld: %.*s", id, (int)strcspn(line, "\n"), line);
	if (r)
		freeReplyObject(r);
	check_int(harness_info_int(pub, "stats", "pubsub_channels"), 2,
		  "INFO stats pubsub_channels counts the channels with subscribers");
	check_int(harness_info_int(pub, "stats", "pubsub_patterns"), 1,
		  "INFO stats pubsub_patterns counts the patterns");

	expect_status(cmd(pub, "MULTI"), "OK", "MULTI");
	expect_status(cmd(pub, "PUBLISH ps:i1 in-tx"), "QUEUED", "PUBLISH is queued");
	expect_status(cmd(pub, "PUBSUB NUMSUB ps:i1 ps:i1"), "QUEUED", "PUBSUB NUMSUB is queued");
	expect_reply(cmd(pub, "EXEC"), "[2,['ps:i1',1,'ps:i1',1]]",
		     "EXEC holds PUBLISH's count and NUMSUB of a repeated channel");
	expect_reply(next_reply(sub), "['message','ps:i1','in-tx']", "the message of the transaction");
	expect_reply(next_reply(sub), "['pmessage','ps:i*','ps:i1','in-tx']", "and its pmessage");
	expect_status(cmd(sub, "RESET"), "RESET", "RESET");

	expect_reply(cmd_argv(sub, 2, argv, argvlen), "['subscribe','ps:\\x00\\r\\nbin',1]",
		     "SUBSCRIBE to a channel name with NUL, CR and LF");
	expect_int(cmd(pub, "PUBLISH %b %b", chan, sizeof(chan) - 1, msg, sizeof(msg) - 1), 1,
		   "PUBLISH a binary payload to it");
	r = next_reply(sub);
	check(r && r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
	      r->element[1]->len == sizeof(chan) - 1 &&
	      !memcmp(r->element[1]->str, chan, sizeof(chan) - 1) &&
	      r->element[2]->len == sizeof(msg) - 1 &&
	      !memcmp(r->element[2]->str, msg, sizeof(msg) - 1),
	      "the subscriber gets channel and payload byte for byte");
	if (r)
		freeReplyObject(r);
	redisFree(sub);
	check_int(wait_clients(pub, clients, 5000), clients, "the subscriber disconnected");
}

/* ---- RESP3 ---- */

/* Sends a command of space-separated words as a RESP multibulk. */
static void raw_cmd(struct harness_raw *raw, const char *line)
{
	char buf[1024];
	const char *w[32];
	size_t wl[32];
	int n = 0;
	size_t off;

	for (const char *p = line; *p && n < 32;) {
		const char *e = strchr(p, ' ');

		w[n] = p;
		wl[n] = e ? (size_t)(e - p) : strlen(p);
		n++;
		p = e ? e + 1 : p + strlen(p);
	}
	off = (size_t)snprintf(buf, sizeof(buf), "*%d\r\n", n);
	for (int i = 0; i < n && off < sizeof(buf); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "$%zu\r\n%.*s\r\n", wl[i],
					(int)wl[i], w[i]);
	raw_send(raw, buf, off);
}

static void test_resp3(redisContext *pub)
{
	struct harness_raw *raw = raw_connect(srv);
	char *hello;

	raw_cmd(raw, "HELLO 3");
	hello = raw_read_reply(raw, 10000, NULL);
	check(hello && hello[0] == '%', "HELLO 3 answers a map");
	free(hello);

	raw_cmd(raw, "SUBSCRIBE ps:r3");
	expect_raw_reply(raw, ">3\r\n$9\r\nsubscribe\r\n$5\r\nps:r3\r\n:1\r\n",
			 "RESP3 SUBSCRIBE confirmation is a push");
	raw_cmd(raw, "GET ps:nokey");
	expect_raw_reply(raw, "_\r\n", "a RESP3 subscriber may run GET");
	raw_cmd(raw, "PING");
	expect_raw_reply(raw, "+PONG\r\n", "PING of a RESP3 subscriber is a plain +PONG");
	expect_int(cmd(pub, "PUBLISH ps:r3 hello"), 1, "PUBLISH to the RESP3 subscriber");
	expect_raw_reply(raw, ">3\r\n$7\r\nmessage\r\n$5\r\nps:r3\r\n$5\r\nhello\r\n",
			 "the message is a push");
	raw_cmd(raw, "PSUBSCRIBE ps:r*");
	expect_raw_reply(raw, ">3\r\n$10\r\npsubscribe\r\n$5\r\nps:r*\r\n:2\r\n",
			 "RESP3 PSUBSCRIBE confirmation");
	expect_int(cmd(pub, "PUBLISH ps:r3 yo"), 2, "PUBLISH heard by channel and pattern");
	expect_raw_reply(raw, ">3\r\n$7\r\nmessage\r\n$5\r\nps:r3\r\n$2\r\nyo\r\n", "the message push");
	expect_raw_reply(raw, ">4\r\n$8\r\npmessage\r\n$5\r\nps:r*\r\n$5\r\nps:r3\r\n$2\r\nyo\r\n",
			 "then the pmessage push");
	raw_cmd(raw, "PUBLISH ps:r3 self");
	expect_raw_reply(raw, ">3\r\n$7\r\nmessage\r\n$5\r\nps:r3\r\n$4\r\nself\r\n",
			 "a RESP3 subscriber publishing to itself gets the message first");
	expect_raw_reply(raw, ">4\r\n$8\r\npmessage\r\n$5\r\nps:r*\r\n$5\r\nps:r3\r\n$4\r\nself\r\n",
			 "then the pmessage");
	expect_raw_reply(raw, ":2\r\n", "then PUBLISH's own reply");
	raw_cmd(raw, "PUBSUB NUMSUB ps:r3 ps:none");
	expect_raw_reply(raw, "*4\r\n$5\r\nps:r3\r\n:1\r\n$7\r\nps:none\r\n:0\r\n",
			 "RESP3 PUBSUB NUMSUB is a flat array, as in Redis 7.0");
	raw_cmd(raw, "UNSUBSCRIBE");
	expect_raw_reply(raw, ">3\r\n$11\r\nunsubscribe\r\n$5\r\nps:r3\r\n:1\r\n",
			 "RESP3 UNSUBSCRIBE confirmation");
	raw_cmd(raw, "PUNSUBSCRIBE");
	expect_raw_reply(raw, ">3\r\n$12\r\npunsubscribe\r\n$5\r\nps:r*\r\n:0\r\n",
			 "RESP3 PUNSUBSCRIBE confirmation");
	raw_cmd(raw, "UNSUBSCRIBE");
	expect_raw_reply(raw, ">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n",
			 "RESP3 UNSUBSCRIBE with nothing subscribed has a null channel");
	raw_cmd(raw, "PUNSUBSCRIBE");
	expect_raw_reply(raw, ">3\r\n$12\r\npunsubscribe\r\n_\r\n:0\r\n",
			 "RESP3 PUNSUBSCRIBE with nothing subscribed");
	raw_close(raw);
}

/* ---- fan-out ---- */

static void test_fanout(redisContext *pub)
{
	static redisContext *subs[FAN_SUBS];
	int per_shard[64] = { 0 }, unknown = 0, wrong_count = 0, missing = 0, out_of_order = 0;
	int all_ok = 0;
	long long before = settled_clients(pub);

	for (int i = 0; i < FAN_SUBS; i++) {
		int s;

		subs[i] = harness_connect(srv);
		s = conn_shard(subs[i]);
		if (s >= 0 && s < 64)
			per_shard[s]++;
		else
			unknown++;
	}
	if (nshards > 1) {
		char spread[256];
		size_t off = 0;

		for (int s = 0; s < nshards && s < 64; s++)
			off += (size_t)snprintf(spread + off, sizeof(spread) - off, " %d", per_shard[s]);
		harness_diag("fan-out subscribers per shard:%s (%d unknown)", spread, unknown);
	}
	for (int i = 0; i < FAN_SUBS; i++) {
		redisReply *r = cmd(subs[i], "SUBSCRIBE ps:fan");

		all_ok += r && r->type == REDIS_REPLY_ARRAY && r->elements == 3;
		if (r)
			freeReplyObject(r);
	}
	check_int(all_ok, FAN_SUBS, "%d connections subscribed to ps:fan", FAN_SUBS);
	{
		char want[64];

		snprintf(want, sizeof(want), "['ps:fan',%d]", FAN_SUBS);
		expect_reply(cmd(pub, "PUBSUB NUMSUB ps:fan"), want, "NUMSUB ps:fan is %d", FAN_SUBS);
	}
	expect_set_of_str(cmd(pub, "PUBSUB CHANNELS ps:f*"), STRS("ps:fan"),
			  "PUBSUB CHANNELS lists ps:fan once");

	for (int m = 0; m < FAN_MSGS; m++) {
		redisReply *r = cmd(pub, "PUBLISH ps:fan m%d", m);

		if (!r || r->type != REDIS_REPLY_INTEGER || r->integer != FAN_SUBS) {
			if (wrong_count++ == 0) {
				char *s = harness_repr(r);

				harness_diag("PUBLISH %d answered %s", m, s);
				free(s);
			}
		}
		if (r)
			freeReplyObject(r);
	}
	check_int(wrong_count, 0, "each of %d PUBLISH answered %d receivers", FAN_MSGS, FAN_SUBS);

	for (int i = 0; i < FAN_SUBS; i++) {
		for (int m = 0; m < FAN_MSGS; m++) {
			redisReply *r = next_reply(subs[i]);
			char want[32];

			if (!r) {
				missing += FAN_MSGS - m;
				break;
			}
			snprintf(want, sizeof(want), "m%d", m);
			if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
			    r->element[2]->type != REDIS_REPLY_STRING ||
			    strcmp(r->element[1]->str, "ps:fan") != 0 ||
			    strcmp(r->element[2]->str, want) != 0) {
				if (out_of_order++ == 0) {
					char *s = harness_repr(r);

					harness_diag("subscriber %d, message %d: got %s", i, m, s);
					free(s);
				}
			}
			freeReplyObject(r);
		}
	}
	check_int(missing, 0, "no subscriber missed a message");
	check_int(out_of_order, 0, "every subscriber got all %d messages in publish order", FAN_MSGS);
	{
		int pongs = 0;

		for (int i = 0; i < FAN_SUBS; i++) {
			redisReply *r = cmd(subs[i], "PING");

			pongs += r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
				 r->element[0]->type == REDIS_REPLY_STRING &&
				 !strcmp(r->element[0]->str, "pong");
			if (r)
				freeReplyObject(r);
		}
		check_int(pongs, FAN_SUBS, "nothing more than the %d messages was delivered", FAN_MSGS);
	}
	for (int i = 0; i < FAN_SUBS; i++)
		redisFree(subs[i]);
	check_int(wait_numsub(pub, "ps:fan", 0, 5000), 0, "after they disconnect NUMSUB ps:fan is 0");
	check_int(wait_clients(pub, before, 5000), before, "connected_clients is back to %lld", before);
}

/* ---- a subscriber that never reads ---- */

/* A TCP connection with a small receive buffer, so the server's output
 * piles up on its side; -1 on failure. */
static int slow_connect(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0), small = 4096;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	sa.sin_port = htons((uint16_t)srv->port);
	if (inet_pton(AF_INET, srv->host, &sa.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads and drops everything until the peer closes; true if it closed
 * within timeout_ms. */
static bool drain_until_closed(int fd, int timeout_ms, size_t *drained)
{
	int64_t end = harness_mono_ms() + timeout_ms;
	char buf[65536];

	*drained = 0;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = end - harness_mono_ms();
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return false;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
		if (n < 0 && errno != EINTR)
			return false;
		if (n > 0)
			*drained += (size_t)n;
	}
}

static void test_slow_subscriber(redisContext *pub)
{
	static const char subscribe[] = "*2\r\n$9\r\nSUBSCRIBE\r\n$7\r\nps:slow\r\n";
	static const char confirm[] = "*3\r\n$9\r\nsubscribe\r\n$7\r\nps:slow\r\n:1\r\n";
	redisContext *bystander = harness_connect(srv), *other;
	char got[sizeof(confirm)] = { 0 };
	char *payload = malloc(BIG_MSG);
	long long clients, after;
	int fd = slow_connect(), sent = 0;
	bool dropped = false, closed;
	size_t drained = 0, have = 0;
	char *limit;

	if (!payload || fd < 0)
		harness_bail("slow subscriber set-up failed");
	limit = harness_config_get(pub, "client-output-buffer-limit");
	check(limit && strstr(limit, "pubsub 33554432 8388608 60"),
	      "CONFIG GET client-output-buffer-limit has the default pubsub class 32mb 8mb 60 "
	      "(got '%s')", limit ? limit : "(none)");
	free(limit);

	expect_reply(cmd(bystander, "SUBSCRIBE ps:other"), "['subscribe','ps:other',1]",
		     "a bystander subscribes to ps:other");
	if (send(fd, subscribe, strlen(subscribe), MSG_NOSIGNAL) != (ssize_t)strlen(subscribe))
		harness_bail("slow subscriber: send failed");
	while (have < strlen(confirm)) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 10000) <= 0)
			break;
		n = recv(fd, got + have, strlen(confirm) - have, 0);
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	check_str(got, confirm, "the slow subscriber's SUBSCRIBE is confirmed");
	clients = settled_clients(pub);

	memset(payload, 'x', BIG_MSG);
	while (sent < BIG_MAX_MSGS) {
		redisReply *r = cmd(pub, "PUBLISH ps:slow %b", payload, (size_t)BIG_MSG);

		if (!r)
			harness_bail("PUBLISH of a big message: I/O error");
		sent++;
		if (r->type == REDIS_REPLY_INTEGER && r->integer == 0)
			dropped = true;
		freeReplyObject(r);
		if (dropped)
			break;
	}
	harness_diag("published %d messages of %d bytes before the subscriber was gone", sent, BIG_MSG);
	check(dropped, "PUBLISH to the unread subscriber falls to 0 receivers within %d MiB",
	      BIG_MAX_MSGS);
	check(sent > 32, "it was not dropped before 32 MiB were queued (%d messages)", sent);
	after = wait_clients(pub, clients - 1, 5000);
	check_int(after, clients - 1, "connected_clients dropped by one (was %lld)", clients);
	closed = drain_until_closed(fd, 10000, &drained);
	check(closed, "the unread subscriber's connection is closed (it read %zu bytes after)", drained);
	close(fd);

	expect_status(cmd(pub, "PING"), "PONG", "the publisher's connection still works");
	other = harness_connect(srv);
	expect_status(cmd(other, "PING"), "PONG", "a new client gets PONG");
	expect_status(cmd(other, "SET ps:key v"), "OK", "and can write");
	expect_int(cmd(other, "PUBLISH ps:other still-here"), 1, "the bystander is still subscribed");
	expect_reply(next_reply(bystander), "['message','ps:other','still-here']",
		     "and still receives messages");
	run(other, "DEL ps:key");
	redisFree(other);
	redisFree(bystander);
	free(payload);
}

int main(void)
{
	const char *shards = getenv("STRATA_TEST_SHARDS");
	redisContext *sub, *pub;
	long long n;

	harness_init("test_pubsub: SUBSCRIBE, PSUBSCRIBE, PUBLISH, PUBSUB");
	srv = harness_server_start("--shards", shards && *shards ? shards : "2");
	sub = harness_connect(srv);
	pub = harness_connect(srv);
	n = harness_info_int(pub, "server", "shards");
	nshards = n > 1 && n <= 64 ? (int)n : 1;
	harness_diag("%d shard(s); subscriber on shard %d, publisher on shard %d", nshards,
		     conn_shard(sub), conn_shard(pub));

	test_subscribe_replies(sub, pub);
	test_patterns(sub, pub);
	test_shard_channels(sub, pub);
	test_counts(pub);
	test_introspection(pub);
	test_resp3(pub);
	test_fanout(pub);
	test_slow_subscriber(pub);

	redisFree(sub);
	redisFree(pub);
	harness_server_stop(srv);
	return harness_done();
}
