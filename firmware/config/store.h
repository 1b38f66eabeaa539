/* store — the settings image in flash: one blob, saved as a new
 * generation in the other of two erase blocks, with a CRC; an interrupted
 * save leaves the previous generation in force. Exports store_load(),
 * store_save(). The config module decides what the blob holds. */
#ifndef DANEGATE_STORE_H
#define DANEGATE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "port.h"

#define STORE_ENOENT (-2)   /* no valid generation: factory state */
#define STORE_ETOOBIG (-27) /* blob larger than an erase block allows */

struct store {
	const struct port_flash *flash;
	uint32_t first_block; /* the store uses blocks first_block and +1 */
	uint32_t gen;	      /* generation in force (0: none yet) */
	uint32_t cur;	      /* its block (0 or 1) */
};

/* Largest blob the store can hold on this flash. */
size_t store_capacity(const struct port_flash *flash);

/* Finds the newest valid generation and copies its blob into buf.
 * *len gets its length. STORE_ENOENT when there is none, STORE_ETOOBIG
 * when buf is too small, or a PORT_E* code. */
int store_load(struct store *st, const struct port_flash *flash, uint32_t first_block, void *buf,
	       size_t size, size_t *len);

/* Saves blob as the next generation (erase the other block, program the
 * blob, read it back, then program and sync the header that makes it
 * valid). 0 or a negative code; on any failure the previous generation
 * is still the one store_load finds. */
int store_save(struct store *st, const void *blob, size_t len);

/* Factory reset: both blocks erased. */
int store_erase(struct store *st);

#endif
