/*
 * test_set.c - the set commands, with the exact replies of redis-server
 * 7.0: SADD SREM SISMEMBER SMISMEMBER SMEMBERS SCARD SPOP SRANDMEMBER SMOVE
 * SINTER SINTERCARD SUNION SDIFF SINTERSTORE SUNIONSTORE SDIFFSTORE SSCAN,
 * the intset/hashtable encodings OBJECT ENCODING shows, WRONGTYPE, RESP3
 * set replies, and the multi-key commands over keys on different shards.
 *
 * The server runs with "--shards 2" (dropped for redis-server). Keys for
 * the cross-shard tests are chosen by hash slot parity, so they live on
 * different shards whenever the shard count is even (shard = slot mod N).
 * Replies whose order Redis leaves open are compared as sets.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR_WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"
#define ERR_SYNTAX "ERR syntax error"
#define ERR_NOT_INT "ERR value is not an integer or out of range"
#define ERR_POSITIVE "ERR value is out of range, must be positive"

/* The first "<prefix><n>" whose slot has the given parity. */
static void key_with_parity(char *out, size_t cap, const char *prefix, unsigned parity)
{
	harness_pick_key(out, cap, prefix, "", 2, parity);
}

/* SADD key with members "<prefix>0" .. "<prefix>n-1" (prefix "" gives
 * integers). */
static void sadd_range(redisContext *c, const char *key, const char *prefix, int from, int to)
{
	int n = to - from + 2;
	const char **argv = calloc((size_t)n, sizeof(*argv));
	char **bufs = calloc((size_t)n, sizeof(*bufs));

	argv[0] = "SADD";
	argv[1] = key;
	for (int i = from; i < to; i++) {
		bufs[i - from] = malloc(32);
		snprintf(bufs[i - from], 32, "%s%d", prefix, i);
		argv[i - from + 2] = bufs[i - from];
	}
	expect_int(cmd_argv(c, n, argv, NULL), to - from, "SADD %s of %d members", key, to - from);
	for (int i = 0; i < to - from; i++)
		free(bufs[i]);
	free(bufs);
	free(argv);
}

/* The elements of an array reply as strings, sorted, joined by spaces
 * (malloc'd), or NULL if r is not an array of strings. Frees r. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *sorted_join(redisReply *r)
{
	char **v, *out;
	size_t total = 1;

	if (!r || r->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(r);
		return NULL;
	}
	v = calloc(r->elements + 1, sizeof(*v));
	for (size_t i = 0; i < r->elements; i++) {
		v[i] = r->element[i]->str ? r->element[i]->str : "?";
		total += strlen(v[i]) + 1;
	}
	qsort(v, r->elements, sizeof(*v), cmp_str);
	out = calloc(1, total);
	for (size_t i = 0; i < r->elements; i++) {
		if (i)
			strcat(out, " ");
		strcat(out, v[i]);
	}
	free(v);
	freeReplyObject(r);
	return out;
}

/* An array reply whose elements, sorted, joined by spaces, are want. */
static bool expect_sorted(redisReply *r, const char *want, const char *desc)
{
	char *got = sorted_join(r);
	bool ok = check_str(got ? got : "(not an array)", want, "%s", desc);

	free(got);
	return ok;
}

static void test_basics_of_both_encodings(redisContext *c)
{
	expect_int(cmd(c, "SADD s:h foo"), 1, "SADD creates a set");
	expect_status(cmd(c, "TYPE s:h"), "set", "TYPE of a set is +set");
	expect_str(cmd(c, "OBJECT ENCODING s:h"), "hashtable", "a set of strings is a hashtable");
	expect_int(cmd(c, "SADD s:h bar"), 1, "SADD of a new member is 1");
	expect_int(cmd(c, "SADD s:h bar"), 0, "SADD of a member is 0");
	expect_int(cmd(c, "SADD s:h a b a bar"), 2, "variadic SADD counts distinct new members");
	expect_int(cmd(c, "SCARD s:h"), 4, "SCARD counts members");
	expect_int(cmd(c, "SISMEMBER s:h foo"), 1, "SISMEMBER of a member is 1");
	expect_int(cmd(c, "SISMEMBER s:h bla"), 0, "SISMEMBER of a non-member is 0");
	expect_reply(cmd(c, "SMISMEMBER s:h foo bla bar"), "[1,0,1]",
		     "SMISMEMBER answers each value in order");
	expect_set_of_str(cmd(c, "SMEMBERS s:h"), STRS("foo", "bar", "a", "b"), "SMEMBERS");

	expect_int(cmd(c, "SADD s:i 17 16 -5"), 3, "SADD of integers");
	expect_str(cmd(c, "OBJECT ENCODING s:i"), "intset", "a set of integers is an intset");
	expect_int(cmd(c, "SISMEMBER s:i 16"), 1, "SISMEMBER in an intset");
	expect_int(cmd(c, "SISMEMBER s:i 016"), 0, "016 is not the member 16");
	expect_reply(cmd(c, "SMISMEMBER s:i 18 -5"), "[0,1]", "SMISMEMBER in an intset");
	expect_reply(cmd(c, "SMEMBERS s:i"), "['-5','16','17']", "an intset lists in order");

	expect_int(cmd(c, "SCARD s:none"), 0, "SCARD of a missing key is 0");
	expect_int(cmd(c, "SISMEMBER s:none a"), 0, "SISMEMBER of a missing key is 0");
	expect_reply(cmd(c, "SMISMEMBER s:none a b"), "[0,0]", "SMISMEMBER of a missing key");
	expect_empty_array(cmd(c, "SMEMBERS s:none"), "SMEMBERS of a missing key is empty");
	expect_err(cmd(c, "SADD s:h"), "ERR wrong number of arguments for 'sadd' command",
		   "SADD without members is an arity error");
	expect_err(cmd(c, "SMISMEMBER s:h"), "ERR wrong number of arguments for 'smismember' command",
		   "SMISMEMBER without members is an arity error");

	expect_int(cmd(c, "SADD s:bin %b %s", "a\0b", (size_t)3, ""), 2,
		   "SADD of a binary and an empty member");
	expect_int(cmd(c, "SISMEMBER s:bin %b", "a\0b", (size_t)3), 1, "binary member found");
	expect_int(cmd(c, "SISMEMBER s:bin %s", ""), 1, "empty member found");
	expect_int(cmd(c, "SISMEMBER s:bin a"), 0, "a prefix of a binary member is not a member");
	run(c, "DEL s:h s:i s:bin");
}

static void test_encoding_conversions(redisContext *c)
{
	char *old = harness_config_get(c, "set-max-intset-entries");

	expect_int(cmd(c, "SADD s:c 1 2 3"), 3, "SADD integers");
	expect_int(cmd(c, "SADD s:c a"), 1, "SADD a string to an intset");
	expect_str(cmd(c, "OBJECT ENCODING s:c"), "hashtable", "a string converts an intset");
	expect_int(cmd(c, "SREM s:c a"), 1, "SREM the string");
	expect_str(cmd(c, "OBJECT ENCODING s:c"), "hashtable", "a set never converts back");

	expect_int(cmd(c, "SADD s:big 213244124402402314402033402"), 1, "SADD a 90-bit number");
	expect_str(cmd(c, "OBJECT ENCODING s:big"), "hashtable", "a number past 64 bits is a string");
	expect_int(cmd(c, "SADD s:nc 007"), 1, "SADD 007");
	expect_str(cmd(c, "OBJECT ENCODING s:nc"), "hashtable", "007 is not a canonical integer");
	expect_int(cmd(c, "SADD s:ext -9223372036854775808 9223372036854775807 0"), 3,
		   "SADD the extreme 64-bit integers");
	expect_str(cmd(c, "OBJECT ENCODING s:ext"), "intset", "64-bit integers fit an intset");
	expect_reply(cmd(c, "SMEMBERS s:ext"),
		     "['-9223372036854775808','0','9223372036854775807']", "extreme integers listed");

	check(harness_config_set(c, "set-max-intset-entries", "4"), "CONFIG SET set-max-intset-entries 4");
	expect_int(cmd(c, "SADD s:lim 1 2 3 4"), 4, "SADD four integers");
	expect_str(cmd(c, "OBJECT ENCODING s:lim"), "intset", "four integers stay an intset");
	expect_int(cmd(c, "SADD s:lim 4"), 0, "SADD of a member does not convert");
	expect_str(cmd(c, "OBJECT ENCODING s:lim"), "intset", "still an intset");
	expect_int(cmd(c, "SADD s:lim 5"), 1, "SADD a fifth integer");
	expect_str(cmd(c, "OBJECT ENCODING s:lim"), "hashtable", "past the limit: a hashtable");
	check(harness_config_set(c, "set-max-intset-entries", old ? old : "512"),
	      "CONFIG SET set-max-intset-entries back");
	free(old);

	run(c, "DEL s:lim");
	sadd_range(c, "s:lim", "", 0, 512);
	expect_str(cmd(c, "OBJECT ENCODING s:lim"), "intset", "512 integers are an intset");
	expect_int(cmd(c, "SADD s:lim 512"), 1, "SADD the 513th");
	expect_str(cmd(c, "OBJECT ENCODING s:lim"), "hashtable", "513 integers are a hashtable");
	run(c, "DEL s:c s:big s:nc s:ext s:lim");
}

static void test_srem(redisContext *c)
{
	run(c, "SADD s:r a b c d");
	expect_int(cmd(c, "SREM s:r k k"), 0, "SREM of non-members is 0");
	expect_int(cmd(c, "SREM s:r b d x b"), 2, "SREM counts members removed");
	expect_set_of_str(cmd(c, "SMEMBERS s:r"), STRS("a", "c"), "SREM left the others");
	expect_int(cmd(c, "SREM s:r a c z"), 2, "SREM of the last members");
	expect_int(cmd(c, "EXISTS s:r"), 0, "a set emptied by SREM is deleted");
	expect_int(cmd(c, "SREM s:r a"), 0, "SREM of a missing key is 0");
	run(c, "SADD s:r 1 2 3");
	expect_int(cmd(c, "SREM s:r 1 2 3 4 5 6"), 3, "SREM more members than the intset has");
	expect_int(cmd(c, "EXISTS s:r"), 0, "an emptied intset is deleted");
}

static void test_wrongtype(redisContext *c)
{
	static const char *const cmds[] = {
		"SADD s:str a", "SREM s:str a", "SISMEMBER s:str a", "SMISMEMBER s:str a",
		"SMEMBERS s:str", "SCARD s:str", "SPOP s:str", "SPOP s:str 2",
		"SRANDMEMBER s:str", "SRANDMEMBER s:str 2", "SMOVE s:str s:set a",
		"SMOVE s:set s:str a", "SINTER s:set s:str", "SINTER s:none s:str",
		"SINTERCARD 2 s:none s:str", "SUNION s:str s:set", "SDIFF s:none s:str",
		"SINTERSTORE s:dst s:set s:str", "SUNIONSTORE s:dst s:none s:str",
		"SDIFFSTORE s:dst s:str", "SSCAN s:str 0",
	};

	run(c, "SET s:str x");
	run(c, "SADD s:set a b");
	run(c, "SADD s:dst keep");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		expect_err(cmd(c, cmds[i]), ERR_WRONGTYPE, "%s is WRONGTYPE", cmds[i]);
	expect_reply(cmd(c, "SMEMBERS s:dst"), "['keep']", "a failed STORE left the destination");
	expect_str(cmd(c, "GET s:str"), "x", "the string is untouched");
	expect_int(cmd(c, "SMOVE s:none s:str a"), 0,
		   "SMOVE from a missing source does not look at the destination's type");
	run(c, "DEL s:str s:set s:dst");
}

static void test_spop(redisContext *c)
{
	run(c, "SADD s:p a b c");
	expect_set_of_str(cmd(c, "SMEMBERS s:p"), STRS("a", "b", "c"), "set to pop from");
	{
		redisReply *r1 = cmd(c, "SPOP s:p"), *r2 = cmd(c, "SPOP s:p"), *r3 = cmd(c, "SPOP s:p");
		char all[16] = "";
		const char *v[3];

		v[0] = r1 && r1->str ? r1->str : "?";
		v[1] = r2 && r2->str ? r2->str : "?";
		v[2] = r3 && r3->str ? r3->str : "?";
		qsort(v, 3, sizeof(v[0]), cmp_str);
		snprintf(all, sizeof(all), "%s %s %s", v[0], v[1], v[2]);
		check_str(all, "a b c", "three SPOPs return each member once");
		freeReplyObject(r1);
		freeReplyObject(r2);
		freeReplyObject(r3);
	}
	expect_int(cmd(c, "EXISTS s:p"), 0, "SPOP of the last member deletes the key");
	expect_nil(cmd(c, "SPOP s:p"), "SPOP of a missing key is nil");
	expect_empty_array(cmd(c, "SPOP s:p 3"), "SPOP with a count of a missing key is empty");

	/* Few popped (one by one), most popped (the rest moved), all popped. */
	sadd_range(c, "s:p", "", 1, 21);
	expect_int(cmd(c, "EXPIRE s:p 1000"), 1, "a TTL on the set");
	{
		redisReply *r = cmd(c, "SPOP s:p 2");

		check(r && r->elements == 2, "SPOP 2 returns two members");
		freeReplyObject(r);
	}
	expect_int(cmd(c, "SCARD s:p"), 18, "SPOP 2 removed two");
	{
		redisReply *r = cmd(c, "SPOP s:p 16");

		check(r && r->elements == 16, "SPOP 16 of 18 returns sixteen members");
		freeReplyObject(r);
	}
	expect_int(cmd(c, "SCARD s:p"), 2, "two members remain");
	expect_str(cmd(c, "OBJECT ENCODING s:p"), "intset", "the remaining integers are an intset");
	expect_int_range(cmd(c, "TTL s:p"), 990, 1000, "SPOP of most of the set keeps the TTL");
	expect_empty_array(cmd(c, "SPOP s:p 0"), "SPOP 0 is empty");
	{
		redisReply *r = cmd(c, "SPOP s:p 30");

		check(r && r->elements == 2, "SPOP more than the set returns the whole set");
		freeReplyObject(r);
	}
	expect_int(cmd(c, "EXISTS s:p"), 0, "SPOP of everything deletes the key");

	run(c, "SADD s:p a b c d e f g h i j k l m n o p q r s t u v w x y z");
	{
		redisReply *r1 = cmd(c, "SPOP s:p 11"), *r2 = cmd(c, "SPOP s:p 9");
		redisReply *r3 = cmd(c, "SPOP s:p 6");
		size_t n = (r1 ? r1->elements : 0) + (r2 ? r2->elements : 0) +
			   (r3 ? r3->elements : 0);

		check_int((long long)n, 26, "SPOP 11, 9 and 6 of 26 strings return 26");
		freeReplyObject(r1);
		freeReplyObject(r2);
		freeReplyObject(r3);
	}
	expect_int(cmd(c, "EXISTS s:p"), 0, "popping a hashtable empty deletes it");

	run(c, "SADD s:p a");
	expect_err(cmd(c, "SPOP s:p -1"), ERR_POSITIVE, "SPOP with a negative count");
	expect_err(cmd(c, "SPOP s:p x"), ERR_POSITIVE, "SPOP with a count that is not a number");
	expect_err(cmd(c, "SPOP s:p 1 2"), ERR_SYNTAX, "SPOP with two counts is a syntax error");
	expect_err(cmd(c, "SPOP"), "ERR wrong number of arguments for 'spop' command",
		   "SPOP without a key is an arity error");
	run(c, "DEL s:p");
}

static bool is_member(const char *s, const char *const *members, size_t n)
{
	for (size_t j = 0; s && j < n; j++) {
		if (strcmp(s, members[j]) == 0)
			return true;
	}
	return false;
}

/* Checks that every element of an array reply is one of members. */
static bool all_members(redisReply *r, const char *const *members, size_t n)
{
	if (!r || r->type != REDIS_REPLY_ARRAY)
		return false;
	for (size_t i = 0; i < r->elements; i++) {
		if (!is_member(r->element[i]->str, members, n))
			return false;
	}
	return true;
}

/* Number of distinct strings in an array reply. */
static size_t distinct(redisReply *r)
{
	size_t n = 0;

	for (size_t i = 0; r && i < r->elements; i++) {
		size_t j;

		for (j = 0; j < i; j++) {
			if (strcmp(r->element[i]->str, r->element[j]->str) == 0)
				break;
		}
		n += j == i;
	}
	return n;
}

static void test_srandmember(redisContext *c)
{
	static const char *const strs[] = { "a", "b", "c", "d", "e", "f", "g", "h", "i", "j" };
	static const char *const ints[] = { "0", "1", "2", "3", "4", "5", "6", "7", "8", "9" };
	static const char *const *const sets[] = { strs, ints };
	static const char *const keys[] = { "s:rh", "s:ri" };
	static const long long counts[] = { 1, 2, 5, 9, 10, 100 };

	run(c, "SADD s:rh a b c d e f g h i j");
	run(c, "SADD s:ri 0 1 2 3 4 5 6 7 8 9");
	for (int k = 0; k < 2; k++) {
		redisReply *r = cmd(c, "SRANDMEMBER %s", keys[k]);

		check(r && r->type == REDIS_REPLY_STRING && is_member(r->str, sets[k], 10),
		      "SRANDMEMBER %s returns one member", keys[k]);
		freeReplyObject(r);
		for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
			size_t want = counts[i] < 10 ? (size_t)counts[i] : 10;

			r = cmd(c, "SRANDMEMBER %s %lld", keys[k], counts[i]);
			check(r && r->type == REDIS_REPLY_ARRAY && r->elements == want &&
			      all_members(r, sets[k], 10) && distinct(r) == want,
			      "SRANDMEMBER %s %lld returns %zu distinct members", keys[k],
			      counts[i], want);
			freeReplyObject(r);
		}
		r = cmd(c, "SRANDMEMBER %s -100", keys[k]);
		check(r && r->type == REDIS_REPLY_ARRAY && r->elements == 100 &&
		      all_members(r, sets[k], 10) && distinct(r) < 100,
		      "SRANDMEMBER %s -100 returns 100 members, repeating", keys[k]);
		freeReplyObject(r);
		r = cmd(c, "SRANDMEMBER %s -3", keys[k]);
		check(r && r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
		      all_members(r, sets[k], 10), "SRANDMEMBER %s -3 returns 3 members", keys[k]);
		freeReplyObject(r);
		expect_empty_array(cmd(c, "SRANDMEMBER %s 0", keys[k]), "SRANDMEMBER %s 0", keys[k]);
	}
	expect_int(cmd(c, "SCARD s:rh"), 10, "SRANDMEMBER removes nothing");
	expect_nil(cmd(c, "SRANDMEMBER s:none"), "SRANDMEMBER of a missing key is nil");
	expect_empty_array(cmd(c, "SRANDMEMBER s:none 5"), "SRANDMEMBER with a count of a missing key");
	expect_empty_array(cmd(c, "SRANDMEMBER s:none -5"), "SRANDMEMBER -5 of a missing key");
	expect_err(cmd(c, "SRANDMEMBER s:rh -9223372036854775808"),
		   "ERR value is out of range, value must between -9223372036854775807 and "
		   "9223372036854775807", "SRANDMEMBER count LLONG_MIN is out of range");
	expect_err(cmd(c, "SRANDMEMBER s:rh x"), ERR_NOT_INT, "SRANDMEMBER count not a number");
	expect_err(cmd(c, "SRANDMEMBER s:rh 1 2"), ERR_SYNTAX, "SRANDMEMBER with two counts");
	run(c, "DEL s:rh s:ri");
}

static void test_smove(redisContext *c)
{
	run(c, "DEL s:m1 s:m2 s:m3");
	run(c, "SADD s:m1 1 a b");
	run(c, "SADD s:m2 2 3 4");
	expect_int(cmd(c, "SMOVE s:m1 s:m2 1"), 1, "SMOVE an integer into an intset");
	expect_str(cmd(c, "OBJECT ENCODING s:m2"), "intset", "the intset stays an intset");
	expect_int(cmd(c, "SMOVE s:m1 s:m2 a"), 1, "SMOVE a string into an intset");
	expect_str(cmd(c, "OBJECT ENCODING s:m2"), "hashtable", "the intset became a hashtable");
	expect_set_of_str(cmd(c, "SMEMBERS s:m1"), STRS("b"), "SMOVE removed from the source");
	expect_set_of_str(cmd(c, "SMEMBERS s:m2"), STRS("1", "2", "3", "4", "a"),
			  "SMOVE added to the destination");
	expect_int(cmd(c, "SMOVE s:m1 s:m2 zz"), 0, "SMOVE of a non-member is 0");
	expect_int(cmd(c, "SMOVE s:m1 s:m1 b"), 1, "SMOVE to itself of a member is 1");
	expect_int(cmd(c, "SMOVE s:m1 s:m1 zz"), 0, "SMOVE to itself of a non-member is 0");
	expect_int(cmd(c, "SMOVE s:m2 s:m3 2"), 1, "SMOVE to a missing destination");
	expect_str(cmd(c, "OBJECT ENCODING s:m3"), "intset", "created for an integer: an intset");
	expect_int(cmd(c, "SMOVE s:m1 s:m3 b"), 1, "SMOVE the last member");
	expect_int(cmd(c, "EXISTS s:m1"), 0, "a source emptied by SMOVE is deleted");
	expect_set_of_str(cmd(c, "SMEMBERS s:m3"), STRS("2", "b"), "destination has both");
	expect_int(cmd(c, "SMOVE s:m2 s:m3 3"), 1, "SMOVE into a hashtable");
	expect_int(cmd(c, "SMOVE s:m2 s:m3 3"), 0, "SMOVE of a moved member is 0");
	expect_int(cmd(c, "SMOVE s:none s:m3 3"), 0, "SMOVE from a missing key is 0");
	run(c, "SADD s:m1 x");
	run(c, "SADD s:m4 x");
	expect_int(cmd(c, "SMOVE s:m1 s:m4 x"), 1, "SMOVE of a member the destination has is 1");
	expect_int(cmd(c, "EXISTS s:m1"), 0, "and the source lost it");
	expect_int(cmd(c, "SCARD s:m4"), 1, "and the destination is unchanged");
	run(c, "DEL s:m1 s:m2 s:m3 s:m4");
}

static void setup_algebra(redisContext *c)
{
	run(c, "DEL s:a s:b s:c s:i1 s:i2");
	run(c, "SADD s:a a b c d 1 2");
	run(c, "SADD s:b c d e 2 3");
	run(c, "SADD s:c d 2 x");
	run(c, "SADD s:i1 1 2 3 4");
	run(c, "SADD s:i2 3 4 5");
}

static void test_algebra(redisContext *c)
{
	setup_algebra(c);
	expect_sorted(cmd(c, "SINTER s:a s:b"), "2 c d", "SINTER of two sets");
	expect_sorted(cmd(c, "SINTER s:a s:b s:c"), "2 d", "SINTER of three sets");
	expect_sorted(cmd(c, "SINTER s:a s:a"), "1 2 a b c d", "SINTER of a set with itself");
	expect_empty_array(cmd(c, "SINTER s:a s:none"), "SINTER with a missing key is empty");
	expect_sorted(cmd(c, "SUNION s:a s:b s:none"), "1 2 3 a b c d e", "SUNION");
	expect_sorted(cmd(c, "SDIFF s:a s:b s:c"), "1 a b", "SDIFF");
	expect_sorted(cmd(c, "SDIFF s:a s:none"), "1 2 a b c d", "SDIFF of a missing key");
	expect_empty_array(cmd(c, "SDIFF s:none s:a"), "SDIFF from a missing key is empty");
	expect_empty_array(cmd(c, "SDIFF s:a s:b s:a"), "SDIFF of a set minus itself is empty");
	expect_reply(cmd(c, "SINTER s:i1 s:i2"), "['3','4']", "SINTER of intsets");
	expect_sorted(cmd(c, "SINTER s:i1 s:a"), "1 2", "SINTER of an intset and a hashtable");

	expect_int(cmd(c, "SINTERCARD 2 s:a s:b"), 3, "SINTERCARD");
	expect_int(cmd(c, "SINTERCARD 2 s:a s:b LIMIT 2"), 2, "SINTERCARD LIMIT 2");
	expect_int(cmd(c, "SINTERCARD 2 s:a s:b limit 0"), 3, "SINTERCARD LIMIT 0 is no limit");
	expect_int(cmd(c, "SINTERCARD 2 s:a s:b LIMIT 10"), 3, "SINTERCARD LIMIT above the result");
	expect_int(cmd(c, "SINTERCARD 1 s:none"), 0, "SINTERCARD of a missing key");
	expect_err(cmd(c, "SINTERCARD 0 s:a"), "ERR numkeys should be greater than 0",
		   "SINTERCARD numkeys 0");
	expect_err(cmd(c, "SINTERCARD x s:a"), "ERR numkeys should be greater than 0",
		   "SINTERCARD numkeys not a number");
	expect_err(cmd(c, "SINTERCARD 3 s:a s:b"),
		   "ERR Number of keys can't be greater than number of args",
		   "SINTERCARD numkeys past the arguments");
	expect_err(cmd(c, "SINTERCARD 1 s:a s:b"), ERR_SYNTAX, "SINTERCARD extra argument");
	expect_err(cmd(c, "SINTERCARD 1 s:a LIMIT"), ERR_SYNTAX, "SINTERCARD LIMIT without value");
	expect_err(cmd(c, "SINTERCARD 1 s:a LIMIT -1"), "ERR LIMIT can't be negative",
		   "SINTERCARD negative LIMIT");
	expect_err(cmd(c, "SINTERCARD 1 s:a LIMIT x"), "ERR LIMIT can't be negative",
		   "SINTERCARD LIMIT not a number");
	expect_reply(cmd(c, "COMMAND GETKEYS SINTERCARD 2 s:a s:b LIMIT 1"), "['s:a','s:b']",
		     "COMMAND GETKEYS finds SINTERCARD's keys");
}

static void test_store_commands(redisContext *c)
{
	setup_algebra(c);
	run(c, "SET s:dst string");
	expect_int(cmd(c, "EXPIRE s:dst 1000"), 1, "a TTL on the destination");
	expect_int(cmd(c, "SINTERSTORE s:dst s:a s:b"), 3, "SINTERSTORE replaces a string");
	expect_int(cmd(c, "TTL s:dst"), -1, "SINTERSTORE clears the TTL");
	expect_sorted(cmd(c, "SMEMBERS s:dst"), "2 c d", "SINTERSTORE stored the intersection");
	expect_int(cmd(c, "SINTERSTORE s:dst s:a s:none"), 0, "SINTERSTORE with a missing key");
	expect_int(cmd(c, "EXISTS s:dst"), 0, "an empty SINTERSTORE deletes the destination");
	expect_int(cmd(c, "SINTERSTORE s:dst s:i1 s:c"), 1, "SINTERSTORE of intset and hashtable");
	expect_str(cmd(c, "OBJECT ENCODING s:dst"), "intset", "an integer result is an intset");
	run(c, "SADD s:e x y");
	expect_int(cmd(c, "SINTERSTORE s:dst s:i1 s:e"), 0, "SINTERSTORE of disjoint sets");
	expect_int(cmd(c, "EXISTS s:dst"), 0, "empty result deletes the destination");

	expect_int(cmd(c, "SUNIONSTORE s:dst s:i1 s:i2"), 5, "SUNIONSTORE of intsets");
	expect_str(cmd(c, "OBJECT ENCODING s:dst"), "intset", "a union of intsets is an intset");
	expect_int(cmd(c, "SUNIONSTORE s:dst s:a s:b"), 8, "SUNIONSTORE");
	expect_str(cmd(c, "OBJECT ENCODING s:dst"), "hashtable", "a union with strings");
	expect_int(cmd(c, "SUNIONSTORE s:dst s:none s:none2"), 0, "SUNIONSTORE of missing keys");
	expect_int(cmd(c, "EXISTS s:dst"), 0, "deletes the destination");

	expect_int(cmd(c, "SDIFFSTORE s:dst s:a s:b"), 3, "SDIFFSTORE");
	expect_sorted(cmd(c, "SMEMBERS s:dst"), "1 a b", "SDIFFSTORE stored the difference");
	expect_int(cmd(c, "SDIFFSTORE s:dst s:a s:b s:c s:a"), 0, "SDIFFSTORE to nothing");
	expect_int(cmd(c, "EXISTS s:dst"), 0, "deletes the destination");
	run(c, "SADD s:hi 1 2 3 a");
	run(c, "SREM s:hi a");
	expect_int(cmd(c, "SDIFFSTORE s:dst s:hi s:none"), 3,
		   "SDIFFSTORE of a hashtable of integers");
	expect_str(cmd(c, "OBJECT ENCODING s:dst"), "intset", "the result is rebuilt as an intset");

	/* The destination may be a source. */
	expect_int(cmd(c, "SUNIONSTORE s:a s:a s:i2"), 9, "SUNIONSTORE into a source");
	expect_sorted(cmd(c, "SMEMBERS s:a"), "1 2 3 4 5 a b c d", "the source got the union");
	expect_int(cmd(c, "SINTERSTORE s:a s:a s:b"), 4, "SINTERSTORE into a source");
	expect_sorted(cmd(c, "SMEMBERS s:a"), "2 3 c d", "the source got the intersection");
	run(c, "DEL s:a s:b s:c s:e s:i1 s:i2 s:hi s:dst");
}

static void test_sscan(redisContext *c)
{
	char cursor[32] = "0";
	int calls = 0, seen = 0;
	char *flags = calloc(1000, 1);

	sadd_range(c, "s:sc", "m", 0, 1000);
	do {
		redisReply *r = cmd(c, "SSCAN s:sc %s COUNT 50", cursor);

		if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			check(false, "SSCAN reply is [cursor, members]");
			freeReplyObject(r);
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		for (size_t i = 0; i < r->element[1]->elements; i++) {
			int n = atoi(r->element[1]->element[i]->str + 1);

			if (n >= 0 && n < 1000 && !flags[n]++)
				seen++;
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0 && ++calls < 10000);
	check_int(seen, 1000, "a full SSCAN of a hashtable returns every member");
	check(calls > 1, "a hashtable is scanned in several calls");
	free(flags);

	run(c, "SADD s:si 1 2 3 10 20");
	expect_reply(cmd(c, "SSCAN s:si 0"), "['0',['1','2','3','10','20']]",
		     "an intset is scanned in one call");
	expect_reply(cmd(c, "SSCAN s:si 0 MATCH 1*"), "['0',['1','10']]", "SSCAN MATCH");
	expect_reply(cmd(c, "SSCAN s:si 0 match * count 1"), "['0',['1','2','3','10','20']]",
		     "SSCAN MATCH * COUNT 1 of an intset");
	expect_reply(cmd(c, "SSCAN s:none 0"), "['0',[]]", "SSCAN of a missing key");
	expect_reply(cmd(c, "SSCAN s:none 0 bogus"), "['0',[]]",
		     "SSCAN of a missing key does not read its options");
	expect_err(cmd(c, "SSCAN s:si x"), "ERR invalid cursor", "SSCAN with a bad cursor");
	expect_err(cmd(c, "SSCAN s:si 0 COUNT 0"), ERR_SYNTAX, "SSCAN COUNT 0");
	expect_err(cmd(c, "SSCAN s:si 0 COUNT x"), ERR_NOT_INT, "SSCAN COUNT not a number");
	expect_err(cmd(c, "SSCAN s:si 0 TYPE set"), ERR_SYNTAX, "SSCAN has no TYPE option");
	expect_err(cmd(c, "SSCAN s:si 0 MATCH"), ERR_SYNTAX, "SSCAN MATCH without pattern");
	run(c, "DEL s:sc s:si");
}

static void test_cross_shard(redisContext *c)
{
	char a[32], b[32], d[32];

	key_with_parity(a, sizeof(a), "xs:a", 0);
	key_with_parity(b, sizeof(b), "xs:b", 1);
	key_with_parity(d, sizeof(d), "xs:d", 1);
	harness_diag("cross-shard keys %s (slot %u), %s (slot %u), %s (slot %u)",
		     a, harness_key_slot(a, strlen(a)), b, harness_key_slot(b, strlen(b)), d, harness_key_slot(d, strlen(d)));
	run(c, "SADD %s 1 2 3 x y", a);
	run(c, "SADD %s 2 3 4 y z", b);
	expect_sorted(cmd(c, "SINTER %s %s", a, b), "2 3 y", "SINTER across shards");
	expect_sorted(cmd(c, "SUNION %s %s", a, b), "1 2 3 4 x y z", "SUNION across shards");
	expect_sorted(cmd(c, "SDIFF %s %s", a, b), "1 x", "SDIFF across shards");
	expect_int(cmd(c, "SINTERCARD 2 %s %s", a, b), 3, "SINTERCARD across shards");
	expect_int(cmd(c, "SINTERSTORE %s %s %s", d, a, b), 3,
		   "SINTERSTORE with sources on two shards");
	expect_sorted(cmd(c, "SMEMBERS %s", d), "2 3 y", "the stored intersection");
	expect_int(cmd(c, "SUNIONSTORE %s %s %s", a, b, d), 5,
		   "SUNIONSTORE into a key of another shard");
	expect_sorted(cmd(c, "SMEMBERS %s", a), "2 3 4 y z", "the stored union");
	expect_int(cmd(c, "SDIFFSTORE %s %s %s", d, b, a), 0, "empty SDIFFSTORE across shards");
	expect_int(cmd(c, "EXISTS %s", d), 0, "deleted the destination on the other shard");
	expect_int(cmd(c, "SMOVE %s %s z", a, d), 1, "SMOVE across shards");
	expect_reply(cmd(c, "SMEMBERS %s", d), "['z']", "SMOVE created the destination");
	expect_int(cmd(c, "SMOVE %s %s 2", b, a), 1, "SMOVE of a member both have");
	expect_int(cmd(c, "SISMEMBER %s 2", b), 0, "the source lost it");
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
	raw_send_str(raw, "SADD s:r3 a\r\n");
	expect_raw_reply(raw, ":1\r\n", "SADD in RESP3");
	raw_send_str(raw, "SMEMBERS s:r3\r\n");
	expect_raw_reply(raw, "~1\r\n$1\r\na\r\n", "SMEMBERS is a RESP3 set");
	raw_send_str(raw, "SMEMBERS s:none\r\n");
	expect_raw_reply(raw, "~0\r\n", "SMEMBERS of a missing key is an empty set");
	raw_send_str(raw, "SINTER s:r3 s:r3\r\n");
	expect_raw_reply(raw, "~1\r\n$1\r\na\r\n", "SINTER is a set");
	raw_send_str(raw, "SINTER s:r3 s:none\r\n");
	expect_raw_reply(raw, "~0\r\n", "empty SINTER is an empty set");
	raw_send_str(raw, "SUNION s:r3\r\n");
	expect_raw_reply(raw, "~1\r\n$1\r\na\r\n", "SUNION is a set");
	raw_send_str(raw, "SDIFF s:r3 s:none\r\n");
	expect_raw_reply(raw, "~1\r\n$1\r\na\r\n", "SDIFF is a set");
	raw_send_str(raw, "SRANDMEMBER s:r3 1\r\n");
	expect_raw_reply(raw, "*1\r\n$1\r\na\r\n", "SRANDMEMBER with a count is an array");
	raw_send_str(raw, "SRANDMEMBER s:none 1\r\n");
	expect_raw_reply(raw, "*0\r\n", "SRANDMEMBER of a missing key is an empty array");
	raw_send_str(raw, "SRANDMEMBER s:none\r\n");
	expect_raw_reply(raw, "_\r\n", "SRANDMEMBER of a missing key is a null");
	raw_send_str(raw, "SMISMEMBER s:r3 a b\r\n");
	expect_raw_reply(raw, "*2\r\n:1\r\n:0\r\n", "SMISMEMBER is an array");
	raw_send_str(raw, "SSCAN s:r3 0\r\n");
	expect_raw_reply(raw, "*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n", "SSCAN is arrays");
	raw_send_str(raw, "SPOP s:none 2\r\n");
	expect_raw_reply(raw, "~0\r\n", "SPOP with a count of a missing key is an empty set");
	raw_send_str(raw, "SPOP s:r3 0\r\n");
	expect_raw_reply(raw, "~0\r\n", "SPOP 0 is an empty set");
	raw_send_str(raw, "SPOP s:r3 5\r\n");
	expect_raw_reply(raw, "~1\r\n$1\r\na\r\n", "SPOP with a count is a set");
	raw_send_str(raw, "SPOP s:r3\r\n");
	expect_raw_reply(raw, "_\r\n", "SPOP of a missing key is a null");
	raw_close(raw);

	raw = raw_connect(srv);
	raw_send_str(raw, "SMEMBERS s:none\r\n");
	expect_raw_reply(raw, "*0\r\n", "in RESP2 an empty set is an empty array");
	raw_send_str(raw, "SPOP s:none\r\n");
	expect_raw_reply(raw, "$-1\r\n", "in RESP2 SPOP of a missing key is a null bulk");
	raw_close(raw);
}

int main(void)
{
	struct harness_server *srv;
	redisContext *c;

	harness_init("test_set: set commands");
	srv = harness_server_start("--shards", "2");
	c = harness_connect(srv);
	expect_status(cmd(c, "FLUSHALL"), "OK", "FLUSHALL before the tests");

	test_basics_of_both_encodings(c);
	test_encoding_conversions(c);
	test_srem(c);
	test_wrongtype(c);
	test_spop(c);
	test_srandmember(c);
	test_smove(c);
	test_algebra(c);
	test_store_commands(c);
	test_sscan(c);
	test_cross_shard(c);
	test_resp3_shapes(srv);

	expect_status(cmd(c, "FLUSHALL"), "OK", "FLUSHALL after the tests");
	redisFree(c);
	harness_server_stop(srv);
	return harness_done();
}
