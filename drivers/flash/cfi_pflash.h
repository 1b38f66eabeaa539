/* cfi_pflash.h — parallel NOR flash with the Intel/Sharp command set
 * (CFI primary command set 0001/0003), as QEMU's pflash_cfi01 and real
 * Intel/Micron StrataFlash parts implement it: geometry from the CFI
 * query, word program, block erase, status polling, read-back verify.
 * Programs through the write buffer (0xE8) when the part has one, word
 * by word (0x40) otherwise.
 * Exports cfi_pflash_* and cfi_pflash_area_ops (port.h flash areas). */
#ifndef DRV_CFI_PFLASH_H
#define DRV_CFI_PFLASH_H

#include <stddef.h>
#include <stdint.h>

#include "port.h"

struct cfi_pflash {
	/* Board data, set before cfi_pflash_probe(). */
	uintptr_t base;		 /* bank base address */
	uint32_t bus_width;	 /* bytes per bus access; only 4 is supported */
	uint32_t device_width;	 /* bytes per chip on the bus: 1, 2 or 4 */
	uint64_t (*now_ms)(void); /* clock for operation timeouts */

	/* Filled by cfi_pflash_probe() from the CFI query. */
	uint32_t chips;		 /* chips side by side on the bus */
	uint32_t size;		 /* bytes in the bank */
	uint32_t erase_size;	 /* erase block of the bank (all chips) */
	uint32_t nblocks;
	uint32_t program_timeout_ms; /* max word program time, with margin */
	uint32_t erase_timeout_ms;   /* max block erase time, with margin */
	uint32_t cmdset;	 /* CFI primary command set id */
	uint32_t wbuf_size;	 /* write buffer of the bank (all chips), 0: none */
};

/* Reads the CFI query, checks the command set and a uniform block
 * layout, unlocks every block (Intel parts power up locked) and leaves
 * the bank in read-array mode. 0, PORT_EIO (no CFI answer, inconsistent
 * geometry) or PORT_ENOTSUP (command set, bus width, non-uniform blocks). */
int cfi_pflash_probe(struct cfi_pflash *dev);

/* Byte-addressed read at any alignment. 0 or PORT_EINVAL (range). */
int cfi_pflash_read(const struct cfi_pflash *dev, uint32_t addr, void *buf, size_t len);

/* Program len bytes at addr (both multiples of bus_width). NOR rule:
 * if any word would need a 0 bit set back to 1, nothing is programmed
 * and PORT_ENOTERASED is returned. After programming, the range is read
 * back: PORT_EIO on mismatch or a device-reported error, PORT_ETIMEDOUT
 * if the device stays busy. */
int cfi_pflash_program(const struct cfi_pflash *dev, uint32_t addr, const void *buf, size_t len);

/* Erase the block containing addr (must be block-aligned) and verify it
 * reads all 0xFF. 0, PORT_EINVAL, PORT_EIO, PORT_ETIMEDOUT. */
int cfi_pflash_erase(const struct cfi_pflash *dev, uint32_t addr);

/* A window of a bank as a port.h flash area: port_flash.ctx points to
 * one of these; offsets of the area are relative to start. */
struct cfi_pflash_area {
	const struct cfi_pflash *dev;
	uint32_t start; /* byte offset in the bank, block-aligned */
};
extern const struct port_flash_ops cfi_pflash_area_ops;

#endif
