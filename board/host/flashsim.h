/* flashsim — NOR flash simulated on a file (or in RAM), for the host
 * board's flash areas and for unit and power-cut tests. Exports
 * flashsim_open/close/flash and the power-cut, statistics and raw hooks.
 *
 * Model (what a caller may rely on):
 * - Geometry: size = n * erase_size, erase_size = m * program_size.
 * - erase(off): off a multiple of erase_size, the block becomes 0xFF.
 * - program(off, buf, len): off and len multiples of program_size, range
 *   inside the area. NOR rule: cells are ANDed with the data; a bit that
 *   would go 0 -> 1 makes the whole call fail with PORT_ENOTERASED and
 *   change nothing (real NOR would silently keep the 0: a firmware bug).
 * - read(off, buf, len): any byte range inside the area.
 * - Bad alignment or range: PORT_EINVAL, nothing changed, not counted.
 * - Operations counted ("ops", and by the power cut): program and erase
 *   calls that passed the argument checks, including ones that fail with
 *   PORT_ENOTERASED. Reads and syncs are not counted.
 * - Power cut armed with flashsim_powercut_after(fs, n, how): the n-th
 *   counted operation from now is the one the power dies on (n = 0: the
 *   power is gone at once). That operation returns PORT_EPOWER, because
 *   the caller would never have seen its result:
 *     FLASHSIM_CUT_CLEAN  it completed fully before the power went;
 *     FLASHSIM_CUT_HALF   program: only the first len/2 bytes (rounded
 *                         down, so possibly inside a program unit) were
 *                         programmed; erase: the first erase_size/2 bytes
 *                         of the block are 0xFF, the rest as before.
 *   (A cut program that would set a 0 bit still reports PORT_ENOTERASED
 *   and changes nothing; the power is gone all the same.)
 *   From then on every read, program, erase and sync returns PORT_EPOWER
 *   until flashsim_power_on(). An optional hook (flashsim_on_powercut)
 *   runs right after the cut, e.g. so the host board can die like a
 *   powered-off router.
 * - File backing: the file IS the flash (mmap, MAP_SHARED): exactly size
 *   bytes, no header, like a QEMU pflash image. sync = msync + fsync.
 *   A new or empty file starts all 0xFF; an existing file of the right
 *   size is kept as it is; a file of another size is refused (PORT_EINVAL)
 *   rather than silently erased.
 * - Erase counts are per block, in RAM only (reset by flashsim_open).
 * Not thread-safe: one event loop owns a flashsim. */
#ifndef DANEGATE_FLASHSIM_H
#define DANEGATE_FLASHSIM_H

#include <stdbool.h>
#include <stdint.h>

#include "port.h"

struct flashsim;

struct flashsim_config {
	const char *path;	/* NULL: RAM only */
	uint32_t size, erase_size, program_size;
	const char *name;	/* copied (up to FLASHSIM_NAME_MAX - 1 bytes) */
};

#define FLASHSIM_NAME_MAX 32

enum flashsim_cut {
	FLASHSIM_CUT_CLEAN, /* the N-th op completes, then power is gone */
	FLASHSIM_CUT_HALF   /* the N-th op is left half done */
};

/* Returns 0 and *out, or PORT_EINVAL (geometry, file of the wrong size),
 * PORT_ENOMEM, PORT_EIO (file cannot be opened, sized or mapped). */
int flashsim_open(struct flashsim **out, const struct flashsim_config *cfg);
/* Unmaps and closes; completed programs stay in the file. NULL is fine. */
void flashsim_close(struct flashsim *fs);
/* The port.h view: read/program/erase/sync. Valid until flashsim_close. */
const struct port_flash *flashsim_flash(struct flashsim *fs);

/* nops counts counted operations from now (see the model); -1 disarms. */
void flashsim_powercut_after(struct flashsim *fs, long nops, enum flashsim_cut how);
bool flashsim_powered(const struct flashsim *fs);
/* "Reboot": operations work again and the cut is disarmed. */
void flashsim_power_on(struct flashsim *fs);
/* Called once, right after a cut takes the power (NULL: none). */
void flashsim_on_powercut(struct flashsim *fs, void (*hook)(void *ctx, struct flashsim *fs),
			  void *ctx);

struct flashsim_stats {
	uint64_t reads, programs, erases, bytes_programmed, ops;
};
void flashsim_stats(const struct flashsim *fs, struct flashsim_stats *out);
/* Erases of one erase block since open (0 for a block out of range). */
uint32_t flashsim_erase_count(const struct flashsim *fs, uint32_t block);
/* The bytes themselves (size of them), for corruption tests. */
uint8_t *flashsim_raw(struct flashsim *fs);

#endif
