#!/usr/bin/env bash
# world.sh — a tiny DNSSEC world on 127.0.0.1 for test_dns_unbound:
# NSD serving a freshly signed dnsunit.test (with a bogus signature, big
# TLSA RRsets, CNAMEs, an insecure delegation), a validating Unbound with
# the zone's DS as its only trust anchor, and a non-validating Unbound.
#   world.sh start DIR NSD_PORT UB_PORT UB_NOVAL_PORT   (prints the TLSA digest)
#   world.sh stop DIR
# Loopback only: both Unbounds stub "." to the local NSD, so no query can
# leave the machine.
set -eu
cmd=$1 dir=$2

stop() {
	for p in "$dir"/unbound.pid "$dir"/unbound-noval.pid "$dir"/nsd.pid; do
		[ -s "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
	done
	sleep 0.2
}

if [ "$cmd" = stop ]; then
	stop
	exit 0
fi

nsd_port=$3 ub_port=$4 ub2_port=$5
mkdir -p "$dir"
cd "$dir"
rm -f ./*.zone* K* ./*.pid ./*.log anchor.ds

ksk=$(ldns-keygen -a ECDSAP256SHA256 -k dnsunit.test)
zsk=$(ldns-keygen -a ECDSAP256SHA256 dnsunit.test)
hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
digest=$(hex 32)
cat >dnsunit.test.zone <<EOF
\$ORIGIN dnsunit.test.
\$TTL 300
@ IN SOA ns.dnsunit.test. hostmaster.dnsunit.test. 1 3600 600 86400 60
@ IN NS ns.dnsunit.test.
ns IN A 127.0.0.1
@ IN MX 10 mx1.dnsunit.test.
mx1 IN A 192.0.2.1
mx1 IN AAAA 2001:db8::1
_25._tcp.mx1 IN TLSA 3 1 1 $digest
_25._tcp.big IN TLSA 2 0 0 $(hex 1000)
_25._tcp.big IN TLSA 2 0 0 $(hex 1000)
www IN CNAME mx1
cn2 IN CNAME out.insec.dnsunit.test.
bogus IN A 192.0.2.66
insec IN NS ns.dnsunit.test.
EOF
cat "$ksk.key" "$zsk.key" >>dnsunit.test.zone
ldns-signzone -n dnsunit.test.zone "$ksk" "$zsk"
# Break the signature over bogus.dnsunit.test/A: rotate the letters of its
# first four base64 characters (the padding at the end stays valid), so
# Unbound must call it bogus and answer SERVFAIL.
sig=$(awk -F'\t' '$1 == "bogus.dnsunit.test." && $4 == "RRSIG" { split($5, f, " "); print f[9] }' \
	dnsunit.test.zone.signed)
[ ${#sig} -ge 8 ]
head4=${sig:0:4}
bad4=$(printf '%s' "$head4" | tr 'A-Za-z0-9' 'B-ZAb-za1-90')
sed -i "s|dnsunit.test. $head4|dnsunit.test. $bad4|" dnsunit.test.zone.signed
ldns-key2ds -n -2 "$ksk.key" >anchor.ds

cat >insec.dnsunit.test.zone <<EOF
\$ORIGIN insec.dnsunit.test.
\$TTL 120
@ IN SOA ns.dnsunit.test. hostmaster.dnsunit.test. 1 3600 600 86400 30
@ IN NS ns.dnsunit.test.
out IN A 192.0.2.9
EOF

cat >nsd.conf <<EOF
server:
  ip-address: 127.0.0.1@$nsd_port
  port: $nsd_port
  username: ""
  chroot: ""
  zonesdir: "$dir"
  database: ""
  zonelistfile: "$dir/zone.list"
  pidfile: "$dir/nsd.pid"
  logfile: "$dir/nsd.log"
  xfrdfile: "$dir/xfrd.state"
  xfrdir: "$dir"
remote-control:
  control-enable: no
zone:
  name: dnsunit.test
  zonefile: dnsunit.test.zone.signed
zone:
  name: insec.dnsunit.test
  zonefile: insec.dnsunit.test.zone
EOF

unbound_conf() { # port pidname modules anchor
	cat <<EOF
server:
  interface: 127.0.0.1@$1
  port: $1
  do-not-query-localhost: no
  do-ip6: no
  username: ""
  chroot: ""
  directory: "$dir"
  pidfile: "$dir/$2.pid"
  logfile: "$dir/$2.log"
  use-syslog: no
  val-log-level: 2
  qname-minimisation: no
  trust-anchor-signaling: no
  root-key-sentinel: no
  module-config: "$3"
  access-control: 127.0.0.0/8 allow
  local-zone: "test." nodefault
$4
stub-zone:
  name: "dnsunit.test."
  stub-addr: 127.0.0.1@$nsd_port
stub-zone:
  name: "."
  stub-addr: 127.0.0.1@$nsd_port
remote-control:
  control-enable: no
EOF
}
unbound_conf "$ub_port" unbound "validator iterator" "  trust-anchor-file: \"$dir/anchor.ds\"" >unbound.conf
unbound_conf "$ub2_port" unbound-noval "iterator" "" >unbound-noval.conf

nsd -c nsd.conf
unbound -c unbound.conf
unbound -c unbound-noval.conf
# Ready when all three wrote their pid files (they daemonise after binding).
for _ in $(seq 50); do
	[ -s nsd.pid ] && [ -s unbound.pid ] && [ -s unbound-noval.pid ] && break
	sleep 0.1
done
sleep 0.3
echo "$digest"
