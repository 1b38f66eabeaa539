/* settings — see settings.h. The image is a packed list of entries; it is
 * validated as a whole on load so a bad image never yields half values. */
#include "config/settings.h"

#include <string.h>

/* Walks entries; returns the offset of name's entry or -1. */
static long find(const struct settings *s, const char *name, size_t *entry_len)
{
	size_t nl = strlen(name), off = 0;
	while (off < s->len) {
		size_t n = s->image[off];
		size_t vl = (size_t)s->image[off + 1 + n] | (size_t)s->image[off + 2 + n] << 8;
		size_t el = 1 + n + 2 + vl;
		if (n == nl && memcmp(s->image + off + 1, name, n) == 0) {
			*entry_len = el;
			return (long)off;
		}
		off += el;
	}
	return -1;
}

/* True if image[0..len) is a well-formed list of entries. */
static bool image_valid(const uint8_t *img, size_t len)
{
	size_t off = 0;
	while (off < len) {
		size_t n = img[off];
		if (n == 0 || n > SETTINGS_NAME_MAX || off + 1 + n + 2 > len)
			return false;
		size_t vl = (size_t)img[off + 1 + n] | (size_t)img[off + 2 + n] << 8;
		if (off + 1 + n + 2 + vl > len)
			return false;
		off += 1 + n + 2 + vl;
	}
	return true;
}

int settings_open(struct settings *s, const struct port_flash *flash, uint32_t first_block)
{
	s->len = 0;
	s->dirty = false;
	size_t len = 0;
	int err = store_load(&s->store, flash, first_block, s->image, sizeof(s->image), &len);
	if (err == STORE_ENOENT)
		return 0;
	if (err == STORE_ETOOBIG)
		return SETTINGS_ECORRUPT;
	if (err)
		return err;
	if (!image_valid(s->image, len))
		return SETTINGS_ECORRUPT;
	s->len = len;
	return 0;
}

int settings_get(const struct settings *s, const char *name, const uint8_t **val)
{
	size_t el;
	long off = find(s, name, &el);
	if (off < 0)
		return SETTINGS_ENOENT;
	size_t n = s->image[off];
	*val = s->image + off + 1 + n + 2;
	return (int)(el - 1 - n - 2);
}

int settings_get_str(const struct settings *s, const char *name, char *buf, size_t size)
{
	const uint8_t *v;
	int n = settings_get(s, name, &v);
	if (n < 0)
		return n;
	if ((size_t)n >= size)
		return SETTINGS_ENOSPC;
	memcpy(buf, v, (size_t)n);
	buf[n] = '\0';
	return n;
}

int settings_set(struct settings *s, const char *name, const void *val, size_t len)
{
	size_t nl = strlen(name), el;
	if (nl == 0 || nl > SETTINGS_NAME_MAX || len > 0xFFFF)
		return PORT_EINVAL;
	long off = find(s, name, &el);
	size_t old = off < 0 ? 0 : el;
	size_t need = val ? 1 + nl + 2 + len : 0;
	if (s->len - old + need > sizeof(s->image))
		return SETTINGS_ENOSPC;
	/* Drop the old entry, and any later one of the same name: our saves
	 * never write two, but a crafted or damaged image may hold them, and
	 * settings_get must then find the value just set. */
	while (off >= 0) {
		memmove(s->image + off, s->image + off + (long)el, s->len - (size_t)off - el);
		s->len -= el;
		off = find(s, name, &el);
	}
	if (val) {
		uint8_t *p = s->image + s->len;
		p[0] = (uint8_t)nl;
		memcpy(p + 1, name, nl);
		p[1 + nl] = (uint8_t)len;
		p[2 + nl] = (uint8_t)(len >> 8);
		memcpy(p + 3 + nl, val, len);
		s->len += need;
	}
	s->dirty = true;
	return 0;
}

int settings_save(struct settings *s)
{
	int err = store_save(&s->store, s->image, s->len);
	if (!err)
		s->dirty = false;
	return err;
}
