/* fuzz_dns_answer — libFuzzer target for dns_parse_answer() (ldns's wire
 * decoder plus our classification, CNAME and record logic). Grown from
 * tests/unit/data/dns/fuzz_dns_answer.c (which its owner may now delete).
 * Input: [q][flags 2][AN NS AR counts 6][sections...]. q & 3 picks the
 * question (www.example.net MX, _25._tcp.mx.example.net TLSA,
 * mx.example.net A, mx.example.net AAAA); the header ID, QR, opcode and
 * the question are forced to match so the fuzzer spends its time in the
 * sections. With q & 0x80 the rest of the input is fed as the whole
 * datagram instead (mismatch detection). Checks, besides the sanitizers:
 * an error return leaves DNS_FAIL; n_rr, data_len within their bounds;
 * names NUL-terminated; every offset (MX, CNAME names, TLSA and raw data)
 * inside data; the answer's type is the query's. Exports nothing. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"

#include "fuzz_check.h"

static const struct {
	const char *name;
	uint16_t type;
} questions[4] = {
	{ "www.example.net", DNS_T_MX },
	{ "_25._tcp.mx.example.net", DNS_T_TLSA },
	{ "mx.example.net", DNS_T_A },
	{ "mx.example.net", DNS_T_AAAA },
};


static bool text_in(const struct dns_answer *a, uint16_t off)
{
	return off < a->data_len && memchr(a->data + off, '\0', a->data_len - off) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dns_query q[4];
	static struct dns_answer a;
	static uint8_t buf[65536];
	static bool built;
	if (!built) {
		for (unsigned i = 0; i < 4; i++)
			check(dns_query_build(&q[i], questions[i].name, questions[i].type,
					      (uint16_t)(0x1234 + i)) == 0);
		built = true;
	}
	if (size < 1)
		return 0;
	const struct dns_query *qq = &q[data[0] & 3];
	const uint8_t *wire;
	size_t len;
	if (data[0] & 0x80) {
		wire = data + 1;
		len = size - 1;
	} else {
		/* header (12) + question (name + type + class) */
		const size_t hl = 12 + qq->qname_len + 4;
		if (size < 9 || size - 9 > sizeof(buf) - hl)
			return 0;
		memcpy(buf, qq->wire, hl);
		buf[2] = (uint8_t)((data[1] & 0x87) | 0x80); /* QR on, opcode QUERY */
		buf[3] = data[2];
		buf[4] = 0;
		buf[5] = 1; /* QDCOUNT 1 */
		memcpy(buf + 6, data + 3, 6); /* AN, NS, AR counts */
		memcpy(buf + hl, data + 9, size - 9);
		wire = buf;
		len = hl + size - 9;
	}
	memset(&a, 0xA5, sizeof(a)); /* stale bytes must not matter */
	int r = dns_parse_answer(qq, wire, len, &a);
	if (r == DNS_EMISMATCH || r == DNS_ETRUNCATED)
		return 0; /* the caller ignores or retries; nothing to check */
	if (r != 0)
		check(a.status == DNS_FAIL);
	check(a.status <= DNS_FAIL);
	check(a.n_rr <= DNS_RR_MAX && a.data_len <= DNS_DATA_MAX);
	check(memchr(a.final_name, '\0', sizeof(a.final_name)) != NULL);
	check(memchr(a.qname, '\0', sizeof(a.qname)) != NULL);
	check(a.reason != NULL);
	check(a.cname_count <= DNS_CNAME_MAX + 1);
	for (unsigned i = 0; i < a.n_rr; i++) {
		const struct dns_rr *rr = &a.rr[i];
		check(rr->type == qq->qtype || rr->type == DNS_T_CNAME);
		switch (rr->type) {
		case DNS_T_MX:
			check(text_in(&a, rr->u.mx.name));
			break;
		case DNS_T_CNAME:
			check(text_in(&a, rr->u.cname.name));
			break;
		case DNS_T_TLSA:
			check((size_t)rr->u.tlsa.off + rr->u.tlsa.len <= a.data_len);
			break;
		default:
			break;
		}
	}
	return 0;
}
