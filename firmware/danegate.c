/* danegate — the firmware's entry point: boot log, boot counter, and the
 * event loop. Until the SMTP server engine is wired in, the listener is
 * a greeter: 220 banner, 221 on QUIT, 502 for any other command.
 * Exports danegate_main() (called by the board). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbedtls/version.h"
#include <ldns/util.h>

#include "bootcount.h"
#include "log/log.h"
#include "port.h"
#include "version.h"

#define GREET_SESSIONS 8   /* beyond this a client gets 421 4.3.2 */
#define GREET_LINE_MAX 512 /* RFC 5321 §4.5.3.1.4 command line limit */
#define GREET_OUT_MAX 512

struct greet {
	int sock;		/* -1: slot free */
	char line[GREET_LINE_MAX];
	size_t len;
	bool overlong;		/* discarding the rest of a too long line */
	bool quitting;		/* close once the output is flushed */
	char out[GREET_OUT_MAX];
	size_t out_len;
};

static struct {
	const char *hostname;
	struct greet sess[GREET_SESSIONS];
} dg;

static void greet_flush(struct greet *g)
{
	while (g->out_len) {
		long n = port_tcp_send(g->sock, g->out, g->out_len);
		if (n <= 0)
			break; /* PORT_EAGAIN: WRITABLE will call us again */
		memmove(g->out, g->out + n, g->out_len - (size_t)n);
		g->out_len -= (size_t)n;
	}
	if (g->quitting && g->out_len == 0) {
		port_close(g->sock);
		g->sock = -1;
	}
}

static void greet_reply(struct greet *g, const char *text)
{
	size_t n = strlen(text);
	if (n + 2 > sizeof(g->out) - g->out_len) {
		g->quitting = true; /* client does not read its replies */
		return;
	}
	memcpy(g->out + g->out_len, text, n);
	memcpy(g->out + g->out_len + n, "\r\n", 2);
	g->out_len += n + 2;
}

static void greet_command(struct greet *g)
{
	char verb[5] = { 0 };
	for (size_t i = 0; i < 4 && i < g->len; i++)
		verb[i] = (char)(g->line[i] >= 'a' && g->line[i] <= 'z' ? g->line[i] - 32 : g->line[i]);
	if (strcmp(verb, "QUIT") == 0 && (g->len == 4 || g->line[4] == ' ')) {
		char buf[300];
		snprintf(buf, sizeof(buf), "221 2.0.0 %s closing connection", dg.hostname);
		greet_reply(g, buf);
		g->quitting = true;
	} else {
		greet_reply(g, "502 5.5.1 Command not implemented yet");
	}
}

static void greet_input(struct greet *g)
{
	uint8_t buf[256];
	long n = 0;
	while (!g->quitting && (n = port_tcp_recv(g->sock, buf, sizeof(buf))) > 0) {
		for (long i = 0; i < n && !g->quitting; i++) {
			char c = (char)buf[i];
			if (c == '\n') {
				if (g->overlong)
					greet_reply(g, "500 5.5.2 Line too long");
				else {
					if (g->len && g->line[g->len - 1] == '\r')
						g->len--;
					greet_command(g);
				}
				g->len = 0;
				g->overlong = false;
			} else if (g->len < sizeof(g->line)) {
				g->line[g->len++] = c;
			} else {
				g->overlong = true;
			}
		}
	}
	if (n == 0 || (n < 0 && n != PORT_EAGAIN))
		g->quitting = true, g->out_len = 0; /* peer gone: drop pending output */
	greet_flush(g);
}

static void greet_event(void *ctx, int sock, enum port_event ev, int err)
{
	struct greet *g = ctx;
	(void)sock;
	switch (ev) {
	case PORT_EV_READABLE:
		greet_input(g);
		break;
	case PORT_EV_WRITABLE:
		greet_flush(g);
		break;
	case PORT_EV_CLOSED:
		port_close(g->sock);
		g->sock = -1;
		break;
	default:
		break;
	}
	(void)err;
}

static void listener_event(void *ctx, int lsock, enum port_event ev, int err)
{
	(void)ctx;
	(void)err;
	if (ev != PORT_EV_ACCEPT)
		return;
	for (;;) {
		struct greet *g = NULL;
		for (int i = 0; i < GREET_SESSIONS; i++)
			if (dg.sess[i].sock < 0) {
				g = &dg.sess[i];
				break;
			}
		struct port_addr peer;
		static struct greet busy; /* one-shot 421 for clients beyond the limit */
		struct greet *slot = g ? g : &busy;
		int s = port_tcp_accept(lsock, &peer, greet_event, slot);
		if (s < 0)
			return;
		memset(slot, 0, sizeof(*slot));
		slot->sock = s;
		char buf[300];
		if (!g) {
			greet_reply(slot, "421 4.3.2 Too many connections, try again later");
			slot->quitting = true;
			greet_flush(slot);
			if (slot->sock >= 0) { /* could not flush: drop it, never block */
				port_close(slot->sock);
				slot->sock = -1;
			}
			continue;
		}
		char ab[64];
		LOG_INFO("smtp: connection from %s", port_addr_format(&peer, true, ab, sizeof(ab)));
		snprintf(buf, sizeof(buf), "220 %s ESMTP danegate %s", dg.hostname, DANEGATE_VERSION);
		greet_reply(slot, buf);
		greet_flush(slot);
	}
}

static int listen_on(enum port_af af, uint16_t port)
{
	struct port_addr a = { .family = (uint8_t)af, .port = port };
	int s = port_tcp_listen(&a, listener_event, NULL);
	if (s < 0)
		LOG_WARN("smtp: cannot listen on IPv%d port %u: %s", af, port, port_strerror(s));
	else
		LOG_INFO("smtp: listening on IPv%d port %u", af, port);
	return s;
}

static void boot_log(void)
{
	const struct port_board_info *b = port_board();
	LOG_INFO("danegate %s on board %s (%s), RAM %llu KiB at 0x%llx, static RAM %lu bytes",
		 DANEGATE_VERSION, b->name, b->cpu, (unsigned long long)(b->ram_size / 1024),
		 (unsigned long long)b->ram_base, (unsigned long)b->static_ram);
	LOG_INFO("versions: mbedTLS %s, ldns %s, %s", MBEDTLS_VERSION_STRING, LDNS_VERSION, b->netstack);
	for (int a = 0; a < PORT_FLASH_AREAS; a++) {
		const struct port_flash *f = port_flash_area((enum port_flash_area)a);
		if (f)
			LOG_INFO("flash %s: %lu KiB, erase block %lu bytes, program unit %lu bytes",
				 f->name, (unsigned long)(f->size / 1024), (unsigned long)f->erase_size,
				 (unsigned long)f->program_size);
	}
	struct port_addr addrs[8];
	int n = port_net_addrs(addrs, 8);
	for (int i = 0; i < n; i++) {
		char ab[64];
		LOG_INFO("address %s", port_addr_format(&addrs[i], false, ab, sizeof(ab)));
	}
}

int danegate_main(void)
{
	dg.hostname = port_setting("hostname") ? port_setting("hostname") : "danegate.lan";
	for (int i = 0; i < GREET_SESSIONS; i++)
		dg.sess[i].sock = -1;
	boot_log();

	const struct port_flash *cfg = port_flash_area(PORT_FLASH_CONFIG);
	uint32_t boots = 0;
	int err = cfg ? bootcount_next(cfg, &boots) : PORT_ENOTSUP;
	if (err)
		LOG_ERR("flash: boot counter failed: %s", port_strerror(err));
	else
		LOG_INFO("boot count %lu", (unsigned long)boots);

	const char *ps = port_setting("smtp_port");
	uint16_t port = (uint16_t)(ps ? atoi(ps) : 25);
	int l4 = listen_on(PORT_AF_INET, port);
	int l6 = listen_on(PORT_AF_INET6, port);
	if (l4 < 0 && l6 < 0)
		return 1;
	LOG_INFO("ready");
	for (;;)
		port_poll(1000);
}
