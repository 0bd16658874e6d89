/*
 * test_hash.c - the hash commands, with the exact replies of redis-server
 * 7.0: HSET HSETNX HMSET HGET HMGET HGETALL HKEYS HVALS HDEL HLEN HEXISTS
 * HSTRLEN HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN, in RESP2 and (on a raw
 * connection) RESP3; WRONGTYPE from each; the listpack -> hashtable
 * conversion seen through OBJECT ENCODING and CONFIG SET; and the generic
 * commands on hash keys (TYPE, COPY, RENAME, DEL).
 *
 * Everything runs twice: on a server with the default shards and on one
 * started with --shards 2, where the keys of one test spread over both
 * shards. A listpack keeps fields in insertion order in both servers, so
 * small hashes are compared in order; a hashtable's order is not defined
 * and is compared as a set.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR_WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"
#define ERR_SYNTAX "ERR syntax error"
#define ERR_NOT_INT "ERR value is not an integer or out of range"
#define ERR_NOT_FLOAT "ERR value is not a valid float"

static void test_hset_hget(redisContext *c)
{
	run(c, "DEL h:a");
	expect_int(cmd(c, "HSET h:a f1 v1"), 1, "HSET of a new field on a new key is 1");
	expect_int(cmd(c, "HSET h:a f1 v2 f2 v2 f3 v3"), 2, "HSET counts only the new fields");
	expect_str(cmd(c, "HGET h:a f1"), "v2", "HSET replaced the value of f1");
	expect_nil(cmd(c, "HGET h:a nosuch"), "HGET of a missing field is nil");
	expect_nil(cmd(c, "HGET h:missing f1"), "HGET of a missing key is nil");
	expect_int(cmd(c, "HSET h:a f1 v2"), 0, "HSET of the same value again is 0");
	expect_status(cmd(c, "HMSET h:a f4 v4 f1 one"), "OK", "HMSET answers +OK");
	expect_str(cmd(c, "HGET h:a f1"), "one", "HMSET replaced f1");
	expect_array_of_str(cmd(c, "HMGET h:a f1 nosuch f4"), STRS("one", NULL, "v4"),
			    "HMGET gives nil for a missing field");
	expect_array_of_str(cmd(c, "HMGET h:missing a b"), STRS(NULL, NULL),
			    "HMGET of a missing key gives nils");
	expect_err(cmd(c, "HSET h:a f1"), "ERR wrong number of arguments for 'hset' command",
		   "HSET with a field and no value is an arity error");
	expect_err(cmd(c, "HSET h:a f1 v1 f2"), "ERR wrong number of arguments for 'hset' command",
		   "HSET with an odd number of field/value words is an arity error");
	expect_err(cmd(c, "HMSET h:a f1 v1 f2"), "ERR wrong number of arguments for 'hmset' command",
		   "HMSET with an odd number of words is an arity error");
	expect_err(cmd(c, "HGET h:a"), "ERR wrong number of arguments for 'hget' command",
		   "HGET without a field is an arity error");
	expect_err(cmd(c, "HMGET h:a"), "ERR wrong number of arguments for 'hmget' command",
		   "HMGET without a field is an arity error");
	expect_int(cmd(c, "HSET h:b %b %b", "a\0b", (size_t)3, "\r\n\0", (size_t)3), 1,
		   "HSET of a binary field and value");
	expect_bin(cmd(c, "HGET h:b %b", "a\0b", (size_t)3), "\r\n\0", 3,
		   "HGET of a binary field returns the binary value");
	expect_int(cmd(c, "HSET h:b %s %s", "", ""), 1, "HSET of an empty field and value");
	expect_str(cmd(c, "HGET h:b %s", ""), "", "HGET of the empty field is an empty string");
	expect_int(cmd(c, "HSET h:b n 12345"), 1, "HSET of an integer-looking value");
	expect_str(cmd(c, "HGET h:b n"), "12345", "an integer value reads back as its text");
	expect_int(cmd(c, "HSET h:b z 007"), 1, "HSET of a number with leading zeros");
	expect_str(cmd(c, "HGET h:b z"), "007", "a non-canonical number keeps its spelling");
	expect_reply(cmd(c, "TYPE h:b"), "+hash", "TYPE of a hash key is hash");
}

static void test_hsetnx(redisContext *c)
{
	run(c, "DEL h:nx");
	expect_int(cmd(c, "HSETNX h:nx f a"), 1, "HSETNX on a missing key sets the field");
	expect_int(cmd(c, "HSETNX h:nx f b"), 0, "HSETNX on an existing field is 0");
	expect_str(cmd(c, "HGET h:nx f"), "a", "HSETNX did not overwrite");
	expect_int(cmd(c, "HSETNX h:nx g b"), 1, "HSETNX of a new field of an existing hash");
	expect_int(cmd(c, "HLEN h:nx"), 2, "the hash has both fields");
	expect_err(cmd(c, "HSETNX h:nx f"), "ERR wrong number of arguments for 'hsetnx' command",
		   "HSETNX without a value is an arity error");
}

static void test_hdel(redisContext *c)
{
	run(c, "DEL h:d");
	run(c, "HSET h:d a 1 b 2 c 3 d 4");
	expect_int(cmd(c, "HDEL h:d a"), 1, "HDEL of one field is 1");
	expect_int(cmd(c, "HDEL h:d a"), 0, "HDEL of a deleted field is 0");
	expect_int(cmd(c, "HDEL h:d b x c"), 2, "HDEL of several fields counts those removed");
	expect_int(cmd(c, "HDEL h:missing a"), 0, "HDEL on a missing key is 0");
	expect_int(cmd(c, "HLEN h:d"), 1, "one field is left");
	expect_int(cmd(c, "HDEL h:d d d x"), 1, "HDEL of the last field (twice) is 1");
	expect_int(cmd(c, "EXISTS h:d"), 0, "the key is gone with its last field");
	run(c, "HSET h:d a 1 b 2");
	expect_int(cmd(c, "HDEL h:d a b c"), 2, "HDEL stops when the hash becomes empty");
	expect_int(cmd(c, "EXISTS h:d"), 0, "the emptied key is gone");
	expect_err(cmd(c, "HDEL h:d"), "ERR wrong number of arguments for 'hdel' command",
		   "HDEL without a field is an arity error");
}

static void test_hlen_hexists_hstrlen(redisContext *c)
{
	run(c, "DEL h:l");
	run(c, "HSET h:l a hello n -123 e %s", "");
	expect_int(cmd(c, "HLEN h:l"), 3, "HLEN counts the fields");
	expect_int(cmd(c, "HLEN h:missing"), 0, "HLEN of a missing key is 0");
	expect_int(cmd(c, "HEXISTS h:l a"), 1, "HEXISTS of a field is 1");
	expect_int(cmd(c, "HEXISTS h:l hello"), 0, "a value is not a field");
	expect_int(cmd(c, "HEXISTS h:missing a"), 0, "HEXISTS on a missing key is 0");
	expect_int(cmd(c, "HSTRLEN h:l a"), 5, "HSTRLEN of a text value");
	expect_int(cmd(c, "HSTRLEN h:l n"), 4, "HSTRLEN of an integer value counts its digits");
	expect_int(cmd(c, "HSTRLEN h:l e"), 0, "HSTRLEN of an empty value is 0");
	expect_int(cmd(c, "HSTRLEN h:l x"), 0, "HSTRLEN of a missing field is 0");
	expect_int(cmd(c, "HSTRLEN h:missing x"), 0, "HSTRLEN of a missing key is 0");
}

static void test_hgetall_hkeys_hvals(redisContext *c)
{
	run(c, "DEL h:g");
	run(c, "HSET h:g z 1 y 2 x 3");
	run(c, "HSET h:g z 0");
	expect_array_of_str(cmd(c, "HGETALL h:g"), STRS("z", "0", "y", "2", "x", "3"),
			    "HGETALL of a small hash, in insertion order");
	expect_array_of_str(cmd(c, "HKEYS h:g"), STRS("z", "y", "x"), "HKEYS in insertion order");
	expect_array_of_str(cmd(c, "HVALS h:g"), STRS("0", "2", "3"), "HVALS in insertion order");
	expect_empty_array(cmd(c, "HGETALL h:missing"), "HGETALL of a missing key is empty");
	expect_empty_array(cmd(c, "HKEYS h:missing"), "HKEYS of a missing key is empty");
	expect_empty_array(cmd(c, "HVALS h:missing"), "HVALS of a missing key is empty");
	run(c, "HDEL h:g y");
	expect_array_of_str(cmd(c, "HGETALL h:g"), STRS("z", "0", "x", "3"),
			    "HGETALL after HDEL of a middle field");
}

static void test_hincrby(redisContext *c)
{
	run(c, "DEL h:i");
	expect_int(cmd(c, "HINCRBY h:i n 5"), 5, "HINCRBY creates the key and field at 0");
	expect_int(cmd(c, "HINCRBY h:i n -7"), -2, "HINCRBY with a negative increment");
	expect_str(cmd(c, "HGET h:i n"), "-2", "HGET reads the incremented value");
	run(c, "HSET h:i big 17179869184 s abc sp %s sp2 %s", " 11", "11 ");
	expect_int(cmd(c, "HINCRBY h:i big 1"), 17179869185LL, "HINCRBY over 32 bits");
	expect_err(cmd(c, "HINCRBY h:i s 1"), "ERR hash value is not an integer",
		   "HINCRBY of a text value");
	expect_err(cmd(c, "HINCRBY h:i sp 1"), "ERR hash value is not an integer",
		   "HINCRBY of a value with a leading space");
	expect_err(cmd(c, "HINCRBY h:i sp2 1"), "ERR hash value is not an integer",
		   "HINCRBY of a value with a trailing space");
	expect_err(cmd(c, "HINCRBY h:i n x"), ERR_NOT_INT, "HINCRBY with a text increment");
	expect_err(cmd(c, "HINCRBY h:none n 1.5"), ERR_NOT_INT, "HINCRBY with a float increment");
	expect_int(cmd(c, "EXISTS h:none"), 0, "a failed HINCRBY created no key");
	run(c, "HSET h:i max 9223372036854775807 min -9223372036854775808");
	expect_err(cmd(c, "HINCRBY h:i max 1"), "ERR increment or decrement would overflow",
		   "HINCRBY past LLONG_MAX");
	expect_err(cmd(c, "HINCRBY h:i min -1"), "ERR increment or decrement would overflow",
		   "HINCRBY below LLONG_MIN");
	expect_int(cmd(c, "HINCRBY h:i max -1"), 9223372036854775806LL,
		   "HINCRBY down from LLONG_MAX");
	expect_int(cmd(c, "HINCRBY h:i min 9223372036854775807"), -1,
		   "HINCRBY of LLONG_MIN by LLONG_MAX");
}

static void test_hincrbyfloat(redisContext *c)
{
	run(c, "DEL h:f h:fnone");
	expect_str(cmd(c, "HINCRBYFLOAT h:f x 10.5"), "10.5", "HINCRBYFLOAT creates at 0");
	expect_str(cmd(c, "HINCRBYFLOAT h:f x 0.25"), "10.75", "HINCRBYFLOAT adds");
	expect_str(cmd(c, "HINCRBYFLOAT h:f x -10.75"), "0", "HINCRBYFLOAT prints 0 plainly");
	expect_str(cmd(c, "HINCRBYFLOAT h:f y 5.0e3"), "5000", "an exponent increment");
	run(c, "HSET h:f i 17179869184 s abc sp %s nul %b", " 1", "1\0" "2", (size_t)3);
	expect_str(cmd(c, "HINCRBYFLOAT h:f i 1.5"), "17179869185.5", "HINCRBYFLOAT of an int");
	expect_str(cmd(c, "HGET h:f i"), "17179869185.5", "the stored text is the reply");
	expect_err(cmd(c, "HINCRBYFLOAT h:f s 1"), "ERR hash value is not a float",
		   "HINCRBYFLOAT of a text value");
	expect_err(cmd(c, "HINCRBYFLOAT h:f sp 1"), "ERR hash value is not a float",
		   "HINCRBYFLOAT of a value with a leading space");
	expect_err(cmd(c, "HINCRBYFLOAT h:f nul 1"), "ERR hash value is not a float",
		   "HINCRBYFLOAT of a value with a NUL inside");
	expect_err(cmd(c, "HINCRBYFLOAT h:f x abc"), ERR_NOT_FLOAT, "a text increment");
	expect_err(cmd(c, "HINCRBYFLOAT h:fnone x +inf"), "ERR value is NaN or Infinity",
		   "an infinite increment");
	expect_err(cmd(c, "HINCRBYFLOAT h:fnone x nan"), ERR_NOT_FLOAT, "a NaN increment");
	expect_int(cmd(c, "EXISTS h:fnone"), 0, "a failed HINCRBYFLOAT created no key");
	run(c, "HSET h:f huge inf");
	expect_err(cmd(c, "HINCRBYFLOAT h:f huge 1"),
		   "ERR increment would produce NaN or Infinity", "an infinite result");
	expect_str(cmd(c, "HGET h:f huge"), "inf", "the failed increment left the value");
}

/* Sends the space-separated words of line as one command. */
static redisReply *cmd_words(redisContext *c, const char *line)
{
	const char *argv[16];
	char buf[256], *save = NULL, *w;
	int argc = 0;

	snprintf(buf, sizeof(buf), "%s", line);
	for (w = strtok_r(buf, " ", &save); w && argc < 16; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	return cmd_argv(c, argc, argv, NULL);
}

static void test_wrongtype(redisContext *c)
{
	static const char *const cmds[] = {
		"HSET h:str a b", "HSETNX h:str a b", "HMSET h:str a b", "HGET h:str a",
		"HMGET h:str a", "HGETALL h:str", "HKEYS h:str", "HVALS h:str", "HDEL h:str a",
		"HLEN h:str", "HEXISTS h:str a", "HSTRLEN h:str a", "HINCRBY h:str a 1",
		"HINCRBYFLOAT h:str a 1", "HRANDFIELD h:str", "HRANDFIELD h:str 2",
		"HRANDFIELD h:str -2 WITHVALUES", "HSCAN h:str 0",
	};

	run(c, "SET h:str v");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		expect_err(cmd_words(c, cmds[i]), ERR_WRONGTYPE, "%s on a string", cmds[i]);
	expect_str(cmd(c, "GET h:str"), "v", "the string is untouched");
	run(c, "HSET h:h a 1");
	expect_err(cmd(c, "GET h:h"), ERR_WRONGTYPE, "GET on a hash");
	expect_err(cmd(c, "INCR h:h"), ERR_WRONGTYPE, "INCR on a hash");
	expect_status(cmd(c, "SET h:h x"), "OK", "SET replaces a hash");
	expect_reply(cmd(c, "TYPE h:h"), "+string", "the key is a string now");
}

static void test_encoding_conversion(redisContext *c)
{
	char *old_entries = harness_config_get(c, "hash-max-listpack-entries");
	char *old_value = harness_config_get(c, "hash-max-listpack-value");
	char *alias;
	char big[65];

	check(old_entries && old_value, "CONFIG GET of the hash encoding limits");
	run(c, "DEL h:e h:e2 h:e3 h:e4 h:e5");
	run(c, "HSET h:e a 1 b 2");
	expect_str(cmd(c, "OBJECT ENCODING h:e"), "listpack", "a small hash is a listpack");
	check(harness_config_set(c, "hash-max-listpack-entries", "4"), "CONFIG SET entries 4");
	alias = harness_config_get(c, "hash-max-ziplist-entries");
	check_str(alias ? alias : "(none)", "4", "hash-max-ziplist-entries is the same option");
	free(alias);
	run(c, "HSET h:e c 3 d 4");
	expect_str(cmd(c, "OBJECT ENCODING h:e"), "listpack", "4 fields at a limit of 4: listpack");
	run(c, "HSET h:e e 5");
	expect_str(cmd(c, "OBJECT ENCODING h:e"), "hashtable", "the 5th field converts");
	expect_set_of_str(cmd(c, "HGETALL h:e"), STRS("a", "1", "b", "2", "c", "3", "d", "4", "e", "5"),
			  "the converted hash kept every pair");
	run(c, "HDEL h:e a b c d");
	expect_str(cmd(c, "OBJECT ENCODING h:e"), "hashtable", "a hashtable never goes back");
	expect_array_of_str(cmd(c, "HGETALL h:e"), STRS("e", "5"), "one pair is left");

	check(harness_config_set(c, "hash-max-listpack-entries", "128"), "CONFIG SET entries 128");
	memset(big, 'x', 64);
	big[64] = '\0';
	run(c, "HSET h:e2 f %s", big);
	expect_str(cmd(c, "OBJECT ENCODING h:e2"), "listpack", "a 64-byte value stays listpack");
	run(c, "HSET h:e2 g %sx", big);
	expect_str(cmd(c, "OBJECT ENCODING h:e2"), "hashtable", "a 65-byte value converts");
	run(c, "HSET h:e3 %sx v", big);
	expect_str(cmd(c, "OBJECT ENCODING h:e3"), "hashtable", "a 65-byte field converts");
	check(harness_config_set(c, "hash-max-listpack-value", "4"), "CONFIG SET value 4");
	run(c, "HSET h:e4 n 1");
	expect_int(cmd(c, "HINCRBY h:e4 n 99999"), 100000, "HINCRBY to a 6-digit value");
	expect_str(cmd(c, "OBJECT ENCODING h:e4"), "hashtable",
		   "a counter grown past hash-max-listpack-value converts");
	expect_int(cmd(c, "HSETNX h:e5 abcde 1"), 1, "HSETNX of a 5-byte field");
	expect_str(cmd(c, "OBJECT ENCODING h:e5"), "hashtable", "HSETNX of a long field converts");
	check(harness_config_set(c, "hash-max-listpack-value", old_value ? old_value : "64"),
	      "CONFIG SET value back");
	check(harness_config_set(c, "hash-max-listpack-entries", old_entries ? old_entries : "128"),
	      "CONFIG SET entries back");
	free(old_entries);
	free(old_value);
}

static void test_big_hash(redisContext *c)
{
	char f[32], v[32];
	redisReply *r;
	int ok = 1;

	run(c, "DEL h:big");
	for (int i = 0; i < 1000; i++) {
		snprintf(f, sizeof(f), "field:%d", i);
		snprintf(v, sizeof(v), "%d", i * 3);
		redisAppendCommand(c, "HSET h:big %s %s", f, v);
	}
	for (int i = 0; i < 1000; i++) {
		if (redisGetReply(c, (void **)&r) != REDIS_OK)
			harness_bail("lost the connection during pipelined HSETs");
		ok &= r->type == REDIS_REPLY_INTEGER && r->integer == 1;
		freeReplyObject(r);
	}
	check(ok, "1000 pipelined HSETs of new fields all answer 1");
	expect_int(cmd(c, "HLEN h:big"), 1000, "HLEN of the big hash");
	expect_str(cmd(c, "OBJECT ENCODING h:big"), "hashtable", "1000 fields are a hashtable");
	expect_str(cmd(c, "HGET h:big field:777"), "2331", "HGET in the big hash");
	expect_int(cmd(c, "HINCRBY h:big field:777 1"), 2332, "HINCRBY in the big hash");
	expect_int(cmd(c, "HSTRLEN h:big field:10"), 2, "HSTRLEN in the big hash");
	r = cmd(c, "HGETALL h:big");
	check(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2000,
	      "HGETALL of the big hash has 2000 elements");
	if (r)
		freeReplyObject(r);
	for (int i = 0; i < 999; i++)
		redisAppendCommand(c, "HDEL h:big field:%d", i);
	for (int i = 0; i < 999; i++) {
		if (redisGetReply(c, (void **)&r) != REDIS_OK)
			harness_bail("lost the connection during pipelined HDELs");
		freeReplyObject(r);
	}
	expect_array_of_str(cmd(c, "HGETALL h:big"), STRS("field:999", "2997"),
			    "the last field left after 999 HDELs");
	expect_int(cmd(c, "HDEL h:big field:999"), 1, "HDEL of the last field");
	expect_int(cmd(c, "EXISTS h:big"), 0, "the big hash is gone");
}

/* Counts of each of the fields "a".."e" in an array reply (field or
 * field/value elements); returns false on anything else. */
static bool count_fields(const redisReply *r, size_t step, int counts[5])
{
	memset(counts, 0, 5 * sizeof(int));
	if (!r || r->type != REDIS_REPLY_ARRAY)
		return false;
	for (size_t i = 0; i < r->elements; i += step) {
		const redisReply *e = r->element[i];

		if (e->type != REDIS_REPLY_STRING || e->len != 1 || e->str[0] < 'a' || e->str[0] > 'e')
			return false;
		if (step == 2) {
			const redisReply *v = r->element[i + 1];

			if (v->type != REDIS_REPLY_STRING || v->len != 1 ||
			    v->str[0] != '1' + (e->str[0] - 'a'))
				return false;
		}
		counts[e->str[0] - 'a']++;
	}
	return true;
}

static void test_hrandfield(redisContext *c)
{
	redisReply *r;
	int counts[5];
	bool all;

	run(c, "DEL h:r");
	run(c, "HSET h:r a 1 b 2 c 3 d 4 e 5");
	expect_nil(cmd(c, "HRANDFIELD h:missing"), "HRANDFIELD of a missing key is nil");
	expect_empty_array(cmd(c, "HRANDFIELD h:missing 3"), "with a count, an empty array");
	expect_empty_array(cmd(c, "HRANDFIELD h:r 0"), "a count of 0 is an empty array");
	r = cmd(c, "HRANDFIELD h:r");
	check(r && r->type == REDIS_REPLY_STRING && r->len == 1 && r->str[0] >= 'a' &&
	      r->str[0] <= 'e', "HRANDFIELD without a count is one field");
	if (r)
		freeReplyObject(r);

	r = cmd(c, "HRANDFIELD h:r 3");
	check(count_fields(r, 1, counts) && r->elements == 3 &&
	      counts[0] <= 1 && counts[1] <= 1 && counts[2] <= 1 && counts[3] <= 1 && counts[4] <= 1,
	      "a positive count gives distinct fields");
	if (r)
		freeReplyObject(r);
	expect_set_of_str(cmd(c, "HRANDFIELD h:r 10"), STRS("a", "b", "c", "d", "e"),
			  "a count above the size gives every field");
	expect_set_of_str(cmd(c, "HRANDFIELD h:r 5 WITHVALUES"),
			  STRS("a", "1", "b", "2", "c", "3", "d", "4", "e", "5"),
			  "WITHVALUES gives every pair");
	r = cmd(c, "HRANDFIELD h:r 2 withvalues");
	check(count_fields(r, 2, counts) && r->elements == 4,
	      "HRANDFIELD 2 WITHVALUES: two fields, each with its own value");
	if (r)
		freeReplyObject(r);
	r = cmd(c, "HRANDFIELD h:r -50");
	check(count_fields(r, 1, counts) && r->elements == 50,
	      "a negative count gives that many fields, repeats allowed");
	if (r)
		freeReplyObject(r);
	r = cmd(c, "HRANDFIELD h:r -500 WITHVALUES");
	all = count_fields(r, 2, counts) && r->elements == 1000;
	for (int i = 0; i < 5; i++)
		all = all && counts[i] > 50;
	check(all, "500 picks WITHVALUES: 1000 elements, every field picked often");
	if (r)
		freeReplyObject(r);

	expect_err(cmd(c, "HRANDFIELD h:r abc"), ERR_NOT_INT, "a text count");
	expect_err(cmd(c, "HRANDFIELD h:r 1 WITHVALUE"), ERR_SYNTAX, "a misspelled WITHVALUES");
	expect_err(cmd(c, "HRANDFIELD h:r 1 WITHVALUES x"), ERR_SYNTAX, "an extra argument");
	expect_err(cmd(c, "HRANDFIELD h:r -9223372036854775808"),
		   "ERR value is out of range, value must between -9223372036854775807 and "
		   "9223372036854775807", "LLONG_MIN as a count");
	expect_err(cmd(c, "HRANDFIELD h:r -9223372036854770000 WITHVALUES"),
		   "ERR value is out of range", "a WITHVALUES count that could overflow");
	expect_err(cmd(c, "HRANDFIELD h:missing 1 WITHVALUES x"), ERR_SYNTAX,
		   "the syntax is checked before the key");
}

static void test_hscan(redisContext *c)
{
	redisReply *r;
	char *seen;
	unsigned long long cursor = 0;
	int calls = 0, missing = 0;
	char *old_entries;

	run(c, "DEL h:s h:sbig");
	run(c, "HSET h:s a 1 b 2 ab 3");
	expect_reply(cmd(c, "HSCAN h:s 0"), "['0',['a','1','b','2','ab','3']]",
		     "HSCAN of a listpack returns everything with cursor 0");
	expect_reply(cmd(c, "HSCAN h:s 0 MATCH a*"), "['0',['a','1','ab','3']]",
		     "MATCH filters on the field");
	expect_reply(cmd(c, "HSCAN h:s 0 MATCH * COUNT 1"), "['0',['a','1','b','2','ab','3']]",
		     "COUNT does not split a listpack");
	expect_reply(cmd(c, "HSCAN h:missing 0"), "['0',[]]", "HSCAN of a missing key");
	expect_reply(cmd(c, "HSCAN h:missing 0 COUNT 0"), "['0',[]]",
		     "the options of a missing key are not checked");
	expect_err(cmd(c, "HSCAN h:s x"), "ERR invalid cursor", "a text cursor");
	expect_err(cmd(c, "HSCAN h:missing x"), "ERR invalid cursor",
		   "the cursor is checked before the key");
	expect_err(cmd(c, "HSCAN h:s 0 COUNT 0"), ERR_SYNTAX, "COUNT 0");
	expect_err(cmd(c, "HSCAN h:s 0 COUNT x"), ERR_NOT_INT, "a text COUNT");
	expect_err(cmd(c, "HSCAN h:s 0 MATCH"), ERR_SYNTAX, "MATCH without a pattern");
	expect_err(cmd(c, "HSCAN h:s 0 TYPE string"), ERR_SYNTAX, "TYPE is not an HSCAN option");

	/* the default limit differs (Redis 512; see the report); pin it so
	 * that 500 fields are a hashtable on any server */
	old_entries = harness_config_get(c, "hash-max-listpack-entries");
	check(harness_config_set(c, "hash-max-listpack-entries", "128"), "CONFIG SET entries 128");
	for (int i = 0; i < 500; i++)
		redisAppendCommand(c, "HSET h:sbig f%d v%d", i, i);
	for (int i = 0; i < 500; i++) {
		if (redisGetReply(c, (void **)&r) != REDIS_OK)
			harness_bail("lost the connection during pipelined HSETs");
		freeReplyObject(r);
	}
	seen = calloc(500, 1);
	if (!seen)
		harness_bail("out of memory");
	do {
		r = cmd(c, "HSCAN h:sbig %llu COUNT 20", cursor);
		if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[1]->type != REDIS_REPLY_ARRAY || r->element[1]->elements % 2) {
			check(false, "HSCAN of a hashtable answers [cursor, [field, value ...]]");
			if (r)
				freeReplyObject(r);
			break;
		}
		cursor = strtoull(r->element[0]->str, NULL, 10);
		for (size_t i = 0; i < r->element[1]->elements; i += 2) {
			int n = atoi(r->element[1]->element[i]->str + 1);

			if (n >= 0 && n < 500 &&
			    atoi(r->element[1]->element[i + 1]->str + 1) == n)
				seen[n] = 1;
		}
		freeReplyObject(r);
		calls++;
	} while (cursor != 0 && calls < 10000);
	for (int i = 0; i < 500; i++)
		missing += !seen[i];
	free(seen);
	check(calls > 1, "a hashtable is scanned in several calls");
	check_int(missing, 0, "a full HSCAN of a hashtable sees every field with its value");
	r = cmd(c, "HSCAN h:sbig 0 MATCH f42* COUNT 1000");
	check(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	      r->element[1]->elements == 22, "MATCH f42* over 500 fields finds f42, f420..f429");
	if (r)
		freeReplyObject(r);
	check(harness_config_set(c, "hash-max-listpack-entries", old_entries ? old_entries : "128"),
	      "CONFIG SET entries back");
	free(old_entries);
}

static void test_generic_commands(redisContext *c)
{
	run(c, "DEL h:k h:k2 h:k3");
	run(c, "HSET h:k a 1 b 2");
	expect_int(cmd(c, "COPY h:k h:k2"), 1, "COPY of a hash");
	run(c, "HSET h:k a changed");
	expect_array_of_str(cmd(c, "HGETALL h:k2"), STRS("a", "1", "b", "2"),
			    "the copy is independent of the original");
	expect_str(cmd(c, "OBJECT ENCODING h:k2"), "listpack", "the copy keeps the encoding");
	expect_status(cmd(c, "RENAME h:k2 h:k3"), "OK", "RENAME of a hash");
	expect_str(cmd(c, "HGET h:k3 b"), "2", "the renamed hash keeps its fields");
	expect_int(cmd(c, "EXPIRE h:k3 100"), 1, "EXPIRE on a hash");
	run(c, "HSET h:k3 c 3");
	expect_int(cmd(c, "TTL h:k3"), 100, "HSET keeps the TTL of the hash");
	expect_int(cmd(c, "DEL h:k h:k3"), 2, "DEL of hashes");
	expect_int(cmd(c, "EXISTS h:k h:k3"), 0, "the hashes are gone");
}

/* RESP3 shapes, on a raw connection for exact bytes. */
static void test_resp3(const struct harness_server *srv)
{
	struct harness_raw *raw = raw_connect(srv);
	char *hello;

	raw_send_str(raw, "HELLO 3\r\n");
	hello = raw_read_reply(raw, 5000, NULL);
	check(hello && hello[0] == '%', "HELLO 3 answers a map");
	free(hello);
	raw_send_str(raw, "DEL h:3\r\nHSET h:3 a 1\r\n");
	free(raw_read_reply(raw, 5000, NULL));
	free(raw_read_reply(raw, 5000, NULL));
	raw_send_str(raw, "HGETALL h:3\r\n");
	expect_raw_reply(raw, "%1\r\n$1\r\na\r\n$1\r\n1\r\n", "HGETALL is a map in RESP3");
	raw_send_str(raw, "HGETALL h:missing\r\n");
	expect_raw_reply(raw, "%0\r\n", "HGETALL of a missing key is an empty map");
	raw_send_str(raw, "HKEYS h:missing\r\n");
	expect_raw_reply(raw, "*0\r\n", "HKEYS of a missing key is an empty array");
	raw_send_str(raw, "HGET h:3 x\r\n");
	expect_raw_reply(raw, "_\r\n", "HGET of a missing field is a RESP3 null");
	raw_send_str(raw, "HMGET h:3 a x\r\n");
	expect_raw_reply(raw, "*2\r\n$1\r\n1\r\n_\r\n", "HMGET with a missing field");
	raw_send_str(raw, "HRANDFIELD h:missing\r\n");
	expect_raw_reply(raw, "_\r\n", "HRANDFIELD of a missing key is null");
	raw_send_str(raw, "HRANDFIELD h:3 1 WITHVALUES\r\n");
	expect_raw_reply(raw, "*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n",
			 "HRANDFIELD WITHVALUES gives [field, value] pairs");
	raw_send_str(raw, "HRANDFIELD h:3 -2 WITHVALUES\r\n");
	expect_raw_reply(raw, "*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n",
			 "negative count WITHVALUES: pairs too");
	raw_send_str(raw, "HRANDFIELD h:3 2\r\n");
	expect_raw_reply(raw, "*1\r\n$1\r\na\r\n", "without WITHVALUES: a flat array");
	raw_send_str(raw, "HSCAN h:3 0\r\n");
	expect_raw_reply(raw, "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n",
			 "HSCAN has the same shape in RESP3");
	raw_send_str(raw, "HINCRBYFLOAT h:3 a 0.5\r\n");
	expect_raw_reply(raw, "$3\r\n1.5\r\n", "HINCRBYFLOAT answers a bulk string in RESP3");
	raw_send_str(raw, "DEL h:3\r\n");
	free(raw_read_reply(raw, 5000, NULL));
	raw_close(raw);
}

static void run_all(struct harness_server *srv, const char *label)
{
	redisContext *c = harness_connect(srv);

	harness_diag("server: %s", label);
	expect_status(cmd(c, "FLUSHALL"), "OK", "FLUSHALL before the tests");
	test_hset_hget(c);
	test_hsetnx(c);
	test_hdel(c);
	test_hlen_hexists_hstrlen(c);
	test_hgetall_hkeys_hvals(c);
	test_hincrby(c);
	test_hincrbyfloat(c);
	test_wrongtype(c);
	test_encoding_conversion(c);
	test_big_hash(c);
	test_hrandfield(c);
	test_hscan(c);
	test_generic_commands(c);
	test_resp3(srv);
	expect_status(cmd(c, "FLUSHALL"), "OK", "FLUSHALL after the tests");
	redisFree(c);
}

int main(void)
{
	struct harness_server *srv;

	harness_init("test_hash: hash commands");
	srv = harness_server_start();
	run_all(srv, "default shards");
	harness_server_stop(srv);
	srv = harness_server_start("--shards", "2");
	run_all(srv, "--shards 2");
	harness_server_stop(srv);
	return harness_done();
}
