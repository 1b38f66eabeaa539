#!/usr/bin/env bash
# selftest.sh — the toolchain's proof: for native, armhf (qemu-arm) and
# arm-none-eabi (qemu-arm + ARM semihosting) build mbedTLS, ldns (and
# cmocka) from the pinned sources with our configs, run deps_selftest and
# cmocka_selftest, run the native one under valgrind too, and print the
# bare-metal size table. Last line: "toolchain: N passed, M failed"
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
# The selftest program must also say all its checks passed.
selftest_ok() { "$@" && grep -q 'deps_selftest: [1-9][0-9]* passed, 0 failed' "$log/out"; }
run_st() { "$@" >"$log/out" 2>&1; local rc=$?; cat "$log/out"; return $rc; }

for t in native armhf arm-none-eabi; do
	check "build deps + selftests [$t]" make -s -j"$J" -f toolchain/selftest.mk TARGET=$t
done

check "deps_selftest [native]" bash -c 'build/selftest/native/deps_selftest | tee /dev/stderr | grep -q "deps_selftest: [1-9][0-9]* passed, 0 failed"'
check "deps_selftest [native, valgrind: no leak, no error]" \
	valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite,indirect \
	build/selftest/native/deps_selftest
check "deps_selftest [armhf, qemu-arm]" bash -c 'qemu-arm -L /usr/arm-linux-gnueabihf build/selftest/armhf/deps_selftest | tee /dev/stderr | grep -q "deps_selftest: [1-9][0-9]* passed, 0 failed"'
check "deps_selftest [arm-none-eabi, qemu-arm semihosting]" bash -c 'timeout 120 qemu-arm -cpu cortex-a15 build/selftest/arm-none-eabi/deps_selftest-semihosting | tee /dev/stderr | grep -q "deps_selftest: [1-9][0-9]* passed, 0 failed"'
check "cmocka_selftest [native]" build/selftest/native/cmocka_selftest
check "cmocka_selftest [armhf, qemu-arm]" qemu-arm -L /usr/arm-linux-gnueabihf build/selftest/armhf/cmocka_selftest

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
