/*
 * test_slot.c - CRC16-XMODEM and Redis Cluster key slots.
 *
 * Expected slots come from the Redis Cluster specification and the CLUSTER
 * KEYSLOT documentation, and from a bit-at-a-time CRC written here as an
 * independent reference.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "slot.h"

#define S(lit) (lit), (sizeof(lit) - 1)

/* Reference CRC: the polynomial division one bit at a time. */
static uint16_t crc16_bitwise(const char *buf, size_t len)
{
	uint16_t crc = 0;

	for (size_t i = 0; i < len; i++) {
		crc ^= (uint16_t)((unsigned char)buf[i] << 8);
		for (int b = 0; b < 8; b++)
			crc = crc & 0x8000 ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
	}
	return crc;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void test_crc16_check_value_of_123456789_is_0x31c3(void **state)
{
	(void)state;
	assert_int_equal(slot_crc16(S("123456789")), 0x31c3);
}

static void test_crc16_of_empty_input_is_zero(void **state)
{
	(void)state;
	assert_int_equal(slot_crc16("", 0), 0);
	assert_int_equal(slot_crc16(NULL, 0), 0);
}

static void test_crc16_of_every_single_byte_matches_bitwise_reference(void **state)
{
	(void)state;
	for (int c = 0; c < 256; c++) {
		char b = (char)c;

		assert_int_equal(slot_crc16(&b, 1), crc16_bitwise(&b, 1));
	}
}

static void test_crc16_of_random_buffers_matches_bitwise_reference(void **state)
{
	uint64_t seed = 0x1234567887654321ULL;
	char buf[300];

	(void)state;
	for (int round = 0; round < 2000; round++) {
		size_t len = (size_t)(xorshift(&seed) % sizeof(buf));

		for (size_t i = 0; i < len; i++)
			buf[i] = (char)xorshift(&seed);
		assert_int_equal(slot_crc16(buf, len), crc16_bitwise(buf, len));
	}
}

static void test_slot_of_documented_keys(void **state)
{
	(void)state;
	assert_int_equal(slot_of_key(S("somekey")), 11058);
	assert_int_equal(slot_of_key(S("foo")), 12182);
	assert_int_equal(slot_of_key(S("bar")), 5061);
	assert_int_equal(slot_of_key(S("hello")), 866);
	assert_int_equal(slot_of_key(S("key")), 12539);
}

static void test_slot_of_empty_key_is_zero(void **state)
{
	(void)state;
	assert_int_equal(slot_of_key("", 0), 0);
}

static void test_keys_with_the_same_tag_share_a_slot(void **state)
{
	(void)state;
	assert_int_equal(slot_of_key(S("{user1000}.following")), 3443);
	assert_int_equal(slot_of_key(S("{user1000}.followers")), 3443);
	assert_int_equal(slot_of_key(S("user1000")), 3443);
	assert_int_equal(slot_of_key(S("foo{hash_tag}")), 2515);
	assert_int_equal(slot_of_key(S("bar{hash_tag}")), 2515);
}

static void test_empty_tag_hashes_the_whole_key(void **state)
{
	(void)state;
	/* First '{' is followed at once by '}': no tag, even though {bar} follows. */
	assert_int_equal(slot_of_key(S("foo{}{bar}")), 8363);
	assert_int_equal(slot_of_key(S("foo{}{bar}")), slot_crc16(S("foo{}{bar}")) & 16383);
	assert_int_equal(slot_of_key(S("{}")), slot_crc16(S("{}")) & 16383);
}

static void test_tag_runs_from_first_open_to_first_close_after_it(void **state)
{
	(void)state;
	/* The tag of "foo{{bar}}zap" is "{bar". */
	assert_int_equal(slot_of_key(S("foo{{bar}}zap")), 4015);
	assert_int_equal(slot_of_key(S("foo{{bar}}zap")), slot_crc16(S("{bar")) & 16383);
}

static void test_only_the_first_tag_counts(void **state)
{
	(void)state;
	assert_int_equal(slot_of_key(S("foo{bar}{zap}")), 5061);
	assert_int_equal(slot_of_key(S("foo{bar}{zap}")), slot_of_key(S("bar")));
}

static void test_open_brace_without_close_hashes_the_whole_key(void **state)
{
	(void)state;
	assert_int_equal(slot_of_key(S("foo{bar")), slot_crc16(S("foo{bar")) & 16383);
	assert_int_equal(slot_of_key(S("{")), slot_crc16(S("{")) & 16383);
	assert_int_equal(slot_of_key(S("foo{")), slot_crc16(S("foo{")) & 16383);
}

static void test_close_brace_before_open_is_ignored(void **state)
{
	(void)state;
	/* The '}' that ends the tag must come after the first '{'. */
	assert_int_equal(slot_of_key(S("}x{bar}")), slot_of_key(S("bar")));
	assert_int_equal(slot_of_key(S("}bar{")), slot_crc16(S("}bar{")) & 16383);
}

static void test_tag_may_sit_anywhere_and_hold_any_bytes(void **state)
{
	(void)state;
	assert_int_equal(slot_of_key(S("{bar}")), 5061);
	assert_int_equal(slot_of_key(S("zap{bar}")), 5061);
	assert_int_equal(slot_of_key(S("a{x\0y}b")), slot_crc16(S("x\0y")) & 16383);
	assert_int_equal(slot_of_key(S("{ }")), slot_crc16(S(" ")) & 16383);
}

static void test_slot_is_the_low_14_bits_of_the_crc(void **state)
{
	uint64_t seed = 42;
	char buf[40];

	(void)state;
	for (int round = 0; round < 5000; round++) {
		size_t len = (size_t)(xorshift(&seed) % sizeof(buf));

		/* Bytes without braces, so no tag applies. */
		for (size_t i = 0; i < len; i++)
			buf[i] = (char)('a' + xorshift(&seed) % 26);
		assert_int_equal(slot_of_key(buf, len), crc16_bitwise(buf, len) % SLOT_COUNT);
		assert_true(slot_of_key(buf, len) < SLOT_COUNT);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc16_check_value_of_123456789_is_0x31c3),
		cmocka_unit_test(test_crc16_of_empty_input_is_zero),
		cmocka_unit_test(test_crc16_of_every_single_byte_matches_bitwise_reference),
		cmocka_unit_test(test_crc16_of_random_buffers_matches_bitwise_reference),
		cmocka_unit_test(test_slot_of_documented_keys),
		cmocka_unit_test(test_slot_of_empty_key_is_zero),
		cmocka_unit_test(test_keys_with_the_same_tag_share_a_slot),
		cmocka_unit_test(test_empty_tag_hashes_the_whole_key),
		cmocka_unit_test(test_tag_runs_from_first_open_to_first_close_after_it),
		cmocka_unit_test(test_only_the_first_tag_counts),
		cmocka_unit_test(test_open_brace_without_close_hashes_the_whole_key),
		cmocka_unit_test(test_close_brace_before_open_is_ignored),
		cmocka_unit_test(test_tag_may_sit_anywhere_and_hold_any_bytes),
		cmocka_unit_test(test_slot_is_the_low_14_bits_of_the_crc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
