/* test_rollover — the gateway's TLSA rollover watch (DANE-RULES 24): the
 * pure verdict over TLSA answers (first sighting, two TTLs, largest TTL,
 * withdrawal and insecure answers restart the wait, failures change
 * nothing, only an exact `3 1 1` of the key counts) and the driver's
 * state kept in the settings across a restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "relay/rollover.h"
#include "tls/tls.h"
#include "../../board/host/flashsim.h"

static mbedtls_x509_crt cert_a, cert_b;
static uint8_t der_b[1024], key_b[256];
static size_t der_b_len, key_b_len;
static uint8_t dig_a[32], dig_b[32];

static void make_cert(mbedtls_x509_crt *x, uint8_t *key, size_t *kl, uint8_t *der, size_t *dl)
{
	assert_int_equal(tls_cred_generate("gw.example", 1700000000, key, kl, der, dl), 0);
	mbedtls_x509_crt_init(x);
	assert_int_equal(mbedtls_x509_crt_parse_der(x, der, *dl), 0);
}

static int setup(void **state)
{
	(void)state;
	assert_int_equal(tls_init(), 0);
	uint8_t k[256], d[1024];
	size_t kl = sizeof(k), dl = sizeof(d);
	make_cert(&cert_a, k, &kl, d, &dl);
	key_b_len = sizeof(key_b);
	der_b_len = sizeof(der_b);
	make_cert(&cert_b, key_b, &key_b_len, der_b, &der_b_len);
	assert_int_equal(rollover_spki_sha256(&cert_a, dig_a), 0);
	assert_int_equal(rollover_spki_sha256(&cert_b, dig_b), 0);
	assert_memory_not_equal(dig_a, dig_b, 32);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	mbedtls_x509_crt_free(&cert_a);
	mbedtls_x509_crt_free(&cert_b);
	return 0;
}

static struct dns_answer ans;

static void answer(enum dns_status st, uint32_t ttl)
{
	memset(&ans, 0, sizeof(ans));
	ans.status = st;
	ans.qtype = DNS_T_TLSA;
	ans.ttl = ttl;
	ans.reason = st == DNS_FAIL ? "SERVFAIL from 127.0.0.1" : "";
}

static void add(uint8_t u, uint8_t s, uint8_t m, const uint8_t *data, uint16_t len)
{
	struct dns_rr *rr = &ans.rr[ans.n_rr++];
	rr->type = DNS_T_TLSA;
	rr->ttl = ans.ttl;
	rr->u.tlsa.usage = u;
	rr->u.tlsa.selector = s;
	rr->u.tlsa.mtype = m;
	rr->u.tlsa.off = ans.data_len;
	rr->u.tlsa.len = len;
	memcpy(ans.data + ans.data_len, data, len);
	ans.data_len += len;
}

static void verdicts_over_time(void **state)
{
	(void)state;
	struct rollover_seen seen = { 0 };
	struct rollover_status st;
	/* only the current record: the next one is not published */
	answer(DNS_SECURE, 300);
	add(3, 1, 1, dig_a, 32);
	assert_false(rollover_eval(&seen, &ans, dig_a, dig_b, 1000, &st));
	assert_int_equal(st.verdict, ROLLOVER_NEXT_MISSING);
	assert_true(st.current_published);
	assert_false(st.next_published);
	/* the same digest under 3 1 2 or 2 1 1 is not the record */
	add(3, 1, 2, dig_b, 32);
	add(2, 1, 1, dig_b, 32);
	assert_false(rollover_eval(&seen, &ans, dig_a, dig_b, 1000, &st));
	assert_int_equal(st.verdict, ROLLOVER_NEXT_MISSING);
	/* both published: first sighting, two TTLs to go */
	answer(DNS_SECURE, 300);
	add(3, 1, 1, dig_a, 32);
	add(3, 1, 1, dig_b, 32);
	assert_true(rollover_eval(&seen, &ans, dig_a, dig_b, 1000, &st));
	assert_int_equal(st.verdict, ROLLOVER_WAITING);
	assert_int_equal(seen.first_seen, 1000);
	assert_int_equal(st.ready_at, 1600);
	assert_true(st.current_published && st.next_published);
	/* a later, larger TTL moves the end: caches may hold the old RRset */
	answer(DNS_SECURE, 600);
	add(3, 1, 1, dig_a, 32);
	add(3, 1, 1, dig_b, 32);
	assert_true(rollover_eval(&seen, &ans, dig_a, dig_b, 1500, &st));
	assert_int_equal(seen.first_seen, 1000);
	assert_int_equal(st.ready_at, 2200);
	assert_int_equal(st.verdict, ROLLOVER_WAITING);
	assert_false(rollover_eval(&seen, &ans, dig_a, dig_b, 2199, &st));
	assert_int_equal(st.verdict, ROLLOVER_WAITING);
	assert_false(rollover_eval(&seen, &ans, dig_a, dig_b, 2200, &st));
	assert_int_equal(st.verdict, ROLLOVER_READY);
	/* a failed lookup proves nothing: state and verdict class kept */
	answer(DNS_FAIL, 0);
	assert_false(rollover_eval(&seen, &ans, dig_a, dig_b, 2300, &st));
	assert_int_equal(st.verdict, ROLLOVER_LOOKUP_FAILED);
	assert_string_equal(st.detail, "SERVFAIL from 127.0.0.1");
	assert_int_equal(seen.first_seen, 1000);
	/* an insecure answer: nobody can use the records; the wait restarts */
	answer(DNS_INSECURE, 300);
	add(3, 1, 1, dig_a, 32);
	add(3, 1, 1, dig_b, 32);
	assert_true(rollover_eval(&seen, &ans, dig_a, dig_b, 2400, &st));
	assert_int_equal(st.verdict, ROLLOVER_INSECURE);
	assert_int_equal(seen.first_seen, 0);
	/* seen again, then withdrawn (secure NODATA): the wait restarts */
	answer(DNS_SECURE, 300);
	add(3, 1, 1, dig_b, 32);
	assert_true(rollover_eval(&seen, &ans, dig_a, dig_b, 3000, &st));
	assert_int_equal(st.verdict, ROLLOVER_WAITING);
	assert_false(st.current_published); /* warned about by the driver */
	answer(DNS_SECURE_NODATA, 300);
	assert_true(rollover_eval(&seen, &ans, dig_a, dig_b, 3100, &st));
	assert_int_equal(st.verdict, ROLLOVER_NEXT_MISSING);
	assert_int_equal(seen.first_seen, 0);
	/* a tiny TTL counts as ROLLOVER_TTL_MIN */
	answer(DNS_SECURE, 5);
	add(3, 1, 1, dig_b, 32);
	assert_true(rollover_eval(&seen, &ans, dig_a, dig_b, 4000, &st));
	assert_int_equal(st.ready_at, 4000 + 2 * ROLLOVER_TTL_MIN);
}

static struct settings set;

static void driver_state_in_settings(void **state)
{
	(void)state;
	struct flashsim *fs;
	struct flashsim_config cfg = { .path = NULL, .size = 4 * 16384, .erase_size = 16384,
				       .program_size = 4, .name = "config" };
	assert_int_equal(flashsim_open(&fs, &cfg), 0);
	assert_int_equal(settings_open(&set, flashsim_flash(fs), 2), 0);
	struct rollover_env env = { .settings = &set, .cur_cert = &cert_a };
	struct rollover_status st;
	rollover_init(&env);
	rollover_status(&st);
	assert_int_equal(st.verdict, ROLLOVER_NO_NEXT);
	assert_int_equal(rollover_check_now(), ROLLOVER_ENOTSUP); /* no resolver */
	/* a next key: the watch starts; the name is the published one */
	assert_int_equal(settings_set(&set, "tls_next_cert", der_b, der_b_len), 0);
	assert_int_equal(settings_set(&set, "hostname", "gw.example", 10), 0);
	rollover_reset();
	rollover_status(&st);
	assert_int_equal(st.verdict, ROLLOVER_UNKNOWN);
	assert_string_equal(st.name, "_25._tcp.gw.example");
	/* a sighting kept in the settings is read back after a restart */
	static const uint8_t v[12] = { 0xe8, 0x03, 0, 0, 0, 0, 0, 0, 0x2c, 0x01, 0, 0 };
	assert_int_equal(settings_set(&set, ROLLOVER_SEEN_KEY, v, sizeof(v)), 0);
	assert_int_equal(settings_save(&set), 0);
	rollover_init(&env);
	rollover_status(&st);
	assert_int_equal(st.first_seen, 1000);
	assert_int_equal(st.ttl, 300);
	/* the next key gone (switched): the kept sighting is dropped */
	assert_int_equal(settings_set(&set, "tls_next_cert", NULL, 0), 0);
	rollover_reset();
	rollover_status(&st);
	assert_int_equal(st.verdict, ROLLOVER_NO_NEXT);
	const uint8_t *p;
	assert_int_equal(settings_get(&set, ROLLOVER_SEEN_KEY, &p), SETTINGS_ENOENT);
	flashsim_close(fs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(verdicts_over_time),
		cmocka_unit_test(driver_state_in_settings),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
