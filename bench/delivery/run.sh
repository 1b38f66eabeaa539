#!/usr/bin/env bash
# bench/delivery/run.sh — DANE delivery throughput (messages/s) of the host
# board vs a throwaway Postfix (smtp_tls_security_level = dane) in the same
# run, same load, same sink, same path; and RAM (firmware static + TLS heap
# peak, host VmHWM) vs Postfix's total RSS. Method: bench/delivery/README.md.
# Prints figures and ratios; a benchmark, not a test (exit 1 only when it
# cannot run). Needs root (network namespace), postfix, python3, the world.
#   BENCH_DELIVERY_MSGS (default 100, at most 128: OUTBOUND_FLUSH_MAX),
#   BENCH_DELIVERY_MSGS_BIG (default 30: messages over 10 KB; queue size)
#   BENCH_DELIVERY_SIZES (default "1024 102400" bytes), BENCH_DELIVERY_BASE (28000)
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=$ROOT/build/bench/delivery
BIN=$ROOT/build/host/danegate
WORLD=$ROOT/tests/e2e/world
N=${BENCH_DELIVERY_MSGS:-100}
SIZES=${BENCH_DELIVERY_SIZES:-"1024 102400"}
SESS=$(sed -nE 's/^#define OUTBOUND_SESSIONS ([0-9]+).*/\1/p' firmware/relay/outbound.h)
SESS=${SESS:-2}
NS=dgbd$$
DGPORT=2600 PFPORT=2526
NBIG=${BENCH_DELIVERY_MSGS_BIG:-30}
WAIT=${BENCH_DELIVERY_TIMEOUT:-120}

need() { command -v "$1" >/dev/null || { echo "bench/delivery: $1 not installed ($2)"; exit 1; }; }
need postfix "package postfix"
need smtp-source "package postfix"
need ip "package iproute2"
[ "$(id -u)" = 0 ] || { echo "bench/delivery: needs root (network namespace, Postfix's users)"; exit 1; }
[ -x "$BIN" ] || { echo "bench/delivery: $BIN missing (make)"; exit 1; }

mkdir -p "$OUT"
chmod 755 "$ROOT/build" "$ROOT/build/bench" "$OUT" # Postfix's own users walk into pf/
W=$OUT/world
DGPID="" CONFD="" NSFWD=""
cleanup() {
	touch "$OUT/rss.stop"
	[ -n "$DGPID" ] && kill "$DGPID" 2>/dev/null && wait "$DGPID" 2>/dev/null
	[ -n "$CONFD" ] && eval "exec $CONFD>&-"
	[ -f "$OUT/pf/conf/main.cf" ] && postfix -c "$OUT/pf/conf" stop >/dev/null 2>&1
	[ -n "$NSFWD" ] && kill "$NSFWD" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	[ -e "$W/world.env" ] && timeout 30 "$WORLD/world.sh" down "$W" >/dev/null 2>&1
	return 0
}
trap cleanup EXIT
trap "exit 143" TERM INT HUP

# ---- the world (no Postfix sink of its own: ours is the relay), a namespace
BASE=${BENCH_DELIVERY_BASE:-28000}
for _ in 1 2 3 4 5; do
	python3 -c "import socket,sys
for p in [$BASE+1,$BASE+2,$BASE+3]+list(range($BASE+100,$BASE+150)):
    s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)
    try: s.bind(('127.0.0.1',p))
    except OSError: sys.exit(1)
    finally: s.close()" && break
	BASE=$((BASE + 200))
done
rm -rf "$W"
mkdir -p "$W" && chmod 755 "$W"
if ! WORLD_BASE=$BASE WORLD_POSTFIX=0 timeout 120 "$WORLD/world.sh" up "$W" >"$OUT/world.up.log" 2>&1; then
	echo "bench/delivery: world.sh up failed (WORLD_BASE=$BASE):"; tail -5 "$OUT/world.up.log"; exit 1
fi
# shellcheck disable=SC1091
. "$W/world.env"
SINKDIR=$MAILDIR/s01
DOM=$S01_DOMAIN
ip netns add "$NS" || { echo "bench/delivery: cannot create network namespace"; exit 1; }
ip netns exec "$NS" ip link set lo up
python3 "$WORLD/nsfwd.py" --netns "$NS" --pidfile "$OUT/nsfwd.pid" \
	--udp "127.0.0.1:53=$DNS_RESOLVER" --tcp "127.0.0.1:53=$DNS_RESOLVER" \
	--tcp "$SINK_s01_ADDR:25=$SINK_s01_LISTEN" >"$OUT/nsfwd.log" 2>&1 &
NSFWD=$!
for _ in $(seq 50); do [ -s "$OUT/nsfwd.pid" ] && break; sleep 0.1; done
printf 'nameserver 127.0.0.1\noptions edns0 trust-ad attempts:2 timeout:3\n' >"$OUT/resolv.conf"
# nsrun CMD...: CMD in the namespace, /etc/resolv.conf = ours (its own mount namespace)
nsrun() {
	ip netns exec "$NS" unshare -m sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$OUT/resolv.conf" "$@"
}
# nsexec CMD...: as nsrun, replacing the calling (background) shell: $! is CMD's pid
nsexec() {
	exec ip netns exec "$NS" unshare -m sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$OUT/resolv.conf" "$@"
}
inject() { # PORT RCPT SIZE LOG
	nsrun smtp-source -s "$SESS" -m "$N" -l "$3" -f bench@lan.test -t "$2" "127.0.0.1:$1" >"$4" 2>&1
}
sink_clear() { rm -f "$SINKDIR"/new/*; }
wait_log() { # FILE PATTERN COUNT SECONDS
	local i
	for i in $(seq $(($4 * 10))); do
		[ "$(grep -c -- "$2" "$1" 2>/dev/null)" -ge "$3" ] && return 0
		sleep 0.1
	done
	return 1
}
now() { date +%s.%N; }

# ---- danegate (host board) -------------------------------------------------
# dg_start LOGTAG [SETTING...]: boots the relay in the namespace on the same flash.
dg_start() {
	local tag=$1 a=() kv
	shift
	for kv in resolvers=127.0.0.1:53 "dns_probe_name=$DNS_PROBE_NAME" retry_schedule=1h "$@"; do a+=(--set "$kv"); done
	rm -f "$OUT/con"
	mkfifo "$OUT/con"
	exec {CONFD}<>"$OUT/con"
	DGLOG=$OUT/dg-$tag.log
	# each boot its own port: the last one's may still be in TIME_WAIT
	DGPORT=$((DGPORT + 1))
	nsexec "$BIN" --flash "$OUT/dg-flash.img" --smtp-port "$DGPORT" --listen 127.0.0.1 "${a[@]}" \
		<"$OUT/con" >"$OUT/dg-$tag.console" 2>"$DGLOG" &
	DGPID=$!
	wait_log "$DGLOG" 'ready:' 1 20
}
dg_stop() {
	kill "$DGPID" 2>/dev/null
	wait "$DGPID" 2>/dev/null
	DGPID=""
	eval "exec $CONFD>&-"
	CONFD=""
}
dg_run() { # SIZE -> DG_RATE DG_SECS, figures in DG_*
	local size=$1 got
	rm -f "$OUT"/dg-flash.img*
	# 1. injection with delivery blocked: every MX connection is redirected
	#    to a closed port (refused at once), so each message is deferred
	#    (retry in 1 h) after one attempt
	dg_start "inject-$size" "smtp_delivery_redirect=127.0.0.1:40000" || { echo "  danegate did not boot"; return 1; }
	inject "$DGPORT" "dg@$DOM" "$size" "$OUT/dg-inject-$size.log"
	wait_log "$DGLOG" 'result=deferred' "$N" 120 || echo "  (danegate: only $(grep -c result=deferred "$DGLOG") of $N deferred before the flush)"
	dg_stop
	# 2. reboot on the same flash without the redirect, flush, clock to the sink
	sink_clear
	dg_start "deliver-$size" || { echo "  danegate did not reboot"; return 1; }
	echo "$DGPID" >"$OUT/dg.pid"
	rm -f "$OUT/rss.stop"
	python3 bench/delivery/meter.py rss "$OUT/dg.pid" "$OUT/rss.stop" "$OUT/dg-rss-$size" &
	local mp=$! t0
	local cpu0
	cpu0=$(awk '{print $14 + $15}' "/proc/$DGPID/stat")
	t0=$(now)
	printf 'queue flush\r\n' >&"$CONFD"
	got=$(python3 bench/delivery/meter.py wait-sink "$SINKDIR" "$N" "$WAIT" "$t0")
	wait_log "$DGLOG" 'done delivered=' "$N" 30
	touch "$OUT/rss.stop"
	wait "$mp"
	printf 'status\r\n' >&"$CONFD"
	sleep 0.5
	DG_HWM=$(awk '/^VmHWM/ {print $2}' "/proc/$DGPID/status")
	DG_CPU=$(awk -v c0="$cpu0" -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15 - c0) / hz}' "/proc/$DGPID/stat")
	DG_STATUS=$(grep -m1 '^ram:' "$OUT/dg-deliver-$size.console")
	DG_GOT=${got% *} DG_SECS=${got#* }
	DG_VER=$(grep -c 'class=Verified result=delivered' "$DGLOG")
	dg_stop
}

# ---- Postfix -----------------------------------------------------------------
pf_conf() { # MODE: default, or reuse (smtp_tls_connection_reuse = yes, via tlsproxy)
	local d=$OUT/pf
	rm -rf "$d"
	mkdir -p "$d/conf" "$d/queue" "$d/data"
	cat >"$d/conf/main.cf" <<CF
compatibility_level = 3.6
config_directory = $d/conf
queue_directory = $d/queue
data_directory = $d/data
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix-bench.lan.test
mydomain = lan.test
myorigin = lan.test
mydestination =
relay_domains =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
alias_maps =
alias_database =
local_recipient_maps =
# injection: everything waits in the deferred queue until the flush
defer_transports = smtp
# delivery: DANE over DNSSEC (the world's validating Unbound via nsfwd)
smtp_dns_support_level = dnssec
smtp_tls_security_level = dane
smtp_tls_loglevel = 1
dnssec_probe =
# as many parallel deliveries as danegate's OUTBOUND_SESSIONS
default_destination_concurrency_limit = $SESS
smtp_destination_concurrency_limit = $SESS
initial_destination_concurrency = $SESS
in_flow_delay = 0
smtp_tls_connection_reuse = $([ "$1" = reuse ] && echo yes || echo no)
# mxsink.py ends a session after 200 commands; Postfix spends 4 per message
# (RSET, MAIL, RCPT, DATA), so a reused connection stops at 45 messages
smtp_connection_reuse_count_limit = 45
maillog_file = $d/maillog
maillog_file_prefixes = $d
shlib_directory = /usr/lib/postfix
daemon_directory = /usr/lib/postfix/sbin
command_directory = /usr/sbin
meta_directory = /etc/postfix
CF
	cat >"$d/conf/master.cf" <<CF
127.0.0.1:$PFPORT inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
tlsproxy  unix  -       -       n       -       0       tlsproxy
CF
	postfix -c "$d/conf" set-permissions >/dev/null 2>&1 || true
}
pf_run() { # SIZE MODE -> PF_*
	local size=$1 mode=$2 d=$OUT/pf got i
	pf_conf "$mode"
	nsrun postfix -c "$d/conf" start >"$OUT/pf-start.log" 2>&1 || { echo "  postfix did not start: $(tail -2 "$OUT/pf-start.log")"; return 1; }
	for i in $(seq 50); do nsrun sh -c "exec 3<>/dev/tcp/127.0.0.1/$PFPORT" 2>/dev/null && break; sleep 0.1; done
	# 1. injection: defer_transports = smtp keeps every message in the deferred queue
	inject "$PFPORT" "pf@$DOM" "$size" "$OUT/pf-inject-$size-$mode.log"
	for i in $(seq 600); do [ "$(find "$d/queue/deferred" -type f | wc -l)" -ge "$N" ] && break; sleep 0.1; done
	[ "$(find "$d/queue/deferred" -type f | wc -l)" -ge "$N" ] || echo "  (postfix: only $(find "$d/queue/deferred" -type f | wc -l) of $N deferred before the flush)"
	# 2. delivery on: no deferred transport, reload, flush, clock to the sink
	sink_clear
	postconf -c "$d/conf" -e defer_transports= && postfix -c "$d/conf" reload >/dev/null 2>&1
	sleep 2
	rm -f "$OUT/rss.stop"
	python3 bench/delivery/meter.py rss "$d/queue/pid/master.pid" "$OUT/rss.stop" "$OUT/pf-rss-$size-$mode" &
	local mp=$! t0
	sleep 0.2
	t0=$(now)
	postqueue -c "$d/conf" -f
	got=$(python3 bench/delivery/meter.py wait-sink "$SINKDIR" "$N" "$WAIT" "$t0")
	sleep 0.5 # processes still alive after the last message: counted in RSS
	touch "$OUT/rss.stop"
	wait "$mp"
	PF_GOT=${got% *} PF_SECS=${got#* }
	PF_VER=$(grep -c 'Verified TLS connection established' "$d/maillog")
	PF_SENT=$(grep -c 'status=sent' "$d/maillog")
	postfix -c "$d/conf" stop >/dev/null 2>&1
	for i in $(seq 50); do [ -e "$d/queue/pid/master.pid" ] && kill -0 "$(cat "$d/queue/pid/master.pid")" 2>/dev/null || break; sleep 0.1; done
	cp "$d/maillog" "$OUT/pf-maillog-$size-$mode"
}

rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.1f", n / s; else print "n/a" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "n/a" }'; }
sessions() { [ -f "$SINKDIR/sessions.log" ] && wc -l <"$SINKDIR/sessions.log" || echo 0; }

echo "delivery with DANE to one local sink (mx.s01.dane.test, TLSA 3 1 1, world on :$((BASE + 1))...)"
echo "$N messages per run (at most $NBIG over 10 KB), $SESS parallel deliveries each (danegate OUTBOUND_SESSIONS = Postfix destination concurrency)"
NALL=$N
for size in $SIZES; do
	# the host board's queue (3.6 MiB) holds ~35 messages of 100 KB
	N=$NALL
	[ "$size" -gt 10240 ] && [ "$N" -gt "$NBIG" ] && N=$NBIG
	echo "-- $N messages of $size bytes"
	c0=$(sessions)
	dg_run "$size" || continue
	dgconn=$(($(sessions) - c0))
	read -r dgrss _ _ dgpss <"$OUT/dg-rss-$size"
	DGR=$(rate "$DG_GOT" "$DG_SECS")
	# static RAM holds the TLS arena in full (its peak use is inside it);
	# the firmware has no other heap: static + stack peak is the whole figure
	st=$(sed -nE 's/.*static ([0-9]+) bytes, stack peak ([0-9]+) bytes.*/\1 \2/p' <<<"$DG_STATUS")
	fw=$(((${st% *} + ${st#* }) / 1024))
	printf '  danegate:          %3s of %s at the sink in %6s s = %6s msg/s, %s connections (%s Verified deliveries), %s s CPU\n' \
		"$DG_GOT" "$N" "$DG_SECS" "$DGR" "$dgconn" "$DG_VER" "$DG_CPU"
	for mode in default reuse; do
		c0=$(sessions)
		pf_run "$size" "$mode" || continue
		pfconn=$(($(sessions) - c0))
		read -r pfrss pfhwm pfn pfpss <"$OUT/pf-rss-$size-$mode"
		PFR=$(rate "$PF_GOT" "$PF_SECS")
		printf '  postfix (%-7s): %3s of %s at the sink in %6s s = %6s msg/s, %s connections (%s Verified TLS, %s sent); ratio danegate/postfix %s (target >= 1)\n' \
			"$mode" "$PF_GOT" "$N" "$PF_SECS" "$PFR" "$pfconn" "$PF_VER" "$PF_SENT" "$(ratio "$DGR" "$PFR")"
		printf '    postfix total RSS %s KiB (peak of the sum over its %s processes; sum of each VmHWM %s KiB; Pss %s KiB)\n' \
			"$pfrss" "$pfn" "$pfhwm" "$pfpss"
		printf '    RAM postfix/danegate: RSS %s vs the firmware figure (target >= 100), %s vs the host process VmHWM; Pss %s vs the firmware figure\n' \
			"$(ratio "$pfrss" "$fw")" "$(ratio "$pfrss" "$DG_HWM")" "$(ratio "$pfpss" "$fw")"
	done
	printf '  danegate RAM: firmware %s KiB = static (TLS arena included in full) + stack peak (console: %s); host process VmHWM %s KiB (peak RSS %s KiB, Pss %s KiB)\n' \
		"$fw" "${DG_STATUS#ram: }" "$DG_HWM" "$dgrss" "$dgpss"
done
