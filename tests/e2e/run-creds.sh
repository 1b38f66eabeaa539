#!/usr/bin/env bash
# run-creds.sh — the gateway's own credentials on the HOST board, end to
# end: a key and chain issued by the test world's private PKI
# (tests/e2e/world, openssl) imported at boot from files (tls_import),
# held as the NEXT key while DNS does not show its record (DANE-RULES 24),
# switched on the serial console without a restart: STARTTLS (openssl
# s_client, posttls-finger) and HTTPS present it at once while a session
# begun before the switch carries on; the same key's renewal pasted on the
# console is in service at once; after a reboot a server that asks for a
# client certificate gets it (smtp_tls_client_cert). Ports 36000-36999
# (world on 36000). Ends "N passed, M failed".
set -u
. "$(dirname "$0")/lib.sh"
cd "$E2E_ROOT"
T=$(mktemp -d)
W=$E2E_ROOT/build/e2e-creds-world
BASE=36000
SMTP=36601 WEB=36602 PEER=36603
world_down() { bash "$E2E_DIR/world/world.sh" down "$W" >/dev/null 2>&1; }
cleanup() {
	exec 7>&- 2>/dev/null
	e2e_cleanup
	world_down
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
trap "exit 143" TERM INT HUP

[ -x build/host/danegate ] || make -s -j2 BOARD=host >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
for p in $SMTP $WEB $PEER; do
	if python3 -c "import socket; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1',$p)); s.listen()" 2>/dev/null; then :; else
		echo "port $p is taken"; echo "0 passed, 1 failed"; exit 1
	fi
done

echo "test world (PKI and a validating resolver) on $BASE"
WORLD_BASE=$BASE WORLD_POSTFIX=0 bash "$E2E_DIR/world/world.sh" up "$W" >"$T/world.log" 2>&1
check "world.sh up" $? "$(tail -2 "$T/world.log")"
PKI=$W/pki

# leaf NAME KEYFILE: a leaf for gw.dane.test issued by the world's
# intermediate (as world.sh issues the sinks', but for server and client
# use: a relay's certificate serves both), chain = leaf + int.
cat >"$T/gw.ext" <<'EOF2'
[ v3_gw ]
basicConstraints = CA:false
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = DNS:gw.dane.test
authorityKeyIdentifier = keyid
subjectKeyIdentifier = hash
EOF2
leaf() {
	(cd "$PKI" && SAN=DNS:gw.dane.test openssl req -config ca.cnf -new -key "$2" \
		-subj "/CN=gw.dane.test" -out "$T/$1.csr" &&
		SAN=DNS:gw.dane.test openssl ca -batch -config ca.cnf -cert int.pem -keyfile int.key \
			-in "$T/$1.csr" -notext -extfile "$T/gw.ext" -extensions v3_gw \
			-startdate 20200101000000Z -enddate 21200101000000Z -out "$T/$1.pem") >/dev/null 2>&1
	cat "$T/$1.pem" "$PKI/int.pem" >"$T/$1.chain"
}
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/k1.pem" 2>/dev/null
leaf l1 "$T/k1.pem"
check "a leaf for gw.dane.test from the world's intermediate" $(($(grep -c BEGIN "$T/l1.chain") != 2))
# is A B: 0 if the two fingerprints are the same and not empty
is() { [ -n "$1" ] && [ "$1" = "$2" ]; echo $?; }
fp() { openssl x509 -noout -fingerprint -sha256 -in "$1" 2>/dev/null | cut -d= -f2; }

# What the relay presents: the leaf's fingerprint over STARTTLS / HTTPS.
shown_smtp() { openssl s_client -connect 127.0.0.1:$SMTP -starttls smtp -servername gw.dane.test \
	</dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2; }
shown_https() { openssl s_client -connect 127.0.0.1:$WEB -servername gw.dane.test \
	</dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2; }

echo "host board: import at boot from files, the next key (rule 24)"
mkfifo "$T/in"
build/host/danegate --flash "$T/f.img" --smtp-port $SMTP --listen 127.0.0.1 --hostname gw.dane.test \
	--set web_port=$WEB --set resolvers=127.0.0.1:$((BASE + 2)) \
	--set tls_import="$T/k1.pem $T/l1.chain" --set smtp_tls_client_cert=on \
	--set smarthost=[127.0.0.1]:$PEER --set tls_default=encrypt \
	<"$T/in" >"$T/out" 2>"$T/log" &
RELAY=$!
E2E_PIDS+=("$RELAY")
exec 7>"$T/in"
wait_log "$T/log" 'ready:' 40
check "relay up" $? "$(tail -3 "$T/log")"
expect "tls_import: stored as the NEXT key" "$T/log" 'tls_import: EC P-256 key stored as the NEXT key'
# console NEEDLE [SECONDS]: the console's output has NEEDLE after the
# command that was sent last (out is only appended to)
con() { # con "command" NEEDLE
	local from
	from=$(log_lines "$T/out")
	echo "$1" >&7
	wait_log "$T/out" "$2" 20 "$from"
}
L1=$(fp "$T/l1.pem")
OLD=$(shown_smtp)
check "STARTTLS before the switch: the first boot's own certificate" \
	$(($(is "$OLD" "$L1") == 0 || $(is "$OLD" "$OLD") != 0)) "$OLD"
check "HTTPS before the switch: the same" "$(is "$(shown_https)" "$OLD")"
con "tlsa" 'next: +_25\._tcp\.gw\.dane\.test\. IN TLSA 3 1 1 '
check "tlsa shows the next record to publish" $?
con "tlsa" 'issuer:  CN=Danegate E2E Intermediate'
check "tlsa describes the next certificate (issuer)" $?
con "tlsa check" 'looking the TLSA record up'
sleep 2
con "tlsa switch confirm" 'the switch waits'
check "tlsa switch confirm waits: the next record is not in DNS" $?

# A session begun before the switch: STARTTLS now, NOOP after it.
python3 - "$SMTP" "$T" >"$T/early.out" 2>&1 <<'PY' &
import hashlib, os, socket, ssl, sys, time
port, tmp = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), 10)
f = s.makefile("rb")
def reply():
    while True:
        l = f.readline().decode()
        if l[3:4] != "-":
            return l
reply(); s.sendall(b"EHLO early.test\r\n"); reply()
s.sendall(b"STARTTLS\r\n"); reply()
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
t = ctx.wrap_socket(s, server_hostname="gw.dane.test")
print("early", hashlib.sha256(t.getpeercert(True)).hexdigest().upper(), flush=True)
open(tmp + "/early.ready", "w").close()
for _ in range(300):
    if os.path.exists(tmp + "/early.go"):
        break
    time.sleep(0.1)
g = t.makefile("rb")
t.sendall(b"EHLO early.test\r\n")
while True:
    l = g.readline().decode()
    if l[3:4] != "-":
        break
t.sendall(b"NOOP\r\n")
print("after", g.readline().decode().strip(), flush=True)
t.sendall(b"QUIT\r\n")
PY
EARLY=$!
for _ in $(seq 100); do [ -e "$T/early.ready" ] && break; sleep 0.1; done
con "tlsa switch force" 'new sessions use the new key now'
check "tlsa switch force: in service without a restart" $?
kill -0 "$RELAY" 2>/dev/null
check "same relay process (no restart)" $?
NEW=$(shown_smtp)
check "STARTTLS after the switch presents the imported leaf" "$(is "$NEW" "$L1")" "got $NEW"
check "HTTPS after the switch presents it too" "$(is "$(shown_https)" "$L1")"
openssl s_client -connect 127.0.0.1:$SMTP -starttls smtp -CAfile "$PKI/root.pem" \
	-verify_hostname gw.dane.test </dev/null >"$T/verify.out" 2>&1
expect "s_client: the chain (leaf + intermediate) verifies to the world's root" "$T/verify.out" \
	'Verify return code: 0 \(ok\)'
postfix_tools_conf "$T/pfconf"
MAIL_CONFIG=$T/pfconf timeout 30 posttls-finger -c -l secure -F "$PKI/root.pem" \
	"[127.0.0.1]:$SMTP" gw.dane.test >"$T/finger.out" 2>&1
expect "posttls-finger -l secure: Verified TLS connection" "$T/finger.out" \
	'Verified TLS connection established to .*: TLSv1\.[23]'
touch "$T/early.go"
wait "$EARLY"
expect "the session from before the switch kept its key" "$T/early.out" "^early ${OLD//:/}$"
expect "... and carries on after it (NOOP 250)" "$T/early.out" '^after 250'

echo "console: the current key's renewal, pasted, in service at once"
leaf l2 "$T/k1.pem"
L2=$(fp "$T/l2.pem")
from=$(log_lines "$T/out")
{ echo "tlsa import"; cat "$T/k1.pem" "$T/l2.chain"; echo; } >&7
wait_log "$T/out" 'imported: new sessions use the new key now' 20 "$from"
check "tlsa import: the current key's renewal is in service at once" $? "$(tail -3 "$T/out")"
! grep -q "$(sed -n 2p "$T/k1.pem")" "$T/out" "$T/log"
check "the pasted key is neither echoed nor logged" $?
check "STARTTLS presents the renewed leaf" "$(is "$(shown_smtp)" "$L2")"

echo "outbound: the client certificate for a server that asks (after a reboot)"
python3 - "$PEER" "$PKI/chain-s01.pem" "$PKI/leaf-s01.key" "$PKI/root.pem" "$T/client.der" \
	>"$T/peer.out" 2>&1 <<'PY' &
import socket, ssl, sys
port, chain, key, ca, out = int(sys.argv[1]), *sys.argv[2:6]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(chain, key)
ctx.verify_mode = ssl.CERT_OPTIONAL  # ask for a client certificate
ctx.load_verify_locations(ca)
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port)); ls.listen(4); ls.settimeout(90)
print("listening", flush=True)
c, _ = ls.accept(); c.settimeout(30)
def lines(sock):
    buf = b""
    while True:
        d = sock.recv(4096)
        if not d:
            return
        buf += d
        while b"\n" in buf:
            l, buf = buf.split(b"\n", 1)
            yield l.rstrip(b"\r").decode(errors="replace")
c.sendall(b"220 peer.test ESMTP\r\n")
sock = c
it = lines(sock)
data = False
for l in it:
    if data:
        if l == ".":
            data = False; sock.sendall(b"250 2.0.0 ok\r\n")
        continue
    cmd = l[:4].upper()
    if cmd in ("EHLO", "HELO"):
        tls = sock is not c
        sock.sendall(b"250-peer.test\r\n" + (b"" if tls else b"250-STARTTLS\r\n") + b"250 8BITMIME\r\n")
    elif cmd == "STAR":
        sock.sendall(b"220 go\r\n")
        sock = ctx.wrap_socket(c, server_side=True)
        der = sock.getpeercert(True)
        open(out, "wb").write(der or b"")
        print("client certificate", "yes" if der else "none", flush=True)
        it = lines(sock)
        for l2 in it:
            cmd = l2[:4].upper()
            if data:
                if l2 == ".":
                    data = False; sock.sendall(b"250 2.0.0 ok\r\n")
                continue
            if cmd in ("EHLO", "HELO"):
                sock.sendall(b"250-peer.test\r\n250 8BITMIME\r\n")
            elif cmd == "DATA":
                data = True; sock.sendall(b"354 go\r\n")
            elif cmd == "QUIT":
                sock.sendall(b"221 bye\r\n"); sys.exit(0)
            else:
                sock.sendall(b"250 ok\r\n")
        sys.exit(0)
    elif cmd == "QUIT":
        sock.sendall(b"221 bye\r\n"); break
    else:
        sock.sendall(b"250 ok\r\n")
PY
PEERPID=$!
E2E_PIDS+=("$PEERPID")
# The relay delivers at once; a peer not yet listening would be a refused
# connect and a retry minutes later.
wait_log "$T/peer.out" '^listening' 30
check "the peer listens" $?
from=$(log_lines "$T/log")
echo "reboot yes" >&7
wait_log "$T/log" 'ready:' 40 "$from"
check "reboot (the client certificate is loaded at boot)" $?
check "after the reboot STARTTLS still presents the renewed leaf" "$(is "$(shown_smtp)" "$L2")"
swaks --server 127.0.0.1:$SMTP -f a@lan.test -t b@example.net --timeout 20 </dev/null >"$T/swaks.out" 2>&1
expect "a message for the smarthost is accepted" "$T/swaks.out" '<- +250 2\.0\.0'
wait "$PEERPID"
expect "the peer that asked got a client certificate" "$T/peer.out" 'client certificate yes'
check "... the gateway's own (the renewed leaf)" \
	"$(is "$(openssl x509 -inform DER -in "$T/client.der" -noout -fingerprint -sha256 2>/dev/null |
		cut -d= -f2)" "$L2")"
summary
