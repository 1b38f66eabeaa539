/* crc32c — CRC-32C (Castagnoli), the check value of every record the
 * firmware keeps in flash (queue, settings). mbedTLS has no CRC.
 * Exports crc32c(), crc32c_table_ok(). */
#ifndef DANEGATE_CRC32C_H
#define DANEGATE_CRC32C_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
/* Continue crc (0 to start) over buf. crc32c(0, "123456789", 9) == 0xE3069283. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);
/* Whether the constant tables match their definition (unit tests). */
bool crc32c_table_ok(void);
#endif
