# shellcheck shell=bash
# pf-lib.sh — posttls-finger against the world (sourced, bash). Postfix's
# tools want the real ports (53, 25, 587): they run in a network namespace
# with only lo, where nsfwd.py forwards 127.0.0.1:53 (validating), 127.0.0.2:53
# (non-validating) and every sink's 127.0.1.N:25 (and s26's :587) to the
# world on the host's loopback. Needs root. Exports pf_ns_up, pf_ns_down,
# pf_class (a posttls-finger run reduced to one word: its class or failure).
PF_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# pf_ns_up DIR NS: the namespace NS and its forwarder for the world in DIR
# (world.env sourced by the caller). 0, or 1 with the reason on stdout.
pf_ns_up() {
	local dir=$1 ns=$2 fw s
	command -v posttls-finger >/dev/null || { echo "posttls-finger not installed (package postfix)"; return 1; }
	ip netns add "$ns" 2>/dev/null || { echo "cannot create network namespace $ns (need root / CAP_SYS_ADMIN)"; return 1; }
	ip netns exec "$ns" ip link set lo up
	fw="--udp 127.0.0.1:53=$DNS_RESOLVER --tcp 127.0.0.1:53=$DNS_RESOLVER"
	fw="$fw --udp 127.0.0.2:53=$DNS_RESOLVER_NOVAL --tcp 127.0.0.2:53=$DNS_RESOLVER_NOVAL"
	for s in $SINKS; do
		eval "fw=\"\$fw --tcp \$SINK_${s}_ADDR:25=\$SINK_${s}_LISTEN\""
	done
	fw="$fw --tcp $SINK_s26_ADDR:587=$SINK_s26_LISTEN"
	rm -f "$dir/run/nsfwd.pid"
	# shellcheck disable=SC2086
	python3 "$PF_LIB_DIR/nsfwd.py" --netns "$ns" --pidfile "$dir/run/nsfwd.pid" $fw >"$dir/run/nsfwd.log" 2>&1 &
	for _ in $(seq 50); do [ -s "$dir/run/nsfwd.pid" ] && break; sleep 0.1; done
	[ -s "$dir/run/nsfwd.pid" ] || { echo "nsfwd.py did not start: $(tail -2 "$dir/run/nsfwd.log")"; return 1; }
	printf 'nameserver 127.0.0.1\noptions edns0 trust-ad attempts:2 timeout:3\n' >"$dir/run/resolv.conf"
	printf 'nameserver 127.0.0.2\noptions edns0 trust-ad attempts:2 timeout:3\n' >"$dir/run/resolv-noval.conf"
	mkdir -p "$dir/run/postfix"
	: >"$dir/run/postfix/main.cf"
}

# pf_ns_down DIR NS: stops the forwarder (by pid) and removes NS.
pf_ns_down() {
	[ -s "$1/run/nsfwd.pid" ] && kill "$(cat "$1/run/nsfwd.pid")" 2>/dev/null
	rm -f "$1/run/nsfwd.pid"
	ip netns del "$2" 2>/dev/null
	return 0
}

# pf_class DIR NS LABEL DEST LEVEL RESOLVCONF -> one word: what
# posttls-finger saw (Verified, Trusted, Untrusted, Anonymous), notls (EHLO
# without STARTTLS), handshake-failed, tlsa-error, nullmx, mx-error or none.
# Its full output goes to DIR/run/pf-LABEL.log.
pf_class() {
	local dir=$1 ns=$2 out
	out=$(MAIL_CONFIG=$dir/run/postfix timeout 40 ip netns exec "$ns" unshare -m sh -c \
		"mount --bind '$6' /etc/resolv.conf && exec posttls-finger -l '$5' -t 5 -T 10 \
		-o dnssec_probe= -o smtp_dns_support_level=dnssec '$4'" 2>&1)
	echo "$out" >"$dir/run/pf-$3.log"
	if grep -qE "(Verified|Trusted|Untrusted|Anonymous) TLS connection established" <<<"$out"; then
		sed -nE 's/.*: (Verified|Trusted|Untrusted|Anonymous) TLS connection established.*/\1/p' <<<"$out" | head -1
	elif grep -q "SSL_connect error" <<<"$out"; then echo handshake-failed
	elif grep -q "TLSA lookup error" <<<"$out"; then echo tlsa-error
	elif grep -q "does not accept mail (nullMX)" <<<"$out"; then echo nullmx
	elif grep -q "Destination address lookup failed" <<<"$out"; then echo mx-error
	elif grep -q "< 250[ -]" <<<"$out" && ! grep -q "< 250[ -]STARTTLS" <<<"$out"; then echo notls
	else echo none
	fi
}
