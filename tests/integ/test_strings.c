/*
 * test_strings.c - the string commands, with the exact replies of
 * redis-server 7.0: GET SET (and its options), SETNX SETEX PSETEX, MGET
 * MSET MSETNX, GETSET GETDEL GETEX, APPEND STRLEN GETRANGE SUBSTR SETRANGE,
 * INCR DECR INCRBY DECRBY INCRBYFLOAT, LCS, and values large enough for the
 * blob tier.
 *
 * WRONGTYPE cases are not here: the core has no other type yet.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR_SYNTAX "ERR syntax error"
#define ERR_NOT_INT "ERR value is not an integer or out of range"
#define ERR_NOT_FLOAT "ERR value is not a valid float"

static void test_get_and_set_plain(redisContext *c)
{
	static const char bin[] = "a\0b\r\nc";

	expect_nil(cmd(c, "GET s:missing"), "GET of a missing key is nil");
	expect_status(cmd(c, "SET s:k v1"), "OK", "SET answers +OK");
	expect_str(cmd(c, "GET s:k"), "v1", "GET returns the value SET stored");
	expect_status(cmd(c, "SET s:k v2"), "OK", "SET over an existing key answers +OK");
	expect_str(cmd(c, "GET s:k"), "v2", "SET replaces the old value");
	expect_status(cmd(c, "SET s:bin %b", bin, sizeof(bin) - 1), "OK",
		      "SET of a binary value with NUL and CRLF");
	expect_bin(cmd(c, "GET s:bin"), bin, sizeof(bin) - 1,
		   "GET returns the binary value byte for byte");
	expect_status(cmd(c, "SET s:empty %s", ""), "OK", "SET of an empty value");
	expect_str(cmd(c, "GET s:empty"), "", "GET of an empty value is an empty bulk string");
	expect_status(cmd(c, "SET %s x", ""), "OK", "SET with an empty key");
	expect_str(cmd(c, "GET %s", ""), "x", "GET of the empty key");
	expect_err(cmd(c, "SET s:k"), "ERR wrong number of arguments for 'set' command",
		   "SET with one argument is an arity error");
	expect_err(cmd(c, "GET"), "ERR wrong number of arguments for 'get' command",
		   "GET without a key is an arity error");
	expect_err(cmd(c, "GET a b"), "ERR wrong number of arguments for 'get' command",
		   "GET with two keys is an arity error");
}

static void test_set_nx_xx(redisContext *c)
{
	run(c, "DEL s:nx s:xx");
	expect_status(cmd(c, "SET s:nx a NX"), "OK", "SET NX on a missing key sets it");
	expect_nil(cmd(c, "SET s:nx b NX"), "SET NX on an existing key is nil");
	expect_str(cmd(c, "GET s:nx"), "a", "SET NX did not overwrite");
	expect_nil(cmd(c, "SET s:xx a XX"), "SET XX on a missing key is nil");
	expect_int(cmd(c, "EXISTS s:xx"), 0, "SET XX did not create the key");
	expect_status(cmd(c, "SET s:nx c XX"), "OK", "SET XX on an existing key sets it");
	expect_str(cmd(c, "GET s:nx"), "c", "SET XX overwrote");
	expect_status(cmd(c, "set s:nx d xx"), "OK", "options are case-insensitive");
}

static void test_set_expire_options(redisContext *c)
{
	long long now_s = harness_unix_ms() / 1000;
	long long now_ms = harness_unix_ms();

	expect_status(cmd(c, "SET s:ex v EX 100"), "OK", "SET EX answers +OK");
	expect_int(cmd(c, "TTL s:ex"), 100, "SET EX 100 gives TTL 100");
	expect_status(cmd(c, "SET s:px v PX 100000"), "OK", "SET PX answers +OK");
	expect_int_range(cmd(c, "PTTL s:px"), 99000, 100000, "SET PX 100000 gives PTTL near 100000");
	expect_status(cmd(c, "SET s:exat v EXAT %lld", now_s + 100), "OK", "SET EXAT answers +OK");
	expect_int(cmd(c, "EXPIRETIME s:exat"), now_s + 100, "SET EXAT t gives EXPIRETIME t");
	expect_status(cmd(c, "SET s:pxat v PXAT %lld", now_ms + 100000), "OK", "SET PXAT answers +OK");
	expect_int(cmd(c, "PEXPIRETIME s:pxat"), now_ms + 100000, "SET PXAT t gives PEXPIRETIME t");

	expect_status(cmd(c, "SET s:ex v2 KEEPTTL"), "OK", "SET KEEPTTL answers +OK");
	expect_int_range(cmd(c, "TTL s:ex"), 99, 100, "SET KEEPTTL keeps the TTL");
	expect_str(cmd(c, "GET s:ex"), "v2", "SET KEEPTTL replaced the value");
	expect_status(cmd(c, "SET s:ex v3"), "OK", "plain SET on a volatile key");
	expect_int(cmd(c, "TTL s:ex"), -1, "plain SET clears the TTL");

	expect_err(cmd(c, "SET s:e v EX 10 PX 10"), ERR_SYNTAX, "SET EX with PX is a syntax error");
	expect_err(cmd(c, "SET s:e v EX 10 EXAT 10"), ERR_SYNTAX, "SET EX with EXAT is a syntax error");
	expect_err(cmd(c, "SET s:e v NX XX"), ERR_SYNTAX, "SET NX with XX is a syntax error");
	expect_err(cmd(c, "SET s:e v KEEPTTL EX 10"), ERR_SYNTAX, "SET KEEPTTL with EX is a syntax error");
	expect_err(cmd(c, "SET s:e v PX 10 KEEPTTL"), ERR_SYNTAX, "SET PX with KEEPTTL is a syntax error");
	expect_err(cmd(c, "SET s:e v EX"), ERR_SYNTAX, "SET EX without a value is a syntax error");
	expect_err(cmd(c, "SET s:e v FOO"), ERR_SYNTAX, "SET with an unknown option is a syntax error");
	expect_err(cmd(c, "SET s:e v EX 0"), "ERR invalid expire time in 'set' command",
		   "SET EX 0 is an invalid expire time");
	expect_err(cmd(c, "SET s:e v EX -1"), "ERR invalid expire time in 'set' command",
		   "SET EX -1 is an invalid expire time");
	expect_err(cmd(c, "SET s:e v PX 0"), "ERR invalid expire time in 'set' command",
		   "SET PX 0 is an invalid expire time");
	expect_err(cmd(c, "SET s:e v EXAT 0"), "ERR invalid expire time in 'set' command",
		   "SET EXAT 0 is an invalid expire time");
	expect_err(cmd(c, "SET s:e v EX 9999999999999999"), "ERR invalid expire time in 'set' command",
		   "SET EX whose milliseconds overflow is an invalid expire time");
	expect_err(cmd(c, "SET s:e v EX abc"), ERR_NOT_INT, "SET EX abc is not an integer");
	expect_err(cmd(c, "SET s:e v PX 1.5"), ERR_NOT_INT, "SET PX 1.5 is not an integer");
	expect_int(cmd(c, "EXISTS s:e"), 0, "no failed SET created its key");
}

static void test_set_get_option(redisContext *c)
{
	run(c, "DEL s:g");
	expect_nil(cmd(c, "SET s:g one GET"), "SET GET on a missing key returns nil");
	expect_str(cmd(c, "GET s:g"), "one", "SET GET stored the value");
	expect_str(cmd(c, "SET s:g two GET"), "one", "SET GET returns the old value");
	expect_str(cmd(c, "GET s:g"), "two", "SET GET stored the new value");
	expect_str(cmd(c, "SET s:g three NX GET"), "two",
		   "SET NX GET on an existing key returns the old value");
	expect_str(cmd(c, "GET s:g"), "two", "SET NX GET did not overwrite");
	expect_nil(cmd(c, "SET s:g2 x XX GET"), "SET XX GET on a missing key returns nil");
	expect_int(cmd(c, "EXISTS s:g2"), 0, "SET XX GET did not create the key");
	expect_str(cmd(c, "SET s:g four EX 100 GET"), "two", "SET EX GET returns the old value");
	expect_int(cmd(c, "TTL s:g"), 100, "SET EX GET set the TTL");
}

static void test_setnx_setex_psetex(redisContext *c)
{
	run(c, "DEL s:n s:se s:pse");
	expect_int(cmd(c, "SETNX s:n a"), 1, "SETNX on a missing key is 1");
	expect_int(cmd(c, "SETNX s:n b"), 0, "SETNX on an existing key is 0");
	expect_str(cmd(c, "GET s:n"), "a", "SETNX kept the first value");

	expect_status(cmd(c, "SETEX s:se 100 v"), "OK", "SETEX answers +OK");
	expect_int(cmd(c, "TTL s:se"), 100, "SETEX 100 gives TTL 100");
	expect_str(cmd(c, "GET s:se"), "v", "SETEX stored the value");
	expect_err(cmd(c, "SETEX s:se 0 v"), "ERR invalid expire time in 'setex' command",
		   "SETEX 0 is an invalid expire time");
	expect_err(cmd(c, "SETEX s:se -5 v"), "ERR invalid expire time in 'setex' command",
		   "SETEX -5 is an invalid expire time");
	expect_err(cmd(c, "SETEX s:se abc v"), ERR_NOT_INT, "SETEX abc is not an integer");
	expect_err(cmd(c, "SETEX s:se 10"), "ERR wrong number of arguments for 'setex' command",
		   "SETEX without a value is an arity error");

	expect_status(cmd(c, "PSETEX s:pse 100000 v"), "OK", "PSETEX answers +OK");
	expect_int_range(cmd(c, "PTTL s:pse"), 99000, 100000, "PSETEX 100000 gives PTTL near 100000");
	expect_err(cmd(c, "PSETEX s:pse 0 v"), "ERR invalid expire time in 'psetex' command",
		   "PSETEX 0 is an invalid expire time");
	expect_str(cmd(c, "GET s:pse"), "v", "a failed PSETEX left the value alone");
}

static void test_mget_mset_msetnx(redisContext *c)
{
	run(c, "DEL s:a s:b s:c s:d s:x s:y s:z");
	expect_status(cmd(c, "MSET s:a 1 s:b 2 s:c 3"), "OK", "MSET answers +OK");
	expect_array_of_str(cmd(c, "MGET s:a s:b s:missing s:c"), STRS("1", "2", NULL, "3"),
			    "MGET returns values in order with nil for a missing key");
	expect_array_of_str(cmd(c, "MGET s:a s:a"), STRS("1", "1"), "MGET repeats a repeated key");
	expect_status(cmd(c, "MSET s:d 1 s:d 2"), "OK", "MSET with a repeated key");
	expect_str(cmd(c, "GET s:d"), "2", "MSET: the last value of a repeated key wins");
	expect_err(cmd(c, "MSET s:a 1 s:b"), "ERR wrong number of arguments for 'mset' command",
		   "MSET with an odd number of arguments is an arity error");
	expect_err(cmd(c, "MSET s:a"), "ERR wrong number of arguments for 'mset' command",
		   "MSET with a key only is an arity error");
	expect_err(cmd(c, "MGET"), "ERR wrong number of arguments for 'mget' command",
		   "MGET without keys is an arity error");
	expect_status(cmd(c, "SET s:a v EX 100"), "OK", "SET EX before MSET");
	expect_status(cmd(c, "MSET s:a 9"), "OK", "MSET over a volatile key");
	expect_int(cmd(c, "TTL s:a"), -1, "MSET clears the TTL");

	expect_int(cmd(c, "MSETNX s:x 1 s:y 2"), 1, "MSETNX of missing keys is 1");
	expect_int(cmd(c, "MSETNX s:y 3 s:z 4"), 0, "MSETNX with one existing key is 0");
	expect_array_of_str(cmd(c, "MGET s:x s:y s:z"), STRS("1", "2", NULL),
			    "MSETNX set nothing when one key existed");
	expect_err(cmd(c, "MSETNX s:x 1 s:y"), "ERR wrong number of arguments for 'msetnx' command",
		   "MSETNX with an odd number of arguments is an arity error");
}

static void test_getset_getdel(redisContext *c)
{
	run(c, "DEL s:gs s:gd");
	expect_nil(cmd(c, "GETSET s:gs a"), "GETSET of a missing key is nil");
	expect_str(cmd(c, "GETSET s:gs b"), "a", "GETSET returns the old value");
	expect_str(cmd(c, "GET s:gs"), "b", "GETSET stored the new value");
	expect_int(cmd(c, "EXPIRE s:gs 100"), 1, "EXPIRE before GETSET");
	expect_str(cmd(c, "GETSET s:gs c"), "b", "GETSET on a volatile key");
	expect_int(cmd(c, "TTL s:gs"), -1, "GETSET clears the TTL");

	expect_status(cmd(c, "SET s:gd v"), "OK", "SET before GETDEL");
	expect_str(cmd(c, "GETDEL s:gd"), "v", "GETDEL returns the value");
	expect_int(cmd(c, "EXISTS s:gd"), 0, "GETDEL deleted the key");
	expect_nil(cmd(c, "GETDEL s:gd"), "GETDEL of a missing key is nil");
}

static void test_getex(redisContext *c)
{
	long long now_s = harness_unix_ms() / 1000;
	long long now_ms = harness_unix_ms();

	expect_status(cmd(c, "SET s:ge v"), "OK", "SET before GETEX");
	expect_str(cmd(c, "GETEX s:ge"), "v", "GETEX without options returns the value");
	expect_int(cmd(c, "TTL s:ge"), -1, "GETEX without options leaves no TTL");
	expect_str(cmd(c, "GETEX s:ge EX 100"), "v", "GETEX EX returns the value");
	expect_int(cmd(c, "TTL s:ge"), 100, "GETEX EX 100 gives TTL 100");
	expect_str(cmd(c, "GETEX s:ge PX 50000"), "v", "GETEX PX returns the value");
	expect_int_range(cmd(c, "PTTL s:ge"), 49000, 50000, "GETEX PX 50000 gives PTTL near 50000");
	expect_str(cmd(c, "GETEX s:ge EXAT %lld", now_s + 200), "v", "GETEX EXAT returns the value");
	expect_int(cmd(c, "EXPIRETIME s:ge"), now_s + 200, "GETEX EXAT t gives EXPIRETIME t");
	expect_str(cmd(c, "GETEX s:ge PXAT %lld", now_ms + 300000), "v", "GETEX PXAT returns the value");
	expect_int(cmd(c, "PEXPIRETIME s:ge"), now_ms + 300000, "GETEX PXAT t gives PEXPIRETIME t");
	expect_str(cmd(c, "GETEX s:ge PERSIST"), "v", "GETEX PERSIST returns the value");
	expect_int(cmd(c, "TTL s:ge"), -1, "GETEX PERSIST removed the TTL");
	expect_nil(cmd(c, "GETEX s:missing EX 10"), "GETEX of a missing key is nil");
	expect_err(cmd(c, "GETEX s:ge EX 0"), "ERR invalid expire time in 'getex' command",
		   "GETEX EX 0 is an invalid expire time");
	expect_err(cmd(c, "GETEX s:ge PXAT 0"), "ERR invalid expire time in 'getex' command",
		   "GETEX PXAT 0 is an invalid expire time");
	expect_err(cmd(c, "GETEX s:ge EX abc"), ERR_NOT_INT, "GETEX EX abc is not an integer");
	expect_err(cmd(c, "GETEX s:ge EX 10 PX 10"), ERR_SYNTAX, "GETEX EX with PX is a syntax error");
	expect_err(cmd(c, "GETEX s:ge PERSIST EX 10"), ERR_SYNTAX, "GETEX PERSIST with EX is a syntax error");
	expect_err(cmd(c, "GETEX s:ge FOO"), ERR_SYNTAX, "GETEX with an unknown option is a syntax error");
	expect_int(cmd(c, "TTL s:ge"), -1, "failed GETEX calls left the TTL alone");
}

static void test_append_strlen(redisContext *c)
{
	run(c, "DEL s:ap s:api");
	expect_int(cmd(c, "APPEND s:ap hello"), 5, "APPEND to a missing key returns the new length");
	expect_int(cmd(c, "APPEND s:ap %s", " world"), 11, "APPEND returns the total length");
	expect_str(cmd(c, "GET s:ap"), "hello world", "APPEND concatenated");
	expect_int(cmd(c, "STRLEN s:ap"), 11, "STRLEN is the length in bytes");
	expect_int(cmd(c, "STRLEN s:missing"), 0, "STRLEN of a missing key is 0");
	expect_int(cmd(c, "APPEND s:ap %s", ""), 11, "APPEND of nothing returns the length");
	expect_status(cmd(c, "SET s:api 12"), "OK", "SET of an integer");
	expect_int(cmd(c, "APPEND s:api 3"), 3, "APPEND to an integer value");
	expect_int(cmd(c, "INCR s:api"), 124, "INCR after APPEND sees the digits");
	expect_int(cmd(c, "STRLEN s:api"), 3, "STRLEN of an integer value counts its digits");
}

static void test_getrange_substr(redisContext *c)
{
	expect_status(cmd(c, "SET s:r hello123"), "OK", "SET before GETRANGE");
	expect_str(cmd(c, "GETRANGE s:r 0 4"), "hello", "GETRANGE 0 4");
	expect_str(cmd(c, "GETRANGE s:r -3 -1"), "123", "GETRANGE with negative indexes");
	expect_str(cmd(c, "GETRANGE s:r 0 -1"), "hello123", "GETRANGE 0 -1 is the whole value");
	expect_str(cmd(c, "GETRANGE s:r 0 100"), "hello123", "GETRANGE clamps the end");
	expect_str(cmd(c, "GETRANGE s:r 5 2"), "", "GETRANGE with start after end is empty");
	expect_str(cmd(c, "GETRANGE s:r -100 -50"), "h",
		   "GETRANGE with both indexes before the start gives the first byte (7.0)");
	expect_str(cmd(c, "GETRANGE s:r 8 10"), "", "GETRANGE past the end is empty");
	expect_str(cmd(c, "GETRANGE s:missing 0 -1"), "", "GETRANGE of a missing key is empty");
	expect_err(cmd(c, "GETRANGE s:r a 1"), ERR_NOT_INT, "GETRANGE with a non-integer start");
	expect_err(cmd(c, "GETRANGE s:r 0"), "ERR wrong number of arguments for 'getrange' command",
		   "GETRANGE without an end is an arity error");
	expect_str(cmd(c, "SUBSTR s:r 1 3"), "ell", "SUBSTR is GETRANGE");
	expect_status(cmd(c, "SET s:ri 12345"), "OK", "SET of an integer");
	expect_str(cmd(c, "GETRANGE s:ri 1 2"), "23", "GETRANGE of an integer value");
}

static void test_setrange(redisContext *c)
{
	static const char padded[] = "\0\0\0ab";

	run(c, "DEL s:sr s:sr2 s:sr3");
	expect_status(cmd(c, "SET s:sr hello123"), "OK", "SET before SETRANGE");
	expect_int(cmd(c, "SETRANGE s:sr 1 XY"), 8, "SETRANGE returns the length");
	expect_str(cmd(c, "GET s:sr"), "hXYlo123", "SETRANGE overwrote in place");
	expect_int(cmd(c, "SETRANGE s:sr 7 abc"), 10, "SETRANGE past the end grows the value");
	expect_str(cmd(c, "GET s:sr"), "hXYlo12abc", "SETRANGE grew the value");
	expect_int(cmd(c, "SETRANGE s:sr 2 %s", ""), 10, "SETRANGE of nothing returns the length");
	expect_int(cmd(c, "SETRANGE s:sr2 3 ab"), 5, "SETRANGE on a missing key");
	expect_bin(cmd(c, "GET s:sr2"), padded, sizeof(padded) - 1,
		   "SETRANGE pads a missing key with zero bytes");
	expect_int(cmd(c, "SETRANGE s:sr3 0 %s", ""), 0, "SETRANGE of nothing on a missing key is 0");
	expect_int(cmd(c, "EXISTS s:sr3"), 0, "SETRANGE of nothing did not create the key");
	expect_err(cmd(c, "SETRANGE s:sr -1 x"), "ERR offset is out of range",
		   "SETRANGE at a negative offset");
	expect_err(cmd(c, "SETRANGE s:sr 536870912 x"),
		   "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
		   "SETRANGE beyond 512 MB");
	expect_err(cmd(c, "SETRANGE s:sr abc x"), ERR_NOT_INT, "SETRANGE with a non-integer offset");
	expect_status(cmd(c, "SET s:sr 100"), "OK", "SET of an integer");
	expect_int(cmd(c, "SETRANGE s:sr 1 5"), 3, "SETRANGE on an integer value");
	expect_int(cmd(c, "INCR s:sr"), 151, "the integer value changed by SETRANGE");
}

static void test_incr_decr(redisContext *c)
{
	run(c, "DEL s:i");
	expect_int(cmd(c, "INCR s:i"), 1, "INCR of a missing key is 1");
	expect_int(cmd(c, "INCRBY s:i 10"), 11, "INCRBY 10");
	expect_int(cmd(c, "DECR s:i"), 10, "DECR");
	expect_int(cmd(c, "DECRBY s:i 5"), 5, "DECRBY 5");
	expect_int(cmd(c, "INCRBY s:i -7"), -2, "INCRBY a negative amount");
	expect_int(cmd(c, "DECRBY s:i -3"), 1, "DECRBY a negative amount");
	expect_str(cmd(c, "GET s:i"), "1", "GET of a counter is its decimal string");
	expect_int(cmd(c, "DECR s:missing2"), -1, "DECR of a missing key is -1");
	run(c, "DEL s:missing2");

	expect_status(cmd(c, "SET s:i 10 EX 100"), "OK", "SET EX of a counter");
	expect_int(cmd(c, "INCR s:i"), 11, "INCR of a volatile key");
	expect_int(cmd(c, "TTL s:i"), 100, "INCR keeps the TTL");

	expect_status(cmd(c, "SET s:i abc"), "OK", "SET of a non-number");
	expect_err(cmd(c, "INCR s:i"), ERR_NOT_INT, "INCR of a non-number");
	expect_status(cmd(c, "SET s:i %s", " 1"), "OK", "SET of a number with a leading space");
	expect_err(cmd(c, "INCR s:i"), ERR_NOT_INT, "INCR of a number with a leading space");
	expect_status(cmd(c, "SET s:i 1.5"), "OK", "SET of a decimal");
	expect_err(cmd(c, "INCR s:i"), ERR_NOT_INT, "INCR of a decimal");
	expect_status(cmd(c, "SET s:i 007"), "OK", "SET with leading zeros");
	expect_err(cmd(c, "INCR s:i"), ERR_NOT_INT, "INCR of a number with leading zeros");
	expect_status(cmd(c, "SET s:i %s", ""), "OK", "SET of an empty value");
	expect_err(cmd(c, "INCR s:i"), ERR_NOT_INT, "INCR of an empty value");
	expect_str(cmd(c, "GET s:i"), "", "failed INCR left the value alone");

	expect_status(cmd(c, "SET s:i 9223372036854775807"), "OK", "SET of LLONG_MAX");
	expect_err(cmd(c, "INCR s:i"), "ERR increment or decrement would overflow",
		   "INCR past LLONG_MAX");
	expect_err(cmd(c, "INCRBY s:i 1"), "ERR increment or decrement would overflow",
		   "INCRBY past LLONG_MAX");
	expect_status(cmd(c, "SET s:i -9223372036854775808"), "OK", "SET of LLONG_MIN");
	expect_err(cmd(c, "DECR s:i"), "ERR increment or decrement would overflow",
		   "DECR past LLONG_MIN");
	expect_err(cmd(c, "DECRBY s:i 9223372036854775808"), ERR_NOT_INT,
		   "DECRBY of 2^63 is not an integer");
	expect_err(cmd(c, "DECRBY s:i -9223372036854775808"), "ERR decrement would overflow",
		   "DECRBY LLONG_MIN cannot be negated");
	expect_err(cmd(c, "INCRBY s:i abc"), ERR_NOT_INT, "INCRBY with a non-integer amount");
	expect_err(cmd(c, "INCRBY s:i 1.0"), ERR_NOT_INT, "INCRBY with a decimal amount");
	expect_str(cmd(c, "GET s:i"), "-9223372036854775808", "failed DECR left LLONG_MIN alone");
	expect_err(cmd(c, "INCR"), "ERR wrong number of arguments for 'incr' command",
		   "INCR without a key is an arity error");
}

static void test_incrbyfloat(redisContext *c)
{
	run(c, "DEL s:f s:f2 s:f3");
	expect_status(cmd(c, "SET s:f 10.5"), "OK", "SET of a decimal");
	expect_str(cmd(c, "INCRBYFLOAT s:f 0.1"), "10.6", "INCRBYFLOAT 0.1");
	expect_str(cmd(c, "INCRBYFLOAT s:f 5.0e3"), "5010.60000000000000009",
		   "INCRBYFLOAT prints 17 significant digits of a long double");
	expect_str(cmd(c, "GET s:f"), "5010.60000000000000009", "GET sees the same text");
	expect_str(cmd(c, "INCRBYFLOAT s:f2 1e3"), "1000", "INCRBYFLOAT of a missing key, exponent form");
	expect_str(cmd(c, "INCRBYFLOAT s:f3 0.1"), "0.1", "INCRBYFLOAT 0.1 of a missing key");
	expect_str(cmd(c, "INCRBYFLOAT s:f3 0.2"), "0.3", "0.1 + 0.2 prints as 0.3");
	expect_status(cmd(c, "SET s:f 3"), "OK", "SET of an integer");
	expect_str(cmd(c, "INCRBYFLOAT s:f 1.5"), "4.5", "INCRBYFLOAT of an integer value");
	expect_str(cmd(c, "INCRBYFLOAT s:f -4.5"), "0", "INCRBYFLOAT down to zero prints 0");
	expect_status(cmd(c, "SET s:f 1.0"), "OK", "SET of 1.0");
	expect_str(cmd(c, "INCRBYFLOAT s:f 1"), "2", "an integral result has no decimal point");
	expect_err(cmd(c, "INCRBYFLOAT s:f abc"), ERR_NOT_FLOAT, "INCRBYFLOAT by a non-number");
	expect_err(cmd(c, "INCRBYFLOAT s:f nan"), ERR_NOT_FLOAT, "INCRBYFLOAT by nan");
	expect_err(cmd(c, "INCRBYFLOAT s:f inf"), "ERR increment would produce NaN or Infinity",
		   "INCRBYFLOAT by inf");
	expect_status(cmd(c, "SET s:f abc"), "OK", "SET of a non-number");
	expect_err(cmd(c, "INCRBYFLOAT s:f 1"), ERR_NOT_FLOAT, "INCRBYFLOAT of a non-number value");
	expect_status(cmd(c, "SET s:f 5 EX 100"), "OK", "SET EX of a number");
	expect_str(cmd(c, "INCRBYFLOAT s:f 0.5"), "5.5", "INCRBYFLOAT of a volatile key");
	expect_int(cmd(c, "TTL s:f"), 100, "INCRBYFLOAT keeps the TTL");
}

static void test_lcs(redisContext *c)
{
	expect_status(cmd(c, "MSET s:l1 ohmytext s:l2 mynewtext"), "OK", "MSET of two texts");
	expect_str(cmd(c, "LCS s:l1 s:l2"), "mytext", "LCS is the longest common subsequence");
	expect_int(cmd(c, "LCS s:l1 s:l2 LEN"), 6, "LCS LEN is its length");
	expect_reply(cmd(c, "LCS s:l1 s:l2 IDX"),
		     "['matches',[[[4,7],[5,8]],[[2,3],[0,1]]],'len',6]",
		     "LCS IDX lists the matching ranges, last first");
	expect_reply(cmd(c, "LCS s:l1 s:l2 IDX WITHMATCHLEN"),
		     "['matches',[[[4,7],[5,8],4],[[2,3],[0,1],2]],'len',6]",
		     "LCS IDX WITHMATCHLEN adds each match's length");
	expect_reply(cmd(c, "LCS s:l1 s:l2 IDX MINMATCHLEN 4 WITHMATCHLEN"),
		     "['matches',[[[4,7],[5,8],4]],'len',6]",
		     "LCS IDX MINMATCHLEN 4 drops shorter matches");
	expect_str(cmd(c, "LCS s:l1 s:missing"), "", "LCS with a missing key is empty");
	expect_int(cmd(c, "LCS s:missing s:missing2 LEN"), 0, "LCS LEN of two missing keys is 0");
	expect_err(cmd(c, "LCS s:l1 s:l2 LEN IDX"),
		   "ERR If you want both the length and indexes, please just use IDX.",
		   "LCS LEN with IDX is refused");
	expect_err(cmd(c, "LCS s:l1 s:l2 FOO"), ERR_SYNTAX, "LCS with an unknown option");
	expect_err(cmd(c, "LCS s:l1 s:l2 IDX MINMATCHLEN x"), ERR_NOT_INT,
		   "LCS MINMATCHLEN with a non-integer");
	expect_err(cmd(c, "LCS s:l1"), "ERR wrong number of arguments for 'lcs' command",
		   "LCS with one key is an arity error");
}

/* Values above the 64 KiB blob threshold behave like any other. */
static void test_large_values(redisContext *c)
{
	size_t len = 300 * 1024 + 7;
	char *v = malloc(len), *w;
	redisReply *r;

	if (!v)
		harness_bail("out of memory");
	for (size_t i = 0; i < len; i++)
		v[i] = (char)('a' + (i * 7 + i / 4096) % 26);
	expect_status(cmd(c, "SET s:big %b", v, len), "OK", "SET of a 300 KiB value");
	expect_bin(cmd(c, "GET s:big"), v, len, "GET returns the 300 KiB value byte for byte");
	expect_int(cmd(c, "STRLEN s:big"), (long long)len, "STRLEN of the large value");
	expect_bin(cmd(c, "GETRANGE s:big 100000 100099"), v + 100000, 100,
		   "GETRANGE inside the large value");
	expect_int(cmd(c, "SETRANGE s:big 200000 XYZ"), (long long)len, "SETRANGE inside the large value");
	memcpy(v + 200000, "XYZ", 3);
	expect_bin(cmd(c, "GETRANGE s:big 199999 200003"), v + 199999, 5,
		   "GETRANGE sees the SETRANGE");
	expect_int(cmd(c, "APPEND s:big tail"), (long long)len + 4, "APPEND to the large value");
	w = realloc(v, len + 4);
	if (!w)
		harness_bail("out of memory");
	v = w;
	memcpy(v + len, "tail", 4);
	expect_bin(cmd(c, "GET s:big"), v, len + 4, "GET after SETRANGE and APPEND");
	r = cmd(c, "SET s:big small GET");
	check(r && r->type == REDIS_REPLY_STRING && r->len == len + 4 &&
	      memcmp(r->str, v, len + 4) == 0,
	      "SET GET over a large value returns it whole");
	if (r)
		freeReplyObject(r);
	expect_str(cmd(c, "GET s:big"), "small", "a small value replaced the large one");
	expect_status(cmd(c, "SET s:big2 %b", v, len), "OK", "SET of another large value");
	expect_int(cmd(c, "DEL s:big2"), 1, "DEL of a large value");
	expect_nil(cmd(c, "GET s:big2"), "the deleted large value is gone");
	free(v);
}

int main(void)
{
	struct harness_server *srv;
	redisContext *c;

	harness_init("test_strings: string commands");
	srv = harness_server_start();
	c = harness_connect(srv);
	expect_status(cmd(c, "FLUSHALL"), "OK", "FLUSHALL before the tests");

	test_get_and_set_plain(c);
	test_set_nx_xx(c);
	test_set_expire_options(c);
	test_set_get_option(c);
	test_setnx_setex_psetex(c);
	test_mget_mset_msetnx(c);
	test_getset_getdel(c);
	test_getex(c);
	test_append_strlen(c);
	test_getrange_substr(c);
	test_setrange(c);
	test_incr_decr(c);
	test_incrbyfloat(c);
	test_lcs(c);
	test_large_values(c);

	expect_status(cmd(c, "FLUSHALL"), "OK", "FLUSHALL after the tests");
	redisFree(c);
	harness_server_stop(srv);
	return harness_done();
}
