#!/usr/bin/env bash
# run-all.sh — what `make test` runs: machine set-up (idempotent), then
# every test layer, then one total line "N passed, M failed".
set -u
cd "$(dirname "$0")/.."
J=${DG_JOBS:-2}
export DG_RESULTS
DG_RESULTS=$(mktemp)
status=0
step() { echo; echo "==== $* ===="; }
record_fail() { echo "$1 0 1" >>"$DG_RESULTS"; status=1; }
# Run a test program that ends with a line "LABEL: N passed, M failed";
# add its counts to the totals (a crash without that line is one failure).
run_counted() {
	local label=$1 out rc line
	shift
	out=$(mktemp)
	"$@" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$out" | tail -1)
	if [ -n "$line" ]; then
		echo "$label $(echo " $line" | sed -E 's/.*[^0-9]([0-9]+) passed, ([0-9]+) failed.*/\1 \2/')" >>"$DG_RESULTS"
	fi
	if [ "$rc" -ne 0 ]; then
		[ -z "$line" ] && echo "$label 0 1" >>"$DG_RESULTS"
		status=1
	fi
	rm -f "$out"
}

step "set-up"
bash toolchain/setup.sh || { echo "set-up failed"; exit 1; }

step "toolchain: dependency selftests (native, armhf, bare metal; OpenSSL interop)"
run_counted "toolchain" bash toolchain/selftest.sh

step "host board: build"
make -j"$J" BOARD=host || record_fail "build[host]"
step "host board: unit tests (ASan + UBSan)"
make -j"$J" BOARD=host unit-run || status=1

step "host tool: dane-verify (PEM chain against TLSA records)"
run_counted "dane-verify" make -C tools/dane-verify check

step "fuzz: libFuzzer targets, seeds replayed + ${FUZZ_SECONDS:-10} s each (native)"
run_counted "fuzz" make -j"$J" BOARD=host FUZZ_SECONDS="${FUZZ_SECONDS:-10}" fuzz-smoke

step "host board cross-built for armhf: unit tests under qemu-arm"
make -j"$J" BOARD=host TARGET=armhf unit-run || status=1

step "qemu-virt board: build"
if make -j"$J" BOARD=qemu-virt; then
	for t in tests/qemu/test_*.py; do
		[ -e "$t" ] || continue
		step "qemu-virt: $t"
		run_counted "qemu[$(basename "$t" .py)]" timeout 900 python3 "$t"
	done
else
	record_fail "build[qemu-virt]"
fi

for t in tests/e2e/run-*.sh; do
	[ -e "$t" ] || continue
	step "e2e: $t"
	run_counted "e2e[$(basename "$t" .sh)]" timeout 2400 bash "$t"
done

echo
echo "==== totals ===="
awk '{ printf "  %-24s %5d passed, %d failed\n", $1, $2, $3; p += $2; f += $3 }
     END { printf "%d passed, %d failed\n", p, f }' "$DG_RESULTS"
fails=$(awk '{ f += $3 } END { print f + 0 }' "$DG_RESULTS")
rm -f "$DG_RESULTS"
[ "$status" -eq 0 ] && [ "$fails" -eq 0 ]
