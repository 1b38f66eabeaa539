/* tls_live — the credential inbound STARTTLS and the HTTPS console present,
 * switchable while sessions run: two slots (credential + server config),
 * counted by their sessions; the old one is freed when its last session
 * ends. Exports tls_live_set/cred/ready/sessions/put/reset and
 * tls_conn_setup_server(_priority)(). See tls.h. */
#include "tls/tls.h"

#include <string.h>

#define SLOTS 2

static struct {
	struct {
		struct tls_cred cred;
		mbedtls_ssl_config conf;
		unsigned refs;
		bool used;
	} s[SLOTS];
	int cur; /* -1: none yet */
	bool inited;
} lv;

static void init_once(void)
{
	if (!lv.inited) {
		memset(&lv, 0, sizeof(lv));
		lv.cur = -1;
		lv.inited = true;
	}
}

static void slot_free(int i)
{
	if (!lv.s[i].used)
		return;
	mbedtls_ssl_config_free(&lv.s[i].conf);
	tls_cred_free(&lv.s[i].cred);
	lv.s[i].used = false;
	lv.s[i].refs = 0;
}

int tls_live_set(const uint8_t *key, size_t key_len, const uint8_t *crt, size_t crt_len)
{
	init_once();
	int n = lv.cur < 0 ? 0 : 1 - lv.cur;
	if (lv.s[n].used) {
		if (lv.s[n].refs)
			return TLS_LIVE_EBUSY;
		slot_free(n);
	}
	int err = tls_cred_load(&lv.s[n].cred, key, key_len, crt, crt_len);
	if (err)
		return err;
	err = tls_server_config(&lv.s[n].conf, &lv.s[n].cred);
	if (err) {
		mbedtls_ssl_config_free(&lv.s[n].conf);
		tls_cred_free(&lv.s[n].cred);
		return err;
	}
	lv.s[n].used = true;
	lv.s[n].refs = 0;
	int old = lv.cur;
	lv.cur = n;
	if (old >= 0 && lv.s[old].refs == 0)
		slot_free(old); /* nobody on it: free at once */
	return 0;
}

const struct tls_cred *tls_live_cred(void)
{
	return lv.inited && lv.cur >= 0 ? &lv.s[lv.cur].cred : NULL;
}

bool tls_live_ready(void)
{
	return tls_live_cred() != NULL;
}

void tls_live_sessions(unsigned *current, unsigned *previous)
{
	*current = *previous = 0;
	if (!lv.inited || lv.cur < 0)
		return;
	*current = lv.s[lv.cur].refs;
	if (lv.s[1 - lv.cur].used)
		*previous = lv.s[1 - lv.cur].refs;
}

static int setup_server(struct tls_conn *c, int sock, bool priority)
{
	if (!tls_live_ready())
		return MBEDTLS_ERR_SSL_BAD_CONFIG;
	int err = priority ? tls_conn_setup_priority(c, &lv.s[lv.cur].conf, sock, NULL)
			   : tls_conn_setup(c, &lv.s[lv.cur].conf, sock, NULL);
	if (!err)
		lv.s[lv.cur].refs++;
	return err;
}

int tls_conn_setup_server(struct tls_conn *c, int sock)
{
	return setup_server(c, sock, false);
}

int tls_conn_setup_server_priority(struct tls_conn *c, int sock)
{
	return setup_server(c, sock, true);
}

void tls_live_put(const mbedtls_ssl_config *conf)
{
	if (!conf || !lv.inited)
		return;
	for (int i = 0; i < SLOTS; i++) {
		if (!lv.s[i].used || conf != &lv.s[i].conf)
			continue;
		if (lv.s[i].refs)
			lv.s[i].refs--;
		if (i != lv.cur && lv.s[i].refs == 0)
			slot_free(i); /* the last session on the old credential ended */
	}
}

void tls_live_reset(void)
{
	init_once();
	for (int i = 0; i < SLOTS; i++)
		slot_free(i);
	lv.cur = -1;
}
