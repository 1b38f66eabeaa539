#!/usr/bin/env bash
# run-dane.sh — the DANE scenarios of DANE-RULES.md (all 30, their B
# variants and the world's extras) against the host board: the test world
# (tests/e2e/world) on WORLD_BASE 33000 (or the next free +200), the relay booted once per profile
# (main; smarthost for 26; the non-validating resolver for 29) with the
# world's resolver and smtp_delivery_redirect, one message per scenario by
# swaks, the relay's out: line and the sinks judged per scenario; then
# posttls-finger vs the relay's probe (interop); the host board's --ca-file
# trust anchors. "N passed, M failed".
#   DANE_ONLY="01 14 30"   only these scenarios;  E2E_KEEP=1 keeps the work dir
set -u
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/dane-lib.sh"
. "$E2E_DIR/world/pf-lib.sh"
cd "$E2E_ROOT" || exit 1
trap dane_cleanup EXIT
trap "exit 143" TERM INT HUP

BIN=build/host/danegate
[ -x "$BIN" ] || make -s -j2 >/dev/null || { echo "0 passed, 1 failed (host board does not build)"; exit 1; }
mkdir -p build/e2e
DANE_T=$(mktemp -d "$E2E_ROOT/build/e2e/dane-host.XXXXXX")
BASE=$(dane_free_base "${DANE_WORLD_BASE:-33000}") || BASE=33000
echo "e2e DANE (host board): world on :$((BASE + 1))..., work dir ${DANE_T#$E2E_ROOT/}"
if ! dane_world_up "$DANE_T/world" "$BASE"; then
	check "test world up (world.sh up, WORLD_BASE=$BASE)" 1 "see ${DANE_T#$E2E_ROOT/}/world.up.log"
	summary
	exit 1
fi

export DANE_BOARD=host # read by dane-lib.sh
DANE_EXTRAS=${DANE_EXTRAS-$(dane_extras)}
DANE_PROBE=${DANE_PROBE-1}
# shellcheck disable=SC2086
dane_all h$$ ${DANE_ONLY:-}
# The host board's read-only trust anchors (--ca-file FILE, PEM): listed
# by `ca list` as "board N" (the verify policy uses them like saved ones).
if [ -z "${DANE_ONLY:-}" ] || [[ " $DANE_ONLY " == *" X11 "* ]]; then
	caf=$DANE_T/cafile
	mkfifo "$caf.con"
	exec {cafd}<>"$caf.con"
	"$BIN" --flash "$caf.img" --smtp-port "$(free_port)" --listen 127.0.0.1 --set web_port=0 \
		--ca-file "$PKI_ROOT" <"$caf.con" >"$caf.out" 2>"$caf.log" &
	capid=$!
	E2E_PIDS+=("$capid")
	wait_log "$caf.log" 'ready:' 15
	printf 'ca list\r\n' >&"$cafd"
	wait_log "$caf.out" 'board 1: subject CN=Danegate E2E Root' 10
	check "host board --ca-file: the world's root is board anchor 1 (ca list)" $? \
		"$(grep -i anchor "$caf.log" | head -2) $(tail -2 "$caf.out")"
	kill "$capid" 2>/dev/null
	wait "$capid" 2>/dev/null
	exec {cafd}>&-
fi
summary
rc=$?
trap - EXIT
dane_cleanup # before the work dir goes: world.sh down needs its pid files
[ $rc -eq 0 ] && [ -z "${E2E_KEEP:-}" ] && rm -rf "$DANE_T"
exit $rc
