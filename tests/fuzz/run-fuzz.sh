#!/usr/bin/env bash
# run-fuzz.sh NAME:MAXLEN... — runs build/fuzz/fuzz_NAME for each target:
# first every committed seed once (tests/fuzz/seeds/NAME), then fuzzing
# for FUZZ_SECONDS with the seeds and the working corpus
# build/fuzz/corpus/NAME. Prints "NAME: N execs, C crashes" per target and
# "fuzz: P passed, F failed"; exits non-zero if any target failed.
# Crash inputs land in build/fuzz/crashes/NAME-* (see tests/fuzz/README.md).
set -u
cd "$(dirname "$0")/../.."
S=${FUZZ_SECONDS:-20}
B=build/fuzz
pass=0
fail=0
summary=()
for spec in "$@"; do
	name=${spec%%:*}
	maxlen=${spec#*:}
	bin=$B/fuzz_$name
	seeds=tests/fuzz/seeds/$name
	corpus=$B/corpus/$name
	mkdir -p "$corpus" "$B/crashes" "$B/logs"
	log=$B/logs/$name.log
	: >"$log"
	ok=1
	execs=0
	crashes=0
	# 1. replay: every seed as one input, must not crash
	if [ -d "$seeds" ] && [ -n "$(ls -A "$seeds")" ]; then
		if ! timeout 300 "$bin" -runs=1 -artifact_prefix="$B/crashes/$name-" "$seeds"/* >>"$log" 2>&1; then
			ok=0
			crashes=$((crashes + 1))
			echo "$name: seed replay FAILED (see $log)"
		fi
	fi
	# 2. fuzz for S seconds
	dirs=("$corpus")
	[ -d "$seeds" ] && dirs+=("$seeds")
	if [ "$ok" -eq 1 ]; then
		timeout $((S + 120)) "$bin" -max_total_time="$S" -max_len="$maxlen" -timeout=10 \
			-rss_limit_mb=2048 -print_final_stats=1 \
			-artifact_prefix="$B/crashes/$name-" "${dirs[@]}" >>"$log" 2>&1
		rc=$?
		execs=$(grep -E '^stat::number_of_executed_units:' "$log" | tail -1 | awk '{print $2}')
		[ -z "$execs" ] && execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
		[ -z "$execs" ] && execs=0
		if [ "$rc" -ne 0 ]; then
			ok=0
			crashes=$((crashes + 1))
			grep -E 'ERROR: |SUMMARY: |Test unit written to|runtime error' "$log" | head -5
		fi
	fi
	line="$name: $execs execs, $crashes crashes"
	echo "$line"
	summary+=("$line")
	if [ "$ok" -eq 1 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done
echo
printf '  %s\n' "${summary[@]}"
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
