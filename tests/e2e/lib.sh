# lib.sh — shared helpers of the e2e scripts (sourced, bash): pass/fail
# bookkeeping with the "N passed, M failed" summary, free loopback ports,
# starting/stopping the host board and the QEMU board, the boot log's
# queue count. Only loopback addresses are ever used.
E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
E2E_DIR=$E2E_ROOT/tests/e2e
E2E_PASS=0
E2E_FAIL=0
E2E_PIDS=()

# check NAME STATUS [DETAIL]: STATUS 0 is a pass.
check() {
	local name=$1 st=$2 detail=${3:-}
	if [ "$st" -eq 0 ]; then
		E2E_PASS=$((E2E_PASS + 1))
		printf '  %-64s PASS\n' "$name"
	else
		E2E_FAIL=$((E2E_FAIL + 1))
		printf '  %-64s FAIL%s\n' "$name" "${detail:+  ($detail)}"
	fi
}
# expect NAME FILE REGEX: the output in FILE matches the extended REGEX.
expect() {
	if grep -Eq -- "$3" "$2"; then check "$1" 0; else
		check "$1" 1 "no /$3/ in $(basename "$2")"
		sed 's/^/      | /' "$2" | tail -12
	fi
}
summary() {
	echo "$E2E_PASS passed, $E2E_FAIL failed"
	[ "$E2E_FAIL" -eq 0 ]
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_log FILE REGEX SECONDS [FROM_LINE]: until a line (after line
# FROM_LINE, default 0) matches (0) or the time is up (1).
wait_log() {
	local end=$((SECONDS + $3)) from=$((${4:-0} + 1))
	while [ $SECONDS -lt $end ]; do
		tail -n +"$from" "$1" 2>/dev/null | grep -Eq -- "$2" && return 0
		sleep 0.1
	done
	return 1
}
# log_lines FILE: its current line count (0 if missing).
log_lines() {
	if [ -e "$1" ]; then wc -l <"$1"; else echo 0; fi
}

# queue_count LOG: N of the last "queue: N message(s)" boot line, or empty.
queue_count() {
	sed -n 's/.*queue: \([0-9][0-9]*\) message(s).*/\1/p' "$1" | tail -1
}

# host_has_option OPT: the host board's --help lists OPT.
host_has_option() {
	"$E2E_ROOT/build/host/danegate" --help 2>&1 | grep -q -- "$1"
}

# host_start LOG FLASH PORT [ARGS...]: boots the host board in the
# background on 127.0.0.1:PORT; HOST_PID is set; waits for "ready:".
host_start() {
	local log=$1 flash=$2 port=$3 from
	shift 3
	from=$(log_lines "$log")
	"$E2E_ROOT/build/host/danegate" --flash "$flash" --smtp-port "$port" --listen 127.0.0.1 \
		"$@" </dev/null >>"$log" 2>&1 &
	HOST_PID=$!
	E2E_PIDS+=("$HOST_PID")
	wait_log "$log" 'ready:' 15 "$from"
}

# qemu_start LOG FLASH PORT: boots the qemu-virt image with SMTP forwarded
# from 127.0.0.1:PORT; QEMU_PID is set; waits for the DHCP lease and the
# listener (the relay answers through hostfwd only after both).
qemu_start() {
	local log=$1 flash=$2 port=$3 from
	from=$(log_lines "$log")
	qemu-system-arm -M virt -cpu cortex-a15 -m 128M -nographic -monitor none \
		-kernel "${QV_IMAGE:-$E2E_ROOT/build/qemu-virt/danegate.elf}" \
		-global virtio-mmio.force-legacy=false \
		-drive if=pflash,unit=1,format=raw,file="$flash" \
		-netdev user,id=n0,hostfwd=tcp:127.0.0.1:"$port"-:25 \
		-device virtio-net-device,netdev=n0 -device virtio-rng-device \
		</dev/null >>"$log" 2>&1 &
	QEMU_PID=$!
	E2E_PIDS+=("$QEMU_PID")
	wait_log "$log" 'ready:' 60 "$from" && wait_log "$log" 'DHCP lease' 30 "$from"
}

# kill9 PID: SIGKILL, as a power cut would stop the relay; reaps it.
kill9() {
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# e2e_cleanup: kills what this script started (by pid).
e2e_cleanup() {
	local p
	for p in "${E2E_PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	return 0
}

# new_flash FILE BYTES: an erased (0xFF) flash image.
new_flash() {
	head -c "$2" /dev/zero | tr '\000' '\377' >"$1"
}

# inbound_sessions: the relay's default concurrent-session bound
# (INBOUND_MAX_SESSIONS in firmware/relay/inbound.h; board.mk may raise it).
inbound_sessions() {
	sed -n 's/^#define INBOUND_MAX_SESSIONS[[:space:]]*\([0-9][0-9]*\).*/\1/p' \
		"$E2E_ROOT/firmware/relay/inbound.h"
}

# postfix_tools_conf DIR: a minimal Postfix config dir for posttls-finger.
postfix_tools_conf() {
	mkdir -p "$1"
	printf 'compatibility_level = 3.6\nsmtp_tls_loglevel = 1\n' >"$1/main.cf"
}
