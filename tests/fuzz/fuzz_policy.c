/* fuzz_policy — libFuzzer target for the outbound TLS policy parsers
 * (firmware/relay/policy.c): policy_table_parse (the configuration's
 * "key=level, ..." list), policy_nexthop_parse (domains, IP literals,
 * smarthosts), policy_level_parse and the lookups. Input: [sel][text];
 * sel & 7 picks the default level, bit 3 pre-loads two entries; the text
 * up to the first "|" is the table, the rest the next hop / domain
 * (both as exact-size NUL-terminated copies). Checks, besides the
 * sanitizers: a failed table parse leaves the table unchanged and points
 * inside the text; a good one adds exactly what it says, entries are
 * lower case, NUL-terminated and in range, and parsing the same text
 * again is refused (POLICY_EDUP: all or nothing); a failed next-hop
 * parse leaves nh unchanged; a good one is lower case, without a
 * trailing dot, port != 0, IP literal implies no MX; lookups give a
 * level in range; level words round-trip. Exports nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay/policy.h"

#include "fuzz_check.h"

static void lower_name(const char *s, size_t size)
{
	const char *nul = memchr(s, '\0', size);
	check(nul != NULL);
	for (const char *p = s; p < nul; p++)
		check(!(*p >= 'A' && *p <= 'Z'));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy_table t, keep;
	if (size < 1)
		return 0;
	uint8_t sel = data[0];
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	const char *bar = memchr(text, '|', len);
	size_t tl = bar ? (size_t)(bar - text) : len;
	size_t hl = bar ? len - tl - 1 : 0;
	char *ttext = malloc(tl + 1), *htext = malloc(hl + 1);
	check(ttext && htext);
	memcpy(ttext, text, tl);
	ttext[tl] = '\0';
	memcpy(htext, bar ? bar + 1 : "", hl);
	htext[hl] = '\0';

	policy_table_init(&t);
	check(t.count == 0 && t.dflt == POLICY_DEFAULT_LEVEL);
	if ((sel & 7) <= POLICY_VERIFY)
		policy_table_set_default(&t, (enum policy_level)(sel & 7));
	if (sel & 8)
		check(policy_table_parse(&t, "example.com=dane-only .example.org=encrypt", NULL) == 2);
	keep = t;
	size_t err_off = (size_t)-1;
	int r = policy_table_parse(&t, ttext, &err_off);
	if (r < 0) {
		check(r == POLICY_ESYNTAX || r == POLICY_ELEVEL || r == POLICY_ENAME ||
		      r == POLICY_EPORT || r == POLICY_EDUP || r == POLICY_ENOSPC);
		check(memcmp(&t, &keep, sizeof(t)) == 0);
		check(err_off <= tl);
	} else {
		check(t.count == keep.count + r && t.count <= POLICY_ENTRIES_MAX);
		for (unsigned i = 0; i < t.count; i++) {
			lower_name(t.e[i].name, sizeof(t.e[i].name));
			check(t.e[i].name[0] != '.');
			check(t.e[i].match <= POLICY_MATCH_NEXTHOP && t.e[i].level <= POLICY_VERIFY);
		}
		if (r > 0) {
			keep = t;
			check(policy_table_parse(&t, ttext, NULL) == POLICY_EDUP);
			check(memcmp(&t, &keep, sizeof(t)) == 0);
		}
	}

	struct policy_nexthop nh, nkeep;
	memset(&nh, 0x5A, sizeof(nh));
	nkeep = nh;
	r = policy_nexthop_parse(htext, &nh);
	if (r != 0) {
		check(r == POLICY_EINVAL || r == POLICY_ENAME || r == POLICY_EPORT);
		check(memcmp(&nh, &nkeep, sizeof(nh)) == 0);
	} else {
		lower_name(nh.host, sizeof(nh.host));
		size_t n = strlen(nh.host);
		check(n > 0 && nh.host[n - 1] != '.');
		check(nh.port != 0);
		check(!nh.ip_literal || nh.no_mx);
		check(policy_lookup(&t, &nh) <= POLICY_VERIFY);
	}
	check(policy_lookup_domain(&t, htext) <= POLICY_VERIFY);

	enum policy_level lv;
	if (policy_level_parse(text, len, &lv) == 0) {
		const char *name = policy_level_name(lv);
		enum policy_level lv2;
		check(name && policy_level_parse(name, strlen(name), &lv2) == 0 && lv2 == lv);
	}
	free(ttext);
	free(htext);
	return 0;
}
