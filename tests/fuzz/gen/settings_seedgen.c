/* settings_seedgen OUTDIR — fuzz_settings seeds: settings images saved by
 * the real settings API on each geometry (raw flash, geo bit 7 clear),
 * and the same blobs in wrapped form (geo bit 7 set). Exports main(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/settings.h"
#include "flashsim.h"

static const char *outdir;
static const uint32_t program_sizes[4] = { 4, 1, 16, 256 };

static void save(const char *name, uint8_t geo, uint32_t gen, const uint8_t *b, size_t n)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	FILE *f = fopen(path, "wb");
	if (!f) {
		perror(path);
		exit(1);
	}
	fputc(geo, f);
	for (int i = 0; i < 4; i++)
		fputc((int)(gen >> (8 * i)) & 0xFF, f);
	fwrite(b, 1, n, f);
	fclose(f);
}

int main(int argc, char **argv)
{
	static struct settings s;
	static const uint8_t key[] = { 0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20, 0xde, 0xad };
	if (argc != 2)
		return 2;
	outdir = argv[1];
	static const uint8_t geos[] = { 0x00, 0x03, 0x08, 0x06, 0x01 };
	for (unsigned i = 0; i < sizeof(geos); i++) {
		uint8_t geo = geos[i];
		uint32_t E = (geo & 1) ? 8192 : 4096, P = program_sizes[(geo >> 1) & 3];
		struct flashsim *fs;
		struct flashsim_config fc = { .size = 3 * E, .erase_size = E, .program_size = P,
					      .name = "config" };
		if (flashsim_open(&fs, &fc) != 0 || settings_open(&s, flashsim_flash(fs), (geo >> 3) & 1))
			return 1;
		settings_set(&s, "hostname", "gw.example.net", 14);
		settings_set(&s, "relay_networks", "192.168.1.0/24 2001:db8::/48", 28);
		settings_set(&s, "smtp.port", "25", 2);
		if (settings_save(&s))
			return 1;
		settings_set(&s, "tls.key", key, sizeof(key));
		settings_set(&s, "smtp.port", "2525", 4);
		settings_set(&s, "hostname", NULL, 0);
		if (settings_save(&s))
			return 1;
		uint8_t *raw = flashsim_raw(fs);
		size_t n = 3 * E;
		while (n > 0 && raw[n - 1] == 0xFF)
			n--;
		char name[64];
		snprintf(name, sizeof(name), "two-gens-e%u-p%u%s", E / 1024, P, geo & 8 ? "-b1" : "");
		save(name, geo, 0, raw, n);
		snprintf(name, sizeof(name), "wrapped-e%u-p%u", E / 1024, P);
		save(name, (uint8_t)(geo | 0x80), 7, s.image, s.len);
		flashsim_close(fs);
	}
	static const uint8_t bad[] = { 4, 'h', 'o', 's', 't', 0xFF, 0x7F, 'x' };
	save("wrapped-bad-length", 0x80, 1, bad, sizeof(bad));
	save("wrapped-empty-name", 0xA0, 1, (const uint8_t *)"\0\1\0x", 4);
	return 0;
}
