#!/usr/bin/env bash
# bench/dane/run.sh — instructions per DANE-EE verification (callgrind) vs
# its floor (X.509 parse of the leaf + one SHA-256 of its key), for a P-256
# and an RSA-2048 leaf made here with openssl. Target: ratio <= 1.2 (issue 4
# item 9). Prints the figures; a benchmark, not a test (exit 1 only when it
# cannot run). Needs valgrind, openssl, the native mbedTLS (make).
set -eu
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=$ROOT/build/bench/dane
ROUNDS=${BENCH_DANE_ROUNDS:-20}
mkdir -p "$OUT"
command -v valgrind >/dev/null || { echo "bench/dane: valgrind not installed"; exit 1; }
MB=$ROOT/build/deps/native/mbedtls
[ -f "$MB/libmbedcrypto.a" ] || make -s deps >/dev/null
gcc -std=c11 -O2 -g -Wall -Wextra -Werror -Wshadow -I"$ROOT/firmware" -I"$ROOT/build/src/mbedtls-3.6.6/include" \
	-DMBEDTLS_CONFIG_FILE="\"$ROOT/toolchain/config/mbedtls/danegate_mbedtls_config.h\"" \
	bench/dane/bench_dane.c tools/dane-verify/host_hooks.c firmware/dane/dane.c firmware/dane/dane_verify.c \
	"$MB/libmbedx509.a" "$MB/libmbedcrypto.a" -o "$OUT/bench_dane"
for k in p256 rsa2048; do
	[ -s "$OUT/$k.der" ] && continue
	case $k in
	p256) kopt=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) ;;
	rsa2048) kopt=(-newkey rsa:2048) ;;
	esac
	openssl req -x509 "${kopt[@]}" -nodes -keyout "$OUT/$k.key" -subj "/CN=mx.bench.test" \
		-addext "subjectAltName=DNS:mx.bench.test" -days 3650 -outform DER -out "$OUT/$k.der" 2>/dev/null
done
# ir KIND LEAF: instructions per call of bench_KIND (callgrind, inclusive)
ir() {
	local f=$OUT/cg.$1.$(basename "$2" .der)
	valgrind --tool=callgrind --collect-atstart=no --toggle-collect="bench_$1" \
		--callgrind-out-file="$f" "$OUT/bench_dane" "$1" "$2" "$ROUNDS" >/dev/null 2>"$f.log" ||
		{ echo "bench/dane: callgrind failed: $(tail -2 "$f.log")" >&2; return 1; }
	awk -v n="$ROUNDS" '/^totals:|^summary:/ { print int($2 / n); exit }' "$f"
}
echo "DANE-EE verification (3 1 1 on the leaf), instructions per call, callgrind, $ROUNDS rounds:"
for k in p256 rsa2048; do
	fl=$(ir floor "$OUT/$k.der")
	ve=$(ir verify "$OUT/$k.der")
	awk -v k="$k" -v f="$fl" -v v="$ve" 'BEGIN {
		r = v / f
		printf "  %-8s floor (parse + SHA-256 of the key) %8d  verify (parse + DANE-EE) %8d  ratio %.3f %s\n",
			k, f, v, r, (r <= 1.2 ? "(target <= 1.2: met)" : "(target <= 1.2: NOT met)")
	}'
done
