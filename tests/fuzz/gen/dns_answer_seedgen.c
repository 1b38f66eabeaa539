/* dns_answer_seedgen OUTDIR — fuzz_dns_answer seeds: real-shaped answers
 * built with the DNS unit tests' wire writer (tests/unit/test_dns_wire.h)
 * and cut into fuzz_dns_answer's input format; also fuzz_dns_resolver's
 * event scripts (UDP, TC -> TCP, timeouts) into OUTDIR/../dns_resolver.
 * Exports main(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_dns_wire.h"

static struct wb w;
static const char *outdir;

static void save(const char *name, unsigned sel, const char *qname)
{
	size_t n = wb_done(&w);
	uint8_t wire[DNS_NAME_WIRE_MAX];
	int ql = dns_name_to_wire(qname, wire, sizeof(wire));
	size_t hl = 12 + (size_t)ql + 4;
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	FILE *f = fopen(path, "wb");
	if (!f) {
		perror(path);
		exit(1);
	}
	fputc((int)sel, f);
	fwrite(w.b + 2, 1, 2, f);  /* flags */
	fwrite(w.b + 6, 1, 6, f);  /* AN NS AR */
	fwrite(w.b + hl, 1, n - hl, f);
	fclose(f);
}

static uint8_t ev[8192];
static size_t evn;

static void ev_put(const void *p, size_t n)
{
	memcpy(ev + evn, p, n);
	evn += n;
}

/* event 1 (UDP, patched) or 3 (TCP, framed and patched) carrying w */
static void ev_msg(uint8_t e, uint8_t sock)
{
	size_t n = wb_done(&w);
	uint8_t h[4] = { e, sock, (uint8_t)(n >> 8), (uint8_t)n };
	ev_put(h, 4);
	ev_put(w.b, n);
}

static void ev_save(const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/../dns_resolver/%s", outdir, name);
	FILE *f = fopen(path, "wb");
	if (!f) {
		perror(path);
		exit(1);
	}
	fwrite(ev, 1, evn, f);
	fclose(f);
	evn = 0;
}

static void resolver_seeds(void)
{
	static const uint8_t h32[32] = { 7 };
	uint16_t ok = WB_QR | WB_RD | WB_RA | WB_AD;
	/* MX over UDP, then the same name from the cache */
	ev_put("\x00", 1);
	wb_start(&w, 0, ok, 0, "example.com", DNS_T_MX);
	wb_mx(&w, "example.com", 300, 10, "mx.example.net");
	ev_msg(0x09, 0);
	ev_put("\x00\x06", 2);
	ev_save("udp-mx-then-cache");
	/* TLSA: truncated over UDP, then TCP in pieces */
	ev_put("\x28", 1); /* names[1] types[1] */
	wb_start(&w, 0, ok | WB_TC, 0, "_25._tcp.mx.example.net", DNS_T_TLSA);
	ev_msg(0x09, 0);
	ev_put("\x02\x00\x84\x00", 4); /* connect; WRITABLE, 1 byte a send */
	wb_start(&w, 0, ok, 0, "_25._tcp.mx.example.net", DNS_T_TLSA);
	wb_tlsa(&w, "_25._tcp.mx.example.net", 300, 3, 1, 1, h32, 32);
	ev_msg(0x0B, 0);
	ev_save("tc-then-tcp");
	/* A: spoofed answer ignored, SERVFAIL, timeout, failover */
	ev_put("\x50", 1); /* names[2] types[2] */
	wb_start(&w, 0, ok, 0, "mx.example.net", DNS_T_A);
	wb_a(&w, "mx.example.net", 60, 192, 0, 2, 1);
	ev_msg(0x19, 0);
	wb_start(&w, 0, WB_QR | WB_RD | WB_RA, 2, "mx.example.net", DNS_T_A);
	ev_msg(0x09, 0);
	ev_put("\xfe\xfe", 2);
	ev_save("spoof-servfail-timeout");
	/* AAAA with a CNAME into another response, and a cancel */
	ev_put("\x78\x00\x07", 3);
	wb_start(&w, 0, ok, 0, "www.example.org", DNS_T_AAAA);
	wb_cname(&w, "www.example.org", 60, "host.example.org");
	ev_msg(0x09, 0);
	ev_put("\x06", 1);
	ev_save("cname-partial-cancel");
	/* 9 lookups at once (one too many), resets and EOF on TCP */
	ev_put("\x00\x08\x10\x18\x20\x28\x30\x38\x40", 9);
	wb_start(&w, 0, ok | WB_TC, 0, "example.com", DNS_T_MX);
	ev_msg(0x09, 0);
	ev_put("\x02\x00\x05\x00\x0d\x00\x46", 7);
	ev_save("busy-reset-eof");
}

int main(int argc, char **argv)
{
	static const uint8_t h32[32] = { 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
					 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28 };
	if (argc != 2)
		return 2;
	outdir = argv[1];
	const char *mxq = "www.example.net", *tq = "_25._tcp.mx.example.net", *aq = "mx.example.net";
	uint16_t ok = WB_QR | WB_RD | WB_RA;

	wb_start(&w, 1, ok | WB_AD, 0, mxq, DNS_T_MX);
	wb_mx(&w, mxq, 300, 10, "mx.example.net");
	wb_mx(&w, mxq, 300, 20, "mx2.example.net");
	wb_rrsig(&w, mxq, 300, DNS_T_MX);
	wb_section(&w, 3);
	wb_opt(&w, true);
	save("mx-secure", 0, mxq);

	wb_start(&w, 1, ok, 0, mxq, DNS_T_MX);
	wb_cname(&w, mxq, 60, "mail.example.org");
	wb_cname(&w, "mail.example.org", 60, "mail2.example.org");
	wb_mx(&w, "mail2.example.org", 300, 0, ".");
	save("mx-cname-chain-nullmx", 0, mxq);

	wb_start(&w, 1, ok, 0, mxq, DNS_T_MX);
	wb_cname(&w, mxq, 60, "loop.example.net");
	wb_cname(&w, "loop.example.net", 60, mxq);
	save("mx-cname-loop", 0, mxq);

	wb_start(&w, 1, ok | WB_AD, 3, mxq, DNS_T_MX);
	wb_section(&w, 2);
	wb_soa(&w, "example.net", 3600, 300);
	wb_rrsig(&w, "example.net", 3600, DNS_T_SOA);
	save("mx-nxdomain-secure", 0, mxq);

	wb_start(&w, 1, ok, 0, mxq, DNS_T_MX);
	wb_section(&w, 2);
	wb_soa(&w, "example.net", 3600, 300);
	save("mx-nodata", 0, mxq);

	wb_start(&w, 1, ok, 2, mxq, DNS_T_MX);
	save("mx-servfail", 0, mxq);

	wb_start(&w, 1, ok | WB_AD, 0, tq, DNS_T_TLSA);
	wb_tlsa(&w, tq, 300, 3, 1, 1, h32, 32);
	wb_tlsa(&w, tq, 300, 2, 0, 1, h32, 32);
	wb_tlsa(&w, tq, 300, 3, 1, 2, h32, 16); /* wrong length for SHA-512 */
	wb_rrsig(&w, tq, 300, DNS_T_TLSA);
	save("tlsa-secure", 1, tq);

	wb_start(&w, 1, ok | WB_AD, 0, tq, DNS_T_TLSA);
	wb_cname(&w, tq, 60, "_25._tcp.dane.example.org");
	wb_tlsa(&w, "_25._tcp.dane.example.org", 300, 3, 1, 1, h32, 32);
	save("tlsa-cname", 1, tq);

	wb_start(&w, 1, ok, 0, aq, DNS_T_A);
	wb_a(&w, aq, 300, 192, 0, 2, 25);
	wb_a(&w, aq, 300, 192, 0, 2, 26);
	wb_mx(&w, aq, 300, 10, "stray.example.net"); /* other type in the answer */
	save("a-two", 2, aq);

	wb_start(&w, 1, ok | WB_AD, 0, aq, DNS_T_AAAA);
	{
		uint8_t ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 25 };
		wb_rr(&w, aq, DNS_T_AAAA, 300, ip6, 16);
		wb_rr(&w, aq, DNS_T_AAAA, 300, ip6, 15); /* short rdata */
	}
	save("aaaa-short", 3, aq);
	resolver_seeds();
	return 0;
}
