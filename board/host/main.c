/* main — the host board's entry: command line, board set-up (flash files,
 * settings for port_setting), then danegate_main(). Exports main(). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "host.h"
#include "port.h"

#define HOST_DEFAULT_FLASH "build/host/flash.img"
#define HOST_DEFAULT_SMTP_PORT "2525" /* 25 needs root; tests run several instances */

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"usage: %s [options]\n"
		"  --flash FILE          queue flash image (default " HOST_DEFAULT_FLASH "),\n"
		"                        config area in FILE.config; created erased if missing\n"
		"  --smtp-port N         SMTP listen port (default " HOST_DEFAULT_SMTP_PORT ")\n"
		"  --listen ADDR         numeric address to listen on (default: any)\n"
		"  --hostname NAME       name in the SMTP greeting\n"
		"  --config FILE         settings from FILE: \"key = value\" lines, the keys of\n"
		"                        the console's `config set` (docs/config.md); '#'\n"
		"                        starts a comment line\n"
		"  --set KEY=VALUE       one setting (relay_networks, smtp_users, ...)\n"
		"                        --config and --set: up to %u settings, a later one\n"
		"                        wins; values saved with the console win over both\n"
		"  --ca-file FILE        PEM CA certificates: read-only trust anchors of the\n"
		"                        verify TLS policy (besides the console's ca add)\n"
		"  --powercut-after N    cut the flash's power at its N-th program or erase\n"
		"                        (counted from start); the process exits with status 99\n"
		"  --powercut-area AREA  queue (default) or config\n"
		"  --powercut-half       the cut operation is left half done (default: clean)\n"
		"  --help                this text\n"
		"Flash: queue %u KiB, config %u KiB, erase block %u KiB, program unit %u bytes.\n",
		prog, HOST_SETTINGS_MAX, HOST_QUEUE_SIZE / 1024, HOST_CONFIG_SIZE / 1024, HOST_FLASH_ERASE / 1024,
		HOST_FLASH_PROGRAM);
}

/* Adds "key=value" to the board settings (a copy: --config lines do not
 * outlive their file buffer). */
static int add_setting(void *ctx, const char *key, const char *value, char *err, size_t errsize)
{
	struct host_config *cfg = ctx;
	if (cfg->nset == HOST_SETTINGS_MAX) {
		snprintf(err, errsize, "more than %u settings", HOST_SETTINGS_MAX);
		return -1;
	}
	size_t kl = strlen(key), vl = strlen(value);
	char *kv = malloc(kl + vl + 2);
	if (!kv) {
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	memcpy(kv, key, kl);
	kv[kl] = '=';
	memcpy(kv + kl + 1, value, vl + 1);
	cfg->set[cfg->nset++] = kv;
	return 0;
}

/* A whole text file, bounded by HOST_CONFIG_FILE_MAX and NUL-terminated
 * (the caller frees it); NULL, said why on stderr, on any error. */
static char *read_text_file(const char *prog, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		return NULL;
	}
	char *text = malloc(HOST_CONFIG_FILE_MAX + 1);
	size_t n = text ? fread(text, 1, HOST_CONFIG_FILE_MAX + 1, f) : 0;
	bool err_read = ferror(f);
	fclose(f);
	if (!text || err_read || n > HOST_CONFIG_FILE_MAX || memchr(text, '\0', n)) {
		fprintf(stderr, "%s: %s: %s\n", prog, path,
			!text ? "out of memory" : err_read ? "read error"
			: n > HOST_CONFIG_FILE_MAX ? "larger than 64 KiB" : "not a text file");
		free(text);
		return NULL;
	}
	text[n] = '\0';
	return text;
}

/* --config FILE: every line checked by the firmware's own validation
 * before the relay starts. */
static bool load_config_file(const char *prog, const char *path, struct host_config *cfg)
{
	char *text = read_text_file(prog, path);
	if (!text)
		return false;
	char err[160] = "";
	unsigned line = 0;
	int r = config_parse_text(text, add_setting, cfg, &line, err, sizeof(err));
	free(text);
	if (r < 0) {
		fprintf(stderr, "%s: %s:%u: %s\n", prog, path, line, err);
		return false;
	}
	return true;
}

/* --ca-file FILE: PEM text, bounded; NULL (said why) on error. */
static char *read_pem_file(const char *prog, const char *path)
{
	char *text = read_text_file(prog, path);
	if (text && !strstr(text, "-----BEGIN CERTIFICATE-----")) {
		fprintf(stderr, "%s: %s: no PEM certificate in it\n", prog, path);
		free(text);
		return NULL;
	}
	return text;
}

/* Strict decimal in [lo, hi]; false on anything else. */
static bool parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

int main(int argc, char **argv)
{
	host_stack_paint();
	/* A peer or a closed stdout must never kill the relay; sockets use
	 * MSG_NOSIGNAL, this covers the console. */
	signal(SIGPIPE, SIG_IGN);
	/* Started in the background of an interactive shell, a console read
	 * would stop the whole relay (SIGTTIN); ignored, read() fails with
	 * EIO and the console simply ends. */
	signal(SIGTTIN, SIG_IGN);

	struct host_config cfg = { .flash_path = HOST_DEFAULT_FLASH,
				   .smtp_port = HOST_DEFAULT_SMTP_PORT,
				   .powercut_after = -1,
				   .powercut_how = FLASHSIM_CUT_CLEAN,
				   .powercut_area = PORT_FLASH_QUEUE,
				   .argv = argv };
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		long n;
		if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
			usage(stdout, argv[0]);
			return 0;
		} else if (strcmp(o, "--powercut-half") == 0) {
			cfg.powercut_how = FLASHSIM_CUT_HALF;
			continue;
		} else if (!v) {
			fprintf(stderr, "%s: %s needs a value (or is unknown; see --help)\n", argv[0], o);
			return 2;
		} else if (strcmp(o, "--flash") == 0) {
			cfg.flash_path = v;
		} else if (strcmp(o, "--smtp-port") == 0) {
			if (!parse_long(v, 1, 65535, &n)) {
				fprintf(stderr, "%s: bad port '%s'\n", argv[0], v);
				return 2;
			}
			cfg.smtp_port = v;
		} else if (strcmp(o, "--listen") == 0) {
			struct port_addr a;
			if (port_addr_parse(v, &a) != 0) {
				fprintf(stderr, "%s: '%s' is not a numeric IPv4/IPv6 address\n", argv[0], v);
				return 2;
			}
			cfg.listen = v;
		} else if (strcmp(o, "--hostname") == 0) {
			if (!*v || strlen(v) > 253) {
				fprintf(stderr, "%s: bad hostname\n", argv[0]);
				return 2;
			}
			cfg.hostname = v;
		} else if (strcmp(o, "--ca-file") == 0) {
			if (!(cfg.ca_pem = read_pem_file(argv[0], v)))
				return 2;
		} else if (strcmp(o, "--config") == 0) {
			if (!load_config_file(argv[0], v, &cfg))
				return 2;
		} else if (strcmp(o, "--set") == 0) {
			const char *eq = strchr(v, '=');
			if (!eq || eq == v || cfg.nset == HOST_SETTINGS_MAX) {
				fprintf(stderr, "%s: --set wants KEY=VALUE (at most %u)\n", argv[0],
					HOST_SETTINGS_MAX);
				return 2;
			}
			char key[64], err[160] = "";
			size_t kl = (size_t)(eq - v);
			snprintf(key, sizeof(key), "%.*s", (int)(kl < sizeof(key) ? kl : sizeof(key) - 1), v);
			if (kl >= sizeof(key) || config_validate(key, eq + 1, err, sizeof(err)) != 0) {
				fprintf(stderr, "%s: --set: %s\n", argv[0],
					err[0] ? err : "key too long");
				return 2;
			}
			cfg.set[cfg.nset++] = v;
		} else if (strcmp(o, "--powercut-area") == 0) {
			if (strcmp(v, "queue") == 0)
				cfg.powercut_area = PORT_FLASH_QUEUE;
			else if (strcmp(v, "config") == 0)
				cfg.powercut_area = PORT_FLASH_CONFIG;
			else {
				fprintf(stderr, "%s: area '%s' is neither queue nor config\n", argv[0], v);
				return 2;
			}
		} else if (strcmp(o, "--powercut-after") == 0) {
			if (!parse_long(v, 0, 1000000000L, &n)) {
				fprintf(stderr, "%s: bad count '%s'\n", argv[0], v);
				return 2;
			}
			cfg.powercut_after = n;
		} else {
			fprintf(stderr, "%s: unknown option %s (see --help)\n", argv[0], o);
			return 2;
		}
		i++;
	}

	int err = host_board_init(&cfg);
	if (err) {
		fprintf(stderr, "%s: flash %s: %s\n", argv[0], cfg.flash_path, port_strerror(err));
		return 1;
	}
	host_console_raw();
	int rc = danegate_main();
	host_net_close_all();
	host_board_fini();
	return rc;
}
