/*
 * test_multi.c - transactions: MULTI, EXEC, DISCARD, WATCH and UNWATCH.
 *
 * The server is started with "--shards N", N from STRATA_TEST_SHARDS
 * (default 2; dropped for redis-server). Keys are chosen by hash slot:
 * keys[i] is the first "tx:<n>" whose slot is i mod 8, so with
 * shard = slot mod N the first N keys sit on N different shards for any
 * power-of-two N up to 8. A connection lands on whichever shard the kernel
 * picks; doing every WATCH check once per shard makes sure at least one of
 * them watches a key another shard owns. For strata the test also finds its
 * connection's shard (EXISTS of a key another shard owns hops, and INFO's
 * shard_hops counts hops) and says so in a comment line.
 *
 * Every expected reply, error text and expiry behaviour below is what
 * redis-server 7.0.15 answers. Two stress checks end the program: writers
 * increment eight keys on different shards in one MULTI/EXEC while readers
 * read them with MGET and inside MULTI/EXEC, and must always see eight equal
 * values; then threads increment a pair of keys with WATCH-based
 * check-and-set, and no increment may be lost.
 */
#include "harness.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NKEYS 8			/* keys[i] has hash slot i mod NKEYS */
#define SPREAD 4		/* keys[0..SPREAD) cover every shard for N <= 4 */
#define QUEUE_LEN 1000		/* commands in the long transaction */
#define STALE_ROUNDS 10		/* rounds of each stale-key WATCH check */
#define ATOMIC_WRITERS 3
#define ATOMIC_READERS 3
#define ATOMIC_MS 3000
#define CAS_THREADS 4
#define CAS_INCRS 50		/* successful increments per CAS thread */
#define CAS_MS 8000		/* bound of the CAS check */

#define CTX_ERR "only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET " \
	"are allowed in this context"

static struct harness_server *srv;
static int nshards = 1;		/* 1 for redis-server */
static char keys[NKEYS][32];

/* The cluster slot of a key, honouring a {tag}. */
static unsigned key_slot(const char *key)
{
	return harness_key_slot(key, strlen(key));
}

/* The shard that owns key (0 on redis-server). */
static int key_shard(const char *key)
{
	return (int)(key_slot(key) % (unsigned)nshards);
}

/* Writes into buf the first "<prefix>:<n>" whose slot is residue mod NKEYS. */
static void pick_key(char *buf, size_t len, const char *prefix, unsigned residue)
{
	char pre[64];

	snprintf(pre, sizeof(pre), "%s:", prefix);
	harness_pick_key(buf, len, pre, "", NKEYS, residue);
}

/*
 * The shard a strata connection lives on: the one whose keys a command
 * reaches without a hop. -1 on redis-server or if it cannot tell (another
 * client was busy meanwhile).
 */
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

/* Sends one command inside MULTI and checks that it was queued. */
static bool queue(redisContext *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool queue(redisContext *c, const char *fmt, ...)
{
	char what[256];
	va_list ap, ap2;
	redisReply *r;

	va_start(ap, fmt);
	va_copy(ap2, ap);
	vsnprintf(what, sizeof(what), fmt, ap2);
	va_end(ap2);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	return expect_status(r, "QUEUED", "%s is queued", what);
}

/* ---- errors and the queue ---- */

static void test_tx_errors(redisContext *c)
{
	run(c, "DEL %s", keys[0]);
	expect_err(cmd(c, "EXEC"), "ERR EXEC without MULTI", "EXEC without MULTI");
	expect_err(cmd(c, "DISCARD"), "ERR DISCARD without MULTI", "DISCARD without MULTI");
	expect_err(cmd(c, "WATCH"), "ERR wrong number of arguments for 'watch' command",
		   "WATCH without a key");
	expect_status(cmd(c, "UNWATCH"), "OK", "UNWATCH with nothing watched is +OK");

	expect_status(cmd(c, "MULTI"), "OK", "MULTI");
	expect_err(cmd(c, "MULTI"), "ERR MULTI calls can not be nested", "nested MULTI");
	expect_err(cmd(c, "WATCH %s", keys[1]), "ERR WATCH inside MULTI is not allowed",
		   "WATCH inside MULTI");
	queue(c, "SET %s 1", keys[0]);
	expect_reply(cmd(c, "EXEC"), "[+OK]",
		     "nested MULTI and WATCH inside MULTI do not doom the transaction");
	expect_str(cmd(c, "GET %s", keys[0]), "1", "its SET ran");

	expect_status(cmd(c, "MULTI"), "OK", "MULTI before an unknown command");
	queue(c, "SET %s 2", keys[0]);
	expect_err(cmd(c, "FOO bar"), "ERR unknown command 'FOO', with args beginning with: 'bar' ",
		   "an unknown command inside MULTI is refused");
	expect_err(cmd(c, "EXEC"), "EXECABORT Transaction discarded because of previous errors.",
		   "EXEC after a refused unknown command");
	expect_str(cmd(c, "GET %s", keys[0]), "1", "the aborted transaction's SET did not run");
	expect_err(cmd(c, "EXEC"), "ERR EXEC without MULTI", "EXECABORT left MULTI");

	expect_status(cmd(c, "MULTI"), "OK", "MULTI before a wrong arity");
	expect_err(cmd(c, "GET"), "ERR wrong number of arguments for 'get' command",
		   "GET without a key inside MULTI is refused");
	queue(c, "SET %s 3", keys[0]);
	expect_err(cmd(c, "EXEC"), "EXECABORT Transaction discarded because of previous errors.",
		   "EXEC after a refused wrong arity");
	expect_str(cmd(c, "GET %s", keys[0]), "1", "nothing of it ran");

	/* Redis answers a refused EXEC itself with EXECABORT and leaves MULTI. */
	expect_status(cmd(c, "MULTI"), "OK", "MULTI before EXEC with an argument");
	queue(c, "SET %s 4", keys[0]);
	expect_err(cmd(c, "EXEC foo"),
		   "EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command",
		   "EXEC with an argument aborts the transaction");
	expect_err(cmd(c, "EXEC"), "ERR EXEC without MULTI", "EXEC with an argument left MULTI");
	expect_str(cmd(c, "GET %s", keys[0]), "1", "the transaction's SET did not run");
	expect_err(cmd(c, "EXEC foo"),
		   "EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command",
		   "EXEC with an argument outside MULTI says EXECABORT too");

	expect_status(cmd(c, "MULTI"), "OK", "MULTI before DISCARD with an argument");
	expect_err(cmd(c, "DISCARD foo"), "ERR wrong number of arguments for 'discard' command",
		   "DISCARD with an argument is refused");
	expect_err(cmd(c, "EXEC"), "EXECABORT Transaction discarded because of previous errors.",
		   "and dooms the transaction");

	expect_status(cmd(c, "MULTI"), "OK", "MULTI before an unknown subcommand");
	expect_err(cmd(c, "CONFIG FOO"), "ERR unknown subcommand 'FOO'. Try CONFIG HELP.",
		   "an unknown subcommand inside MULTI is refused");
	expect_err(cmd(c, "EXEC"), "EXECABORT Transaction discarded because of previous errors.",
		   "EXEC after a refused unknown subcommand");

	expect_status(cmd(c, "MULTI"), "OK", "MULTI");
	queue(c, "SET %s foo", keys[0]);
	queue(c, "INCR %s", keys[0]);
	queue(c, "SET %s 1", keys[1]);
	expect_reply(cmd(c, "EXEC"), "[+OK,-ERR value is not an integer or out of range,+OK]",
		     "an error while running does not stop the commands after it");
	expect_str(cmd(c, "GET %s", keys[1]), "1", "the command after the error ran");

	expect_status(cmd(c, "MULTI"), "OK", "MULTI");
	expect_empty_array(cmd(c, "EXEC"), "an empty transaction replies an empty array");

	expect_status(cmd(c, "MULTI"), "OK", "MULTI");
	expect_status(cmd(c, "UNWATCH"), "QUEUED", "UNWATCH inside MULTI is queued");
	expect_reply(cmd(c, "EXEC"), "[+OK]", "and answers +OK in EXEC");
	run(c, "DEL %s %s", keys[0], keys[1]);
}

static void test_exec_across_shards(redisContext *c)
{
	char want[512];
	size_t off = 0;
	redisReply *r;

	expect_status(cmd(c, "MULTI"), "OK", "MULTI over %d keys on different slots", NKEYS);
	for (int i = 0; i < NKEYS; i++)
		queue(c, "SET %s v%d", keys[i], i);
	queue(c, "MGET %s %s %s %s %s %s %s %s", keys[0], keys[1], keys[2], keys[3], keys[4],
	      keys[5], keys[6], keys[7]);
	for (int i = NKEYS - 1; i >= 0; i--)
		queue(c, "GET %s", keys[i]);
	off += (size_t)snprintf(want + off, sizeof(want) - off, "[");
	for (int i = 0; i < NKEYS; i++)
		off += (size_t)snprintf(want + off, sizeof(want) - off, "+OK,");
	for (int i = 0; i < NKEYS; i++)
		off += (size_t)snprintf(want + off, sizeof(want) - off, "%s'v%d'", i ? "," : "[", i);
	off += (size_t)snprintf(want + off, sizeof(want) - off, "]");
	for (int i = NKEYS - 1; i >= 0; i--)
		off += (size_t)snprintf(want + off, sizeof(want) - off, ",'v%d'", i);
	snprintf(want + off, sizeof(want) - off, "]");
	expect_reply(cmd(c, "EXEC"), want, "EXEC replies in order for keys on every shard");

	/* A long pipelined transaction: MULTI, QUEUE_LEN INCRs, EXEC. */
	run(c, "DEL %s", keys[3]);
	redisAppendCommand(c, "MULTI");
	for (int i = 0; i < QUEUE_LEN; i++)
		redisAppendCommand(c, "INCR %s", keys[3]);
	redisAppendCommand(c, "EXEC");
	{
		int queued = 0, right = 0;

		if (redisGetReply(c, (void **)&r) != REDIS_OK)
			harness_bail("pipelined MULTI: I/O error %s", c->errstr);
		expect_status(r, "OK", "pipelined MULTI");
		for (int i = 0; i < QUEUE_LEN; i++) {
			if (redisGetReply(c, (void **)&r) != REDIS_OK)
				harness_bail("pipelined INCR: I/O error %s", c->errstr);
			queued += r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "QUEUED");
			freeReplyObject(r);
		}
		check_int(queued, QUEUE_LEN, "all %d pipelined INCRs are queued", QUEUE_LEN);
		if (redisGetReply(c, (void **)&r) != REDIS_OK)
			harness_bail("pipelined EXEC: I/O error %s", c->errstr);
		for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
			right += r->element[i]->type == REDIS_REPLY_INTEGER &&
				 r->element[i]->integer == (long long)i + 1;
		check(r->type == REDIS_REPLY_ARRAY && r->elements == QUEUE_LEN,
		      "EXEC of %d commands replies %d elements", QUEUE_LEN, QUEUE_LEN);
		check_int(right, QUEUE_LEN, "the INCR replies run 1..%d in order", QUEUE_LEN);
		freeReplyObject(r);
	}
	expect_str(cmd(c, "GET %s", keys[3]), "1000", "the counter is %d after EXEC", QUEUE_LEN);
	for (int i = 0; i < NKEYS; i++)
		run(c, "DEL %s", keys[i]);
}

static void test_discard(redisContext *c, redisContext *c2)
{
	run(c, "DEL %s", keys[0]);
	expect_status(cmd(c, "MULTI"), "OK", "MULTI");
	queue(c, "SET %s x", keys[0]);
	expect_status(cmd(c, "DISCARD"), "OK", "DISCARD");
	expect_nil(cmd(c, "GET %s", keys[0]), "a discarded SET did not run");
	expect_err(cmd(c, "EXEC"), "ERR EXEC without MULTI", "DISCARD left MULTI");

	expect_status(cmd(c, "WATCH %s", keys[1]), "OK", "WATCH before DISCARD");
	expect_status(cmd(c, "MULTI"), "OK", "MULTI");
	expect_status(cmd(c, "DISCARD"), "OK", "DISCARD");
	run(c2, "SET %s changed", keys[1]);
	expect_status(cmd(c, "MULTI"), "OK", "MULTI after DISCARD");
	queue(c, "PING");
	expect_reply(cmd(c, "EXEC"), "[+PONG]", "DISCARD unwatched the key another client then changed");

	expect_status(cmd(c, "WATCH %s", keys[1]), "OK", "WATCH before an aborted EXEC");
	expect_status(cmd(c, "MULTI"), "OK", "MULTI");
	expect_err_prefix(cmd(c, "FOO"), "ERR unknown command", "an unknown command");
	expect_err(cmd(c, "EXEC"), "EXECABORT Transaction discarded because of previous errors.",
		   "EXECABORT");
	run(c2, "SET %s changed-again", keys[1]);
	expect_status(cmd(c, "MULTI"), "OK", "MULTI after EXECABORT");
	queue(c, "PING");
	expect_reply(cmd(c, "EXEC"), "[+PONG]", "EXECABORT unwatched the key too");
	run(c, "DEL %s", keys[1]);
}

/* ---- WATCH ---- */

/* MULTI; PING; EXEC on c: the reply is [+PONG] (or nil if aborted). */
static redisReply *exec_ping(redisContext *c)
{
	redisReply *r = cmd(c, "MULTI");

	if (r)
		freeReplyObject(r);
	r = cmd(c, "PING");
	if (r)
		freeReplyObject(r);
	return cmd(c, "EXEC");
}

static void test_watch_per_shard(redisContext *c, redisContext *c2, int me)
{
	for (int i = 0; i < SPREAD; i++) {
		const char *k = keys[i];
		int owner = key_shard(k);
		char where[64];

		if (me >= 0)
			snprintf(where, sizeof(where), "key on shard %d, client on shard %d%s", owner,
				 me, owner != me ? " (another shard)" : "");
		else
			snprintf(where, sizeof(where), "key slot %u", key_slot(k));

		run(c, "SET %s old", k);
		expect_status(cmd(c, "WATCH %s", k), "OK", "WATCH %s (%s)", k, where);
		expect_status(cmd(c2, "SET %s new", k), "OK", "another client SETs it");
		expect_status(cmd(c, "MULTI"), "OK", "MULTI");
		queue(c, "SET %s mine", k);
		expect_nil(cmd(c, "EXEC"), "EXEC after another client's write is a null reply (%s)", where);
		expect_str(cmd(c, "GET %s", k), "new", "the aborted SET did not run");

		expect_status(cmd(c, "WATCH %s", k), "OK", "WATCH %s again", k);
		expect_str(cmd(c2, "GET %s", k), "new", "another client only reads it");
		expect_status(cmd(c, "MULTI"), "OK", "MULTI");
		queue(c, "SET %s mine", k);
		expect_reply(cmd(c, "EXEC"), "[+OK]", "EXEC after a read by another client runs (%s)", where);

		run(c, "DEL %s", k);
		expect_status(cmd(c, "WATCH %s", k), "OK", "WATCH a missing key");
		run(c2, "SET %s created", k);
		expect_nil(exec_ping(c), "EXEC after another client created the key is null (%s)", where);

		expect_status(cmd(c, "WATCH %s", k), "OK", "WATCH an existing key");
		expect_int(cmd(c2, "DEL %s", k), 1, "another client DELs it");
		expect_nil(exec_ping(c), "EXEC after another client's DEL is null (%s)", where);

		expect_status(cmd(c, "WATCH %s", k), "OK", "WATCH a missing key");
		expect_int(cmd(c2, "DEL %s", k), 0, "another client DELs it: nothing to delete");
		expect_reply(exec_ping(c), "[+PONG]", "a DEL that deleted nothing does not abort (%s)", where);

		run(c, "SET %s v", k);
		expect_status(cmd(c, "WATCH %s", k), "OK", "WATCH a key");
		expect_int(cmd(c2, "EXPIRE %s 100", k), 1, "another client sets its TTL");
		expect_nil(exec_ping(c), "EXEC after another client's EXPIRE is null (%s)", where);

		expect_status(cmd(c, "WATCH %s", k), "OK", "WATCH a key");
		expect_status(cmd(c, "SET %s own", k), "OK", "the watching client writes it itself");
		expect_nil(exec_ping(c), "EXEC after the client's own write is null (%s)", where);

		expect_status(cmd(c, "WATCH %s", k), "OK", "WATCH a key");
		run(c2, "SET %s other", k);
		expect_status(cmd(c, "UNWATCH"), "OK", "UNWATCH after another client's write");
		expect_reply(exec_ping(c), "[+PONG]", "EXEC after UNWATCH runs (%s)", where);
		run(c2, "SET %s later", k);
		expect_reply(exec_ping(c), "[+PONG]", "a write after EXEC does not touch the next one");
		run(c, "DEL %s", k);
	}
}

static void test_watch_many(redisContext *c, redisContext *c2)
{
	char tagged[2][32];

	for (int i = 0; i < NKEYS; i++)
		run(c, "SET %s 0", keys[i]);
	for (int victim = 0; victim < SPREAD; victim++) {
		expect_status(cmd(c, "WATCH %s %s %s %s %s %s %s %s", keys[0], keys[1], keys[2],
				  keys[3], keys[4], keys[5], keys[6], keys[7]),
			      "OK", "WATCH %d keys on every shard", NKEYS);
		run(c2, "INCR %s", keys[victim]);
		expect_status(cmd(c, "MULTI"), "OK", "MULTI");
		for (int i = 0; i < NKEYS; i++)
			queue(c, "SET %s tx", keys[i]);
		expect_nil(cmd(c, "EXEC"), "a write to only %s (slot %u) aborts EXEC", keys[victim],
			   key_slot(keys[victim]));
	}
	expect_reply(cmd(c, "MGET %s %s %s %s", keys[0], keys[1], keys[2], keys[3]),
		     "['1','1','1','1']", "none of the aborted SETs ran");
	expect_status(cmd(c, "WATCH %s %s %s %s %s %s %s %s", keys[0], keys[1], keys[2], keys[3],
			  keys[4], keys[5], keys[6], keys[7]),
		      "OK", "WATCH %d keys again", NKEYS);
	expect_status(cmd(c, "MULTI"), "OK", "MULTI");
	for (int i = 0; i < NKEYS; i++)
		queue(c, "SET %s tx", keys[i]);
	expect_reply(cmd(c, "EXEC"), "[+OK,+OK,+OK,+OK,+OK,+OK,+OK,+OK]",
		     "with no write in between EXEC writes keys on every shard");
	expect_reply(cmd(c, "MGET %s %s %s %s %s %s %s %s", keys[0], keys[1], keys[2], keys[3],
			 keys[4], keys[5], keys[6], keys[7]),
		     "['tx','tx','tx','tx','tx','tx','tx','tx']", "all %d SETs ran", NKEYS);

	/* Two keys forced into one slot by a hash tag. */
	snprintf(tagged[0], sizeof(tagged[0]), "{tx-tag}a");
	snprintf(tagged[1], sizeof(tagged[1]), "{tx-tag}b");
	check_int(key_slot(tagged[0]), key_slot(tagged[1]), "{tx-tag}a and {tx-tag}b share a slot");
	expect_status(cmd(c, "WATCH %s %s", tagged[0], tagged[1]), "OK", "WATCH two tagged keys");
	run(c2, "SET %s x", tagged[1]);
	expect_nil(exec_ping(c), "a write to the second tagged key aborts EXEC");
	for (int i = 0; i < NKEYS; i++)
		run(c, "DEL %s", keys[i]);
	run(c, "DEL %s %s", tagged[0], tagged[1]);
}

static void test_watch_db(redisContext *c, redisContext *c2)
{
	const char *k = keys[1];

	expect_status(cmd(c, "SELECT 9"), "OK", "SELECT 9");
	expect_status(cmd(c, "WATCH %s", k), "OK", "WATCH %s in db 9", k);
	run(c2, "SET %s db0", k);
	expect_reply(exec_ping(c), "[+PONG]", "a write to the same name in db 0 does not abort");
	expect_status(cmd(c, "WATCH %s", k), "OK", "WATCH %s in db 9", k);
	run(c2, "SELECT 9");
	run(c2, "SET %s db9", k);
	expect_nil(exec_ping(c), "a write to it in db 9 aborts");
	run(c2, "DEL %s", k);
	run(c2, "SELECT 0");
	run(c2, "DEL %s", k);
	run(c, "SELECT 0");
}

/* SET k v PX 50, WATCH k, let it expire: Redis 7.0 fails the EXEC. */
static void test_watch_expiry(redisContext *c)
{
	for (int i = 0; i < SPREAD; i++) {
		const char *k = keys[i];

		expect_status(cmd(c, "SET %s v PX 50", k), "OK", "SET %s v PX 50", k);
		expect_status(cmd(c, "WATCH %s", k), "OK", "WATCH it while it lives");
		harness_sleep_ms(200);
		expect_status(cmd(c, "MULTI"), "OK", "MULTI 200 ms later");
		queue(c, "GET %s", k);
		expect_nil(cmd(c, "EXEC"), "EXEC fails: the watched key (slot %u) expired", key_slot(k));
		expect_int(cmd(c, "EXISTS %s", k), 0, "and it is gone");

		expect_status(cmd(c, "SET %s v PX 50", k), "OK", "SET %s v PX 50", k);
		expect_status(cmd(c, "WATCH %s", k), "OK", "WATCH it while it lives");
		harness_sleep_ms(200);
		expect_int(cmd(c, "EXISTS %s", k), 0, "EXISTS after it expired is 0");
		expect_nil(exec_ping(c), "EXEC fails after the key expired and was looked up (slot %u)",
			   key_slot(k));
	}
}

/*
 * A key already expired when WATCHed is missing as far as the client can
 * tell: its later removal (active expiry, a lazy lookup or DEL by another
 * client) is no change, and Redis 7.0 runs the EXEC. A write that creates it
 * again is a change.
 */
static void test_watch_stale(redisContext *c, redisContext *c2)
{
	static const char *const how[] = { "active expiry", "GET by another client",
					   "DEL by another client", "SET by another client" };
	const char *k = keys[2];

	for (int mode = 0; mode < 4; mode++) {
		int ran = 0, aborted = 0, other = 0;

		for (int round = 0; round < STALE_ROUNDS; round++) {
			redisReply *r;

			run(c, "SET %s v PX 20", k);
			harness_sleep_ms(30);
			run(c, "WATCH %s", k);
			if (mode == 0)
				harness_sleep_ms(300);
			else if (mode == 1)
				run(c2, "GET %s", k);
			else if (mode == 2)
				run(c2, "DEL %s", k);
			else
				run(c2, "SET %s new", k);
			r = exec_ping(c);
			if (r && r->type == REDIS_REPLY_ARRAY)
				ran++;
			else if (r && r->type == REDIS_REPLY_NIL)
				aborted++;
			else
				other++;
			if (r)
				freeReplyObject(r);
			run(c, "DEL %s", k);
		}
		if (mode < 3)
			check(ran == STALE_ROUNDS,
			      "a key expired before WATCH, then removed by %s: EXEC runs "
			      "(%d of %d ran, %d aborted, %d other)", how[mode], ran, STALE_ROUNDS,
			      aborted, other);
		else
			check(aborted == STALE_ROUNDS,
			      "a key expired before WATCH, then %s: EXEC fails "
			      "(%d of %d aborted, %d ran, %d other)", how[mode], aborted,
			      STALE_ROUNDS, ran, other);
	}
}

static void test_watch_flush(redisContext *c, redisContext *c2)
{
	for (int i = 0; i < SPREAD; i++) {
		run(c, "SET %s v", keys[i]);
		expect_status(cmd(c, "WATCH %s", keys[i]), "OK", "WATCH %s (slot %u)", keys[i],
			      key_slot(keys[i]));
		expect_status(cmd(c2, "FLUSHALL"), "OK", "another client runs FLUSHALL");
		expect_nil(exec_ping(c), "FLUSHALL removing the watched key aborts EXEC");
	}
	expect_status(cmd(c, "WATCH %s", keys[0]), "OK", "WATCH a missing key");
	expect_status(cmd(c2, "FLUSHALL"), "OK", "FLUSHALL");
	expect_reply(exec_ping(c), "[+PONG]", "FLUSHALL that removed nothing watched does not abort");

	run(c, "SET %s v", keys[1]);
	expect_status(cmd(c, "WATCH %s", keys[1]), "OK", "WATCH a key in db 0");
	expect_status(cmd(c2, "FLUSHDB"), "OK", "another client runs FLUSHDB on db 0");
	expect_nil(exec_ping(c), "FLUSHDB removing the watched key aborts EXEC");

	run(c, "SET %s v", keys[1]);
	expect_status(cmd(c, "WATCH %s", keys[1]), "OK", "WATCH a key in db 0");
	run(c2, "SELECT 5");
	expect_status(cmd(c2, "FLUSHDB"), "OK", "another client runs FLUSHDB on db 5");
	run(c2, "SELECT 0");
	expect_reply(exec_ping(c), "[+PONG]", "FLUSHDB of another db does not abort");

	expect_status(cmd(c, "WATCH %s", keys[1]), "OK", "WATCH a key in db 0");
	expect_status(cmd(c2, "SWAPDB 0 1"), "OK", "another client swaps db 0 and 1");
	expect_nil(exec_ping(c), "SWAPDB replacing the watched key aborts EXEC");

	run(c, "FLUSHALL");
	expect_status(cmd(c, "WATCH %s", keys[2]), "OK", "WATCH a key missing from db 0 and 1");
	expect_status(cmd(c2, "SWAPDB 0 1"), "OK", "SWAPDB 0 1");
	expect_reply(exec_ping(c), "[+PONG]", "SWAPDB with the key in neither db does not abort");
	run(c, "FLUSHALL");
}

/* ---- SELECT inside MULTI ---- */

static void test_select(redisContext *c)
{
	expect_status(cmd(c, "MULTI"), "OK", "MULTI");
	queue(c, "SELECT 1");
	queue(c, "SET %s one", keys[0]);
	queue(c, "SET %s one", keys[1]);
	queue(c, "SELECT 0");
	queue(c, "SET %s zero", keys[0]);
	expect_reply(cmd(c, "EXEC"), "[+OK,+OK,+OK,+OK,+OK]", "EXEC with SELECT inside");
	expect_reply(cmd(c, "MGET %s %s", keys[0], keys[1]), "['zero',(nil)]",
		     "db 0 got only the write after SELECT 0");
	run(c, "SELECT 1");
	expect_reply(cmd(c, "MGET %s %s", keys[0], keys[1]), "['one','one']",
		     "db 1 got the writes after SELECT 1, on both shards");
	run(c, "FLUSHDB");
	run(c, "SELECT 0");

	expect_status(cmd(c, "MULTI"), "OK", "MULTI");
	queue(c, "SELECT 2");
	expect_reply(cmd(c, "EXEC"), "[+OK]", "EXEC of a lone SELECT 2");
	expect_status(cmd(c, "SET %s two", keys[2]), "OK", "SET after it");
	run(c, "SELECT 0");
	expect_int(cmd(c, "EXISTS %s", keys[2]), 0, "the SET did not go to db 0");
	run(c, "SELECT 2");
	expect_str(cmd(c, "GET %s", keys[2]), "two", "SELECT in EXEC stayed in effect after it");
	run(c, "FLUSHDB");
	run(c, "SELECT 0");

	expect_status(cmd(c, "MULTI"), "OK", "MULTI");
	queue(c, "SELECT 99");
	queue(c, "SET %s x", keys[3]);
	expect_reply(cmd(c, "EXEC"), "[-ERR DB index is out of range,+OK]",
		     "SELECT 99 fails inside EXEC and the next command runs in the same db");
	expect_str(cmd(c, "GET %s", keys[3]), "x", "in db 0");
	run(c, "FLUSHALL");
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

static void test_resp3(redisContext *c2)
{
	struct harness_raw *raw = raw_connect(srv);
	char line[256], want[256];
	size_t len;
	char *hello;

	raw_cmd(raw, "HELLO 3");
	hello = raw_read_reply(raw, 10000, &len);
	check(hello && hello[0] == '%', "HELLO 3 answers a map");
	free(hello);
	run(c2, "DEL %s %s", keys[0], keys[1]);

	raw_cmd(raw, "MULTI");
	expect_raw_reply(raw, "+OK\r\n", "RESP3 MULTI");
	snprintf(line, sizeof(line), "GET %s", keys[0]);
	raw_cmd(raw, line);
	expect_raw_reply(raw, "+QUEUED\r\n", "RESP3 GET is queued");
	snprintf(line, sizeof(line), "SET %s 1", keys[1]);
	raw_cmd(raw, line);
	expect_raw_reply(raw, "+QUEUED\r\n", "RESP3 SET is queued");
	snprintf(line, sizeof(line), "INCR %s", keys[1]);
	raw_cmd(raw, line);
	expect_raw_reply(raw, "+QUEUED\r\n", "RESP3 INCR is queued");
	raw_cmd(raw, "CONFIG GET databases");
	expect_raw_reply(raw, "+QUEUED\r\n", "RESP3 CONFIG GET is queued");
	raw_cmd(raw, "EXEC");
	expect_raw_reply(raw, "*4\r\n_\r\n+OK\r\n:2\r\n%1\r\n$9\r\ndatabases\r\n$2\r\n16\r\n",
			 "RESP3 EXEC: an array of a RESP3 null, a status, an integer and a map");

	snprintf(line, sizeof(line), "WATCH %s", keys[1]);
	raw_cmd(raw, line);
	expect_raw_reply(raw, "+OK\r\n", "RESP3 WATCH");
	run(c2, "SET %s 5", keys[1]);
	raw_cmd(raw, "MULTI");
	expect_raw_reply(raw, "+OK\r\n", "RESP3 MULTI");
	raw_cmd(raw, "PING");
	expect_raw_reply(raw, "+QUEUED\r\n", "RESP3 PING is queued");
	raw_cmd(raw, "EXEC");
	expect_raw_reply(raw, "_\r\n", "RESP3 EXEC aborted by WATCH is a RESP3 null");

	raw_cmd(raw, "MULTI");
	expect_raw_reply(raw, "+OK\r\n", "RESP3 MULTI");
	raw_cmd(raw, "FOO");
	expect_raw_reply(raw, "-ERR unknown command 'FOO', with args beginning with: \r\n",
			 "RESP3 unknown command inside MULTI");
	raw_cmd(raw, "EXEC");
	expect_raw_reply(raw, "-EXECABORT Transaction discarded because of previous errors.\r\n",
			 "RESP3 EXECABORT");

	/* HELLO 2 inside the transaction: its reply and the ones after it are
	 * RESP2, under a header written in RESP3 (the same in both). */
	raw_cmd(raw, "MULTI");
	expect_raw_reply(raw, "+OK\r\n", "RESP3 MULTI before HELLO 2");
	raw_cmd(raw, "HELLO 2");
	expect_raw_reply(raw, "+QUEUED\r\n", "HELLO 2 is queued");
	snprintf(line, sizeof(line), "GET %s", keys[0]);
	raw_cmd(raw, line);
	expect_raw_reply(raw, "+QUEUED\r\n", "GET is queued");
	raw_cmd(raw, "EXEC");
	{
		char *got = raw_read_reply(raw, 10000, &len);
		const char *head = "*2\r\n*14\r\n$6\r\nserver\r\n", *tail = "*0\r\n$-1\r\n";

		check(got && len > strlen(head) + strlen(tail) && !memcmp(got, head, strlen(head)) &&
		      !memcmp(got + len - strlen(tail), tail, strlen(tail)),
		      "EXEC with HELLO 2 inside: HELLO answers a RESP2 array and GET a RESP2 nil");
		free(got);
	}
	snprintf(line, sizeof(line), "GET %s", keys[0]);
	raw_cmd(raw, line);
	snprintf(want, sizeof(want), "$-1\r\n");
	expect_raw_reply(raw, want, "the connection stays RESP2 after EXEC");
	raw_close(raw);
	run(c2, "DEL %s %s", keys[0], keys[1]);
}

/* ---- SUBSCRIBE inside MULTI ---- */

static void test_subscribe_in_multi(void)
{
	redisContext *c = harness_connect(srv);

	expect_status(cmd(c, "MULTI"), "OK", "MULTI");
	queue(c, "SUBSCRIBE tx-chan");
	expect_reply(cmd(c, "EXEC"), "[['subscribe','tx-chan',1]]",
		     "SUBSCRIBE inside MULTI: EXEC holds its reply");
	expect_err(cmd(c, "GET x"), "ERR Can't execute 'get': " CTX_ERR,
		   "the client is now in the subscribed context");
	expect_err(cmd(c, "MULTI"), "ERR Can't execute 'multi': " CTX_ERR,
		   "MULTI is refused in the subscribed context");
	expect_err(cmd(c, "EXEC"),
		   "EXECABORT Transaction discarded because of: Can't execute 'exec': " CTX_ERR,
		   "EXEC refused in the subscribed context says EXECABORT");
	expect_status(cmd(c, "RESET"), "RESET", "RESET");
	expect_nil(cmd(c, "GET x"), "GET works after RESET");
	redisFree(c);
}

/* ---- atomicity under load ---- */

struct atomic_worker {
	int id;
	int64_t deadline;	/* harness_mono_ms() at which to stop */
	long ops;		/* transactions or reads done */
	long execs;		/* writers: EXECs that ran */
	long bad;		/* unexpected replies */
	long torn;		/* reads that saw unequal values (or a writer's
				 * EXEC whose INCR replies differ) */
	long backwards;		/* readers: a value lower than one read before */
	char example[256];	/* the first torn reply, for the log */
};

/* Reads one reply of a pipeline; NULL on an I/O error. */
static redisReply *next_reply(redisContext *c)
{
	void *r = NULL;

	if (redisGetReply(c, &r) != REDIS_OK)
		return NULL;
	return r;
}

static void note_torn(struct atomic_worker *w, const redisReply *r)
{
	if (w->torn++ == 0) {
		char *s = harness_repr(r);

		snprintf(w->example, sizeof(w->example), "%s", s);
		free(s);
	}
}

static void *atomic_writer(void *arg)
{
	struct atomic_worker *w = arg;
	redisContext *c = harness_try_connect(srv);

	if (!c) {
		w->bad++;
		return NULL;
	}
	while (harness_mono_ms() < w->deadline) {
		redisReply *r;
		bool io_error = false;

		redisAppendCommand(c, "MULTI");
		for (int i = 0; i < NKEYS; i++)
			redisAppendCommand(c, "INCR %s", keys[i]);
		redisAppendCommand(c, "EXEC");
		for (int i = 0; i < NKEYS + 1; i++) {
			r = next_reply(c);
			if (!r) {
				io_error = true;
				break;
			}
			if (r->type != REDIS_REPLY_STATUS)
				w->bad++;
			freeReplyObject(r);
		}
		if (io_error || !(r = next_reply(c))) {
			w->bad++;
			break;
		}
		w->ops++;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != NKEYS) {
			w->bad++;
		} else {
			bool same = true;

			for (int i = 0; i < NKEYS; i++)
				same &= r->element[i]->type == REDIS_REPLY_INTEGER &&
					r->element[i]->integer == r->element[0]->integer;
			if (!same)
				note_torn(w, r);
			w->execs++;
		}
		freeReplyObject(r);
	}
	redisFree(c);
	return NULL;
}

/* Checks that the NKEYS values in elems are equal numbers; updates *last. */
static void check_equal(struct atomic_worker *w, const redisReply *r, redisReply **elems,
			long long *last)
{
	long long first;

	for (int i = 0; i < NKEYS; i++) {
		if (elems[i]->type != REDIS_REPLY_STRING) {
			w->bad++;
			return;
		}
	}
	first = atoll(elems[0]->str);
	for (int i = 1; i < NKEYS; i++) {
		if (strcmp(elems[i]->str, elems[0]->str) != 0) {
			note_torn(w, r);
			return;
		}
	}
	if (first < *last)
		w->backwards++;
	*last = first;
}

static void *atomic_reader(void *arg)
{
	struct atomic_worker *w = arg;
	redisContext *c = harness_try_connect(srv);
	const char *mget[1 + NKEYS] = { "MGET" };
	long long last = 0;

	if (!c) {
		w->bad++;
		return NULL;
	}
	for (int i = 0; i < NKEYS; i++)
		mget[1 + i] = keys[i];
	for (long n = 0; harness_mono_ms() < w->deadline; n++) {
		redisReply *r = NULL;
		int mode = (int)(n % 3);

		if (mode == 0) {
			/* A plain MGET across shards. */
			r = cmd_argv(c, 1 + NKEYS, mget, NULL);
			if (!r)
				break;
			if (r->type == REDIS_REPLY_ARRAY && r->elements == NKEYS)
				check_equal(w, r, r->element, &last);
			else
				w->bad++;
		} else {
			/* MULTI; GET k1 .. GET k8 (mode 1) or MULTI; MGET (mode 2); EXEC */
			bool io_error = false;
			int queued = mode == 1 ? NKEYS : 1;

			redisAppendCommand(c, "MULTI");
			if (mode == 1)
				for (int i = 0; i < NKEYS; i++)
					redisAppendCommand(c, "GET %s", keys[i]);
			else
				redisAppendCommandArgv(c, 1 + NKEYS, mget, NULL);
			redisAppendCommand(c, "EXEC");
			for (int i = 0; i < queued + 1; i++) {
				redisReply *q = next_reply(c);

				if (!q) {
					io_error = true;
					break;
				}
				freeReplyObject(q);
			}
			if (io_error || !(r = next_reply(c)))
				break;
			if (mode == 1 && r->type == REDIS_REPLY_ARRAY && r->elements == NKEYS)
				check_equal(w, r, r->element, &last);
			else if (mode == 2 && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
				 r->element[0]->type == REDIS_REPLY_ARRAY &&
				 r->element[0]->elements == NKEYS)
				check_equal(w, r, r->element[0]->element, &last);
			else
				w->bad++;
		}
		w->ops++;
		freeReplyObject(r);
	}
	redisFree(c);
	return NULL;
}

static void test_atomic_exec(redisContext *c)
{
	struct atomic_worker writers[ATOMIC_WRITERS] = { 0 }, readers[ATOMIC_READERS] = { 0 };
	pthread_t wt[ATOMIC_WRITERS], rt[ATOMIC_READERS];
	int64_t deadline = harness_mono_ms() + ATOMIC_MS;
	long execs = 0, wops = 0, rops = 0, torn = 0, wtorn = 0, bad = 0, backwards = 0;
	char want[32];
	redisReply *r;

	for (int i = 0; i < NKEYS; i++)
		run(c, "SET %s 0", keys[i]);
	for (int i = 0; i < ATOMIC_WRITERS; i++) {
		writers[i].id = i;
		writers[i].deadline = deadline;
		pthread_create(&wt[i], NULL, atomic_writer, &writers[i]);
	}
	for (int i = 0; i < ATOMIC_READERS; i++) {
		readers[i].id = i;
		readers[i].deadline = deadline;
		pthread_create(&rt[i], NULL, atomic_reader, &readers[i]);
	}
	for (int i = 0; i < ATOMIC_WRITERS; i++) {
		pthread_join(wt[i], NULL);
		execs += writers[i].execs;
		wops += writers[i].ops;
		bad += writers[i].bad;
		if (writers[i].torn && !wtorn)
			harness_diag("EXEC with unequal INCR replies: %s", writers[i].example);
		wtorn += writers[i].torn;
	}
	for (int i = 0; i < ATOMIC_READERS; i++) {
		pthread_join(rt[i], NULL);
		rops += readers[i].ops;
		bad += readers[i].bad;
		backwards += readers[i].backwards;
		if (readers[i].torn && !torn)
			harness_diag("torn read: %s", readers[i].example);
		torn += readers[i].torn;
	}
	harness_diag("%ld MULTI/INCR x%d/EXEC and %ld reads in %d ms", wops, NKEYS, rops, ATOMIC_MS);
	check(wops >= 50 && rops >= 50, "writers and readers made progress (%ld EXECs, %ld reads)",
	      wops, rops);
	check_int(bad, 0, "every reply had the expected shape");
	check_int(wtorn, 0, "in every EXEC the %d INCRs on different shards returned one value", NKEYS);
	check_int(torn, 0, "no MGET or MULTI/EXEC read saw some of a transaction's INCRs without the others");
	check_int(backwards, 0, "no reader saw a counter go backwards");
	snprintf(want, sizeof(want), "'%ld'", execs);
	r = cmd(c, "MGET %s %s %s %s %s %s %s %s", keys[0], keys[1], keys[2], keys[3], keys[4],
		keys[5], keys[6], keys[7]);
	{
		char all[512];
		size_t off = 0;

		for (int i = 0; i < NKEYS; i++)
			off += (size_t)snprintf(all + off, sizeof(all) - off, "%s%s", i ? "," : "[", want);
		snprintf(all + off, sizeof(all) - off, "]");
		expect_reply(r, all, "every key was incremented once per EXEC (%ld)", execs);
	}
	run(c, "FLUSHALL");
}

struct cas_worker {
	int64_t deadline;	/* harness_mono_ms() at which to give up */
	const char *a, *b;	/* the pair of counters */
	long done;		/* EXECs that ran */
	long retries;		/* EXECs aborted by WATCH */
	long bad;		/* unexpected replies */
	long torn;		/* MGETs that saw a != b */
};

static void *cas_main(void *arg)
{
	struct cas_worker *w = arg;
	redisContext *c = harness_try_connect(srv);

	if (!c) {
		w->bad++;
		return NULL;
	}
	while (w->done < CAS_INCRS && harness_mono_ms() < w->deadline) {
		redisReply *r = cmd(c, "WATCH %s %s", w->a, w->b);
		long long x, y;

		if (!r)
			break;
		freeReplyObject(r);
		r = cmd(c, "MGET %s %s", w->a, w->b);
		if (!r)
			break;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[1]->type != REDIS_REPLY_STRING) {
			w->bad++;
			freeReplyObject(r);
			break;
		}
		x = atoll(r->element[0]->str);
		y = atoll(r->element[1]->str);
		freeReplyObject(r);
		if (x != y)
			w->torn++;
		redisAppendCommand(c, "MULTI");
		redisAppendCommand(c, "SET %s %lld", w->a, x + 1);
		redisAppendCommand(c, "SET %s %lld", w->b, y + 1);
		redisAppendCommand(c, "EXEC");
		for (int i = 0; i < 3; i++) {
			r = next_reply(c);
			if (!r)
				goto out;
			freeReplyObject(r);
		}
		r = next_reply(c);
		if (!r)
			break;
		if (r->type == REDIS_REPLY_ARRAY)
			w->done++;
		else if (r->type == REDIS_REPLY_NIL)
			w->retries++;
		else
			w->bad++;
		freeReplyObject(r);
	}
out:
	redisFree(c);
	return NULL;
}

static void test_cas(redisContext *c)
{
	static struct cas_worker workers[CAS_THREADS];
	pthread_t threads[CAS_THREADS];
	char a[32], b[32], want[64];
	long done = 0, retries = 0, bad = 0, torn = 0;
	int64_t deadline = harness_mono_ms() + CAS_MS;

	pick_key(a, sizeof(a), "cas", 0);
	pick_key(b, sizeof(b), "cas", 1);
	run(c, "MSET %s 0 %s 0", a, b);
	for (int i = 0; i < CAS_THREADS; i++) {
		workers[i].deadline = deadline;
		workers[i].a = a;
		workers[i].b = b;
		pthread_create(&threads[i], NULL, cas_main, &workers[i]);
	}
	for (int i = 0; i < CAS_THREADS; i++) {
		pthread_join(threads[i], NULL);
		done += workers[i].done;
		retries += workers[i].retries;
		bad += workers[i].bad;
		torn += workers[i].torn;
	}
	harness_diag("CAS: %ld EXECs ran, %ld aborted by WATCH", done, retries);
	check_int(done, CAS_THREADS * CAS_INCRS,
		  "%d threads each finished %d WATCH/MGET/MULTI/SET/SET/EXEC increments of %s and %s "
		  "(slots %u and %u)", CAS_THREADS, CAS_INCRS, a, b, key_slot(a), key_slot(b));
	check_int(bad, 0, "every CAS reply had the expected shape");
	check_int(torn, 0, "no MGET saw the pair differ");
	snprintf(want, sizeof(want), "['%ld','%ld']", done, done);
	expect_reply(cmd(c, "MGET %s %s", a, b), want, "no increment was lost");
	run(c, "FLUSHALL");
}

int main(void)
{
	const char *shards = getenv("STRATA_TEST_SHARDS");
	redisContext *c, *c2;
	long long n;
	int me;

	harness_init("test_multi: MULTI, EXEC, DISCARD, WATCH, UNWATCH");
	srv = harness_server_start("--shards", shards && *shards ? shards : "2");
	c = harness_connect(srv);
	c2 = harness_connect(srv);
	expect_status(cmd(c, "FLUSHALL"), "OK", "FLUSHALL before the tests");
	n = harness_info_int(c, "server", "shards");
	nshards = n > 1 && n <= 64 ? (int)n : 1;
	for (int i = 0; i < NKEYS; i++)
		pick_key(keys[i], sizeof(keys[i]), "tx", (unsigned)i);
	me = conn_shard(c);
	harness_diag("%d shard(s); the test's main connection is on shard %d", nshards, me);

	test_tx_errors(c);
	test_exec_across_shards(c);
	test_discard(c, c2);
	test_watch_per_shard(c, c2, me);
	test_watch_many(c, c2);
	test_watch_db(c, c2);
	test_watch_expiry(c);
	test_watch_stale(c, c2);
	test_watch_flush(c, c2);
	test_select(c);
	test_resp3(c2);
	test_subscribe_in_multi();
	test_atomic_exec(c);
	test_cas(c);

	redisFree(c2);
	redisFree(c);
	harness_server_stop(srv);
	return harness_done();
}
