# soak-lib.sh — the kill-and-restart soak of run-soak.sh (host board) and
# run-soak-qemu.sh (QEMU board), sourced after lib.sh: the e2e world on a
# free WORLD_BASE, the board on one flash image with its console on a FIFO,
# soakmail.py submitting unique messages while the board is killed
# (SIGKILL) and restarted at random, then the drain and the verdict.
# Exports soak_free_base, soak_world_up/down, soak_board_start/kill,
# soak_console, soak_main. Knobs: SOAK_MSGS (1000), SOAK_RATE (msgs/s),
# SOAK_SESSIONS (4), SOAK_KILL_MIN/MAX (3/10 s), SOAK_DRAIN (s), SOAK_SEED.
SOAK_BOARD=${SOAK_BOARD:-host}
SOAK_PID=""
SOAK_CON_FD=""
SOAK_WORLD=""
SOAK_DOMAINS=s01.dane.test,s14.dane.test,s17.dane.test,s19.dane.test,s21.dane.test,s25.dane.test,xtls12.dane.test

# soak_free_base START: the first of START, START+200, ... whose world
# ports (BASE+1..3 TCP/UDP, BASE+100..149 TCP) are free on 127.0.0.1.
soak_free_base() {
	python3 - "$1" <<'PY'
import socket, sys
start = int(sys.argv[1])
def free(port, kind):
    s = socket.socket(socket.AF_INET, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()
for base in range(start, start + 20 * 200, 200):
    if all(free(base + i, socket.SOCK_STREAM) and free(base + i, socket.SOCK_DGRAM) for i in (1, 2, 3)) \
            and all(free(base + i, socket.SOCK_STREAM) for i in range(100, 150)):
        print(base)
        sys.exit(0)
sys.exit(1)
PY
}

# soak_world_up DIR BASE: the world (no Postfix: not needed here); sources world.env.
soak_world_up() {
	SOAK_WORLD=$1
	mkdir -p "$1"
	WORLD_POSTFIX=0 WORLD_BASE=$2 timeout 120 "$E2E_DIR/world/world.sh" up "$1" >"$1.up.log" 2>&1 || {
		tail -5 "$1.up.log"
		return 1
	}
	# shellcheck disable=SC1091
	. "$1/world.env"
}
soak_world_down() {
	[ -n "$SOAK_WORLD" ] && [ -e "$SOAK_WORLD/run/daemons" ] &&
		WORLD_POSTFIX=0 timeout 30 "$E2E_DIR/world/world.sh" down "$SOAK_WORLD" >/dev/null 2>&1
	SOAK_WORLD=""
	return 0
}

# soak_settings HOST: the relay's settings (key=value lines), the world seen at HOST.
soak_settings() {
	echo "resolvers=[$1]:$DNS_RESOLVER_PORT"
	echo "smtp_delivery_redirect=$1:$SMTP_REDIRECT_BASE"
	echo "dns_probe_name=$DNS_PROBE_NAME"
	echo "retry_schedule=1m"
}

# soak_console_open FIFO: a writer kept open (read-write: never blocks)
# across restarts, so every boot of the board reads the same console.
soak_console_open() {
	local fd
	rm -f "$1"
	mkfifo "$1" && exec {fd}<>"$1" || return 1
	SOAK_CON_FD=$fd
	SOAK_FIFO=$1
}
soak_console() {
	[ -n "$SOAK_CON_FD" ] && printf '%s\r\n' "$1" >&"$SOAK_CON_FD"
}

# soak_board_start: boots SOAK_BOARD on SOAK_FLASH, SMTP at SOAK_PORT, log
# SOAK_LOG (+ console output SOAK_CON_LOG on the host board). 0 once ready.
soak_board_start() {
	local from args=() kv
	from=$(log_lines "$SOAK_LOG")
	if [ "$SOAK_BOARD" = host ]; then
		while read -r kv; do args+=(--set "$kv"); done < <(soak_settings 127.0.0.1)
		"$E2E_ROOT/build/host/danegate" --flash "$SOAK_FLASH" --smtp-port "$SOAK_PORT" \
			--listen 127.0.0.1 --set web_port=0 "${args[@]}" \
			<"$SOAK_FIFO" >>"$SOAK_CON_LOG" 2>>"$SOAK_LOG" &
		SOAK_PID=$!
		E2E_PIDS+=("$SOAK_PID")
		wait_log "$SOAK_LOG" 'ready:' 20 "$from"
		return
	fi
	qemu-system-arm -M virt -cpu cortex-a15 -m 128M -nographic -monitor none \
		-kernel "$SOAK_IMG" -global virtio-mmio.force-legacy=false \
		-drive if=pflash,unit=1,format=raw,file="$SOAK_FLASH" \
		-netdev user,id=n0,hostfwd=tcp:127.0.0.1:"$SOAK_PORT"-:25 \
		-device virtio-net-device,netdev=n0 -device virtio-rng-device \
		<"$SOAK_FIFO" >>"$SOAK_LOG" 2>&1 &
	SOAK_PID=$!
	E2E_PIDS+=("$SOAK_PID")
	wait_log "$SOAK_LOG" 'ready:' 60 "$from" && wait_log "$SOAK_LOG" 'DHCP lease' 30 "$from"
}
soak_board_kill() {
	[ -n "$SOAK_PID" ] && kill9 "$SOAK_PID"
	SOAK_PID=""
}

soak_cleanup() {
	soak_board_kill
	[ -n "${SOAK_SENDER:-}" ] && kill "$SOAK_SENDER" 2>/dev/null
	soak_world_down
	e2e_cleanup
	return 0
}

# soak_status OUT: the console's `status` into OUT (the part after the command).
soak_status() {
	local log=$SOAK_CON_LOG from
	from=$(log_lines "$log")
	soak_console status
	wait_log "$log" '^config: (saved|changed)' 15 "$from"
	tail -n +$((from + 1)) "$log" | sed -n '/danegate .* up /,/^config: [sc][ah]/p' >"$1"
}

# soak_main: the whole soak; prints the checks and the summary; exit status.
soak_main() {
	local msgs=${SOAK_MSGS:-1000} rate sess=${SOAK_SESSIONS:-4} kmin=${SOAK_KILL_MIN:-3}
	local kmax=${SOAK_KILL_MAX:-10} drain=${SOAK_DRAIN:-240} base t0 kills=0 restart_fail=0
	local run seed=${SOAK_SEED:-$$} rc peak=0 rss n
	if [ "$SOAK_BOARD" = host ]; then rate=${SOAK_RATE:-8}; else rate=${SOAK_RATE:-5}; fi
	RANDOM=$seed
	run=soak$seed
	cd "$E2E_ROOT" || return 1
	mkdir -p build/e2e
	T=$(mktemp -d "$E2E_ROOT/build/e2e/soak-$SOAK_BOARD.XXXXXX")
	chmod 755 "$T"
	SOAK_LOG=$T/relay.log
	SOAK_CON_LOG=$T/console.log
	SOAK_PORT=$(free_port)
	if [ "$SOAK_BOARD" = host ]; then
		SOAK_FLASH=$T/flash.img
		[ -x build/host/danegate ] || make -s -j2 BOARD=host >/dev/null
	else
		SOAK_CON_LOG=$SOAK_LOG # QEMU: one serial line for log and console
		SOAK_FLASH=$T/pflash.img
		SOAK_IMG=${QV_IMAGE:-build/qemu-virt/danegate.elf}
		[ -f "$SOAK_IMG" ] || make -s -j2 BOARD=qemu-virt >/dev/null
	fi
	echo "soak ($SOAK_BOARD board): $msgs messages, $sess sessions, ~$rate msgs/s, kills every ${kmin}-${kmax} s, seed $seed, work dir ${T#$E2E_ROOT/}"

	base=$(soak_free_base "${SOAK_WORLD_BASE:-31000}")
	soak_world_up "$T/world" "$base"
	check "e2e world up (WORLD_BASE=${base:-none})" $? "$(tail -3 "$T/world.up.log" 2>/dev/null)"
	[ -n "${SMTP_REDIRECT_BASE:-}" ] || { summary; return 1; }

	if [ "$SOAK_BOARD" = qemu ]; then
		new_flash "$SOAK_FLASH" $((64 * 1024 * 1024))
		# shellcheck disable=SC2046
		python3 "$E2E_DIR/provision.py" "$SOAK_FLASH" $((248 * 256 * 1024)) \
			$(soak_settings "$SMTP_REDIRECT_HOST_QEMU") >"$T/provision.out" 2>&1
		check "settings provisioned into the pflash's config area" $? "$(cat "$T/provision.out")"
	fi
	soak_console_open "$T/console.fifo"
	soak_board_start
	check "$SOAK_BOARD board boots on a fresh flash image" $? "$(tail -3 "$SOAK_LOG")"
	wait_log "$SOAK_LOG" 'resolver validates DNSSEC' 20
	check "the world's resolver validates (DANE enforced)" $? "$(grep 'dns:' "$SOAK_LOG" | tail -2)"

	t0=$SECONDS
	python3 "$E2E_DIR/soakmail.py" send --server "127.0.0.1:$SOAK_PORT" --run "$run" \
		--messages "$msgs" --sessions "$sess" --rate "$rate" --domains "$SOAK_DOMAINS" \
		--log "$T/mail.log" --timeout $((msgs / rate * 3 + 120)) >"$T/send.out" 2>&1 &
	SOAK_SENDER=$!
	E2E_PIDS+=("$SOAK_SENDER")
	while kill -0 "$SOAK_SENDER" 2>/dev/null; do
		sleep "$((kmin + RANDOM % (kmax - kmin + 1))).$((RANDOM % 10))"
		kill -0 "$SOAK_SENDER" 2>/dev/null || break
		[ "$SOAK_BOARD" = host ] && [ -n "$SOAK_PID" ] &&
			rss=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$SOAK_PID/status" 2>/dev/null) &&
			[ "${rss:-0}" -gt "$peak" ] && peak=$rss
		soak_board_kill
		kills=$((kills + 1))
		soak_board_start || { restart_fail=$((restart_fail + 1)); echo "  restart $kills failed: $(tail -2 "$SOAK_LOG")"; }
	done
	wait "$SOAK_SENDER"
	rc=$?
	SOAK_SENDER=""
	sed 's/^/  | /' "$T/send.out"
	check "soakmail sent every message within its time bound" $rc "$(tail -1 "$T/send.out")"
	check "board restarted after each of the $kills kills" "$restart_fail" "$restart_fail restarts failed"
	[ "$kills" -ge 3 ]
	check "killed (SIGKILL) at least 3 times during the load ($kills)" $?
	n=$(grep -c '^acked ' "$T/mail.log")
	[ "$n" -ge $((msgs / 2)) ]
	check "most messages acknowledged despite the kills ($n of $msgs)" $?

	# Drain: the board (running again) flushes its queue; `queue flush`
	# now and then so no retry wait (retry_schedule 1m) stretches the run.
	[ -n "$SOAK_PID" ] || soak_board_start
	(
		end=$((SECONDS + drain))
		while [ $SECONDS -lt $end ]; do
			soak_console "queue flush"
			sleep 10
		done
	) &
	local flusher=$!
	python3 "$E2E_DIR/soakmail.py" check --run "$run" --log "$T/mail.log" \
		--maildir "$MAILDIR" --wait "$drain" --figures "$T/figures" >"$T/check.out" 2>&1
	rc=$?
	# whatever is still queued (committed, 250 lost in a kill) goes too
	local q="" end=$((SECONDS + 60))
	while [ $SECONDS -lt $end ]; do
		soak_status "$T/status.out"
		q=$(sed -n 's/^queue: \([0-9]*\) of .*/\1/p' "$T/status.out" | tail -1)
		[ "$q" = 0 ] && break
		sleep 3
	done
	kill "$flusher" 2>/dev/null
	wait "$flusher" 2>/dev/null
	# the check again: late deliveries of unacknowledged messages count too
	python3 "$E2E_DIR/soakmail.py" check --run "$run" --log "$T/mail.log" \
		--maildir "$MAILDIR" --figures "$T/figures" >"$T/check.out" 2>&1
	rc=$?
	sed 's/^/  | /' "$T/check.out"
	# shellcheck disable=SC1091
	. "$T/figures"
	[ "$LOST" = 0 ]
	check "every acknowledged message delivered to its sink: lost $LOST of $RCPTS" $?
	[ "$CORRUPT" = 0 ] && [ "$UNKNOWN" = 0 ]
	check "none corrupted (SHA-256 from X-Soak-Id on): $CORRUPT" $?
	[ "$MISDELIVERED" = 0 ]
	check "none at another recipient's sink: $MISDELIVERED" $?
	[ "$rc" = 0 ]
	check "soakmail check verdict" $rc
	[ "$q" = 0 ]
	check "queue drained to 0 after the soak (queue: ${q:-?})" $?
	sed 's/^/  | /' "$T/status.out"
	n=$(grep -c 'out: .* result=delivered' "$SOAK_LOG")
	echo "  out: lines: $n delivered, $(grep -c 'out: .* result=deferred' "$SOAK_LOG") deferred," \
		"$(grep -c 'out: .* result=bounced' "$SOAK_LOG") bounced"
	grep 'out: .* result=\(deferred\|bounced\)' "$SOAK_LOG" | sed 's/.*reason=/reason=/' |
		sort | uniq -c | sort -rn | head -5 | sed 's/^/  | /'
	! grep -q 'result=bounced' "$SOAK_LOG"
	check "no bounce (every destination is DANE-valid)" $?
	local bad='\b(assert(ion)?|panic|fault|abort(ed)?)\b|AddressSanitizer|runtime error'
	! grep -Eqi "$bad" "$SOAK_LOG"
	check "no assert/panic/fault in the board's log" $? "$(grep -Eim3 "$bad" "$SOAK_LOG")"
	if [ "$SOAK_BOARD" = host ] && [ -n "$SOAK_PID" ]; then
		rss=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$SOAK_PID/status" 2>/dev/null)
		[ "${rss:-0}" -gt "$peak" ] && peak=$rss
	fi
	echo "soak figures ($SOAK_BOARD): sent $SENT, acknowledged $ACKED ($RCPTS recipients)," \
		"delivered $DELIVERED, lost $LOST, corrupted $CORRUPT, duplicates $DUPLICATES," \
		"unacknowledged but delivered $UNACKED_DELIVERED, kills survived $kills," \
		"$((SECONDS - t0)) s$([ "$SOAK_BOARD" = host ] && echo ", peak RSS ${peak} KiB (of the boots sampled)")," \
		"$(sed -n 's/^ram: .*\(TLS heap .*\)/\1/p' "$T/status.out" | tail -1)"
	soak_board_kill
	soak_console_close
	soak_world_down
	summary
	rc=$?
	[ $rc -eq 0 ] && [ -z "${E2E_KEEP:-}" ] && rm -rf "$T"
	return $rc
}
soak_console_close() {
	if [ -n "$SOAK_CON_FD" ]; then
		eval "exec $SOAK_CON_FD>&-"
		SOAK_CON_FD=""
	fi
}
