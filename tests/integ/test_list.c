/*
 * test_list.c - the list commands, with the exact replies of redis-server
 * 7.0: LPUSH RPUSH LPUSHX RPUSHX, LPOP RPOP (with count), LLEN LRANGE
 * LINDEX LSET LINSERT LREM LTRIM LPOS, LMOVE RPOPLPUSH LMPOP, and the
 * blocking BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP; WRONGTYPE everywhere; the
 * RESP2 and RESP3 null shapes byte for byte; lists long and wide enough to
 * span many nodes under several list-max-listpack-size settings.
 *
 * Everything runs twice, against a server with "--shards 2" and one with
 * "--shards 4" (once against redis-server, which has no shards). Keys that
 * must be on different shards are chosen by the parity of their hash slot
 * (shard = slot mod N, N even), so one key of such a pair is always on a
 * shard other than the one of the connection that blocks on it: the
 * blocking tests are run for both keys of a pair. Waits whose keys span
 * shards (which strata serves by polling) are tested on their own.
 *
 * Blocking tests use raw connections: the blocked client's reply is read
 * with a timeout, so "still blocked" is observable as "no reply yet".
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR_SYNTAX "ERR syntax error"
#define ERR_NOT_INT "ERR value is not an integer or out of range"
#define ERR_WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"
#define ERR_POSITIVE "ERR value is out of range, must be positive"
#define ERR_TIMEOUT "ERR timeout is not a float or out of range"

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

/* A raw connection already switched to RESP3 when proto is 3. */
static struct harness_raw *raw_proto(int proto)
{
	struct harness_raw *raw = raw_connect(srv);

	if (proto == 3) {
		char *hello;

		raw_send_str(raw, "HELLO 3\r\n");
		hello = raw_read_reply(raw, 5000, NULL);
		if (!hello)
			harness_bail("no reply to HELLO 3");
		free(hello);
	}
	return raw;
}

/* ---- pushes, pops, lengths ---- */

static void test_push_and_len(redisContext *c)
{
	expect_int(cmd(c, "RPUSH l:a a b c"), 3, "RPUSH of three elements answers the new length");
	expect_int(cmd(c, "LPUSH l:a x y"), 5, "LPUSH answers the new length");
	expect_list(c, "l:a", "['y','x','a','b','c']", "LPUSH puts each element at the head in turn");
	expect_int(cmd(c, "LLEN l:a"), 5, "LLEN counts the elements");
	expect_int(cmd(c, "LLEN l:missing"), 0, "LLEN of a missing key is 0");
	expect_int(cmd(c, "LPUSHX l:missing a"), 0, "LPUSHX on a missing key is 0");
	expect_int(cmd(c, "RPUSHX l:missing a b"), 0, "RPUSHX on a missing key is 0");
	expect_int(cmd(c, "EXISTS l:missing"), 0, "LPUSHX/RPUSHX did not create the key");
	expect_int(cmd(c, "RPUSHX l:a z1 z2"), 7, "RPUSHX on a list pushes every element");
	expect_int(cmd(c, "LPUSHX l:a w"), 8, "LPUSHX on a list pushes");
	expect_list(c, "l:a", "['w','y','x','a','b','c','z1','z2']", "after the X pushes");
}

static void test_type_and_encoding(redisContext *c)
{
	run(c, "DEL l:t");
	run(c, "RPUSH l:t 1 2 3");
	expect_status(cmd(c, "TYPE l:t"), "list", "TYPE of a list is list");
	expect_str(cmd(c, "OBJECT ENCODING l:t"), "quicklist", "a small list is a quicklist in 7.0");
}

static void test_values_round_trip(redisContext *c)
{
	static const char bin[] = "a\0b\r\nc";

	run(c, "DEL l:v");
	expect_int(cmd(c, "RPUSH l:v %b", bin, sizeof(bin) - 1), 1, "RPUSH of a binary value");
	expect_int(cmd(c, "RPUSH l:v %s", ""), 2, "RPUSH of an empty value");
	expect_int(cmd(c, "RPUSH l:v 00 -0 +1 1 -9223372036854775808 9223372036854775808"), 8,
		   "RPUSH of numbers and number-like strings");
	expect_bin(cmd(c, "LINDEX l:v 0"), bin, sizeof(bin) - 1, "the binary value comes back byte for byte");
	expect_str(cmd(c, "LINDEX l:v 1"), "", "the empty value comes back empty");
	expect_reply(cmd(c, "LRANGE l:v 2 -1"),
		     "['00','-0','+1','1','-9223372036854775808','9223372036854775808']",
		     "number-like strings keep their exact text");
	expect_int(cmd(c, "LREM l:v 0 1"), 1, "LREM of 1 matches only the integer 1, not +1 or 00");
	expect_int(cmd(c, "LPOS l:v -0"), 3, "LPOS finds -0 as a string");
}

static void test_pop_plain(redisContext *c)
{
	run(c, "DEL l:p");
	run(c, "RPUSH l:p a b c d");
	expect_str(cmd(c, "LPOP l:p"), "a", "LPOP takes the head");
	expect_str(cmd(c, "RPOP l:p"), "d", "RPOP takes the tail");
	expect_nil(cmd(c, "LPOP l:missing"), "LPOP of a missing key is nil");
	expect_nil(cmd(c, "RPOP l:missing"), "RPOP of a missing key is nil");
	expect_str(cmd(c, "LPOP l:p"), "b", "LPOP again");
	expect_str(cmd(c, "LPOP l:p"), "c", "LPOP of the last element");
	expect_int(cmd(c, "EXISTS l:p"), 0, "popping the last element deletes the key");
}

static void test_pop_count(redisContext *c)
{
	run(c, "DEL l:pc");
	run(c, "RPUSH l:pc a b c d e");
	expect_reply(cmd(c, "LPOP l:pc 2"), "['a','b']", "LPOP 2 takes two from the head in order");
	expect_reply(cmd(c, "RPOP l:pc 2"), "['e','d']", "RPOP 2 takes two from the tail, tail first");
	expect_empty_array(cmd(c, "LPOP l:pc 0"), "LPOP with count 0 on a list is an empty array");
	expect_int(cmd(c, "LLEN l:pc"), 1, "count 0 popped nothing");
	expect_reply(cmd(c, "RPOP l:pc 10"), "['c']", "a count above the length takes everything");
	expect_int(cmd(c, "EXISTS l:pc"), 0, "the emptied list is deleted");
	expect_nil(cmd(c, "LPOP l:missing 2"), "LPOP with count of a missing key is nil");
	expect_nil(cmd(c, "LPOP l:missing 0"), "LPOP with count 0 of a missing key is nil");
	expect_err(cmd(c, "LPOP l:pc -1"), ERR_POSITIVE, "a negative count is refused");
	expect_err(cmd(c, "RPOP l:pc abc"), ERR_POSITIVE,
		   "a non-integer count gets the same message in 7.0");
	expect_err(cmd(c, "LPOP l:pc 1 2"), "ERR wrong number of arguments for 'lpop' command",
		   "LPOP with two extra arguments is an arity error");
	expect_err(cmd(c, "RPOP"), "ERR wrong number of arguments for 'rpop' command",
		   "RPOP without a key is an arity error");
}

/* The null shapes of RESP2 and RESP3, byte for byte. */
static void test_null_shapes(void)
{
	for (int proto = 2; proto <= 3; proto++) {
		struct harness_raw *raw = raw_proto(proto);
		const char *null = proto == 2 ? "$-1\r\n" : "_\r\n";
		const char *null_arr = proto == 2 ? "*-1\r\n" : "_\r\n";

		raw_send_str(raw, "DEL l:n\r\nRPUSH l:n a\r\n");
		free(raw_read_reply(raw, 5000, NULL));
		free(raw_read_reply(raw, 5000, NULL));
		raw_send_str(raw, "LPOP l:none\r\n");
		expect_raw_reply(raw, null, "RESP%d: LPOP of a missing key is a null", proto);
		raw_send_str(raw, "RPOP l:none 3\r\n");
		expect_raw_reply(raw, null_arr, "RESP%d: RPOP with count of a missing key is a null array",
				 proto);
		raw_send_str(raw, "LPOP l:n 0\r\n");
		expect_raw_reply(raw, "*0\r\n", "RESP%d: LPOP count 0 of a list is an empty array", proto);
		raw_send_str(raw, "LINDEX l:n 5\r\n");
		expect_raw_reply(raw, null, "RESP%d: LINDEX out of range is a null", proto);
		raw_send_str(raw, "LINDEX l:none 0\r\n");
		expect_raw_reply(raw, null, "RESP%d: LINDEX of a missing key is a null", proto);
		raw_send_str(raw, "LPOS l:n zz\r\n");
		expect_raw_reply(raw, null, "RESP%d: LPOS without a match is a null", proto);
		raw_send_str(raw, "LPOS l:none a\r\n");
		expect_raw_reply(raw, null, "RESP%d: LPOS of a missing key is a null", proto);
		raw_send_str(raw, "LPOS l:none a COUNT 1\r\n");
		expect_raw_reply(raw, "*0\r\n", "RESP%d: LPOS COUNT of a missing key is an empty array",
				 proto);
		raw_send_str(raw, "LMPOP 1 l:none LEFT\r\n");
		expect_raw_reply(raw, null_arr, "RESP%d: LMPOP of missing keys is a null array", proto);
		raw_send_str(raw, "RPOPLPUSH l:none l:n\r\n");
		expect_raw_reply(raw, null, "RESP%d: RPOPLPUSH of a missing source is a null", proto);
		raw_send_str(raw, "LMOVE l:none l:n LEFT RIGHT\r\n");
		expect_raw_reply(raw, null, "RESP%d: LMOVE of a missing source is a null", proto);
		raw_send_str(raw, "LRANGE l:none 0 -1\r\n");
		expect_raw_reply(raw, "*0\r\n", "RESP%d: LRANGE of a missing key is an empty array", proto);
		raw_send_str(raw, "LMPOP 1 l:n RIGHT\r\n");
		expect_raw_reply(raw, "*2\r\n$3\r\nl:n\r\n*1\r\n$1\r\na\r\n",
				 "RESP%d: LMPOP replies [key, [elements]]", proto);
		raw_close(raw);
	}
}

/* ---- reads by index ---- */

static void test_lrange(redisContext *c)
{
	run(c, "DEL l:r");
	run(c, "RPUSH l:r 0 1 2 3 4 5 6 7 8 9");
	expect_reply(cmd(c, "LRANGE l:r 0 2"), "['0','1','2']", "LRANGE 0 2");
	expect_reply(cmd(c, "LRANGE l:r -3 -1"), "['7','8','9']", "LRANGE with negative indexes");
	expect_reply(cmd(c, "LRANGE l:r -100 1"), "['0','1']", "a start before the head is clamped");
	expect_reply(cmd(c, "LRANGE l:r 8 100"), "['8','9']", "an end past the tail is clamped");
	expect_empty_array(cmd(c, "LRANGE l:r 5 4"), "start after end is empty");
	expect_empty_array(cmd(c, "LRANGE l:r 10 20"), "start past the tail is empty");
	expect_empty_array(cmd(c, "LRANGE l:r 0 -11"), "end before the head is empty");
	expect_empty_array(cmd(c, "LRANGE l:missing 0 -1"), "LRANGE of a missing key is empty");
	expect_err(cmd(c, "LRANGE l:r 0 x"), ERR_NOT_INT, "LRANGE with a non-integer end");
	expect_err(cmd(c, "LRANGE l:missing a 1"), ERR_NOT_INT,
		   "LRANGE checks its indexes before the key");
	expect_err(cmd(c, "LRANGE l:r 0"), "ERR wrong number of arguments for 'lrange' command",
		   "LRANGE arity");
}

static void test_lindex_lset(redisContext *c)
{
	run(c, "DEL l:i");
	run(c, "RPUSH l:i a b c");
	expect_str(cmd(c, "LINDEX l:i 0"), "a", "LINDEX 0");
	expect_str(cmd(c, "LINDEX l:i -1"), "c", "LINDEX -1");
	expect_nil(cmd(c, "LINDEX l:i 3"), "LINDEX past the tail is nil");
	expect_nil(cmd(c, "LINDEX l:i -4"), "LINDEX before the head is nil");
	expect_err(cmd(c, "LINDEX l:i x"), ERR_NOT_INT, "LINDEX with a non-integer index");
	expect_nil(cmd(c, "LINDEX l:missing x"), "LINDEX of a missing key is nil before the index is read");

	expect_status(cmd(c, "LSET l:i 1 B"), "OK", "LSET answers +OK");
	expect_status(cmd(c, "LSET l:i -1 C"), "OK", "LSET with a negative index");
	expect_list(c, "l:i", "['a','B','C']", "LSET replaced in place");
	expect_err(cmd(c, "LSET l:i 3 x"), "ERR index out of range", "LSET past the tail");
	expect_err(cmd(c, "LSET l:i -4 x"), "ERR index out of range", "LSET before the head");
	expect_err(cmd(c, "LSET l:missing 0 x"), "ERR no such key", "LSET of a missing key");
	expect_err(cmd(c, "LSET l:missing x x"), "ERR no such key", "LSET checks the key before the index");
	expect_err(cmd(c, "LSET l:i x x"), ERR_NOT_INT, "LSET with a non-integer index");
}

/* ---- edits ---- */

static void test_linsert(redisContext *c)
{
	run(c, "DEL l:ins");
	run(c, "RPUSH l:ins a b c b");
	expect_int(cmd(c, "LINSERT l:ins BEFORE b x"), 5, "LINSERT BEFORE answers the new length");
	expect_int(cmd(c, "LINSERT l:ins after b y"), 6, "LINSERT after (any case)");
	expect_list(c, "l:ins", "['a','x','b','y','c','b']", "LINSERT uses the first match of the pivot");
	expect_int(cmd(c, "LINSERT l:ins BEFORE zz q"), -1, "LINSERT with a missing pivot is -1");
	expect_int(cmd(c, "LINSERT l:missing BEFORE a q"), 0, "LINSERT on a missing key is 0");
	expect_err(cmd(c, "LINSERT l:ins MIDDLE a q"), ERR_SYNTAX, "LINSERT with a bad position");
	expect_err(cmd(c, "LINSERT l:missing MIDDLE a q"), ERR_SYNTAX,
		   "LINSERT checks the position before the key");
	expect_int(cmd(c, "EXISTS l:missing"), 0, "LINSERT did not create a key");
}

static void test_lrem(redisContext *c)
{
	run(c, "DEL l:rem");
	run(c, "RPUSH l:rem a b a c a b a");
	expect_int(cmd(c, "LREM l:rem 2 a"), 2, "LREM 2 removes two matches from the head");
	expect_list(c, "l:rem", "['b','c','a','b','a']", "after LREM 2");
	expect_int(cmd(c, "LREM l:rem -1 a"), 1, "LREM -1 removes one match from the tail");
	expect_list(c, "l:rem", "['b','c','a','b']", "after LREM -1");
	expect_int(cmd(c, "LREM l:rem 0 b"), 2, "LREM 0 removes every match");
	expect_int(cmd(c, "LREM l:rem 0 zz"), 0, "LREM without a match is 0");
	expect_int(cmd(c, "LREM l:missing 1 a"), 0, "LREM on a missing key is 0");
	expect_err(cmd(c, "LREM l:rem x a"), ERR_NOT_INT, "LREM with a non-integer count");
	expect_int(cmd(c, "LREM l:rem 0 c"), 1, "LREM of one more");
	expect_int(cmd(c, "LREM l:rem 0 a"), 1, "LREM of the last element");
	expect_int(cmd(c, "EXISTS l:rem"), 0, "LREM that empties the list deletes the key");
}

static void test_ltrim(redisContext *c)
{
	run(c, "DEL l:tr");
	run(c, "RPUSH l:tr 1 2 3 4 5 6 7 8 9");
	expect_status(cmd(c, "LTRIM l:tr 1 -2"), "OK", "LTRIM answers +OK");
	expect_list(c, "l:tr", "['2','3','4','5','6','7','8']", "LTRIM 1 -2 keeps the middle");
	expect_status(cmd(c, "LTRIM l:tr -3 100"), "OK", "LTRIM with an end past the tail");
	expect_list(c, "l:tr", "['6','7','8']", "LTRIM -3 100");
	expect_status(cmd(c, "LTRIM l:tr 0 0"), "OK", "LTRIM to one element");
	expect_list(c, "l:tr", "['6']", "LTRIM 0 0");
	expect_status(cmd(c, "LTRIM l:tr 5 1"), "OK", "LTRIM with an empty range");
	expect_int(cmd(c, "EXISTS l:tr"), 0, "an empty LTRIM deletes the key");
	expect_status(cmd(c, "LTRIM l:missing 0 1"), "OK", "LTRIM of a missing key is +OK");
	expect_err(cmd(c, "LTRIM l:missing a 1"), ERR_NOT_INT, "LTRIM checks its indexes first");
}

static void test_lpos(redisContext *c)
{
	run(c, "DEL l:pos");
	run(c, "RPUSH l:pos a b c 1 2 3 c b a");
	expect_int(cmd(c, "LPOS l:pos c"), 2, "LPOS finds the first match");
	expect_int(cmd(c, "LPOS l:pos 2"), 4, "LPOS of an integer element");
	expect_int(cmd(c, "LPOS l:pos b RANK 2"), 7, "LPOS RANK 2 is the second match");
	expect_int(cmd(c, "LPOS l:pos b RANK -1"), 7, "LPOS RANK -1 is the last match");
	expect_int(cmd(c, "LPOS l:pos b RANK -2"), 1, "LPOS RANK -2");
	expect_nil(cmd(c, "LPOS l:pos a RANK 3"), "LPOS past the last match is nil");
	expect_reply(cmd(c, "LPOS l:pos a COUNT 0"), "[0,8]", "COUNT 0 returns every match");
	expect_reply(cmd(c, "LPOS l:pos a COUNT 1"), "[0]", "COUNT 1");
	expect_reply(cmd(c, "LPOS l:pos a COUNT 0 RANK -1"), "[8,0]", "COUNT with a negative RANK");
	expect_reply(cmd(c, "LPOS l:pos a COUNT 0 MAXLEN 1"), "[0]", "MAXLEN bounds the comparisons");
	expect_reply(cmd(c, "LPOS l:pos a COUNT 0 MAXLEN 1 RANK -1"), "[8]",
		     "MAXLEN counts from the tail with a negative RANK");
	expect_empty_array(cmd(c, "LPOS l:pos a RANK 3 COUNT 5"), "no match from RANK on is empty");
	expect_empty_array(cmd(c, "LPOS l:pos zz COUNT 2"), "COUNT without a match is empty");
	expect_err(cmd(c, "LPOS l:pos a RANK 0"),
		   "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second "
		   "... or use negative to start from the end of the list", "RANK 0 is refused");
	expect_err(cmd(c, "LPOS l:pos a RANK x"), ERR_NOT_INT, "a non-integer RANK");
	expect_err(cmd(c, "LPOS l:pos a COUNT -1"), "ERR COUNT can't be negative", "a negative COUNT");
	expect_err(cmd(c, "LPOS l:pos a COUNT x"), "ERR COUNT can't be negative",
		   "a non-integer COUNT gets the same message");
	expect_err(cmd(c, "LPOS l:pos a MAXLEN -1"), "ERR MAXLEN can't be negative", "a negative MAXLEN");
	expect_err(cmd(c, "LPOS l:pos a FOO"), ERR_SYNTAX, "an unknown option");
	expect_err(cmd(c, "LPOS l:pos a RANK"), ERR_SYNTAX, "an option without its value");
	expect_err(cmd(c, "LPOS l:missing a RANK 0"), "ERR RANK can't be zero: use 1 to start from "
		   "the first match, 2 from the second ... or use negative to start from the end "
		   "of the list", "options are checked before the key");
}

/* ---- moves ---- */

static void test_lmove_rpoplpush(redisContext *c)
{
	char src[32], dst[32];

	/* Source and destination on different shards (slot parities differ). */
	key_with_parity(src, sizeof(src), "l:src", 0);
	key_with_parity(dst, sizeof(dst), "l:dst", 1);
	run(c, "DEL %s %s", src, dst);
	run(c, "RPUSH %s a b c", src);
	expect_str(cmd(c, "LMOVE %s %s LEFT RIGHT", src, dst), "a", "LMOVE LEFT RIGHT returns the element");
	expect_str(cmd(c, "LMOVE %s %s right left", src, dst), "c", "LMOVE right left (any case)");
	expect_list(c, src, "['b']", "LMOVE took from the source");
	expect_list(c, dst, "['c','a']", "LMOVE created and filled the destination");
	expect_str(cmd(c, "RPOPLPUSH %s %s", src, dst), "b", "RPOPLPUSH of the last element");
	expect_int(cmd(c, "EXISTS %s", src), 0, "the emptied source is deleted");
	expect_list(c, dst, "['b','c','a']", "RPOPLPUSH pushed at the head");
	expect_nil(cmd(c, "RPOPLPUSH %s %s", src, dst), "RPOPLPUSH of a missing source is nil");
	expect_nil(cmd(c, "LMOVE %s %s LEFT LEFT", src, dst), "LMOVE of a missing source is nil");
	expect_str(cmd(c, "LMOVE %s %s LEFT RIGHT", dst, dst), "b", "LMOVE onto the same list rotates it");
	expect_list(c, dst, "['c','a','b']", "after the rotation");
	expect_str(cmd(c, "RPOPLPUSH %s %s", dst, dst), "b", "RPOPLPUSH onto itself");
	expect_list(c, dst, "['b','c','a']", "after RPOPLPUSH onto itself");
	run(c, "DEL l:one");
	run(c, "RPUSH l:one only");
	expect_str(cmd(c, "LMOVE l:one l:one LEFT RIGHT"), "only", "rotating a one-element list");
	expect_list(c, "l:one", "['only']", "a rotated one-element list still exists");
	expect_err(cmd(c, "LMOVE %s %s UP LEFT", dst, src), ERR_SYNTAX, "LMOVE with a bad end");
	expect_err(cmd(c, "LMOVE %s %s LEFT DOWN", dst, src), ERR_SYNTAX, "LMOVE with a bad second end");
	expect_err(cmd(c, "RPOPLPUSH %s", src), "ERR wrong number of arguments for 'rpoplpush' command",
		   "RPOPLPUSH arity");
}

static void test_lmpop(redisContext *c)
{
	char k0[32], k1[32], want[128];

	key_with_parity(k0, sizeof(k0), "l:mp", 0);
	key_with_parity(k1, sizeof(k1), "l:mp", 1);
	run(c, "DEL %s %s", k0, k1);
	run(c, "RPUSH %s a b c d e", k1);
	snprintf(want, sizeof(want), "['%s',['a']]", k1);
	expect_reply(cmd(c, "LMPOP 2 %s %s LEFT", k0, k1), want,
		     "LMPOP skips the missing key and pops one by default");
	snprintf(want, sizeof(want), "['%s',['e','d']]", k1);
	expect_reply(cmd(c, "LMPOP 2 %s %s RIGHT COUNT 2", k0, k1), want, "LMPOP RIGHT COUNT 2");
	run(c, "RPUSH %s x", k0);
	snprintf(want, sizeof(want), "['%s',['x']]", k0);
	expect_reply(cmd(c, "LMPOP 2 %s %s LEFT COUNT 10", k0, k1), want,
		     "LMPOP takes from the first non-empty key, at most its length");
	expect_int(cmd(c, "EXISTS %s", k0), 0, "LMPOP deleted the emptied key");
	snprintf(want, sizeof(want), "['%s',['b','c']]", k1);
	expect_reply(cmd(c, "lmpop 2 %s %s left count 9", k0, k1), want, "LMPOP in lower case");
	expect_nil(cmd(c, "LMPOP 2 %s %s LEFT", k0, k1), "LMPOP with every key missing is nil");

	expect_err(cmd(c, "LMPOP 0 a LEFT"), "ERR numkeys should be greater than 0", "numkeys 0");
	expect_err(cmd(c, "LMPOP x a LEFT"), "ERR numkeys should be greater than 0", "numkeys not a number");
	expect_err(cmd(c, "LMPOP 2 a LEFT"), ERR_SYNTAX, "numkeys larger than the keys given");
	expect_err(cmd(c, "LMPOP 1 a MIDDLE"), ERR_SYNTAX, "a bad end");
	expect_err(cmd(c, "LMPOP 1 a LEFT COUNT 0"), "ERR count should be greater than 0", "COUNT 0");
	expect_err(cmd(c, "LMPOP 1 a LEFT COUNT x"), "ERR count should be greater than 0", "COUNT x");
	expect_err(cmd(c, "LMPOP 1 a LEFT COUNT 1 COUNT 1"), ERR_SYNTAX, "COUNT twice");
	expect_err(cmd(c, "LMPOP 1 a LEFT COUNT"), ERR_SYNTAX, "COUNT without a value");
	expect_err(cmd(c, "LMPOP 1 a"), "ERR wrong number of arguments for 'lmpop' command", "LMPOP arity");
	expect_reply(cmd(c, "COMMAND GETKEYS LMPOP 2 ka kb LEFT COUNT 3"), "['ka','kb']",
		     "COMMAND GETKEYS finds LMPOP's keys");
	expect_reply(cmd(c, "COMMAND GETKEYS BLMPOP 0 1 kc RIGHT"), "['kc']",
		     "COMMAND GETKEYS finds BLMPOP's keys");
}

/* ---- wrong types ---- */

static void test_wrongtype(redisContext *c)
{
	static const char *const cmds[] = {
		"LPUSH l:str a", "RPUSH l:str a", "LPUSHX l:str a", "RPUSHX l:str a",
		"LPOP l:str", "RPOP l:str", "LPOP l:str 2", "LLEN l:str", "LRANGE l:str 0 -1",
		"LINDEX l:str 0", "LINDEX l:str x", "LSET l:str 0 a", "LSET l:str x a",
		"LINSERT l:str BEFORE a b", "LREM l:str 0 a", "LTRIM l:str 0 1", "LPOS l:str a",
		"LPOS l:str a COUNT 0", "LMOVE l:str l:wt LEFT RIGHT", "LMOVE l:wt l:str LEFT RIGHT",
		"RPOPLPUSH l:str l:wt", "RPOPLPUSH l:wt l:str", "LMPOP 1 l:str LEFT",
		"LMPOP 2 l:nothing l:str LEFT", "BLPOP l:str 0", "BRPOP l:nothing l:str 0",
		"BLMOVE l:str l:wt LEFT LEFT 0", "BLMOVE l:wt l:str LEFT LEFT 0",
		"BRPOPLPUSH l:str l:wt 0", "BLMPOP 0 1 l:str LEFT",
	};

	run(c, "DEL l:str l:wt l:nothing");
	run(c, "SET l:str hello");
	run(c, "RPUSH l:wt w");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		expect_err(cmd(c, cmds[i]), ERR_WRONGTYPE, "%s is WRONGTYPE", cmds[i]);
	expect_str(cmd(c, "GET l:str"), "hello", "the string is untouched");
	expect_list(c, "l:wt", "['w']", "the list is untouched by the refused moves");
	expect_str(cmd(c, "LMOVE l:wt l:str2 LEFT LEFT"), "w", "LMOVE to a new key works");
	run(c, "DEL l:str2");
	expect_nil(cmd(c, "LMOVE l:nothing l:str LEFT LEFT"),
		   "LMOVE of a missing source does not look at the destination's type");
}

/* ---- many elements, many nodes ---- */

/* Pushes n elements of size len (with their index in front) at alternate
 * ends and checks them all back with LRANGE and LINDEX. */
static void check_big_list(redisContext *c, const char *fill, int n, size_t len)
{
	char *v = malloc(len + 32);
	redisReply *r;
	bool ok = true;
	int bad_at = -1;

	if (!v)
		harness_bail("out of memory");
	harness_config_set(c, "list-max-listpack-size", fill);
	run(c, "DEL l:big");
	for (int i = 0; i < n; i++) {
		memset(v, 'a' + i % 26, len + 32);
		snprintf(v, 32, "%d:", i);
		v[strlen(v)] = 'x';
		run(c, "RPUSH l:big %b", v, len);
	}
	r = cmd(c, "LRANGE l:big 0 -1");
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != (size_t)n) {
		ok = false;
	} else {
		for (int i = 0; i < n && ok; i++) {
			memset(v, 'a' + i % 26, len + 32);
			snprintf(v, 32, "%d:", i);
			v[strlen(v)] = 'x';
			if (r->element[i]->len != len || memcmp(r->element[i]->str, v, len)) {
				ok = false;
				bad_at = i;
			}
		}
	}
	if (r)
		freeReplyObject(r);
	check(ok, "fill %s: %d elements of %zu bytes come back in order (first bad %d)",
	      fill, n, len, bad_at);
	expect_int(cmd(c, "LLEN l:big"), n, "fill %s: LLEN of %d", fill, n);
	memset(v, 'a' + (n / 2) % 26, len + 32);
	snprintf(v, 32, "%d:", n / 2);
	v[strlen(v)] = 'x';
	expect_bin(cmd(c, "LINDEX l:big %d", n / 2), v, len, "fill %s: LINDEX in the middle", fill);
	expect_int(cmd(c, "LPOS l:big %b", v, len), n / 2, "fill %s: LPOS in the middle", fill);
	expect_int(cmd(c, "LINSERT l:big BEFORE %b %s", v, len, "ins"), n + 1,
		   "fill %s: LINSERT in the middle of a full node", fill);
	expect_str(cmd(c, "LINDEX l:big %d", n / 2), "ins", "fill %s: the inserted element", fill);
	expect_status(cmd(c, "LSET l:big %d %s", n / 2, "set"), "OK", "fill %s: LSET in the middle", fill);
	expect_int(cmd(c, "LREM l:big 0 set"), 1, "fill %s: LREM of it", fill);
	expect_status(cmd(c, "LTRIM l:big 1 -2"), "OK", "fill %s: LTRIM", fill);
	expect_int(cmd(c, "LLEN l:big"), n - 2, "fill %s: LTRIM took one from each end", fill);
	expect_str(cmd(c, "OBJECT ENCODING l:big"), "quicklist", "fill %s: encoding", fill);
	run(c, "DEL l:big");
	free(v);
}

static void test_big_lists(redisContext *c)
{
	char *old = harness_config_get(c, "list-max-listpack-size");

	check_big_list(c, "-2", 2000, 40);
	check_big_list(c, "-1", 300, 1000);
	check_big_list(c, "4", 500, 10);
	check_big_list(c, "1", 100, 3);
	check_big_list(c, "-5", 50, 70000);
	harness_config_set(c, "list-max-listpack-size", old ? old : "-2");
	free(old);
}

/* ---- blocking ---- */

/* No reply within ms: the client is (still) blocked. */
static void expect_blocked(struct harness_raw *raw, int ms, const char *what)
{
	char *got = raw_read_reply(raw, ms, NULL);

	check(got == NULL, "%s: still blocked after %d ms (got %s)", what, ms, got ? got : "nothing");
	free(got);
}

/* A BLPOP woken by an RPUSH from another connection, on a key of the given
 * slot parity. */
static void test_blpop_woken(redisContext *c, unsigned parity)
{
	struct harness_raw *b = raw_connect(srv);
	char tag[32], key[48], line[128], want[128];

	key_with_parity(tag, sizeof(tag), "blp", parity);
	snprintf(key, sizeof(key), "{%s}k", tag);
	run(c, "DEL %s", key);
	snprintf(line, sizeof(line), "BLPOP {%s}none %s 5\r\n", tag, key);
	raw_send_str(b, line);
	expect_blocked(b, 200, "BLPOP on empty keys");
	expect_int(cmd(c, "RPUSH %s a b", key), 2, "RPUSH that wakes a BLPOP answers its own length");
	snprintf(want, sizeof(want), "*2\r\n$%zu\r\n%s\r\n$1\r\na\r\n", strlen(key), key);
	expect_raw_reply(b, want, "BLPOP (slot parity %u) woken by RPUSH gets [key, head]", parity);
	expect_list(c, key, "['b']", "BLPOP took one element");
	raw_close(b);
}

static void test_brpop_second_key(redisContext *c)
{
	struct harness_raw *b = raw_connect(srv);

	run(c, "DEL {bl}a {bl}b");
	raw_send_str(b, "BRPOP {bl}a {bl}b 0\r\n");
	expect_blocked(b, 200, "BRPOP with timeout 0");
	run(c, "LPUSH {bl}b x y");
	expect_raw_reply(b, "*2\r\n$5\r\n{bl}b\r\n$1\r\nx\r\n", "BRPOP woken on its second key pops its tail");
	expect_list(c, "{bl}b", "['y']", "BRPOP left the rest");
	raw_close(b);
}

static void test_blocking_fifo(redisContext *c)
{
	struct harness_raw *b1 = raw_connect(srv), *b2 = raw_connect(srv);

	run(c, "DEL bl:fifo");
	raw_send_str(b1, "BLPOP bl:fifo 5\r\n");
	expect_blocked(b1, 150, "first waiter");
	raw_send_str(b2, "BLPOP bl:fifo 5\r\n");
	expect_blocked(b2, 150, "second waiter");
	run(c, "RPUSH bl:fifo one");
	expect_raw_reply(b1, "*2\r\n$7\r\nbl:fifo\r\n$3\r\none\r\n", "the first waiter is served first");
	expect_blocked(b2, 150, "second waiter after one element");
	run(c, "RPUSH bl:fifo two three");
	expect_raw_reply(b2, "*2\r\n$7\r\nbl:fifo\r\n$3\r\ntwo\r\n", "then the second");
	expect_list(c, "bl:fifo", "['three']", "each waiter took one");
	raw_close(b1);
	raw_close(b2);
}

static void test_blmove_woken(redisContext *c, unsigned parity)
{
	struct harness_raw *b = raw_connect(srv);
	char tag[32], src[48], dst[48], line[160];

	/* Source and destination in one slot (a hash tag of the given slot
	 * parity): strata cannot wait on a move across shards. */
	key_with_parity(tag, sizeof(tag), "blm", parity);
	snprintf(src, sizeof(src), "{%s}src", tag);
	snprintf(dst, sizeof(dst), "{%s}dst", tag);
	run(c, "DEL %s %s", src, dst);
	snprintf(line, sizeof(line), "BLMOVE %s %s RIGHT LEFT 5\r\n", src, dst);
	raw_send_str(b, line);
	expect_blocked(b, 200, "BLMOVE");
	run(c, "RPUSH %s p q", src);
	expect_raw_reply(b, "$1\r\nq\r\n", "BLMOVE (slot parity %u) woken returns the element", parity);
	expect_list(c, src, "['p']", "BLMOVE took the tail of the source");
	expect_list(c, dst, "['q']", "and pushed it onto the new destination");
	snprintf(line, sizeof(line), "BLMOVE %s %s LEFT RIGHT 5\r\n", src, src);
	raw_send_str(b, line);
	expect_raw_reply(b, "$1\r\np\r\n", "BLMOVE onto itself of a one-element list");
	expect_list(c, src, "['p']", "a rotated one-element list stays");
	raw_close(b);
}

static void test_brpoplpush_woken(redisContext *c)
{
	struct harness_raw *b = raw_connect(srv);

	run(c, "DEL {bq}src {bq}dst");
	run(c, "RPUSH {bq}dst old");
	raw_send_str(b, "BRPOPLPUSH {bq}src {bq}dst 5\r\n");
	expect_blocked(b, 200, "BRPOPLPUSH");
	run(c, "RPUSH {bq}src 1 2");
	expect_raw_reply(b, "$1\r\n2\r\n", "BRPOPLPUSH woken returns the tail of the source");
	expect_list(c, "{bq}dst", "['2','old']", "and pushed it at the head of the destination");
	expect_list(c, "{bq}src", "['1']", "the source kept the rest");
	raw_close(b);
}

static void test_blmpop_woken(redisContext *c)
{
	struct harness_raw *b = raw_connect(srv);

	run(c, "DEL {bm}a {bm}b");
	raw_send_str(b, "BLMPOP 5 2 {bm}a {bm}b RIGHT COUNT 2\r\n");
	expect_blocked(b, 200, "BLMPOP");
	run(c, "RPUSH {bm}b 1 2 3");
	expect_raw_reply(b, "*2\r\n$5\r\n{bm}b\r\n*2\r\n$1\r\n3\r\n$1\r\n2\r\n",
			 "BLMPOP woken pops up to COUNT from the tail");
	expect_list(c, "{bm}b", "['1']", "BLMPOP left the rest");
	raw_close(b);
}

/* BLMOVE and BLPOP whose keys are on two shards. */
static void test_blocking_across_shards(redisContext *c)
{
	struct harness_raw *b = raw_connect(srv);
	char k0[32], k1[32], line[128], want[128];

	key_with_parity(k0, sizeof(k0), "bx:", 0);
	key_with_parity(k1, sizeof(k1), "bx:", 1);
	run(c, "DEL %s %s", k0, k1);
	snprintf(line, sizeof(line), "BLMOVE %s %s LEFT RIGHT 5\r\n", k0, k1);
	raw_send_str(b, line);
	expect_blocked(b, 200, "BLMOVE across shards");
	run(c, "RPUSH %s m", k0);
	expect_raw_reply(b, "$1\r\nm\r\n", "BLMOVE across shards woken by a push");
	expect_list(c, k1, "['m']", "BLMOVE across shards pushed onto the destination");
	expect_int(cmd(c, "EXISTS %s", k0), 0, "and emptied the source");
	run(c, "DEL %s", k1);
	snprintf(line, sizeof(line), "BRPOP %s %s 5\r\n", k0, k1);
	raw_send_str(b, line);
	expect_blocked(b, 200, "BRPOP across shards");
	run(c, "RPUSH %s r1 r2", k1);
	snprintf(want, sizeof(want), "*2\r\n$%zu\r\n%s\r\n$2\r\nr2\r\n", strlen(k1), k1);
	expect_raw_reply(b, want, "BRPOP across shards woken on its second key");
	snprintf(line, sizeof(line), "BLMPOP 0.2 2 %s bx:none LEFT\r\n", k0);
	raw_send_str(b, line);
	expect_raw_reply(b, "*-1\r\n", "BLMPOP across shards times out with a null array");
	raw_close(b);
}

/* A key that got ready but holds another type by the time the waiter runs
 * again does not wake it with an error: it keeps waiting. */
static void test_blocked_client_ignores_wrong_type(redisContext *c)
{
	struct harness_raw *b = raw_connect(srv);

	run(c, "DEL bl:wt");
	raw_send_str(b, "BLPOP bl:wt 5\r\n");
	expect_blocked(b, 200, "BLPOP before the transaction");
	run(c, "MULTI");
	run(c, "LPUSH bl:wt a");
	run(c, "DEL bl:wt");
	run(c, "SET bl:wt foo");
	expect_reply(cmd(c, "EXEC"), "[1,1,+OK]", "LPUSH, DEL, SET in one transaction");
	expect_blocked(b, 200, "BLPOP after a push replaced by a string");
	run(c, "DEL bl:wt");
	run(c, "LPUSH bl:wt b");
	expect_raw_reply(b, "*2\r\n$5\r\nbl:wt\r\n$1\r\nb\r\n", "BLPOP served by the next push");
	raw_close(b);
}

static void test_blocking_timeouts(void)
{
	for (int proto = 2; proto <= 3; proto++) {
		struct harness_raw *b = raw_proto(proto);
		const char *null_arr = proto == 2 ? "*-1\r\n" : "_\r\n";
		int64_t t0;

		t0 = harness_mono_ms();
		raw_send_str(b, "BLPOP bl:never 0.2\r\n");
		expect_raw_reply(b, null_arr, "RESP%d: BLPOP times out with a null array", proto);
		check_int_range(harness_mono_ms() - t0, 150, 3000, "RESP%d: BLPOP waited about 0.2 s",
				proto);
		raw_send_str(b, "BRPOP bl:never bl:never2 0.1\r\n");
		expect_raw_reply(b, null_arr, "RESP%d: BRPOP times out with a null array", proto);
		raw_send_str(b, "BLMOVE {bt}a {bt}b LEFT LEFT 0.1\r\n");
		expect_raw_reply(b, null_arr, "RESP%d: BLMOVE times out with a null array too", proto);
		raw_send_str(b, "BRPOPLPUSH {bt}a {bt}b 0.1\r\n");
		expect_raw_reply(b, null_arr, "RESP%d: BRPOPLPUSH times out with a null array", proto);
		raw_send_str(b, "BLMPOP 0.1 1 bl:never LEFT\r\n");
		expect_raw_reply(b, null_arr, "RESP%d: BLMPOP times out with a null array", proto);
		raw_send_str(b, "PING\r\n");
		expect_raw_reply(b, proto == 2 ? "+PONG\r\n" : "+PONG\r\n",
				 "RESP%d: the connection works after the timeouts", proto);
		raw_close(b);
	}
}

static void test_blocking_in_multi(void)
{
	struct harness_raw *b = raw_connect(srv);

	raw_send_str(b, "MULTI\r\nBLPOP bl:m 0\r\nBLMOVE {bx}a {bx}b LEFT LEFT 0\r\n"
			"BRPOPLPUSH {bx}a {bx}b 0\r\nBLMPOP 0 1 bl:m LEFT\r\nEXEC\r\n");
	expect_raw_reply(b, "+OK\r\n", "MULTI");
	for (int i = 0; i < 4; i++)
		expect_raw_reply(b, "+QUEUED\r\n", "blocking command %d queued", i + 1);
	expect_raw_reply(b, "*4\r\n*-1\r\n$-1\r\n$-1\r\n*-1\r\n",
			 "inside MULTI blocking commands answer at once: null arrays for the "
			 "pops, nulls for the moves");
	raw_close(b);
}

static void test_blocking_errors(redisContext *c)
{
	expect_err(cmd(c, "BLPOP l:x abc"), ERR_TIMEOUT, "BLPOP with a bad timeout");
	expect_err(cmd(c, "BLPOP l:x -1"), "ERR timeout is negative", "BLPOP with a negative timeout");
	expect_err(cmd(c, "BLMOVE l:x l:y UP LEFT abc"), ERR_SYNTAX, "BLMOVE checks its ends first");
	expect_err(cmd(c, "BLMOVE l:x l:y LEFT LEFT abc"), ERR_TIMEOUT, "BLMOVE with a bad timeout");
	expect_err(cmd(c, "BRPOPLPUSH l:x l:y -1"), "ERR timeout is negative", "BRPOPLPUSH negative");
	expect_err(cmd(c, "BLMPOP abc 1 l:x LEFT"), ERR_TIMEOUT,
		   "BLMPOP checks its timeout after numkeys and the end");
	expect_err(cmd(c, "BLMPOP abc 0 l:x LEFT"), "ERR numkeys should be greater than 0",
		   "BLMPOP checks numkeys first");
	expect_err(cmd(c, "BLMPOP 0 1 l:x"), "ERR wrong number of arguments for 'blmpop' command",
		   "BLMPOP arity");
	expect_err(cmd(c, "BLPOP l:x"), "ERR wrong number of arguments for 'blpop' command", "BLPOP arity");
	run(c, "DEL l:ready");
	run(c, "RPUSH l:ready a b c");
	expect_reply(cmd(c, "BLPOP l:none l:ready 1"), "['l:ready','a']",
		     "BLPOP with an element ready answers at once");
	expect_reply(cmd(c, "BRPOP l:ready 1"), "['l:ready','c']", "BRPOP with an element ready");
	expect_reply(cmd(c, "BLMPOP 1 1 l:ready LEFT COUNT 5"), "['l:ready',['b']]",
		     "BLMPOP with elements ready");
	expect_int(cmd(c, "EXISTS l:ready"), 0, "the emptied list is gone");
}

static void run_all(redisContext *c)
{
	test_push_and_len(c);
	test_type_and_encoding(c);
	test_values_round_trip(c);
	test_pop_plain(c);
	test_pop_count(c);
	test_null_shapes();
	test_lrange(c);
	test_lindex_lset(c);
	test_linsert(c);
	test_lrem(c);
	test_ltrim(c);
	test_lpos(c);
	test_lmove_rpoplpush(c);
	test_lmpop(c);
	test_wrongtype(c);
	test_big_lists(c);

	/* Blocking: needs the server's blocking machinery. */
	test_blocking_errors(c);
	test_blpop_woken(c, 0);
	test_blpop_woken(c, 1);
	test_brpop_second_key(c);
	test_blocking_fifo(c);
	test_blmove_woken(c, 0);
	test_blmove_woken(c, 1);
	test_brpoplpush_woken(c);
	test_blmpop_woken(c);
	test_blocking_across_shards(c);
	test_blocked_client_ignores_wrong_type(c);
	test_blocking_timeouts();
	test_blocking_in_multi();
}

int main(void)
{
	static const char *const shards[] = { "2", "4" };
	redisContext *c;

	harness_init("test_list: list commands");
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
