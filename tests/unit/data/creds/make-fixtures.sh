#!/bin/bash
# make-fixtures.sh — the test PKI of test_tls_import.c: an RSA-2048 CA, an
# RSA-2048 leaf and an EC P-384 leaf for gw.example issued by it; written
# as C strings into fixtures.h. Run once by hand (openssl); the output is
# committed, so the tests need no openssl.
set -eu
cd "$(dirname "$0")"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$t/ca.key" -out "$t/ca.crt" -days 7300 \
	-subj "/CN=danegate test CA" -addext "basicConstraints=critical,CA:TRUE" 2>/dev/null
leaf() { # name keyalg
	openssl req -new -newkey "$2" -nodes -keyout "$t/$1.key" -out "$t/$1.csr" \
		-subj "/CN=gw.example" 2>/dev/null
	printf 'subjectAltName=DNS:gw.example,DNS:mail.gw.example\nbasicConstraints=CA:FALSE\n' >"$t/ext"
	openssl x509 -req -in "$t/$1.csr" -CA "$t/ca.crt" -CAkey "$t/ca.key" -CAcreateserial \
		-days 3650 -extfile "$t/ext" -out "$t/$1.crt" 2>/dev/null
}
leaf rsa rsa:2048
leaf p384 ec:<(openssl ecparam -name secp384r1) 2>/dev/null || {
	openssl ecparam -name secp384r1 -out "$t/p384.param"
	leaf p384 "ec:$t/p384.param"
}
openssl pkey -in "$t/rsa.key" -traditional -out "$t/rsa1.key" 2>/dev/null || cp "$t/rsa.key" "$t/rsa1.key"
cstr() { sed 's/^/\t"/; s/$/\\n"/' "$1"; }
{
	echo "/* fixtures.h — made by make-fixtures.sh (openssl): a test CA and two leaves"
	echo " * for gw.example (RSA-2048 PKCS#1 key, EC P-384 PKCS#8 key). Valid from"
	echo " * $(openssl x509 -in "$t/rsa.crt" -noout -startdate | cut -d= -f2) for 10 years. */"
	echo "static const char fx_ca_crt[] ="; cstr "$t/ca.crt"; echo ";"
	echo "static const char fx_rsa_key[] ="; cstr "$t/rsa1.key"; echo ";"
	echo "static const char fx_rsa_crt[] ="; cstr "$t/rsa.crt"; echo ";"
	echo "static const char fx_p384_key[] ="; cstr "$t/p384.key"; echo ";"
	echo "static const char fx_p384_crt[] ="; cstr "$t/p384.crt"; echo ";"
	echo "#define FX_NOT_BEFORE $(date -d "$(openssl x509 -in "$t/rsa.crt" -noout -startdate | cut -d= -f2)" +%s)"
} >fixtures.h
