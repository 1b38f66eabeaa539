#!/usr/bin/env bash
# run-unit.sh "RUNNER" BIN... — run cmocka test programs (under RUNNER,
# e.g. qemu-arm, when cross-built), print each program's result and one
# total line "unit[LABEL]: N passed, M failed". Appends "LABEL N M" to
# $DG_RESULTS when set so tests/run-all.sh can add everything up.
set -u
runner=$1
shift
label=${DG_LABEL:-native}
pass=0 fail=0
for bin in "$@"; do
	name=$(basename "$bin")
	out=$(mktemp)
	# shellcheck disable=SC2086
	timeout 600 $runner "$bin" >"$out" 2>&1
	rc=$?
	# A program may run several cmocka groups: add up every summary.
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | awk '{s += $1} END {print s + 0}')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | awk '{s += $1} END {print s + 0}')
	p=${p:-0} f=${f:-0}
	# A crash (sanitizer abort, signal, timeout) counts as a failure even
	# when cmocka could not print its summary.
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; echo "$name: ran no test"; fi
	if [ "$f" -ne 0 ]; then
		echo "---- $name (exit $rc) ----"
		tail -60 "$out"
	fi
	printf '  %-28s %4d passed, %d failed\n' "$name" "$p" "$f"
	pass=$((pass + p)) fail=$((fail + f))
	rm -f "$out"
done
echo "unit[$label]: $pass passed, $fail failed"
[ -n "${DG_RESULTS:-}" ] && echo "unit[$label] $pass $fail" >>"$DG_RESULTS"
[ $fail -eq 0 ]
