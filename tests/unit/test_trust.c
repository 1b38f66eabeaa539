/* test_trust — the verify policy's trust anchors (relay/trust.c) and the
 * console's `ca` command: add (DER and pasted PEM), duplicates, limits,
 * delete by number, the list line (subject, expiry, SHA-256 fingerprint
 * checked against openssl's from the test PKI fixtures), the anchors as
 * `2 0 0` records, board PEM anchors, and `ca list|add|delete` on a
 * console with settings on simulated flash (saved and reloaded). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "console/console.h"
#include "relay/trust.h"
#include "support/creds_test_util.h"
#include "tls/tls.h"
#include "mbedtls/platform.h"
#include "mbedtls/x509_crt.h"
#include "../../board/host/flashsim.h"
#include "data/dane/fixtures.h"

static struct flashsim *fs;
static struct settings st;

static int each_setup(void **state)
{
	(void)state;
	struct flashsim_config cc = { .size = 4 * 16384, .erase_size = 16384, .program_size = 4,
				      .name = "config" };
	assert_int_equal(flashsim_open(&fs, &cc), 0);
	assert_int_equal(settings_open(&st, flashsim_flash(fs), 2), 0);
	trust_board_load(NULL);
	return 0;
}

static int each_teardown(void **state)
{
	(void)state;
	trust_board_load(NULL);
	flashsim_close(fs);
	return 0;
}

struct seen {
	unsigned n, nboard;
	size_t len[16];
	const uint8_t *der[16];
};
static void seen_cb(void *ctx, unsigned n, bool board, const uint8_t *der, size_t len)
{
	struct seen *s = ctx;
	(void)n;
	unsigned k = s->n + s->nboard;
	if (k < 16) {
		s->len[k] = len;
		s->der[k] = der;
	}
	if (board)
		s->nboard++;
	else
		s->n++;
}

static void add_list_delete(void **state)
{
	(void)state;
	assert_int_equal(trust_each(&st, NULL, NULL), 0);
	assert_int_equal(trust_add(&st, root_a_cert_der, sizeof(root_a_cert_der)), 0);
	assert_int_equal(trust_add(&st, int_a_cert_der, sizeof(int_a_cert_der)), 0);
	assert_int_equal(trust_add(&st, root_b_cert_der, sizeof(root_b_cert_der)), 0);
	/* the same certificate again, and things that are not certificates */
	assert_int_equal(trust_add(&st, int_a_cert_der, sizeof(int_a_cert_der)), TRUST_EEXIST);
	assert_int_equal(trust_add(&st, int_a_spki_der, sizeof(int_a_spki_der)), TRUST_EPARSE);
	assert_int_equal(trust_add(&st, root_a_cert_der, sizeof(root_a_cert_der) - 1), TRUST_EPARSE);
	struct seen s = { 0 };
	assert_int_equal(trust_each(&st, seen_cb, &s), 3);
	assert_int_equal(s.n, 3);
	assert_memory_equal(s.der[1], int_a_cert_der, sizeof(int_a_cert_der));
	/* delete the middle one: the others keep their order */
	assert_int_equal(trust_delete(&st, 4), TRUST_ENOENT);
	assert_int_equal(trust_delete(&st, 2), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(trust_each(&st, seen_cb, &s), 2);
	assert_int_equal(s.len[0], sizeof(root_a_cert_der));
	assert_memory_equal(s.der[1], root_b_cert_der, sizeof(root_b_cert_der));
	/* saved and read back */
	assert_int_equal(settings_save(&st), 0);
	struct settings again;
	assert_int_equal(settings_open(&again, flashsim_flash(fs), 2), 0);
	assert_int_equal(trust_each(&again, NULL, NULL), 2);
	/* as `2 0 0` records for dane_verify_chain */
	struct dane_tlsa_set set;
	assert_int_equal(trust_tlsa_set(&again, &set), 2);
	assert_int_equal(set.rr[0].usage, 2);
	assert_int_equal(set.rr[0].selector, 0);
	assert_int_equal(set.rr[0].mtype, 0);
	assert_int_equal(set.rr[1].len, sizeof(root_b_cert_der));
	/* down to none: the entry goes */
	assert_int_equal(trust_delete(&st, 1), 0);
	assert_int_equal(trust_delete(&st, 1), 0);
	const uint8_t *v;
	assert_int_equal(settings_get(&st, TRUST_SETTING, &v), SETTINGS_ENOENT);
}

static void limits_are_kept(void **state)
{
	(void)state;
	assert_int_equal(trust_add(&st, root_a_cert_der, sizeof(root_a_cert_der)), 0);
	assert_int_equal(trust_add(&st, int_a_cert_der, sizeof(int_a_cert_der)), 0);
	/* a certificate larger than one paste may be */
	static uint8_t big[TRUST_CERT_MAX + 1];
	assert_int_equal(trust_add(&st, big, sizeof(big)), TRUST_ETOOBIG);
	/* the bytes: with the value filled up to TRUST_BYTES_MAX (copies of
	 * root b, written directly), one more certificate does not fit */
	static uint8_t fill[TRUST_BYTES_MAX];
	size_t used = 0;
	while (used + sizeof(root_b_cert_der) <= TRUST_BYTES_MAX) {
		memcpy(fill + used, root_b_cert_der, sizeof(root_b_cert_der));
		used += sizeof(root_b_cert_der);
	}
	assert_int_equal(settings_set(&st, TRUST_SETTING, fill, used), 0);
	assert_true(trust_each(&st, NULL, NULL) < TRUST_MAX);
	assert_true(TRUST_BYTES_MAX - used < sizeof(root_a_cert_der));
	assert_int_equal(trust_add(&st, root_a_cert_der, sizeof(root_a_cert_der)), TRUST_ENOSPC);
	/* the count: TRUST_MAX anchors, however small */
	used = 0;
	for (unsigned i = 0; i < TRUST_MAX; i++) {
		/* the smallest valid DER SEQUENCE stands in for a certificate */
		fill[used++] = 0x30;
		fill[used++] = 0x00;
	}
	assert_int_equal(settings_set(&st, TRUST_SETTING, fill, used), 0);
	assert_int_equal(trust_each(&st, NULL, NULL), TRUST_MAX);
	assert_int_equal(trust_add(&st, int_a_cert_der, sizeof(int_a_cert_der)), TRUST_ENOSPC);
}

static void describe_names_subject_expiry_and_fingerprint(void **state)
{
	(void)state;
	char d[TRUST_DESC_MAX], fp[32 * 3];
	trust_describe(root_a_cert_der, sizeof(root_a_cert_der), 1767225600 /* 2026-01-01 */, d,
		       sizeof(d));
	for (unsigned i = 0; i < 32; i++)
		snprintf(fp + 3 * i, 4, "%02X%s", root_a_cert_sha256[i], i < 31 ? ":" : "");
	assert_non_null(strstr(d, "subject CN=Danegate Test Root A"));
	assert_non_null(strstr(d, "; CA;"));
	assert_non_null(strstr(d, fp)); /* openssl's digest of the DER */
	assert_non_null(strstr(d, "expires 2"));
	assert_null(strstr(d, "EXPIRED"));
	/* an expired certificate says so */
	mbedtls_x509_crt x;
	mbedtls_x509_crt_init(&x);
	assert_int_equal(mbedtls_x509_crt_parse(&x, (const unsigned char *)leaf_expired_mx_pem,
						sizeof(leaf_expired_mx_pem)),
			 0);
	trust_describe(x.raw.p, x.raw.len, 1767225600, d, sizeof(d));
	mbedtls_x509_crt_free(&x);
	assert_non_null(strstr(d, "EXPIRED"));
	assert_non_null(strstr(d, "not a CA"));
	/* unknown time: no verdict on the dates */
	trust_describe(root_a_cert_der, sizeof(root_a_cert_der), -1, d, sizeof(d));
	assert_null(strstr(d, "EXPIRED"));
}

/* Feeds a PEM text line by line; returns the last result. */
static int paste(struct trust_pem *p, const char *pem)
{
	char line[256];
	int r = TRUST_PEM_MORE;
	while (*pem && r == TRUST_PEM_MORE) {
		const char *nl = strchr(pem, '\n');
		size_t n = nl ? (size_t)(nl - pem) : strlen(pem);
		assert_true(n < sizeof(line));
		memcpy(line, pem, n);
		line[n] = '\0';
		r = trust_pem_line(p, line);
		pem += n + (nl ? 1 : 0);
	}
	return r;
}

static void pem_paste(void **state)
{
	(void)state;
	static struct trust_pem p;
	trust_pem_init(&p);
	/* text before BEGIN (openssl x509 -text output) is skipped; CRs too */
	assert_int_equal(trust_pem_line(&p, "subject=CN = Danegate Test Root A\r"), TRUST_PEM_MORE);
	assert_int_equal(paste(&p, root_a_pem), TRUST_PEM_DONE);
	assert_int_equal(p.len, sizeof(root_a_cert_der));
	assert_memory_equal(p.der, root_a_cert_der, sizeof(root_a_cert_der));
	/* a blank line first: nothing pasted */
	trust_pem_init(&p);
	assert_int_equal(trust_pem_line(&p, ""), TRUST_PEM_EMPTY);
	/* a blank line in the body: incomplete */
	trust_pem_init(&p);
	assert_int_equal(trust_pem_line(&p, "-----BEGIN CERTIFICATE-----"), TRUST_PEM_MORE);
	assert_int_equal(trust_pem_line(&p, "MIIB"), TRUST_PEM_MORE);
	assert_int_equal(trust_pem_line(&p, "  "), TRUST_EPEM);
	/* a private key is refused at its first line */
	trust_pem_init(&p);
	assert_int_equal(trust_pem_line(&p, "-----BEGIN PRIVATE KEY-----"), TRUST_EPEM);
	/* not base64 */
	trust_pem_init(&p);
	assert_int_equal(trust_pem_line(&p, "-----BEGIN CERTIFICATE-----"), TRUST_PEM_MORE);
	assert_int_equal(trust_pem_line(&p, "MII#"), TRUST_EPEM);
	/* too long for one certificate */
	trust_pem_init(&p);
	assert_int_equal(trust_pem_line(&p, "-----BEGIN CERTIFICATE-----"), TRUST_PEM_MORE);
	int r = TRUST_PEM_MORE;
	for (int i = 0; i < 100 && r == TRUST_PEM_MORE; i++)
		r = trust_pem_line(&p, "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB");
	assert_int_equal(r, TRUST_ETOOBIG);
	/* lines of odd lengths (not whole quads) still decode */
	trust_pem_init(&p);
	assert_int_equal(trust_pem_line(&p, "-----BEGIN CERTIFICATE-----"), TRUST_PEM_MORE);
	const char *b = strchr(root_a_pem, '\n') + 1;
	char body[4096];
	size_t bl = 0;
	for (; strncmp(b, "-----END", 8) != 0; b++)
		if (*b != '\n')
			body[bl++] = *b;
	for (size_t off = 0; off < bl; off += 7) {
		char l[8];
		size_t n = bl - off < 7 ? bl - off : 7;
		memcpy(l, body + off, n);
		l[n] = '\0';
		assert_int_equal(trust_pem_line(&p, l), TRUST_PEM_MORE);
	}
	assert_int_equal(trust_pem_line(&p, "-----END CERTIFICATE-----"), TRUST_PEM_DONE);
	assert_memory_equal(p.der, root_a_cert_der, sizeof(root_a_cert_der));
}

static void board_anchors_are_listed_after_the_saved_ones(void **state)
{
	(void)state;
	assert_int_equal(trust_board_load("not pem"), TRUST_EPEM);
	static char two[8192];
	snprintf(two, sizeof(two), "%s%s", int_a_pem, root_b_pem);
	assert_int_equal(trust_board_load(two), 2);
	assert_int_equal(trust_add(&st, root_a_cert_der, sizeof(root_a_cert_der)), 0);
	struct seen s = { 0 };
	assert_int_equal(trust_each(&st, seen_cb, &s), 3);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.nboard, 2);
	struct dane_tlsa_set set;
	assert_int_equal(trust_tlsa_set(&st, &set), 3);
	assert_int_equal(set.rr[1].len, sizeof(int_a_cert_der));
	assert_memory_equal(set.rr[1].data, int_a_cert_der, sizeof(int_a_cert_der));
	/* a board anchor is not deletable by number: numbers are the saved ones */
	assert_int_equal(trust_delete(&st, 2), TRUST_ENOENT);
}

/* ---- the console's ca command ----------------------------------------------- */
static char outbuf[8192];
static struct console_out out;
static struct console con;
static struct console_env env;

static int con_run(const char *line)
{
	console_out_init(&out, outbuf, sizeof(outbuf), NULL, NULL);
	return console_exec(&con, line, &out);
}

static int con_paste(const char *pem)
{
	char line[256];
	int r = 0;
	while (*pem) {
		const char *nl = strchr(pem, '\n');
		size_t n = nl ? (size_t)(nl - pem) : strlen(pem);
		memcpy(line, pem, n);
		line[n] = '\0';
		r = con_run(line);
		pem += n + (nl ? 1 : 0);
	}
	return r;
}

static void console_ca_commands(void **state)
{
	(void)state;
	env = (struct console_env){ .settings = &st };
	console_init(&con, &env);
	assert_int_equal(con_run("ca"), 0);
	assert_non_null(strstr(outbuf, "no trust anchors"));
	assert_int_equal(con_run("help ca"), 0);
	assert_non_null(strstr(outbuf, "ca add"));
	/* add: the prompt, then the paste; the result is saved */
	assert_int_equal(con_run("ca add"), 0);
	assert_non_null(strstr(outbuf, "paste the CA certificate"));
	assert_int_equal(con_paste(root_a_pem), 0);
	assert_non_null(strstr(outbuf, "trust anchor added and saved (1 in all)"));
	assert_non_null(strstr(outbuf, "Danegate Test Root A"));
	assert_false(st.dirty);
	/* the console is back to commands */
	assert_int_equal(con_run("ca list"), 0);
	assert_non_null(strstr(outbuf, "1: subject CN=Danegate Test Root A"));
	assert_non_null(strstr(outbuf, "SHA-256 "));
	/* the same again: refused, nothing changes */
	assert_int_equal(con_run("ca add"), 0);
	assert_int_equal(con_paste(root_a_pem), CONSOLE_EINVAL);
	assert_non_null(strstr(outbuf, "already"));
	/* a blank line cancels */
	assert_int_equal(con_run("ca add"), 0);
	assert_int_equal(con_run(""), 0);
	assert_non_null(strstr(outbuf, "cancelled"));
	assert_int_equal(con_run("ca list"), 0); /* a command again */
	/* a key pasted by mistake */
	assert_int_equal(con_run("ca add"), 0);
	assert_int_equal(con_run("-----BEGIN PRIVATE KEY-----"), CONSOLE_EINVAL);
	assert_non_null(strstr(outbuf, "not a PEM certificate"));
	/* a second anchor, then delete the first */
	assert_int_equal(con_run("ca add"), 0);
	assert_int_equal(con_paste(int_a_pem), 0);
	assert_non_null(strstr(outbuf, "(2 in all)"));
	assert_int_equal(con_run("ca delete 3"), CONSOLE_EINVAL);
	assert_int_equal(con_run("ca delete x"), CONSOLE_EINVAL);
	assert_int_equal(con_run("ca delete 1"), 0);
	assert_non_null(strstr(outbuf, "deleted and saved"));
	struct settings again;
	assert_int_equal(settings_open(&again, flashsim_flash(fs), 2), 0);
	struct seen s = { 0 };
	assert_int_equal(trust_each(&again, seen_cb, &s), 1);
	assert_memory_equal(s.der[0], int_a_cert_der, sizeof(int_a_cert_der));
	assert_int_equal(con_run("ca frob"), CONSOLE_EINVAL);
}

/* The web console's path: the whole PEM at once, CR LF line ends as a
 * browser sends them, blank lines before it. */
static void console_ca_add_text(void **state)
{
	(void)state;
	env = (struct console_env){ .settings = &st };
	console_init(&con, &env);
	static char text[4096];
	size_t n = 0;
	n += (size_t)snprintf(text + n, sizeof(text) - n, "\r\n\r\n");
	for (const char *p = root_b_pem; *p; p++) {
		if (*p == '\n')
			text[n++] = '\r';
		text[n++] = *p;
	}
	text[n] = '\0';
	console_out_init(&out, outbuf, sizeof(outbuf), NULL, NULL);
	assert_int_equal(console_ca_add(&con, text, &out), 0);
	assert_non_null(strstr(outbuf, "trust anchor added and saved (1 in all)"));
	assert_non_null(strstr(text, "\r\n-----END CERTIFICATE-----")); /* restored */
	assert_int_equal(con.mode, CONSOLE_MODE_CMD);
	console_out_init(&out, outbuf, sizeof(outbuf), NULL, NULL);
	char junk[] = "hello\nworld";
	assert_int_equal(console_ca_add(&con, junk, &out), CONSOLE_EINVAL);
	assert_non_null(strstr(outbuf, "not a PEM certificate"));
	char empty[] = "\r\n";
	console_out_init(&out, outbuf, sizeof(outbuf), NULL, NULL);
	assert_int_equal(console_ca_add(&con, empty, &out), 0);
	assert_non_null(strstr(outbuf, "cancelled"));
	assert_int_equal(trust_each(&st, NULL, NULL), 1);
}

/* Under full TLS load (the arena lent out to the last byte) `ca add`
 * says so and changes nothing: neither the paste nor the web's whole-text
 * form starts, the console stays in command mode; with room again the
 * same paste works. Two consoles cannot paste at once (one buffer). */
static void ca_add_without_tls_memory(void **state)
{
	(void)state;
	env = (struct console_env){ .settings = &st };
	console_init(&con, &env);
	static void *fill[8192];
	size_t nfill = ctu_arena_fill(fill, 8192);
	assert_int_equal(con_run("ca add"), CONSOLE_EFAIL);
	assert_non_null(strstr(outbuf, "not enough TLS memory now; try again"));
	assert_int_equal(con.mode, CONSOLE_MODE_CMD);
	static char text[4096];
	snprintf(text, sizeof(text), "%s", root_b_pem);
	console_out_init(&out, outbuf, sizeof(outbuf), NULL, NULL);
	assert_int_equal(console_ca_add(&con, text, &out), CONSOLE_EFAIL);
	assert_non_null(strstr(outbuf, "not enough TLS memory now; try again"));
	assert_int_equal(trust_each(&st, NULL, NULL), 0);
	ctu_arena_release(fill, &nfill);
	/* room again: one console pastes, a second one must wait for it */
	assert_int_equal(con_run("ca add"), 0);
	struct console other;
	console_init(&other, &env);
	console_out_init(&out, outbuf, sizeof(outbuf), NULL, NULL);
	assert_int_equal(console_exec(&other, "ca add", &out), CONSOLE_EFAIL);
	assert_non_null(strstr(outbuf, "another console is pasting"));
	assert_int_equal(con_paste(root_b_pem), 0);
	assert_non_null(strstr(outbuf, "trust anchor added and saved (1 in all)"));
	/* the buffer went back: a cut-off paste (logout) gives it back too */
	console_out_init(&out, outbuf, sizeof(outbuf), NULL, NULL);
	assert_int_equal(console_exec(&other, "ca add", &out), 0);
	console_logout(&other);
	assert_int_equal(con_run("ca add"), 0);
	assert_int_equal(con_run(""), 0);
	assert_non_null(strstr(outbuf, "cancelled"));
}

int main(void)
{
	if (tls_init() != 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(add_list_delete, each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(limits_are_kept, each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(describe_names_subject_expiry_and_fingerprint, each_setup,
						each_teardown),
		cmocka_unit_test_setup_teardown(pem_paste, each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(board_anchors_are_listed_after_the_saved_ones, each_setup,
						each_teardown),
		cmocka_unit_test_setup_teardown(console_ca_commands, each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(console_ca_add_text, each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(ca_add_without_tls_memory, each_setup, each_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
