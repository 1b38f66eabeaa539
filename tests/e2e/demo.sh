#!/usr/bin/env bash
# demo.sh — `make demo`: the main job end to end on one machine. Brings up
# the DANE test world (tests/e2e/world, WORLD_BASE 35000 or the next
# free), boots the QEMU firmware configured against it (resolver and MX
# redirect at 10.0.2.2),
# submits a few messages through hostfwd, and shows the board's serial
# console: how each message left (Verified, Trusted, Untrusted, clear text,
# held for a downgrade, bounced), then `queue`, `stats` and `probe` on the
# console.
# DEMO_KEEP=1 keeps the work dir; everything is stopped at the end.
set -u
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/dane-lib.sh"
. "$E2E_DIR/world/pf-lib.sh"
cd "$E2E_ROOT" || exit 1
trap 'kill "$TAILER" 2>/dev/null; dane_cleanup' EXIT
trap "exit 143" TERM INT HUP
TAILER=""

IMG=${QV_IMAGE:-build/qemu-virt/danegate.elf}
if ! make -s -j2 BOARD=qemu-virt >"$E2E_ROOT/build/demo-make.log" 2>&1; then
	[ -f "$IMG" ] || { echo "demo: the qemu-virt image does not build (build/demo-make.log)"; exit 1; }
	echo "demo: the qemu-virt image did not rebuild (build/demo-make.log); using the existing $IMG"
fi
mkdir -p build/e2e
DANE_T=$(mktemp -d "$E2E_ROOT/build/e2e/demo.XXXXXX")
export DANE_BOARD=qemu # read by dane-lib.sh
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "1. the test world: signed DNS zones (NSD), a validating Unbound, a private PKI, 44 MX peers"
BASE=$(dane_free_base "${DEMO_WORLD_BASE:-35000}") || BASE=35000
dane_world_up "$DANE_T/world" "$BASE" || { echo "demo: world.sh up failed"; exit 1; }
echo "resolver $DNS_RESOLVER (10.0.2.2:$DNS_RESOLVER_PORT from the guest), MX peers on :$((SMTP_REDIRECT_BASE + 1))..."

say "2. danegate on the QEMU virt board (Cortex-A15), provisioned with:"
dane_settings main "$SMTP_REDIRECT_HOST_QEMU" | sed 's/^/   /'
dane_board_start main || { echo "demo: the board did not boot"; tail -20 "$DANE_LOG"; exit 1; }
# the board's serial console, live from here on
tail -n +1 -f "$DANE_LOG" | sed -u 's/^/   console| /' &
TAILER=$!

say "3. a LAN client submits one message per case (swaks -> 127.0.0.1 hostfwd -> guest :25)"
DEMO=(01 11 06 08B 04 03 24)
rcpts=()
for id in "${DEMO[@]}"; do
	eval "dom=\$S${id}_DOMAIN desc=\$S${id}_DESC"
	r="demo-$(tr '[:upper:]' '[:lower:]' <<<"$id")@$dom"
	printf '   %-32s %s\n' "$r" "${desc//_/ }" >&2
	dane_send "$DANE_SRV" "$r" "$DANE_T/swaks-$id.out" && rcpts+=("$r")
done
dane_wait "$DANE_LOG" 120 "${rcpts[@]}" || echo "   (not every message was handled within 120 s)"
sleep 1
dane_console queue
sleep 2
dane_console stats
sleep 2
# what posttls-finger would say about one destination, from the board
from=$(log_lines "$DANE_LOG")
dane_console "probe $S01_DOMAIN"
wait_log "$DANE_LOG" 'probe: done' 60 "$from"
sleep 1
kill "$TAILER" 2>/dev/null
wait "$TAILER" 2>/dev/null
TAILER=""

say "4. how each message left (the relay's out: lines; the world's expectation)"
for id in "${DEMO[@]}"; do
	eval "dom=\$S${id}_DOMAIN want=\$S${id}_EXPECT cls=\$S${id}_CLASS dsn=\$S${id}_DSN"
	r="demo-$(tr '[:upper:]' '[:lower:]' <<<"$id")@$dom"
	line=$(dane_final "$DANE_LOG" "$r") || line=""
	res=$(dane_field "$line" result) c=$(dane_field "$line" class) d=$(dane_field "$line" dsn)
	what="$res ${c:-?} $d"
	[ -n "$line" ] || what="no out: line"
	[ "$res" = deferred ] && [ "${d#4.7.}" != "$d" ] && what="HELD (downgrade/DANE failure) $d"
	printf '   %-30s %-40s expected: %s %s %s\n' "$r" "$what" "$want" "$cls" "$dsn"
done
echo
trap - EXIT
dane_cleanup
if [ -n "${DEMO_KEEP:-}" ]; then echo "serial log: ${DANE_T#$E2E_ROOT/}/serial-main.log"
else rm -rf "$DANE_T"; fi
