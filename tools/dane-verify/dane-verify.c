/* dane-verify — host tool: checks a server's PEM chain (leaf first, as the
 * server sends it) against TLSA records and reference names with the
 * firmware's own DANE code (firmware/dane), and prints which record matched
 * at which depth or why none did. Exit status 0 only on a match; 1 when
 * nothing matched or the records are not usable; 2 on bad usage or input.
 *
 *   dane-verify [-n name]... [-t unix-time] [-d 2,1] [-i] [-f tlsa-file]
 *               chain.pem ['U S M HEX']...
 *
 * A record is "usage selector mtype hex" (hex may contain spaces), or a
 * zone-file line with "TLSA" before those fields, as dig prints it. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dane/dane.h"
#include "mbedtls/x509_crt.h"

/* Bounds: records come in as text; each is decoded into its own slot. */
#define TOOL_RR_MAX 64
#define TOOL_LINE_MAX (2 * DANE_TLSA_DATA_MAX + 512)

struct tool_rr {
	struct dane_tlsa rr;
	uint8_t data[DANE_TLSA_DATA_MAX];
	char text[64]; /* "3 1 1 abcdef..." for the listing */
};

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* Parse "U S M HEX..." (after an optional "... TLSA"). 0 or -1. */
static int parse_record(const char *line, struct tool_rr *out)
{
	const char *p = line;
	/* Zone-file form: everything up to the TLSA type is the owner, TTL and
	 * class. */
	for (const char *q = line; (q = strstr(q, "TLSA")) != NULL; q += 4) {
		bool start = q == line || isspace((unsigned char)q[-1]);
		if (start && (q[4] == '\0' || isspace((unsigned char)q[4])))
			p = q + 4;
	}
	unsigned long v[3];
	char *end;
	for (int i = 0; i < 3; i++) {
		errno = 0;
		v[i] = strtoul(p, &end, 10);
		if (end == p || errno || v[i] > 255)
			return -1;
		p = end;
	}
	size_t n = 0;
	int hi = -1;
	for (; *p; p++) {
		if (isspace((unsigned char)*p) || *p == '(' || *p == ')')
			continue;
		int h = hexval((unsigned char)*p);
		if (h < 0)
			return -1;
		if (hi < 0) {
			hi = h;
			continue;
		}
		if (n >= sizeof(out->data))
			return -1;
		out->data[n++] = (uint8_t)(hi << 4 | h);
		hi = -1;
	}
	if (hi >= 0 || n == 0)
		return -1;
	out->rr.usage = (uint8_t)v[0];
	out->rr.selector = (uint8_t)v[1];
	out->rr.mtype = (uint8_t)v[2];
	out->rr.len = (uint16_t)n;
	out->rr.data = out->data;
	int w = snprintf(out->text, sizeof(out->text), "%lu %lu %lu ", v[0], v[1], v[2]);
	for (size_t i = 0; i < n && w > 0 && (size_t)w + 3 < sizeof(out->text); i++)
		w += snprintf(out->text + w, sizeof(out->text) - (size_t)w, "%02x", out->data[i]);
	if (w > 0 && (size_t)w + 3 >= sizeof(out->text))
		strcpy(out->text + sizeof(out->text) - 4, "...");
	return 0;
}

static int parse_order(const char *arg, struct dane_digest_order *order)
{
	order->count = 0;
	for (const char *p = arg; *p;) {
		char *end;
		unsigned long m = strtoul(p, &end, 10);
		if (end == p || (m != 1 && m != 2) || order->count >= DANE_DIGEST_MAX)
			return -1;
		order->mtype[order->count++] = (uint8_t)m;
		p = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -1;
	}
	return order->count ? 0 : -1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: dane-verify [-n refname]... [-t unix-time] [-d 2,1] [-i] [-f tlsa-file]\n"
		"                   chain.pem ['usage selector mtype hex']...\n"
		"  -n  reference identifier for DANE-TA (TLSA base domain, next-hop domain)\n"
		"  -t  check dates at this time (default: now)\n"
		"  -d  digest order, strongest first (default 2,1 = SHA-512 > SHA-256)\n"
		"  -i  the MX lookup was insecure (a match is then 'Trusted')\n"
		"  -f  read records from a file, one per line ('#' comments)\n"
		"exit: 0 matched, 1 not matched or no usable record, 2 bad usage/input\n");
}

static struct tool_rr recs[TOOL_RR_MAX];

int main(int argc, char **argv)
{
	struct dane_refids names = { .count = 0 };
	struct dane_digest_order order = dane_digest_default;
	int64_t now = (int64_t)time(NULL);
	bool mx_secure = true;
	const char *tlsa_file = NULL;
	size_t nrec = 0;
	int opt;
	while ((opt = getopt(argc, argv, "n:t:d:if:h")) != -1) {
		switch (opt) {
		case 'n':
			if (names.count >= DANE_REFID_MAX || strlen(optarg) > DANE_NAME_MAX + 1) {
				fprintf(stderr, "dane-verify: at most %d names of %d bytes\n",
					DANE_REFID_MAX, DANE_NAME_MAX);
				return 2;
			}
			names.name[names.count++] = optarg;
			break;
		case 't': {
			char *end;
			errno = 0;
			long long t = strtoll(optarg, &end, 10);
			if (*end || end == optarg || errno) {
				fprintf(stderr, "dane-verify: bad time '%s'\n", optarg);
				return 2;
			}
			now = t;
			break;
		}
		case 'd':
			if (parse_order(optarg, &order)) {
				fprintf(stderr, "dane-verify: bad digest order '%s'\n", optarg);
				return 2;
			}
			break;
		case 'i':
			mx_secure = false;
			break;
		case 'f':
			tlsa_file = optarg;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (optind >= argc) {
		usage();
		return 2;
	}
	const char *pem_path = argv[optind++];

	for (; optind < argc; optind++) {
		if (nrec >= TOOL_RR_MAX || parse_record(argv[optind], &recs[nrec])) {
			fprintf(stderr, "dane-verify: bad TLSA record '%s'\n", argv[optind]);
			return 2;
		}
		nrec++;
	}
	if (tlsa_file) {
		FILE *f = fopen(tlsa_file, "r");
		if (!f) {
			fprintf(stderr, "dane-verify: %s: %s\n", tlsa_file, strerror(errno));
			return 2;
		}
		static char line[TOOL_LINE_MAX];
		int lineno = 0;
		while (fgets(line, sizeof(line), f)) {
			lineno++;
			char *s = line;
			while (isspace((unsigned char)*s))
				s++;
			if (*s == '\0' || *s == '#' || *s == ';')
				continue;
			if (nrec >= TOOL_RR_MAX || parse_record(s, &recs[nrec])) {
				fprintf(stderr, "dane-verify: %s:%d: bad TLSA record\n", tlsa_file,
					lineno);
				fclose(f);
				return 2;
			}
			nrec++;
		}
		fclose(f);
	}

	mbedtls_x509_crt chain;
	mbedtls_x509_crt_init(&chain);
	int err = mbedtls_x509_crt_parse_file(&chain, pem_path);
	if (err != 0) {
		/* A positive value counts certificates that failed to parse. */
		fprintf(stderr, "dane-verify: %s: %s (%d)\n", pem_path,
			err > 0 ? "some certificates did not parse" : "cannot read a certificate chain",
			err);
		mbedtls_x509_crt_free(&chain);
		return 2;
	}
	int depth = 0;
	for (const mbedtls_x509_crt *c = &chain; c && c->raw.p; c = c->next, depth++) {
		char subj[256];
		if (mbedtls_x509_dn_gets(subj, sizeof(subj), &c->subject) < 0)
			strcpy(subj, "?");
		printf("depth %d: %s (valid %04d-%02d-%02d .. %04d-%02d-%02d)\n", depth, subj,
		       c->valid_from.year, c->valid_from.mon, c->valid_from.day, c->valid_to.year,
		       c->valid_to.mon, c->valid_to.day);
	}

	struct dane_tlsa_set set, usable;
	dane_tlsa_set_init(&set);
	for (size_t i = 0; i < nrec; i++)
		if (dane_tlsa_set_add(&set, &recs[i].rr, &order) < 0)
			return 2;
	enum dane_outcome outcome = dane_select(&set, &order, &usable);
	for (size_t i = 0; i < nrec; i++) {
		const char *state = "unusable";
		if (dane_tlsa_usable(&recs[i].rr, &order)) {
			state = "dropped by digest agility";
			for (unsigned k = 0; k < usable.count; k++)
				if (usable.rr[k].data == recs[i].rr.data)
					state = "usable";
		}
		printf("TLSA %s: %s\n", recs[i].text, state);
	}
	printf("outcome: %s\n", dane_outcome_name(outcome));
	if (outcome != DANE_USABLE) {
		printf("result: no authentication possible (%s)\n",
		       outcome == DANE_UNUSABLE ? "Untrusted TLS at best" : "pre-DANE opportunistic");
		mbedtls_x509_crt_free(&chain);
		return 1;
	}

	struct dane_result res;
	err = dane_verify_chain(&usable, &chain, &names, now, &res);
	char line[320];
	dane_result_text(&res, &names, line, sizeof(line));
	printf("result: %s\n", line);
	if (err == DANE_OK)
		printf("class: %s\n",
		       dane_class_name(dane_classify(true, true, DANE_AUTH_DANE, mx_secure)));
	mbedtls_x509_crt_free(&chain);
	return err == DANE_OK ? 0 : 1;
}
