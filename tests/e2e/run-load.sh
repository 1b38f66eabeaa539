#!/usr/bin/env bash
# run-load.sh — hostile load against the HOST board (QEMU too with
# LOAD_QEMU=1): a storm of clients beyond the session bound (they get
# 421 4.3.2, the relay stays responsive: a client after the storm gets
# its banner and its message queued), connect-and-drop churn, slow
# clients trickling octets in DATA and in a command (cut off with
# 421 4.4.2 by the whole-line command timer and the minimum data rate,
# others served meanwhile), a client that never reads its replies
# (dropped, its slot freed). Memory: the relay's peak RSS and the TLS
# heap peak (console `status`) after a STARTTLS load are printed, not
# judged. Short timeouts (smtp_timeout=10s, smtp_data_timeout=5s) keep
# it quick; nothing is judged by time. The clients are in loadtool.py.
# Ends "N passed, M failed".
set -u
. "$(dirname "$0")/lib.sh"
cd "$E2E_ROOT"
trap e2e_cleanup EXIT
trap "exit 143" TERM INT HUP # so that the EXIT trap runs

[ -x build/host/danegate ] || make -s BOARD=host >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
mkdir -p build/e2e
T=$(mktemp -d "$E2E_ROOT/build/e2e/load.XXXXXX")
FLASH=$T/flash.img
LOG=$T/relay.log
PORT=$(free_port)
SRV=127.0.0.1:$PORT
SESS=$(inbound_sessions)
SESS=${SESS:-4}
echo "e2e load (host board): $SRV, $SESS sessions, work dir ${T#$E2E_ROOT/}"

# loadtool prints "STATUS|name|detail" lines; "#..." lines are figures.
run_tool() {
	local line st name detail
	python3 "$E2E_DIR/loadtool.py" "$@" >"$T/tool.out" 2>&1
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
		*) check "loadtool $1: ran cleanly" 1 "$line" ;;
		esac
	done <"$T/tool.out"
}

# The serial console on a FIFO, for `status`.
mkfifo "$T/console"
exec 3<>"$T/console"
# resolvers: a loopback port nobody answers on, so the delivery side never
# looks anything up (nor connects anywhere) while the test runs
# smtp_max_sessions: the bound under test is the router's (inbound.h),
# not the host board's larger one.
OPTS=(--set smtp_timeout=10s --set smtp_data_timeout=5s --set smtp_min_data_rate=500 \
	--set smtp_max_sessions="$SESS" \
	--set "resolvers=[127.0.0.1]:$(free_port)")
from=$(log_lines "$LOG")
build/host/danegate --flash "$FLASH" --smtp-port "$PORT" --listen 127.0.0.1 "${OPTS[@]}" \
	<"$T/console" >>"$LOG" 2>&1 &
HOST_PID=$!
E2E_PIDS+=("$HOST_PID")
wait_log "$LOG" 'ready:' 15 "$from"
check "host board boots (smtp_timeout=10s, smtp_data_timeout=5s)" $? "$(tail -3 "$LOG")"

echo "-- storm: $SESS sessions kept busy, $((SESS * 9)) more at once, then 200 connect-and-drop"
run_tool storm "$SRV" $((SESS * 10)) "$SESS"
run_tool churn "$SRV" 200

echo "-- slow clients (one octet a second)"
run_tool slow "$SRV" "$SESS"
grep -q 'timeout in DATA' "$LOG"
check "relay log: a DATA trickler timed out" $?
grep -q 'timeout waiting for a command' "$LOG"
check "relay log: a command trickler timed out" $?

echo "-- a client that never reads"
run_tool noread "$SRV" "$SESS"

echo "-- memory after a STARTTLS load ($SESS sessions, 200 messages)"
timeout 120 python3 "$E2E_DIR/smtpload.py" --server "$SRV" --sessions "$SESS" --messages 200 \
	--size 4096 --starttls --timeout 100 >"$T/tls-load.out" 2>&1
check "STARTTLS load: every message acknowledged" $? "$(tail -1 "$T/tls-load.out")"
from=$(log_lines "$LOG")
echo status >&3
wait_log "$LOG" '^config: ' 10 "$from"
check "console status answers after the load" $?
heap=$(tail -n +$((from + 1)) "$LOG" | grep -o 'TLS heap [0-9]* in use, peak [0-9]* of [0-9]* bytes' | tail -1)
echo "  ${heap:-TLS heap: not reported}"
echo "  relay peak RSS $(sed -n 's/^VmHWM:[[:space:]]*//p' /proc/"$HOST_PID"/status), now $(sed -n 's/^VmRSS:[[:space:]]*//p' /proc/"$HOST_PID"/status)"
tail -n +$((from + 1)) "$LOG" | grep -E '^(ram|inbound): ' | sed 's/^/  /'
kill -0 "$HOST_PID" 2>/dev/null
check "the relay is still running after all of it" $?
kill "$HOST_PID" 2>/dev/null
wait "$HOST_PID" 2>/dev/null
exec 3>&-

# ---- the QEMU board (LOAD_QEMU=1): storm and slow clients --------------
IMG=${QV_IMAGE:-build/qemu-virt/danegate.elf}
if [ "${LOAD_QEMU:-0}" = 1 ]; then
	echo "-- qemu-virt board"
	[ -f "$IMG" ] || make -s BOARD=qemu-virt >/dev/null
	QFLASH=$T/pflash.img
	QLOG=$T/serial.log
	new_flash "$QFLASH" $((64 * 1024 * 1024))
	python3 "$E2E_DIR/provision.py" "$QFLASH" $((248 * 256 * 1024)) smtp_timeout=10s \
		smtp_data_timeout=5s smtp_min_data_rate=500 >"$T/provision.out" 2>&1
	check "qemu: provision the short timeouts" $? "$(cat "$T/provision.out")"
	QPORT=$(free_port)
	qemu_start "$QLOG" "$QFLASH" "$QPORT"
	check "qemu: board boots" $? "$(tail -3 "$QLOG")"
	run_tool storm "127.0.0.1:$QPORT" $((SESS * 5)) "$SESS"
	run_tool slow "127.0.0.1:$QPORT" "$SESS"
	run_tool noread "127.0.0.1:$QPORT" "$SESS"
	grep -o 'ready: .*' "$QLOG" | tail -1 | sed 's/^/  qemu /'
	kill "$QEMU_PID" 2>/dev/null
	wait "$QEMU_PID" 2>/dev/null
fi

summary
rc=$?
[ $rc -eq 0 ] && [ -z "${E2E_KEEP:-}" ] && rm -rf "$T"
exit $rc
