#!/usr/bin/env bash
# make-chain.sh DIR — a realistic RSA chain for bench_ram in DIR (made
# once, not committed): RSA-2048 root -> RSA-2048 intermediate (CA,
# pathlen 0) -> RSA-2048 leaf for mx.example.net, SHA-256 signatures,
# like a Let's Encrypt R1x chain. Writes int.pem, leaf.pem, leaf.key.
set -euo pipefail
mkdir -p "$1"
dir=$(cd "$1" && pwd)
[ -f "$dir/leaf.key" ] && [ -f "$dir/leaf.pem" ] && [ -f "$dir/int.pem" ] && exit 0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
cat >ext.cnf <<'CNF'
[ int ]
basicConstraints = critical,CA:true,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ leaf ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:mx.example.net
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
q() { "$@" >/dev/null 2>&1; }
q openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.pem -days 36500 \
	-subj "/CN=Bench Root R" -sha256
q openssl req -newkey rsa:2048 -nodes -keyout int.key -out int.csr -subj "/O=Bench CA/CN=Bench R11"
q openssl x509 -req -in int.csr -CA root.pem -CAkey root.key -CAcreateserial -out int.pem \
	-days 36500 -sha256 -extfile ext.cnf -extensions int
q openssl req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj "/CN=mx.example.net"
q openssl x509 -req -in leaf.csr -CA int.pem -CAkey int.key -CAcreateserial -out leaf.pem \
	-days 36500 -sha256 -extfile ext.cnf -extensions leaf
cp int.pem leaf.pem leaf.key "$dir/"
