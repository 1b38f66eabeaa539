/* test_tls — the TLS glue end to end on loopback through the host board:
 * a generated P-256 self-signed certificate, a server and a client session
 * driven only by port_poll() events, TLS 1.3 and TLS 1.2, data both ways,
 * a live credential switch while a session runs, and the arena peak. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "port.h"
#include "tls/tls.h"

#include "data/creds/fixtures.h"

static struct tls_cred cred;
static uint8_t key_der[512], crt_der[1024];
static size_t key_len, crt_len;

static int setup_cred(void **state)
{
	(void)state;
	if (tls_init() != 0)
		return -1;
	key_len = sizeof(key_der);
	crt_len = sizeof(crt_der);
	if (tls_cred_generate("gw.example", port_wall_time(), key_der, &key_len, crt_der, &crt_len))
		return -1;
	return tls_cred_load(&cred, key_der, key_len, crt_der, crt_len);
}

struct side {
	int sock;
	struct tls_conn tc;
	int hs; /* last handshake result */
};

static void ignore_event(void *ctx, int sock, enum port_event ev, int err)
{
	(void)ctx, (void)sock, (void)ev, (void)err;
}

static int accepted = -1;
static void on_accept(void *ctx, int l, enum port_event ev, int err)
{
	(void)ctx, (void)err;
	if (ev == PORT_EV_ACCEPT && accepted < 0)
		accepted = port_tcp_accept(l, NULL, ignore_event, NULL);
}

/* Connect a client socket to a fresh loopback listener; return both ends. */
static void socket_pair(int *cli, int *srv)
{
	struct port_addr any = { .family = PORT_AF_INET, .ip = { 127, 0, 0, 1 }, .port = 0 };
	int l = port_tcp_listen(&any, on_accept, NULL);
	assert_true(l >= 0);
	struct port_addr bound;
	assert_int_equal(port_tcp_addrs(l, &bound, NULL), 0);
	accepted = -1;
	*cli = port_tcp_connect(&bound, ignore_event, NULL);
	assert_true(*cli >= 0);
	for (int i = 0; i < 200 && accepted < 0; i++)
		port_poll(10);
	assert_true(accepted >= 0);
	*srv = accepted;
	port_close(l);
}

static void handshake(struct side *c, struct side *s)
{
	c->hs = s->hs = TLS_WANT_READ;
	for (int i = 0; i < 2000 && (c->hs || s->hs); i++) {
		if (c->hs == TLS_WANT_READ || c->hs == TLS_WANT_WRITE)
			c->hs = tls_conn_handshake(&c->tc);
		if (s->hs == TLS_WANT_READ || s->hs == TLS_WANT_WRITE)
			s->hs = tls_conn_handshake(&s->tc);
		if ((c->hs < 0 && c->hs != TLS_WANT_READ && c->hs != TLS_WANT_WRITE) ||
		    (s->hs < 0 && s->hs != TLS_WANT_READ && s->hs != TLS_WANT_WRITE))
			break;
		port_poll(5);
	}
}

static void run_session(int max_version, const char *want_version)
{
	mbedtls_ssl_config sconf, cconf;
	assert_int_equal(tls_server_config(&sconf, &cred), 0);
	assert_int_equal(tls_client_config(&cconf, NULL), 0);
	/* The self-signed certificate is its own trust anchor here. */
	mbedtls_ssl_conf_ca_chain(&cconf, &cred.cert, NULL);
	mbedtls_ssl_conf_authmode(&cconf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_max_tls_version(&cconf, (mbedtls_ssl_protocol_version)max_version);

	struct side c, s;
	socket_pair(&c.sock, &s.sock);
	assert_int_equal(tls_conn_setup(&c.tc, &cconf, c.sock, "gw.example"), 0);
	assert_int_equal(tls_conn_setup(&s.tc, &sconf, s.sock, NULL), 0);
	handshake(&c, &s);
	assert_int_equal(c.hs, 0);
	assert_int_equal(s.hs, 0);
	assert_string_equal(tls_conn_version(&c.tc), want_version);
	assert_string_equal(tls_conn_version(&s.tc), want_version);
	assert_int_equal(mbedtls_ssl_get_verify_result(&c.tc.ssl), 0);

	const char msg[] = "EHLO client.example\r\n";
	assert_int_equal(tls_conn_write(&c.tc, msg, sizeof(msg) - 1), (long)sizeof(msg) - 1);
	char buf[64];
	long n = TLS_WANT_READ;
	for (int i = 0; i < 200 && n == TLS_WANT_READ; i++) {
		port_poll(5);
		n = tls_conn_read(&s.tc, buf, sizeof(buf));
	}
	assert_int_equal(n, (long)sizeof(msg) - 1);
	assert_memory_equal(buf, msg, sizeof(msg) - 1);

	tls_conn_free(&c.tc);
	tls_conn_free(&s.tc);
	port_close(c.sock);
	port_close(s.sock);
	mbedtls_ssl_config_free(&sconf);
	mbedtls_ssl_config_free(&cconf);
}

static void tls13_session_verifies_our_certificate(void **state)
{
	(void)state;
	run_session(MBEDTLS_SSL_VERSION_TLS1_3, "TLSv1.3");
}

static void tls12_session_still_works(void **state)
{
	(void)state;
	run_session(MBEDTLS_SSL_VERSION_TLS1_2, "TLSv1.2");
}

static void certificate_names_the_host_and_is_valid_now(void **state)
{
	(void)state;
	uint32_t flags = 0;
	assert_int_equal(mbedtls_x509_crt_verify(&cred.cert, &cred.cert, NULL, "gw.example", &flags,
						 NULL, NULL),
			 0);
	assert_int_not_equal(mbedtls_x509_crt_verify(&cred.cert, &cred.cert, NULL, "other.example",
						     &flags, NULL, NULL),
			     0);
	assert_true(flags & MBEDTLS_X509_BADCERT_CN_MISMATCH);
	assert_int_equal(mbedtls_pk_get_type(&cred.cert.pk), MBEDTLS_PK_ECKEY);
	assert_int_equal(mbedtls_pk_get_bitlen(&cred.cert.pk), 256);
}

static void gate_admits_in_turn_and_peer_chain_can_go(void **state)
{
	(void)state;
	mbedtls_ssl_config sconf, cconf;
	assert_int_equal(tls_server_config(&sconf, &cred), 0);
	assert_int_equal(tls_client_config(&cconf, NULL), 0);
	struct tls_gate_stats st0, st;
	tls_gate_stats(&st0);
	tls_gate_limits(3, 2); /* both ends of a pair handshake here at once */

	struct side c, s;
	struct tls_conn d, e;
	socket_pair(&c.sock, &s.sock);
	assert_int_equal(tls_conn_setup(&c.tc, &cconf, c.sock, "gw.example"), 0);
	assert_int_equal(tls_conn_setup(&s.tc, &sconf, s.sock, NULL), 0);
	/* two handshaking: a third session waits, nothing set up */
	size_t before, after, peak;
	tls_heap_stats(&before, &peak);
	assert_int_equal(tls_conn_setup(&d, &sconf, -1, NULL), TLS_WANT_SLOT);
	tls_heap_stats(&after, &peak);
	assert_int_equal(after, before);
	handshake(&c, &s);
	assert_int_equal(c.hs, 0);
	assert_int_equal(s.hs, 0);
	/* both done: a handshake slot is free, and the third session slot */
	assert_int_equal(tls_conn_setup(&d, &sconf, -1, NULL), 0);
	tls_gate_stats(&st);
	assert_int_equal(st.sessions, st0.sessions + 3);
	assert_int_equal(st.handshakes, st0.handshakes + 1);
	/* three sessions held: a fourth waits until one is freed */
	assert_int_equal(tls_conn_setup(&e, &sconf, -1, NULL), TLS_WANT_SLOT);
	tls_conn_free(&d);
	assert_int_equal(tls_conn_setup(&e, &sconf, -1, NULL), 0);
	tls_gate_stats(&st);
	assert_int_equal(st.waits, st0.waits + 2);
	assert_true(st.sessions_peak >= 3 && st.handshakes_peak >= 2);

	/* the client's copy of the server's chain goes back to the arena */
	assert_non_null(mbedtls_ssl_get_peer_cert(&c.tc.ssl));
	tls_heap_stats(&before, &peak);
	tls_conn_drop_peer_chain(&c.tc);
	tls_heap_stats(&after, &peak);
	assert_null(mbedtls_ssl_get_peer_cert(&c.tc.ssl));
	assert_true(after < before);
	tls_conn_drop_peer_chain(&c.tc); /* again: nothing to do */
	const char msg[] = "still up\r\n";
	assert_int_equal(tls_conn_write(&c.tc, msg, sizeof(msg) - 1), (long)sizeof(msg) - 1);

	tls_conn_free(&e);
	tls_conn_free(&c.tc);
	tls_conn_free(&s.tc);
	tls_gate_stats(&st);
	assert_int_equal(st.sessions, st0.sessions);
	assert_int_equal(st.handshakes, st0.handshakes);
	tls_gate_limits(TLS_SESSIONS_MAX, TLS_HANDSHAKES_MAX);
	port_close(c.sock);
	port_close(s.sock);
	mbedtls_ssl_config_free(&sconf);
	mbedtls_ssl_config_free(&cconf);
}

/* The web console's HTTPS waits like the others while every slot is held,
 * but the next free slot is kept for it before SMTP sessions that waited
 * longer; one that gives up frees its claim. */
static void gate_gives_the_next_slot_to_the_console(void **state)
{
	(void)state;
	mbedtls_ssl_config sconf;
	assert_int_equal(tls_server_config(&sconf, &cred), 0);
	struct tls_gate_stats st0, st;
	tls_gate_stats(&st0);
	tls_gate_limits(st0.sessions + 2, 0); /* two session slots, handshakes not bounded */
	struct tls_conn smtp1, smtp2, smtp3, web1, web2;
	memset(&web1, 0, sizeof(web1));
	memset(&web2, 0, sizeof(web2));
	assert_int_equal(tls_conn_setup(&smtp1, &sconf, -1, NULL), 0);
	assert_int_equal(tls_conn_setup(&smtp2, &sconf, -1, NULL), 0);
	/* all held: SMTP waits first, then the console */
	assert_int_equal(tls_conn_setup(&smtp3, &sconf, -1, NULL), TLS_WANT_SLOT);
	assert_int_equal(tls_conn_setup_priority(&web1, &sconf, -1, NULL), TLS_WANT_SLOT);
	assert_int_equal(tls_conn_setup_priority(&web1, &sconf, -1, NULL), TLS_WANT_SLOT);
	tls_gate_stats(&st);
	assert_int_equal(st.prio_waiting, st0.prio_waiting + 1); /* counted once */
	/* a slot comes free: the SMTP session that waited longer still waits */
	tls_conn_free(&smtp1);
	assert_int_equal(tls_conn_setup(&smtp3, &sconf, -1, NULL), TLS_WANT_SLOT);
	assert_int_equal(tls_conn_setup_priority(&web1, &sconf, -1, NULL), 0);
	tls_gate_stats(&st);
	assert_int_equal(st.prio_waiting, st0.prio_waiting);
	assert_int_equal(st.sessions, st0.sessions + 2);
	/* a console that gives up waiting frees the slot kept for it */
	assert_int_equal(tls_conn_setup_priority(&web2, &sconf, -1, NULL), TLS_WANT_SLOT);
	tls_conn_free(&smtp2);
	assert_int_equal(tls_conn_setup(&smtp3, &sconf, -1, NULL), TLS_WANT_SLOT);
	tls_conn_setup_cancel(&web2);
	tls_conn_setup_cancel(&web2); /* twice: nothing more */
	tls_gate_stats(&st);
	assert_int_equal(st.prio_waiting, st0.prio_waiting);
	assert_int_equal(tls_conn_setup(&smtp3, &sconf, -1, NULL), 0);
	tls_conn_free(&smtp3);
	tls_conn_free(&web1);
	tls_gate_stats(&st);
	assert_int_equal(st.sessions, st0.sessions);
	tls_gate_limits(TLS_SESSIONS_MAX, TLS_HANDSHAKES_MAX);
	mbedtls_ssl_config_free(&sconf);
}

/* ---- live credentials: a switch while a session runs ---------------------- */

static void live_session(struct side *c, struct side *s, mbedtls_ssl_config *cconf)
{
	socket_pair(&c->sock, &s->sock);
	assert_int_equal(tls_conn_setup(&c->tc, cconf, c->sock, "gw.example"), 0);
	assert_int_equal(tls_conn_setup_server(&s->tc, s->sock), 0);
	handshake(c, s);
	assert_int_equal(c->hs, 0);
	assert_int_equal(s->hs, 0);
}

/* The certificate the client was shown is the one of der. */
static void shown(struct side *c, const uint8_t *der, size_t len)
{
	const mbedtls_x509_crt *p = mbedtls_ssl_get_peer_cert(&c->tc.ssl);
	assert_non_null(p);
	assert_int_equal(p->raw.len, len);
	assert_memory_equal(p->raw.p, der, len);
}

static void echo(struct side *from, struct side *to)
{
	static const char msg[] = "NOOP\r\n";
	assert_int_equal(tls_conn_write(&from->tc, msg, 6), 6);
	char buf[16];
	long n = TLS_WANT_READ;
	for (int i = 0; i < 200 && n == TLS_WANT_READ; i++) {
		port_poll(5);
		n = tls_conn_read(&to->tc, buf, sizeof(buf));
	}
	assert_int_equal(n, 6);
	assert_memory_equal(buf, msg, 6);
}

static void end(struct side *c, struct side *s)
{
	tls_conn_free(&c->tc);
	tls_conn_free(&s->tc);
	port_close(c->sock);
	port_close(s->sock);
}

static void live_switch_keeps_old_sessions(void **state)
{
	(void)state;
	static uint8_t k2[256], c2[1024], k3[256], c3[1024];
	size_t k2l = sizeof(k2), c2l = sizeof(c2), k3l = sizeof(k3), c3l = sizeof(c3);
	assert_int_equal(tls_cred_generate("gw.example", port_wall_time(), k2, &k2l, c2, &c2l), 0);
	assert_int_equal(tls_cred_generate("gw.example", port_wall_time(), k3, &k3l, c3, &c3l), 0);
	size_t before, peak;
	tls_heap_stats(&before, &peak);
	mbedtls_ssl_config cconf;
	assert_int_equal(tls_client_config(&cconf, NULL), 0);
	unsigned cur, prev;

	assert_false(tls_live_ready());
	assert_int_equal(tls_live_set(key_der, key_len, crt_der, crt_len), 0);
	struct side c1, s1, c2s, s2, c3s, s3;
	live_session(&c1, &s1, &cconf);
	shown(&c1, crt_der, crt_len);
	tls_live_sessions(&cur, &prev);
	assert_int_equal(cur, 1);

	/* switch: the next handshake sees the new certificate ... */
	assert_int_equal(tls_live_set(k2, k2l, c2, c2l), 0);
	live_session(&c2s, &s2, &cconf);
	shown(&c2s, c2, c2l);
	tls_live_sessions(&cur, &prev);
	assert_int_equal(cur, 1);
	assert_int_equal(prev, 1);
	/* ... while the session from before goes on, both ways */
	echo(&c1, &s1);
	echo(&s1, &c1);
	/* a third key cannot come while the first still serves a session */
	assert_int_equal(tls_live_set(k3, k3l, c3, c3l), TLS_LIVE_EBUSY);
	assert_memory_equal(tls_live_cred()->cert.raw.p, c2, c2l); /* nothing changed */
	/* a bad pair changes nothing either */
	assert_true(tls_live_set(k3, k3l, c2, c2l) != 0); /* key of 3, certificate of 2 */
	end(&c1, &s1); /* the last session on the first key: its slot is freed */
	tls_live_sessions(&cur, &prev);
	assert_int_equal(prev, 0);
	assert_int_equal(tls_live_set(k3, k3l, c3, c3l), 0);
	live_session(&c3s, &s3, &cconf);
	shown(&c3s, c3, c3l);
	echo(&c2s, &s2);
	end(&c2s, &s2);
	end(&c3s, &s3);
	tls_live_sessions(&cur, &prev);
	assert_int_equal(cur + prev, 0);
	tls_live_reset();
	mbedtls_ssl_config_free(&cconf);
	size_t after;
	tls_heap_stats(&after, &peak);
	assert_int_equal(after, before); /* every credential and session freed */
}

/* An imported RSA-2048 pair with its CA (data/creds): served over TLS 1.3
 * (RSA-PSS) and TLS 1.2 (ECDHE-RSA), the chain sent whole. */
static void imported_rsa_chain_is_served(void **state)
{
	(void)state;
	struct tls_import *im = tls_import_new();
	assert_non_null(im);
	static char text[8192];
	snprintf(text, sizeof(text), "%s%s%s", fx_rsa_key, fx_rsa_crt, fx_ca_crt);
	assert_int_equal(tls_import_pem(im, text, "gw.example", FX_NOT_BEFORE + 86400), 0);
	assert_int_equal(tls_live_set(im->key_der, im->key_len, im->chain_der, im->chain_len), 0);
	size_t leaf_len = im->chain_len - (size_t)tls_live_cred()->cert.next->raw.len;
	static const int versions[] = { MBEDTLS_SSL_VERSION_TLS1_3, MBEDTLS_SSL_VERSION_TLS1_2 };
	for (int v = 0; v < 2; v++) {
		mbedtls_ssl_config cconf;
		assert_int_equal(tls_client_config(&cconf, NULL), 0);
		mbedtls_ssl_conf_max_tls_version(&cconf, (mbedtls_ssl_protocol_version)versions[v]);
		struct side c, s;
		live_session(&c, &s, &cconf);
		shown(&c, im->chain_der, leaf_len);
		const mbedtls_x509_crt *p = mbedtls_ssl_get_peer_cert(&c.tc.ssl);
		assert_non_null(p->next); /* the CA came along */
		assert_string_equal(tls_conn_version(&c.tc), v ? "TLSv1.2" : "TLSv1.3");
		echo(&c, &s);
		end(&c, &s);
		mbedtls_ssl_config_free(&cconf);
	}
	tls_live_reset();
	tls_import_free(im);
}

static void arena_peak_is_reported(void **state)
{
	(void)state;
	size_t now, peak;
	tls_heap_stats(&now, &peak);
	assert_true(peak > 0);
	assert_true(peak <= TLS_ARENA_SIZE);
	assert_true(now <= peak);
	print_message("TLS arena: %zu bytes in use, peak %zu of %d\n", now, peak, TLS_ARENA_SIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(certificate_names_the_host_and_is_valid_now),
		cmocka_unit_test(tls13_session_verifies_our_certificate),
		cmocka_unit_test(tls12_session_still_works),
		cmocka_unit_test(gate_admits_in_turn_and_peer_chain_can_go),
		cmocka_unit_test(gate_gives_the_next_slot_to_the_console),
		cmocka_unit_test(live_switch_keeps_old_sessions),
		cmocka_unit_test(imported_rsa_chain_is_served),
		cmocka_unit_test(arena_peak_is_reported),
	};
	return cmocka_run_group_tests(tests, setup_cred, NULL);
}
