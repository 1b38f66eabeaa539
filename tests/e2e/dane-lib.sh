# shellcheck shell=bash
# dane-lib.sh — the DANE scenarios of ../shared/DANE-RULES.md against a
# relay board (sourced, bash, after lib.sh): the test world (world/world.sh)
# on a WORLD_BASE of the caller's, relay profiles (main / smarthost /
# non-validating resolver) as settings, a console on a FIFO, submission with
# swaks, the relay's `out:` lines (docs: /work/notes/CONTRACTS.md) judged
# against world.env and the sinks (world/expect.sh), and the posttls-finger
# vs `probe` interop. Exports dane_* functions; DANE_BOARD (host or qemu)
# picks the board dane_board_start PROFILE boots.
DANE_WORLD=$E2E_DIR/world
DANE_RELAY_PID=""
DANE_CON_FD=""
DANE_WORLD_DIR=""
DANE_NS=""

# dane_free_base START: the first of START, START+200, ... (at most 20
# tries) whose world ports (BASE+1..3 UDP/TCP, BASE+100..149 TCP) are all
# free on 127.0.0.1, so that worlds of other scripts or people do not clash.
dane_free_base() {
	python3 - "$1" <<'PY'
import socket, sys
start = int(sys.argv[1])
def free(port, kind):
    s = socket.socket(socket.AF_INET, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do: TIME_WAIT is no clash
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

# dane_world_up DIR BASE: a fresh world in DIR on ports BASE+1...; sources
# its world.env. 0 or 1 (world.sh's output in DIR.up.log).
dane_world_up() {
	DANE_WORLD_DIR=$1
	mkdir -p "$1"
	# Postfix's master takes its lock as mail_owner: the work dir (mktemp:
	# 0700) must be searchable by it.
	chmod 755 "$(dirname "$1")" "$1"
	WORLD_BASE=$2 timeout 120 "$DANE_WORLD/world.sh" up "$1" >"$1.up.log" 2>&1 || {
		tail -5 "$1.up.log"
		return 1
	}
	# shellcheck disable=SC1091
	. "$1/world.env"
}

# dane_board_start PROFILE: boots DANE_BOARD (host: BIN; qemu: IMG) with
# PROFILE's settings, the console on a FIFO; sets DANE_SRV (SMTP), DANE_LOG
# (the relay's log) and DANE_CON_LOG (its console output). Work files in
# DANE_T. 0 once ready (QEMU: and its DHCP lease).
dane_board_start() {
	local prof=$1 port kv args=()
	port=$(free_port)
	DANE_SRV=127.0.0.1:$port
	rm -f "$DANE_T/con-$prof"
	mkfifo "$DANE_T/con-$prof"
	dane_console_open "$DANE_T/con-$prof" || return 1
	if [ "$DANE_BOARD" = host ]; then
		DANE_LOG=$DANE_T/relay-$prof.log
		DANE_CON_LOG=$DANE_T/console-$prof.log
		while read -r kv; do args+=(--set "$kv"); done < <(dane_settings "$prof" "$SMTP_REDIRECT_HOST")
		"$BIN" --flash "$DANE_T/flash-$prof.img" --smtp-port "$port" --listen 127.0.0.1 "${args[@]}" \
			<"$DANE_T/con-$prof" >"$DANE_CON_LOG" 2>"$DANE_LOG" &
		DANE_RELAY_PID=$!
		E2E_PIDS+=("$DANE_RELAY_PID")
		wait_log "$DANE_LOG" 'ready:' 15
		return
	fi
	local flash=$DANE_T/pflash-$prof.img
	DANE_LOG=$DANE_T/serial-$prof.log
	DANE_CON_LOG=$DANE_LOG
	new_flash "$flash" $((64 * 1024 * 1024))
	# one argument per setting line: values may hold blanks (tls_policy)
	local kvs=()
	mapfile -t kvs < <(dane_settings "$prof" "$SMTP_REDIRECT_HOST_QEMU")
	python3 "$E2E_DIR/provision.py" "$flash" $((248 * 256 * 1024)) \
		"${kvs[@]}" >"$DANE_T/provision-$prof.out" 2>&1 || {
		cat "$DANE_T/provision-$prof.out"
		return 1
	}
	qemu-system-arm -M virt -cpu cortex-a15 -m 128M -nographic -monitor none \
		-kernel "$IMG" -global virtio-mmio.force-legacy=false \
		-drive if=pflash,unit=1,format=raw,file="$flash" \
		-netdev user,id=n0,hostfwd=tcp:127.0.0.1:"$port"-:25 \
		-device virtio-net-device,netdev=n0 -device virtio-rng-device \
		<"$DANE_T/con-$prof" >"$DANE_LOG" 2>&1 &
	DANE_RELAY_PID=$!
	E2E_PIDS+=("$DANE_RELAY_PID")
	wait_log "$DANE_LOG" 'ready:' 60 && wait_log "$DANE_LOG" 'DHCP lease' 30 || return 1
	if grep -q 'saved settings unreadable' "$DANE_LOG"; then
		echo "  provisioned settings not taken: $(grep config: "$DANE_LOG" | head -3)"
		return 1
	fi
}
# dane_board_stop: the relay (by pid) and its console writer.
dane_board_stop() {
	# the board's RAM figure (static + heap high-water, exact) into its log
	if [ "$DANE_BOARD" = qemu ] && [ -n "$DANE_RELAY_PID" ] && dane_console status; then
		wait_log "$DANE_LOG" 'ram high-water' 5 >/dev/null 2>&1 || true
	fi
	dane_console_close
	if [ -n "$DANE_RELAY_PID" ]; then
		kill "$DANE_RELAY_PID" 2>/dev/null
		wait "$DANE_RELAY_PID" 2>/dev/null
		DANE_RELAY_PID=""
	fi
	return 0
}

# dane_cleanup: the relay, the console FIFO, the namespace, the world.
dane_cleanup() {
	dane_board_stop
	[ -n "$DANE_NS" ] && pf_ns_down "$DANE_WORLD_DIR" "$DANE_NS"
	[ -n "$DANE_WORLD_DIR" ] && [ -e "$DANE_WORLD_DIR/world.env" ] &&
		timeout 30 "$DANE_WORLD/world.sh" down "$DANE_WORLD_DIR" >/dev/null 2>&1
	e2e_cleanup
	return 0
}

# dane_profile_of ID: the relay profile scenario ID needs: ca (trust
# anchors imported first: S<ID>_ANCHORS), smart (a relayhost), noval (the
# non-validating resolver) or main.
dane_profile_of() {
	local rh res an
	eval "rh=\$S${1}_RELAYHOST res=\$S${1}_RESOLVER an=\${S${1}_ANCHORS:-}"
	if [ -n "$an" ]; then echo ca
	elif [ -n "$rh" ]; then echo smart
	elif [ "$res" = noval ]; then echo noval
	else echo main
	fi
}

# dane_settings PROFILE HOST: the relay's settings (key=value, one a line)
# for PROFILE, the world seen at HOST (127.0.0.1, or 10.0.2.2 from QEMU).
# Per-destination policies (dane-only...) come from the manifest.
dane_settings() {
	local prof=$1 h=$2 port=$DNS_RESOLVER_PORT pol="" id p d rh=""
	[ "$prof" = noval ] && port=$DNS_RESOLVER_NOVAL_PORT
	for id in $SCENARIOS $EXTRA_SCENARIOS; do
		eval "p=\$S${id}_POLICY d=\$S${id}_DOMAIN"
		[ "$p" = dane ] || pol="$pol $d=$p"
		[ "$prof" = smart ] && [ -z "$rh" ] && eval "rh=\$S${id}_RELAYHOST"
	done
	echo "resolvers=[$h]:$port"
	echo "smtp_delivery_redirect=$h:$SMTP_REDIRECT_BASE"
	[ -n "$pol" ] && echo "tls_policy=${pol# }"
	[ "$prof" = smart ] && echo "smarthost=[${rh%:*}]:${rh##*:}"
	echo "retry_schedule=${DANE_RETRY:-1h}"
	# the resolver check ("does it validate?") asks the world's signed name
	dane_has_key dns_probe_name && echo "dns_probe_name=$DNS_PROBE_NAME"
	# X1 (a peer that stalls) ends with the command timeout: short here
	dane_has_key smtp_timeout && echo "smtp_timeout=${DANE_SMTP_TIMEOUT:-10s}"
	return 0
}

# dane_has_key KEY: the firmware's config table has KEY.
dane_has_key() {
	grep -q "{ \"$1\"," "$E2E_ROOT/firmware/config/config.c"
}

# dane_extras: the world's extra scenarios this firmware can run: X1 needs
# a settable command timeout (smtp_timeout), else it is left out and said.
dane_extras() {
	local v="X11 X12 X13"
	grep -q '{ "ca", cmd_ca' "$E2E_ROOT/firmware/console/console.c" || {
		echo "  (X11-X13, the verify policy, not run: no console ca command)" >&2
		v=""
	}
	if dane_has_key smtp_timeout; then echo "X1 X2 X3 X4 X5 X6 X7 X8 X9 X10 $v P1"
	else
		echo "  (X1, a stalling peer, not run: no smtp_timeout key to shorten the 5 min wait)" >&2
		echo "X2 X3 X4 X5 X6 X7 X8 X9 X10 $v P1"
	fi
}

# dane_console_open FIFO: a writer on the relay's console FIFO, opened
# read-write so that it never blocks (open it before starting the board).
dane_console_open() {
	local fd
	exec {fd}<>"$1" || return 1
	DANE_CON_FD=$fd
}
dane_console_close() {
	if [ -n "$DANE_CON_FD" ]; then
		eval "exec $DANE_CON_FD>&-"
		DANE_CON_FD=""
	fi
}
# dane_console CMD: one line to the relay's console.
dane_console() {
	[ -n "$DANE_CON_FD" ] || return 1
	printf '%s\r\n' "$1" >&"$DANE_CON_FD"
}

# dane_send SMTP_SERVER RCPT OUT: swaks submission; 0 if queued.
dane_send() {
	timeout 60 swaks --server "$1" -f e2e@lan.test -t "$2" --timeout 30 \
		--h-Subject "dane e2e $2" </dev/null >"$3" 2>&1
	grep -Eq '<- +250 .*queued' "$3"
}

# dane_out_lines LOG RCPT: the relay's out: lines for RCPT (exact to=).
dane_out_lines() {
	tr -d '\r' <"$1" | grep -F "to=$2 " | grep -E 'out: id='
}

# dane_final LOG RCPT: the line that decides: a delivered or bounced line
# if any (one is enough: a later deferral cannot undo it), else the last
# line (a deferral).
dane_final() {
	local all
	all=$(dane_out_lines "$1" "$2")
	[ -n "$all" ] || return 1
	if grep -Eq ' result=(delivered|bounced) ' <<<"$all"; then
		grep -E ' result=(delivered|bounced) ' <<<"$all" | head -1
	else
		tail -1 <<<"$all"
	fi
}

# dane_field LINE KEY: the value of KEY=... in an out: line (reason: the rest).
dane_field() {
	if [ "$2" = reason ]; then sed -n 's/.* reason=//p' <<<"$1"
	else sed -n "s/.* $2=\\([^ ]*\\).*/\\1/p" <<<"$1"
	fi
}

# dane_wait LOG SECONDS RCPT...: until every RCPT has a deciding out: line
# (delivered or bounced, or a deferral and nothing more for 3 s). 0 if all.
dane_wait() {
	local log=$1 end=$((SECONDS + $2)) r all pending quiet_since=$SECONDS n last_n=-1
	shift 2
	while [ $SECONDS -lt $end ]; do
		pending=0
		for r in "$@"; do
			all=$(dane_out_lines "$log" "$r")
			[ -n "$all" ] || { pending=1; break; }
		done
		n=$(grep -c 'out: id=' "$log" 2>/dev/null)
		[ "$n" != "$last_n" ] && { last_n=$n; quiet_since=$SECONDS; }
		[ $pending = 0 ] && [ $((SECONDS - quiet_since)) -ge 3 ] && return 0
		sleep 0.5
	done
	return 1
}

# Deferral and bounce codes DANE-RULES spells out (rules 9 and 12) are
# compared in full, the others by their class digit (the world's manifest
# gives Postfix's codes; README).
DANE_EXACT_DSN=" 03 04 05 07 18 20 22 23 24 X2 X3 X12 X13 "

# dane_judge LOG ID RCPT QUEUED_ID: one check line for scenario ID.
dane_judge() {
	local log=$1 id=$2 rcpt=$3 qid=$4 want cls dsn desc line res got_cls got_dsn tls why="" sinkv relay
	eval "want=\$S${id}_EXPECT cls=\$S${id}_CLASS dsn=\$S${id}_DSN desc=\$S${id}_DESC"
	desc=${desc//_/ }
	if ! line=$(dane_final "$log" "$rcpt"); then
		check "S$id $desc: $want${cls:+ $cls}" 1 "no out: line for $rcpt"
		return
	fi
	res=$(dane_field "$line" result)
	got_cls=$(dane_field "$line" class)
	got_dsn=$(dane_field "$line" dsn)
	tls=$(dane_field "$line" tls)
	relay=$(dane_field "$line" relay)
	[ -n "$qid" ] && [ "$(dane_field "$line" id)" != "$qid" ] &&
		why="$why; id=$(dane_field "$line" id), swaks said queued as $qid"
	[ "$res" = "$want" ] || why="$why; result=$res, want $want"
	if [[ "$DANE_EXACT_DSN" == *" $id "* ]]; then
		[ "$got_dsn" = "$dsn" ] || why="$why; dsn=$got_dsn, want $dsn"
	else
		[ "${got_dsn%%.*}" = "${dsn%%.*}" ] || why="$why; dsn=$got_dsn, want ${dsn%%.*}.x.x"
	fi
	case $want in
	delivered)
		[ "$got_cls" = "$cls" ] || why="$why; class=$got_cls, want $cls"
		if [ "$cls" = clear ]; then [ "${tls%%/*}" = none ] || why="$why; tls=$tls, want none"
		else
			case $tls in TLSv1.2/* | TLSv1.3/*) ;; *) why="$why; tls=$tls: NOT ENCRYPTED" ;; esac
		fi
		;;
	*)
		# a DANE hold never names a TLS class it did not reach
		case $got_cls in none | Verified | Trusted | Untrusted | Anonymous | clear) ;;
		*) why="$why; class=$got_cls" ;;
		esac
		# the class the connection reached, where the manifest names one
		[ -n "$cls" ] && [ "$cls" != - ] && [ "$got_cls" != "$cls" ] &&
			why="$why; class=$got_cls, want $cls"
		# the verify policy says why, in its own words, and never in clear
		if [ "$(eval echo "\$S${id}_POLICY")" = verify ] && [ "$want" = deferred ]; then
			case $(dane_field "$line" reason) in verify:*) ;; *) why="$why; reason not 'verify: ...'" ;; esac
		fi
		;;
	esac
	sinkv=$("$DANE_WORLD/expect.sh" "$DANE_WORLD_DIR" "$id" "$rcpt" 2>&1) || why="$why; ${sinkv#FAIL }"
	if [ -z "$why" ]; then
		check "S$id $desc: $res $got_cls $got_dsn via $relay" 0
	else
		check "S$id $desc: want $want${cls:+ $cls} $dsn" 1 "${why#; }; line: ${line#*out: }"
	fi
}

# dane_run_profile PROFILE SMTP_SERVER LOG RUN ID...: submits one message
# per scenario (recipient RUN-ID@DOMAIN), waits (DANE_WAIT s, default 120)
# for the out: lines, judges each. The board is up with PROFILE.
dane_run_profile() {
	local prof=$1 srv=$2 log=$3 run=$4 id dom rcpt q rcpts=() qids=() ids=() i
	shift 4
	for id in "$@"; do
		eval "dom=\$S${id}_DOMAIN"
		rcpt="$run-$(tr '[:upper:]' '[:lower:]' <<<"$id")@$dom"
		if dane_send "$srv" "$rcpt" "$DANE_T/swaks-$run-$id.out"; then
			q=$(sed -n 's/.*queued as \([0-9A-Za-z]*\).*/\1/p' "$DANE_T/swaks-$run-$id.out" | head -1)
			rcpts+=("$rcpt")
			qids+=("$q")
			ids+=("$id")
		else
			check "S$id submitted to the relay ($prof)" 1 "$(grep -E '<[-~*]' "$DANE_T/swaks-$run-$id.out" | tail -2 | tr '\n' ' ')"
		fi
	done
	[ ${#rcpts[@]} -gt 0 ] || return 0
	dane_wait "$log" "${DANE_WAIT:-120}" "${rcpts[@]}" ||
		echo "  (profile $prof: not every recipient had its out: line after ${DANE_WAIT:-120} s)"
	for i in "${!ids[@]}"; do
		dane_judge "$log" "${ids[$i]}" "${rcpts[$i]}" "${qids[$i]}"
	done
}

# dane_all RUN [IDS...]: every scenario (default: SCENARIOS and the extras
# in DANE_EXTRAS), grouped by profile, one board boot per profile through
# dane_board_start PROFILE (which sets DANE_SRV, DANE_LOG: the relay's log,
# DANE_CON_LOG: its console output) and dane_board_stop; the interop checks
# (DANE_PROBE=1) on the main profile's board.
dane_all() {
	local run=$1 prof id list
	shift
	list=""
	for id in ${*:-$SCENARIOS ${DANE_EXTRAS:-}}; do
		if [[ " $SCENARIOS $EXTRA_SCENARIOS " == *" $id "* ]]; then list="$list $id"
		else echo "  (S$id not run: not in this world's manifest, e.g. P1 without Postfix)"; fi
	done
	for prof in main smart noval ca; do
		local ids=()
		for id in $list; do
			[ "$(dane_profile_of "$id")" = "$prof" ] && ids+=("$id")
		done
		[ ${#ids[@]} -gt 0 ] || continue
		if ! dane_board_start "$prof"; then
			for id in "${ids[@]}"; do check "S$id (relay profile $prof)" 1 "the board did not start"; done
			dane_board_stop
			continue
		fi
		if dane_has_key dns_probe_name; then
			# the start-up resolver check on the world's signed name
			local want='resolver validates' what=validating
			[ "$prof" = noval ] && want='resolver does NOT validate' what="NOT validating"
			wait_log "$DANE_LOG" "$want" 20
			check "relay ($prof): resolver check says $what" $? "$(grep 'dns:' "$DANE_LOG" | head -2 | tr '\n' ' ')"
		fi
		if [ "$prof" = ca ]; then
			dane_ca_import "$PKI_ROOT"
			check "relay (ca): the world's root imported as a trust anchor (console ca add)" $? \
				"$(tail -n 3 "$DANE_CON_LOG" | tr -d '\r' | tr '\n' ' ')"
		fi
		dane_run_profile "$prof" "$DANE_SRV" "$DANE_LOG" "$run" "${ids[@]}"
		[ "${DANE_PROBE:-0}" = 1 ] && dane_interop "$prof"
		dane_board_stop
	done
}

# dane_ca_import PEMFILE: `ca add` on the relay's console, then the PEM
# pasted line by line (slowly enough for a UART); 0 once the console says
# the anchor was added and saved.
dane_ca_import() {
	local from line
	from=$(log_lines "$DANE_CON_LOG")
	dane_console "ca add" || return 1
	sleep 0.2
	while IFS= read -r line; do
		dane_console "$line"
		sleep 0.05
	done <"$1"
	wait_log "$DANE_CON_LOG" 'trust anchor added|certificate not added' 20 "$from" &&
		tail -n +"$((from + 1))" "$DANE_CON_LOG" | grep -q 'trust anchor added and saved'
}

# dane_probe DOMAIN SECONDS: runs `probe DOMAIN` on the console; prints the
# probe: lines of that run (from DANE_CON_LOG). 0 once "probe: done:" came.
dane_probe() {
	local from
	from=$(log_lines "$DANE_CON_LOG")
	dane_console "probe $1" || return 1
	wait_log "$DANE_CON_LOG" 'probe: done|unknown command|^error' "$2" "$from"
	tail -n +"$((from + 1))" "$DANE_CON_LOG" | tr -d '\r' | grep -E 'probe: |unknown command|^error'
}

# dane_probe_class PROBE_OUTPUT HOST: what the relay's probe found for the
# MX HOST, in posttls-finger's words (pf_class): the class it printed
# (Verified, Trusted, Untrusted, Anonymous; a TLS session that is "not
# verified" is Untrusted, as posttls-finger calls it), notls (no STARTTLS,
# or delivered in clear for want of it),
# handshake-failed, tlsa-error; HOST "-": the domain's own outcome (nullmx,
# mx-error).
dane_probe_class() {
	awk -v h="$2" '
	function host(s) { sub(/\[.*/, "", s); return s }
	/probe: connecting to / { cur = host($4) }
	/probe: class / { if (cur == h) c = $3 }
	index($0, "probe: " h "[") == 1 && /: not verified/ { c = "Untrusted" }
	index($0, "probe: " h "[") == 1 && /: no STARTTLS/ { c = "notls" }
	index($0, "probe: " h "[") == 1 && /: handshake failed/ { c = "handshake-failed" }
	index($0, "probe: done: " h "[") == 1 && / clear$/ { c = "notls" }
	/ TLSA: lookup failed/ { t = $2; sub(/^_[0-9]+\._tcp\./, "", t); if (t == h) c = "tlsa-error" }
	h == "-" && / MX: lookup failed/ { c = "mx-error" }
	h == "-" && / MX 0 \. / { c = "nullmx" }
	END { print c }' <<<"$1"
}

# dane_pf_host LOG: the MX host posttls-finger's run (pf_class's log) was
# about: the one it connected to, or whose TLSA lookup failed; "-" when it
# did not get that far (MX lookup).
dane_pf_host() {
	local h
	h=$(sed -n 's/.*Connected to \([^[]*\)\[.*/\1/p; s/.* via \([^ :]*\): TLSA lookup error.*/\1/p' "$1" | head -1)
	echo "${h:--}"
}

# dane_interop PROFILE: for every scenario of PROFILE with a posttls-finger
# expectation in the manifest (PF_CLASS), posttls-finger (in a namespace,
# world/pf-lib.sh) and the relay's `probe` of the same destination (the
# domain, or "[host]:port" for a relayhost) must say the same of the MX host
# posttls-finger reached.
dane_interop() {
	local prof=$1 id want dom pol res rh pfc pfh out dc dest rc agree=0 n=0
	[ -n "$DANE_NS" ] || {
		DANE_NS=dgd$$
		if ! why=$(pf_ns_up "$DANE_WORLD_DIR" "$DANE_NS"); then
			check "interop: posttls-finger namespace" 1 "$why"
			DANE_NS=""
			return
		fi
	}
	for id in $SCENARIOS $EXTRA_SCENARIOS; do
		eval "want=\$S${id}_PF_CLASS dom=\$S${id}_DOMAIN pol=\$S${id}_POLICY res=\$S${id}_RESOLVER rh=\$S${id}_RELAYHOST"
		[ -n "$want" ] && [ "$(dane_profile_of "$id")" = "$prof" ] || continue
		dest=$dom rc=$DANE_WORLD_DIR/run/resolv.conf
		[ -n "$rh" ] && dest="[${rh%:*}]:${rh##*:}"
		[ "$res" = noval ] && rc=$DANE_WORLD_DIR/run/resolv-noval.conf
		pfc=$(pf_class "$DANE_WORLD_DIR" "$DANE_NS" "i$id" "$dest" "$pol" "$rc")
		pfh=$(dane_pf_host "$DANE_WORLD_DIR/run/pf-i$id.log")
		out=$(dane_probe "$dest" "${DANE_PROBE_WAIT:-60}")
		dc=$(dane_probe_class "$out" "$pfh")
		n=$((n + 1))
		if [ -n "$dc" ] && [ "$dc" = "$pfc" ]; then
			agree=$((agree + 1))
			check "interop S$id $dom, MX $pfh: posttls-finger and probe: $pfc" 0
		else
			check "interop S$id $dom, MX $pfh: posttls-finger $pfc, probe ${dc:-?}" 1 \
				"$(grep -F "$pfh" <<<"$out" | tail -2 | tr '\n' ' ')$(tail -1 <<<"$out")"
		fi
	done
	echo "  interop ($prof): $agree of $n agree"
}
