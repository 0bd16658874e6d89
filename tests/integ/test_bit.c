/*
 * test_bit.c - the bitmap commands, with the exact replies of redis-server
 * 7.0: SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO, their
 * errors in the order Redis checks arguments, the encodings and lengths
 * writes leave behind, what counts as a change for WATCH, and BITOP over
 * keys on different shards.
 *
 * Everything runs twice: on a server with the default shards and on one
 * started with --shards 2 (dropped for redis-server). The cross-shard keys
 * are picked by hash slot parity, so with an even shard count (shard = slot
 * mod N) they live on different shards.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR_SYNTAX "ERR syntax error"
#define ERR_NOT_INT "ERR value is not an integer or out of range"
#define ERR_WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"
#define ERR_OFFSET "ERR bit offset is not an integer or out of range"
#define ERR_BIT "ERR bit is not an integer or out of range"
#define ERR_BITARG "ERR The bit argument must be 1 or 0."
#define ERR_BFTYPE "ERR Invalid bitfield type. Use something like i16 u8. " \
		   "Note that u64 is not supported but i64 is."

/* Writes into out the first "<prefix><n>" whose slot is even (parity 0) or
 * odd (parity 1). */
static void key_on(char *out, size_t cap, const char *prefix, unsigned parity)
{
	harness_pick_key(out, cap, prefix, "", 2, parity);
}

static void test_setbit_getbit(redisContext *c)
{
	run(c, "DEL b:s b:n b:t");
	expect_int(cmd(c, "SETBIT b:s 7 1"), 0, "SETBIT on a missing key returns the old bit 0");
	expect_bin(cmd(c, "GET b:s"), "\x01", 1, "SETBIT 7 created the one byte 0x01");
	expect_reply(cmd(c, "OBJECT ENCODING b:s"), "'raw'", "SETBIT creates a raw string");
	expect_int(cmd(c, "SETBIT b:s 7 1"), 1, "SETBIT returns the old bit 1");
	expect_int(cmd(c, "SETBIT b:s 7 0"), 1, "SETBIT clearing returns the old bit 1");
	expect_int(cmd(c, "SETBIT b:s 0 1"), 0, "SETBIT of the top bit of byte 0");
	expect_bin(cmd(c, "GET b:s"), "\x80", 1, "bit 0 is the most significant bit");
	expect_int(cmd(c, "SETBIT b:s 100 1"), 0, "SETBIT past the end");
	expect_int(cmd(c, "STRLEN b:s"), 13, "SETBIT 100 grew the value to 13 bytes");
	expect_bin(cmd(c, "GETRANGE b:s 1 12"), "\0\0\0\0\0\0\0\0\0\0\0\x08", 12,
		   "the growth is zero bytes, then bit 100");
	expect_int(cmd(c, "GETBIT b:s 0"), 1, "GETBIT of a set bit");
	expect_int(cmd(c, "GETBIT b:s 1"), 0, "GETBIT of a clear bit");
	expect_int(cmd(c, "GETBIT b:s 100"), 1, "GETBIT of the bit SETBIT set last");
	expect_int(cmd(c, "GETBIT b:s 104"), 0, "GETBIT just past the end is 0");
	expect_int(cmd(c, "GETBIT b:s 4294967295"), 0, "GETBIT at the last allowed offset is 0");
	expect_int(cmd(c, "GETBIT b:missing 5"), 0, "GETBIT of a missing key is 0");
	expect_int(cmd(c, "EXISTS b:missing"), 0, "GETBIT creates nothing");

	expect_status(cmd(c, "SET b:n 12345"), "OK", "SET of an integer");
	expect_int(cmd(c, "GETBIT b:n 2"), 1, "GETBIT reads an integer's text ('1' is 0x31)");
	expect_int(cmd(c, "GETBIT b:n 40"), 0, "GETBIT past an integer's text is 0");
	expect_int(cmd(c, "SETBIT b:n 7 1"), 1, "SETBIT on an integer value returns the old bit");
	expect_reply(cmd(c, "OBJECT ENCODING b:n"), "'raw'",
		     "SETBIT made the integer value raw, even changing nothing");
	expect_int(cmd(c, "SETBIT b:n 6 1"), 0, "SETBIT that changes the text");
	expect_str(cmd(c, "GET b:n"), "32345", "'1' with bit 6 set is '3'");

	expect_status(cmd(c, "SET b:t x EX 100"), "OK", "SET with a TTL");
	expect_int(cmd(c, "SETBIT b:t 20 1"), 0, "SETBIT on a volatile key");
	expect_int(cmd(c, "TTL b:t"), 100, "SETBIT keeps the TTL");

	expect_err(cmd(c, "SETBIT b:e -1 1"), ERR_OFFSET, "SETBIT at a negative offset");
	expect_err(cmd(c, "SETBIT b:e x 1"), ERR_OFFSET, "SETBIT at a non-integer offset");
	expect_err(cmd(c, "SETBIT b:e 1.0 1"), ERR_OFFSET, "SETBIT at offset 1.0");
	expect_err(cmd(c, "SETBIT b:e 4294967296 1"), ERR_OFFSET,
		   "SETBIT at 2^32 would pass 512MB");
	expect_err(cmd(c, "SETBIT b:e 1 2"), ERR_BIT, "SETBIT of a 2");
	expect_err(cmd(c, "SETBIT b:e 1 -1"), ERR_BIT, "SETBIT of a -1");
	expect_err(cmd(c, "SETBIT b:e 1 x"), ERR_BIT, "SETBIT of a non-integer");
	expect_err(cmd(c, "SETBIT b:e x y"), ERR_OFFSET, "SETBIT checks the offset first");
	expect_err(cmd(c, "GETBIT b:e -1"), ERR_OFFSET, "GETBIT at a negative offset");
	expect_err(cmd(c, "GETBIT b:e 4294967296"), ERR_OFFSET, "GETBIT at 2^32");
	expect_int(cmd(c, "EXISTS b:e"), 0, "failed SETBITs created nothing");
	expect_err(cmd(c, "SETBIT b:e 1"), "ERR wrong number of arguments for 'setbit' command",
		   "SETBIT without a value is an arity error");
	expect_err(cmd(c, "GETBIT b:e"), "ERR wrong number of arguments for 'getbit' command",
		   "GETBIT without an offset is an arity error");
}

/* The offset limit follows proto-max-bulk-len (at least 1mb in Redis). */
static void test_offset_limit(redisContext *c)
{
	char *old = harness_config_get(c, "proto-max-bulk-len");

	run(c, "DEL b:lim");
	check(harness_config_set(c, "proto-max-bulk-len", "1048576"),
	      "CONFIG SET proto-max-bulk-len 1mb");
	expect_err(cmd(c, "SETBIT b:lim 8388608 1"), ERR_OFFSET,
		   "SETBIT at the first bit of byte 1mb is refused");
	expect_int(cmd(c, "SETBIT b:lim 8388607 1"), 0, "SETBIT at the last bit below 1mb");
	expect_int(cmd(c, "STRLEN b:lim"), 1048576, "the value is exactly 1mb long");
	expect_err(cmd(c, "BITFIELD b:lim GET u8 #1048576"), ERR_OFFSET,
		   "BITFIELD #n offsets obey the same limit");
	expect_reply(cmd(c, "BITFIELD b:lim GET u8 #1048575"), "[1]",
		     "BITFIELD reads the last byte with a #n offset");
	expect_int(cmd(c, "BITCOUNT b:lim"), 1, "BITCOUNT over 1mb");
	expect_int(cmd(c, "BITPOS b:lim 1"), 8388607, "BITPOS finds the last bit of 1mb");
	check(harness_config_set(c, "proto-max-bulk-len", old ? old : "536870912"),
	      "CONFIG SET proto-max-bulk-len back");
	free(old);
	run(c, "DEL b:lim");
}

static void test_bitcount(redisContext *c)
{
	run(c, "DEL b:c b:empty");
	expect_status(cmd(c, "SET b:c foobar"), "OK", "SET foobar");
	expect_int(cmd(c, "BITCOUNT b:c"), 26, "BITCOUNT of foobar");
	expect_int(cmd(c, "BITCOUNT b:c 0 0"), 4, "BITCOUNT of byte 0");
	expect_int(cmd(c, "BITCOUNT b:c 1 1"), 6, "BITCOUNT of byte 1");
	expect_int(cmd(c, "BITCOUNT b:c 1 1 BYTE"), 6, "BITCOUNT with BYTE");
	expect_int(cmd(c, "BITCOUNT b:c 5 30 BIT"), 17, "BITCOUNT of bits 5..30");
	expect_int(cmd(c, "BITCOUNT b:c 1 5 bit"), 3, "BITCOUNT of bits within one byte");
	expect_int(cmd(c, "BITCOUNT b:c -2 -1"), 7, "BITCOUNT of the last two bytes");
	expect_int(cmd(c, "BITCOUNT b:c -8 -1 BIT"), 4, "BITCOUNT of the last eight bits");
	expect_int(cmd(c, "BITCOUNT b:c -100 100"), 26, "a range wider than the value is clamped");
	expect_int(cmd(c, "BITCOUNT b:c 4 2"), 0, "a backwards range counts nothing");
	expect_int(cmd(c, "BITCOUNT b:c 6 100"), 0, "a range past the end counts nothing");
	expect_int(cmd(c, "BITCOUNT b:c -1 -5 FOO"), 0,
		   "a backwards negative range is 0 before the unit is read");
	expect_err(cmd(c, "BITCOUNT b:c 0"), ERR_SYNTAX, "BITCOUNT with a start alone");
	expect_err(cmd(c, "BITCOUNT b:c 0 1 FOO"), ERR_SYNTAX, "BITCOUNT with a bad unit");
	expect_err(cmd(c, "BITCOUNT b:c 0 1 BIT x"), ERR_SYNTAX, "BITCOUNT with a sixth argument");
	expect_err(cmd(c, "BITCOUNT b:c a 1"), ERR_NOT_INT, "BITCOUNT with a non-integer start");
	expect_err(cmd(c, "BITCOUNT b:c 0 1.5"), ERR_NOT_INT, "BITCOUNT with a non-integer end");
	expect_int(cmd(c, "BITCOUNT b:missing"), 0, "BITCOUNT of a missing key");
	expect_int(cmd(c, "BITCOUNT b:missing 0"), 0,
		   "BITCOUNT of a missing key answers 0 before checking arguments");
	expect_status(cmd(c, "SET b:empty %s", ""), "OK", "SET of an empty value");
	expect_int(cmd(c, "BITCOUNT b:empty 0 -1"), 0, "BITCOUNT of an empty value");
	expect_status(cmd(c, "SET b:c 255"), "OK", "SET of an integer");
	expect_int(cmd(c, "BITCOUNT b:c"), 11, "BITCOUNT counts an integer's text");
	expect_err(cmd(c, "BITCOUNT"), "ERR wrong number of arguments for 'bitcount' command",
		   "BITCOUNT without a key is an arity error");
}

static void test_bitpos(redisContext *c)
{
	run(c, "DEL b:p b:ones b:zeros b:empty");
	expect_status(cmd(c, "SET b:p %b", "\xff\xf0\x00", (size_t)3), "OK", "SET ff f0 00");
	expect_int(cmd(c, "BITPOS b:p 0"), 12, "BITPOS 0 finds the first clear bit");
	expect_int(cmd(c, "BITPOS b:p 1"), 0, "BITPOS 1 finds bit 0");
	expect_int(cmd(c, "BITPOS b:p 1 1"), 8, "BITPOS 1 from byte 1");
	expect_int(cmd(c, "BITPOS b:p 1 2"), -1, "BITPOS 1 in the zero byte is -1");
	expect_int(cmd(c, "BITPOS b:p 0 1 1"), 12, "BITPOS 0 within byte 1");
	expect_int(cmd(c, "BITPOS b:p 1 -2 -1"), 8, "BITPOS with negative byte indexes");
	expect_int(cmd(c, "BITPOS b:p 0 2 9 BIT"), -1, "BITPOS 0 over bits 2..9, all ones, is -1");
	expect_int(cmd(c, "BITPOS b:p 0 2 12 BIT"), 12, "BITPOS 0 over bits 2..12 skips the ones");
	expect_int(cmd(c, "BITPOS b:p 1 12 100 BIT"), -1, "BITPOS 1 among clear bits is -1");
	expect_int(cmd(c, "BITPOS b:p 1 7 15 bit"), 7, "BITPOS 1 from bit 7");
	expect_int(cmd(c, "BITPOS b:p 0 3 1"), -1, "a backwards range is -1");

	expect_status(cmd(c, "SET b:ones %b", "\xff\xff\xff", (size_t)3), "OK", "SET ff ff ff");
	expect_int(cmd(c, "BITPOS b:ones 0"), 24,
		   "BITPOS 0 with no end finds the zero padding past the value");
	expect_int(cmd(c, "BITPOS b:ones 0 1"), 24, "the same with a start alone");
	expect_err(cmd(c, "BITPOS b:ones 0 3 BIT"), ERR_NOT_INT,
		   "a unit without an end is read as the end");
	expect_int(cmd(c, "BITPOS b:ones 0 0 -1"), -1,
		   "BITPOS 0 with an explicit end and no clear bit is -1");
	expect_int(cmd(c, "BITPOS b:ones 0 0 20 BIT"), -1, "the same in bits");
	expect_int(cmd(c, "BITPOS b:ones 1 10 20 BIT"), 10, "BITPOS 1 from bit 10");

	expect_status(cmd(c, "SET b:zeros %b", "\0\0\0", (size_t)3), "OK", "SET 00 00 00");
	expect_int(cmd(c, "BITPOS b:zeros 1"), -1, "BITPOS 1 in zeros is -1");
	expect_int(cmd(c, "BITPOS b:zeros 0 9 -1 BIT"), 9, "BITPOS 0 from bit 9");

	expect_int(cmd(c, "BITPOS b:missing 1"), -1, "BITPOS 1 of a missing key is -1");
	expect_int(cmd(c, "BITPOS b:missing 0"), 0, "BITPOS 0 of a missing key is 0");
	expect_int(cmd(c, "BITPOS b:missing 0 x y z w"), 0,
		   "a missing key answers before the range is read");
	expect_status(cmd(c, "SET b:empty %s", ""), "OK", "SET of an empty value");
	expect_int(cmd(c, "BITPOS b:empty 0"), -1, "BITPOS 0 of an empty value is -1");
	expect_int(cmd(c, "BITPOS b:empty 1"), -1, "BITPOS 1 of an empty value is -1");

	expect_err(cmd(c, "BITPOS b:p 2"), ERR_BITARG, "BITPOS of a 2");
	expect_err(cmd(c, "BITPOS b:missing -1"), ERR_BITARG, "the bit is checked before the key");
	expect_err(cmd(c, "BITPOS b:p x"), ERR_NOT_INT, "BITPOS of a non-integer bit");
	expect_err(cmd(c, "BITPOS b:p 1 x"), ERR_NOT_INT, "BITPOS with a non-integer start");
	expect_err(cmd(c, "BITPOS b:p 1 0 x"), ERR_NOT_INT, "BITPOS with a non-integer end");
	expect_err(cmd(c, "BITPOS b:p 1 0 x FOO"), ERR_SYNTAX, "the unit is checked before the end");
	expect_err(cmd(c, "BITPOS b:p 1 0 1 BIT x"), ERR_SYNTAX, "BITPOS with a seventh argument");
	expect_err(cmd(c, "BITPOS b:p"), "ERR wrong number of arguments for 'bitpos' command",
		   "BITPOS without a bit is an arity error");
}

/* BITOP with destination d and sources s1, s2 (three keys that may be on
 * different shards): label names the placement in the messages. */
static void test_bitop_keys(redisContext *c, const char *d, const char *s1, const char *s2,
			    const char *label)
{
	run(c, "DEL %s %s %s", d, s1, s2);
	expect_status(cmd(c, "SET %s %b", s1, "\xf0\x0f\xaa", (size_t)3), "OK", "%s: SET s1", label);
	expect_status(cmd(c, "SET %s %b", s2, "\xff\x01", (size_t)2), "OK", "%s: SET s2", label);
	expect_int(cmd(c, "BITOP AND %s %s %s", d, s1, s2), 3, "%s: BITOP AND is 3 bytes", label);
	expect_bin(cmd(c, "GET %s", d), "\xf0\x01\x00", 3, "%s: AND pads the short source with zeros",
		   label);
	expect_int(cmd(c, "BITOP OR %s %s %s", d, s1, s2), 3, "%s: BITOP OR", label);
	expect_bin(cmd(c, "GET %s", d), "\xff\x0f\xaa", 3, "%s: OR result", label);
	expect_int(cmd(c, "BITOP XOR %s %s %s %s", d, s1, s2, s2), 3, "%s: BITOP XOR of three", label);
	expect_bin(cmd(c, "GET %s", d), "\xf0\x0f\xaa", 3, "%s: XOR with a key twice cancels", label);
	expect_int(cmd(c, "BITOP NOT %s %s", d, s2), 2, "%s: BITOP NOT", label);
	expect_bin(cmd(c, "GET %s", d), "\x00\xfe", 2, "%s: NOT result", label);
	expect_int(cmd(c, "BITOP AND %s %s b:nosuch", d, s1), 3,
		   "%s: AND with a missing source", label);
	expect_bin(cmd(c, "GET %s", d), "\0\0\0", 3, "%s: a missing source is all zeros", label);
	expect_int(cmd(c, "BITOP OR %s %s %s", s1, s1, s2), 3,
		   "%s: the destination may be a source", label);
	expect_bin(cmd(c, "GET %s", s1), "\xff\x0f\xaa", 3, "%s: s1 |= s2", label);
	expect_int(cmd(c, "BITOP OR %s b:nosuch b:nosuch2", d), 0,
		   "%s: BITOP of missing keys is 0", label);
	expect_int(cmd(c, "EXISTS %s", d), 0, "%s: and deletes the destination", label);
	run(c, "DEL %s %s %s", d, s1, s2);
}

static void test_bitop(redisContext *c)
{
	run(c, "DEL b:d b:a b:b b:h");
	test_bitop_keys(c, "b:d", "b:a", "b:b", "one shard");

	expect_status(cmd(c, "SET b:a 12"), "OK", "SET of an integer");
	expect_int(cmd(c, "BITOP OR b:d b:a"), 2, "BITOP of an integer value reads its text");
	expect_str(cmd(c, "GET b:d"), "12", "the copy has the same text");
	expect_reply(cmd(c, "OBJECT ENCODING b:d"), "'raw'", "a BITOP result is raw");
	expect_int(cmd(c, "EXPIRE b:d 100"), 1, "EXPIRE the destination");
	expect_int(cmd(c, "BITOP NOT b:d b:a"), 2, "BITOP over a volatile destination");
	expect_int(cmd(c, "TTL b:d"), -1, "BITOP drops the destination's TTL");
	expect_int(cmd(c, "HSET b:h f v"), 1, "HSET of a hash");
	expect_int(cmd(c, "BITOP AND b:h b:a"), 2, "BITOP overwrites a destination of another type");
	expect_reply(cmd(c, "TYPE b:h"), "+string", "the destination is a string now");
	run(c, "DEL b:h");
	expect_int(cmd(c, "HSET b:h f v"), 1, "HSET of a hash");
	expect_err(cmd(c, "BITOP AND b:d b:a b:h"), ERR_WRONGTYPE, "BITOP of a hash source");
	expect_err(cmd(c, "BITOP NAND b:d b:a"), ERR_SYNTAX, "BITOP with an unknown operation");
	expect_err(cmd(c, "BITOP NOT b:d b:a b:a"), "ERR BITOP NOT must be called with a single "
		   "source key.", "BITOP NOT of two keys");
	expect_err(cmd(c, "BITOP AND b:d"), "ERR wrong number of arguments for 'bitop' command",
		   "BITOP without sources is an arity error");
	expect_int(cmd(c, "bitop xor b:d b:a"), 2, "BITOP operations are case-insensitive");
	run(c, "DEL b:d b:a b:b b:h");
}

static void test_bitop_cross_shard(redisContext *c)
{
	char d[32], s1[32], s2[32];

	key_on(d, sizeof(d), "bx:d", 0);
	key_on(s1, sizeof(s1), "bx:s", 1);
	key_on(s2, sizeof(s2), "bx:t", 0);
	harness_diag("cross-shard keys %s (slot %u), %s (slot %u), %s (slot %u)",
		     d, harness_key_slot(d, strlen(d)), s1, harness_key_slot(s1, strlen(s1)), s2, harness_key_slot(s2, strlen(s2)));
	test_bitop_keys(c, d, s1, s2, "across shards");
	/* A destination on the other shard than every source. */
	key_on(s2, sizeof(s2), "bx:u", 1);
	test_bitop_keys(c, d, s1, s2, "destination apart");
}

static void test_bitfield(redisContext *c)
{
	run(c, "DEL b:f b:g b:ro b:new b:h");
	expect_reply(cmd(c, "BITFIELD b:f SET i8 0 100 GET i8 0"), "[0,100]",
		     "SET returns the old value, GET the new");
	expect_reply(cmd(c, "BITFIELD b:f INCRBY i8 0 27 INCRBY i8 0 1"), "[127,-128]",
		     "INCRBY wraps a signed field by default");
	expect_reply(cmd(c, "BITFIELD b:f OVERFLOW SAT INCRBY i8 0 -1 INCRBY i8 0 300"),
		     "[-128,127]", "SAT saturates at the minimum and at the maximum");
	expect_reply(cmd(c, "BITFIELD b:f OVERFLOW FAIL INCRBY i8 0 1 GET i8 0"), "[(nil),127]",
		     "FAIL answers nil and leaves the field");
	expect_reply(cmd(c, "BITFIELD b:f OVERFLOW FAIL INCRBY i8 0 -255 INCRBY i8 0 -256"),
		     "[-128,(nil)]", "FAIL refuses only the op that overflows");
	expect_reply(cmd(c, "BITFIELD b:f SET u8 0 300 GET u8 0"), "[128,44]",
		     "an unsigned SET wraps modulo 2^8");
	expect_reply(cmd(c, "BITFIELD b:f OVERFLOW SAT SET u8 0 -1 GET u8 0"), "[44,255]",
		     "a negative unsigned SET saturates at the maximum");
	expect_reply(cmd(c, "BITFIELD b:f OVERFLOW WRAP INCRBY u2 100 1 INCRBY u2 100 1 "
			 "INCRBY u2 100 1 INCRBY u2 100 1"), "[1,2,3,0]", "u2 wraps after 3");
	expect_reply(cmd(c, "BITFIELD b:f OVERFLOW SAT INCRBY u2 102 5 INCRBY u2 102 -9"),
		     "[3,0]", "u2 saturates at 3 and 0");
	expect_reply(cmd(c, "BITFIELD b:f OVERFLOW SAT SET i8 16 -9223372036854775808 GET i8 16"),
		     "[0,127]", "Redis's SAT stores the maximum for SET i8 -2^63");
	expect_reply(cmd(c, "BITFIELD b:f OVERFLOW SAT SET i8 16 -9223372036854775680 GET i8 16"),
		     "[127,-128]", "and the minimum for SET i8 -2^63+128");

	run(c, "DEL b:f");
	expect_reply(cmd(c, "BITFIELD b:f SET u5 7 23"), "[0]", "SET of an unaligned u5");
	expect_bin(cmd(c, "GET b:f"), "\x01\x70", 2, "u5 23 at bit 7 is 00000001 01110000");
	expect_reply(cmd(c, "BITFIELD b:f GET u5 7 GET i5 7 GET u3 6 GET u16 0"),
		     "[23,-9,2,368]", "unaligned GETs of several widths");
	expect_reply(cmd(c, "BITFIELD b:f SET i16 #1 -2 GET u8 #2 GET u8 #3 GET i16 #1"),
		     "[0,255,254,-2]", "#n offsets count in field widths");
	expect_reply(cmd(c, "BITFIELD b:f SET i64 64 -1 GET i64 64 GET u63 65 GET u63 64"),
		     "[0,-1,9223372036854775807,9223372036854775807]", "64-bit and u63 fields");
	expect_reply(cmd(c, "BITFIELD b:f INCRBY i64 64 -9223372036854775807 "
			 "INCRBY i64 64 -1 OVERFLOW SAT INCRBY i64 64 -1"),
		     "[-9223372036854775808,9223372036854775807,9223372036854775806]",
		     "i64 INCRBY wraps and saturates");
	expect_reply(cmd(c, "BITFIELD b:f GET u8 1000 GET i64 999"), "[0,0]",
		     "GET past the end reads zeros");
	expect_int(cmd(c, "STRLEN b:f"), 16, "GETs do not grow the value");
	expect_reply(cmd(c, "BITFIELD b:f"), "[]", "BITFIELD without subcommands is an empty array");
	expect_reply(cmd(c, "bitfield b:f get u8 0"), "[1]", "subcommands are case-insensitive");

	expect_reply(cmd(c, "BITFIELD b:new GET u8 0"), "[0]", "GET of a missing key is 0");
	expect_int(cmd(c, "EXISTS b:new"), 0, "a BITFIELD of GETs creates nothing");
	expect_reply(cmd(c, "BITFIELD b:new OVERFLOW FAIL SET u8 0 300"), "[(nil)]",
		     "a failed SET on a missing key");
	expect_bin(cmd(c, "GET b:new"), "\0", 1, "still creates the key, zero-filled");
	expect_status(cmd(c, "SET b:g 100"), "OK", "SET of an integer");
	expect_reply(cmd(c, "BITFIELD b:g GET u8 0 GET u16 8"), "[49,12336]",
		     "BITFIELD reads an integer's text");
	expect_reply(cmd(c, "OBJECT ENCODING b:g"), "'int'", "a read leaves the integer alone");

	expect_status(cmd(c, "SET b:ro %b", "\x12\x34", (size_t)2), "OK", "SET 12 34");
	expect_reply(cmd(c, "BITFIELD_RO b:ro GET u8 0 GET u4 12"), "[18,4]", "BITFIELD_RO GETs");
	expect_reply(cmd(c, "BITFIELD_RO b:missing GET i8 0"), "[0]", "BITFIELD_RO of a missing key");
	expect_err(cmd(c, "BITFIELD_RO b:ro GET u8 0 SET u8 0 1"),
		   "ERR BITFIELD_RO only supports the GET subcommand", "BITFIELD_RO refuses SET");
	expect_err(cmd(c, "BITFIELD_RO b:ro INCRBY u8 0 1"),
		   "ERR BITFIELD_RO only supports the GET subcommand", "BITFIELD_RO refuses INCRBY");
	expect_err(cmd(c, "BITFIELD_RO b:ro SET u8 0 x"), ERR_NOT_INT,
		   "BITFIELD_RO parses before refusing");
	expect_bin(cmd(c, "GET b:ro"), "\x12\x34", 2, "BITFIELD_RO changed nothing");

	expect_err(cmd(c, "BITFIELD b:f GET u64 0"), ERR_BFTYPE, "u64 is not a type");
	expect_err(cmd(c, "BITFIELD b:f GET i65 0"), ERR_BFTYPE, "i65 is not a type");
	expect_err(cmd(c, "BITFIELD b:f GET i0 0"), ERR_BFTYPE, "i0 is not a type");
	expect_err(cmd(c, "BITFIELD b:f GET x8 0"), ERR_BFTYPE, "x8 is not a type");
	expect_err(cmd(c, "BITFIELD b:f GET U8 0"), ERR_BFTYPE, "the type letter is lower case");
	expect_err(cmd(c, "BITFIELD b:f GET u8 -1"), ERR_OFFSET, "a negative offset");
	expect_err(cmd(c, "BITFIELD b:f GET u8 #-1"), ERR_OFFSET, "a negative #n offset");
	expect_err(cmd(c, "BITFIELD b:f GET u8 #x"), ERR_OFFSET, "a bad #n offset");
	expect_err(cmd(c, "BITFIELD b:f GET u8 4294967296"), ERR_OFFSET, "an offset at 512MB");
	expect_err(cmd(c, "BITFIELD b:f SET u8 0 x"), ERR_NOT_INT, "a non-integer SET value");
	expect_err(cmd(c, "BITFIELD b:f INCRBY u8 0 1.5"), ERR_NOT_INT,
		   "a non-integer increment");
	expect_err(cmd(c, "BITFIELD b:f OVERFLOW MAYBE GET u8 0"),
		   "ERR Invalid OVERFLOW type specified", "an unknown OVERFLOW type");
	expect_err(cmd(c, "BITFIELD b:f GET u8"), ERR_SYNTAX, "GET without an offset");
	expect_err(cmd(c, "BITFIELD b:f SET u8 0"), ERR_SYNTAX, "SET without a value");
	expect_err(cmd(c, "BITFIELD b:f OVERFLOW"), ERR_SYNTAX, "OVERFLOW without a type");
	expect_err(cmd(c, "BITFIELD b:f FOO"), ERR_SYNTAX, "an unknown subcommand");
	expect_err(cmd(c, "BITFIELD b:f SET u8 0 1 GET u64 0"), ERR_BFTYPE,
		   "a bad op anywhere fails the call");
	expect_bin(cmd(c, "GETRANGE b:f 0 0"), "\x01", 1, "and nothing ran");
	expect_err(cmd(c, "BITFIELD"), "ERR wrong number of arguments for 'bitfield' command",
		   "BITFIELD without a key is an arity error");
	run(c, "DEL b:f b:g b:ro b:new");
}

static void test_wrongtype(redisContext *c)
{
	run(c, "DEL b:h");
	expect_int(cmd(c, "HSET b:h f v"), 1, "HSET of a hash");
	expect_err(cmd(c, "SETBIT b:h 0 1"), ERR_WRONGTYPE, "SETBIT of a hash");
	expect_err(cmd(c, "SETBIT b:h x 1"), ERR_OFFSET, "SETBIT checks arguments before the type");
	expect_err(cmd(c, "GETBIT b:h 0"), ERR_WRONGTYPE, "GETBIT of a hash");
	expect_err(cmd(c, "BITCOUNT b:h"), ERR_WRONGTYPE, "BITCOUNT of a hash");
	expect_err(cmd(c, "BITCOUNT b:h 0"), ERR_WRONGTYPE, "BITCOUNT checks the type first");
	expect_err(cmd(c, "BITPOS b:h 1"), ERR_WRONGTYPE, "BITPOS of a hash");
	expect_err(cmd(c, "BITFIELD b:h GET u8 0"), ERR_WRONGTYPE, "BITFIELD GET of a hash");
	expect_err(cmd(c, "BITFIELD b:h SET u8 0 1"), ERR_WRONGTYPE, "BITFIELD SET of a hash");
	expect_err(cmd(c, "BITFIELD_RO b:h GET u8 0"), ERR_WRONGTYPE, "BITFIELD_RO of a hash");
	expect_err(cmd(c, "BITFIELD_RO b:h SET u8 0 1"),
		   "ERR BITFIELD_RO only supports the GET subcommand",
		   "BITFIELD_RO refuses a write before the type check");
	expect_reply(cmd(c, "TYPE b:h"), "+hash", "the hash is untouched");
	run(c, "DEL b:h");
}

/* A write that leaves every bit as it was is no change: WATCH survives it.
 * One that flips a bit or grows the value aborts the transaction. */
static void test_watch(const struct harness_server *srv, redisContext *c)
{
	redisContext *other = harness_connect(srv);

	run(c, "DEL b:w");
	expect_int(cmd(c, "SETBIT b:w 3 1"), 0, "SETBIT before WATCH");
	expect_status(cmd(c, "WATCH b:w"), "OK", "WATCH");
	expect_int(cmd(other, "SETBIT b:w 3 1"), 1, "another client sets the bit already set");
	expect_reply(cmd(other, "BITFIELD b:w SET u4 0 1 INCRBY u4 4 0"), "[1,0]",
		     "and writes fields with the values they hold");
	expect_status(cmd(c, "MULTI"), "OK", "MULTI");
	expect_status(cmd(c, "GET b:w"), "QUEUED", "GET queued");
	expect_reply(cmd(c, "EXEC"), "['\\x10']", "EXEC runs: nothing changed");

	expect_status(cmd(c, "WATCH b:w"), "OK", "WATCH again");
	expect_int(cmd(other, "SETBIT b:w 3 0"), 1, "another client clears the bit");
	expect_status(cmd(c, "MULTI"), "OK", "MULTI");
	expect_status(cmd(c, "GET b:w"), "QUEUED", "GET queued");
	expect_reply(cmd(c, "EXEC"), "(nil)", "EXEC aborts after a SETBIT that flipped a bit");

	expect_status(cmd(c, "WATCH b:w"), "OK", "WATCH again");
	expect_int(cmd(other, "SETBIT b:w 15 0"), 0, "another client grows the value with a 0 bit");
	expect_status(cmd(c, "MULTI"), "OK", "MULTI");
	expect_status(cmd(c, "GET b:w"), "QUEUED", "GET queued");
	expect_reply(cmd(c, "EXEC"), "(nil)", "EXEC aborts after a SETBIT that grew the value");

	expect_status(cmd(c, "WATCH b:w"), "OK", "WATCH again");
	expect_reply(cmd(other, "BITFIELD b:w INCRBY u8 8 1"), "[1]", "another client INCRBYs");
	expect_status(cmd(c, "MULTI"), "OK", "MULTI");
	expect_status(cmd(c, "GET b:w"), "QUEUED", "GET queued");
	expect_reply(cmd(c, "EXEC"), "(nil)", "EXEC aborts after a BITFIELD INCRBY");
	redisFree(other);
	run(c, "DEL b:w");
}

static void run_all(const struct harness_server *srv, const char *label)
{
	redisContext *c = harness_connect(srv);

	harness_diag("server: %s", label);
	expect_status(cmd(c, "FLUSHALL"), "OK", "FLUSHALL before the tests");
	test_setbit_getbit(c);
	test_offset_limit(c);
	test_bitcount(c);
	test_bitpos(c);
	test_bitop(c);
	test_bitop_cross_shard(c);
	test_bitfield(c);
	test_wrongtype(c);
	test_watch(srv, c);
	expect_status(cmd(c, "FLUSHALL"), "OK", "FLUSHALL after the tests");
	redisFree(c);
}

int main(void)
{
	struct harness_server *srv;

	harness_init("test_bit: bitmap commands");
	srv = harness_server_start();
	run_all(srv, "default shards");
	harness_server_stop(srv);
	srv = harness_server_start("--shards", "2");
	run_all(srv, "--shards 2");
	harness_server_stop(srv);
	return harness_done();
}
