/*
 * test_atomic.c - multi-key commands are atomic across shards.
 *
 * The server is started with "--shards 4" (dropped for redis-server). Keys
 * are chosen so that their hash slots differ mod 8, which puts them on
 * different shards for any power-of-two shard count up to 8, given
 * shard = slot mod N. Writers MSET all keys to one value per call, or DEL
 * them all; readers MGET them and must see either all nil or all equal.
 * Then MSETNX is raced: exactly one of several callers may win, and a
 * loser sets nothing.
 */
#include "harness.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NKEYS 8
#define WRITERS 4
#define READERS 4
#define RUN_MS 3000
#define NX_THREADS 4
#define NX_ROUNDS 200
#define OVERLAP_ROUNDS 200

static struct harness_server *srv;
static char keys[NKEYS][32];

/* The cluster slot of a key without hash tags. */
static unsigned key_slot(const char *key)
{
	return harness_key_slot(key, strlen(key));
}

/* keys[i] is the first "atomic:<n>" whose slot is i mod NKEYS. */
static void choose_keys(void)
{
	for (int i = 0; i < NKEYS; i++) {
		for (int n = 0;; n++) {
			snprintf(keys[i], sizeof(keys[i]), "atomic:%d", n);
			if (key_slot(keys[i]) % NKEYS == (unsigned)i)
				break;
		}
	}
}

struct worker {
	int id;			/* 0-based within its kind */
	int64_t deadline;	/* harness_mono_ms() at which to stop */
	long ops;		/* commands done */
	long bad;		/* unexpected replies */
	long torn;		/* MGETs that saw a mix (readers) */
	long all_nil;		/* MGETs that saw every key missing (readers) */
	char example[256];	/* the first torn MGET, for the log */
};

static void *writer_main(void *arg)
{
	struct worker *w = arg;
	redisContext *c = harness_try_connect(srv);
	const char *argv[1 + 2 * NKEYS];
	char value[32];

	if (!c) {
		w->bad++;
		return NULL;
	}
	argv[0] = "MSET";
	for (long n = 0; harness_mono_ms() < w->deadline; n++) {
		redisReply *r;

		if (n % 4 == 3) {
			const char *del[1 + NKEYS] = { "DEL" };

			for (int i = 0; i < NKEYS; i++)
				del[1 + i] = keys[i];
			r = cmd_argv(c, 1 + NKEYS, del, NULL);
			if (!r || r->type != REDIS_REPLY_INTEGER)
				w->bad++;
		} else {
			snprintf(value, sizeof(value), "w%d:%ld", w->id, n);
			for (int i = 0; i < NKEYS; i++) {
				argv[1 + 2 * i] = keys[i];
				argv[2 + 2 * i] = value;
			}
			r = cmd_argv(c, 1 + 2 * NKEYS, argv, NULL);
			if (!r || r->type != REDIS_REPLY_STATUS)
				w->bad++;
		}
		if (r)
			freeReplyObject(r);
		else
			break;
		w->ops++;
	}
	redisFree(c);
	return NULL;
}

static void *reader_main(void *arg)
{
	struct worker *w = arg;
	redisContext *c = harness_try_connect(srv);
	const char *argv[1 + NKEYS] = { "MGET" };

	if (!c) {
		w->bad++;
		return NULL;
	}
	for (int i = 0; i < NKEYS; i++)
		argv[1 + i] = keys[i];
	while (harness_mono_ms() < w->deadline) {
		redisReply *r = cmd_argv(c, 1 + NKEYS, argv, NULL);
		bool same = true;

		if (!r)
			break;
		w->ops++;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != NKEYS) {
			w->bad++;
			freeReplyObject(r);
			continue;
		}
		for (int i = 1; i < NKEYS; i++) {
			const redisReply *a = r->element[0], *b = r->element[i];

			if (a->type != b->type ||
			    (a->type == REDIS_REPLY_STRING && strcmp(a->str, b->str) != 0))
				same = false;
		}
		if (!same) {
			if (w->torn++ == 0) {
				char *s = harness_repr(r);

				snprintf(w->example, sizeof(w->example), "%s", s);
				free(s);
			}
		} else if (r->element[0]->type == REDIS_REPLY_NIL) {
			w->all_nil++;
		}
		freeReplyObject(r);
	}
	redisFree(c);
	return NULL;
}

static void test_mset_mget_atomic(redisContext *c)
{
	struct worker writers[WRITERS] = { 0 }, readers[READERS] = { 0 };
	pthread_t wt[WRITERS], rt[READERS];
	int64_t deadline = harness_mono_ms() + RUN_MS;
	long wops = 0, rops = 0, torn = 0, bad = 0, nil = 0;

	for (int i = 0; i < WRITERS; i++) {
		writers[i].id = i;
		writers[i].deadline = deadline;
		pthread_create(&wt[i], NULL, writer_main, &writers[i]);
	}
	for (int i = 0; i < READERS; i++) {
		readers[i].id = i;
		readers[i].deadline = deadline;
		pthread_create(&rt[i], NULL, reader_main, &readers[i]);
	}
	for (int i = 0; i < WRITERS; i++) {
		pthread_join(wt[i], NULL);
		wops += writers[i].ops;
		bad += writers[i].bad;
	}
	for (int i = 0; i < READERS; i++) {
		pthread_join(rt[i], NULL);
		rops += readers[i].ops;
		bad += readers[i].bad;
		nil += readers[i].all_nil;
		if (readers[i].torn && !torn)
			harness_diag("torn MGET: %s", readers[i].example);
		torn += readers[i].torn;
	}
	harness_diag("%ld MSET/DEL and %ld MGET in %d ms (%ld MGETs saw all keys missing)",
		     wops, rops, RUN_MS, nil);
	check(wops >= 100 && rops >= 100, "writers and readers made progress (%ld writes, %ld reads)",
	      wops, rops);
	check_int(bad, 0, "every MSET answered +OK, every DEL an integer, every MGET %d elements", NKEYS);
	check_int(torn, 0, "no MGET of %d keys on different shards saw a mix of two MSETs or a "
		  "half-done DEL", NKEYS);
	run(c, "FLUSHALL");
}

static void test_msetnx_sequential(redisContext *c)
{
	const char *argv[1 + 2 * NKEYS] = { "MSETNX" };
	redisReply *r;

	for (int i = 0; i < NKEYS; i++) {
		argv[1 + 2 * i] = keys[i];
		argv[2 + 2 * i] = "first";
	}
	expect_status(cmd(c, "SET %s taken", keys[NKEYS - 1]), "OK", "SET the last key first");
	expect_int(cmd_argv(c, 1 + 2 * NKEYS, argv, NULL), 0,
		   "MSETNX over %d shards with one key taken is 0", NKEYS);
	r = cmd(c, "EXISTS %s %s %s %s %s %s %s", keys[0], keys[1], keys[2], keys[3],
		keys[4], keys[5], keys[6]);
	expect_int(r, 0, "a failed MSETNX set none of the free keys");
	expect_int(cmd(c, "DEL %s", keys[NKEYS - 1]), 1, "free the last key");
	expect_int(cmd_argv(c, 1 + 2 * NKEYS, argv, NULL), 1,
		   "MSETNX over %d shards with every key free is 1", NKEYS);
	expect_int(cmd(c, "EXISTS %s %s %s %s %s %s %s %s", keys[0], keys[1], keys[2], keys[3],
		       keys[4], keys[5], keys[6], keys[7]),
		   NKEYS, "MSETNX set every key");
	expect_int(cmd(c, "DEL %s %s %s %s %s %s %s %s", keys[0], keys[1], keys[2], keys[3],
		       keys[4], keys[5], keys[6], keys[7]),
		   NKEYS, "DEL across shards counts every key");
}

struct nx_racer {
	int id;				/* value written: "t<id>" */
	pthread_barrier_t *barrier;	/* all racers start each round together */
	int won[NX_ROUNDS];		/* MSETNX reply per round, -1 on error */
};

static void *nx_racer_main(void *arg)
{
	struct nx_racer *t = arg;
	redisContext *c = harness_try_connect(srv);
	char names[NKEYS][48], value[16];
	const char *argv[1 + 2 * NKEYS] = { "MSETNX" };

	snprintf(value, sizeof(value), "t%d", t->id);
	for (int round = 0; round < NX_ROUNDS; round++) {
		redisReply *r;

		for (int i = 0; i < NKEYS; i++) {
			snprintf(names[i], sizeof(names[i]), "nx:%d:%.31s", round, keys[i]);
			argv[1 + 2 * i] = names[i];
			argv[2 + 2 * i] = value;
		}
		pthread_barrier_wait(t->barrier);
		r = c ? cmd_argv(c, 1 + 2 * NKEYS, argv, NULL) : NULL;
		t->won[round] = r && r->type == REDIS_REPLY_INTEGER ? (int)r->integer : -1;
		if (r)
			freeReplyObject(r);
	}
	redisFree(c);
	return NULL;
}

static void test_msetnx_race(redisContext *c)
{
	static struct nx_racer racers[NX_THREADS];
	pthread_t threads[NX_THREADS];
	pthread_barrier_t barrier;
	int wrong_winners = 0, mixed = 0;

	pthread_barrier_init(&barrier, NULL, NX_THREADS);
	for (int i = 0; i < NX_THREADS; i++) {
		racers[i].id = i;
		racers[i].barrier = &barrier;
		pthread_create(&threads[i], NULL, nx_racer_main, &racers[i]);
	}
	for (int i = 0; i < NX_THREADS; i++)
		pthread_join(threads[i], NULL);
	pthread_barrier_destroy(&barrier);

	for (int round = 0; round < NX_ROUNDS; round++) {
		int winners = 0, winner = -1;
		char want[16];
		redisReply *r;

		for (int i = 0; i < NX_THREADS; i++) {
			if (racers[i].won[round] == 1) {
				winners++;
				winner = i;
			} else if (racers[i].won[round] != 0) {
				winners = -100;
			}
		}
		if (winners != 1) {
			if (wrong_winners++ == 0)
				harness_diag("round %d: %d MSETNX winners", round, winners);
			continue;
		}
		snprintf(want, sizeof(want), "t%d", winner);
		r = cmd(c, "MGET nx:%d:%s nx:%d:%s nx:%d:%s nx:%d:%s nx:%d:%s nx:%d:%s nx:%d:%s nx:%d:%s",
			round, keys[0], round, keys[1], round, keys[2], round, keys[3],
			round, keys[4], round, keys[5], round, keys[6], round, keys[7]);
		for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
			if (r->element[i]->type != REDIS_REPLY_STRING ||
			    strcmp(r->element[i]->str, want) != 0) {
				mixed++;
				break;
			}
		}
		if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != NKEYS)
			mixed++;
		if (r)
			freeReplyObject(r);
	}
	check_int(wrong_winners, 0, "in each of %d rounds of %d racing MSETNX, exactly one wins",
		  NX_ROUNDS, NX_THREADS);
	check_int(mixed, 0, "after each round every key holds the winner's value");
	run(c, "FLUSHALL");
}

struct overlap_racer {
	int side;			/* 0 or 1 */
	pthread_barrier_t *barrier;	/* both sides start each round together */
	int won[OVERLAP_ROUNDS];	/* MSETNX reply per round, -1 on error */
};

/*
 * Side s sets ov:<round>:s<i> for i < 4 plus the shared ov:<round>:shared,
 * so at most one side can win a round, and the first to run must.
 */
static void *overlap_main(void *arg)
{
	struct overlap_racer *t = arg;
	redisContext *c = harness_try_connect(srv);

	for (int round = 0; round < OVERLAP_ROUNDS; round++) {
		redisReply *r;

		pthread_barrier_wait(t->barrier);
		r = c ? cmd(c, "MSETNX ov:%d:s%d:0 x ov:%d:s%d:1 x ov:%d:shared x ov:%d:s%d:2 x ov:%d:s%d:3 x",
			    round, t->side, round, t->side, round, round, t->side, round, t->side) : NULL;
		t->won[round] = r && r->type == REDIS_REPLY_INTEGER ? (int)r->integer : -1;
		if (r)
			freeReplyObject(r);
	}
	redisFree(c);
	return NULL;
}

static void test_msetnx_overlap(redisContext *c)
{
	static struct overlap_racer sides[2];
	pthread_t threads[2];
	pthread_barrier_t barrier;
	int bad_rounds = 0, leaked = 0;

	pthread_barrier_init(&barrier, NULL, 2);
	for (int s = 0; s < 2; s++) {
		sides[s].side = s;
		sides[s].barrier = &barrier;
		pthread_create(&threads[s], NULL, overlap_main, &sides[s]);
	}
	for (int s = 0; s < 2; s++)
		pthread_join(threads[s], NULL);
	pthread_barrier_destroy(&barrier);

	for (int round = 0; round < OVERLAP_ROUNDS; round++) {
		int a = sides[0].won[round], b = sides[1].won[round];
		int loser = a == 1 ? 1 : 0;
		redisReply *r;

		if (!((a == 1 && b == 0) || (a == 0 && b == 1))) {
			if (bad_rounds++ == 0)
				harness_diag("round %d: side 0 got %d, side 1 got %d", round, a, b);
			continue;
		}
		r = cmd(c, "EXISTS ov:%d:s%d:0 ov:%d:s%d:1 ov:%d:s%d:2 ov:%d:s%d:3",
			round, loser, round, loser, round, loser, round, loser);
		if (!r || r->type != REDIS_REPLY_INTEGER || r->integer != 0)
			leaked++;
		if (r)
			freeReplyObject(r);
	}
	check_int(bad_rounds, 0, "in each of %d rounds of two MSETNX sharing one key, exactly one wins",
		  OVERLAP_ROUNDS);
	check_int(leaked, 0, "the losing MSETNX set none of its own keys");
	run(c, "FLUSHALL");
}

int main(void)
{
	redisContext *c;

	harness_init("test_atomic: multi-key atomicity across shards");
	srv = harness_server_start("--shards", "4");
	c = harness_connect(srv);
	expect_status(cmd(c, "FLUSHALL"), "OK", "FLUSHALL before the tests");
	check_int(key_slot("foo"), 12182, "the test's CRC16 puts 'foo' in slot 12182, as Redis Cluster does");
	choose_keys();
	for (int i = 0; i < NKEYS; i++)
		harness_diag("key %s slot %u", keys[i], key_slot(keys[i]));

	test_mset_mget_atomic(c);
	test_msetnx_sequential(c);
	test_msetnx_race(c);
	test_msetnx_overlap(c);

	redisFree(c);
	harness_server_stop(srv);
	return harness_done();
}
