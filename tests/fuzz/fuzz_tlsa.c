/* fuzz_tlsa — libFuzzer target for TLSA data from DNS and DANE matching:
 * dane_tlsa_parse_rdata, dane_tlsa_set_add, dane_select (digest agility)
 * and dane_verify_chain with both the RRset and the server's chain taken
 * from the input (fuzz_dane.c keeps the RRset fixed and varies the chain).
 * Input: [n][order][textsize] then n % 32 records as [u16 len][rdata],
 * then the chain as [count-1][u16 len][DER]... (up to 4 certificates).
 * order bit 7 set: a digest order from bits 0-3, else the default.
 * Checks, besides the sanitizers: parse accepts exactly 4..3+DATA_MAX
 * bytes and points into the input; the set's counters add up and stay in
 * bounds; what dane_select keeps is usable under the order and its
 * outcome fits the counts; a verdict is one of the documented ones with
 * its record index inside the usable set; dane_result_text stays within
 * its buffer. Exports nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dane/dane.h"

#include "fuzz_check.h"


static size_t take_u16(const uint8_t **d, size_t *n)
{
	if (*n < 2) {
		*n = 0;
		return 0;
	}
	size_t len = (size_t)(*d)[0] << 8 | (*d)[1];
	*d += 2;
	*n -= 2;
	return len > *n ? *n : len;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	if (n < 3)
		return 0;
	unsigned nrr = d[0] % 32;
	uint8_t ob = d[1];
	size_t textsize = d[2];
	d += 3;
	n -= 3;
	struct dane_digest_order order = { 0 };
	const struct dane_digest_order *op = NULL;
	if (ob & 0x80) {
		order.count = (uint8_t)((ob & 3) % (DANE_DIGEST_MAX + 1));
		order.mtype[0] = (ob >> 2) & 3;
		order.mtype[1] = (ob >> 4) & 3;
		op = &order;
	}
	/* the records: each rdata copied to its own exact-size block */
	uint8_t *blocks[32] = { 0 };
	struct dane_tlsa_set set;
	dane_tlsa_set_init(&set);
	check(set.count == 0 && set.seen == 0 && set.overflow == 0);
	unsigned added = 0, kept = 0;
	for (unsigned i = 0; i < nrr && n > 0; i++) {
		size_t len = take_u16(&d, &n);
		blocks[i] = malloc(len ? len : 1);
		check(blocks[i] != NULL);
		memcpy(blocks[i], d, len);
		d += len;
		n -= len;
		struct dane_tlsa rr;
		int r = dane_tlsa_parse_rdata(blocks[i], len, &rr);
		if (len < 4 || len - 3 > DANE_TLSA_DATA_MAX) {
			check(r == DANE_ERR_MALFORMED);
			continue;
		}
		check(r == DANE_OK);
		check(rr.usage == blocks[i][0] && rr.selector == blocks[i][1] &&
		      rr.mtype == blocks[i][2]);
		check(rr.data == blocks[i] + 3 && rr.len == len - 3);
		bool usable = dane_tlsa_usable(&rr, op);
		r = dane_tlsa_set_add(&set, &rr, op);
		added++;
		check(r == 0 || r == 1);
		check(r == 0 || usable);
		kept += (unsigned)r;
		check(set.seen == added && set.count == kept && set.count <= DANE_TLSA_MAX);
	}
	struct dane_tlsa_set usable;
	enum dane_outcome o = dane_select(&set, op, &usable);
	check(usable.count <= set.count);
	for (unsigned i = 0; i < usable.count; i++)
		check(dane_tlsa_usable(&usable.rr[i], op));
	if (set.seen == 0)
		check(o == DANE_NONE);
	else if (usable.count == 0)
		check(o == DANE_UNUSABLE);
	else
		check(o == DANE_USABLE);
	check(dane_outcome_demand(o) != NULL && dane_outcome_name(o) != NULL);

	/* the chain */
	mbedtls_x509_crt chain;
	mbedtls_x509_crt_init(&chain);
	if (n > 0) {
		int ncerts = d[0] % 4 + 1;
		d++;
		n--;
		for (int i = 0; i < ncerts && n >= 2; i++) {
			size_t len = take_u16(&d, &n);
			(void)mbedtls_x509_crt_parse_der(&chain, d, len);
			d += len;
			n -= len;
		}
	}
	static const struct dane_refids names = { .name = { "mx.example.net", "example.com" },
						  .count = 2 };
	struct dane_result res;
	int st = dane_verify_chain(&usable, &chain, &names, 1795867200LL, &res);
	check(st == res.status);
	check(st == DANE_OK || (st <= DANE_ERR_NOCERT && st >= DANE_ERR_NAME) ||
	      st == DANE_ERR_NOMEM);
	check(res.record >= -1 && res.record < (int)usable.count);
	check(res.chain_len >= 0 && res.chain_len <= DANE_CHAIN_MAX);
	check(res.name >= -1 && res.name < names.count);
	if (st == DANE_OK)
		check(res.record >= 0);
	char *text = malloc(textsize ? textsize : 1);
	check(text != NULL);
	const char *t = dane_result_text(&res, &names, text, textsize);
	check(t == text);
	if (textsize)
		check(memchr(text, '\0', textsize) != NULL);
	free(text);
	mbedtls_x509_crt_free(&chain);
	for (unsigned i = 0; i < 32; i++)
		free(blocks[i]);
	return 0;
}
