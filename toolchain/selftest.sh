#!/usr/bin/env bash
# selftest.sh — the toolchain's proof: for native, armhf (qemu-arm) and
# arm-none-eabi (qemu-arm + ARM semihosting) build mbedTLS, ldns (and
# cmocka) from the pinned sources with our configs, run deps_selftest,
# tls_selftest and cmocka_selftest, the native ones under valgrind too,
# tls_interop against openssl s_server (selftest-interop.sh), and print
# handshake figures and the bare-metal size table. Last line: "toolchain: N passed, M failed"
# (one count per check below). Needs the machine set up (setup.sh).
set -u
cd "$(dirname "$0")/.."
J=${DG_JOBS:-2}
pass=0 fail=0
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

# check NAME COMMAND... — run, keep the output, count the result.
check() {
	local name=$1
	shift
	if "$@" >"$log/out" 2>&1; then
		pass=$((pass + 1))
		printf 'ok   %s\n' "$name"
	else
		fail=$((fail + 1))
		printf 'FAIL %s\n' "$name"
		tail -40 "$log/out" | sed 's/^/     /'
	fi
}

for t in native armhf arm-none-eabi; do
	check "build deps + selftests [$t]" make -s -j"$J" -f toolchain/selftest.mk TARGET=$t
done

# prog_ok NAME RUNNER... PROG — run one selftest program; it must exit 0
# and end with "NAME: N passed, 0 failed" (N > 0).
prog_ok() {
	local name=$1
	shift
	"$@" >"$log/prog" 2>&1
	local rc=$?
	cat "$log/prog"
	[ $rc -eq 0 ] && grep -q "^$name: [1-9][0-9]* passed, 0 failed" "$log/prog"
}
semi="timeout 300 qemu-arm -cpu cortex-a15"
armhf="timeout 300 qemu-arm -L /usr/arm-linux-gnueabihf"
for p in deps_selftest tls_selftest; do
	check "$p [native]" prog_ok $p build/selftest/native/$p
	check "$p [armhf, qemu-arm]" prog_ok $p $armhf build/selftest/armhf/$p
	check "$p [arm-none-eabi, qemu-arm + semihosting]" prog_ok $p $semi \
		build/selftest/arm-none-eabi/$p-semihosting
	check "$p [native, valgrind: no leak, no error]" \
		valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite,indirect \
		build/selftest/native/$p
done
# Against a real OpenSSL server on 127.0.0.1 (RSA and ECDSA chains, TLS 1.3
# and 1.2, and the refusals): native, and armhf under qemu-arm.
check "tls_interop vs openssl s_server [native]" prog_ok interop \
	bash toolchain/selftest-interop.sh build/selftest/native/tls_interop
check "tls_interop vs openssl s_server [armhf, qemu-arm]" prog_ok interop \
	env RUNNER="$armhf" bash toolchain/selftest-interop.sh build/selftest/armhf/tls_interop
check "cmocka_selftest [native]" build/selftest/native/cmocka_selftest
check "cmocka_selftest [armhf, qemu-arm]" $armhf build/selftest/armhf/cmocka_selftest

echo
echo "TLS handshakes (client + server in one arena), per target:"
for t in native armhf arm-none-eabi; do
	case $t in
	native) r="" b=build/selftest/native/tls_selftest ;;
	armhf) r=$armhf b=build/selftest/armhf/tls_selftest ;;
	*) r=$semi b=build/selftest/arm-none-eabi/tls_selftest-semihosting ;;
	esac
	$r $b 2>/dev/null | awk -v t=$t '/: TLSv/ { sub(/^ok   /, ""); name = $0 } / ms, arena peak/ { printf "  %-14s %-75s %s\n", t, name, $0 }'
done

# Size: what mbedTLS and ldns cost in a bare-metal image after
# --gc-sections, for every API the firmware uses (size_probe), and for
# the selftest alone. The budget (DESIGN): mbedTLS under ~250 KiB.
echo
echo "arm-none-eabi, size_probe (all firmware-used mbedTLS + ldns APIs), bytes:"
awk -f toolchain/map-sizes.awk build/selftest/arm-none-eabi/size_probe.map | sort -k6 -n -r
mbed=$(awk -f toolchain/map-sizes.awk build/selftest/arm-none-eabi/size_probe.map |
	awk '/^libmbed/ { s += $6 } END { print s + 0 }')
echo "mbedTLS total: $mbed bytes of flash ($((mbed / 1024)) KiB)"
check "mbedTLS flash use under 250 KiB" test "$mbed" -gt 0 -a "$mbed" -lt $((250 * 1024))
echo
echo "arm-none-eabi, deps_selftest (nosys), bytes:"
awk -f toolchain/map-sizes.awk build/selftest/arm-none-eabi/deps_selftest.map | sort -k6 -n -r
arm-none-eabi-size build/selftest/arm-none-eabi/deps_selftest build/selftest/arm-none-eabi/size_probe

echo
echo "toolchain: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
