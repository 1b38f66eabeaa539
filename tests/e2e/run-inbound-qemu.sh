#!/usr/bin/env bash
# run-inbound-qemu.sh — the core inbound checks against the QEMU virt
# board through user networking (hostfwd 127.0.0.1:PORT -> guest :25;
# clients arrive from 10.0.2.2, inside the default relay_networks): swaks
# plain and STARTTLS, posttls-finger, smtp-source load, then QEMU killed
# with SIGKILL mid-load and rebooted on the same pflash file: every message
# that got 250 (counted client-side) is in the queue. "N passed, M failed".
set -u
. "$(dirname "$0")/lib.sh"
cd "$E2E_ROOT"
trap e2e_cleanup EXIT

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

kill "$QEMU_PID" 2>/dev/null
wait "$QEMU_PID" 2>/dev/null
summary
rc=$?
[ $rc -eq 0 ] && [ -z "${E2E_KEEP:-}" ] && rm -rf "$T"
exit $rc
