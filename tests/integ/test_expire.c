/*
 * test_expire.c - keys expire on time: lazily when touched, and actively
 * when nobody touches them (seen through DBSIZE, INFO keyspace and SCAN,
 * which do not expire keys themselves), and TTLs count down precisely.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VOLATILE_KEYS 1000
#define PERSISTENT_KEYS 5000

/* Polls DBSIZE every 20 ms until it is want or timeout_ms pass; returns the
 * milliseconds it took, or -1 with the last size in *last. */
static long long wait_dbsize(redisContext *c, long long want, int timeout_ms,
			     long long *last)
{
	int64_t start = harness_mono_ms();

	for (;;) {
		redisReply *r = cmd(c, "DBSIZE");
		long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;

		if (r)
			freeReplyObject(r);
		*last = n;
		if (n == want)
			return harness_mono_ms() - start;
		if (harness_mono_ms() - start > timeout_ms)
			return -1;
		harness_sleep_ms(20);
	}
}

/* Pipelines count SETs of prefix:i, with "PX px" when px > 0. */
static void set_many(redisContext *c, const char *prefix, int count, int px)
{
	for (int i = 0; i < count; i++) {
		if (px > 0)
			redisAppendCommand(c, "SET %s:%d v PX %d", prefix, i, px);
		else
			redisAppendCommand(c, "SET %s:%d v", prefix, i);
	}
	for (int i = 0; i < count; i++) {
		void *r = NULL;

		if (redisGetReply(c, &r) != REDIS_OK)
			harness_bail("pipelined SET: %s", c->errstr);
		freeReplyObject(r);
	}
}

/* How many keys a full SCAN returns (duplicates counted). */
static long long scan_count(redisContext *c)
{
	char cursor[32] = "0";
	long long n = 0;
	int calls = 0;

	do {
		redisReply *r = cmd(c, "SCAN %s COUNT 1000", cursor);

		if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->len >= sizeof(cursor)) {
			if (r)
				freeReplyObject(r);
			return -1;
		}
		memcpy(cursor, r->element[0]->str, r->element[0]->len + 1);
		n += (long long)r->element[1]->elements;
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0 && ++calls < 100000);
	return n;
}

static void test_single_key_expires_untouched(redisContext *c)
{
	long long last, ms;
	long long expired0 = harness_info_int(c, "stats", "expired_keys");

	expect_status(cmd(c, "SET exp:one v PX 100"), "OK", "SET PX 100");
	expect_int(cmd(c, "DBSIZE"), 1, "DBSIZE counts the volatile key at first");
	ms = wait_dbsize(c, 0, 1500, &last);
	check(ms >= 0, "without being touched, the key leaves DBSIZE within 1.5 s (took %lld ms, "
	      "last DBSIZE %lld)", ms, last);
	check_int(harness_info_int(c, "stats", "expired_keys"), expired0 + 1,
		  "INFO stats expired_keys counted it");
	check(!harness_info_field(c, "keyspace", "db0", (char[64]){ 0 }, 64),
	      "INFO keyspace no longer lists db0");
	expect_int(cmd(c, "EXISTS exp:one"), 0, "EXISTS agrees");
}

static void test_active_expiry_many(redisContext *c)
{
	long long last, ms;
	long long expired0 = harness_info_int(c, "stats", "expired_keys");
	char buf[128], want[128];

	set_many(c, "exp:keep", PERSISTENT_KEYS, 0);
	set_many(c, "exp:vol", VOLATILE_KEYS, 200);
	expect_int(cmd(c, "DBSIZE"), PERSISTENT_KEYS + VOLATILE_KEYS, "DBSIZE counts all keys at first");
	check(harness_info_field(c, "keyspace", "db0", buf, sizeof(buf)) &&
	      strncmp(buf, "keys=6000,expires=1000,", 23) == 0,
	      "INFO keyspace db0 starts with keys=6000,expires=1000,");
	ms = wait_dbsize(c, PERSISTENT_KEYS, 3000, &last);
	check(ms >= 0, "%d untouched volatile keys among %d persistent ones leave DBSIZE within "
	      "3 s (took %lld ms, last DBSIZE %lld)", VOLATILE_KEYS, PERSISTENT_KEYS, ms, last);
	check_int(harness_info_int(c, "stats", "expired_keys") - expired0, VOLATILE_KEYS,
		  "INFO stats expired_keys grew by %d", VOLATILE_KEYS);
	snprintf(want, sizeof(want), "keys=%d,expires=0,", PERSISTENT_KEYS);
	check(harness_info_field(c, "keyspace", "db0", buf, sizeof(buf)) &&
	      strncmp(buf, want, strlen(want)) == 0,
	      "INFO keyspace db0 starts with %s", want);
	check_int(scan_count(c), PERSISTENT_KEYS, "a full SCAN finds only the persistent keys");
	run(c, "FLUSHALL");
}

static void test_lazy_expiry(redisContext *c)
{
	expect_status(cmd(c, "MSET exp:l1 a exp:l2 b"), "OK", "MSET two keys");
	expect_int(cmd(c, "PEXPIRE exp:l1 50"), 1, "PEXPIRE 50 the first");
	expect_int(cmd(c, "PEXPIRE exp:l2 50"), 1, "PEXPIRE 50 the second");
	harness_sleep_ms(120);
	expect_nil(cmd(c, "GET exp:l1"), "GET after the TTL passed is nil");
	expect_array_of_str(cmd(c, "MGET exp:l1 exp:l2"), STRS(NULL, NULL), "MGET sees both gone");
	expect_int(cmd(c, "TTL exp:l2"), -2, "TTL of an expired key is -2");
	expect_int(cmd(c, "EXISTS exp:l2"), 0, "EXISTS of an expired key is 0");
	expect_int(cmd(c, "SETNX exp:l2 new"), 1, "SETNX treats an expired key as missing");
	expect_int(cmd(c, "TTL exp:l2"), -1, "the new key has no TTL");

	expect_status(cmd(c, "SET exp:past v EXAT 1"), "OK", "SET EXAT in the past answers +OK");
	expect_nil(cmd(c, "GET exp:past"), "and the key is already gone");
	expect_int(cmd(c, "INCR exp:gone"), 1, "INCR of a missing key");
	expect_int(cmd(c, "PEXPIRE exp:gone 50"), 1, "PEXPIRE 50");
	harness_sleep_ms(120);
	expect_int(cmd(c, "INCR exp:gone"), 1, "INCR after expiry starts again from 0");
	expect_int(cmd(c, "APPEND exp:app x"), 1, "APPEND creates a key");
	expect_int(cmd(c, "PEXPIRE exp:app 50"), 1, "PEXPIRE 50");
	harness_sleep_ms(120);
	expect_int(cmd(c, "APPEND exp:app y"), 1, "APPEND after expiry starts from empty");
	run(c, "FLUSHALL");
}

static void test_ttl_changes_survive(redisContext *c)
{
	expect_status(cmd(c, "SET exp:o v PX 100"), "OK", "SET PX 100");
	expect_status(cmd(c, "SET exp:o v2"), "OK", "plain SET over it");
	expect_status(cmd(c, "SET exp:p v PX 100"), "OK", "SET PX 100 another");
	expect_int(cmd(c, "PERSIST exp:p"), 1, "PERSIST it");
	expect_status(cmd(c, "SET exp:r v PX 100"), "OK", "SET PX 100 a third");
	expect_status(cmd(c, "RENAME exp:r exp:r2"), "OK", "RENAME it");
	expect_status(cmd(c, "SET exp:g v"), "OK", "SET a fourth");
	expect_str(cmd(c, "GETEX exp:g PX 100"), "v", "GETEX PX 100 it");
	harness_sleep_ms(250);
	expect_str(cmd(c, "GET exp:o"), "v2", "a plain SET removed the TTL, the key lives");
	expect_str(cmd(c, "GET exp:p"), "v", "PERSIST removed the TTL, the key lives");
	expect_int(cmd(c, "EXISTS exp:r2"), 0, "the renamed key expired on its old schedule");
	expect_int(cmd(c, "EXISTS exp:g"), 0, "the GETEX PX key expired");
	run(c, "FLUSHALL");
}

static void test_ttl_precision(redisContext *c)
{
	int64_t t0;

	expect_status(cmd(c, "SET exp:t v EX 10"), "OK", "SET EX 10");
	expect_int(cmd(c, "TTL exp:t"), 10, "TTL right after SET EX 10 is 10");
	expect_int_range(cmd(c, "PTTL exp:t"), 9900, 10000, "PTTL right after SET EX 10 is near 10000");
	t0 = harness_mono_ms();
	expect_status(cmd(c, "SET exp:t v PX 1500"), "OK", "SET PX 1500");
	harness_sleep_ms(1000);
	expect_int_range(cmd(c, "PTTL exp:t"), 1500 - (harness_mono_ms() - t0) - 100,
			 1500 - 1000, "PTTL a second later is about 500");
	expect_str(cmd(c, "GET exp:t"), "v", "the key is still there before its time");
	harness_sleep_ms(600);
	expect_nil(cmd(c, "GET exp:t"), "and gone after its time");
	run(c, "FLUSHALL");
}

int main(void)
{
	redisContext *c;

	harness_init("test_expire: active and lazy expiry, TTL precision");
	c = harness_connect(harness_server_start());
	expect_status(cmd(c, "FLUSHALL"), "OK", "FLUSHALL before the tests");

	test_single_key_expires_untouched(c);
	test_active_expiry_many(c);
	test_lazy_expiry(c);
	test_ttl_changes_survive(c);
	test_ttl_precision(c);

	redisFree(c);
	return harness_done();
}
