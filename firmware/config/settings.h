/* settings — the persistent settings image: named values (text or binary,
 * such as the gateway's key and certificate) kept in a bounded RAM image
 * and saved as one blob through the two-generation store. The typed,
 * validated configuration layer sits on top of this.
 * Exports settings_open(), settings_get(), settings_set(), settings_save(). */
#ifndef DANEGATE_SETTINGS_H
#define DANEGATE_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/store.h"

#define SETTINGS_IMAGE_MAX 8192	 /* bytes of the RAM image (and the blob) */
#define SETTINGS_NAME_MAX 32	 /* bytes of a name */
#define SETTINGS_ENOSPC (-28)	 /* image full */
#define SETTINGS_ENOENT (-2)	 /* no such setting */
#define SETTINGS_ECORRUPT (-84)	 /* stored image does not parse */

struct settings {
	struct store store;
	uint8_t image[SETTINGS_IMAGE_MAX]; /* entries: [name len u8][name][value len u16 LE][value] */
	size_t len;
	bool dirty;
};

/* Loads the newest saved image from blocks first_block, first_block+1 of
 * the flash area. A blank store gives an empty image (factory state) and
 * returns 0; a corrupt image is dropped with SETTINGS_ECORRUPT (the caller
 * logs it and carries on with defaults). */
int settings_open(struct settings *s, const struct port_flash *flash, uint32_t first_block);
/* Points *val at the value (not NUL-terminated) and returns its length,
 * or SETTINGS_ENOENT. Valid until the next settings_set. */
int settings_get(const struct settings *s, const char *name, const uint8_t **val);
/* Copies a text value into buf as a C string: its length, or
 * SETTINGS_ENOENT, or SETTINGS_ENOSPC if it does not fit. */
int settings_get_str(const struct settings *s, const char *name, char *buf, size_t size);
/* Replaces (or adds) name, dropping every earlier copy of it (a loaded
 * image may hold duplicates); val NULL removes them. In RAM until saved. */
int settings_set(struct settings *s, const char *name, const void *val, size_t len);
/* Writes the image as the next generation. 0 or negative. */
int settings_save(struct settings *s);

#endif
