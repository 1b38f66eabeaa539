#!/usr/bin/env bash
# run-stall.sh — delivery-side stalls and load on the HOST board (issue 6
# item 3): a resolver that never answers (stallmx.py drops every query) and
# MX peers that accept TCP and stall (no greeting; EHLO never answered; the
# final dot of DATA never answered, after a DANE-verified STARTTLS) in the
# e2e world. Each message is deferred with a reason (`out:` line, console
# `queue show`), while the relay keeps answering SMTP (banner, messages
# queued) and the console (`status`) and delivers to a healthy MX; the
# memory figures (peak RSS, TLS heap, stack) are printed, never asserted.
# The command/data timeouts are shortened with smtp_timeout /
# smtp_data_timeout when the firmware has those keys; without them the
# stalled peers' deferrals (5 and 3 min) are not waited for, and said.
# "N passed, M failed".
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/soak-lib.sh"
cd "$E2E_ROOT"
trap stall_cleanup EXIT
trap "exit 143" TERM INT HUP # so that the EXIT trap runs
STALLMX_PID=""
stall_cleanup() {
	[ -n "$STALLMX_PID" ] && kill "$STALLMX_PID" 2>/dev/null
	soak_cleanup
}

[ -x build/host/danegate ] || make -s -j2 BOARD=host >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
mkdir -p build/e2e
T=$(mktemp -d "$E2E_ROOT/build/e2e/stall.XXXXXX")
chmod 755 "$T"
SOAK_BOARD=host
SOAK_LOG=$T/relay.log
SOAK_CON_LOG=$T/console.log
SOAK_PORT=$(free_port)
SRV=127.0.0.1:$SOAK_PORT
echo "e2e stall (host board): $SRV, work dir ${T#$E2E_ROOT/}"

has_key() { grep -q "{ \"$1\"," firmware/config/config.c; }
TIMEOUTS=0
has_key smtp_timeout && has_key smtp_data_timeout && TIMEOUTS=1
[ $TIMEOUTS = 1 ] || echo "  (no smtp_timeout/smtp_data_timeout keys: the stalled MX deferrals (5 and 3 min) are not waited for)"

base=$(soak_free_base "${STALL_WORLD_BASE:-32000}")
soak_world_up "$T/world" "$base"
check "e2e world up (WORLD_BASE=${base:-none})" $? "$(tail -3 "$T/world.up.log" 2>/dev/null)"
[ -n "${SMTP_REDIRECT_BASE:-}" ] || { summary; exit 1; }

# The misbehaving peers, on SB+N where the relay's redirect sends MX host
# 127.0.1.N (SB = BASE+150, beside the world's BASE+100+N): s01 (DANE
# 3 1 1 of s01's leaf: stallmx serves that leaf) stalls after the dot,
# s17 never answers EHLO, xstall never greets, s19 is proxied to the
# world's well-behaved sink. The resolver that never answers: SB+60.
SB=$((base + 150))
DROP=$((SB + 60))
python3 "$E2E_DIR/stallmx.py" --events "$T/events.log" \
	"data,$((SB + 1)),$SINK_s01_CHAIN,$WORLD_DIR/pki/leaf-s01.key" \
	"ehlo,$((SB + 17))" "banner,$((SB + 35))" "proxy,$((SB + 19)),$((SMTP_REDIRECT_BASE + 19))" \
	"dns-drop,$DROP" >"$T/stallmx.out" 2>&1 </dev/null &
STALLMX_PID=$!
E2E_PIDS+=("$STALLMX_PID")
wait_log "$T/stallmx.out" 'listeners up' 10
check "stalling peers up (stallmx.py: dns-drop, banner, ehlo, data, proxy)" $? "$(cat "$T/stallmx.out")"

# relay_start KEY=VALUE...: the host board with these settings, console on a FIFO.
relay_start() {
	local kv args=() from
	for kv in "$@"; do args+=(--set "$kv"); done
	from=$(log_lines "$SOAK_LOG")
	build/host/danegate --flash "$T/flash.img" --smtp-port "$SOAK_PORT" --listen 127.0.0.1 \
		--set web_port=0 --set retry_schedule=1h "${args[@]}" \
		<"$SOAK_FIFO" >>"$SOAK_CON_LOG" 2>>"$SOAK_LOG" &
	SOAK_PID=$!
	E2E_PIDS+=("$SOAK_PID")
	wait_log "$SOAK_LOG" 'ready:' 20 "$from"
}
relay_stop() {
	[ -n "$SOAK_PID" ] && kill "$SOAK_PID" 2>/dev/null && wait "$SOAK_PID" 2>/dev/null
	SOAK_PID=""
}
# send RCPT NAME: one message by swaks; echoes the queue id ("" if refused).
send() {
	timeout 40 swaks --server "$SRV" -f stall@lan.test -t "$1" --timeout 30 \
		--h-Subject "stall $2" </dev/null >"$T/swaks-$2.out" 2>&1
	sed -n 's/.*<- *250 .*queued as \([0-9A-Fa-f]*\).*/\1/p' "$T/swaks-$2.out" | tail -1
}
# banner_ms: milliseconds from connect to the 220 greeting ("" if none in 10 s).
banner_ms() {
	python3 - "$SOAK_PORT" <<'PY'
import socket, sys, time
t0 = time.monotonic()
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
    line = s.makefile("rb").readline()
    s.sendall(b"QUIT\r\n")
    if line.startswith(b"220"):
        print(int((time.monotonic() - t0) * 1000))
except OSError:
    pass
PY
}
# console_ms CMD OUT: runs CMD on the console, its output into OUT; echoes
# the milliseconds to the end of the answer ("" if none in 15 s).
console_ms() {
	local from t0 t1 stop=$3
	from=$(log_lines "$SOAK_CON_LOG")
	t0=$(date +%s%N)
	soak_console "$1"
	wait_log "$SOAK_CON_LOG" "$stop" 15 "$from" || return 0
	t1=$(date +%s%N)
	tail -n +$((from + 1)) "$SOAK_CON_LOG" >"$2"
	echo $(((t1 - t0) / 1000000))
}
# out_line ID RESULT SECS: waits for the `out:` line of queue id ID with
# RESULT after line PHASE of the log (ids restart on a fresh flash); prints it.
PHASE=0
out_line() {
	wait_log "$SOAK_LOG" "out: id=$1 .*result=$2" "$3" "$PHASE" || return 1
	tail -n +$((PHASE + 1)) "$SOAK_LOG" | grep -E "out: id=$1 .*result=$2" | head -1 | sed 's/.*INFO  //'
}
# rss_peak: the relay process's VmHWM (KiB).
rss_peak() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$SOAK_PID/status" 2>/dev/null; }
ramline() { grep '^ram:' "$1" | tail -1; }

soak_console_open "$T/console.fifo"

# ---- 1. DNS that never answers ------------------------------------------
echo "stall 1: the resolver never answers (127.0.0.1:$DROP drops every query)"
relay_start "resolvers=127.0.0.1:$DROP" "smtp_delivery_redirect=127.0.0.1:$SB" \
	"dns_probe_name=$DNS_PROBE_NAME"
check "relay boots with a dead resolver" $? "$(tail -3 "$SOAK_LOG")"
ID1=$(send "dns1@$S19_DOMAIN" dns1)
[ -n "$ID1" ]
check "message accepted while DNS is dead (250 queued as ${ID1:-none})" $? "$(tail -3 "$T/swaks-dns1.out")"
L=$(out_line "$ID1" deferred 60)
check "deferred, not bounced nor lost: ${L:-no out: line in 60 s}" $((${#L} == 0))
echo "$L" | grep -Eqi 'reason=.*(dns|resolv|lookup|time|answer)'
check "the reason says DNS/lookup/timeout" $? "$L"
echo "$L" | grep -q 'relay=none'
check "no connection made without an MX answer (relay=none)" $?
[ "$(grep -c ' query ' "$T/events.log" 2>/dev/null)" -gt 0 ]
check "queries reached the dead resolver ($(grep -c ' query ' "$T/events.log") dropped)" $?
wait_log "$SOAK_LOG" 'resolver does not answer the probe' 30
check "validation probe: 'the resolver does not answer' logged" $? "$(grep 'dns:' "$SOAK_LOG" | tail -2)"
ms=$(banner_ms)
[ -n "$ms" ]
check "SMTP banner while lookups hang (${ms:-none} ms)" $?
ms=$(console_ms "queue show $ID1" "$T/qshow1.out" '^waiting: ')
[ -n "$ms" ] && grep -q '^waiting: ' "$T/qshow1.out"
check "console 'queue show $ID1' answers (${ms:-none} ms)" $? "$(tail -3 "$T/qshow1.out" 2>/dev/null)"
sed -n '/^id /,/^waiting: /p' "$T/qshow1.out" | sed 's/^/  | /'
grep -Eqi '^waiting: .*(dns|resolv|lookup|time|answer|retry|deferred|4\.)' "$T/qshow1.out"
check "queue show gives the deferral reason" $? "$(grep '^waiting' "$T/qshow1.out")"
ID2=$(send "dns2@$S01_DOMAIN" dns2)
[ -n "$ID2" ]
check "a second message accepted meanwhile (${ID2:-none})" $?
ms=$(console_ms status "$T/status1.out" '^config: (saved|changed)')
[ -n "$ms" ]
check "console 'status' answers (${ms:-none} ms)" $?
echo "  memory, dead resolver: peak RSS $(rss_peak) KiB; $(ramline "$T/status1.out")"
grep '^dns:' "$T/status1.out" | sed 's/^/  | /'
relay_stop

# ---- 2. MX peers that stall ---------------------------------------------
echo "stall 2: MX peers that accept TCP and stall (resolver: the world's)"
TO=()
[ $TIMEOUTS = 1 ] && TO=(smtp_timeout=10s smtp_data_timeout=10s)
rm -f "$T/flash.img" "$T/flash.img.config"
PHASE=$(log_lines "$SOAK_LOG")
relay_start "resolvers=$DNS_RESOLVER" "smtp_delivery_redirect=127.0.0.1:$SB" \
	"dns_probe_name=$DNS_PROBE_NAME" "${TO[@]}"
check "relay boots (fresh flash${TO:+, ${TO[*]}})" $? "$(tail -3 "$SOAK_LOG")"
wait_log "$SOAK_LOG" 'resolver validates DNSSEC' 20
check "the world's resolver validates" $?
T0=$SECONDS
IDB=$(send "banner@$SX1_DOMAIN" banner)
IDE=$(send "ehlo@$S17_DOMAIN" ehlo)
IDD=$(send "data@$S01_DOMAIN" data)
[ -n "$IDB" ] && [ -n "$IDE" ] && [ -n "$IDD" ]
check "3 messages to stalling MXs accepted ($IDB banner, $IDE EHLO, $IDD DATA)" $?
wait_log "$T/events.log" 'banner .* accepted' 30 && wait_log "$T/events.log" 'ehlo .* accepted' 30
check "the relay connected to the silent and the EHLO-stalling peers" $? "$(cat "$T/events.log")"
# While sessions hang: SMTP and console answer, mail is accepted.
ms=$(banner_ms)
[ -n "$ms" ]
check "SMTP banner while delivery sessions hang (${ms:-none} ms)" $?
python3 "$E2E_DIR/soakmail.py" send --server "$SRV" --run stall$$ --messages 20 --sessions 4 \
	--domains "$S19_DOMAIN" --log "$T/mail.log" --timeout 60 --want-all >"$T/send.out" 2>&1
check "20 more messages accepted meanwhile (4 sessions)" $? "$(cat "$T/send.out")"
ms=$(console_ms status "$T/status2.out" '^config: (saved|changed)')
[ -n "$ms" ]
check "console 'status' answers while sessions hang (${ms:-none} ms)" $?
echo "  memory, stalled sessions: peak RSS $(rss_peak) KiB; $(ramline "$T/status2.out")"
if [ $TIMEOUTS = 1 ]; then
	for x in "banner:$IDB:never greets" "ehlo:$IDE:never answers EHLO" "data:$IDD:never answers the dot"; do
		id=$(echo "$x" | cut -d: -f2)
		L=$(out_line "$id" deferred 120)
		check "peer that ${x##*:}: deferred after the timeout" $((${#L} == 0)) "no out: line for $id"
		echo "    $L"
		echo "$L" | grep -Eq 'dsn=4\.[0-9.]+ reason=.{4,}'
		check "  ... with a 4.x.x code and a reason" $? "$L"
	done
	# the DATA-stalling peer was reached over DANE-verified TLS: the
	# deferral names the class that connection had (not "none")
	L=$(out_line "$IDD" deferred 5)
	echo "$L" | grep -q ' tls=TLSv1\.[23]/.* class=Verified result=deferred '
	check "the deferral after a DANE-verified handshake says class=Verified" $? "$L"
	wait_log "$T/events.log" 'data .* dot' 5
	check "the DATA-stalling peer saw the whole message (dot) over DANE TLS" $?
	! tail -n +$((PHASE + 1)) "$SOAK_LOG" | grep -Eq "out: id=($IDB|$IDE|$IDD) .*result=(delivered|bounced)"
	check "none of the stalled messages counted delivered or bounced" $?
	echo "  stalled deliveries resolved after $((SECONDS - T0)) s (smtp_timeout/smtp_data_timeout 10 s)"
else
	echo "  SKIP (not counted): the stalled peers' deferrals need smtp_timeout/smtp_data_timeout"
fi
python3 "$E2E_DIR/soakmail.py" check --run stall$$ --log "$T/mail.log" --maildir "$MAILDIR" \
	--wait $([ $TIMEOUTS = 1 ] && echo 120 || echo 20) >"$T/check.out" 2>&1
rc=$?
if [ $TIMEOUTS = 1 ]; then
	check "the 20 messages to a healthy MX delivered (stalls notwithstanding)" $rc "$(cat "$T/check.out")"
else
	echo "  healthy MX while the delivery sessions hang on stalled peers (not counted):" \
		"$(sed -n 's/.*acknowledged [0-9]* (\([0-9]*\) recipients), delivered \([0-9]*\).*/\2 of \1 delivered in 20 s/p' "$T/check.out")"
fi
ms=$(console_ms "queue show $IDD" "$T/qshow2.out" '^waiting: ')
sed -n '/^id /,/^waiting: /p' "$T/qshow2.out" 2>/dev/null | sed 's/^/  | /'
ms=$(console_ms status "$T/status3.out" '^config: (saved|changed)')
[ -n "$ms" ]
check "console 'status' answers at the end (${ms:-none} ms)" $?
grep -E '^(ram|queue|inbound|dns):' "$T/status3.out" | sed 's/^/  | /'
echo "stall figures: peak RSS $(rss_peak) KiB (host board process, VmHWM);" \
	"$(ramline "$T/status3.out" | sed 's/^ram: [0-9]* KiB, //')"
# ---- 3. one destination stalls: the others are not held up ---------------
# smtp_destination_concurrency (default: the board's 2 sessions minus one):
# three messages for the domain whose MX never greets, then one for a
# healthy domain; the RFC timeouts (5 min) keep the stalled session busy.
echo "stall 3: a destination whose MX never greets holds at most one of the 2 delivery sessions"
relay_stop
rm -f "$T/flash.img" "$T/flash.img.config"
PHASE=$(log_lines "$SOAK_LOG")
relay_start "resolvers=$DNS_RESOLVER" "smtp_delivery_redirect=127.0.0.1:$SB" \
	"dns_probe_name=$DNS_PROBE_NAME"
check "relay boots (fresh flash, default timeouts and smtp_destination_concurrency)" $? "$(tail -3 "$SOAK_LOG")"
wait_log "$SOAK_LOG" 'resolver validates DNSSEC' 20 "$PHASE"
EV0=$(log_lines "$T/events.log")
IDS3=""
for i in 1 2 3; do IDS3="$IDS3 $(send "held$i@$SX1_DOMAIN" held$i)"; done
wait_log "$T/events.log" 'banner .* accepted' 20 "$EV0"
check "the first message for the stalled domain is being delivered (connected)" $?
T3=$SECONDS
IDH=$(send "fast@$S19_DOMAIN" fast)
L=$(out_line "$IDH" delivered 30)
check "mail for a healthy domain delivered in $((SECONDS - T3)) s while$IDS3 wait for the stalled one" \
	$((${#L} == 0)) "no delivered out: line for ${IDH:-?} in 30 s"
n=$(tail -n +$((EV0 + 1)) "$T/events.log" | grep -c 'banner .* accepted')
[ "$n" = 1 ]
check "the stalled destination holds 1 session, not both ($n connection(s) to its MX)" $?
relay_stop
bad='\b(assert(ion)?|panic|fault|abort(ed)?)\b|AddressSanitizer|runtime error'
! grep -Eqi "$bad" "$SOAK_LOG"
check "no assert/panic/fault in the board's log" $? "$(grep -Eim3 "$bad" "$SOAK_LOG")"
relay_stop
soak_console_close
kill "$STALLMX_PID" 2>/dev/null
soak_world_down
summary
rc=$?
[ $rc -eq 0 ] && [ -z "${E2E_KEEP:-}" ] && rm -rf "$T"
exit $rc
