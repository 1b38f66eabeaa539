/* hex — see hex.h. */
#include "util/hex.h"

#include <string.h>

int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void hex_encode(const uint8_t *b, size_t n, char *out)
{
	static const char h[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = h[b[i] >> 4];
		out[2 * i + 1] = h[b[i] & 15];
	}
	out[2 * n] = '\0';
}

bool hex_decode(const char *t, uint8_t *out, size_t n)
{
	if (strlen(t) != 2 * n)
		return false;
	for (size_t i = 0; i < 2 * n; i++) {
		int v = t[i] >= 'A' && t[i] <= 'F' ? -1 : hex_digit(t[i]);
		if (v < 0)
			return false;
		out[i / 2] = (uint8_t)(i % 2 ? (out[i / 2] << 4) | v : v);
	}
	return true;
}
