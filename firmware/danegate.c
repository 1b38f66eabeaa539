/* danegate — the firmware's entry point: boot log, boot counter,
 * settings, the gateway's TLS credentials, the queue, the inbound SMTP
 * listeners, and the event loop. Exports danegate_main() (called by the
 * board). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbedtls/platform_util.h"
#include "mbedtls/version.h"
#include <ldns/util.h>

#include "bootcount.h"
#include "config/config.h"
#include "config/settings.h"
#include "console/console.h"
#include "console/serial.h"
#include "queue/queue.h"
#include "relay/inbound.h"
#include "relay/outbound.h"
#include "relay/rollover.h"
#include "dns/dns.h"
#include "tls/tls.h"
#include "web/web.h"
#include "log/log.h"
#include "port.h"
#include "version.h"

#ifndef QUEUE_INDEX_BUF
#define QUEUE_INDEX_BUF (28 * 1024) /* RAM for the queue index: bounds max_msgs (qemu-virt:
				     * 256 on 248 blocks of 256 KiB, 80 B a message + hash
				     * + 17 B a block; board.mk may raise it: host 128 KiB) */
#endif
#define SETTINGS_FIRST_BLOCK 2	    /* config area: blocks 0-1 boot counter, 2-3 settings */

static struct {
	struct settings settings;
	struct queue queue;
	uint64_t qindex[QUEUE_INDEX_BUF / 8];
	struct tls_cred client_cred; /* smtp_tls_client_cert: outbound's copy */
	bool live_retry;	     /* a switch waits for the old key's last sessions */
	uint64_t live_retry_at;
	struct inbound_config in;
	struct console_stats stats; /* the delivery side feeds it */
	struct console_env con_env;
	struct serial serial;
	/* outbound delivery: resolver, driver config, validation probe */
	struct dns_resolver dns;
	struct outbound_config out;
	bool dns_ok;
	uint64_t dns_probe_at; /* next validation probe (0: none planned) */
	struct web_config web;
} dg;

/* ---- outbound: resolver, validation probe, rollover, console hooks ---- */
#define DNS_PROBE_RETRY_MS 30000 /* the validation probe is repeated until it passes */

static const char *setting(const char *name, char *buf, size_t size);
static struct tls_cred *client_credentials(void);

static void dns_probe_done(void *ctx, enum dns_validation v)
{
	(void)ctx;
	if (v == DNS_VALIDATING) {
		LOG_INFO("dns: the resolver validates (DNSSEC): DANE is enforced");
		dg.dns_probe_at = 0;
		return;
	}
	LOG_WARN("dns: the resolver does %s: DANE cannot be verified (answers count as "
		 "insecure); asking again in %u s",
		 v == DNS_NOT_VALIDATING ? "NOT validate" : "not answer the probe",
		 DNS_PROBE_RETRY_MS / 1000);
	dg.dns_probe_at = port_now_ms() + DNS_PROBE_RETRY_MS;
}

static size_t dns_status_hook(char *buf, size_t size)
{
	return dns_resolver_status(&dg.dns, buf, size);
}

static int queue_flush_hook(void)
{
	return outbound_flush();
}

static int start_outbound(char *buf, size_t size, bool tls)
{
	struct dns_resolver_config rc;
	dns_resolver_config_default(&rc);
	const char *res = setting("resolvers", buf, size);
	if (res[0] && dns_resolver_config_servers(&rc, res) < 0)
		LOG_ERR("config: resolvers '%.60s' unusable; asking 127.0.0.1", res);
	const char *pn = setting("dns_probe_name", buf, size);
	if (pn[0] && strlen(pn) < sizeof(rc.probe_name)) {
		memcpy(rc.probe_name, pn, strlen(pn) + 1);
		rc.probe_type = DNS_T_A;
	}
	dg.dns_ok = dns_resolver_init(&dg.dns, &rc) == 0;
	if (!dg.dns_ok) {
		LOG_ERR("dns: resolver init failed: no outbound delivery");
		return -1;
	}
	dg.dns_probe_at = 1; /* at the first loop turn */
	outbound_config_default(&dg.out);
	outbound_config_load(&dg.out, &dg.settings, port_setting);
	dg.out.dns = &dg.dns;
	dg.out.stats = &dg.stats;
	int err = outbound_init(&dg.out, &dg.queue, tls ? client_credentials() : NULL);
	/* the current key's digest comes from the settings (a live switch
	 * frees the certificate in service before) */
	struct rollover_env re = { .settings = &dg.settings,
				   .board = port_setting,
				   .dns = &dg.dns,
				   .cur_cert = NULL,
				   .wall_time = port_wall_time };
	rollover_init(&re);
	return err;
}

static void outbound_loop(uint64_t now)
{
	if (!dg.dns_ok)
		return;
	dns_resolver_tick(&dg.dns, now);
	if (dg.dns_probe_at && now >= dg.dns_probe_at) {
		dg.dns_probe_at = 0;
		if (dns_probe_validation(&dg.dns, dns_probe_done, NULL) < 0)
			dg.dns_probe_at = now + DNS_PROBE_RETRY_MS;
	}
}

/* A setting through the typed config: a valid saved value, then the
 * board's (port_setting), then the key's default (firmware/config/config.c). */
static const char *setting(const char *name, char *buf, size_t size)
{
	int src = config_get(&dg.settings, port_setting, name, buf, size);
	if (src < 0) {
		LOG_ERR("config: %s unreadable (%d); using it empty", name, src);
		buf[0] = '\0';
	}
	return buf;
}

/* The gateway's own key and certificate: from the settings, or made now
 * (first boot) and saved, so every boot presents the same certificate
 * and its TLSA record stays valid; an operator's own pair can be
 * imported (console `tlsa import`, or tls_import files on the host
 * board). The current pair goes into service through tls_live, which a
 * `tlsa switch` changes without a restart. */
static int cred_switch_hook(const uint8_t *key, size_t kl, const uint8_t *crt, size_t cl)
{
	int e = tls_live_set(key, kl, crt, cl);
	dg.live_retry = e == TLS_LIVE_EBUSY; /* the loop tries again */
	return e;
}

/* tls_import = "FILE [FILE]" (PEM key and chain, in one file or two, read
 * through the board: the host board's files; boards without files say
 * so) at boot, imported as from the console: the current key's renewal
 * takes effect at once, another key becomes the next key (DANE-RULES 24:
 * publish its record, then `tlsa switch`). Importing what is already
 * stored changes nothing, so the setting may stay. */
static void import_files(const char *hostname)
{
	char paths[CONFIG_VALUE_MAX + 1];
	const char *v = setting("tls_import", paths, sizeof(paths));
	if (!v[0])
		return;
	char *text = tls_import_text_claim(&dg);
	struct tls_import *im = text ? tls_import_new() : NULL;
	size_t len = 0;
	bool ok = im != NULL;
	if (!ok)
		LOG_ERR("tls: tls_import: out of TLS memory");
	for (char *p = paths + strspn(paths, " \t"), *next; ok && *p;
	     p = next + strspn(next, " \t")) {
		size_t pl = strcspn(p, " \t");
		next = p + pl + (p[pl] != '\0');
		p[pl] = '\0';
		long n = port_file_read(p, text + len, TLS_IMPORT_TEXT_MAX - len);
		ok = n >= 0;
		if (!ok)
			LOG_ERR("tls: tls_import: %.200s: %s", p,
				n == PORT_ENOTSUP ? "this board has no files"
				: n == PORT_ENOSPC ? "larger than the import limit"
						   : "cannot open or read");
		else
			len += (size_t)n;
		if (ok && len < TLS_IMPORT_TEXT_MAX)
			text[len++] = '\n';
	}
	if (ok) {
		text[len < TLS_IMPORT_TEXT_MAX ? len : TLS_IMPORT_TEXT_MAX] = '\0';
		int e = tls_import_pem(im, text, hostname, port_wall_time());
		if (e) {
			LOG_ERR("tls: tls_import refused: %s", im->err);
		} else {
			/* The same key: only a newer certificate replaces the
			 * stored one (the file stays set across boots, and a
			 * renewal pasted on the console must not be undone). */
			int was = rollover_key_is(&dg.settings, im->spki);
			const uint8_t *cur;
			int cl = settings_get(&dg.settings, was == 1 ? "tls_cert" : "tls_next_cert",
					      &cur);
			mbedtls_x509_crt x;
			mbedtls_x509_crt_init(&x);
			bool newer = !was || cl <= 0 ||
				     mbedtls_x509_crt_parse_der(&x, cur, (size_t)cl) != 0 ||
				     im->not_before > tls_x509_time(&x.valid_from);
			mbedtls_x509_crt_free(&x);
			if (!newer)
				LOG_INFO("tls: tls_import: the %s key's stored certificate is as new or "
					 "newer: kept", was == 1 ? "current" : "next");
			else if ((e = rollover_import(&dg.settings, im)) < 0)
				LOG_ERR("tls: tls_import not stored (%d)%s", e,
					e == SETTINGS_ENOSPC ? ": the settings are full" : "");
			else
				LOG_WARN("tls: tls_import: %s key %s, %u certificate(s)%s%s%s", im->key_type,
					 e == ROLLOVER_IMPORT_RENEW ? "is the current key: in service now"
					 : e == ROLLOVER_IMPORT_NEXT_RENEW ? "renews the next key"
					 : "stored as the NEXT key: publish its TLSA record, then tlsa switch",
					 im->ncerts, im->name_ok ? "" : "; it does not name this host",
					 im->expired ? "; EXPIRED" : "",
					 im->not_yet_valid ? "; not yet valid" : "");
		}
	}
	tls_import_free(im);
	tls_import_text_release(&dg);
}

static int load_credentials(const char *hostname)
{
	const uint8_t *key, *crt;
	int kl = settings_get(&dg.settings, "tls_key", &key);
	int cl = settings_get(&dg.settings, "tls_cert", &crt);
	int err = 0;
	if (kl > 0 && cl > 0) {
		import_files(hostname);
		err = rollover_apply_current(&dg.settings, tls_live_set);
		if (!err)
			return 0;
		LOG_ERR("tls: the stored key or certificate is unusable (%d): making a new one", err);
	}
	if (port_wall_time() < 0)
		LOG_WARN("tls: wall clock unknown; certificate validity starts at the epoch");
	/* once, at the first boot: the DER from the heap for this call */
	enum { KBUF = 256, CBUF = 1024 };
	uint8_t *kbuf = malloc(KBUF + CBUF), *cbuf = kbuf + KBUF;
	if (!kbuf) {
		LOG_ERR("tls: cannot make the gateway certificate: out of memory");
		return -12;
	}
	size_t klen = KBUF, clen = CBUF;
	int64_t now = port_wall_time() < 0 ? 0 : port_wall_time();
	uint64_t t0 = port_now_ms();
	err = tls_cred_generate(hostname, now, kbuf, &klen, cbuf, &clen);
	if (!err)
		err = tls_live_set(kbuf, klen, cbuf, clen);
	if (err) {
		mbedtls_platform_zeroize(kbuf, KBUF);
		free(kbuf);
		LOG_ERR("tls: cannot make the gateway certificate: %s", tls_strerror(err));
		return err;
	}
	LOG_INFO("tls: new P-256 key and self-signed certificate for %s (%lu ms)", hostname,
		 (unsigned long)(port_now_ms() - t0));
	if ((err = settings_set(&dg.settings, "tls_key", kbuf, klen)) ||
	    (err = settings_set(&dg.settings, "tls_cert", cbuf, clen)) ||
	    (err = settings_save(&dg.settings)))
		LOG_ERR("tls: certificate not saved (%d): a new one will be made next boot", err);
	mbedtls_platform_zeroize(kbuf, KBUF);
	free(kbuf);
	import_files(hostname); /* an operator's pair becomes the next key */
	return 0;
}

/* smtp_tls_client_cert on: outbound sessions present the gateway's
 * certificate when a server asks for one. A copy parsed at boot (the
 * outbound TLS configuration lives as long as the relay): it follows a
 * `tlsa switch` at the next boot. */
static struct tls_cred *client_credentials(void)
{
	bool on = false;
	(void)config_get_bool(&dg.settings, port_setting, "smtp_tls_client_cert", &on);
	const uint8_t *key, *crt;
	int kl = settings_get(&dg.settings, "tls_key", &key);
	int cl = settings_get(&dg.settings, "tls_cert", &crt);
	if (!on || kl <= 0 || cl <= 0)
		return NULL;
	if (tls_cred_load(&dg.client_cred, key, (size_t)kl, crt, (size_t)cl) != 0) {
		LOG_ERR("tls: smtp_tls_client_cert: the gateway's certificate does not load");
		return NULL;
	}
	LOG_INFO("tls: outbound sessions present the gateway's certificate when asked");
	return &dg.client_cred;
}

static int mount_queue(void)
{
	const struct port_flash *f = port_flash_area(PORT_FLASH_QUEUE);
	if (!f)
		return PORT_ENOTSUP;
	uint32_t max_msgs = 1024, max_bytes = 0;
	(void)config_get_uint(&dg.settings, port_setting, "queue_max_msgs", &max_msgs);
	(void)config_get_uint(&dg.settings, port_setting, "queue_max_bytes", &max_bytes);
	while (max_msgs > 16 && queue_index_size(f, max_msgs) > sizeof(dg.qindex))
		max_msgs -= 16; /* the most the index buffer holds */
	struct queue_config qc = {
		.flash = f,
		.max_msgs = max_msgs,
		.max_bytes = max_bytes,
		/* the queue counts envelope + content; SMTP SIZE counts content */
		.max_msg_size = (uint32_t)dg.in.smtp.max_size + QUEUE_ENV_MAX,
		.index_buf = dg.qindex,
		.index_buf_size = sizeof(dg.qindex),
	};
	uint64_t t0 = port_now_ms();
	int err = queue_mount(&dg.queue, &qc);
	if (err) {
		LOG_ERR("queue: mount failed (%d)", err);
		return err;
	}
	struct queue_stats st;
	queue_stats(&dg.queue, &st);
	LOG_INFO("queue: %lu message(s), %lu of %lu KiB used, max %lu messages, mounted in %lu ms",
		 (unsigned long)st.msgs, (unsigned long)(st.bytes / 1024),
		 (unsigned long)(st.max_bytes / 1024), (unsigned long)st.max_msgs,
		 (unsigned long)(port_now_ms() - t0));
	if (st.v1_blocks)
		LOG_INFO("queue: %lu block(s) in on-flash format 1 (older firmware): read as they are, "
			 "rewritten in format 2 as the ring turns over",
			 (unsigned long)st.v1_blocks);
	return 0;
}

static void boot_log(void)
{
	const struct port_board_info *b = port_board();
	LOG_INFO("danegate %s on board %s (%s), RAM %lu KiB at 0x%lx, static RAM %lu bytes",
		 DANEGATE_VERSION, b->name, b->cpu, (unsigned long)(b->ram_size / 1024),
		 (unsigned long)b->ram_base, (unsigned long)b->static_ram);
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

/* The web console (firmware/web): HTTPS on web_port with the gateway's
 * certificate, plain HTTP only on web_http_port / web_http. */
static void web_start_console(void)
{
	uint32_t port = 443, http_port = 0;
	bool http = false;
	(void)config_get_uint(&dg.settings, port_setting, "web_port", &port);
	(void)config_get_uint(&dg.settings, port_setting, "web_http_port", &http_port);
	(void)config_get_bool(&dg.settings, port_setting, "web_http", &http);
	if (http && !http_port)
		http_port = 80;
	dg.web = (struct web_config){
		.env = &dg.con_env,
		.cred = dg.con_env.cred,
		.port = (uint16_t)port,
		.http_port = (uint16_t)http_port,
		.listen = dg.in.listen,
	};
	if ((port || http_port) && web_start(&dg.web) != 0)
		LOG_WARN("web: console not started");
}

int danegate_main(void)
{
	char buf[CONFIG_VALUE_MAX + 1]; /* the longest config value (smtp_users hashed) */
	boot_log();

	const struct port_flash *cfg = port_flash_area(PORT_FLASH_CONFIG);
	uint32_t boots = 0;
	int err = cfg ? bootcount_next(cfg, &boots) : PORT_ENOTSUP;
	if (err)
		LOG_ERR("flash: boot counter failed: %s", port_strerror(err));
	else
		LOG_INFO("boot count %lu", (unsigned long)boots);
	if (cfg && (err = settings_open(&dg.settings, cfg, SETTINGS_FIRST_BLOCK)) != 0)
		LOG_ERR("config: saved settings unreadable (%d): using defaults", err);

	struct inbound_config *in = &dg.in;
	smtp_server_config_defaults(&in->smtp);
	const char *host = setting("hostname", buf, sizeof(buf));
	if (strlen(host) >= sizeof(in->hostname)) {
		LOG_ERR("config: hostname longer than %u bytes; using danegate.lan",
			(unsigned)sizeof(in->hostname) - 1);
		host = "danegate.lan";
	}
	memcpy(in->hostname, host, strlen(host) + 1);
	in->smtp.hostname = in->hostname;
	uint32_t u = 0;
	(void)config_get_uint(&dg.settings, port_setting, "smtp_max_sessions", &u);
	in->smtp.max_sessions = u && u < INBOUND_MAX_SESSIONS ? u : INBOUND_MAX_SESSIONS;
	u = 25;
	(void)config_get_uint(&dg.settings, port_setting, "smtp_port", &u);
	in->port = (uint16_t)u;
	if (config_get_uint(&dg.settings, port_setting, "max_msg_size", &u) == 0)
		in->smtp.max_size = u;
	uint32_t secs; /* SMTP timeouts (RFC 5321 4.5.3.2) and the minimum data rate */
	if (config_get_duration(&dg.settings, port_setting, "smtp_timeout", &secs) == 0)
		in->smtp.timeout_cmd_ms = secs * 1000;
	if (config_get_duration(&dg.settings, port_setting, "smtp_data_timeout", &secs) == 0)
		in->smtp.timeout_data_ms = secs * 1000;
	if (config_get_uint(&dg.settings, port_setting, "smtp_min_data_rate", &u) == 0)
		in->smtp.min_data_rate = u;
	const char *listen = setting("listen", buf, sizeof(buf));
	if (listen[0] && port_addr_parse(listen, &in->listen) != 0) {
		LOG_ERR("config: listen address '%s' is not numeric; listening everywhere", listen);
		in->listen.family = PORT_AF_NONE;
	}
	const char *nets = setting("relay_networks", buf, sizeof(buf));
	if ((err = inbound_parse_relay_nets(in, nets)) != 0) {
		LOG_ERR("config: relay_networks entry %d is not a network; relaying only after AUTH",
			-err);
		in->smtp.relay_nets_count = 0;
	}
	if ((err = inbound_parse_users(in, setting("smtp_users", buf, sizeof(buf)))) != 0)
		LOG_ERR("config: smtp_users entry %d is not user:password", -err);

	bool tls = false;
	if ((err = tls_init()) != 0)
		LOG_ERR("tls: init failed: %s; STARTTLS disabled", tls_strerror(err));
	else
		tls = load_credentials(in->hostname) == 0;
	in->smtp.tls_available = tls;

	if (mount_queue() != 0)
		return 1;
	/* cred: the live credential (tls_live), switchable at run time */
	struct tls_cred *cred = tls ? (struct tls_cred *)(uintptr_t)tls_live_cred() : NULL;
	if (inbound_start(in, &dg.queue, cred) != 0)
		return 1;
	size_t heap_now, heap_peak;
	tls_heap_stats(&heap_now, &heap_peak);
	LOG_INFO("ready: RAM static %lu bytes, TLS heap %lu bytes in use (peak %lu)",
		 (unsigned long)port_board()->static_ram, (unsigned long)heap_now,
		 (unsigned long)heap_peak);
	dg.con_env = (struct console_env){
		.settings = &dg.settings,
		.queue = &dg.queue,
		.cred = cred,
		.stats = &dg.stats,
		.board = port_setting,
		.inbound_stats = inbound_stats,
		.now_ms = port_now_ms,
		.wall_time = port_wall_time,
		.boot_count = boots,
	};
	if (start_outbound(buf, sizeof(buf), tls) == 0) {
		dg.con_env.dns_status = dns_status_hook;
		dg.con_env.queue_flush = queue_flush_hook;
		dg.con_env.probe = outbound_probe;
		dg.con_env.probe_cancel = outbound_probe_cancel;
		dg.con_env.out_status = outbound_status;
		dg.con_env.tlsa_status = rollover_status;
		dg.con_env.tlsa_check = rollover_check_now;
		dg.con_env.tlsa_changed = rollover_reset;
	}
	if (tls)
		dg.con_env.tls_cred_switch = cred_switch_hook;
	serial_init(&dg.serial, &dg.con_env, NULL);
	web_start_console();
	for (;;) {
		uint32_t wait = 250;
		if (dg.dns_ok) {
			uint32_t o = outbound_next_ms(port_now_ms());
			uint32_t d = dns_resolver_next_ms(&dg.dns, port_now_ms());
			wait = o < wait ? o : wait;
			wait = d < wait ? d : wait;
		}
		port_poll(wait);
		outbound_loop(port_now_ms());
		serial_poll(&dg.serial);
		inbound_tick(port_now_ms());
		if (dg.dns_ok) {
			outbound_tick(port_now_ms());
			rollover_tick(port_now_ms());
		}
		web_tick(port_now_ms());
		if (dg.live_retry && port_now_ms() >= dg.live_retry_at) {
			/* a switch waited for the sessions on the key before */
			dg.live_retry_at = port_now_ms() + 1000;
			if (rollover_apply_current(&dg.settings, cred_switch_hook) == 0)
				LOG_WARN("tls: the switched key is in service now");
		}
	}
}
