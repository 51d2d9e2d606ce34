/* crc64.h: the CRC-64 Redis puts at the end of an RDB file and of a DUMP payload
 * ("Jones" polynomial 0xad93d23594c935a9, reflected, initial value 0, no final xor:
 * crc64(0, "123456789", 9) == 0xe9c6d914c4b8d9ca). */
#ifndef RESPITE_CRC64_H
#define RESPITE_CRC64_H

#include <stddef.h>
#include <stdint.h>

/* The CRC of len bytes at p, continuing from crc (0 to start). */
uint64_t crc64(uint64_t crc, const void *p, size_t len);

#endif
