/* bootcount — counts boots in the first two erase blocks of the config flash
 * area: a power-cut-safe append log of small records, proving on every
 * board that flash writes survive a restart. Exports bootcount_next(). */
#ifndef DANEGATE_BOOTCOUNT_H
#define DANEGATE_BOOTCOUNT_H
#include <stdint.h>
#include "port.h"
/* Reads the last count, appends count+1 and returns it in *count.
 * 0 or a PORT_E* code. */
int bootcount_next(const struct port_flash *f, uint32_t *count);
#endif
