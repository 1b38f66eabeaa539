#!/bin/bash
# check.sh — dane-verify against the unit-test PKI (tests/unit/data/dane):
# each case states the expected exit status and a phrase of the verdict.
# TLSA data is computed here with openssl, independently of the tool.
set -u
tool=${1:?usage: check.sh path/to/dane-verify}
pki=$(cd "$(dirname "$0")/../../tests/unit/data/dane" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat "$pki/leaf-mx.pem" "$pki/int-a.pem" >"$tmp/chain.pem"
cat "$pki/leaf-expired-other.pem" "$pki/int-a.pem" >"$tmp/expired.pem"
cat "$pki/leaf-other-domain.pem" "$pki/int-a.pem" >"$tmp/other.pem"
cert_sha256() { openssl x509 -in "$1" -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1; }
spki() { openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform DER; }
spki_sha256() { spki "$1" | openssl dgst -sha256 -r | cut -d' ' -f1; }
spki_sha512() { spki "$1" | openssl dgst -sha512 -r | cut -d' ' -f1; }
der_hex() { openssl x509 -in "$1" -outform DER | od -An -v -tx1 | tr -d ' \n'; }

fails=0 n=0
expect() { # status phrase -- args...
	local want=$1 phrase=$2
	shift 3
	n=$((n + 1))
	out=$("$tool" "$@" 2>&1)
	got=$?
	if [ "$got" != "$want" ] || ! grep -qF -- "$phrase" <<<"$out"; then
		echo "FAIL case $n: want exit $want and '$phrase', got exit $got:"
		sed 's/^/    /' <<<"$out"
		fails=$((fails + 1))
	fi
}

# Scenario 1: 3 1 1 matches the leaf.
expect 0 "TLSA 3 1 1 matched the leaf (depth 0)" -- "$tmp/chain.pem" "3 1 1 $(spki_sha256 "$pki/leaf-mx.pem")"
# Scenario 2: expired, names another host: still a DANE-EE match.
expect 0 "class: Verified" -- "$tmp/expired.pem" "3 1 1 $(spki_sha256 "$pki/leaf-expired-other.pem")"
# Scenario 3: digest mismatch.
expect 1 "no usable TLSA record matched the 2 certificates sent" -- "$tmp/chain.pem" "3 1 1 $(spki_sha256 "$pki/leaf-rsa-mx.pem")"
# Scenario 6: all unusable.
expect 1 "none usable" -- "$tmp/chain.pem" "1 1 1 $(spki_sha256 "$pki/leaf-mx.pem")" "0 0 1 $(cert_sha256 "$pki/root-a.pem")"
# Scenario 17: 2 0 1 on the issuing CA, zone-file form.
expect 0 "matched depth 1; chain verified; leaf names mx.example.net" -- -n mx.example.net "$tmp/chain.pem" \
	"_25._tcp.mx.example.net. 3600 IN TLSA 2 0 1 $(cert_sha256 "$pki/int-a.pem")"
# Scenario 18: 2 0 1 on a root that is not sent.
expect 1 "no usable TLSA record matched" -- -n mx.example.net "$tmp/chain.pem" "2 0 1 $(cert_sha256 "$pki/root-a.pem")"
# Scenario 19: 2 0 0 with the root from DNS; via an insecure MX: Trusted.
expect 0 "class: Trusted" -- -i -n mx.example.net "$tmp/chain.pem" "2 0 0 $(der_hex "$pki/root-a.pem")"
# Scenario 20: the leaf names another domain.
expect 1 "the leaf names none of: mx.example.net example.com" -- -n mx.example.net -n example.com "$tmp/other.pem" \
	"2 0 1 $(cert_sha256 "$pki/int-a.pem")"
# Scenario 22: a 2 x x record on the leaf.
expect 1 "matched only the leaf" -- -n mx.example.net "$tmp/chain.pem" "2 1 1 $(spki_sha256 "$pki/leaf-mx.pem")"
# Scenario 23: 3 1 1 matches, 3 1 2 does not: the strongest digest wins;
# with the order reversed (-d 1,2) the 3 1 1 record is used.
r311="3 1 1 $(spki_sha256 "$pki/leaf-mx.pem")" r312="3 1 2 $(spki_sha512 "$pki/leaf-rsa-mx.pem")"
expect 1 "dropped by digest agility" -- "$tmp/chain.pem" "$r311" "$r312"
expect 0 "TLSA 3 1 1 matched" -- -d 1,2 "$tmp/chain.pem" "$r311" "$r312"
# Dates: the chain checked at a time given on the command line.
expect 1 "not yet valid" -- -t 1500000000 -n mx.example.net "$tmp/chain.pem" "2 0 1 $(cert_sha256 "$pki/int-a.pem")"
# Bad input.
expect 2 "bad TLSA record" -- "$tmp/chain.pem" "3 1 1 xyz"
expect 2 "cannot read" -- "$tmp/none.pem" "3 1 1 00"
expect 2 "usage" --

echo "dane-verify: $((n - fails)) passed, $fails failed"
[ "$fails" = 0 ]
