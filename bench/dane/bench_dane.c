/* bench_dane — instructions per DANE-EE verification (callgrind), against
 * its floor: the X.509 parse of the leaf plus one SHA-256 of its key (what
 * no `3 1 1` check can do without). Exports main only; run by run.sh:
 *   bench_dane floor|verify LEAF.der ROUNDS
 * Each round is one call of bench_floor() or bench_verify() (noinline, the
 * names callgrind's --toggle-collect counts): parse the DER leaf as the TLS
 * handshake does, then either hash its SubjectPublicKeyInfo, or take a
 * `3 1 1` record through the relay's path (dane_tlsa_parse_rdata,
 * dane_tlsa_set_add, dane_select, dane_verify_chain). mbedTLS allocates
 * from a static arena, as on the boards. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dane/dane.h"
#include "mbedtls/md.h"
#include "mbedtls/memory_buffer_alloc.h"
#include "mbedtls/x509_crt.h"

#define LEAF_MAX 8192
static unsigned char arena[64 * 1024];
static unsigned char leaf[LEAF_MAX];
static size_t leaf_len;
static uint8_t rdata[3 + 32]; /* the `3 1 1` record of the leaf */
static volatile int sink;

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_dane: %s: -0x%04x\n", what, (unsigned)-err);
	exit(1);
}

__attribute__((noinline)) static void bench_floor(void)
{
	mbedtls_x509_crt crt;
	unsigned char hash[32];
	mbedtls_x509_crt_init(&crt);
	int err = mbedtls_x509_crt_parse_der(&crt, leaf, leaf_len);
	if (err != 0)
		die("parse", err);
	err = mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), crt.pk_raw.p, crt.pk_raw.len, hash);
	if (err != 0)
		die("sha256", err);
	sink += hash[0];
	mbedtls_x509_crt_free(&crt);
}

__attribute__((noinline)) static void bench_verify(void)
{
	mbedtls_x509_crt crt;
	struct dane_tlsa rr;
	struct dane_tlsa_set set, usable;
	struct dane_refids names = { .name = { "mx.bench.test" }, .count = 1 };
	struct dane_result res;
	mbedtls_x509_crt_init(&crt);
	int err = mbedtls_x509_crt_parse_der(&crt, leaf, leaf_len);
	if (err != 0)
		die("parse", err);
	if (dane_tlsa_parse_rdata(rdata, sizeof(rdata), &rr) != 0)
		die("tlsa", DANE_ERR_MALFORMED);
	dane_tlsa_set_init(&set);
	if (dane_tlsa_set_add(&set, &rr, NULL) != 1 || dane_select(&set, NULL, &usable) != DANE_USABLE)
		die("select", DANE_ERR_INVAL);
	err = dane_verify_chain(&usable, &crt, &names, 1700000000, &res);
	if (err != DANE_OK)
		die("verify", err);
	sink += res.depth;
	mbedtls_x509_crt_free(&crt);
}

int main(int argc, char **argv)
{
	if (argc != 4 || (strcmp(argv[1], "floor") != 0 && strcmp(argv[1], "verify") != 0)) {
		fprintf(stderr, "usage: bench_dane floor|verify LEAF.der ROUNDS\n");
		return 2;
	}
	FILE *f = fopen(argv[2], "rb");
	if (!f) {
		perror(argv[2]);
		return 2;
	}
	leaf_len = fread(leaf, 1, sizeof(leaf), f);
	fclose(f);
	int rounds = atoi(argv[3]);
	if (leaf_len == 0 || leaf_len == sizeof(leaf) || rounds < 1 || rounds > 100000) {
		fprintf(stderr, "bench_dane: bad leaf or rounds\n");
		return 2;
	}
	mbedtls_memory_buffer_alloc_init(arena, sizeof(arena));
	/* the record: 3 1 1 SHA-256(SPKI), computed outside the counted calls */
	mbedtls_x509_crt crt;
	mbedtls_x509_crt_init(&crt);
	int err = mbedtls_x509_crt_parse_der(&crt, leaf, leaf_len);
	if (err != 0)
		die("parse", err);
	rdata[0] = 3, rdata[1] = 1, rdata[2] = 1;
	err = mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), crt.pk_raw.p, crt.pk_raw.len, rdata + 3);
	if (err != 0)
		die("sha256", err);
	mbedtls_x509_crt_free(&crt);
	bool floor = strcmp(argv[1], "floor") == 0;
	for (int i = 0; i < rounds; i++) {
		if (floor)
			bench_floor();
		else
			bench_verify();
	}
	printf("%s %s: %d rounds ok\n", argv[1], argv[2], rounds);
	return 0;
}
