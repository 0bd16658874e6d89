/*
 * test_sort.c - SORT and SORT_RO with the exact replies of redis-server 7.0:
 * numeric and ALPHA order, ASC/DESC, LIMIT (clamping, huge and negative
 * values), BY patterns (string keys, hash fields, missing weights, BY
 * nosort on lists, sets and sorted sets), GET patterns (#, keys, hash
 * fields, missing values, several at once), STORE (count, replacement,
 * deletion on an empty result, TTL dropped, onto the sorted key itself),
 * the weight-parsing rules and their error, WRONGTYPE and syntax errors,
 * COMMAND GETKEYS and COMMAND INFO, RESP3 nulls, MULTI, WATCH, and a BLPOP
 * woken by SORT ... STORE.
 *
 * Everything runs against servers with "--shards 1", "2" and "4" (once
 * against redis-server, which has no shards): BY and GET keys are spread
 * over every shard, and the BLPOP test uses a destination key of each slot
 * parity so that it lives on another shard than the sorted key.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR_SYNTAX "ERR syntax error"
#define ERR_NOT_INT "ERR value is not an integer or out of range"
#define ERR_WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"
#define ERR_DOUBLE "ERR One or more scores can't be converted into double"

static struct harness_server *srv;

/* Writes into buf the first "<prefix><n>" (no hash tag) whose slot has the
 * given parity. */
static void key_with_parity(char *buf, size_t cap, const char *prefix, unsigned parity)
{
	harness_pick_key(buf, cap, prefix, "", 2, parity);
}

static void expect_list(redisContext *c, const char *key, const char *repr, const char *what)
{
	expect_reply(cmd(c, "LRANGE %s 0 -1", key), repr, "%s: %s is %s", what, key, repr);
}

/* ---- plain order ---- */

static void test_numeric_and_alpha(redisContext *c)
{
	run(c, "DEL s:l");
	run(c, "RPUSH s:l 3 1 2 10 -5 2.5");
	expect_reply(cmd(c, "SORT s:l"), "['-5','1','2','2.5','3','10']",
		     "SORT orders a list numerically");
	expect_reply(cmd(c, "SORT s:l DESC"), "['10','3','2.5','2','1','-5']", "SORT DESC");
	expect_reply(cmd(c, "SORT s:l ASC DESC ASC"), "['-5','1','2','2.5','3','10']",
		     "the last of ASC/DESC wins");
	expect_reply(cmd(c, "SORT s:l ALPHA"), "['-5','1','10','2','2.5','3']",
		     "SORT ALPHA orders the bytes");
	expect_reply(cmd(c, "SORT s:l alpha desc"), "['3','2.5','2','10','1','-5']",
		     "options are case-insensitive");
	expect_reply(cmd(c, "SORT_RO s:l DESC"), "['10','3','2.5','2','1','-5']",
		     "SORT_RO sorts the same way");
	expect_reply(cmd(c, "SORT s:missing"), "[]", "SORT of a missing key is an empty array");
	expect_reply(cmd(c, "SORT_RO s:missing ALPHA LIMIT 0 5"), "[]",
		     "SORT_RO of a missing key is an empty array");

	run(c, "DEL s:al");
	run(c, "RPUSH s:al B a C %s ab z", "a b");
	expect_reply(cmd(c, "SORT s:al ALPHA"), "['B','C','a','a b','ab','z']",
		     "ALPHA compares bytes, upper case first");

	run(c, "DEL s:ints");
	run(c, "LPUSH s:ints 2 1 3 10");
	expect_reply(cmd(c, "SORT s:ints ALPHA"), "['1','10','2','3']",
		     "ALPHA against integer-encoded elements");

	run(c, "DEL s:set s:hset");
	run(c, "SADD s:set 5 3 9 1 -7");
	expect_reply(cmd(c, "SORT s:set"), "['-7','1','3','5','9']", "SORT of an intset");
	expect_reply(cmd(c, "SORT s:set DESC LIMIT 1 2"), "['5','3']", "SORT of a set, DESC LIMIT");
	run(c, "SADD s:hset b a c 10 2");
	expect_reply(cmd(c, "SORT s:hset ALPHA"), "['10','2','a','b','c']",
		     "SORT ALPHA of a hashtable set");
	expect_err(cmd(c, "SORT s:hset"), ERR_DOUBLE, "numeric SORT of a set with words");

	run(c, "DEL s:z");
	run(c, "ZADD s:z 1 a 5 b 2 c 10 d 3 e");
	expect_reply(cmd(c, "SORT s:z ALPHA DESC"), "['e','d','c','b','a']",
		     "SORT ALPHA of a sorted set ignores scores");
	expect_str(cmd(c, "OBJECT ENCODING s:z"), "skiplist",
		   "SORT converts a sorted set to a skiplist, as Redis does");
	run(c, "DEL s:zn");
	run(c, "ZADD s:zn 1 30 2 20 3 10");
	expect_reply(cmd(c, "SORT s:zn"), "['10','20','30']", "numeric SORT of sorted set members");
}

static void test_limit(redisContext *c)
{
	run(c, "DEL s:lim");
	run(c, "RPUSH s:lim 3 1 2 5 4");
	expect_reply(cmd(c, "SORT s:lim LIMIT 1 2"), "['2','3']", "LIMIT offset count");
	expect_reply(cmd(c, "SORT s:lim LIMIT 0 0"), "[]", "LIMIT count 0 is empty");
	expect_reply(cmd(c, "SORT s:lim LIMIT -3 2"), "['1','2']", "a negative offset is 0");
	expect_reply(cmd(c, "SORT s:lim LIMIT 2 -1"), "['3','4','5']",
		     "a negative count means all the rest");
	expect_reply(cmd(c, "SORT s:lim LIMIT 2 -100"), "['3','4','5']",
		     "any negative count means all the rest");
	expect_reply(cmd(c, "SORT s:lim LIMIT 4 10"), "['5']", "a count past the end is cut");
	expect_reply(cmd(c, "SORT s:lim LIMIT 5 1"), "[]", "an offset at the end is empty");
	expect_reply(cmd(c, "SORT s:lim LIMIT 100 1"), "[]", "an offset past the end is empty");
	expect_reply(cmd(c, "SORT s:lim LIMIT 2 9223372036854775807"), "['3','4','5']",
		     "a huge count does not overflow");
	expect_reply(cmd(c, "SORT s:lim LIMIT 9223372036854775807 9223372036854775807"), "[]",
		     "a huge offset is empty");
	expect_reply(cmd(c, "SORT s:lim LIMIT -9223372036854775808 -9223372036854775808"),
		     "['1','2','3','4','5']", "the smallest offset and count mean everything");
	expect_reply(cmd(c, "SORT s:lim DESC LIMIT 1 2"), "['4','3']", "LIMIT applies after DESC");
	expect_reply(cmd(c, "SORT s:lim LIMIT 0 1 LIMIT 3 1"), "['4']", "the last LIMIT wins");
	expect_err(cmd(c, "SORT s:lim LIMIT a 1"), ERR_NOT_INT, "a non-integer offset");
	expect_err(cmd(c, "SORT s:lim LIMIT 1 1.5"), ERR_NOT_INT, "a non-integer count");
	expect_err(cmd(c, "SORT s:lim LIMIT 1"), ERR_SYNTAX, "LIMIT with one argument");
	expect_err(cmd(c, "SORT s:lim LIMIT"), ERR_SYNTAX, "LIMIT with no argument");
	expect_err(cmd(c, "SORT s:missing LIMIT x 1"), ERR_NOT_INT,
		   "LIMIT is checked even for a missing key");
}

/* ---- BY nosort ---- */

static void test_nosort(redisContext *c)
{
	run(c, "DEL s:ns");
	run(c, "LPUSH s:ns 2 1 4 3 5");
	expect_reply(cmd(c, "SORT s:ns BY nosort"), "['5','3','4','1','2']",
		     "BY nosort keeps a list's order");
	expect_reply(cmd(c, "SORT s:ns BY nosort DESC"), "['2','1','4','3','5']",
		     "BY nosort DESC walks a list backwards");
	expect_reply(cmd(c, "SORT s:ns BY nosort LIMIT 1 3"), "['3','4','1']",
		     "BY nosort LIMIT takes a range of the list");
	expect_reply(cmd(c, "SORT s:ns BY nosort DESC LIMIT 1 3"), "['1','4','3']",
		     "BY nosort DESC LIMIT counts from the tail");
	expect_reply(cmd(c, "SORT s:ns BY nosort DESC LIMIT 4 3"), "['5']",
		     "BY nosort DESC LIMIT to the head");
	expect_reply(cmd(c, "SORT s:ns BY nosort LIMIT 5 3"), "[]", "BY nosort LIMIT past the end");
	expect_reply(cmd(c, "SORT s:ns BY nosort ALPHA"), "['5','3','4','1','2']",
		     "BY nosort ignores ALPHA");
	run(c, "SET s:ns_w 1");
	expect_reply(cmd(c, "SORT s:ns BY nosort BY s:ns_*"), "['5','3','4','1','2']",
		     "a later BY with a '*' does not undo nosort");
	run(c, "DEL s:ns_w");

	run(c, "DEL s:bad");
	run(c, "RPUSH s:bad 1 abc");
	expect_reply(cmd(c, "SORT s:bad BY nosort"), "['1','abc']",
		     "BY nosort reads no weights, so words are fine");

	run(c, "DEL s:zs");
	run(c, "ZADD s:zs 1 a 5 b 2 c 10 d 3 e");
	expect_reply(cmd(c, "SORT s:zs BY nosort"), "['a','c','e','b','d']",
		     "BY nosort keeps a sorted set's order");
	expect_reply(cmd(c, "SORT s:zs BY nosort DESC"), "['d','b','e','c','a']",
		     "BY nosort DESC reverses a sorted set");
	expect_reply(cmd(c, "SORT s:zs BY nosort ASC LIMIT 0 1"), "['a']", "zset nosort LIMIT 0 1");
	expect_reply(cmd(c, "SORT s:zs BY nosort DESC LIMIT 0 1"), "['d']",
		     "zset nosort DESC LIMIT 0 1");
	expect_reply(cmd(c, "SORT s:zs BY nosort ASC LIMIT 0 2"), "['a','c']",
		     "zset nosort LIMIT 0 2");
	expect_reply(cmd(c, "SORT s:zs BY nosort DESC LIMIT 0 2"), "['d','b']",
		     "zset nosort DESC LIMIT 0 2");
	expect_reply(cmd(c, "SORT s:zs BY nosort DESC LIMIT 1 2"), "['b','e']",
		     "zset nosort DESC LIMIT 1 2");
	expect_reply(cmd(c, "SORT s:zs BY nosort LIMIT 2 2"), "['e','b']", "zset nosort LIMIT 2 2");
	expect_reply(cmd(c, "SORT s:zs BY nosort LIMIT 5 10"), "[]", "zset nosort LIMIT past the end");
	expect_reply(cmd(c, "SORT s:zs BY nosort LIMIT -10 100"), "['a','c','e','b','d']",
		     "zset nosort LIMIT covering everything");
	expect_reply(cmd(c, "SORT_RO s:zs BY nosort GET #"), "['a','c','e','b','d']",
		     "SORT_RO BY nosort GET #");

	/* A set has no order to keep: stored, it is sorted ALPHA. */
	run(c, "DEL s:nset s:nset_dst");
	run(c, "SADD s:nset a b c d e f g h i l m n o p q r s t u v z aa aaa azz");
	expect_int(cmd(c, "SORT s:nset ALPHA BY _ STORE s:nset_dst"), 24,
		   "SORT of a set BY a constant STORE counts");
	expect_list(c, "s:nset_dst", "['a','aa','aaa','azz','b','c','d','e','f','g','h','i','l',"
		    "'m','n','o','p','q','r','s','t','u','v','z']",
		    "a set stored BY a constant is sorted ALPHA");
	run(c, "DEL s:nset2");
	run(c, "SADD s:nset2 10 9 x");
	expect_int(cmd(c, "SORT s:nset2 BY nosort STORE s:nset_dst"), 3,
		   "a set of words BY nosort STORE is not sorted numerically");
	expect_list(c, "s:nset_dst", "['10','9','x']", "it is sorted ALPHA");
	expect_int(cmd(c, "SORT s:nset2 BY nosort LIMIT 1 1 STORE s:nset_dst"), 1,
		   "LIMIT applies to the sorted set result");
	expect_list(c, "s:nset_dst", "['9']", "the second element in ALPHA order");
	expect_reply(cmd(c, "SORT s:nset2 BY nosort LIMIT 0 0"), "[]", "a set BY nosort LIMIT 0 0");
	{
		redisReply *r = cmd(c, "SORT s:nset2 BY nosort");

		check(r && r->type == REDIS_REPLY_ARRAY && r->elements == 3,
		      "a set BY nosort without STORE gives every member (in no set order)");
		freeReplyObject(r);
	}
}

/* ---- BY and GET patterns ---- */

static void test_by_pattern(redisContext *c)
{
	run(c, "DEL s:p");
	run(c, "RPUSH s:p 3 1 2 4");
	run(c, "MSET s:w_3 30 s:w_1 10 s:w_2 -20 s:w_4 1e1");
	expect_reply(cmd(c, "SORT s:p BY s:w_*"), "['2','1','4','3']",
		     "BY orders by the weights, equal weights by the elements");
	expect_reply(cmd(c, "SORT s:p BY s:w_* DESC"), "['3','4','1','2']", "BY DESC");
	expect_reply(cmd(c, "SORT s:p BY s:w_* LIMIT 1 2"), "['1','4']", "BY with LIMIT");
	expect_reply(cmd(c, "SORT s:p BY s:w_* ALPHA"), "['2','1','4','3']",
		     "BY ALPHA compares the weights as strings");
	expect_reply(cmd(c, "SORT s:p BY s:nokey_*"), "['1','2','3','4']",
		     "missing weights are 0: the elements decide");
	expect_reply(cmd(c, "SORT s:p BY s:nokey_* DESC"), "['4','3','2','1']",
		     "missing weights DESC");

	/* ALPHA BY with some weights missing: those sort first, in their
	 * original order (the sort is stable). */
	run(c, "DEL s:pa s:o_1 s:o_2 s:o_3");
	run(c, "RPUSH s:pa 3 1 2 4");
	run(c, "HSET s:o_1 f b");
	run(c, "HSET s:o_4 f a");
	expect_reply(cmd(c, "SORT s:pa BY s:o_*->f ALPHA"), "['3','2','4','1']",
		     "ALPHA BY a hash field, missing weights first in list order");
	expect_reply(cmd(c, "SORT s:pa BY s:o_*->f ALPHA DESC"), "['1','4','3','2']",
		     "ALPHA BY DESC puts missing weights last, still in list order");
	expect_reply(cmd(c, "SORT s:pa BY s:o_*->nofield ALPHA"), "['3','1','2','4']",
		     "ALPHA BY with every weight missing keeps the list order");
	run(c, "HSET s:o_2 f 5");
	run(c, "HSET s:o_3 f 7");
	run(c, "HSET s:o_1 f 1");
	run(c, "HSET s:o_4 f 6");
	expect_reply(cmd(c, "SORT s:pa BY s:o_*->f"), "['1','2','4','3']",
		     "numeric BY a hash field");
	expect_reply(cmd(c, "SORT s:pa BY s:w_*->f"), "['1','2','3','4']",
		     "BY ->field on string keys finds nothing");
	expect_reply(cmd(c, "SORT s:pa BY s:o_*"), "['1','2','3','4']",
		     "BY a string pattern on hash keys finds nothing");

	/* "*" alone: the element is the key. */
	run(c, "DEL s:star s:k1 s:k2");
	run(c, "RPUSH s:star s:k1 s:k2");
	run(c, "MSET s:k1 2 s:k2 1");
	expect_reply(cmd(c, "SORT s:star BY *"), "['s:k2','s:k1']", "BY * weighs by the element's key");
	expect_reply(cmd(c, "SORT s:star BY * GET *"), "['1','2']", "GET * reads the element's key");

	/* Equal weights: sub-sorted by the elements' bytes. */
	run(c, "DEL s:eq");
	run(c, "SADD s:eq a b c d aa aaa azz");
	expect_reply(cmd(c, "SORT s:eq BY s:score_*"), "['a','aa','aaa','azz','b','c','d']",
		     "equal (missing) weights sort the elements lexicographically");

	/* A pattern ending in "->" has no field: the key includes it. */
	run(c, "DEL s:arrow");
	run(c, "RPUSH s:arrow a");
	run(c, "SET s:x:a-> 100");
	expect_reply(cmd(c, "SORT s:arrow BY num GET s:x:*->"), "['100']",
		     "GET with a pattern ending in -> reads a string key");
	expect_reply(cmd(c, "SORT_RO s:arrow BY nosort GET s:x:*->"), "['100']",
		     "SORT_RO GET with a pattern ending in ->");
}

static void test_get_pattern(redisContext *c)
{
	run(c, "DEL s:g");
	run(c, "RPUSH s:g 3 1 2");
	run(c, "MSET s:gw_1 one s:gw_2 two s:gw_3 three");
	run(c, "HSET s:gh_1 f x");
	run(c, "HSET s:gh_3 f z");
	expect_reply(cmd(c, "SORT s:g GET #"), "['1','2','3']", "GET # gives the elements");
	expect_reply(cmd(c, "SORT s:g GET s:gw_*"), "['one','two','three']", "GET a string pattern");
	expect_reply(cmd(c, "SORT s:g GET # GET s:gw_* GET s:gh_*->f GET s:nope GET s:gh_*"),
		     "['1','one','x',(nil),(nil),'2','two',(nil),(nil),(nil),'3','three','z',(nil),(nil)]",
		     "several GETs, missing values and wrong types are nil");
	expect_reply(cmd(c, "SORT s:g GET constant"), "[(nil),(nil),(nil)]",
		     "GET without '*' finds nothing");
	expect_reply(cmd(c, "SORT s:g DESC LIMIT 0 2 GET s:gw_*"), "['three','two']",
		     "GET after DESC and LIMIT");
	expect_reply(cmd(c, "SORT s:g BY s:gw_* ALPHA GET #"), "['1','3','2']",
		     "BY ALPHA on words, GET #");
	expect_reply(cmd(c, "SORT s:missing GET #"), "[]", "GET on a missing key");
	expect_err(cmd(c, "SORT s:g GET"), ERR_SYNTAX, "GET without a pattern");
	expect_err(cmd(c, "SORT s:g BY"), ERR_SYNTAX, "BY without a pattern");
}

/* ---- weights ---- */

static void test_weight_parsing(redisContext *c)
{
	run(c, "DEL s:e");
	run(c, "RPUSH s:e %s %s 0x10 1e3 -inf 2", "", " 1");
	expect_reply(cmd(c, "SORT s:e"), "['-inf','',' 1','2','0x10','1e3']",
		     "weights are read by strtod: '' is 0, spaces and hex are fine");
	run(c, "DEL s:e2");
	run(c, "RPUSH s:e2 1 abc");
	expect_err(cmd(c, "SORT s:e2"), ERR_DOUBLE, "a word is not a number");
	expect_err(cmd(c, "SORT s:e2 DESC LIMIT 0 1"), ERR_DOUBLE, "even outside the LIMIT");
	expect_reply(cmd(c, "SORT s:e2 ALPHA"), "['1','abc']", "ALPHA reads no numbers");
	run(c, "DEL s:e4");
	run(c, "RPUSH s:e4 nan");
	expect_err(cmd(c, "SORT s:e4"), ERR_DOUBLE, "nan");
	run(c, "DEL s:e5");
	run(c, "RPUSH s:e5 %s", "1 ");
	expect_err(cmd(c, "SORT s:e5"), ERR_DOUBLE, "a trailing space");

	run(c, "DEL s:ew");
	run(c, "SADD s:ew 1 2 3 4");
	run(c, "MSET s:ew_1 10 s:ew_2 20 s:ew_3 30 s:ew_4 not-a-double");
	expect_err(cmd(c, "SORT s:ew BY s:ew_*"), ERR_DOUBLE, "a BY weight that is not a number");
	expect_err(cmd(c, "SORT s:ew BY s:ew_* STORE s:ew_dst"), ERR_DOUBLE,
		   "a BY weight that is not a number, with STORE");
	expect_int(cmd(c, "EXISTS s:ew_dst"), 0, "nothing is stored then");
	expect_reply(cmd(c, "SORT s:ew BY s:ew_* ALPHA"), "['1','2','3','4']",
		     "ALPHA BY reads no numbers");
}

/*
 * A weight out of a double's range. Run last: redis-server 7.0 does not
 * clear errno before strtod(3), so after this ERANGE every numeric SORT of
 * non-integer strings fails there until errno happens to change.
 */
static void test_weight_out_of_range(redisContext *c)
{
	run(c, "DEL s:e3");
	run(c, "RPUSH s:e3 1e400");
	expect_err(cmd(c, "SORT s:e3"), ERR_DOUBLE, "an overflowing number");
	run(c, "DEL s:e6");
	run(c, "RPUSH s:e6 1e-400");
	expect_err(cmd(c, "SORT s:e6"), ERR_DOUBLE, "an underflowing number");
}

/* A regression of Redis's issue #19: floats sort as numbers. */
static void test_floats(redisContext *c)
{
	run(c, "DEL s:f");
	run(c, "LPUSH s:f 1.1 5.10 3.10 7.44 2.1 5.75 6.12 0.25 1.15");
	expect_reply(cmd(c, "SORT s:f"), "['0.25','1.1','1.15','2.1','3.10','5.10','5.75','6.12','7.44']",
		     "floats sort numerically");
}

/* Elements with a NUL: replies compare as C strings (up to the NUL, ties
 * keep their order), STORE compares every byte. */
static void test_binary(redisContext *c)
{
	static const char a[] = "a\0c", b[] = "a\0b";

	run(c, "DEL s:bin s:bin_dst");
	run(c, "RPUSH s:bin %b %b", a, sizeof(a) - 1, b, sizeof(b) - 1);
	expect_reply(cmd(c, "SORT s:bin ALPHA"), "['a\\x00c','a\\x00b']",
		     "ALPHA compares up to a NUL, so these tie and keep their order");
	expect_int(cmd(c, "SORT s:bin ALPHA STORE s:bin_dst"), 2, "ALPHA STORE");
	expect_list(c, "s:bin_dst", "['a\\x00b','a\\x00c']", "ALPHA STORE compares every byte");
	run(c, "DEL s:binn");
	run(c, "RPUSH s:binn %b 1", "2\0x", (size_t)3);
	expect_reply(cmd(c, "SORT s:binn"), "['1','2\\x00x']",
		     "a weight is read up to its NUL");
}

/* ---- STORE ---- */

static void test_store(redisContext *c)
{
	run(c, "DEL s:st s:dst");
	run(c, "RPUSH s:st 3 1 2");
	expect_int(cmd(c, "SORT s:st STORE s:dst"), 3, "STORE answers the number of elements");
	expect_list(c, "s:dst", "['1','2','3']", "STORE writes a list");
	expect_str(cmd(c, "OBJECT ENCODING s:dst"), "quicklist", "the stored list is a quicklist");
	expect_int(cmd(c, "SORT s:st DESC LIMIT 0 2 STORE s:dst"), 2, "STORE replaces the list");
	expect_list(c, "s:dst", "['3','2']", "replaced");
	run(c, "SET s:dst string");
	run(c, "EXPIRE s:dst 100");
	expect_int(cmd(c, "SORT s:st STORE s:dst"), 3, "STORE over a string with a TTL");
	expect_status(cmd(c, "TYPE s:dst"), "list", "it is a list now");
	expect_int(cmd(c, "TTL s:dst"), -1, "and the TTL is gone");
	expect_int(cmd(c, "SORT s:st STORE s:other STORE s:dst2"), 3, "the last STORE wins");
	expect_int(cmd(c, "EXISTS s:other"), 0, "the first STORE key is untouched");
	expect_list(c, "s:dst2", "['1','2','3']", "the last STORE key got the result");

	run(c, "MSET s:sw_1 one s:sw_3 three");
	expect_int(cmd(c, "SORT s:st GET # GET s:sw_* STORE s:dst"), 6,
		   "STORE with GETs counts every value");
	expect_list(c, "s:dst", "['1','one','2','','3','three']",
		    "a missing GET value is stored as an empty string");

	expect_int(cmd(c, "SORT s:missing STORE s:dst"), 0,
		   "STORE of an empty result answers 0");
	expect_int(cmd(c, "EXISTS s:dst"), 0, "and deletes the destination");
	expect_int(cmd(c, "SORT s:missing STORE s:dst"), 0, "again, with nothing to delete");
	expect_int(cmd(c, "SORT s:st ALPHA LIMIT 10 10 STORE s:dst"), 0,
		   "a LIMIT past the end stores nothing");
	expect_int(cmd(c, "EXISTS s:dst"), 0, "and creates no empty list");

	run(c, "DEL s:self");
	run(c, "RPUSH s:self 3 1 2");
	expect_int(cmd(c, "SORT s:self STORE s:self"), 3, "SORT onto the sorted key itself");
	expect_list(c, "s:self", "['1','2','3']", "the key now holds its sorted elements");
	run(c, "DEL s:zself");
	run(c, "ZADD s:zself 1 b 2 a");
	expect_int(cmd(c, "SORT s:zself BY nosort STORE s:zself"), 2,
		   "a sorted set stored over itself");
	expect_list(c, "s:zself", "['b','a']", "it is a list in score order");

	run(c, "DEL s:nl s:nl_dst");
	run(c, "LPUSH s:nl 2 1 4 3 5");
	expect_int(cmd(c, "SORT s:nl BY nosort STORE s:nl_dst"), 5, "BY nosort STORE of a list");
	expect_list(c, "s:nl_dst", "['5','3','4','1','2']", "keeps the list's order");
	expect_int(cmd(c, "SORT s:nl BY nosort LIMIT 0 3 STORE s:nl_dst"), 3,
		   "BY nosort LIMIT STORE");
	expect_list(c, "s:nl_dst", "['5','3','4']", "a range of the list's order");

	expect_err(cmd(c, "SORT_RO s:st STORE s:dst"), ERR_SYNTAX, "SORT_RO knows no STORE");
	expect_err(cmd(c, "SORT s:st STORE"), ERR_SYNTAX, "STORE without a key");
	expect_int(cmd(c, "EXISTS s:dst"), 0, "refused commands store nothing");
	run(c, "DEL s:word");
	run(c, "RPUSH s:word 1 abc");
	expect_err(cmd(c, "SORT s:word STORE s:dst"), ERR_DOUBLE,
		   "a conversion error with STORE stores nothing");
	expect_int(cmd(c, "EXISTS s:dst"), 0, "the destination is untouched");
}

/* ---- errors ---- */

static void test_errors(redisContext *c)
{
	run(c, "SET s:str x");
	run(c, "HSET s:hash f v");
	expect_err(cmd(c, "SORT s:str"), ERR_WRONGTYPE, "SORT of a string");
	expect_err(cmd(c, "SORT_RO s:str"), ERR_WRONGTYPE, "SORT_RO of a string");
	expect_err(cmd(c, "SORT s:hash ALPHA"), ERR_WRONGTYPE, "SORT of a hash");
	expect_err(cmd(c, "SORT s:str LIMIT x 1"), ERR_NOT_INT, "options are parsed before the type");
	expect_err(cmd(c, "SORT s:str FOO"), ERR_SYNTAX, "an unknown option before the type");
	expect_err(cmd(c, "SORT s:st FOO"), ERR_SYNTAX, "an unknown option");
	expect_err(cmd(c, "SORT"), "ERR wrong number of arguments for 'sort' command",
		   "SORT without a key");
	expect_err(cmd(c, "SORT_RO"), "ERR wrong number of arguments for 'sort_ro' command",
		   "SORT_RO without a key");
	expect_err(cmd(c, "SORT s:str STORE s:dst"), ERR_WRONGTYPE, "STORE from a string");
	expect_int(cmd(c, "EXISTS s:dst"), 0, "stores nothing");
}

/* ---- the command table ---- */

/* The flags (element 2) and ACL categories (element 6) of COMMAND INFO. */
static void check_info(redisContext *c, const char *name, const char *flags, const char *acl)
{
	redisReply *r = cmd(c, "COMMAND INFO %s", name);
	redisReply *ci = r && r->type == REDIS_REPLY_ARRAY && r->elements == 1 ? r->element[0] : NULL;
	char *got;

	if (!check(ci && ci->type == REDIS_REPLY_ARRAY && ci->elements >= 7,
		   "COMMAND INFO %s has a command entry", name)) {
		freeReplyObject(r);
		return;
	}
	check_int(ci->element[1]->integer, -2, "%s arity", name);
	got = harness_repr(ci->element[2]);
	check_str(got, flags, "%s flags", name);
	free(got);
	check_int(ci->element[3]->integer, 1, "%s first key", name);
	check_int(ci->element[4]->integer, 1, "%s last key", name);
	check_int(ci->element[5]->integer, 1, "%s key step", name);
	got = harness_repr(ci->element[6]);
	check_str(got, acl, "%s ACL categories", name);
	free(got);
	freeReplyObject(r);
}

static void test_command_table(redisContext *c)
{
	expect_reply(cmd(c, "COMMAND GETKEYS SORT abc STORE def"), "['abc','def']",
		     "GETKEYS finds the STORE key");
	expect_reply(cmd(c, "COMMAND GETKEYS SORT abc"), "['abc']", "GETKEYS without STORE");
	expect_reply(cmd(c, "COMMAND GETKEYS SORT_RO abc"), "['abc']", "GETKEYS of SORT_RO");
	expect_reply(cmd(c, "COMMAND GETKEYS SORT abc store invalid store stillbad store def"),
		     "['abc','def']", "GETKEYS takes the last STORE");
	expect_reply(cmd(c, "COMMAND GETKEYS SORT abc BY store GET store LIMIT store store x"),
		     "['abc']", "words after BY, GET and LIMIT are skipped");
	expect_reply(cmd(c, "COMMAND GETKEYS SORT abc BY store GET store LIMIT 1 2 STORE x"),
		     "['abc','x']", "a STORE after them is found");
	expect_reply(cmd(c, "COMMAND GETKEYS SORT abc LIMIT store x store"), "['abc']",
		     "a STORE at the end has no key");
	check_info(c, "sort", "[+write,+denyoom,+movablekeys]",
		   "[+@write,+@set,+@sortedset,+@list,+@slow,+@dangerous]");
	check_info(c, "sort_ro", "[+readonly,+movablekeys]",
		   "[+@read,+@set,+@sortedset,+@list,+@slow,+@dangerous]");
}

/* ---- protocol shapes, transactions, blocking ---- */

static void test_resp3_nulls(void)
{
	for (int proto = 2; proto <= 3; proto++) {
		struct harness_raw *raw = raw_connect(srv);
		const char *want = proto == 3 ? "*2\r\n$1\r\n1\r\n_\r\n" : "*2\r\n$1\r\n1\r\n$-1\r\n";

		if (proto == 3) {
			char *hello;

			raw_send_str(raw, "HELLO 3\r\n");
			hello = raw_read_reply(raw, 5000, NULL);
			if (!hello)
				harness_bail("no reply to HELLO 3");
			free(hello);
		}
		raw_send_str(raw, "DEL s:r\r\nRPUSH s:r 1\r\n");
		free(raw_read_reply(raw, 5000, NULL));
		free(raw_read_reply(raw, 5000, NULL));
		raw_send_str(raw, "SORT s:r GET # GET s:nothing_*\r\n");
		expect_raw_reply(raw, want, "RESP%d: a missing GET value is a null", proto);
		raw_send_str(raw, "SORT s:nothing\r\n");
		expect_raw_reply(raw, "*0\r\n", "RESP%d: SORT of a missing key is an empty array",
				 proto);
		raw_close(raw);
	}
}

static void test_multi(redisContext *c)
{
	run(c, "DEL s:mz");
	run(c, "ZADD s:mz 1 a 5 b 2 c 10 d 3 e");
	run(c, "MULTI");
	run(c, "SORT s:mz BY nosort ASC");
	run(c, "SORT s:mz BY nosort DESC");
	expect_reply(cmd(c, "EXEC"), "[['a','c','e','b','d'],['d','b','e','c','a']]",
		     "SORT inside MULTI");

	run(c, "DEL s:wl s:wsrc");
	run(c, "LPUSH s:wl bar");
	run(c, "WATCH s:wl");
	expect_int(cmd(c, "SORT s:wempty STORE s:wl"), 0, "SORT of nothing onto a watched key");
	run(c, "MULTI");
	run(c, "PING");
	expect_reply(cmd(c, "EXEC"), "(nil)",
		     "EXEC fails: an empty SORT STORE deleted the watched key");

	run(c, "RPUSH s:wsrc 2 1");
	run(c, "WATCH s:wl");
	expect_int(cmd(c, "SORT s:wsrc STORE s:wl"), 2, "SORT STORE onto a watched missing key");
	run(c, "MULTI");
	run(c, "PING");
	expect_reply(cmd(c, "EXEC"), "(nil)", "EXEC fails: SORT STORE created the watched key");

	run(c, "WATCH s:wl");
	expect_reply(cmd(c, "SORT_RO s:wl"), "['1','2']", "SORT_RO of a watched key");
	run(c, "MULTI");
	run(c, "PING");
	expect_reply(cmd(c, "EXEC"), "[+PONG]", "reading the watched key leaves EXEC alone");
}

/* No reply within ms: the client is (still) blocked. */
static void expect_blocked(struct harness_raw *raw, int ms, const char *what)
{
	char *got = raw_read_reply(raw, ms, NULL);

	check(got == NULL, "%s: still blocked after %d ms (got %s)", what, ms, got ? got : "nothing");
	free(got);
}

/* A BLPOP (or BLMPOP) on a missing key, woken when SORT ... STORE creates
 * it; the destination's slot has the given parity, the sorted key the
 * other one. */
static void test_blocked_woken_by_store(redisContext *c, unsigned parity, bool mpop)
{
	struct harness_raw *b = raw_connect(srv);
	char dst[48], src[48], line[160], want[160];

	key_with_parity(dst, sizeof(dst), "s:bdst", parity);
	key_with_parity(src, sizeof(src), "s:bsrc", !parity);
	run(c, "DEL %s %s", dst, src);
	run(c, "RPUSH %s 3 1 2", src);
	if (mpop)
		snprintf(line, sizeof(line), "BLMPOP 5 1 %s LEFT\r\n", dst);
	else
		snprintf(line, sizeof(line), "BLPOP %s 5\r\n", dst);
	raw_send_str(b, line);
	expect_blocked(b, 200, mpop ? "BLMPOP on a missing key" : "BLPOP on a missing key");
	expect_int(cmd(c, "SORT %s STORE %s", src, dst), 3, "SORT STORE onto the waited-for key");
	if (mpop)
		snprintf(want, sizeof(want), "*2\r\n$%zu\r\n%s\r\n*1\r\n$1\r\n1\r\n", strlen(dst), dst);
	else
		snprintf(want, sizeof(want), "*2\r\n$%zu\r\n%s\r\n$1\r\n1\r\n", strlen(dst), dst);
	expect_raw_reply(b, want, "%s (slot parity %u) woken by SORT STORE gets the first element",
			 mpop ? "BLMPOP" : "BLPOP", parity);
	expect_list(c, dst, "['2','3']", "the waiter took one element");
	raw_close(b);
}

/* ---- many elements ---- */

struct weighted {
	int id;
	long long w;
};

static int cmp_weighted(const void *a, const void *b)
{
	const struct weighted *x = a, *y = b;

	return x->w < y->w ? -1 : x->w > y->w;
}

/* 1000 elements with distinct random weights, in string keys and hash
 * fields over every shard, against an order computed here. */
static void test_many(redisContext *c)
{
	enum { N = 1000 };
	static struct weighted v[N];
	char *want = malloc(N * 8 + 8), *p = want;
	redisReply *r;
	bool ok;

	srand(42);
	run(c, "DEL s:many");
	for (int i = 0; i < N; i++) {
		v[i].id = i;
		v[i].w = (long long)i * 7919 % 1000003 - 500000;	/* distinct */
		run(c, "LPUSH s:many %d", i);
		run(c, "SET s:mw_%d %lld", i, v[i].w);
		run(c, "HSET s:mh_%d weight %lld", i, v[i].w);
	}
	qsort(v, N, sizeof(v[0]), cmp_weighted);
	*p++ = '[';
	for (int i = 0; i < N; i++)
		p += sprintf(p, "%s'%d'", i ? "," : "", v[i].id);
	strcpy(p, "]");
	expect_reply(cmd(c, "SORT s:many BY s:mw_*"), want, "1000 elements BY key");
	expect_reply(cmd(c, "SORT s:many BY s:mh_*->weight"), want, "1000 elements BY hash field");
	expect_int(cmd(c, "SORT s:many BY s:mw_* STORE s:many_dst"), N, "1000 elements STORE");
	expect_list(c, "s:many_dst", want, "the stored list");

	r = cmd(c, "SORT s:many BY s:mw_* LIMIT 5 5 GET s:mw_*");
	ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 5;
	for (size_t i = 0; ok && i < 5; i++)
		ok = r->element[i]->type == REDIS_REPLY_STRING &&
		     atoll(r->element[i]->str) == v[5 + i].w;
	check(ok, "BY with LIMIT 5 5 GET the weights gives the 6th to 10th");
	freeReplyObject(r);

	r = cmd(c, "SORT s:many");
	ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == N;
	for (size_t i = 0; ok && i < N; i++)
		ok = atoi(r->element[i]->str) == (int)i;
	check(ok, "1000 elements sorted numerically");
	freeReplyObject(r);
	free(want);
}

static void run_all(redisContext *c)
{
	test_numeric_and_alpha(c);
	test_limit(c);
	test_nosort(c);
	test_by_pattern(c);
	test_get_pattern(c);
	test_weight_parsing(c);
	test_floats(c);
	test_binary(c);
	test_store(c);
	test_errors(c);
	test_command_table(c);
	test_resp3_nulls();
	test_multi(c);
	test_blocked_woken_by_store(c, 0, false);
	test_blocked_woken_by_store(c, 1, false);
	test_blocked_woken_by_store(c, 0, true);
	test_blocked_woken_by_store(c, 1, true);
	test_many(c);
	test_weight_out_of_range(c);
}

int main(void)
{
	static const char *const shards[] = { "1", "2", "4" };
	redisContext *c;

	harness_init("test_sort: SORT and SORT_RO");
	for (size_t i = 0; i < sizeof(shards) / sizeof(shards[0]); i++) {
		srv = harness_server_start("--shards", shards[i]);
		if (i > 0 && (srv->is_redis || srv->external)) {
			/* the shard count means nothing there: one run is enough */
			harness_server_stop(srv);
			break;
		}
		harness_diag("server with --shards %s", shards[i]);
		c = harness_connect(srv);
		expect_status(cmd(c, "FLUSHALL"), "OK", "FLUSHALL before the tests");
		run_all(c);
		expect_status(cmd(c, "FLUSHALL"), "OK", "FLUSHALL after the tests");
		redisFree(c);
		harness_server_stop(srv);
	}
	return harness_done();
}
