#!/usr/bin/env bash
# selftest-interop.sh BIN — the mbedTLS client built with the project's
# configuration (BIN = build/selftest/native/tls_interop, or the armhf one
# with RUNNER in the environment) against `openssl s_server` on 127.0.0.1:
# RSA (2048, 4096) and ECDSA chains over TLS 1.3 and 1.2, and what must
# fail: a SHA-1 signed certificate, a wrong name, an unknown root, TLS 1.1.
# Makes its own throw-away PKI.
# Last line: "interop: N passed, M failed".
set -u
bin=$(realpath "$1")
runner=${RUNNER:-}
work=$(mktemp -d)
server_pid=
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
pass=0 fail=0
cd "$work" || exit 1

# --- a private PKI: RSA root -> RSA leaf (SHA-256) and RSA leaf (SHA-1);
# ECDSA P-384 root -> P-256 leaf. All for mx.example.net.
q() { "$@" >/dev/null 2>&1 || { echo "interop: PKI step failed: $*" >&2; exit 1; }; }
ext="subjectAltName=DNS:mx.example.net
basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth"
printf '%s\n' "$ext" >leaf.ext
q openssl req -x509 -newkey rsa:2048 -nodes -keyout rsa-ca.key -out rsa-ca.pem -days 30 \
	-subj "/CN=danegate selftest RSA root" -sha256
q openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout ec-ca.key \
	-out ec-ca.pem -days 30 -subj "/CN=danegate selftest EC root" -sha384
leaf() { # name keyalg-args ca md
	q openssl req -new -newkey $2 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=mx.example.net"
	q openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -days 30 \
		"-$4" -extfile leaf.ext -out "$1.pem"
}
leaf rsa "rsa:2048" rsa-ca sha256
leaf rsa4096 "rsa:4096" rsa-ca sha384
leaf rsa-sha1 "rsa:2048" rsa-ca sha1
leaf ec "ec -pkeyopt ec_paramgen_curve:P-256" ec-ca sha256

# case NAME EXPECT(ok|verify|handshake) CERT CA HOST OPENSSL-ARGS...
case_() {
	local name=$1 expect=$2 cert=$3 ca=$4 host=$5 port out rc got
	shift 5
	# A random high port; s_server says ACCEPT once it listens, and
	# exits after one connection (-naccept 1), bounded by timeout anyway.
	for _ in 1 2 3 4 5; do
		port=$((20000 + RANDOM % 20000))
		timeout 60 openssl s_server -accept "127.0.0.1:$port" -naccept 1 -www \
			-cert "$cert.pem" -key "$cert.key" "$@" >server.log 2>&1 &
		server_pid=$!
		for _ in $(seq 50); do
			grep -q ACCEPT server.log && break
			kill -0 "$server_pid" 2>/dev/null || break
			sleep 0.1
		done
		grep -q ACCEPT server.log && break
		wait "$server_pid" 2>/dev/null
		server_pid=
	done
	# shellcheck disable=SC2086
	out=$(timeout 60 $runner "$bin" "$port" "$ca.pem" "$host" 2>&1)
	rc=$?
	kill "$server_pid" 2>/dev/null
	wait "$server_pid" 2>/dev/null
	server_pid=
	case $rc in 0) got=ok ;; 2) got=verify ;; 3) got=handshake ;; *) got="error($rc)" ;; esac
	if [ "$got" = "$expect" ]; then
		pass=$((pass + 1))
		printf 'ok   %-52s %s\n' "$name" "$out"
	else
		fail=$((fail + 1))
		printf 'FAIL %-52s wanted %s, got %s: %s\n' "$name" "$expect" "$got" "$out"
		sed 's/^/     server: /' server.log | tail -5
	fi
}

case_ "RSA-2048 chain, TLS 1.3 (RSA-PSS)" ok rsa rsa-ca mx.example.net -tls1_3
case_ "RSA-2048 chain, TLS 1.2 (ECDHE-RSA)" ok rsa rsa-ca mx.example.net -tls1_2
# The largest RSA key MBEDTLS_MPI_MAX_SIZE (512 bytes) allows.
case_ "RSA-4096 leaf (SHA-384), TLS 1.3" ok rsa4096 rsa-ca mx.example.net -tls1_3
case_ "ECDSA P-384 root, P-256 leaf, TLS 1.3" ok ec ec-ca mx.example.net -tls1_3
case_ "ECDSA chain, TLS 1.2 (ECDHE-ECDSA)" ok ec ec-ca mx.example.net -tls1_2
# OpenSSL itself refuses a SHA-1 certificate unless told otherwise.
case_ "SHA-1 signed leaf is refused" verify rsa-sha1 rsa-ca mx.example.net -tls1_2 \
	-cipher 'DEFAULT:@SECLEVEL=0'
case_ "wrong name is refused" verify rsa rsa-ca other.example.net -tls1_3
case_ "untrusted root is refused" verify rsa ec-ca mx.example.net -tls1_3
case_ "TLS 1.1 server is refused" handshake rsa rsa-ca mx.example.net -tls1_1 \
	-cipher 'DEFAULT:@SECLEVEL=0'

echo "interop: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
