#!/usr/bin/env bash
# run-inbound.sh — end to end against the HOST board with real clients:
# swaks (plain, STARTTLS, AUTH PLAIN/LOGIN under TLS, AUTH in clear 538,
# wrong password 535, relay refused 554 5.7.1 outside relay_networks),
# posttls-finger (TLS 1.2/1.3 only), smtp-source load, then SIGKILL
# mid-load and a restart on the same flash file: every message that got
# 250 (counted client-side) is in the queue. Ends "N passed, M failed".
set -u
. "$(dirname "$0")/lib.sh"
cd "$E2E_ROOT"
trap e2e_cleanup EXIT
trap "exit 143" TERM INT HUP # so that the EXIT trap runs

[ -x build/host/danegate ] || make -s BOARD=host >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
mkdir -p build/e2e
T=$(mktemp -d "$E2E_ROOT/build/e2e/inbound.XXXXXX")
FLASH=$T/flash.img
LOG=$T/relay.log
PORT=$(free_port)
SRV=127.0.0.1:$PORT
USER=alice PASS='s3cret-pw'
# Sessions: 10 (the benchmark's load), set with smtp_max_sessions (the host
# board has room for INBOUND_MAX_SESSIONS = 32); without --set, the default.
SESS=10
SENT=0 # messages that got 250, counted from the client side
echo "e2e inbound (host board): $SRV, work dir ${T#$E2E_ROOT/}"

# relay_networks=127.0.0.1/32 and one AUTH user, where the board can be told.
# relay_networks=127.0.0.1/32 and one AUTH user: board settings given with
# --set KEY=VALUE; a board without that option gets them provisioned into
# its config area (FILE.config, settings blocks 2-3) before first boot.
OPTS=()
HAVE_NETS=0 HAVE_USERS=0
CFG_KIB=$(build/host/danegate --help | sed -n 's/.*config \([0-9]*\) KiB.*/\1/p')
if host_has_option --set; then
	OPTS+=(--set relay_networks=127.0.0.1/32 --set "smtp_users=$USER:$PASS" --set smtp_max_sessions=$SESS)
	HAVE_NETS=1 HAVE_USERS=1
elif [ "${CFG_KIB:-0}" -ge 1024 ]; then
	new_flash "$FLASH.config" $((CFG_KIB * 1024))
	python3 "$E2E_DIR/provision.py" "$FLASH.config" 0 relay_networks=127.0.0.1/32 \
		"smtp_users=$USER:$PASS" smtp_max_sessions=$SESS >/dev/null && HAVE_NETS=1 HAVE_USERS=1
	echo "settings provisioned into the config area (board has no --set)"
fi

host_start "$LOG" "$FLASH" "$PORT" "${OPTS[@]}"
check "host board boots on a fresh flash file (ready:)" $? "$(tail -3 "$LOG")"
[ "$(queue_count "$LOG")" = 0 ]
check "fresh flash: boot log says queue: 0 message(s)" $?

sw() { swaks --server "$SRV" -f a@lan.test -t b@example.net --timeout 20 "$@" </dev/null 2>&1; }

sw >"$T/plain.out"
expect "swaks plain: 250 2.0.0 Ok: queued as" "$T/plain.out" '<- +250 2\.0\.0 Ok: queued as'
grep -Eq '<- +250 2\.0\.0 Ok: queued as' "$T/plain.out" && SENT=$((SENT + 1))

sw -tls >"$T/tls.out"
expect "swaks STARTTLS: TLSv1.2/1.3 negotiated" "$T/tls.out" 'TLS started with cipher TLSv1\.[23]:'
expect "swaks STARTTLS: 250 2.0.0 Ok: queued as" "$T/tls.out" '<~ +250 2\.0\.0 Ok: queued as'
grep -Eq '<~ +250 2\.0\.0 Ok: queued as' "$T/tls.out" && SENT=$((SENT + 1))

# AUTH offered in clear must be refused before any credential is checked.
python3 "$E2E_DIR/smtpchat.py" "$SRV" "EHLO lan.test" \
	"AUTH PLAIN $(printf '\0%s\0%s' "$USER" "$PASS" | base64 -w0)" QUIT >"$T/clear.out" 2>&1
expect "AUTH PLAIN in clear: 538 5.7.11" "$T/clear.out" '^<- 538 5\.7\.11'
grep -q 'AUTH' <(sed -n '/EHLO/,/^-> AUTH/p' "$T/clear.out" | grep '^<- 250')
[ $? -ne 0 ]
check "EHLO in clear does not offer AUTH" $?

if [ $HAVE_USERS = 1 ]; then
	# From 127.0.0.2 (outside relay_networks when it can be set): only AUTH allows relaying.
	src=()
	[ $HAVE_NETS = 1 ] && src=(--local-interface 127.0.0.2)
	for mech in PLAIN LOGIN; do
		sw "${src[@]}" -tls -a "$mech" -au "$USER" -ap "$PASS" >"$T/auth-$mech.out"
		expect "AUTH $mech over STARTTLS: 235" "$T/auth-$mech.out" '<~ +235 '
		expect "AUTH $mech over STARTTLS: relayed, 250 queued" "$T/auth-$mech.out" '<~ +250 2\.0\.0 Ok: queued as'
		grep -Eq '<~ +250 2\.0\.0 Ok: queued as' "$T/auth-$mech.out" && SENT=$((SENT + 1))
	done
	sw -tls -a PLAIN -au "$USER" -ap wrong-password >"$T/auth-bad.out"
	expect "AUTH PLAIN wrong password: 535" "$T/auth-bad.out" '<~\* +535 '
else
	check "AUTH PLAIN/LOGIN over STARTTLS with a configured user" 1 \
		"host board has no --set and its config area (${CFG_KIB:-?} KiB) cannot hold settings"
	check "AUTH wrong password: 535" 1 "smtp_users not configurable"
fi

if [ $HAVE_NETS = 1 ]; then
	sw --local-interface 127.0.0.2 >"$T/norelay.out"
	expect "client 127.0.0.2 outside relay_networks=127.0.0.1/32: 554 5.7.1 at RCPT" \
		"$T/norelay.out" '<\*\* +554 5\.7\.1'
	! grep -q 'queued as' "$T/norelay.out"
	check "client outside relay_networks: nothing queued" $?
else
	check "client outside relay_networks: 554 5.7.1" 1 \
		"relay_networks not configurable (default includes 127.0.0.0/8)"
fi

# posttls-finger: the gateway's STARTTLS as Postfix's SMTP client sees it.
postfix_tools_conf "$T/pfconf"
MAIL_CONFIG=$T/pfconf timeout 30 posttls-finger -c -l may "[127.0.0.1]:$PORT" >"$T/finger.out" 2>&1
expect "posttls-finger: TLS connection established, TLSv1.2/1.3" "$T/finger.out" \
	'(Anonymous|Untrusted|Trusted|Verified) TLS connection established to .*: TLSv1\.[23] with cipher'
! grep -Eq 'established to .*: (SSLv3|TLSv1|TLSv1\.1) with' "$T/finger.out"
check "posttls-finger: no SSLv3 / TLSv1.0 / TLSv1.1" $?

# Load: smtp-source, SESS sessions (the relay's bound), 200 x 1 KB.
timeout 120 smtp-source -s "$SESS" -m 200 -l 1024 -f a@lan.test -t b@example.net "$SRV" >"$T/source.out" 2>&1
rc=$?
check "smtp-source -s $SESS -m 200 -l 1024: every message accepted" $rc "$(tail -2 "$T/source.out")"
[ $rc -eq 0 ] && SENT=$((SENT + 200))

# One session over the bound gets 421 4.3.2.
python3 "$E2E_DIR/smtpchat.py" --hold "$SESS" "$SRV" QUIT >"$T/busy.out" 2>&1
expect "session $((SESS + 1)) of $SESS allowed: 421 4.3.2" "$T/busy.out" '^<- 421 4\.3\.2'

# SIGKILL in the middle of a load; the loader records every 250 it got.
touch "$T/acked.txt"
python3 "$E2E_DIR/smtpload.py" --server "$SRV" --sessions "$SESS" --messages 3000 --size 2048 \
	--timeout 60 --acked-file "$T/acked.txt" >"$T/load.out" 2>&1 &
LOADER=$!
E2E_PIDS+=("$LOADER")
for _ in $(seq 1 500); do # until 30 acknowledged, at most 10 s
	[ "$(log_lines "$T/acked.txt")" -ge 30 ] && break
	sleep 0.02
done
kill9 "$HOST_PID"
wait "$LOADER"
MID=$(log_lines "$T/acked.txt")
[ "$MID" -gt 0 ] && [ "$MID" -lt 3000 ]
check "relay killed (SIGKILL) mid-load after $MID acknowledged messages" $? "$(cat "$T/load.out")"
SENT=$((SENT + MID))

FROM=$(log_lines "$LOG")
host_start "$LOG" "$FLASH" "$PORT" "${OPTS[@]}"
check "restart after SIGKILL on the same flash file" $?
N=$(tail -n +$((FROM + 1)) "$LOG" | sed -n 's/.*queue: \([0-9][0-9]*\) message(s).*/\1/p' | tail -1)
# Acked messages must all be there; a message committed whose 250 the kill
# swallowed may be there too (at most one per session).
[ -n "$N" ] && [ "$N" -ge "$SENT" ] && [ "$N" -le $((SENT + SESS)) ]
check "after restart queue holds every acknowledged message ($SENT acked, $N queued)" $? \
	"boot log: $(grep 'queue:' "$LOG" | tail -1)"

sw >"$T/plain2.out"
expect "after restart: swaks plain 250 queued" "$T/plain2.out" '<- +250 2\.0\.0 Ok: queued as'

# The gateway's key is made once and kept in flash: its TLSA record stays valid.
MAIL_CONFIG=$T/pfconf timeout 30 posttls-finger -c -l may "[127.0.0.1]:$PORT" >"$T/finger2.out" 2>&1
k1=$(grep -o 'pkey_fingerprint=[0-9A-F:]*' "$T/finger.out" | head -1)
k2=$(grep -o 'pkey_fingerprint=[0-9A-F:]*' "$T/finger2.out" | head -1)
[ -n "$k1" ] && [ "$k1" = "$k2" ]
check "after restart: same gateway key (posttls-finger pkey_fingerprint)" $? "${k1:-none} vs ${k2:-none}"

kill "$HOST_PID" 2>/dev/null
wait "$HOST_PID" 2>/dev/null
summary
rc=$?
[ $rc -eq 0 ] && [ -z "${E2E_KEEP:-}" ] && rm -rf "$T"
exit $rc
