/* size_probe — links every mbedTLS and ldns entry point the firmware uses
 * or is expected to use (TLS 1.2/1.3 client+server handshakes, X.509
 * parse/verify/write, keys, DRBG, arena; DNS wire <-> packet, RR access),
 * so the bare-metal map shows what the libraries cost in the image after
 * --gc-sections. Never run; exports nothing. */
#include <stdint.h>

#include "mbedtls/ctr_drbg.h"
#include "mbedtls/ecp.h"
#include "mbedtls/entropy.h"
#include "mbedtls/memory_buffer_alloc.h"
#include "mbedtls/pem.h"
#include "mbedtls/pk.h"
#include "mbedtls/platform_time.h"
#include "mbedtls/sha256.h"
#include "mbedtls/sha512.h"
#include "mbedtls/ssl.h"
#include "mbedtls/x509_crt.h"
#include "psa/crypto.h"

#include <ldns/ldns.h>

mbedtls_ms_time_t mbedtls_ms_time(void)
{
	return 0;
}

int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen);
int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen)
{
	(void)data;
	(void)output;
	(void)len;
	*olen = 0;
	return MBEDTLS_ERR_ENTROPY_SOURCE_FAILED;
}

typedef void (*fn_t)(void);
#define F(x) ((fn_t)(uintptr_t)&(x))

/* volatile: the compiler may not drop the table, so the linker keeps
 * every function in it and all they call. */
static volatile const fn_t mbedtls_used[] = {
	F(mbedtls_memory_buffer_alloc_init), F(mbedtls_memory_buffer_alloc_max_get),
	F(mbedtls_memory_buffer_alloc_cur_get), F(psa_crypto_init),
	F(mbedtls_entropy_init), F(mbedtls_entropy_func), F(mbedtls_ctr_drbg_init),
	F(mbedtls_ctr_drbg_seed), F(mbedtls_ctr_drbg_random),
	F(mbedtls_ssl_init), F(mbedtls_ssl_setup), F(mbedtls_ssl_free),
	F(mbedtls_ssl_config_init), F(mbedtls_ssl_config_defaults), F(mbedtls_ssl_config_free),
	F(mbedtls_ssl_conf_rng), F(mbedtls_ssl_conf_own_cert), F(mbedtls_ssl_conf_ca_chain),
	F(mbedtls_ssl_conf_ca_cb), F(mbedtls_ssl_conf_verify), F(mbedtls_ssl_conf_authmode),
	F(mbedtls_ssl_conf_min_tls_version), F(mbedtls_ssl_conf_ciphersuites),
	F(mbedtls_ssl_set_hostname), F(mbedtls_ssl_set_bio), F(mbedtls_ssl_handshake),
	F(mbedtls_ssl_read), F(mbedtls_ssl_write), F(mbedtls_ssl_close_notify),
	F(mbedtls_ssl_get_bytes_avail), F(mbedtls_ssl_get_version),
	F(mbedtls_ssl_get_ciphersuite), F(mbedtls_ssl_get_peer_cert),
	F(mbedtls_ssl_get_verify_result),
	F(mbedtls_x509_crt_init), F(mbedtls_x509_crt_parse), F(mbedtls_x509_crt_parse_der),
	F(mbedtls_x509_crt_verify_with_profile), F(mbedtls_x509_crt_free),
	F(mbedtls_x509write_crt_init), F(mbedtls_x509write_crt_der), F(mbedtls_x509write_crt_pem),
	F(mbedtls_x509write_crt_set_subject_name), F(mbedtls_x509write_crt_set_issuer_name),
	F(mbedtls_x509write_crt_set_validity), F(mbedtls_x509write_crt_set_serial_raw),
	F(mbedtls_x509write_crt_set_subject_alternative_name),
	F(mbedtls_x509write_crt_set_basic_constraints), F(mbedtls_x509write_crt_set_key_usage),
	F(mbedtls_pk_init), F(mbedtls_pk_setup), F(mbedtls_pk_parse_key),
	F(mbedtls_pk_write_key_der), F(mbedtls_pk_write_pubkey_der), F(mbedtls_ecp_gen_key),
	F(mbedtls_sha256), F(mbedtls_sha512), F(mbedtls_platform_gmtime_r),
};

static volatile const fn_t ldns_used[] = {
	F(ldns_wire2pkt), F(ldns_pkt2wire), F(ldns_pkt_query_new), F(ldns_pkt_free),
	F(ldns_pkt_set_id), F(ldns_pkt_set_edns_udp_size), F(ldns_pkt_set_edns_do),
	F(ldns_pkt_answer), F(ldns_pkt_get_rcode), F(ldns_pkt_ad), F(ldns_pkt_tc),
	F(ldns_rr_list_rr_count), F(ldns_rr_list_rr), F(ldns_rr_get_type), F(ldns_rr_rdf),
	F(ldns_rr_rd_count), F(ldns_rdf_data), F(ldns_rdf_size), F(ldns_dname_new_frm_data),
	F(ldns_dname_compare), F(ldns_rr_owner), F(ldns_pkt_edns),
};

int main(void)
{
	uintptr_t sum = 0;
	for (unsigned i = 0; i < sizeof(mbedtls_used) / sizeof(mbedtls_used[0]); i++)
		sum += (uintptr_t)mbedtls_used[i];
	for (unsigned i = 0; i < sizeof(ldns_used) / sizeof(ldns_used[0]); i++)
		sum += (uintptr_t)ldns_used[i];
	return (int)(sum & 1);
}
