/*
 * slot.c - Redis Cluster hash slots.
 *
 * A key's slot is CRC16(key) mod 16384, where CRC16 is the XMODEM variant:
 * polynomial x^16 + x^12 + x^5 + 1 (0x1021), initial value 0, bits fed most
 * significant first, no reflection and no final xor. Its check value, the CRC
 * of "123456789", is 0x31C3. Because 16384 is a power of two the mod keeps
 * the low 14 bits.
 *
 * Hash tags let a client force keys into one slot: if the key has a '{' and a
 * '}' somewhere after it, and the bytes between the first '{' and the first
 * '}' that follows it are not empty, only those bytes are hashed. Any other
 * shape ("{}", a '{' with no '}' after it) hashes the whole key.
 *
 * The CRC runs four bits at a time from a 16-entry table: slot lookups are on
 * the command path, keys are short, and the table fits in half a cache line.
 * Entry i is the CRC register after shifting the nibble i, placed in the top
 * four bits, through four steps of the polynomial division.
 */
#include "slot.h"

#include <string.h>

static const uint16_t slot_crc_nibble[16] = {
	0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50a5, 0x60c6, 0x70e7,
	0x8108, 0x9129, 0xa14a, 0xb16b, 0xc18c, 0xd1ad, 0xe1ce, 0xf1ef,
};

uint16_t slot_crc16(const char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)buf;
	uint16_t crc = 0;

	for (size_t i = 0; i < len; i++) {
		crc = (uint16_t)(crc << 4) ^ slot_crc_nibble[(crc >> 12) ^ (p[i] >> 4)];
		crc = (uint16_t)(crc << 4) ^ slot_crc_nibble[(crc >> 12) ^ (p[i] & 0x0f)];
	}
	return crc;
}

unsigned slot_of_key(const char *key, size_t len)
{
	const char *open = len ? memchr(key, '{', len) : NULL;

	if (open) {
		size_t rest = len - (size_t)(open - key) - 1;
		const char *close = memchr(open + 1, '}', rest);

		if (close && close > open + 1)
			return slot_crc16(open + 1, (size_t)(close - open - 1)) & (SLOT_COUNT - 1);
	}
	return slot_crc16(key, len) & (SLOT_COUNT - 1);
}
