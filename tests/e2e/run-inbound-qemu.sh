#!/usr/bin/env bash
# run-inbound-qemu.sh — the core inbound checks against the QEMU virt
# board through user networking (hostfwd 127.0.0.1:PORT -> guest :25;
# clients arrive from 10.0.2.2, inside the default relay_networks): swaks
# plain and STARTTLS, posttls-finger, smtp-source load, then QEMU killed
# with SIGKILL mid-load and rebooted on the same pflash file: every message
# that got 250 (counted client-side) is in the queue. Then a board
# provisioned with relay_networks and a user: 554 5.7.1 outside the
# networks, AUTH PLAIN/LOGIN over STARTTLS (235, relayed), 538 in clear,
# 535 for a wrong password. "N passed, M failed".
set -u
. "$(dirname "$0")/lib.sh"
cd "$E2E_ROOT"
trap e2e_cleanup EXIT
trap "exit 143" TERM INT HUP # so that the EXIT trap runs

IMG=${QV_IMAGE:-build/qemu-virt/danegate.elf}
[ -f "$IMG" ] || make -s BOARD=qemu-virt >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
mkdir -p build/e2e
T=$(mktemp -d "$E2E_ROOT/build/e2e/inbound-qemu.XXXXXX")
FLASH=$T/pflash.img
LOG=$T/serial.log
PORT=$(free_port)
SRV=127.0.0.1:$PORT
SESS=$(inbound_sessions)
SESS=${SESS:-4}
[ "$SESS" -gt 10 ] && SESS=10
SENT=0
echo "e2e inbound (qemu-virt board): $SRV, work dir ${T#$E2E_ROOT/}"

new_flash "$FLASH" $((64 * 1024 * 1024))
qemu_start "$LOG" "$FLASH" "$PORT"
check "qemu-virt boots on a fresh 64 MiB pflash (ready:, DHCP lease)" $? "$(tail -3 "$LOG")"
[ "$(queue_count "$LOG")" = 0 ]
check "fresh flash: boot log says queue: 0 message(s)" $?

sw() { swaks --server "$SRV" -f a@lan.test -t b@example.net --timeout 30 "$@" </dev/null 2>&1; }

sw >"$T/plain.out"
expect "swaks plain: 250 2.0.0 Ok: queued as" "$T/plain.out" '<- +250 2\.0\.0 Ok: queued as'
grep -Eq '<- +250 2\.0\.0 Ok: queued as' "$T/plain.out" && SENT=$((SENT + 1))

sw -tls >"$T/tls.out"
expect "swaks STARTTLS: TLSv1.2/1.3 negotiated" "$T/tls.out" 'TLS started with cipher TLSv1\.[23]:'
expect "swaks STARTTLS: 250 2.0.0 Ok: queued as" "$T/tls.out" '<~ +250 2\.0\.0 Ok: queued as'
grep -Eq '<~ +250 2\.0\.0 Ok: queued as' "$T/tls.out" && SENT=$((SENT + 1))

postfix_tools_conf "$T/pfconf"
MAIL_CONFIG=$T/pfconf timeout 60 posttls-finger -c -l may "[127.0.0.1]:$PORT" >"$T/finger.out" 2>&1
expect "posttls-finger: TLS connection established, TLSv1.2/1.3" "$T/finger.out" \
	'(Anonymous|Untrusted|Trusted|Verified) TLS connection established to .*: TLSv1\.[23] with cipher'

timeout 180 smtp-source -s "$SESS" -m 100 -l 1024 -f a@lan.test -t b@example.net "$SRV" >"$T/source.out" 2>&1
rc=$?
check "smtp-source -s $SESS -m 100 -l 1024: every message accepted" $rc "$(tail -2 "$T/source.out")"
[ $rc -eq 0 ] && SENT=$((SENT + 100))

# SIGKILL to QEMU in the middle of a load (the whole machine stops at once).
touch "$T/acked.txt"
python3 "$E2E_DIR/smtpload.py" --server "$SRV" --sessions "$SESS" --messages 3000 --size 2048 \
	--timeout 120 --acked-file "$T/acked.txt" >"$T/load.out" 2>&1 &
LOADER=$!
E2E_PIDS+=("$LOADER")
for _ in $(seq 1 300); do # until ~30 acknowledged, at most 30 s
	[ "$(log_lines "$T/acked.txt")" -ge 30 ] && break
	sleep 0.1
done
kill9 "$QEMU_PID"
wait "$LOADER"
MID=$(log_lines "$T/acked.txt")
[ "$MID" -gt 0 ] && [ "$MID" -lt 3000 ]
check "QEMU killed (SIGKILL) mid-load after $MID acknowledged messages" $? "$(cat "$T/load.out")"
SENT=$((SENT + MID))

FROM=$(log_lines "$LOG")
qemu_start "$LOG" "$FLASH" "$PORT"
check "reboot after SIGKILL on the same pflash file" $? "$(tail -3 "$LOG")"
N=$(tail -n +$((FROM + 1)) "$LOG" | sed -n 's/.*queue: \([0-9][0-9]*\) message(s).*/\1/p' | tail -1)
[ -n "$N" ] && [ "$N" -ge "$SENT" ] && [ "$N" -le $((SENT + SESS)) ]
check "after reboot queue holds every acknowledged message ($SENT acked, ${N:-?} queued)" $? \
	"boot log: $(tail -n +$((FROM + 1)) "$LOG" | grep 'queue:' | tail -1)"

sw >"$T/plain2.out"
expect "after reboot: swaks plain 250 queued" "$T/plain2.out" '<- +250 2\.0\.0 Ok: queued as'
MAIL_CONFIG=$T/pfconf timeout 60 posttls-finger -c -l may "[127.0.0.1]:$PORT" >"$T/finger2.out" 2>&1
k1=$(grep -o 'pkey_fingerprint=[0-9A-F:]*' "$T/finger.out" | head -1)
k2=$(grep -o 'pkey_fingerprint=[0-9A-F:]*' "$T/finger2.out" | head -1)
[ -n "$k1" ] && [ "$k1" = "$k2" ]
check "after reboot: same gateway key (posttls-finger pkey_fingerprint)" $? "${k1:-none} vs ${k2:-none}"

kill "$QEMU_PID" 2>/dev/null
wait "$QEMU_PID" 2>/dev/null

# Relay control and AUTH: a second board provisioned (config area, before
# first boot) with relay_networks=127.0.0.1/32 and one user. Through
# hostfwd every client arrives from 10.0.2.2, now outside relay_networks.
USER=alice PASS='s3cret-pw'
FLASH2=$T/pflash-auth.img
LOG2=$T/serial-auth.log
new_flash "$FLASH2" $((64 * 1024 * 1024))
python3 "$E2E_DIR/provision.py" "$FLASH2" $((248 * 256 * 1024)) \
	relay_networks=127.0.0.1/32 "smtp_users=$USER:$PASS" >"$T/provision.out" 2>&1
check "provision relay_networks + smtp_users into the config area" $? "$(cat "$T/provision.out")"
PORT=$(free_port)
SRV=127.0.0.1:$PORT
qemu_start "$LOG2" "$FLASH2" "$PORT"
check "provisioned board boots" $? "$(tail -3 "$LOG2")"
! grep -q 'saved settings unreadable\|relay_networks entry\|smtp_users entry' "$LOG2"
check "provisioned settings load (no config error in the boot log)" $? "$(grep config: "$LOG2")"

sw >"$T/norelay.out"
expect "client outside relay_networks: 554 5.7.1 at RCPT" "$T/norelay.out" '<\*\* +554 5\.7\.1'
! grep -q 'queued as' "$T/norelay.out"
check "client outside relay_networks: nothing queued" $?
python3 "$E2E_DIR/smtpchat.py" "$SRV" "EHLO lan.test" \
	"AUTH PLAIN $(printf '\0%s\0%s' "$USER" "$PASS" | base64 -w0)" QUIT >"$T/clear.out" 2>&1
expect "AUTH PLAIN in clear: 538 5.7.11" "$T/clear.out" '^<- 538 5\.7\.11'
for mech in PLAIN LOGIN; do
	sw -tls -a "$mech" -au "$USER" -ap "$PASS" >"$T/auth-$mech.out"
	expect "AUTH $mech over STARTTLS: 235" "$T/auth-$mech.out" '<~ +235 '
	expect "AUTH $mech over STARTTLS: relayed, 250 queued" "$T/auth-$mech.out" '<~ +250 2\.0\.0 Ok: queued as'
done
sw -tls -a PLAIN -au "$USER" -ap wrong-password >"$T/auth-bad.out"
expect "AUTH PLAIN wrong password: 535" "$T/auth-bad.out" '<~\* +535 '
! grep -q 'queued as' "$T/auth-bad.out"
check "wrong password: nothing queued" $?
kill "$QEMU_PID" 2>/dev/null
wait "$QEMU_PID" 2>/dev/null
summary
rc=$?
[ $rc -eq 0 ] && [ -z "${E2E_KEEP:-}" ] && rm -rf "$T"
exit $rc
