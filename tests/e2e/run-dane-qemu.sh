#!/usr/bin/env bash
# run-dane-qemu.sh — the DANE scenarios of DANE-RULES.md (as run-dane.sh)
# against the qemu-virt board: the test world on WORLD_BASE 34000 (or the next free +200), reached
# from the guest through QEMU user networking at 10.0.2.2 (resolver and
# smtp_delivery_redirect 10.0.2.2:BASE+100); settings provisioned into the
# pflash config area before boot, one boot per relay profile, submission
# through hostfwd 127.0.0.1:PORT -> guest :25, the serial console on a FIFO
# (probe for the interop checks). "N passed, M failed".
#   DANE_ONLY="01 14 30"   only these scenarios;  E2E_KEEP=1 keeps the work dir
set -u
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/dane-lib.sh"
. "$E2E_DIR/world/pf-lib.sh"
cd "$E2E_ROOT" || exit 1
trap dane_cleanup EXIT
trap "exit 143" TERM INT HUP

IMG=${QV_IMAGE:-build/qemu-virt/danegate.elf}
[ -f "$IMG" ] || make -s -j2 BOARD=qemu-virt >/dev/null || { echo "0 passed, 1 failed (qemu-virt image does not build)"; exit 1; }
mkdir -p build/e2e
DANE_T=$(mktemp -d "$E2E_ROOT/build/e2e/dane-qemu.XXXXXX")
BASE=$(dane_free_base "${DANE_WORLD_BASE:-34000}") || BASE=34000
echo "e2e DANE (qemu-virt board): world on :$((BASE + 1))... (10.0.2.2 from the guest), work dir ${DANE_T#$E2E_ROOT/}"
if ! dane_world_up "$DANE_T/world" "$BASE"; then
	check "test world up (world.sh up, WORLD_BASE=$BASE)" 1 "see ${DANE_T#$E2E_ROOT/}/world.up.log"
	summary
	exit 1
fi

export DANE_BOARD=qemu # read by dane-lib.sh
DANE_EXTRAS=${DANE_EXTRAS-$(dane_extras)}
DANE_PROBE=${DANE_PROBE-1}
DANE_WAIT=${DANE_WAIT:-240}
# shellcheck disable=SC2086
dane_all q$$ ${DANE_ONLY:-}
summary
rc=$?
trap - EXIT
dane_cleanup # before the work dir goes: world.sh down needs its pid files
[ $rc -eq 0 ] && [ -z "${E2E_KEEP:-}" ] && rm -rf "$DANE_T"
exit $rc
