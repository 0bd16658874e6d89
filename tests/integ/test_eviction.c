/*
 * test_eviction.c - maxmemory and the eviction policies.
 *
 * With allkeys-lru and maxmemory = used_memory + 2 MB, writing far past
 * the limit keeps used_memory near it, counts evicted_keys, and evicts
 * keys that were not read for seconds before keys read all along (the LRU
 * clock of Redis ticks once a second, hence the pauses: the test takes
 * about 7 s). With noeviction,
 * writes are refused with the exact OOM error while reads and deletes go
 * on. The configuration is restored at the end.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALUE_SIZE 1024
#define HOT_KEYS 300
#define COLD_KEYS 300
#define FILLER_KEYS 3000
#define BATCH 60
#define BATCH_MS 100
#define HEADROOM (2 * 1024 * 1024)
#define OVERSHOOT (1024 * 1024)
#define ERR_OOM "OOM command not allowed when used memory > 'maxmemory'."

static char value[VALUE_SIZE];

/* Pipelines SETs of prefix:from..prefix:to-1; returns how many were not +OK. */
static int set_range(redisContext *c, const char *prefix, int from, int to)
{
	int bad = 0;

	for (int i = from; i < to; i++)
		redisAppendCommand(c, "SET %s:%d %b", prefix, i, value, sizeof(value));
	for (int i = from; i < to; i++) {
		void *v = NULL;
		redisReply *r;

		if (redisGetReply(c, &v) != REDIS_OK)
			harness_bail("pipelined SET: %s", c->errstr);
		r = v;
		if (r->type != REDIS_REPLY_STATUS)
			bad++;
		freeReplyObject(r);
	}
	return bad;
}

/* Pipelines GETs of prefix:0..count-1 (to mark them recently used). */
static void touch_all(redisContext *c, const char *prefix, int count)
{
	for (int i = 0; i < count; i++)
		redisAppendCommand(c, "GET %s:%d", prefix, i);
	for (int i = 0; i < count; i++) {
		void *v = NULL;

		if (redisGetReply(c, &v) != REDIS_OK)
			harness_bail("pipelined GET: %s", c->errstr);
		freeReplyObject(v);
	}
}

/* How many of prefix:0..count-1 still exist. */
static long long count_existing(redisContext *c, const char *prefix, int count)
{
	long long n = 0;

	for (int i = 0; i < count; i++)
		redisAppendCommand(c, "EXISTS %s:%d", prefix, i);
	for (int i = 0; i < count; i++) {
		void *v = NULL;
		redisReply *r;

		if (redisGetReply(c, &v) != REDIS_OK)
			harness_bail("pipelined EXISTS: %s", c->errstr);
		r = v;
		if (r->type == REDIS_REPLY_INTEGER)
			n += r->integer;
		freeReplyObject(r);
	}
	return n;
}

static void test_allkeys_lru(redisContext *c)
{
	long long used0, limit, peak = 0, used, evicted0, hot, cold;
	int bad = 0;
	char limitbuf[32];
	redisReply *r;

	run(c, "FLUSHALL");
	used0 = harness_info_int(c, "memory", "used_memory");
	check(used0 > 0, "INFO memory used_memory before the test (%lld)", used0);
	limit = used0 + HEADROOM;
	snprintf(limitbuf, sizeof(limitbuf), "%lld", limit);
	check(harness_config_set(c, "maxmemory-policy", "allkeys-lru"),
	      "CONFIG SET maxmemory-policy allkeys-lru");
	check(harness_config_set(c, "maxmemory", limitbuf),
	      "CONFIG SET maxmemory used_memory + 2 MB (%s)", limitbuf);
	evicted0 = harness_info_int(c, "stats", "evicted_keys");

	bad += set_range(c, "hot", 0, HOT_KEYS);
	bad += set_range(c, "cold", 0, COLD_KEYS);
	/* Let the LRU clock (1 s resolution in Redis) see the cold keys age. */
	harness_sleep_ms(2100);
	touch_all(c, "hot", HOT_KEYS);
	/*
	 * Fill slowly (600 keys a second, well under what fits) so that within
	 * any one tick of the LRU clock the new keys and the hot keys fit
	 * together, and only keys idle for a second or more must go.
	 */
	for (int from = 0; from < FILLER_KEYS; from += BATCH) {
		int64_t t0 = harness_mono_ms();

		bad += set_range(c, "fill", from, from + BATCH);
		if ((from / BATCH) % 3 == 2)
			touch_all(c, "hot", HOT_KEYS);
		if (harness_mono_ms() - t0 < BATCH_MS)
			harness_sleep_ms((int)(BATCH_MS - (harness_mono_ms() - t0)));
		used = harness_info_int(c, "memory", "used_memory");
		if (used > peak)
			peak = used;
	}
	used = harness_info_int(c, "memory", "used_memory");
	check_int(bad, 0, "every SET past maxmemory answered +OK (allkeys-lru evicts instead of failing)");
	harness_diag("limit %lld, peak used_memory %lld, final %lld", limit, peak, used);
	check_int_range(peak, 0, limit + OVERSHOOT,
			"used_memory never went more than 1 MB over maxmemory while writing %d KB",
			(HOT_KEYS + COLD_KEYS + FILLER_KEYS) * VALUE_SIZE / 1024);
	check_int_range(used, limit - HEADROOM, limit + OVERSHOOT,
			"used_memory ends near maxmemory");
	check(harness_info_int(c, "stats", "evicted_keys") > evicted0, "INFO stats evicted_keys grew");
	r = cmd(c, "DBSIZE");
	check(r && r->type == REDIS_REPLY_INTEGER && r->integer > 300 &&
	      r->integer < HOT_KEYS + COLD_KEYS + FILLER_KEYS,
	      "some keys were evicted and many remain (DBSIZE %lld)", r ? r->integer : -1);
	if (r)
		freeReplyObject(r);

	hot = count_existing(c, "hot", HOT_KEYS);
	cold = count_existing(c, "cold", COLD_KEYS);
	harness_diag("survivors: %lld of %d hot keys, %lld of %d cold keys", hot, HOT_KEYS, cold,
		     COLD_KEYS);
	check(hot > cold + HOT_KEYS / 5,
	      "keys read all along survive eviction more than keys left cold (%lld vs %lld)", hot, cold);
	/*
	 * How many survive depends on the shards: each evicts only its own
	 * keys, while the memory over the limit is the whole server's. Here
	 * (2 shards, the default on 2 CPUs) 150 to 181 of 300 survived with
	 * the eviction pool, about 140 without it; 300 with --shards 1, and
	 * 289 on redis-server 7.0. The bar is set under what 2 shards reach
	 * reliably, not at what one shard does.
	 */
	check(hot >= HOT_KEYS * 2 / 5, "at least 40%% of the hot keys survive (%lld of %d)", hot,
	      HOT_KEYS);
	run(c, "FLUSHALL");
}

static void test_noeviction(redisContext *c)
{
	check(harness_config_set(c, "maxmemory-policy", "noeviction"),
	      "CONFIG SET maxmemory-policy noeviction");
	expect_status(cmd(c, "SET ne:k v"), "OK", "SET while under the limit");
	check(harness_config_set(c, "maxmemory", "1"), "CONFIG SET maxmemory 1 (below used_memory)");
	expect_err(cmd(c, "SET ne:k2 v"), ERR_OOM, "SET over maxmemory with noeviction");
	expect_err(cmd(c, "MSET ne:a 1 ne:b 2"), ERR_OOM, "MSET over maxmemory with noeviction");
	expect_err(cmd(c, "APPEND ne:k more"), ERR_OOM, "APPEND over maxmemory with noeviction");
	expect_err(cmd(c, "INCR ne:n"), ERR_OOM, "INCR over maxmemory with noeviction");
	expect_str(cmd(c, "GET ne:k"), "v", "GET still works");
	expect_int(cmd(c, "EXISTS ne:k2"), 0, "the refused SET did not happen");
	expect_int(cmd(c, "DEL ne:k"), 1, "DEL still works");
	expect_status(cmd(c, "PING"), "PONG", "PING still works");
	check(harness_config_set(c, "maxmemory", "0"), "CONFIG SET maxmemory 0 (no limit)");
	expect_status(cmd(c, "SET ne:k2 v"), "OK", "SET works again without a limit");
	run(c, "FLUSHALL");
}

int main(void)
{
	char *policy, *maxmem;
	redisContext *c;

	harness_init("test_eviction: maxmemory and eviction policies");
	c = harness_connect(harness_server_start());
	memset(value, 'x', sizeof(value));
	policy = harness_config_get(c, "maxmemory-policy");
	maxmem = harness_config_get(c, "maxmemory");
	check(policy && maxmem, "CONFIG GET maxmemory-policy and maxmemory to restore later");

	test_allkeys_lru(c);
	test_noeviction(c);

	check(harness_config_set(c, "maxmemory", maxmem ? maxmem : "0"),
	      "restore maxmemory %s", maxmem ? maxmem : "0");
	check(harness_config_set(c, "maxmemory-policy", policy ? policy : "noeviction"),
	      "restore maxmemory-policy %s", policy ? policy : "noeviction");
	free(policy);
	free(maxmem);
	redisFree(c);
	return harness_done();
}
