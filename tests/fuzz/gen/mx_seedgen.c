/* mx_seedgen OUTDIR — fuzz_mx seeds: real plans (firmware/relay/mx.c)
 * answered by a scripted resolver built with the DNS unit tests' wire
 * writer; the answers and connect results are recorded in fuzz_mx's
 * input format. Exports main(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay/mx.h"
#include "test_dns_wire.h"

static uint8_t out[16384];
static size_t out_n;
static struct wb w;

struct scen {
	const char *name;
	uint8_t level, hop, cfg;
	bool secure, tlsa, cname, nxdomain;
	const uint8_t *results; /* connect results in order, then OK */
	size_t nresults;
};

static void put(const void *p, size_t n)
{
	if (out_n + n <= sizeof(out)) {
		memcpy(out + out_n, p, n);
		out_n += n;
	}
}

static void record(const char *qname)
{
	size_t n = wb_done(&w);
	uint8_t wire[DNS_NAME_WIRE_MAX];
	int ql = dns_name_to_wire(qname, wire, sizeof(wire));
	size_t hl = 12 + (size_t)ql + 4;
	size_t len = 8 + n - hl;
	uint8_t l[2] = { (uint8_t)(len >> 8), (uint8_t)len };
	put(l, 2);
	put(w.b + 2, 2);
	put(w.b + 6, 6);
	put(w.b + hl, n - hl);
}

static void respond(const struct scen *s, const char *name, uint16_t type)
{
	static const uint8_t h32[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
					 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };
	uint16_t fl = WB_QR | WB_RD | WB_RA | (s->secure ? WB_AD : 0);
	if (s->nxdomain && type == DNS_T_MX) {
		wb_start(&w, 0x4242, fl, 3, name, type);
		wb_section(&w, 2);
		wb_soa(&w, "example.com", 3600, 300);
		record(name);
		return;
	}
	wb_start(&w, 0x4242, fl, 0, name, type);
	const char *owner = name;
	if (s->cname && type == DNS_T_MX) {
		wb_cname(&w, name, 300, "mail.example.org");
		owner = "mail.example.org";
	}
	switch (type) {
	case DNS_T_MX:
		wb_mx(&w, owner, 300, 10, "mx1.example.net");
		wb_mx(&w, owner, 300, 10, "mx2.example.net");
		wb_mx(&w, owner, 300, 20, "backup.example.org");
		break;
	case DNS_T_A:
		wb_a(&w, owner, 300, 192, 0, 2, 25);
		wb_a(&w, owner, 300, 192, 0, 2, 26);
		break;
	case DNS_T_AAAA: {
		uint8_t ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 25 };
		wb_rr(&w, owner, DNS_T_AAAA, 300, ip6, 16);
		break;
	}
	case DNS_T_TLSA:
		if (s->tlsa) {
			wb_tlsa(&w, owner, 300, 3, 1, 1, h32, 32);
			wb_tlsa(&w, owner, 300, 2, 0, 1, h32, 32);
		} else {
			wb_tlsa(&w, owner, 300, 1, 1, 1, h32, 32); /* PKIX-EE: unusable */
		}
		break;
	}
	record(name);
}

static void run(const char *dir, const struct scen *s)
{
	static struct mx_plan p;
	static struct dns_query q;
	static struct dns_answer ans[2];
	struct policy_nexthop nh;
	static const char *const hops[6] = { "example.com", "[smtp.example.net]",
					     "relay.example.org:587", "[smtp.example.net]:465",
					     "[192.0.2.1]", "[IPv6:2001:db8::1]" };
	out_n = 0;
	uint8_t head[4] = { s->level, s->hop, s->cfg, 7 };
	put(head, 4);
	policy_nexthop_parse(hops[s->hop], &nh);
	struct mx_config cfg;
	mx_config_default(&cfg);
	cfg.max_connects = (s->cfg >> 2) & 15;
	mx_plan_start(&p, &cfg, &nh, (enum policy_level)s->level, 7 * 2654435761u);
	size_t ri = 0;
	for (int i = 0; i < 200; i++) {
		struct mx_step st;
		enum mx_step_kind k = mx_plan_next(&p, &st);
		if (k == MX_STEP_LOOKUP) {
			size_t before = out_n;
			respond(s, st.u.lookup.name, st.u.lookup.type);
			struct dns_answer *a = &ans[st.u.lookup.type == DNS_T_TLSA];
			/* parse what we recorded, as the target will */
			dns_query_build(&q, st.u.lookup.name, st.u.lookup.type, 0x4242);
			size_t n = wb_done(&w);
			if (dns_parse_answer(&q, w.b, n, a) != 0 || a->partial)
				dns_answer_fail(a, st.u.lookup.name, st.u.lookup.type, "gen");
			(void)before;
			mx_plan_feed(&p, a);
		} else if (k == MX_STEP_CONNECT) {
			uint8_t r = ri < s->nresults ? s->results[ri] : MX_RESULT_OK;
			ri++;
			put(&r, 1);
			mx_plan_host_result(&p, (enum mx_result)r, NULL);
		} else {
			break;
		}
	}
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, s->name);
	FILE *f = fopen(path, "wb");
	if (!f) {
		perror(path);
		exit(1);
	}
	fwrite(out, 1, out_n, f);
	fclose(f);
}

int main(int argc, char **argv)
{
	static const uint8_t fail2[] = { MX_RESULT_CONN_FAILED, MX_RESULT_NOT_VERIFIED };
	static const uint8_t hs[] = { MX_RESULT_HANDSHAKE_FAILED, MX_RESULT_NO_STARTTLS,
				      MX_RESULT_SMTP_FAILED, MX_RESULT_CONN_FAILED };
	const struct scen sc[] = {
		{ "dane-secure-tlsa", POLICY_DANE, 0, 0x28, true, true, false, false, NULL, 0 },
		{ "dane-only-secure", POLICY_DANE_ONLY, 0, 0x28, true, true, false, false, fail2, 2 },
		{ "dane-insecure", POLICY_DANE, 0, 0x28, false, false, false, false, hs, 4 },
		{ "dane-unusable", POLICY_DANE, 0, 0x28, true, false, false, false, hs, 4 },
		{ "dane-cname", POLICY_DANE, 0, 0x29, true, true, true, false, NULL, 0 },
		{ "may-nxdomain", POLICY_MAY, 0, 0x28, true, false, false, true, NULL, 0 },
		{ "encrypt-smarthost", POLICY_ENCRYPT, 1, 0x2A, false, false, false, false, hs, 4 },
		{ "verify-submission", POLICY_VERIFY, 2, 0x28, true, true, false, false, NULL, 0 },
		{ "dane-465", POLICY_DANE, 3, 0x28, true, true, false, false, fail2, 2 },
		{ "none-literal", POLICY_NONE, 4, 0x28, false, false, false, false, NULL, 0 },
		{ "dane-literal6", POLICY_DANE, 5, 0x28, false, false, false, false, hs, 4 },
	};
	if (argc != 2)
		return 2;
	for (size_t i = 0; i < sizeof(sc) / sizeof(sc[0]); i++)
		run(argv[1], &sc[i]);
	return 0;
}
