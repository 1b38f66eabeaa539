#!/usr/bin/env bash
# check-world.sh — self-test of the e2e DANE world, without danegate: for
# every scenario, dig against the validating Unbound checks the DNSSEC
# status (AD, SERVFAIL, TC over UDP), openssl s_client checks each sink's
# STARTTLS behaviour and chain, and Postfix's posttls-finger (run in a
# network namespace this script makes, resolver and MX ports forwarded to
# the world by nsfwd.py) gives the DANE class the manifest expects.
#   check-world.sh [DIR]     (default build/e2e-world; starts the world if
#                             it is not running and stops it again after)
# CHECK_PF_ALL=1 also prints posttls-finger's class for the scenarios the
# manifest gives no posttls-finger expectation (informational).
# Ends with "N passed, M failed"; exit status 1 if anything failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-$here/../../../build/e2e-world}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
started=0
if ! "$here/world.sh" status "$dir" >/dev/null 2>&1; then
	"$here/world.sh" up "$dir" || { echo "0 passed, 1 failed (world.sh up)"; exit 1; }
	started=1
fi
# shellcheck disable=SC1091
. "$dir/world.env"
# shellcheck disable=SC1091
. "$here/pf-lib.sh"
ns=dgw$$
cleanup() {
	pf_ns_down "$dir" "$ns"
	[ $started = 1 ] && "$here/world.sh" down "$dir"
}
trap cleanup EXIT

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
ko() { fail=$((fail + 1)); echo "FAIL $*"; }

# ------------------------------------------------------------- manifest
missing=""
for n in $(seq -w 1 30); do [[ " $SCENARIOS " == *" $n "* ]] || missing="$missing $n"; done
for id in $SCENARIOS $EXTRA_SCENARIOS; do
	eval "sk=\$S${id}_SINK fb=\$S${id}_FORBID"
	for s in $sk $fb; do [[ " $SINKS " == *" $s "* ]] || missing="$missing S$id:sink-$s"; done
done
if [ -z "$missing" ]; then ok "manifest names all 30 scenarios and only existing sinks"
else ko "manifest: missing$missing"; fi

# ------------------------------------------------------------------ DNS
ubh=${DNS_RESOLVER%:*} ubp=${DNS_RESOLVER##*:}
nvh=${DNS_RESOLVER_NOVAL%:*} nvp=${DNS_RESOLVER_NOVAL##*:}
# dns SCEN NAME TYPE EXPECT [noval]
#   EXPECT: ad (answer, AD), noad (answer, no AD), servfail, denial-ad
#   (NXDOMAIN or NODATA with AD), tc (UDP answer truncated), nullmx
dns() {
	local sc=$1 name=$2 type=$3 want=$4 h=$ubh p=$ubp out flags status n
	[ "${5:-}" = noval ] && h=$nvh p=$nvp
	if [ "$want" = tc ]; then
		out=$(dig -p "$p" @"$h" +dnssec +notcp +ignore +bufsize=1232 +time=3 +tries=1 "$name" "$type" 2>&1)
	else
		out=$(dig -p "$p" @"$h" +dnssec +time=3 +tries=2 "$name" "$type" 2>&1)
	fi
	flags=$(sed -n 's/.*;; flags: \([a-z ]*\);.*/\1/p' <<<"$out")
	status=$(sed -n 's/.*status: \([A-Z]*\),.*/\1/p' <<<"$out")
	n=$(sed -n 's/.*ANSWER: \([0-9]*\),.*/\1/p' <<<"$out")
	local has_ad=no
	[[ " $flags " == *" ad "* ]] && has_ad=yes
	local good=no
	case $want in
	ad) [ "$status" = NOERROR ] && [ "${n:-0}" -gt 0 ] && [ $has_ad = yes ] && good=yes ;;
	noad) [ "$status" = NOERROR ] && [ "${n:-0}" -gt 0 ] && [ $has_ad = no ] && good=yes ;;
	servfail) [ "$status" = SERVFAIL ] && good=yes ;;
	denial-ad) { [ "$status" = NXDOMAIN ] || { [ "$status" = NOERROR ] && [ "${n:-1}" = 0 ]; }; } &&
		[ $has_ad = yes ] && good=yes ;;
	tc) [[ " $flags " == *" tc "* ]] && good=yes ;;
	nullmx) [ $has_ad = yes ] && grep -qE "IN[[:space:]]+MX[[:space:]]+0 \.$" <<<"$out" && good=yes ;;
	esac
	if [ $good = yes ]; then ok "S$sc dns $name/$type $want${5:+ ($5)}"
	else ko "S$sc dns $name/$type want $want, got status=$status flags=[$flags] answers=$n${5:+ ($5)}"; fi
}

dns -- probe.dane.test A ad
dns -- probe.dane.test A noad noval
dns 01 s01.dane.test MX ad; dns 01 mx.s01.dane.test A ad; dns 01 _25._tcp.mx.s01.dane.test TLSA ad
dns 02 s02.dane.test MX ad; dns 02 _25._tcp.mx.s02.dane.test TLSA ad
dns 03 _25._tcp.mx.s03.dane.test TLSA ad
dns 04 _25._tcp.mx.s04.dane.test TLSA ad
dns 05 _25._tcp.mx.s05.dane.test TLSA ad
dns 05B s05b.dane.test MX ad; dns 05B _25._tcp.mx.s05b.dane.test TLSA ad
dns 06 _25._tcp.mx.s06.dane.test TLSA ad
dns 07 _25._tcp.mx.s07.dane.test TLSA ad
dns 08 mx.s08.dane.test A ad; dns 08 _25._tcp.mx.s08.dane.test TLSA denial-ad
dns 08B _25._tcp.mx.s08b.dane.test TLSA denial-ad
dns 09 mx.s09.dane.test A ad; dns 09 _25._tcp.mx.s09.dane.test TLSA servfail
dns 10 s10.bogus.dane.test MX servfail; dns 10 mx.s10.bogus.dane.test A servfail
dns 11 s11.insec.dane.test MX noad; dns 11 mx.s11.dane.test A ad; dns 11 _25._tcp.mx.s11.dane.test TLSA ad
dns 12 s12.insec.dane.test MX noad; dns 12 _25._tcp.mx.s12.dane.test TLSA ad
dns 13 s13.dane.test MX ad; dns 13 mx13.insec.dane.test A noad
dns 14 mx.s14.dane.test A ad; dns 14 _25._tcp.real.s14.dane.test TLSA ad
dns 15 mx.s15.dane.test A ad; dns 15 _25._tcp.mx.s15.dane.test TLSA ad; dns 15 _25._tcp.real.s15.dane.test TLSA denial-ad
dns 16 mx.s16.dane.test CNAME ad; dns 16 mx.s16.dane.test A noad; dns 16 _25._tcp.mx.s16.dane.test TLSA ad
for s in 17 18 19 20 21 22 23; do dns $s _25._tcp.mx.s$s.dane.test TLSA ad; done
dns 24 s24.dane.test MX nullmx
dns 25 s25.dane.test MX denial-ad; dns 25 s25.dane.test A ad; dns 25 _25._tcp.s25.dane.test TLSA ad
dns 26 smart.s26.dane.test A ad; dns 26 _587._tcp.smart.s26.dane.test TLSA ad
dns 27 s27.dane.test MX ad; dns 27 _25._tcp.mxa.s27.dane.test TLSA denial-ad; dns 27 _25._tcp.mxb.s27.dane.test TLSA ad
dns 28 _25._tcp.mxa.s28.dane.test TLSA ad; dns 28 _25._tcp.mxb.s28.dane.test TLSA ad
dns 29 s29.dane.test MX ad
dns 29 s29.dane.test MX noad noval; dns 29 mx.s29.dane.test A noad noval; dns 29 _25._tcp.mx.s29.dane.test TLSA noad noval
dns 30 _25._tcp.mx.s30.dane.test TLSA tc; dns 30 _25._tcp.mx.s30.dane.test TLSA ad
for x in xstall xtemp xrej; do dns X _25._tcp.mx.$x.dane.test TLSA ad; done
dns X7 mx.xv6.dane.test AAAA ad; dns X8 xaddr.dane.test MX ad; dns X8 mx.xaddr.bogus.dane.test A servfail
dns X10 _25._tcp.mx.xhuge.dane.test TLSA tc; dns X10 _25._tcp.mx.xhuge.dane.test TLSA ad
dns X4 _25._tcp.mx.xcname.dane.test TLSA ad; dns X4 _25._tcp.mx.xcname.dane.test CNAME ad

# ---------------------------------------------------------------- sinks
# sink NAME: STARTTLS behaviour and chain, per the sink's behaviour
sink() {
	local s=$1 l beh out cn
	eval "l=\$SINK_${s}_LISTEN beh=\$SINK_${s}_BEHAVIOUR"
	cn=$(openssl x509 -in "$dir/pki/leaf-$s.pem" -noout -subject -nameopt multiline | sed -n 's/ *commonName *= //p')
	out=$(echo QUIT | timeout 10 openssl s_client -starttls smtp -connect "$l" -servername "$cn" \
		-CAfile "$PKI_ROOT" -brief 2>&1)
	case $beh in
	no-starttls)
		if grep -q "CONNECTION ESTABLISHED" <<<"$out"; then ko "sink $s: TLS established, STARTTLS must not be offered"
		else ok "sink $s: no STARTTLS"; fi ;;
	stall)
		if python3 -c 'import socket,sys; s=socket.create_connection(sys.argv[1].rsplit(":",1)); s.settimeout(2)
try: d=s.recv(10)
except socket.timeout: sys.exit(0)
sys.exit(1)' "$l"; then ok "sink $s: connects, then silence"
		else ko "sink $s: said something or closed"; fi ;;
	endless-reply | long-line)
		local n
		n=$(printf 'EHLO check.dane.test\r\n' | timeout 5 nc -q 3 "${l%:*}" "${l##*:}" 2>/dev/null | head -c 300000 | wc -c)
		if [ "$n" -ge 300000 ]; then ok "sink $s ($beh): sends at least 300 kB"
		else ko "sink $s ($beh): sent only $n bytes"; fi ;;
	fail-handshake)
		if grep -q "CONNECTION ESTABLISHED" <<<"$out"; then ko "sink $s: handshake succeeded"
		else ok "sink $s: STARTTLS offered, handshake fails"; fi ;;
	*)
		local want="Verification: OK"
		[ "$s" = s02 ] && want="certificate has expired"
		if grep -q "CONNECTION ESTABLISHED" <<<"$out" && grep -q "$want" <<<"$out" &&
			grep -q "Peer certificate: CN = $cn" <<<"$out" && grep -qE "TLSv1\.[23]" <<<"$out"; then
			ok "sink $s: STARTTLS, CN=$cn, chain: $want"
		else ko "sink $s: $(tr '\n' ' ' <<<"$out" | cut -c1-300)"; fi ;;
	esac
}
for s in $SINKS; do sink "$s"; done
# TLS 1.1 must be refused
if echo QUIT | timeout 10 openssl s_client -starttls smtp -connect "$SINK_s01_LISTEN" -tls1_1 -brief 2>&1 |
	grep -q "CONNECTION ESTABLISHED"; then ko "sink s01 accepted TLS 1.1"; else ok "sink s01 refuses TLS 1.1"; fi

# ------------------------------------------------------- posttls-finger
if ! why=$(pf_ns_up "$dir" "$ns"); then
	ko "$why"
else
	for id in $SCENARIOS $EXTRA_SCENARIOS; do
		eval "want=\$S${id}_PF_CLASS dom=\$S${id}_DOMAIN res=\$S${id}_RESOLVER pol=\$S${id}_POLICY rh=\$S${id}_RELAYHOST"
		[ -n "$want" ] || [ "${CHECK_PF_ALL:-0}" = 1 ] || continue
		dest=$dom
		[ -n "$rh" ] && dest="[${rh%:*}]:${rh##*:}"
		rc=$dir/run/resolv.conf
		[ "$res" = noval ] && rc=$dir/run/resolv-noval.conf
		got=$(pf_class "$dir" "$ns" "$id" "$dest" "$pol" "$rc")
		if [ -z "$want" ]; then echo "info S$id posttls-finger $dest ($pol): $got"; continue; fi
		if [ "$got" = "$want" ]; then ok "S$id posttls-finger $dest ($pol): $got"
		else ko "S$id posttls-finger $dest ($pol): want $want, got $got (see $dir/run/pf-$id.log)"; fi
	done
fi

# ------------------------------------- sink storage and expect.sh
# swaks plays a correct relay for every "delivered" scenario (TLS with the
# manifest's SNI, or clear text for class clear); expect.sh must agree. Then
# two wrong relays: clear text where DANE applies, delivery to a FORBID sink.
if command -v swaks >/dev/null; then
	run=r$$
	for id in $SCENARIOS $EXTRA_SCENARIOS; do
		eval "want=\$S${id}_EXPECT cls=\$S${id}_CLASS sink=\$S${id}_SINK sni=\$S${id}_SNI dom=\$S${id}_DOMAIN"
		[ "$want" = delivered ] || continue
		eval "l=\$SINK_${sink}_LISTEN"
		tlsopt=""
		[ "$cls" = clear ] || tlsopt="--tls${sni:+ --tls-sni $sni}"
		# shellcheck disable=SC2086
		timeout 20 swaks --silent 2 -s "${l%:*}" -p "${l##*:}" -f "check@dane.test" -t "$run-$id@$dom" $tlsopt >/dev/null 2>&1
		out=$("$here/expect.sh" "$dir" "$id" "$run-$id@$dom")
		if [ $? = 0 ]; then ok "${out#ok   } (swaks)"; else ko "${out#FAIL } (swaks)"; fi
	done
	for x in xtemp:451 xrej:550; do
		eval "l=\$SINK_${x%:*}_LISTEN"
		out=$(timeout 20 swaks -s "${l%:*}" -p "${l##*:}" -f check@dane.test -t "$run@${x%:*}.dane.test" --tls 2>&1)
		if grep -qE "<~?\* *${x#*:} " <<<"$out"; then ok "sink ${x%:*}: RCPT answered ${x#*:} over TLS"
		else ko "sink ${x%:*}: RCPT not answered ${x#*:}"; fi
	done
	l=$SINK_s01_LISTEN
	timeout 20 swaks --silent 2 -s "${l%:*}" -p "${l##*:}" -f check@dane.test -t "$run-bad1@s01.dane.test" >/dev/null 2>&1
	if "$here/expect.sh" "$dir" 01 "$run-bad1@s01.dane.test" >/dev/null; then ko "expect.sh accepted a clear-text delivery for S01"
	else ok "expect.sh rejects a clear-text delivery for S01"; fi
	l=$SINK_s28a_LISTEN
	timeout 20 swaks --silent 2 -s "${l%:*}" -p "${l##*:}" -f check@dane.test -t "$run-bad2@s28.dane.test" --tls >/dev/null 2>&1
	if "$here/expect.sh" "$dir" 28 "$run-bad2@s28.dane.test" >/dev/null; then ko "expect.sh accepted S28 at the forbidden sink s28a"
	else ok "expect.sh rejects S28 delivered to the forbidden sink s28a"; fi
else
	ko "swaks not installed"
fi

echo "$pass passed, $fail failed"
[ $fail = 0 ]
