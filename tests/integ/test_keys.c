/*
 * test_keys.c - the keyspace commands, with the exact replies of
 * redis-server 7.0: DEL UNLINK EXISTS TYPE KEYS SCAN RANDOMKEY RENAME
 * RENAMENX COPY MOVE TOUCH OBJECT, the EXPIRE family with NX XX GT LT, TTL
 * PTTL EXPIRETIME PEXPIRETIME PERSIST, DBSIZE FLUSHDB FLUSHALL SWAPDB SELECT.
 *
 * The test uses databases 0, 1 and 2 and flushes them all.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR_NOT_INT "ERR value is not an integer or out of range"
#define ERR_SYNTAX "ERR syntax error"
#define ERR_DB_RANGE "ERR DB index is out of range"
#define SCAN_KEYS 10000

static void test_del_unlink_exists(redisContext *c)
{
	expect_status(cmd(c, "MSET k:a 1 k:b 2 k:c 3"), "OK", "MSET three keys");
	expect_int(cmd(c, "EXISTS k:a k:a k:b k:missing"), 3, "EXISTS counts a repeated key each time");
	expect_int(cmd(c, "EXISTS k:missing"), 0, "EXISTS of a missing key is 0");
	expect_int(cmd(c, "DEL k:a k:a k:missing"), 1, "DEL counts a repeated key once");
	expect_int(cmd(c, "EXISTS k:a"), 0, "DEL removed the key");
	expect_int(cmd(c, "UNLINK k:b k:c k:missing"), 2, "UNLINK returns how many keys it removed");
	expect_int(cmd(c, "EXISTS k:b k:c"), 0, "UNLINK removed the keys");
	expect_int(cmd(c, "DEL k:missing"), 0, "DEL of a missing key is 0");
	expect_err(cmd(c, "DEL"), "ERR wrong number of arguments for 'del' command",
		   "DEL without keys is an arity error");
	expect_err(cmd(c, "EXISTS"), "ERR wrong number of arguments for 'exists' command",
		   "EXISTS without keys is an arity error");
}

static void test_type(redisContext *c)
{
	expect_status(cmd(c, "SET k:t v"), "OK", "SET before TYPE");
	expect_status(cmd(c, "TYPE k:t"), "string", "TYPE of a string is +string");
	expect_status(cmd(c, "TYPE k:missing"), "none", "TYPE of a missing key is +none");
	expect_int(cmd(c, "DEL k:t"), 1, "DEL after TYPE");
}

static void test_keys_patterns(redisContext *c)
{
	expect_empty_array(cmd(c, "KEYS *"), "KEYS * of an empty database is empty");
	expect_status(cmd(c, "MSET one 1 two 2 three 3 four 4 a*b 5 a?b 6 axb 7"), "OK",
		      "MSET keys for KEYS");
	expect_set_of_str(cmd(c, "KEYS *"),
			  STRS("one", "two", "three", "four", "a*b", "a?b", "axb"),
			  "KEYS * lists every key");
	expect_set_of_str(cmd(c, "KEYS t*"), STRS("two", "three"), "KEYS t* is a prefix match");
	expect_set_of_str(cmd(c, "KEYS ???"), STRS("one", "two", "a*b", "a?b", "axb"),
			  "KEYS ??? matches three-byte keys");
	expect_set_of_str(cmd(c, "KEYS [ot]*"), STRS("one", "two", "three"),
			  "KEYS with a character class");
	expect_set_of_str(cmd(c, "KEYS [^ot]*"), STRS("four", "a*b", "a?b", "axb"),
			  "KEYS with a negated character class");
	expect_set_of_str(cmd(c, "KEYS [a-f]*"), STRS("four", "a*b", "a?b", "axb"),
			  "KEYS with a character range");
	expect_set_of_str(cmd(c, "KEYS %s", "a\\*b"), STRS("a*b"), "KEYS with an escaped *");
	expect_set_of_str(cmd(c, "KEYS %s", "a\\?b"), STRS("a?b"), "KEYS with an escaped ?");
	expect_set_of_str(cmd(c, "KEYS *o*"), STRS("one", "two", "four"), "KEYS *o*");
	expect_empty_array(cmd(c, "KEYS nomatch*"), "KEYS with no match is empty");
	expect_err(cmd(c, "KEYS"), "ERR wrong number of arguments for 'keys' command",
		   "KEYS without a pattern is an arity error");
	run(c, "FLUSHDB");
}

static int compare_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Inserts SCAN_KEYS keys with a pipeline; returns how many answered +OK. */
static int insert_scan_keys(redisContext *c)
{
	int ok = 0;

	for (int i = 0; i < SCAN_KEYS; i++)
		redisAppendCommand(c, "SET scan:%d %d", i, i);
	for (int i = 0; i < SCAN_KEYS; i++) {
		void *v = NULL;
		redisReply *r;

		if (redisGetReply(c, &v) != REDIS_OK)
			harness_bail("pipeline of SETs: %s", c->errstr);
		r = v;
		if (r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0)
			ok++;
		freeReplyObject(r);
	}
	return ok;
}

static void free_keys(char **keys, int n)
{
	for (int i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

/*
 * Runs a full SCAN with the given extra arguments (may be ""), stores every
 * key returned in *keys (sorted, duplicates kept) and returns the count, or
 * -1 if a reply was malformed or the scan did not end within max_calls.
 */
static int full_scan(redisContext *c, const char *extra, char ***keys,
		     int max_calls)
{
	char cursor[32] = "0", fmt[128];
	char **out = NULL;
	int n = 0, cap = 0, calls = 0;

	/* extra holds several arguments, so it goes into the format. */
	snprintf(fmt, sizeof(fmt), "SCAN %%s %s", extra);
	*keys = NULL;
	do {
		redisReply *r = cmd(c, fmt, cursor);
		redisReply *list;

		if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[1]->type != REDIS_REPLY_ARRAY ||
		    r->element[0]->len >= sizeof(cursor)) {
			char *s = harness_repr(r);

			harness_diag("bad SCAN reply: %s", s);
			free(s);
			if (r)
				freeReplyObject(r);
			free_keys(out, n);
			return -1;
		}
		memcpy(cursor, r->element[0]->str, r->element[0]->len + 1);
		list = r->element[1];
		for (size_t i = 0; i < list->elements; i++) {
			if (n == cap) {
				cap = cap ? cap * 2 : 1024;
				out = realloc(out, (size_t)cap * sizeof(*out));
				if (!out)
					harness_bail("out of memory");
			}
			out[n++] = strdup(list->element[i]->str);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0 && ++calls < max_calls);
	if (strcmp(cursor, "0") != 0) {
		free_keys(out, n);
		return -1;
	}
	if (n > 0)
		qsort(out, (size_t)n, sizeof(*out), compare_str);
	*keys = out;
	return n;
}

/* How many distinct keys of keys[0..n) (sorted) are "scan:<0..SCAN_KEYS)". */
static int distinct_scan_keys(char **keys, int n, int *strangers)
{
	int distinct = 0;

	*strangers = 0;
	for (int i = 0; i < n; i++) {
		char *end;
		long v;

		if (i > 0 && strcmp(keys[i], keys[i - 1]) == 0)
			continue;
		if (strncmp(keys[i], "scan:", 5) != 0) {
			(*strangers)++;
			continue;
		}
		v = strtol(keys[i] + 5, &end, 10);
		if (*end || v < 0 || v >= SCAN_KEYS)
			(*strangers)++;
		else
			distinct++;
	}
	return distinct;
}

static void test_scan(redisContext *c)
{
	char **keys;
	int n, strangers, distinct;
	redisReply *r;

	check_int(insert_scan_keys(c), SCAN_KEYS, "a pipeline of %d SETs all answered +OK", SCAN_KEYS);
	expect_int(cmd(c, "DBSIZE"), SCAN_KEYS, "DBSIZE counts the %d keys", SCAN_KEYS);

	n = full_scan(c, "COUNT 100", &keys, 100000);
	check(n >= SCAN_KEYS, "a full SCAN COUNT 100 ends at cursor 0 with at least %d keys (got %d)",
	      SCAN_KEYS, n);
	distinct = distinct_scan_keys(keys, n, &strangers);
	check_int(distinct, SCAN_KEYS, "a full SCAN returns every key at least once");
	check_int(strangers, 0, "a full SCAN returns no key that does not exist");
	free_keys(keys, n);

	n = full_scan(c, "", &keys, 100000);
	distinct = distinct_scan_keys(keys, n, &strangers);
	check_int(distinct, SCAN_KEYS, "a full SCAN with the default COUNT returns every key");
	free_keys(keys, n);

	n = full_scan(c, "MATCH scan:1?? COUNT 1000", &keys, 100000);
	distinct = distinct_scan_keys(keys, n, &strangers);
	check_int(distinct, 100, "SCAN MATCH scan:1?? returns exactly scan:100..scan:199");
	check(n >= 0 && strangers == 0 && n >= 100 && strcmp(keys[0], "scan:100") == 0 &&
	      strcmp(keys[n - 1], "scan:199") == 0,
	      "SCAN MATCH returns only matching keys");
	free_keys(keys, n);

	n = full_scan(c, "TYPE string COUNT 1000", &keys, 100000);
	distinct = distinct_scan_keys(keys, n, &strangers);
	check_int(distinct, SCAN_KEYS, "SCAN TYPE string returns every string key");
	free_keys(keys, n);

	n = full_scan(c, "TYPE list COUNT 1000", &keys, 100000);
	check_int(n, 0, "SCAN TYPE list returns nothing when there are only strings");
	free_keys(keys, n);

	r = cmd(c, "SCAN 0 COUNT 10");
	check(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	      r->element[0]->type == REDIS_REPLY_STRING &&
	      r->element[1]->type == REDIS_REPLY_ARRAY,
	      "SCAN replies with a two-element array: cursor as a bulk string, then keys");
	if (r)
		freeReplyObject(r);
	expect_err(cmd(c, "SCAN abc"), "ERR invalid cursor", "SCAN with a non-numeric cursor");
	expect_err(cmd(c, "SCAN 0 COUNT 0"), ERR_SYNTAX, "SCAN COUNT 0 is a syntax error");
	expect_err(cmd(c, "SCAN 0 COUNT -1"), ERR_SYNTAX, "SCAN COUNT -1 is a syntax error");
	expect_err(cmd(c, "SCAN 0 COUNT x"), ERR_NOT_INT, "SCAN COUNT x is not an integer");
	expect_err(cmd(c, "SCAN 0 MATCH"), ERR_SYNTAX, "SCAN MATCH without a pattern");
	expect_err(cmd(c, "SCAN 0 FOO 1"), ERR_SYNTAX, "SCAN with an unknown option");
	expect_status(cmd(c, "FLUSHDB"), "OK", "FLUSHDB after SCAN");
	expect_reply(cmd(c, "SCAN 0"), "['0',[]]", "SCAN of an empty database is cursor 0, no keys");
}

static void test_randomkey(redisContext *c)
{
	redisReply *r;

	expect_nil(cmd(c, "RANDOMKEY"), "RANDOMKEY of an empty database is nil");
	expect_status(cmd(c, "SET k:only v"), "OK", "SET one key");
	expect_str(cmd(c, "RANDOMKEY"), "k:only", "RANDOMKEY of one key is that key");
	expect_status(cmd(c, "MSET k:r1 1 k:r2 2"), "OK", "MSET two more keys");
	r = cmd(c, "RANDOMKEY");
	check(r && r->type == REDIS_REPLY_STRING &&
	      (strcmp(r->str, "k:only") == 0 || strcmp(r->str, "k:r1") == 0 ||
	       strcmp(r->str, "k:r2") == 0),
	      "RANDOMKEY returns one of the keys");
	if (r)
		freeReplyObject(r);
	run(c, "FLUSHDB");
}

static void test_rename(redisContext *c)
{
	expect_status(cmd(c, "SET k:src v EX 100"), "OK", "SET EX before RENAME");
	expect_status(cmd(c, "RENAME k:src k:dst"), "OK", "RENAME answers +OK");
	expect_int(cmd(c, "EXISTS k:src"), 0, "RENAME removed the old name");
	expect_str(cmd(c, "GET k:dst"), "v", "RENAME moved the value");
	expect_int(cmd(c, "TTL k:dst"), 100, "RENAME moved the TTL");
	expect_status(cmd(c, "SET k:other w"), "OK", "SET a second key");
	expect_status(cmd(c, "RENAME k:other k:dst"), "OK", "RENAME over an existing key");
	expect_str(cmd(c, "GET k:dst"), "w", "RENAME overwrote the destination");
	expect_int(cmd(c, "TTL k:dst"), -1, "RENAME took the TTL of the source");
	expect_status(cmd(c, "RENAME k:dst k:dst"), "OK", "RENAME of a key to itself is +OK");
	expect_str(cmd(c, "GET k:dst"), "w", "RENAME to itself kept the value");
	expect_err(cmd(c, "RENAME k:missing k:x"), "ERR no such key", "RENAME of a missing key");

	expect_status(cmd(c, "SET k:n1 a"), "OK", "SET before RENAMENX");
	expect_int(cmd(c, "RENAMENX k:n1 k:dst"), 0, "RENAMENX onto an existing key is 0");
	expect_str(cmd(c, "GET k:n1"), "a", "RENAMENX that failed kept the source");
	expect_int(cmd(c, "RENAMENX k:n1 k:n2"), 1, "RENAMENX onto a free name is 1");
	expect_str(cmd(c, "GET k:n2"), "a", "RENAMENX moved the value");
	expect_int(cmd(c, "RENAMENX k:n2 k:n2"), 0, "RENAMENX of a key to itself is 0");
	expect_err(cmd(c, "RENAMENX k:missing k:x"), "ERR no such key", "RENAMENX of a missing key");
	run(c, "FLUSHDB");
}

static void test_copy(redisContext *c)
{
	expect_status(cmd(c, "SET k:c1 v EX 100"), "OK", "SET EX before COPY");
	expect_int(cmd(c, "COPY k:c1 k:c2"), 1, "COPY to a free name is 1");
	expect_str(cmd(c, "GET k:c2"), "v", "COPY copied the value");
	expect_int(cmd(c, "TTL k:c2"), 100, "COPY copied the TTL");
	expect_str(cmd(c, "GET k:c1"), "v", "COPY kept the source");
	expect_status(cmd(c, "SET k:c1 new"), "OK", "change the source");
	expect_str(cmd(c, "GET k:c2"), "v", "the copy does not follow the source");
	expect_int(cmd(c, "COPY k:c1 k:c2"), 0, "COPY onto an existing key is 0");
	expect_int(cmd(c, "COPY k:c1 k:c2 REPLACE"), 1, "COPY REPLACE onto an existing key is 1");
	expect_str(cmd(c, "GET k:c2"), "new", "COPY REPLACE replaced the value");
	expect_int(cmd(c, "COPY k:missing k:c3"), 0, "COPY of a missing key is 0");
	expect_int(cmd(c, "COPY k:c1 k:c1db DB 1"), 1, "COPY DB 1 is 1");
	expect_int(cmd(c, "EXISTS k:c1db"), 0, "COPY DB 1 did not write to db 0");
	expect_status(cmd(c, "SELECT 1"), "OK", "SELECT 1");
	expect_str(cmd(c, "GET k:c1db"), "new", "COPY DB 1 wrote to db 1");
	expect_status(cmd(c, "SELECT 0"), "OK", "SELECT 0");
	expect_int(cmd(c, "COPY k:c1 k:c1db DB 1"), 0, "COPY DB onto an existing key is 0");
	expect_int(cmd(c, "COPY k:c1 k:c1 DB 1"), 1, "COPY to the same name in another db is 1");
	expect_err(cmd(c, "COPY k:c1 k:c1"), "ERR source and destination objects are the same",
		   "COPY of a key onto itself");
	expect_err(cmd(c, "COPY k:c1 k:x DB 16"), ERR_DB_RANGE, "COPY DB 16 is out of range");
	expect_err(cmd(c, "COPY k:c1 k:x DB x"), ERR_NOT_INT, "COPY DB x is not an integer");
	expect_err(cmd(c, "COPY k:c1 k:x FOO"), ERR_SYNTAX, "COPY with an unknown option");
	run(c, "FLUSHALL");
}

static void test_move(redisContext *c)
{
	expect_status(cmd(c, "SET k:m v EX 100"), "OK", "SET EX before MOVE");
	expect_int(cmd(c, "MOVE k:m 1"), 1, "MOVE to db 1 is 1");
	expect_int(cmd(c, "EXISTS k:m"), 0, "MOVE removed the key from db 0");
	expect_int(cmd(c, "MOVE k:m 1"), 0, "MOVE of a missing key is 0");
	expect_status(cmd(c, "SELECT 1"), "OK", "SELECT 1");
	expect_str(cmd(c, "GET k:m"), "v", "the moved key is in db 1");
	expect_int(cmd(c, "TTL k:m"), 100, "MOVE kept the TTL");
	expect_status(cmd(c, "SELECT 0"), "OK", "SELECT 0");
	expect_status(cmd(c, "SET k:m w"), "OK", "SET the same name in db 0");
	expect_int(cmd(c, "MOVE k:m 1"), 0, "MOVE onto an existing key in the target is 0");
	expect_str(cmd(c, "GET k:m"), "w", "a failed MOVE kept the key");
	expect_err(cmd(c, "MOVE k:m 0"), "ERR source and destination objects are the same",
		   "MOVE to the current db");
	expect_err(cmd(c, "MOVE k:m 16"), ERR_DB_RANGE, "MOVE to db 16 is out of range");
	expect_err(cmd(c, "MOVE k:m abc"), ERR_NOT_INT, "MOVE to db abc is not an integer");
	run(c, "FLUSHALL");
}

static void test_touch(redisContext *c)
{
	expect_status(cmd(c, "MSET k:t1 1 k:t2 2"), "OK", "MSET before TOUCH");
	expect_int(cmd(c, "TOUCH k:t1 k:t2 k:missing"), 2, "TOUCH counts existing keys");
	expect_err(cmd(c, "TOUCH"), "ERR wrong number of arguments for 'touch' command",
		   "TOUCH without keys is an arity error");
	run(c, "FLUSHDB");
}

static void test_object(redisContext *c)
{
	char *policy = harness_config_get(c, "maxmemory-policy");

	expect_status(cmd(c, "SET k:o 123"), "OK", "SET of a small integer");
	expect_str(cmd(c, "OBJECT ENCODING k:o"), "int", "an integer is encoded int");
	expect_status(cmd(c, "SET k:o -5"), "OK", "SET of a negative integer");
	expect_str(cmd(c, "OBJECT ENCODING k:o"), "int", "a negative integer is encoded int");
	expect_status(cmd(c, "SET k:o 12345678901234567890"), "OK", "SET of a number beyond 64 bits");
	expect_str(cmd(c, "OBJECT ENCODING k:o"), "embstr", "a number beyond 64 bits is embstr");
	expect_status(cmd(c, "SET k:o 0123"), "OK", "SET with a leading zero");
	expect_str(cmd(c, "OBJECT ENCODING k:o"), "embstr", "a leading zero makes it embstr");
	expect_status(cmd(c, "SET k:o abc"), "OK", "SET of a short string");
	expect_str(cmd(c, "OBJECT ENCODING k:o"), "embstr", "a short string is embstr");
	expect_status(cmd(c, "SET k:o %s", "01234567890123456789012345678901234567890123"), "OK",
		      "SET of a 44-byte string");
	expect_str(cmd(c, "OBJECT ENCODING k:o"), "embstr", "a 44-byte string is embstr");
	expect_status(cmd(c, "SET k:o %s", "012345678901234567890123456789012345678901234"), "OK",
		      "SET of a 45-byte string");
	expect_str(cmd(c, "OBJECT ENCODING k:o"), "raw", "a 45-byte string is raw");
	expect_status(cmd(c, "SET k:o abc"), "OK", "SET of a short string");
	expect_int(cmd(c, "APPEND k:o d"), 4, "APPEND to it");
	expect_str(cmd(c, "OBJECT ENCODING k:o"), "raw", "a string grown by APPEND is raw");
	expect_nil(cmd(c, "OBJECT ENCODING k:missing"), "OBJECT ENCODING of a missing key is nil");

	expect_status(cmd(c, "SET k:o abc"), "OK", "SET of a short string");
	expect_int(cmd(c, "OBJECT REFCOUNT k:o"), 1, "OBJECT REFCOUNT of a string is 1");
	expect_nil(cmd(c, "OBJECT REFCOUNT k:missing"), "OBJECT REFCOUNT of a missing key is nil");

	check(harness_config_set(c, "maxmemory-policy", "noeviction"),
	      "CONFIG SET maxmemory-policy noeviction");
	expect_int_range(cmd(c, "OBJECT IDLETIME k:o"), 0, 1, "OBJECT IDLETIME of a fresh key is 0");
	expect_nil(cmd(c, "OBJECT IDLETIME k:missing"), "OBJECT IDLETIME of a missing key is nil");
	expect_err(cmd(c, "OBJECT FREQ k:o"),
		   "ERR An LFU maxmemory policy is not selected, access frequency not tracked. "
		   "Please note that when switching between policies at runtime LRU and LFU data "
		   "will take some time to adjust.",
		   "OBJECT FREQ without an LFU policy");
	check(harness_config_set(c, "maxmemory-policy", "allkeys-lfu"),
	      "CONFIG SET maxmemory-policy allkeys-lfu");
	expect_int_range(cmd(c, "OBJECT FREQ k:o"), 0, 255, "OBJECT FREQ with an LFU policy");
	expect_err(cmd(c, "OBJECT IDLETIME k:o"),
		   "ERR An LFU maxmemory policy is selected, idle time not tracked. "
		   "Please note that when switching between policies at runtime LRU and LFU data "
		   "will take some time to adjust.",
		   "OBJECT IDLETIME with an LFU policy");
	check(harness_config_set(c, "maxmemory-policy", policy ? policy : "noeviction"),
	      "CONFIG SET maxmemory-policy back to %s", policy ? policy : "noeviction");
	free(policy);

	expect_err(cmd(c, "OBJECT FOO k:o"), "ERR unknown subcommand 'FOO'. Try OBJECT HELP.",
		   "OBJECT with an unknown subcommand");
	expect_err(cmd(c, "OBJECT"), "ERR wrong number of arguments for 'object' command",
		   "OBJECT without a subcommand is an arity error");
	run(c, "FLUSHDB");
}

static void test_expire_options(redisContext *c)
{
	expect_status(cmd(c, "SET k:e v"), "OK", "SET a persistent key");
	expect_int(cmd(c, "EXPIRE k:missing 10"), 0, "EXPIRE of a missing key is 0");
	expect_int(cmd(c, "EXPIRE k:e 10 XX"), 0, "EXPIRE XX on a key without TTL is 0");
	expect_int(cmd(c, "EXPIRE k:e 10 GT"), 0, "EXPIRE GT on a key without TTL is 0");
	expect_int(cmd(c, "TTL k:e"), -1, "no TTL yet");
	expect_int(cmd(c, "EXPIRE k:e 100 NX"), 1, "EXPIRE NX on a key without TTL is 1");
	expect_int(cmd(c, "TTL k:e"), 100, "EXPIRE NX set the TTL");
	expect_int(cmd(c, "EXPIRE k:e 50 NX"), 0, "EXPIRE NX on a volatile key is 0");
	expect_int(cmd(c, "EXPIRE k:e 50 GT"), 0, "EXPIRE GT with a smaller TTL is 0");
	expect_int(cmd(c, "EXPIRE k:e 200 GT"), 1, "EXPIRE GT with a larger TTL is 1");
	expect_int(cmd(c, "TTL k:e"), 200, "EXPIRE GT raised the TTL");
	expect_int(cmd(c, "EXPIRE k:e 300 LT"), 0, "EXPIRE LT with a larger TTL is 0");
	expect_int(cmd(c, "EXPIRE k:e 150 LT"), 1, "EXPIRE LT with a smaller TTL is 1");
	expect_int(cmd(c, "EXPIRE k:e 120 XX"), 1, "EXPIRE XX on a volatile key is 1");
	expect_int(cmd(c, "TTL k:e"), 120, "EXPIRE XX set the TTL");
	expect_int(cmd(c, "EXPIRE k:e 110 xx lt"), 1, "EXPIRE XX LT together");
	expect_int(cmd(c, "PERSIST k:e"), 1, "PERSIST of a volatile key is 1");
	expect_int(cmd(c, "PERSIST k:e"), 0, "PERSIST of a persistent key is 0");
	expect_int(cmd(c, "PERSIST k:missing"), 0, "PERSIST of a missing key is 0");
	expect_int(cmd(c, "EXPIRE k:e 10 LT"), 1,
		   "EXPIRE LT on a key without TTL is 1 (no TTL counts as infinite)");
	expect_int(cmd(c, "TTL k:e"), 10, "EXPIRE LT set the TTL");

	expect_err(cmd(c, "EXPIRE k:e 10 NX XX"),
		   "ERR NX and XX, GT or LT options at the same time are not compatible",
		   "EXPIRE NX XX together");
	expect_err(cmd(c, "EXPIRE k:e 10 NX GT"),
		   "ERR NX and XX, GT or LT options at the same time are not compatible",
		   "EXPIRE NX GT together");
	expect_err(cmd(c, "EXPIRE k:e 10 GT LT"),
		   "ERR GT and LT options at the same time are not compatible",
		   "EXPIRE GT LT together");
	expect_err(cmd(c, "EXPIRE k:e 10 FOO"), "ERR Unsupported option FOO",
		   "EXPIRE with an unknown option names it");
	expect_err(cmd(c, "EXPIRE k:e abc"), ERR_NOT_INT, "EXPIRE abc is not an integer");
	expect_err(cmd(c, "EXPIRE k:e 9999999999999999"), "ERR invalid expire time in 'expire' command",
		   "EXPIRE whose milliseconds overflow");
	expect_err(cmd(c, "PEXPIRE k:e 9223372036854775807"),
		   "ERR invalid expire time in 'pexpire' command",
		   "PEXPIRE that overflows when added to now");
	expect_err(cmd(c, "EXPIREAT k:e 9223372036854775807"),
		   "ERR invalid expire time in 'expireat' command",
		   "EXPIREAT whose milliseconds overflow");
	expect_int(cmd(c, "TTL k:e"), 10, "failed EXPIREs left the TTL alone");

	expect_int(cmd(c, "EXPIRE k:e -1"), 1, "EXPIRE with a negative TTL is 1");
	expect_int(cmd(c, "EXISTS k:e"), 0, "EXPIRE with a negative TTL deleted the key");
	expect_status(cmd(c, "SET k:e v"), "OK", "SET it again");
	expect_int(cmd(c, "PEXPIRE k:e 0"), 1, "PEXPIRE 0 is 1");
	expect_int(cmd(c, "EXISTS k:e"), 0, "PEXPIRE 0 deleted the key");
	expect_status(cmd(c, "SET k:e v"), "OK", "SET it again");
	expect_int(cmd(c, "EXPIREAT k:e 1"), 1, "EXPIREAT in the past is 1");
	expect_int(cmd(c, "EXISTS k:e"), 0, "EXPIREAT in the past deleted the key");
	expect_status(cmd(c, "SET k:e v"), "OK", "SET it again");
	expect_int(cmd(c, "PEXPIREAT k:e 1000"), 1, "PEXPIREAT in the past is 1");
	expect_int(cmd(c, "EXISTS k:e"), 0, "PEXPIREAT in the past deleted the key");
	expect_err(cmd(c, "EXPIRE k:e"), "ERR wrong number of arguments for 'expire' command",
		   "EXPIRE without a time is an arity error");
}

static void test_ttl_family(redisContext *c)
{
	long long t = harness_unix_ms() / 1000 + 1000;

	expect_int(cmd(c, "TTL k:missing"), -2, "TTL of a missing key is -2");
	expect_int(cmd(c, "PTTL k:missing"), -2, "PTTL of a missing key is -2");
	expect_int(cmd(c, "EXPIRETIME k:missing"), -2, "EXPIRETIME of a missing key is -2");
	expect_int(cmd(c, "PEXPIRETIME k:missing"), -2, "PEXPIRETIME of a missing key is -2");
	expect_status(cmd(c, "SET k:p v"), "OK", "SET a persistent key");
	expect_int(cmd(c, "TTL k:p"), -1, "TTL of a persistent key is -1");
	expect_int(cmd(c, "PTTL k:p"), -1, "PTTL of a persistent key is -1");
	expect_int(cmd(c, "EXPIRETIME k:p"), -1, "EXPIRETIME of a persistent key is -1");
	expect_int(cmd(c, "PEXPIRETIME k:p"), -1, "PEXPIRETIME of a persistent key is -1");

	expect_int(cmd(c, "EXPIREAT k:p %lld", t), 1, "EXPIREAT in the future is 1");
	expect_int(cmd(c, "EXPIRETIME k:p"), t, "EXPIRETIME is the EXPIREAT time");
	expect_int(cmd(c, "PEXPIRETIME k:p"), t * 1000, "PEXPIRETIME is it in milliseconds");
	expect_int_range(cmd(c, "TTL k:p"), 999, 1000, "TTL counts down to it");
	expect_int(cmd(c, "PEXPIREAT k:p %lld", t * 1000 + 600), 1, "PEXPIREAT in the future is 1");
	expect_int(cmd(c, "PEXPIRETIME k:p"), t * 1000 + 600, "PEXPIRETIME is the PEXPIREAT time");
	expect_int(cmd(c, "EXPIRETIME k:p"), t + 1, "EXPIRETIME rounds .600 up");
	expect_int(cmd(c, "PEXPIREAT k:p %lld", t * 1000 + 499), 1, "PEXPIREAT at .499");
	expect_int(cmd(c, "EXPIRETIME k:p"), t, "EXPIRETIME rounds .499 down");
	expect_int(cmd(c, "PEXPIRE k:p 100000"), 1, "PEXPIRE 100000");
	expect_int_range(cmd(c, "PTTL k:p"), 99000, 100000, "PTTL after PEXPIRE 100000");
	expect_int(cmd(c, "TTL k:p"), 100, "TTL after PEXPIRE 100000");
	expect_int(cmd(c, "PEXPIRE k:p 1800"), 1, "PEXPIRE 1800");
	expect_int(cmd(c, "TTL k:p"), 2, "TTL rounds 1.8 s to 2");
	run(c, "FLUSHDB");
}

static void test_dbsize_flush(redisContext *c)
{
	expect_int(cmd(c, "DBSIZE"), 0, "DBSIZE of an empty database is 0");
	expect_status(cmd(c, "MSET k:1 1 k:2 2 k:3 3"), "OK", "MSET three keys in db 0");
	expect_int(cmd(c, "DBSIZE"), 3, "DBSIZE counts them");
	expect_status(cmd(c, "SELECT 1"), "OK", "SELECT 1");
	expect_int(cmd(c, "DBSIZE"), 0, "DBSIZE of db 1 is separate");
	expect_status(cmd(c, "SET k:1 x"), "OK", "SET in db 1");
	expect_status(cmd(c, "FLUSHDB"), "OK", "FLUSHDB of db 1");
	expect_int(cmd(c, "DBSIZE"), 0, "FLUSHDB emptied db 1");
	expect_status(cmd(c, "SELECT 0"), "OK", "SELECT 0");
	expect_int(cmd(c, "DBSIZE"), 3, "FLUSHDB of db 1 left db 0 alone");
	expect_status(cmd(c, "FLUSHDB SYNC"), "OK", "FLUSHDB SYNC");
	expect_int(cmd(c, "DBSIZE"), 0, "FLUSHDB SYNC emptied db 0");
	expect_status(cmd(c, "SET k:1 x"), "OK", "SET in db 0");
	expect_status(cmd(c, "FLUSHDB ASYNC"), "OK", "FLUSHDB ASYNC");
	expect_int(cmd(c, "DBSIZE"), 0, "FLUSHDB ASYNC emptied db 0 at once");
	expect_err(cmd(c, "FLUSHDB FOO"), ERR_SYNTAX, "FLUSHDB with an unknown option");
	expect_err(cmd(c, "FLUSHDB ASYNC FOO"), ERR_SYNTAX, "FLUSHDB with two options");

	expect_status(cmd(c, "SET k:1 x"), "OK", "SET in db 0");
	expect_status(cmd(c, "SELECT 2"), "OK", "SELECT 2");
	expect_status(cmd(c, "SET k:1 x"), "OK", "SET in db 2");
	expect_status(cmd(c, "FLUSHALL"), "OK", "FLUSHALL");
	expect_int(cmd(c, "DBSIZE"), 0, "FLUSHALL emptied db 2");
	expect_status(cmd(c, "SELECT 0"), "OK", "SELECT 0");
	expect_int(cmd(c, "DBSIZE"), 0, "FLUSHALL emptied db 0");
	expect_status(cmd(c, "SET k:1 x"), "OK", "SET in db 0");
	expect_status(cmd(c, "FLUSHALL ASYNC"), "OK", "FLUSHALL ASYNC");
	expect_int(cmd(c, "DBSIZE"), 0, "FLUSHALL ASYNC emptied the database at once");
	expect_status(cmd(c, "SET k:1 x"), "OK", "SET in db 0");
	expect_status(cmd(c, "FLUSHALL SYNC"), "OK", "FLUSHALL SYNC");
	expect_int(cmd(c, "DBSIZE"), 0, "FLUSHALL SYNC emptied the database");
	expect_err(cmd(c, "FLUSHALL FOO"), ERR_SYNTAX, "FLUSHALL with an unknown option");
	expect_err(cmd(c, "DBSIZE x"), "ERR wrong number of arguments for 'dbsize' command",
		   "DBSIZE with an argument is an arity error");
}

static void test_select_swapdb(redisContext *c)
{
	expect_status(cmd(c, "SET k:sw zero"), "OK", "SET in db 0");
	expect_status(cmd(c, "SELECT 1"), "OK", "SELECT 1");
	expect_status(cmd(c, "MSET k:sw one k:only1 x"), "OK", "MSET in db 1");
	expect_status(cmd(c, "SWAPDB 0 1"), "OK", "SWAPDB 0 1");
	expect_str(cmd(c, "GET k:sw"), "zero", "after SWAPDB, db 1 has db 0's data");
	expect_int(cmd(c, "DBSIZE"), 1, "after SWAPDB, db 1 has db 0's size");
	expect_status(cmd(c, "SELECT 0"), "OK", "SELECT 0");
	expect_str(cmd(c, "GET k:sw"), "one", "after SWAPDB, db 0 has db 1's data");
	expect_int(cmd(c, "DBSIZE"), 2, "after SWAPDB, db 0 has db 1's size");
	expect_status(cmd(c, "SWAPDB 0 0"), "OK", "SWAPDB of a db with itself");
	expect_err(cmd(c, "SWAPDB 0 16"), ERR_DB_RANGE, "SWAPDB 0 16 is out of range");
	expect_err(cmd(c, "SWAPDB a 1"), "ERR invalid first DB index", "SWAPDB a 1");
	expect_err(cmd(c, "SWAPDB 0 b"), "ERR invalid second DB index", "SWAPDB 0 b");

	expect_status(cmd(c, "SELECT 15"), "OK", "SELECT 15 is the last db");
	expect_err(cmd(c, "SELECT 16"), ERR_DB_RANGE, "SELECT 16 is out of range");
	expect_err(cmd(c, "SELECT -1"), ERR_DB_RANGE, "SELECT -1 is out of range");
	expect_err(cmd(c, "SELECT abc"), ERR_NOT_INT, "SELECT abc is not an integer");
	expect_status(cmd(c, "SELECT 0"), "OK", "SELECT 0");
	run(c, "FLUSHALL");
}

int main(void)
{
	struct harness_server *srv;
	redisContext *c;

	harness_init("test_keys: keyspace and expiry commands");
	srv = harness_server_start();
	c = harness_connect(srv);
	expect_status(cmd(c, "FLUSHALL"), "OK", "FLUSHALL before the tests");

	test_del_unlink_exists(c);
	test_type(c);
	test_keys_patterns(c);
	test_scan(c);
	test_randomkey(c);
	test_rename(c);
	test_copy(c);
	test_move(c);
	test_touch(c);
	test_object(c);
	test_expire_options(c);
	test_ttl_family(c);
	test_dbsize_flush(c);
	test_select_swapdb(c);

	redisFree(c);
	harness_server_stop(srv);
	return harness_done();
}
