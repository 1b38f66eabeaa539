#!/usr/bin/env bash
# world.sh — the end-to-end DANE test world: NSD with freshly signed zones
# under dane.test (RFC 6761 .test, cannot leak), a validating and a
# non-validating Unbound, a private PKI, MX sinks (mxsink.py) and the
# manifest DIR/world.env naming every scenario of DANE-RULES.md.
#   world.sh up DIR        (DIR under build/; WORLD_BASE=26000 by default)
#   world.sh down DIR      (kills what `up` started, by pid files)
#   world.sh status DIR    (exit 0 if every daemon is alive)
# Ports (all on 127.0.0.1, so QEMU reaches them at 10.0.2.2): NSD BASE+1,
# Unbound BASE+2, non-validating Unbound BASE+3, sink N at BASE+100+N.
# MX host N has A 127.0.1.N; the relay under test maps a.b.c.N:any to
# 127.0.0.1:(BASE+100+N) (see README.md, "smtp_delivery_redirect").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 up|down|status DIR" >&2; exit 2; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
BASE=${WORLD_BASE:-26000}
NSD_PORT=$((BASE + 1))
UB_PORT=$((BASE + 2))
UB2_PORT=$((BASE + 3))
SINK_BASE=$((BASE + 100))
PIDS="nsd unbound unbound-noval mxsink"
# A real Postfix as one more MX (sink "pf", index 39), unless WORLD_POSTFIX=0
PF_IDX=39
WITH_PF=0
if [ "${WORLD_POSTFIX:-1}" = 1 ] && [ "$(id -u)" = 0 ] && command -v postfix >/dev/null && id postfix >/dev/null 2>&1; then
	WITH_PF=1
	PIDS="$PIDS postfix"
fi

alive() { [ -s "$dir/run/$1.pid" ] && kill -0 "$(cat "$dir/run/$1.pid")" 2>/dev/null; }

down() {
	local p pid pids="" list=$PIDS
	[ -s "$dir/run/daemons" ] && list=$(cat "$dir/run/daemons")
	# the Postfix master's own pid file, in case `up` died before copying it
	if [ ! -s "$dir/run/postfix.pid" ] && [ -s "$dir/postfix/spool/pid/master.pid" ]; then
		tr -d ' ' <"$dir/postfix/spool/pid/master.pid" >"$dir/run/postfix.pid"
	fi
	for p in $list; do
		pid=$(cat "$dir/run/$p.pid" 2>/dev/null) || continue
		[ -n "$pid" ] || continue
		kill "$pid" 2>/dev/null || true
		pids="$pids $pid"
	done
	for pid in $pids; do
		for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	done
	for p in $list; do rm -f "$dir/run/$p.pid"; done
}

status() {
	local p rc=0
	for p in $PIDS; do
		if alive "$p"; then echo "$p: running (pid $(cat "$dir/run/$p.pid"))"; else echo "$p: DOWN"; rc=1; fi
	done
	[ -f "$dir/world.env" ] && grep -E '^(DNS_|SMTP_REDIRECT)' "$dir/world.env"
	return $rc
}

# status: the daemons this DIR's `up` started
[ "$cmd" = status ] && [ -s "$dir/run/daemons" ] && PIDS=$(cat "$dir/run/daemons")
case $cmd in
down) down; exit 0 ;;
status) status; exit $? ;;
up) ;;
*) echo "usage: $0 up|down|status DIR" >&2; exit 2 ;;
esac

down
rm -rf "$dir/pki" "$dir/dns" "$dir/run" "$dir/mail" "$dir/postfix" "$dir/world.env"
mkdir -p "$dir/pki" "$dir/dns" "$dir/run" "$dir/mail"
echo "$PIDS" >"$dir/run/daemons"

# ---------------------------------------------------------------- PKI
# root (P-256) -> int (P-256, pathlen 0) -> leaves; validity 2020..2120
# except the expired leaf of scenario 2 (2020..2021).
cd "$dir/pki"
cat >ca.cnf <<'EOF'
[ ca ]
default_ca = test
[ test ]
dir = .
database = ./index.txt
new_certs_dir = ./new
serial = ./serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[ any ]
commonName = supplied
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ v3_root ]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ v3_int ]
basicConstraints = critical,CA:true,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_leaf ]
basicConstraints = CA:false
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = ${ENV::SAN}
authorityKeyIdentifier = keyid
subjectKeyIdentifier = hash
EOF
mkdir -p new
: >index.txt
echo 1000 >serial
export SAN=DNS:unused
START=20200101000000Z END=21200101000000Z OLD_END=20210101000000Z
key() {
	case $2 in
	rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.key" 2>/dev/null ;;
	*) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" ;;
	esac
}
cert() { # name keytype cn issuer|self ext [end]
	key "$1" "$2"
	openssl req -config ca.cnf -new -key "$1.key" -subj "/CN=$3" -out "$1.csr"
	if [ "$4" = self ]; then
		openssl ca -batch -config ca.cnf -selfsign -keyfile "$1.key" -in "$1.csr" -notext \
			-extensions "$5" -startdate $START -enddate "${6:-$END}" -out "$1.pem" 2>/dev/null
	else
		openssl ca -batch -config ca.cnf -cert "$4.pem" -keyfile "$4.key" -in "$1.csr" -notext \
			-extensions "$5" -startdate $START -enddate "${6:-$END}" -out "$1.pem" 2>/dev/null
	fi
	openssl x509 -in "$1.pem" -outform DER -out "$1.der"
	openssl x509 -in "$1.pem" -pubkey -noout | openssl pkey -pubin -outform DER -out "$1.spki"
}
cert root p256 "Danegate E2E Root" self v3_root
cert int p256 "Danegate E2E Intermediate" root v3_int

# ------------------------------------------------------------ sinks
# idx name behaviour keytype CN SANs [end]   (leaf issued by int; the sink
# sends leaf + int, never the root)
SINKS_TABLE="
1 s01 normal p256 mx.s01.dane.test DNS:mx.s01.dane.test
2 s02 normal p256 elsewhere.example DNS:elsewhere.example $OLD_END
3 s03 normal p256 mx.s03.dane.test DNS:mx.s03.dane.test
4 s04 no-starttls p256 mx.s04.dane.test DNS:mx.s04.dane.test
5 s05 fail-handshake p256 mx.s05.dane.test DNS:mx.s05.dane.test
6 s06 normal p256 mx.s06.dane.test DNS:mx.s06.dane.test
7 s07 no-starttls p256 mx.s07.dane.test DNS:mx.s07.dane.test
8 s08 normal p256 mx.s08.dane.test DNS:mx.s08.dane.test
9 s09 normal p256 mx.s09.dane.test DNS:mx.s09.dane.test
10 s10 normal p256 mx.s10.bogus.dane.test DNS:mx.s10.bogus.dane.test
11 s11 normal p256 mx.s11.dane.test DNS:mx.s11.dane.test
12 s12 normal p256 mx.s12.dane.test DNS:mx.s12.dane.test
13 s13 normal p256 mx13.insec.dane.test DNS:mx13.insec.dane.test
14 s14 normal p256 real.s14.dane.test DNS:real.s14.dane.test
15 s15 normal p256 mx.s15.dane.test DNS:mx.s15.dane.test
16 s16 normal p256 mx.s16.dane.test DNS:mx.s16.dane.test
17 s17 normal p256 mx.s17.dane.test DNS:mx.s17.dane.test
18 s18 normal p256 mx.s18.dane.test DNS:mx.s18.dane.test
19 s19 normal p256 mx.s19.dane.test DNS:mx.s19.dane.test
20 s20 normal p256 www.elsewhere.example DNS:www.elsewhere.example
21 s21 normal p256 s21.dane.test DNS:s21.dane.test
22 s22 normal p256 mx.s22.dane.test DNS:mx.s22.dane.test
23 s23 normal p256 mx.s23.dane.test DNS:mx.s23.dane.test
24 s24 normal p256 s24.dane.test DNS:s24.dane.test
25 s25 normal rsa s25.dane.test DNS:s25.dane.test
26 s26 normal p256 smart.s26.dane.test DNS:smart.s26.dane.test
27 s27a normal p256 mxa.s27.dane.test DNS:mxa.s27.dane.test
28 s28a normal p256 mxa.s28.dane.test DNS:mxa.s28.dane.test
29 s29 normal p256 mx.s29.dane.test DNS:mx.s29.dane.test
30 s30 normal p256 mx.s30.dane.test DNS:mx.s30.dane.test
31 s27b normal p256 mxb.s27.dane.test DNS:mxb.s27.dane.test
32 s28b normal p256 mxb.s28.dane.test DNS:mxb.s28.dane.test
33 s08b no-starttls p256 mx.s08b.dane.test DNS:mx.s08b.dane.test
34 s05b normal p256 mx.s05b.dane.test DNS:mx.s05b.dane.test
35 xstall stall p256 mx.xstall.dane.test DNS:mx.xstall.dane.test
36 xtemp tempfail p256 mx.xtemp.dane.test DNS:mx.xtemp.dane.test
37 xrej reject-rcpt p256 mx.xrej.dane.test DNS:mx.xrej.dane.test
38 xcname normal p256 mx.xcname.dane.test DNS:mx.xcname.dane.test
40 xendless endless-reply p256 mx.xendless.dane.test DNS:mx.xendless.dane.test
41 xlong long-line p256 mx.xlong.dane.test DNS:mx.xlong.dane.test
42 xv6 normal p256 mx.xv6.dane.test DNS:mx.xv6.dane.test
43 xaddr normal p256 mx.xaddr.dane.test DNS:mx.xaddr.dane.test
44 xtls12 tls12 p256 mx.xtls12.dane.test DNS:mx.xtls12.dane.test
45 xhuge normal p256 mx.xhuge.dane.test DNS:mx.xhuge.dane.test
46 xverify normal p256 mx.xverify.dane.test DNS:mx.xverify.dane.test
47 xvname normal p256 other.xvname.dane.test DNS:other.xvname.dane.test
48 xvnoca normal p256 mx.xvnoca.dane.test DNS:mx.xvnoca.dane.test
"
: >"$dir/run/sinks.conf"
sinklist=""
while read -r idx name beh kt cn san end; do
	[ -n "${idx:-}" ] || continue
	SAN=$san cert "leaf-$name" "$kt" "$cn" int v3_leaf "${end:-}"
	cat "leaf-$name.pem" int.pem >"chain-$name.pem"
	echo "$name,127.0.0.1:$((SINK_BASE + idx)),$beh,$dir/pki/chain-$name.pem,$dir/pki/leaf-$name.key" \
		>>"$dir/run/sinks.conf"
	sinklist="$sinklist $name"
	eval "IDX_$name=$idx BEH_$name=$beh"
done <<<"$SINKS_TABLE"

if [ $WITH_PF = 1 ]; then
	SAN=DNS:mx.pf.dane.test cert leaf-pf p256 mx.pf.dane.test int v3_leaf
	cat "leaf-pf.pem" int.pem >"chain-pf.pem"
	sinklist="$sinklist pf"
	IDX_pf=$PF_IDX BEH_pf=postfix
fi

# TLSA association data, computed by openssl from the files above
hexof() { od -An -v -tx1 | tr -d ' \n'; }
d311() { openssl dgst -sha256 -binary "$1.spki" | hexof; }
d312() { openssl dgst -sha512 -binary "$1.spki" | hexof; }
d301() { openssl dgst -sha256 -binary "$1.der" | hexof; }
full() { hexof <"$1.der"; }
rnd() { head -c "$1" /dev/urandom | hexof; }
A() { echo "127.0.1.$(eval echo "\$IDX_$1")"; }

# ------------------------------------------------------------ zones
cd "$dir/dns"
ksk=$(ldns-keygen -a ECDSAP256SHA256 -k dane.test)
zsk=$(ldns-keygen -a ECDSAP256SHA256 dane.test)
bksk=$(ldns-keygen -a ECDSAP256SHA256 -k bogus.dane.test)
bzsk=$(ldns-keygen -a ECDSAP256SHA256 bogus.dane.test)
# A key bogus.dane.test does NOT sign with: its DS goes into the parent.
wrong=$(ldns-keygen -a ECDSAP256SHA256 -k bogus.dane.test)
P=$dir/pki
# Scenario 30 is about truncation (TC over UDP at 1232 bytes, then TCP),
# not about size: ~2.3 KB of TLSA data, a ~2.6 KB answer, within the
# relay's DNS_DATA_MAX (4096 bytes of RR data per answer).
big=""
for _ in 1 2; do big="$big
_25._tcp.mx.s30 IN TLSA 3 0 0 $(rnd 1100)"; done
huge=""
for _ in 1 2 3 4 5 6 7 8 9; do huge="$huge
_25._tcp.mx.xhuge IN TLSA 3 0 0 $(rnd 1100)"; done

cat >dane.test.zone <<EOF
\$ORIGIN dane.test.
\$TTL 300
@ IN SOA ns.dane.test. hostmaster.dane.test. 1 3600 600 86400 60
@ IN NS ns.dane.test.
ns IN A 127.0.0.1
; delegations: insec (no DS), bogus (DS of a key it does not use)
insec IN NS ns.dane.test.
bogus IN NS ns.dane.test.
$(ldns-key2ds -n -2 "$wrong.key" | sed 's/^bogus.dane.test./bogus/')
; 1 MX secure, A secure, 3 1 1 matches -> Verified
s01 IN MX 10 mx.s01
mx.s01 IN A $(A s01)
_25._tcp.mx.s01 IN TLSA 3 1 1 $(d311 $P/leaf-s01)
; 2 expired certificate naming another host, 3 1 1 -> Verified
s02 IN MX 10 mx.s02
mx.s02 IN A $(A s02)
_25._tcp.mx.s02 IN TLSA 3 1 1 $(d311 $P/leaf-s02)
; 3 digest mismatch -> defer 4.7.5
s03 IN MX 10 mx.s03
mx.s03 IN A $(A s03)
_25._tcp.mx.s03 IN TLSA 3 1 1 $(rnd 32)
; 4 usable TLSA, no STARTTLS -> defer 4.7.4
s04 IN MX 10 mx.s04
mx.s04 IN A $(A s04)
_25._tcp.mx.s04 IN TLSA 3 1 1 $(d311 $P/leaf-s04)
; 5 usable TLSA, handshake fails -> defer, no clear-text retry
s05 IN MX 10 mx.s05
mx.s05 IN A $(A s05)
_25._tcp.mx.s05 IN TLSA 3 1 1 $(d311 $P/leaf-s05)
; 5b second MX after a failed handshake (normal sink, matching TLSA)
s05b IN MX 10 mx.s05
s05b IN MX 20 mx.s05b
mx.s05b IN A $(A s05b)
_25._tcp.mx.s05b IN TLSA 3 1 1 $(d311 $P/leaf-s05b)
; 6 all TLSA unusable + STARTTLS -> Untrusted
s06 IN MX 10 mx.s06
mx.s06 IN A $(A s06)
_25._tcp.mx.s06 IN TLSA 1 1 1 $(d311 $P/leaf-s06)
_25._tcp.mx.s06 IN TLSA 0 0 1 $(d301 $P/root)
; 7 all unusable, no STARTTLS -> defer 4.7.4
s07 IN MX 10 mx.s07
mx.s07 IN A $(A s07)
_25._tcp.mx.s07 IN TLSA 1 1 1 $(d311 $P/leaf-s07)
_25._tcp.mx.s07 IN TLSA 0 0 1 $(d301 $P/root)
; 8 secure denial of TLSA -> opportunistic (8: TLS offered; 8b: clear)
s08 IN MX 10 mx.s08
mx.s08 IN A $(A s08)
s08b IN MX 10 mx.s08b
mx.s08b IN A $(A s08b)
; 9 TLSA bogus (its RRSIG is broken below) -> defer
s09 IN MX 10 mx.s09
mx.s09 IN A $(A s09)
_25._tcp.mx.s09 IN TLSA 3 1 1 $(d311 $P/leaf-s09)
; 11/12 secure MX host under an insecure MX RRset (in insec.dane.test)
mx.s11 IN A $(A s11)
_25._tcp.mx.s11 IN TLSA 3 1 1 $(d311 $P/leaf-s11)
mx.s12 IN A $(A s12)
_25._tcp.mx.s12 IN TLSA 3 1 1 $(d311 $P/leaf-s12)
; 13 MX secure, host address insecure
s13 IN MX 10 mx13.insec.dane.test.
; 14 MX host is a secure CNAME, TLSA at the target (decoy at the alias)
s14 IN MX 10 mx.s14
mx.s14 IN CNAME real.s14
real.s14 IN A $(A s14)
_25._tcp.real.s14 IN TLSA 3 1 1 $(d311 $P/leaf-s14)
_25._tcp.mx.s14 IN TLSA 3 1 1 $(rnd 32)
; 15 secure CNAME, TLSA only at the original name
s15 IN MX 10 mx.s15
mx.s15 IN CNAME real.s15
real.s15 IN A $(A s15)
_25._tcp.mx.s15 IN TLSA 3 1 1 $(d311 $P/leaf-s15)
; 16 secure CNAME to an insecure target: only the original name counts
s16 IN MX 10 mx.s16
mx.s16 IN CNAME mx16.insec.dane.test.
_25._tcp.mx.s16 IN TLSA 3 1 1 $(d311 $P/leaf-s16)
; 17 2 0 1 of the issuing CA, chain sent, name matches -> Verified
s17 IN MX 10 mx.s17
mx.s17 IN A $(A s17)
_25._tcp.mx.s17 IN TLSA 2 0 1 $(d301 $P/int)
; 18 2 0 1 of the root, root not sent -> defer
s18 IN MX 10 mx.s18
mx.s18 IN A $(A s18)
_25._tcp.mx.s18 IN TLSA 2 0 1 $(d301 $P/root)
; 19 2 0 0 full root in DNS, root not sent -> Verified
s19 IN MX 10 mx.s19
mx.s19 IN A $(A s19)
_25._tcp.mx.s19 IN TLSA 2 0 0 $(full $P/root)
; 20 DANE-TA match, leaf names another domain only -> defer
s20 IN MX 10 mx.s20
mx.s20 IN A $(A s20)
_25._tcp.mx.s20 IN TLSA 2 0 1 $(d301 $P/int)
; 21 DANE-TA match, leaf names the recipient domain, MX secure -> Verified
s21 IN MX 10 mx.s21
mx.s21 IN A $(A s21)
_25._tcp.mx.s21 IN TLSA 2 0 1 $(d301 $P/int)
; 22 2 0 1 matching the leaf itself -> not a match -> defer
s22 IN MX 10 mx.s22
mx.s22 IN A $(A s22)
_25._tcp.mx.s22 IN TLSA 2 0 1 $(d301 $P/leaf-s22)
; 23 3 1 1 matches, 3 1 2 of the same key does not -> defer
s23 IN MX 10 mx.s23
mx.s23 IN A $(A s23)
_25._tcp.mx.s23 IN TLSA 3 1 1 $(d311 $P/leaf-s23)
_25._tcp.mx.s23 IN TLSA 3 1 2 $(rnd 64)
; 24 null MX (an A record and TLSA exist: no address fallback allowed)
s24 IN MX 0 .
s24 IN A $(A s24)
_25._tcp.s24 IN TLSA 3 1 1 $(d311 $P/leaf-s24)
; 25 no MX, A secure, TLSA at the domain -> implicit MX (RSA-2048 leaf)
s25 IN A $(A s25)
_25._tcp.s25 IN TLSA 3 1 1 $(d311 $P/leaf-s25)
; 26 smarthost on 587 (port 25 record is a decoy)
smart.s26 IN A $(A s26)
_587._tcp.smart.s26 IN TLSA 3 1 1 $(d311 $P/leaf-s26)
_25._tcp.smart.s26 IN TLSA 3 1 1 $(rnd 32)
; 27 MX 10 without TLSA, MX 20 with TLSA -> MX 10 first
s27 IN MX 10 mxa.s27
s27 IN MX 20 mxb.s27
mxa.s27 IN A $(A s27a)
mxb.s27 IN A $(A s27b)
_25._tcp.mxb.s27 IN TLSA 3 1 1 $(d311 $P/leaf-s27b)
; 28 preferred MX fails DANE, the second passes
s28 IN MX 10 mxa.s28
s28 IN MX 20 mxb.s28
mxa.s28 IN A $(A s28a)
mxb.s28 IN A $(A s28b)
_25._tcp.mxa.s28 IN TLSA 3 1 1 $(rnd 32)
_25._tcp.mxb.s28 IN TLSA 3 1 1 $(d311 $P/leaf-s28b)
; 29 asked through the non-validating resolver: never secure. The TLSA
; does NOT match, so treating it as secure defers, as insecure delivers.
s29 IN MX 10 mx.s29
mx.s29 IN A $(A s29)
_25._tcp.mx.s29 IN TLSA 3 1 1 $(rnd 32)
; 30 TLSA RRset ~2.6 KB: truncated over UDP (1232), complete over TCP
s30 IN MX 10 mx.s30
mx.s30 IN A $(A s30)
_25._tcp.mx.s30 IN TLSA 3 1 1 $(d311 $P/leaf-s30)$big
; extra X1-X3: DANE fine, then the peer stalls / tempfails / rejects
xstall IN MX 10 mx.xstall
mx.xstall IN A $(A xstall)
_25._tcp.mx.xstall IN TLSA 3 1 1 $(d311 $P/leaf-xstall)
xtemp IN MX 10 mx.xtemp
mx.xtemp IN A $(A xtemp)
_25._tcp.mx.xtemp IN TLSA 3 1 1 $(d311 $P/leaf-xtemp)
xrej IN MX 10 mx.xrej
mx.xrej IN A $(A xrej)
_25._tcp.mx.xrej IN TLSA 3 1 1 $(d311 $P/leaf-xrej)
; extra X5/X6: hostile peers (endless multi-line reply, 1 MiB line)
xendless IN MX 10 mx.xendless
mx.xendless IN A $(A xendless)
_25._tcp.mx.xendless IN TLSA 3 1 1 $(d311 $P/leaf-xendless)
xlong IN MX 10 mx.xlong
mx.xlong IN A $(A xlong)
_25._tcp.mx.xlong IN TLSA 3 1 1 $(d311 $P/leaf-xlong)
; extra X7: MX host with an AAAA record only (fd00:25::N, last byte = sink)
xv6 IN MX 10 mx.xv6
mx.xv6 IN AAAA fd00:25::$(printf %x "$IDX_xv6")
_25._tcp.mx.xv6 IN TLSA 3 1 1 $(d311 $P/leaf-xv6)
; extra X8 (rule 2): MX 10's address lookup fails (bogus zone), MX 20 is fine
xaddr IN MX 10 mx.xaddr.bogus.dane.test.
xaddr IN MX 20 mx.xaddr
mx.xaddr IN A $(A xaddr)
_25._tcp.mx.xaddr IN TLSA 3 1 1 $(d311 $P/leaf-xaddr)
; extra X9: a peer that speaks TLS 1.2 at most
xtls12 IN MX 10 mx.xtls12
mx.xtls12 IN A $(A xtls12)
_25._tcp.mx.xtls12 IN TLSA 3 1 1 $(d311 $P/leaf-xtls12)
; X10 a matching 3 1 1 among ~9.9 KB of TLSA data: beyond what a small
; relay takes (dns.h DNS_DATA_MAX, DNS_TCP_MSG_MAX): a lookup failure for
; it, so a deferral, never a delivery without the check
xhuge IN MX 10 mx.xhuge
mx.xhuge IN A $(A xhuge)
_25._tcp.mx.xhuge IN TLSA 3 1 1 $(d311 $P/leaf-xhuge)$huge
; extra X11-X13: the verify policy (a chain to an operator trust anchor, the
; world's root, + the MX host name); no TLSA: DANE plays no part
xverify IN MX 10 mx.xverify
mx.xverify IN A $(A xverify)
xvname IN MX 10 mx.xvname
mx.xvname IN A $(A xvname)
xvnoca IN MX 10 mx.xvnoca
mx.xvnoca IN A $(A xvnoca)
; extra X4 (rule 10): CNAME at the TLSA name; the base domain stays mx.xcname
xcname IN MX 10 mx.xcname
mx.xcname IN A $(A xcname)
_25._tcp.mx.xcname IN CNAME tlsa.xcname
tlsa.xcname IN TLSA 3 1 1 $(d311 $P/leaf-xcname)
$([ $WITH_PF = 1 ] && printf '%s\n' "; P1 (issue 4 item 7): a real Postfix as the MX" \
	"pf IN MX 10 mx.pf" "mx.pf IN A $(A pf)" "_25._tcp.mx.pf IN TLSA 3 1 1 $(d311 $P/leaf-pf)")
; probe name for "does the resolver validate"
probe IN A 127.0.0.1
EOF
cat "$ksk.key" "$zsk.key" >>dane.test.zone
ldns-signzone -n dane.test.zone "$ksk" "$zsk"
# Scenario 9: break the RRSIG over _25._tcp.mx.s09.dane.test/TLSA (flip a
# base64 character in the middle of the signature) so Unbound calls it bogus.
python3 - dane.test.zone.signed <<'EOF'
import sys
p = sys.argv[1]
out, n = [], 0
for ln in open(p):
    f = ln.rstrip("\n").split("\t")
    if len(f) >= 5 and f[0] == "_25._tcp.mx.s09.dane.test." and f[3] == "RRSIG" and f[4].startswith("TLSA "):
        sig = f[4].split(" ")
        s = sig[-1]
        i = len(s) // 2
        sig[-1] = s[:i] + ("A" if s[i] != "A" else "B") + s[i + 1:]
        f[4] = " ".join(sig)
        ln = "\t".join(f) + "\n"
        n += 1
    out.append(ln)
assert n == 1, "scenario 9 RRSIG not found"
open(p, "w").writelines(out)
EOF
ldns-key2ds -n -2 "$ksk.key" >anchor.ds

cat >insec.dane.test.zone <<EOF
\$ORIGIN insec.dane.test.
\$TTL 300
@ IN SOA ns.dane.test. hostmaster.dane.test. 1 3600 600 86400 60
@ IN NS ns.dane.test.
; 11/12 insecure MX RRsets pointing at secure hosts
s11 IN MX 10 mx.s11.dane.test.
s12 IN MX 10 mx.s12.dane.test.
; 13 insecure address of a host named by a secure MX (decoy TLSA)
mx13 IN A $(A s13)
_25._tcp.mx13 IN TLSA 3 1 1 $(rnd 32)
; 16 insecure target of a secure CNAME (decoy TLSA)
mx16 IN A $(A s16)
_25._tcp.mx16 IN TLSA 3 1 1 $(rnd 32)
EOF

cat >bogus.dane.test.zone <<EOF
\$ORIGIN bogus.dane.test.
\$TTL 300
@ IN SOA ns.dane.test. hostmaster.dane.test. 1 3600 600 86400 60
@ IN NS ns.dane.test.
; 10 MX lookup bogus (DS in the parent matches no key here)
s10 IN MX 10 mx.s10
mx.s10 IN A $(A s10)
_25._tcp.mx.s10 IN TLSA 3 1 1 $(d311 $P/leaf-s10)
; X8: an MX host whose address lookup fails
mx.xaddr IN A $(A xaddr)
EOF
cat "$bksk.key" "$bzsk.key" >>bogus.dane.test.zone
ldns-signzone -n bogus.dane.test.zone "$bksk" "$bzsk"

cat >nsd.conf <<EOF
server:
  ip-address: 127.0.0.1@$NSD_PORT
  port: $NSD_PORT
  username: ""
  chroot: ""
  zonesdir: "$dir/dns"
  database: ""
  zonelistfile: "$dir/dns/zone.list"
  pidfile: "$dir/run/nsd.pid"
  logfile: "$dir/run/nsd.log"
  xfrdfile: "$dir/dns/xfrd.state"
  xfrdir: "$dir/dns"
  server-count: 1
remote-control:
  control-enable: no
zone:
  name: dane.test
  zonefile: dane.test.zone.signed
zone:
  name: insec.dane.test
  zonefile: insec.dane.test.zone
zone:
  name: bogus.dane.test
  zonefile: bogus.dane.test.zone.signed
EOF

unbound_conf() { # port pidname modules anchor-line
	cat <<EOF
server:
  interface: 127.0.0.1@$1
  port: $1
  do-not-query-localhost: no
  do-ip6: no
  num-threads: 1
  username: ""
  chroot: ""
  directory: "$dir/dns"
  pidfile: "$dir/run/$2.pid"
  logfile: "$dir/run/$2.log"
  use-syslog: no
  verbosity: 1
  val-log-level: 2
  qname-minimisation: no
  trust-anchor-signaling: no
  root-key-sentinel: no
  module-config: "$3"
  access-control: 127.0.0.0/8 allow
  local-zone: "test." nodefault
  cache-max-ttl: 60
  cache-max-negative-ttl: 30
$4
stub-zone:
  name: "dane.test."
  stub-addr: 127.0.0.1@$NSD_PORT
stub-zone:
  name: "insec.dane.test."
  stub-addr: 127.0.0.1@$NSD_PORT
stub-zone:
  name: "bogus.dane.test."
  stub-addr: 127.0.0.1@$NSD_PORT
stub-zone:
  name: "."
  stub-addr: 127.0.0.1@$NSD_PORT
remote-control:
  control-enable: no
EOF
}
unbound_conf "$UB_PORT" unbound "validator iterator" "  trust-anchor-file: \"$dir/dns/anchor.ds\"" >unbound.conf
unbound_conf "$UB2_PORT" unbound-noval "iterator" "" >unbound-noval.conf

nsd -c nsd.conf
unbound -c unbound.conf
unbound -c unbound-noval.conf
if [ $WITH_PF = 1 ]; then
	# Postfix: throw-away config; smtpd on 127.0.0.1:BASE+100+39, virtual
	# delivery of everything for pf.dane.test into DIR/postfix/mail/inbox/.
	pf=$dir/postfix
	mkdir -p "$pf/etc" "$pf/spool" "$pf/data" "$pf/mail"
	chown postfix "$pf/data" "$pf/mail"
	cp -r /etc/postfix/dynamicmaps.cf /etc/postfix/dynamicmaps.cf.d "$pf/etc/" 2>/dev/null || true
	sed "s/^smtp      inet.*/127.0.0.1:$((SINK_BASE + PF_IDX)) inet n - n - - smtpd/" \
		/etc/postfix/master.cf >"$pf/etc/master.cf"
	cat "$dir/pki/leaf-pf.key" "$dir/pki/chain-pf.pem" >"$pf/etc/tls.pem"
	chmod 600 "$pf/etc/tls.pem"
	cat >"$pf/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $pf/spool
data_directory = $pf/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.pf.dane.test
mydestination =
mynetworks = 127.0.0.0/8
relay_domains =
virtual_mailbox_domains = pf.dane.test
virtual_mailbox_base = $pf/mail
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:$(id -u postfix)
virtual_gid_maps = static:$(id -g postfix)
smtpd_tls_security_level = may
smtpd_tls_chain_files = $pf/etc/tls.pem
smtpd_tls_received_header = yes
smtpd_tls_loglevel = 1
maillog_file = $pf/maillog
maillog_file_prefixes = $pf
disable_dns_lookups = yes
smtp_dns_support_level = disabled
EOF
	postfix -c "$pf/etc" start </dev/null >"$dir/run/postfix-start.log" 2>&1 || true
	( for _ in $(seq 100); do
		[ -s "$pf/spool/pid/master.pid" ] && { tr -d ' ' <"$pf/spool/pid/master.pid" >"$dir/run/postfix.pid"; break; }
		sleep 0.1
	done ) &
fi
python3 "$here/mxsink.py" --maildir "$dir/mail" --config "$dir/run/sinks.conf" \
	--pidfile "$dir/run/mxsink.pid" >"$dir/run/mxsink.log" 2>&1 </dev/null &
for _ in $(seq 100); do
	ok=1
	for p in $PIDS; do [ -s "$dir/run/$p.pid" ] || ok=0; done
	[ $ok = 1 ] && break
	sleep 0.1
done
for p in $PIDS; do
	alive "$p" || { echo "world.sh: $p failed to start (see $dir/run/)" >&2; down; exit 1; }
done
# NSD and Unbound answer once their pid files exist; wait for a real answer.
for _ in $(seq 50); do
	drill -Q -p "$UB_PORT" probe.dane.test A @127.0.0.1 2>/dev/null | grep -q 127.0.0.1 && break
	sleep 0.1
done

# ------------------------------------------------------------ manifest
{
	echo "# world.env — GENERATED by world.sh up; shell KEY=VALUE. See README.md."
	echo "WORLD_DIR=$dir"
	echo "WORLD_BASE=$BASE"
	echo "WORLD_TLD=dane.test"
	echo "DNS_NSD=127.0.0.1:$NSD_PORT"
	echo "DNS_RESOLVER=127.0.0.1:$UB_PORT"
	echo "DNS_RESOLVER_NOVAL=127.0.0.1:$UB2_PORT"
	echo "DNS_RESOLVER_HOST=127.0.0.1"
	echo "DNS_RESOLVER_HOST_QEMU=10.0.2.2"
	echo "DNS_RESOLVER_PORT=$UB_PORT"
	echo "DNS_RESOLVER_NOVAL_PORT=$UB2_PORT"
	echo "DNS_PROBE_NAME=probe.dane.test"
	echo "DNS_TRUST_ANCHOR=$dir/dns/anchor.ds"
	echo "SMTP_REDIRECT_HOST=127.0.0.1"
	echo "SMTP_REDIRECT_HOST_QEMU=10.0.2.2"
	echo "SMTP_REDIRECT_BASE=$SINK_BASE"
	echo "PKI_ROOT=$dir/pki/root.pem"
	echo "PKI_INT=$dir/pki/int.pem"
	echo "MAILDIR=$dir/mail"
	echo "SINKS=\"$(echo $sinklist)\""
	for s in $sinklist; do
		i=$(eval echo "\$IDX_$s")
		echo "SINK_${s}_LISTEN=127.0.0.1:$((SINK_BASE + i))"
		echo "SINK_${s}_ADDR=127.0.1.$i"
		echo "SINK_${s}_BEHAVIOUR=$(eval echo "\$BEH_$s")"
		echo "SINK_${s}_CHAIN=$dir/pki/chain-$s.pem"
	done
} >"$dir/world.env.tmp"
# id rcpt-domain outcome class dsn sink forbid sni mxhosts policy resolver relayhost pf-class
# outcome: delivered|deferred|bounced; class: Verified|Trusted|Untrusted|clear|-
# sink: instance that must receive it ("-" none); forbid: instances that must not
# pf-class: what posttls-finger (-l <policy>) must report, "-" = not checked:
# a class, notls, handshake-failed, tlsa-error, nullmx, mx-error (see check-world.sh)
cat >>"$dir/world.env.tmp" <<'EOF'
SCENARIOS="01 02 03 04 05 05B 06 07 08 08B 09 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30"
EXTRA_SCENARIOS="X1 X2 X3 X4 X5 X6 X7 X8 X9 X10 X11 X12 X13"
EOF
if [ $WITH_PF = 1 ]; then
	echo 'EXTRA_SCENARIOS="X1 X2 X3 X4 X5 X6 X7 X8 X9 X10 X11 X12 X13 P1"'
	echo "POSTFIX_MAILDIR=$dir/postfix/mail/inbox"
	echo "POSTFIX_LOG=$dir/postfix/maillog"
fi >>"$dir/world.env.tmp"
cat >>"$dir/world.env.tmp" <<'EOF'
EOF
while read -r id dom outc cls dsn sink forbid sni mx pol res rh pf desc; do
	[ -n "${id:-}" ] || continue
	dash() { [ "$1" = - ] && echo "" || echo "$1"; }
	{
		echo "S${id}_RCPT=user@$dom"
		echo "S${id}_DOMAIN=$dom"
		echo "S${id}_EXPECT=$outc"
		echo "S${id}_CLASS=$cls"
		echo "S${id}_DSN=$dsn"
		echo "S${id}_SINK=$(dash "$sink")"
		echo "S${id}_FORBID=\"$(dash "$forbid" | tr , ' ')\""
		echo "S${id}_SNI=$(dash "$sni")"
		echo "S${id}_MXHOSTS=\"$(dash "$mx" | tr , ' ')\""
		echo "S${id}_POLICY=$pol"
		echo "S${id}_RESOLVER=$res"
		echo "S${id}_RELAYHOST=$(dash "$rh")"
		echo "S${id}_PF_CLASS=$(dash "$pf")"
		echo "S${id}_DESC=\"$(echo "$desc" | tr '_' ' ')\""
	} >>"$dir/world.env.tmp"
done <<'EOF'
01 s01.dane.test delivered Verified 2.0.0 s01 - mx.s01.dane.test mx.s01.dane.test dane validating - Verified MX_secure_A_secure_3_1_1_match
02 s02.dane.test delivered Verified 2.0.0 s02 - mx.s02.dane.test mx.s02.dane.test dane validating - Verified expired_cert_naming_another_host_3_1_1
03 s03.dane.test deferred - 4.7.5 - s03 - mx.s03.dane.test dane validating - Untrusted 3_1_1_digest_mismatch
04 s04.dane.test deferred - 4.7.4 - s04 - mx.s04.dane.test dane validating - notls usable_TLSA_no_STARTTLS
05 s05.dane.test deferred - 4.7.5 - s05 - mx.s05.dane.test dane validating - handshake-failed usable_TLSA_handshake_fails_no_cleartext_retry
05B s05b.dane.test delivered Verified 2.0.0 s05b s05 mx.s05b.dane.test mx.s05.dane.test,mx.s05b.dane.test dane validating - handshake-failed handshake_fails_on_MX_10_then_MX_20_verified
06 s06.dane.test delivered Untrusted 2.0.0 s06 - mx.s06.dane.test mx.s06.dane.test dane validating - Untrusted all_TLSA_unusable_STARTTLS
07 s07.dane.test deferred - 4.7.4 - s07 - mx.s07.dane.test dane validating - notls all_TLSA_unusable_no_STARTTLS
08 s08.dane.test delivered Untrusted 2.0.0 s08 - mx.s08.dane.test mx.s08.dane.test dane validating - Untrusted secure_TLSA_denial_TLS_offered
08B s08b.dane.test delivered clear 2.0.0 s08b - - mx.s08b.dane.test dane validating - notls secure_TLSA_denial_no_STARTTLS_clear_text
09 s09.dane.test deferred - 4.7.5 - s09 - mx.s09.dane.test dane validating - tlsa-error TLSA_lookup_bogus
10 s10.bogus.dane.test deferred - 4.4.3 - s10 - mx.s10.bogus.dane.test dane validating - mx-error MX_lookup_bogus
11 s11.insec.dane.test delivered Trusted 2.0.0 s11 - mx.s11.dane.test mx.s11.dane.test dane validating - Trusted insecure_MX_secure_host_matching_TLSA
12 s12.insec.dane.test deferred - 4.7.5 - s12 - mx.s12.dane.test dane-only validating - - insecure_MX_under_dane-only
13 s13.dane.test delivered Untrusted 2.0.0 s13 - mx13.insec.dane.test mx13.insec.dane.test dane validating - Untrusted MX_secure_address_insecure_no_TLSA_query
14 s14.dane.test delivered Verified 2.0.0 s14 - real.s14.dane.test mx.s14.dane.test dane validating - Verified secure_CNAME_TLSA_at_target
15 s15.dane.test delivered Verified 2.0.0 s15 - mx.s15.dane.test mx.s15.dane.test dane validating - Verified secure_CNAME_TLSA_at_original_name
16 s16.dane.test delivered Verified 2.0.0 s16 - mx.s16.dane.test mx.s16.dane.test dane validating - Verified secure_CNAME_to_insecure_target_original_name_only
17 s17.dane.test delivered Verified 2.0.0 s17 - mx.s17.dane.test mx.s17.dane.test dane validating - Verified 2_0_1_issuing_CA_chain_sent
18 s18.dane.test deferred - 4.7.5 - s18 - mx.s18.dane.test dane validating - Untrusted 2_0_1_root_not_sent
19 s19.dane.test delivered Verified 2.0.0 s19 - mx.s19.dane.test mx.s19.dane.test dane validating - Verified 2_0_0_full_root_in_DNS_not_sent
20 s20.dane.test deferred - 4.7.5 - s20 - mx.s20.dane.test dane validating - Untrusted DANE-TA_leaf_names_another_domain
21 s21.dane.test delivered Verified 2.0.0 s21 - mx.s21.dane.test mx.s21.dane.test dane validating - Verified DANE-TA_leaf_names_recipient_domain
22 s22.dane.test deferred - 4.7.5 - s22 - mx.s22.dane.test dane validating - Untrusted 2_0_1_matching_the_leaf_itself
23 s23.dane.test deferred - 4.7.5 - s23 - mx.s23.dane.test dane validating - Untrusted 3_1_1_match_but_3_1_2_mismatch
24 s24.dane.test bounced - 5.1.10 - s24 - - dane validating - nullmx null_MX
25 s25.dane.test delivered Verified 2.0.0 s25 - s25.dane.test s25.dane.test dane validating - Verified implicit_MX_RSA-2048_leaf
26 s26.dane.test delivered Verified 2.0.0 s26 - smart.s26.dane.test smart.s26.dane.test dane validating smart.s26.dane.test:587 Verified smarthost_on_587
27 s27.dane.test delivered Untrusted 2.0.0 s27a s27b mxa.s27.dane.test mxa.s27.dane.test,mxb.s27.dane.test dane validating - Untrusted MX_10_no_TLSA_first
28 s28.dane.test delivered Verified 2.0.0 s28b s28a mxb.s28.dane.test mxa.s28.dane.test,mxb.s28.dane.test dane validating - Untrusted MX_10_fails_DANE_MX_20_passes
29 s29.dane.test delivered Untrusted 2.0.0 s29 - mx.s29.dane.test mx.s29.dane.test dane noval - Untrusted no_AD_from_resolver_is_insecure
30 s30.dane.test delivered Verified 2.0.0 s30 - mx.s30.dane.test mx.s30.dane.test dane validating - Verified TLSA_truncated_over_UDP
X1 xstall.dane.test deferred none 4.4.2 - xstall - mx.xstall.dane.test dane validating - - peer_stalls_after_connect_(timeout)
X2 xtemp.dane.test deferred - 4.3.0 - xtemp - mx.xtemp.dane.test dane validating - Verified DANE_ok_then_451_on_RCPT
X3 xrej.dane.test bounced - 5.1.1 - xrej - mx.xrej.dane.test dane validating - Verified DANE_ok_then_550_on_RCPT
X5 xendless.dane.test deferred - 4.4.2 - xendless - mx.xendless.dane.test dane validating - - endless_multi-line_EHLO_reply
X6 xlong.dane.test deferred - 4.4.2 - xlong - mx.xlong.dane.test dane validating - - 1_MiB_greeting_line_without_CRLF
X7 xv6.dane.test delivered Verified 2.0.0 xv6 - mx.xv6.dane.test mx.xv6.dane.test dane validating - - AAAA-only_MX_host_(redirect_by_last_byte)
X8 xaddr.dane.test delivered Verified 2.0.0 xaddr - mx.xaddr.dane.test mx.xaddr.bogus.dane.test,mx.xaddr.dane.test dane validating - Verified MX_10_address_lookup_fails_MX_20_used
X9 xtls12.dane.test delivered Verified 2.0.0 xtls12 - mx.xtls12.dane.test mx.xtls12.dane.test dane validating - Verified peer_speaks_TLS_1.2_at_most
X10 xhuge.dane.test deferred - 4.7.5 - xhuge - mx.xhuge.dane.test dane validating - - TLSA_RRset_of_9.9_KB_beyond_the_relay_bounds
P1 pf.dane.test delivered Verified 2.0.0 pf - mx.pf.dane.test mx.pf.dane.test dane validating - Verified a_real_Postfix_as_the_MX
X4 xcname.dane.test delivered Verified 2.0.0 xcname - mx.xcname.dane.test mx.xcname.dane.test dane validating - Verified CNAME_at_the_TLSA_name_base_stays
X11 xverify.dane.test delivered Verified 2.0.0 xverify - mx.xverify.dane.test mx.xverify.dane.test verify validating - - verify_policy_chain_to_the_imported_root
X12 xvname.dane.test deferred none 4.7.5 - xvname - mx.xvname.dane.test verify validating - - verify_policy_certificate_names_another_host
X13 xvnoca.dane.test deferred none 4.7.5 - xvnoca - mx.xvnoca.dane.test verify validating - - verify_policy_without_trust_anchors
EOF
# X11, X12: the relay under test imports the world's root (PKI_ROOT) as a
# trust anchor first (console `ca add`); X13 runs on a relay without one.
cat >>"$dir/world.env.tmp" <<'EOF'
SX11_ANCHORS=PKI_ROOT
SX12_ANCHORS=PKI_ROOT
EOF
mv "$dir/world.env.tmp" "$dir/world.env"
echo "world up in $dir: resolver 127.0.0.1:$UB_PORT (noval :$UB2_PORT), NSD :$NSD_PORT, $(echo $sinklist | wc -w) sinks from :$((SINK_BASE + 1))"
