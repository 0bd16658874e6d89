/*
 * test_zset.c - the sorted-set commands, with the exact replies of
 * redis-server 7.0: ZADD (every option and conflict), ZINCRBY, ZREM, ZSCORE,
 * ZMSCORE, ZCARD, ZCOUNT, ZLEXCOUNT, ZRANGE (BYSCORE BYLEX REV LIMIT
 * WITHSCORES) and the older range commands, ZRANGESTORE, ZRANK, ZREVRANK,
 * ZREMRANGEBY*, the pops (ZPOPMIN/MAX, ZMPOP, and the blocking BZPOPMIN/MAX
 * and BZMPOP), ZRANDMEMBER, the algebra (ZUNION ZINTER ZDIFF, their STORE
 * forms, ZINTERCARD; WEIGHTS, AGGREGATE, plain sets as inputs), ZSCAN, the
 * listpack/skiplist encodings, score formatting, RESP3 reply shapes, and
 * the multi-key commands over keys on different shards.
 *
 * The server runs with "--shards 2" (dropped for redis-server). Keys for
 * the cross-shard tests are chosen by hash slot parity, so they live on
 * different shards whenever the shard count is even (shard = slot mod N).
 * Blocked clients are waited for with a short sleep, not INFO, so the test
 * does not depend on blocked_clients being reported.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR_WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"
#define ERR_SYNTAX "ERR syntax error"
#define ERR_NOT_INT "ERR value is not an integer or out of range"
#define ERR_NOT_FLOAT "ERR value is not a valid float"
#define ERR_RANGE "ERR min or max is not a float"
#define ERR_LEX "ERR min or max not valid string range item"
#define ERR_NAN "ERR resulting score is not a number (NaN)"

/* The first "<prefix><n>" whose slot has the given parity. */
static void key_with_parity(char *out, size_t cap, const char *prefix, unsigned parity)
{
	harness_pick_key(out, cap, prefix, "", 2, parity);
}

/* Sets the listpack entry limit (0 forces the skiplist). */
static void set_entries(redisContext *c, const char *n)
{
	check(harness_config_set(c, "zset-max-listpack-entries", n),
	      "CONFIG SET zset-max-listpack-entries %s", n);
}

static void test_basics_of_both_encodings(redisContext *c)
{
	static const char *const limits[] = { "128", "0" };
	static const char *const names[] = { "listpack", "skiplist" };

	for (int i = 0; i < 2; i++) {
		const char *enc = names[i];

		set_entries(c, limits[i]);
		run(c, "DEL z:b");
		expect_int(cmd(c, "ZADD z:b 10 x"), 1, "ZADD of a new member (%s)", enc);
		expect_str(cmd(c, "OBJECT ENCODING z:b"), enc, "the encoding is %s", enc);
		expect_int(cmd(c, "ZADD z:b 20 y 30 z"), 2, "variadic ZADD (%s)", enc);
		expect_int(cmd(c, "ZADD z:b 1 x"), 0, "ZADD updating a score adds nothing (%s)", enc);
		expect_reply(cmd(c, "ZRANGE z:b 0 -1 WITHSCORES"), "['x','1','y','20','z','30']",
			     "ZRANGE WITHSCORES in score order (%s)", enc);
		expect_int(cmd(c, "ZCARD z:b"), 3, "ZCARD (%s)", enc);
		expect_int(cmd(c, "ZCARD z:none"), 0, "ZCARD of a missing key (%s)", enc);
		expect_str(cmd(c, "ZSCORE z:b y"), "20", "ZSCORE (%s)", enc);
		expect_nil(cmd(c, "ZSCORE z:b nope"), "ZSCORE of a missing member (%s)", enc);
		expect_nil(cmd(c, "ZSCORE z:none x"), "ZSCORE of a missing key (%s)", enc);
		expect_reply(cmd(c, "ZMSCORE z:b x nope z"), "['1',(nil),'30']", "ZMSCORE (%s)", enc);
		expect_reply(cmd(c, "ZMSCORE z:none a b"), "[(nil),(nil)]",
			     "ZMSCORE of a missing key (%s)", enc);
		expect_int(cmd(c, "ZRANK z:b z"), 2, "ZRANK (%s)", enc);
		expect_int(cmd(c, "ZREVRANK z:b z"), 0, "ZREVRANK (%s)", enc);
		expect_nil(cmd(c, "ZRANK z:b nope"), "ZRANK of a missing member (%s)", enc);
		expect_nil(cmd(c, "ZREVRANK z:none x"), "ZREVRANK of a missing key (%s)", enc);
		/* Equal scores sort by member bytes. */
		run(c, "DEL z:tie");
		run(c, "ZADD z:tie 1 b 1 a 1 ab 0 z 1 B");
		expect_reply(cmd(c, "ZRANGE z:tie 0 -1"), "['z','B','a','ab','b']",
			     "ties sort by memcmp of the member (%s)", enc);
		expect_int(cmd(c, "ZREM z:b x nope"), 1, "ZREM counts members removed (%s)", enc);
		expect_int(cmd(c, "ZREM z:b y z"), 2, "ZREM of the last members (%s)", enc);
		expect_int(cmd(c, "EXISTS z:b"), 0, "the emptied key is gone (%s)", enc);
		expect_int(cmd(c, "ZREM z:b x"), 0, "ZREM of a missing key (%s)", enc);
		run(c, "DEL z:tie");
	}
	set_entries(c, "128");
}

static void test_encoding_conversions(redisContext *c)
{
	char big[70];

	run(c, "DEL z:e");
	set_entries(c, "4");
	run(c, "ZADD z:e 1 a 2 b 3 c 4 d");
	expect_str(cmd(c, "OBJECT ENCODING z:e"), "listpack", "4 members stay a listpack");
	run(c, "ZADD z:e 5 e");
	expect_str(cmd(c, "OBJECT ENCODING z:e"), "skiplist", "a 5th member makes a skiplist");
	run(c, "ZREM z:e e");
	expect_str(cmd(c, "OBJECT ENCODING z:e"), "skiplist", "removal does not convert back");
	expect_int(cmd(c, "ZUNIONSTORE z:e2 1 z:e"), 4, "ZUNIONSTORE of 4 members");
	expect_str(cmd(c, "OBJECT ENCODING z:e2"), "listpack", "a stored result is compacted");
	set_entries(c, "128");
	memset(big, 'x', 65);
	big[65] = '\0';
	run(c, "DEL z:e");
	run(c, "ZADD z:e 1 %s", big);
	expect_str(cmd(c, "OBJECT ENCODING z:e"), "skiplist",
		   "a first member over zset-max-listpack-value makes a skiplist");
	run(c, "DEL z:e z:e2");
}

static void test_zadd_options(redisContext *c)
{
	run(c, "DEL z:o");
	expect_int(cmd(c, "ZADD z:o XX 1 a"), 0, "ZADD XX on a missing key adds nothing");
	expect_int(cmd(c, "EXISTS z:o"), 0, "ZADD XX did not create the key");
	expect_nil(cmd(c, "ZADD z:o XX INCR 1 a"), "ZADD XX INCR on a missing key is nil");
	expect_int(cmd(c, "ZADD z:o NX 1 a 2 b"), 2, "ZADD NX adds new members");
	expect_int(cmd(c, "ZADD z:o NX 5 a 3 c"), 1, "ZADD NX skips existing members");
	expect_str(cmd(c, "ZSCORE z:o a"), "1", "ZADD NX did not update");
	expect_int(cmd(c, "ZADD z:o XX 5 a 9 d"), 0, "ZADD XX updates but reports no addition");
	expect_str(cmd(c, "ZSCORE z:o a"), "5", "ZADD XX updated");
	expect_nil(cmd(c, "ZSCORE z:o d"), "ZADD XX did not add");
	expect_int(cmd(c, "ZADD z:o CH 6 a 2 b 7 e"), 2, "ZADD CH counts added and changed");
	expect_int(cmd(c, "ZADD z:o GT CH 1 a 10 b"), 1, "ZADD GT only raises");
	expect_reply(cmd(c, "ZMSCORE z:o a b"), "['6','10']", "ZADD GT kept the higher scores");
	expect_int(cmd(c, "ZADD z:o LT CH 1 a 20 b 4 f"), 2, "ZADD LT lowers and adds");
	expect_reply(cmd(c, "ZMSCORE z:o a b f"), "['1','10','4']", "ZADD LT results");
	expect_int(cmd(c, "ZADD z:o GT XX CH 3 a 100 new"), 1, "ZADD GT XX");
	expect_nil(cmd(c, "ZSCORE z:o new"), "ZADD GT XX does not add");
	expect_str(cmd(c, "ZADD z:o INCR 2.5 a"), "5.5", "ZADD INCR replies the new score");
	expect_nil(cmd(c, "ZADD z:o INCR LT 1 a"), "ZADD INCR LT that would raise is nil");
	expect_str(cmd(c, "ZADD z:o INCR GT 1 a"), "6.5", "ZADD INCR GT that raises");
	expect_nil(cmd(c, "ZADD z:o INCR NX 1 a"), "ZADD INCR NX of an existing member is nil");
	expect_err(cmd(c, "ZADD z:o NX XX 1 a"),
		   "ERR XX and NX options at the same time are not compatible", "NX with XX");
	expect_err(cmd(c, "ZADD z:o NX GT 1 a"),
		   "ERR GT, LT, and/or NX options at the same time are not compatible", "NX with GT");
	expect_err(cmd(c, "ZADD z:o NX LT 1 a"),
		   "ERR GT, LT, and/or NX options at the same time are not compatible", "NX with LT");
	expect_err(cmd(c, "ZADD z:o GT LT 1 a"),
		   "ERR GT, LT, and/or NX options at the same time are not compatible", "GT with LT");
	expect_err(cmd(c, "ZADD z:o INCR 1 a 2 b"),
		   "ERR INCR option supports a single increment-element pair", "INCR with two pairs");
	expect_err(cmd(c, "ZADD z:o 1 a 2"), ERR_SYNTAX, "an incomplete pair");
	expect_err(cmd(c, "ZADD z:o NX 1"), ERR_SYNTAX, "options without a pair");
	expect_err(cmd(c, "ZADD z:o 1 a x b"), ERR_NOT_FLOAT, "a bad score anywhere");
	expect_nil(cmd(c, "ZSCORE z:o x"), "a bad score adds nothing");
	expect_err(cmd(c, "ZADD z:o nan a"), ERR_NOT_FLOAT, "NaN is not a score");
	expect_err(cmd(c, "ZADD z:o %s a", ""), ERR_NOT_FLOAT, "the empty string is not a score");
	expect_err(cmd(c, "ZADD z:o"), "ERR wrong number of arguments for 'zadd' command",
		   "ZADD arity");
	expect_int(cmd(c, "ZADD z:o +inf i -inf j"), 2, "infinite scores");
	expect_reply(cmd(c, "ZMSCORE z:o i j"), "['inf','-inf']", "infinities are spelled inf");
	expect_err(cmd(c, "ZADD z:o INCR -inf i"), ERR_NAN, "inf - inf is NaN");
	expect_err(cmd(c, "ZINCRBY z:o -inf i"), ERR_NAN, "ZINCRBY to NaN");
	expect_str(cmd(c, "ZSCORE z:o i"), "inf", "a NaN increment changes nothing");
	run(c, "DEL z:o");
}

static void test_zincrby_and_score_format(redisContext *c)
{
	run(c, "DEL z:i");
	expect_str(cmd(c, "ZINCRBY z:i 1.1 m"), "1.1000000000000001",
		   "ZINCRBY creates the key; %%.17g score");
	expect_str(cmd(c, "ZINCRBY z:i -1.1 m"), "0", "ZINCRBY back to 0");
	expect_str(cmd(c, "ZINCRBY z:i 1e300 m"), "1.0000000000000001e+300", "large scores");
	expect_err(cmd(c, "ZINCRBY z:i x m"), ERR_NOT_FLOAT, "ZINCRBY with a bad increment");
	expect_err(cmd(c, "ZINCRBY z:i 1 m 2"), "ERR wrong number of arguments for 'zincrby' command",
		   "ZINCRBY is not variadic");
	run(c, "ZADD z:i 1.7976931348623157e308 max");
	expect_str(cmd(c, "ZSCORE z:i max"), "1.7976931348623157e+308", "DBL_MAX round-trips");
	expect_str(cmd(c, "OBJECT ENCODING z:i"), "listpack", "still a listpack");
	run(c, "DEL z:i");
}

static void test_ranges(redisContext *c)
{
	run(c, "DEL z:r");
	run(c, "ZADD z:r 1 a 2 b 3 c 4 d 5 e");
	expect_reply(cmd(c, "ZRANGE z:r 1 -2"), "['b','c','d']", "ZRANGE with a negative end");
	expect_reply(cmd(c, "ZRANGE z:r -100 100"), "['a','b','c','d','e']", "ZRANGE clamps");
	expect_empty_array(cmd(c, "ZRANGE z:r 3 1"), "ZRANGE with start after end");
	expect_empty_array(cmd(c, "ZRANGE z:none 0 -1"), "ZRANGE of a missing key");
	expect_reply(cmd(c, "ZRANGE z:r 0 1 REV WITHSCORES"), "['e','5','d','4']", "ZRANGE REV");
	expect_reply(cmd(c, "ZREVRANGE z:r 0 1"), "['e','d']", "ZREVRANGE");
	expect_reply(cmd(c, "ZRANGE z:r (1 3 BYSCORE"), "['b','c']", "ZRANGE BYSCORE exclusive min");
	expect_reply(cmd(c, "ZRANGE z:r +inf -inf BYSCORE REV LIMIT 1 2 WITHSCORES"),
		     "['d','4','c','3']", "ZRANGE BYSCORE REV LIMIT");
	expect_reply(cmd(c, "ZRANGEBYSCORE z:r -inf (3"), "['a','b']", "ZRANGEBYSCORE");
	expect_reply(cmd(c, "ZRANGEBYSCORE z:r 2 4 LIMIT 1 -1"), "['c','d']",
		     "ZRANGEBYSCORE with a negative count");
	expect_empty_array(cmd(c, "ZRANGEBYSCORE z:r 2 4 LIMIT -1 1"),
			   "ZRANGEBYSCORE with a negative offset");
	expect_empty_array(cmd(c, "ZRANGEBYSCORE z:r 2 4 LIMIT 10 1"),
			   "ZRANGEBYSCORE with an offset past the end");
	expect_reply(cmd(c, "ZREVRANGEBYSCORE z:r 4 (2 WITHSCORES"), "['d','4','c','3']",
		     "ZREVRANGEBYSCORE takes max first");
	expect_empty_array(cmd(c, "ZRANGEBYSCORE z:r (2 (2"), "an empty exclusive range");
	expect_err(cmd(c, "ZRANGEBYSCORE z:r a 1"), ERR_RANGE, "ZRANGEBYSCORE with a bad min");
	expect_err(cmd(c, "ZRANGEBYSCORE z:r 1 nan"), ERR_RANGE, "ZRANGEBYSCORE with a NaN max");
	expect_err(cmd(c, "ZRANGE z:r 0 -1 LIMIT 0 1"),
		   "ERR syntax error, LIMIT is only supported in combination with either BYSCORE "
		   "or BYLEX", "LIMIT needs BYSCORE or BYLEX");
	expect_err(cmd(c, "ZRANGE z:r - + BYLEX WITHSCORES"),
		   "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
		   "BYLEX with WITHSCORES");
	expect_err(cmd(c, "ZREVRANGE z:r 0 -1 BYSCORE"), ERR_SYNTAX, "ZREVRANGE takes no BYSCORE");
	expect_err(cmd(c, "ZRANGEBYSCORE z:r 0 1 REV"), ERR_SYNTAX, "ZRANGEBYSCORE takes no REV");
	expect_err(cmd(c, "ZRANGE z:r 0 x"), ERR_NOT_INT, "ZRANGE with a bad index");
	expect_err(cmd(c, "ZRANGE z:r 0 1 LIMIT x 1 BYSCORE"), ERR_NOT_INT, "LIMIT with a bad offset");
	expect_int(cmd(c, "ZCOUNT z:r (1 +inf"), 4, "ZCOUNT");
	expect_int(cmd(c, "ZCOUNT z:r 10 20"), 0, "ZCOUNT of an empty range");
	expect_int(cmd(c, "ZCOUNT z:none 0 1"), 0, "ZCOUNT of a missing key");
	expect_err(cmd(c, "ZCOUNT z:r x 1"), ERR_RANGE, "ZCOUNT with a bad bound");

	run(c, "DEL z:l");
	run(c, "ZADD z:l 0 alpha 0 bar 0 cool 0 down 0 elephant 0 foo");
	expect_reply(cmd(c, "ZRANGEBYLEX z:l - [cool"), "['alpha','bar','cool']", "ZRANGEBYLEX");
	expect_reply(cmd(c, "ZRANGEBYLEX z:l (bar (foo LIMIT 1 2"), "['down','elephant']",
		     "ZRANGEBYLEX LIMIT");
	expect_reply(cmd(c, "ZREVRANGEBYLEX z:l + (d"), "['foo','elephant','down']",
		     "ZREVRANGEBYLEX takes max first");
	expect_reply(cmd(c, "ZRANGE z:l [b [d BYLEX"), "['bar','cool']", "ZRANGE BYLEX");
	expect_reply(cmd(c, "ZRANGE z:l [d [b BYLEX REV"), "['cool','bar']", "ZRANGE BYLEX REV");
	expect_int(cmd(c, "ZLEXCOUNT z:l - +"), 6, "ZLEXCOUNT of everything");
	expect_int(cmd(c, "ZLEXCOUNT z:l (alpha [down"), 3, "ZLEXCOUNT");
	expect_int(cmd(c, "ZLEXCOUNT z:l + -"), 0, "ZLEXCOUNT of an inverted range");
	expect_err(cmd(c, "ZRANGEBYLEX z:l a +"), ERR_LEX, "a lex bound needs ( or [");
	expect_err(cmd(c, "ZLEXCOUNT z:l - +x"), ERR_LEX, "+ must stand alone");
	expect_err(cmd(c, "ZRANGEBYLEX z:l - + WITHSCORES"),
		   "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
		   "ZRANGEBYLEX WITHSCORES");
	run(c, "DEL z:r z:l");
}

static void test_remrange(redisContext *c)
{
	run(c, "DEL z:x");
	run(c, "ZADD z:x 1 a 2 b 3 c 4 d 5 e");
	expect_int(cmd(c, "ZREMRANGEBYRANK z:x 1 2"), 2, "ZREMRANGEBYRANK");
	expect_reply(cmd(c, "ZRANGE z:x 0 -1"), "['a','d','e']", "after ZREMRANGEBYRANK");
	expect_int(cmd(c, "ZREMRANGEBYRANK z:x 5 10"), 0, "ZREMRANGEBYRANK past the end");
	expect_int(cmd(c, "ZREMRANGEBYSCORE z:x (1 4"), 1, "ZREMRANGEBYSCORE");
	expect_err(cmd(c, "ZREMRANGEBYSCORE z:x x 1"), ERR_RANGE, "ZREMRANGEBYSCORE bad bound");
	expect_int(cmd(c, "ZREMRANGEBYRANK z:x 0 -1"), 2, "ZREMRANGEBYRANK of everything");
	expect_int(cmd(c, "EXISTS z:x"), 0, "the emptied key is gone");
	run(c, "ZADD z:x 0 m 0 n 0 o");
	expect_int(cmd(c, "ZREMRANGEBYLEX z:x [m (o"), 2, "ZREMRANGEBYLEX");
	expect_reply(cmd(c, "ZRANGE z:x 0 -1"), "['o']", "after ZREMRANGEBYLEX");
	expect_err(cmd(c, "ZREMRANGEBYLEX z:x m n"), ERR_LEX, "ZREMRANGEBYLEX bad bound");
	/* Lex ranges over mixed scores give what Redis's walk gives. */
	run(c, "ZADD z:x 0 m 1 a 5 e");
	expect_int(cmd(c, "ZREMRANGEBYLEX z:x [m [o"), 0,
		   "a listpack whose last member is below min deletes nothing");
	run(c, "DEL z:x");
	expect_int(cmd(c, "ZREMRANGEBYSCORE z:x -inf +inf"), 0, "ZREMRANGEBYSCORE of a missing key");
}

static void test_pops(redisContext *c)
{
	run(c, "DEL z:p z:q");
	run(c, "ZADD z:p 1 a 2 b 3 c 4 d 5 e");
	expect_reply(cmd(c, "ZPOPMIN z:p"), "['a','1']", "ZPOPMIN");
	expect_reply(cmd(c, "ZPOPMAX z:p 2"), "['e','5','d','4']", "ZPOPMAX with a count");
	expect_empty_array(cmd(c, "ZPOPMIN z:p 0"), "ZPOPMIN with count 0");
	expect_empty_array(cmd(c, "ZPOPMIN z:none"), "ZPOPMIN of a missing key");
	expect_err(cmd(c, "ZPOPMIN z:p -1"), "ERR value is out of range, must be positive",
		   "ZPOPMIN with a negative count");
	expect_err(cmd(c, "ZPOPMIN z:p 1 2"), ERR_SYNTAX, "ZPOPMIN with too many arguments");
	expect_reply(cmd(c, "ZPOPMIN z:p 10"), "['b','2','c','3']", "ZPOPMIN of more than there is");
	expect_int(cmd(c, "EXISTS z:p"), 0, "the emptied key is gone");

	run(c, "ZADD z:q 1 a 2 b 3 c");
	expect_reply(cmd(c, "ZMPOP 2 z:none z:q MAX"), "['z:q',[['c','3']]]", "ZMPOP");
	expect_reply(cmd(c, "ZMPOP 1 z:q MIN COUNT 5"), "['z:q',[['a','1'],['b','2']]]",
		     "ZMPOP with COUNT");
	expect_nil(cmd(c, "ZMPOP 1 z:q MIN"), "ZMPOP of missing keys is a null array");
	expect_err(cmd(c, "ZMPOP 0 z:q MIN"), "ERR numkeys should be greater than 0", "numkeys 0");
	expect_err(cmd(c, "ZMPOP x z:q MIN"), "ERR numkeys should be greater than 0", "numkeys x");
	expect_err(cmd(c, "ZMPOP 1 z:q LEFT"), ERR_SYNTAX, "ZMPOP with a bad where");
	expect_err(cmd(c, "ZMPOP 2 z:q MIN"), ERR_SYNTAX, "ZMPOP without room for where");
	expect_err(cmd(c, "ZMPOP 1 z:q MIN COUNT 0"), "ERR count should be greater than 0",
		   "ZMPOP COUNT 0");
	expect_err(cmd(c, "ZMPOP 1 z:q MIN COUNT 1 COUNT 2"), ERR_SYNTAX, "ZMPOP COUNT twice");
}

static void test_blocking_pops(const struct harness_server *srv, redisContext *c)
{
	redisContext *b = harness_connect(srv);
	redisReply *r = NULL;
	int64_t t0;

	run(c, "DEL z:bk z:bk2");
	t0 = harness_mono_ms();
	expect_nil(cmd(b, "BZPOPMIN z:bk 0.2"), "BZPOPMIN times out with a null array");
	check_int_range(harness_mono_ms() - t0, 150, 3000, "after about the timeout");
	expect_nil(cmd(b, "BZMPOP 0.1 1 z:bk MIN"), "BZMPOP times out with a null array");
	run(c, "ZADD z:bk 5 x 6 y");
	expect_reply(cmd(b, "BZPOPMAX z:bk 1"), "['z:bk','y','6']", "BZPOPMAX of a ready key");
	expect_reply(cmd(b, "BZMPOP 1 1 z:bk MIN COUNT 3"), "['z:bk',[['x','5']]]",
		     "BZMPOP of a ready key");
	expect_err(cmd(b, "BZPOPMIN z:bk -1"), "ERR timeout is negative", "a negative timeout");
	expect_err(cmd(b, "BZPOPMIN z:bk x"), "ERR timeout is not a float or out of range",
		   "a bad timeout");

	redisAppendCommand(b, "BZPOPMIN z:bk 5");
	redisBufferWrite(b, &(int){ 0 });
	harness_sleep_ms(200);
	run(c, "ZADD z:bk 3 w 1 v");
	if (redisGetReply(b, (void **)&r) != REDIS_OK)
		r = NULL;
	expect_reply(r, "['z:bk','v','1']", "a blocked BZPOPMIN is served by ZADD");
	expect_reply(cmd(c, "ZRANGE z:bk 0 -1"), "['w']", "it took the lowest member");

	run(c, "DEL z:bk");
	redisAppendCommand(b, "BZMPOP 5 2 {z}bk {z}bk2 MAX COUNT 2");
	redisBufferWrite(b, &(int){ 0 });
	harness_sleep_ms(200);
	run(c, "ZADD {z}bk2 1 a 2 b 3 c");
	if (redisGetReply(b, (void **)&r) != REDIS_OK)
		r = NULL;
	expect_reply(r, "['{z}bk2',[['c','3'],['b','2']]]", "a blocked BZMPOP is served by ZADD");

	run(c, "SET z:str x");
	expect_err(cmd(b, "BZPOPMIN z:str 1"), ERR_WRONGTYPE, "BZPOPMIN of a string");
	expect_err(cmd(b, "BZMPOP 1 1 z:str MIN"), ERR_WRONGTYPE, "BZMPOP of a string");
	expect_status(cmd(b, "MULTI"), "OK", "MULTI");
	expect_status(cmd(b, "BZPOPMIN z:none 0"), "QUEUED", "BZPOPMIN queued");
	expect_reply(cmd(b, "EXEC"), "[(nil)]", "BZPOPMIN in MULTI does not block");
	run(c, "DEL z:bk z:bk2 {z}bk {z}bk2 z:str");
	redisFree(b);
}

static void test_zrandmember(redisContext *c)
{
	redisReply *r;

	run(c, "DEL z:rm");
	run(c, "ZADD z:rm 1 a 2 b 3 c");
	r = cmd(c, "ZRANDMEMBER z:rm");
	check(r && r->type == REDIS_REPLY_STRING && r->len == 1 && strchr("abc", r->str[0]),
	      "ZRANDMEMBER returns a member");
	freeReplyObject(r);
	expect_nil(cmd(c, "ZRANDMEMBER z:none"), "ZRANDMEMBER of a missing key");
	expect_empty_array(cmd(c, "ZRANDMEMBER z:none 5"), "ZRANDMEMBER count of a missing key");
	expect_empty_array(cmd(c, "ZRANDMEMBER z:rm 0"), "ZRANDMEMBER count 0");
	r = cmd(c, "ZRANDMEMBER z:rm 5 WITHSCORES");
	check(r && r->type == REDIS_REPLY_ARRAY && r->elements == 6,
	      "a count above the size gives every member once, with scores");
	freeReplyObject(r);
	r = cmd(c, "ZRANDMEMBER z:rm 2");
	check(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	      strcmp(r->element[0]->str, r->element[1]->str) != 0,
	      "a positive count gives distinct members");
	freeReplyObject(r);
	r = cmd(c, "ZRANDMEMBER z:rm -10");
	check(r && r->type == REDIS_REPLY_ARRAY && r->elements == 10,
	      "a negative count may repeat members");
	freeReplyObject(r);
	expect_err(cmd(c, "ZRANDMEMBER z:rm 1 BOGUS"), ERR_SYNTAX, "ZRANDMEMBER bad option");
	expect_err(cmd(c, "ZRANDMEMBER z:rm -9223372036854770000 WITHSCORES"),
		   "ERR value is out of range", "ZRANDMEMBER count overflow with scores");
	expect_err(cmd(c, "ZRANDMEMBER z:rm -9223372036854775808"),
		   "ERR value is out of range, value must between -9223372036854775807 and "
		   "9223372036854775807", "ZRANDMEMBER count LLONG_MIN");
	run(c, "DEL z:rm");
}

static void test_algebra(redisContext *c)
{
	run(c, "DEL {a}z1 {a}z2 {a}s {a}d {a}str");
	run(c, "ZADD {a}z1 1 a 2 b 3 c");
	run(c, "ZADD {a}z2 1 b 2 c 3 d");
	run(c, "SADD {a}s a b c");
	expect_int(cmd(c, "ZUNIONSTORE {a}d 2 {a}z1 {a}z2"), 4, "ZUNIONSTORE");
	expect_reply(cmd(c, "ZRANGE {a}d 0 -1 WITHSCORES"), "['a','1','b','3','d','3','c','5']",
		     "the union sums scores");
	expect_reply(cmd(c, "ZUNION 2 {a}z1 {a}z2 WEIGHTS 2 3 WITHSCORES"),
		     "['a','2','b','7','d','9','c','12']", "ZUNION WEIGHTS");
	expect_reply(cmd(c, "ZUNION 2 {a}z1 {a}z2 AGGREGATE MAX WITHSCORES"),
		     "['a','1','b','2','c','3','d','3']", "ZUNION AGGREGATE MAX");
	expect_reply(cmd(c, "ZINTER 2 {a}z1 {a}z2 AGGREGATE MIN WITHSCORES"),
		     "['b','1','c','2']", "ZINTER AGGREGATE MIN");
	expect_int(cmd(c, "ZINTERSTORE {a}d 2 {a}s {a}z2 WEIGHTS 2 3"), 2,
		   "ZINTERSTORE with a plain set");
	expect_reply(cmd(c, "ZRANGE {a}d 0 -1 WITHSCORES"), "['b','5','c','8']",
		     "set members score 1");
	expect_reply(cmd(c, "ZDIFF 2 {a}z1 {a}z2 WITHSCORES"), "['a','1']", "ZDIFF");
	expect_int(cmd(c, "ZDIFFSTORE {a}d 2 {a}z1 {a}z1"), 0, "ZDIFFSTORE of a set minus itself");
	expect_int(cmd(c, "EXISTS {a}d"), 0, "an empty result deletes the destination");
	expect_int(cmd(c, "ZINTERCARD 2 {a}z1 {a}z2"), 2, "ZINTERCARD");
	expect_int(cmd(c, "ZINTERCARD 2 {a}z1 {a}z2 LIMIT 1"), 1, "ZINTERCARD LIMIT");
	expect_empty_array(cmd(c, "ZUNION 1 {a}none"), "ZUNION of a missing key");
	expect_int(cmd(c, "ZUNIONSTORE {a}d 1 {a}none"), 0, "ZUNIONSTORE of a missing key");
	expect_err(cmd(c, "ZUNION 0 {a}z1"), "ERR at least 1 input key is needed for 'zunion' command",
		   "ZUNION numkeys 0");
	expect_err(cmd(c, "ZINTERSTORE {a}d 0 {a}z1"),
		   "ERR at least 1 input key is needed for 'zinterstore' command",
		   "ZINTERSTORE numkeys 0");
	expect_err(cmd(c, "ZUNION 3 {a}z1 {a}z2"), ERR_SYNTAX, "numkeys above the keys given");
	expect_err(cmd(c, "ZUNION x {a}z1"), ERR_NOT_INT, "numkeys not a number");
	expect_err(cmd(c, "ZUNIONSTORE {a}d 1 {a}z1 WITHSCORES"), ERR_SYNTAX,
		   "STORE forms take no WITHSCORES");
	expect_err(cmd(c, "ZDIFF 2 {a}z1 {a}z2 WEIGHTS 1 2"), ERR_SYNTAX, "ZDIFF takes no WEIGHTS");
	expect_err(cmd(c, "ZUNION 2 {a}z1 {a}z2 WEIGHTS 1 nan"), "ERR weight value is not a float",
		   "a NaN weight");
	expect_err(cmd(c, "ZUNION 1 {a}z1 AGGREGATE AVG"), ERR_SYNTAX, "a bad AGGREGATE");
	expect_err(cmd(c, "ZINTERCARD 1 {a}z1 LIMIT -1"), "ERR LIMIT can't be negative",
		   "ZINTERCARD negative LIMIT");
	run(c, "SET {a}str x");
	expect_err(cmd(c, "ZUNION 2 {a}z1 {a}str"), ERR_WRONGTYPE, "ZUNION of a string");
	expect_err(cmd(c, "ZUNION 2 {a}str {a}z1 BOGUS"), ERR_WRONGTYPE,
		   "key types are checked before options");
	run(c, "ZADD {a}i1 +inf k");
	run(c, "ZADD {a}i2 -inf k");
	expect_reply(cmd(c, "ZUNION 2 {a}i1 {a}i2 WITHSCORES"), "['k','0']", "inf + -inf sums to 0");
	expect_reply(cmd(c, "COMMAND GETKEYS ZUNIONSTORE {a}d 2 {a}z1 {a}z2 WEIGHTS 1 2"),
		     "['{a}d','{a}z1','{a}z2']", "COMMAND GETKEYS of ZUNIONSTORE");
	expect_reply(cmd(c, "COMMAND GETKEYS ZMPOP 2 k1 k2 MIN"), "['k1','k2']",
		     "COMMAND GETKEYS of ZMPOP");
	run(c, "DEL {a}z1 {a}z2 {a}s {a}d {a}str {a}i1 {a}i2");
}

static void test_zrangestore(redisContext *c)
{
	run(c, "DEL {b}src {b}dst");
	run(c, "ZADD {b}src 1 a 2 b 3 c 4 d");
	expect_int(cmd(c, "ZRANGESTORE {b}dst {b}src 1 2"), 2, "ZRANGESTORE by rank");
	expect_reply(cmd(c, "ZRANGE {b}dst 0 -1 WITHSCORES"), "['b','2','c','3']", "stored range");
	expect_int(cmd(c, "ZRANGESTORE {b}dst {b}src 5 0 BYSCORE REV LIMIT 0 2"), 2,
		   "ZRANGESTORE BYSCORE REV LIMIT");
	expect_reply(cmd(c, "ZRANGE {b}dst 0 -1"), "['c','d']", "stored score range");
	expect_int(cmd(c, "ZRANGESTORE {b}dst {b}src [b [c BYLEX"), 2, "ZRANGESTORE BYLEX");
	expect_int(cmd(c, "ZRANGESTORE {b}dst {b}src 10 20"), 0, "ZRANGESTORE of an empty range");
	expect_int(cmd(c, "EXISTS {b}dst"), 0, "an empty range deletes the destination");
	expect_int(cmd(c, "ZRANGESTORE {b}dst {b}none 0 -1"), 0, "ZRANGESTORE of a missing key");
	expect_err(cmd(c, "ZRANGESTORE {b}dst {b}src 0 -1 WITHSCORES"), ERR_SYNTAX,
		   "ZRANGESTORE takes no WITHSCORES");
	expect_int(cmd(c, "ZRANGESTORE {b}src {b}src 0 1"), 2, "ZRANGESTORE onto its source");
	expect_reply(cmd(c, "ZRANGE {b}src 0 -1"), "['a','b']", "the source was replaced");
	run(c, "DEL {b}src {b}dst");
}

static void test_zscan(redisContext *c)
{
	redisReply *r;
	char cursor[32] = "0";
	int seen = 0, rounds = 0;

	run(c, "DEL z:s");
	run(c, "ZADD z:s 1 a 2.5 b 3 c");
	expect_reply(cmd(c, "ZSCAN z:s 0"), "['0',['a','1','b','2.5','c','3']]",
		     "ZSCAN of a listpack returns everything");
	expect_reply(cmd(c, "ZSCAN z:s 0 MATCH b*"), "['0',['b','2.5']]", "ZSCAN MATCH");
	expect_reply(cmd(c, "ZSCAN z:none 0 BOGUS"), "['0',[]]",
		     "ZSCAN of a missing key does not read options");
	expect_err(cmd(c, "ZSCAN z:s x"), "ERR invalid cursor", "ZSCAN with a bad cursor");
	expect_err(cmd(c, "ZSCAN z:s 0 COUNT 0"), ERR_SYNTAX, "ZSCAN COUNT 0");
	expect_err(cmd(c, "ZSCAN z:s 0 TYPE zset"), ERR_SYNTAX, "ZSCAN has no TYPE");
	set_entries(c, "0");
	run(c, "DEL z:s");
	for (int i = 0; i < 200; i++)
		run(c, "ZADD z:s %d m%d", i, i);
	set_entries(c, "128");
	do {
		r = cmd(c, "ZSCAN z:s %s COUNT 20", cursor);
		if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			check(false, "ZSCAN of a skiplist answers [cursor, items]");
			freeReplyObject(r);
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		seen += (int)r->element[1]->elements / 2;
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0 && ++rounds < 1000);
	check_int_range(seen, 200, 400, "a full ZSCAN of a skiplist visits every member");
	run(c, "DEL z:s");
}

static void test_wrongtype(redisContext *c)
{
	static const char *const cmds[] = {
		"ZADD z:w 1 a", "ZINCRBY z:w 1 a", "ZREM z:w a", "ZSCORE z:w a", "ZMSCORE z:w a",
		"ZCARD z:w", "ZCOUNT z:w 0 1", "ZLEXCOUNT z:w - +", "ZRANGE z:w 0 1",
		"ZRANK z:w a", "ZPOPMIN z:w", "ZMPOP 1 z:w MIN", "ZRANDMEMBER z:w",
		"ZREMRANGEBYRANK z:w 0 1", "ZSCAN z:w 0", "ZRANGESTORE z:d z:w 0 1",
	};

	run(c, "DEL z:w");
	run(c, "LPUSH z:w x");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		expect_err(cmd(c, cmds[i]), ERR_WRONGTYPE, "%s on a list", cmds[i]);
	expect_err(cmd(c, "ZADD z:w x a"), ERR_NOT_FLOAT, "ZADD parses scores before the type");
	run(c, "DEL z:w");
}

static void test_cross_shard(redisContext *c)
{
	char a[32], b[32], d[32];

	key_with_parity(a, sizeof(a), "zx:a", 0);
	key_with_parity(b, sizeof(b), "zx:b", 1);
	key_with_parity(d, sizeof(d), "zx:d", 1);
	harness_diag("cross-shard keys %s (slot %u), %s (slot %u), %s (slot %u)",
		     a, harness_key_slot(a, strlen(a)), b, harness_key_slot(b, strlen(b)), d, harness_key_slot(d, strlen(d)));
	run(c, "ZADD %s 1 x 2 y 3 z", a);
	run(c, "ZADD %s 10 y 20 w", b);
	expect_int(cmd(c, "ZUNIONSTORE %s 2 %s %s", d, a, b), 4, "ZUNIONSTORE across shards");
	expect_reply(cmd(c, "ZRANGE %s 0 -1 WITHSCORES", d), "['x','1','z','3','y','12','w','20']",
		     "the stored cross-shard union");
	expect_int(cmd(c, "ZINTERSTORE %s 2 %s %s WEIGHTS 1 0.5", a, a, b), 1,
		   "ZINTERSTORE into a source on another shard");
	expect_reply(cmd(c, "ZRANGE %s 0 -1 WITHSCORES", a), "['y','7']", "the stored intersection");
	expect_reply(cmd(c, "ZDIFF 2 %s %s WITHSCORES", d, b), "['x','1','z','3']",
		     "ZDIFF across shards");
	expect_int(cmd(c, "ZINTERCARD 2 %s %s", d, b), 2, "ZINTERCARD across shards");
	expect_int(cmd(c, "ZRANGESTORE %s %s 0 0", a, d), 1, "ZRANGESTORE across shards");
	expect_reply(cmd(c, "ZRANGE %s 0 -1", a), "['x']", "the stored cross-shard range");
	expect_int(cmd(c, "ZDIFFSTORE %s 2 %s %s", a, b, d), 0, "empty ZDIFFSTORE across shards");
	expect_int(cmd(c, "EXISTS %s", a), 0, "deleted the destination on the other shard");
	{
		char want[96];

		snprintf(want, sizeof(want), "['%s',[['w','20'],['y','10']]]", b);
		expect_reply(cmd(c, "ZMPOP 2 %s %s MAX COUNT 2", a, b), want, "ZMPOP across shards");
	}
	run(c, "DEL %s %s %s", a, b, d);
}

static void test_resp3_shapes(const struct harness_server *srv)
{
	struct harness_raw *raw = raw_connect(srv);
	char *hello;

	raw_send_str(raw, "HELLO 3\r\n");
	hello = raw_read_reply(raw, 5000, NULL);
	check(hello != NULL && hello[0] == '%', "HELLO 3 answers a map");
	free(hello);
	raw_send_str(raw, "DEL z:3\r\n");
	free(raw_read_reply(raw, 5000, NULL));
	raw_send_str(raw, "ZADD z:3 1 a 2.5 b\r\n");
	expect_raw_reply(raw, ":2\r\n", "ZADD in RESP3");
	raw_send_str(raw, "ZSCORE z:3 b\r\n");
	expect_raw_reply(raw, ",2.5\r\n", "ZSCORE is a double");
	raw_send_str(raw, "ZINCRBY z:3 1 a\r\n");
	expect_raw_reply(raw, ",2\r\n", "ZINCRBY is a double");
	raw_send_str(raw, "ZRANGE z:3 0 -1 WITHSCORES\r\n");
	expect_raw_reply(raw, "*2\r\n*2\r\n$1\r\na\r\n,2\r\n*2\r\n$1\r\nb\r\n,2.5\r\n",
			 "ZRANGE WITHSCORES gives pairs");
	raw_send_str(raw, "ZRANGE z:3 0 -1\r\n");
	expect_raw_reply(raw, "*2\r\n$1\r\na\r\n$1\r\nb\r\n", "ZRANGE without scores is flat");
	raw_send_str(raw, "ZUNION 1 z:3 WITHSCORES\r\n");
	expect_raw_reply(raw, "*2\r\n*2\r\n$1\r\na\r\n,2\r\n*2\r\n$1\r\nb\r\n,2.5\r\n",
			 "ZUNION WITHSCORES gives pairs");
	raw_send_str(raw, "ZRANDMEMBER z:3 -1 WITHSCORES\r\n");
	{
		char *rep = raw_read_reply(raw, 5000, NULL);

		check(rep && strncmp(rep, "*1\r\n*2\r\n$1\r\n", 12) == 0,
		      "ZRANDMEMBER WITHSCORES gives pairs");
		free(rep);
	}
	raw_send_str(raw, "ZSCORE z:3 nope\r\n");
	expect_raw_reply(raw, "_\r\n", "a missing score is a RESP3 null");
	raw_send_str(raw, "ZMPOP 1 z:none MIN\r\n");
	expect_raw_reply(raw, "_\r\n", "ZMPOP of nothing is a RESP3 null");
	raw_send_str(raw, "ZPOPMIN z:3\r\n");
	expect_raw_reply(raw, "*2\r\n$1\r\na\r\n,2\r\n", "ZPOPMIN without count stays flat");
	raw_send_str(raw, "ZADD z:3 1 a\r\n");
	free(raw_read_reply(raw, 5000, NULL));
	raw_send_str(raw, "ZPOPMAX z:3 1\r\n");
	expect_raw_reply(raw, "*1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n", "ZPOPMAX with count gives pairs");
	raw_send_str(raw, "BZPOPMIN z:3 1\r\n");
	expect_raw_reply(raw, "*3\r\n$3\r\nz:3\r\n$1\r\na\r\n,1\r\n", "BZPOPMIN stays flat");
	raw_send_str(raw, "BZPOPMIN z:3 0.01\r\n");
	expect_raw_reply(raw, "_\r\n", "BZPOPMIN timeout is a RESP3 null");
	raw_send_str(raw, "ZADD z:3 +inf i\r\n");
	free(raw_read_reply(raw, 5000, NULL));
	raw_send_str(raw, "ZSCORE z:3 i\r\n");
	expect_raw_reply(raw, ",inf\r\n", "an infinite RESP3 double");
	raw_send_str(raw, "DEL z:3\r\n");
	free(raw_read_reply(raw, 5000, NULL));
	raw_close(raw);
}

int main(void)
{
	struct harness_server *srv;
	redisContext *c;

	harness_init("test_zset: sorted set commands");
	srv = harness_server_start("--shards", "2");
	c = harness_connect(srv);
	expect_status(cmd(c, "FLUSHALL"), "OK", "FLUSHALL before the tests");

	test_basics_of_both_encodings(c);
	test_encoding_conversions(c);
	test_zadd_options(c);
	test_zincrby_and_score_format(c);
	test_ranges(c);
	test_remrange(c);
	test_pops(c);
	test_blocking_pops(srv, c);
	test_zrandmember(c);
	test_algebra(c);
	test_zrangestore(c);
	test_zscan(c);
	test_wrongtype(c);
	test_cross_shard(c);
	test_resp3_shapes(srv);

	expect_status(cmd(c, "FLUSHALL"), "OK", "FLUSHALL after the tests");
	redisFree(c);
	harness_server_stop(srv);
	return harness_done();
}
