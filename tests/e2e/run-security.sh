#!/usr/bin/env bash
# run-security.sh — the inbound security matrix against the HOST board
# (and the QEMU board when its image is there; SECURITY_QEMU=0 skips it):
# no open relay from outside relay_networks (source routes, %, !, quoted
# local parts ... from 127.0.0.2 with relay_networks=127.0.0.1/32); SMTP
# smuggling end-of-data variants never queue a second message (the queue
# count after a restart equals the 250s the client saw); AUTH neither
# offered nor accepted in clear; AUTH guessing slowed (lockout counted by
# reply codes, not timed); testssl.sh against STARTTLS (protocols,
# ciphers, vulnerabilities from its --jsonfile). The attacks are in
# sectool.py. Ends "N passed, M failed".
set -u
. "$(dirname "$0")/lib.sh"
cd "$E2E_ROOT"
trap e2e_cleanup EXIT
trap "exit 143" TERM INT HUP # so that the EXIT trap runs

[ -x build/host/danegate ] || make -s BOARD=host >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
mkdir -p build/e2e
T=$(mktemp -d "$E2E_ROOT/build/e2e/security.XXXXXX")
FLASH=$T/flash.img
LOG=$T/relay.log
PORT=$(free_port)
SRV=127.0.0.1:$PORT
USER=alice PASS='s3cret-pw'
# the limiter's constants, as the firmware has them
hdr() { sed -n "s/^#define $1[[:space:]]*\([0-9][0-9]*\)u*.*/\1/p" firmware/relay/authlimit.h; }
FREE=$(hdr AUTHLIMIT_FREE)
BASE=$(hdr AUTHLIMIT_BASE_MS)
echo "e2e security (host board): $SRV, work dir ${T#$E2E_ROOT/}"

# sectool prints "STATUS|name|detail" lines; "#..." lines are figures.
run_tool() {
	local line st name detail
	python3 "$E2E_DIR/sectool.py" "$@" >"$T/tool.out" 2>&1
	while IFS= read -r line; do
		case $line in
		[01]\|*)
			st=${line%%|*}
			line=${line#*|}
			name=${line%%|*}
			detail=${line#*|}
			check "$name" "$st" "$detail"
			;;
		\#*) echo "  ${line#\#}" ;;
		*) check "sectool $1: ran cleanly" 1 "$line" ;;
		esac
	done <"$T/tool.out"
	cat "$T/tool.out" >>"$T/tool.all"
}

# resolvers: a loopback port nobody answers on, so the delivery side never
# looks anything up (nor connects anywhere) while the test runs
OPTS=(--set relay_networks=127.0.0.1/32 --set "smtp_users=$USER:$PASS" \
	--set "resolvers=[127.0.0.1]:$(free_port)")
host_start "$LOG" "$FLASH" "$PORT" "${OPTS[@]}"
check "host board boots (relay_networks=127.0.0.1/32, one AUTH user)" $? "$(tail -3 "$LOG")"

echo "-- open relay: tricks from 127.0.0.2 (outside relay_networks)"
run_tool relay "$SRV" 127.0.0.2
! grep -q 'queued' "$LOG"
check "no relay: nothing queued after the tricks" $? "$(grep queued "$LOG" | head -2)"

echo "-- AUTH in clear"
run_tool clear "$SRV" 127.0.0.1 "$USER" "$PASS"

echo "-- SMTP smuggling (relay client 127.0.0.1)"
run_tool smuggle "$SRV" 127.0.0.1 "$LOG"
ACKED=$(sed -n 's/^#queued \([0-9]*\)/\1/p' "$T/tool.out")
kill "$HOST_PID" 2>/dev/null
wait "$HOST_PID" 2>/dev/null
FROM=$(log_lines "$LOG")
host_start "$LOG" "$FLASH" "$PORT" "${OPTS[@]}"
check "restart on the same flash" $? "$(tail -3 "$LOG")"
N=$(tail -n +$((FROM + 1)) "$LOG" | sed -n 's/.*queue: \([0-9][0-9]*\) message(s).*/\1/p' | tail -1)
[ -n "$N" ] && [ -n "$ACKED" ] && [ "$N" -eq "$ACKED" ]
check "smuggling: the queue holds exactly the $ACKED message(s) the client saw 250 for" $? \
	"boot log: queue: ${N:-?} message(s)"

echo "-- AUTH password guessing (127.0.0.2 guesses, 127.0.0.3 is the real user)"
run_tool brute "$SRV" 127.0.0.2 127.0.0.3 "$USER" "$PASS" "$FREE" "$BASE"
grep -q 'AUTH locked out' "$LOG"
check "the relay log names the lockout" $?

echo "-- testssl.sh against STARTTLS"
if command -v testssl >/dev/null || command -v testssl.sh >/dev/null; then
	TS=$(command -v testssl || command -v testssl.sh)
	# offline: no DNS (-n none, --ip), no OCSP/CRL fetches (no --phone-out)
	timeout 600 "$TS" --quiet --color 0 --warnings off --openssl=/usr/bin/openssl -n none \
		--ip 127.0.0.1 --starttls smtp -p -s -f -U -S -4 --jsonfile "$T/testssl.json" \
		"127.0.0.1:$PORT" >"$T/testssl.out" 2>&1
	check "testssl.sh ran and wrote its JSON" "$([ -s "$T/testssl.json" ] && echo 0 || echo 1)" \
		"$(tail -3 "$T/testssl.out")"
	run_tool testssl "$T/testssl.json"
else
	check "testssl.sh installed (Debian package testssl.sh)" 1 "not found"
fi
kill "$HOST_PID" 2>/dev/null
wait "$HOST_PID" 2>/dev/null

# ---- the same engine on the QEMU board: clients arrive from 10.0.2.2 ----
IMG=${QV_IMAGE:-build/qemu-virt/danegate.elf}
if [ "${SECURITY_QEMU:-1}" != 0 ] && { [ -f "$IMG" ] || make -s BOARD=qemu-virt >/dev/null 2>&1; }; then
	echo "-- qemu-virt board (provisioned relay_networks=127.0.0.1/32: 10.0.2.2 is outside)"
	QFLASH=$T/pflash.img
	QLOG=$T/serial.log
	new_flash "$QFLASH" $((64 * 1024 * 1024))
	python3 "$E2E_DIR/provision.py" "$QFLASH" $((248 * 256 * 1024)) \
		relay_networks=127.0.0.1/32 "smtp_users=$USER:$PASS" >"$T/provision.out" 2>&1
	check "qemu: provision relay_networks + smtp_users" $? "$(cat "$T/provision.out")"
	QPORT=$(free_port)
	qemu_start "$QLOG" "$QFLASH" "$QPORT"
	check "qemu: board boots" $? "$(tail -3 "$QLOG")"
	run_tool relay "127.0.0.1:$QPORT" 127.0.0.1
	run_tool clear "127.0.0.1:$QPORT" 127.0.0.1 "$USER" "$PASS"
	run_tool brute "127.0.0.1:$QPORT" 127.0.0.1 - "$USER" "$PASS" "$FREE" "$BASE"
	! grep -q 'queued' "$QLOG"
	check "qemu: nothing queued by any of it" $?
	kill "$QEMU_PID" 2>/dev/null
	wait "$QEMU_PID" 2>/dev/null
fi

summary
rc=$?
[ $rc -eq 0 ] && [ -z "${E2E_KEEP:-}" ] && rm -rf "$T"
exit $rc
