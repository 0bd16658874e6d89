/*
 * slot.h - Redis Cluster hash slots: CRC16 (XMODEM, poly 0x1021) of the key,
 * or of the first non-empty {...} hash tag in it, mod 16384.
 */
#ifndef STRATA_SLOT_H
#define STRATA_SLOT_H

#include <stddef.h>
#include <stdint.h>

#define SLOT_COUNT 16384

uint16_t slot_crc16(const char *buf, size_t len);
/* The cluster slot of a key, honouring hash tags exactly as Redis does. */
unsigned slot_of_key(const char *key, size_t len);

#endif
