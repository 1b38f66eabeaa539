#!/bin/bash
# make-certs.sh — the private test PKI for test_dane: makes the PEM
# certificates in this folder and fixtures.h (the same PEMs as C strings
# plus TLSA association data computed by openssl, independently of the
# code under test). Run it again only to change the PKI; the outputs are
# committed so the unit tests are deterministic. Needs: openssl (3.x).
# fixtures.h also carries leaf-mx's private key (test-only) for the
# handshake test.
#
#   root-a (RSA 2048)  -> int-a (ECDSA P-256, CA, pathlen 0) -> leaves
#   root-b (ECDSA P-384) -> leaf-b-mx                (a different root)
#   root-a -> notca (CA:FALSE, keyCertSign) -> leaf-notca-mx
#   root-a -> leaf-direct-mx                         (no intermediate)
#   leaf-self (self-signed, CA:FALSE)
# Validity 2020-01-01 .. 2120-01-01 except the *-expired-* leaves
# (2020-01-01 .. 2021-01-01).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

START=20200101000000Z
END=21200101000000Z
OLD_END=20210101000000Z

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
[ v3_notca ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature,keyCertSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_leaf ]
basicConstraints = CA:false
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = ${ENV::SAN}
authorityKeyIdentifier = keyid
[ v3_leaf_nosan ]
basicConstraints = CA:false
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
authorityKeyIdentifier = keyid
[ v3_self ]
basicConstraints = CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = ${ENV::SAN}
EOF
mkdir new
: >index.txt
echo 1000 >serial
export SAN=DNS:unused

key() { # name type
	case $2 in
	rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.key" 2>/dev/null ;;
	p256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" ;;
	p384) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$1.key" ;;
	esac
}
# cert name keytype cn issuer(self|name) ext [end]
cert() {
	key "$1" "$2"
	openssl req -config ca.cnf -new -key "$1.key" -subj "/CN=$3" -out "$1.csr"
	if [ "$4" = self ]; then
		openssl ca -batch -config ca.cnf -selfsign -keyfile "$1.key" -in "$1.csr" \
			-extensions "$5" -startdate $START -enddate "${6:-$END}" -out "$1.pem" 2>/dev/null
	else
		openssl ca -batch -config ca.cnf -cert "$4.pem" -keyfile "$4.key" -in "$1.csr" \
			-extensions "$5" -startdate $START -enddate "${6:-$END}" -out "$1.pem" 2>/dev/null
	fi
	# Keep only the PEM block (openssl ca prepends a text dump).
	openssl x509 -in "$1.pem" -out "$1.pem"
}

cert root-a rsa "Danegate Test Root A" self v3_root
cert int-a p256 "Danegate Test Intermediate A" root-a v3_int
cert root-b p384 "Danegate Test Root B" self v3_root
cert notca p256 "Danegate Test Not A CA" root-a v3_notca
SAN=DNS:mx.example.net cert leaf-mx p256 mx.example.net int-a v3_leaf
SAN=DNS:mx.example.net cert leaf-rsa-mx rsa mx.example.net int-a v3_leaf
SAN=DNS:other.example.org cert leaf-expired-other p256 other.example.org int-a v3_leaf $OLD_END
SAN=DNS:mx.example.net cert leaf-expired-mx p256 mx.example.net int-a v3_leaf $OLD_END
SAN=DNS:www.example.org cert leaf-other-domain p256 www.example.org int-a v3_leaf
# Names the recipient domain and, in its CN only, the MX host (which must
# be ignored because a DNS-ID SAN is present).
SAN=DNS:example.com cert leaf-recipient p256 mx.example.net int-a v3_leaf
cert leaf-cn-only p256 mx.example.net int-a v3_leaf_nosan
SAN='DNS:*.example.net' cert leaf-wild p256 wild.example.net int-a v3_leaf
SAN=DNS:mx.example.net cert leaf-b-mx p256 mx.example.net root-b v3_leaf
SAN=DNS:mx.example.net cert leaf-notca-mx p256 mx.example.net notca v3_leaf
SAN=DNS:mx.example.net cert leaf-direct-mx p256 mx.example.net root-a v3_leaf
SAN=DNS:mx.example.net cert leaf-self p256 mx.example.net self v3_self

ALL="root-a int-a root-b notca leaf-mx leaf-rsa-mx leaf-expired-other leaf-expired-mx
leaf-other-domain leaf-recipient leaf-cn-only leaf-wild leaf-b-mx leaf-notca-mx
leaf-direct-mx leaf-self"
# Certificates whose full DER and SPKI the tests need (`x 0 0`, `x 1 0`).
FULL="root-a root-b int-a leaf-self leaf-mx"

cident() { echo "$1" | tr '-' '_'; }
carray() { # name file
	echo "static const uint8_t $1[] = {"
	od -An -v -tx1 "$2" | sed 's/ \([0-9a-f][0-9a-f]\)/0x\1, /g; s/^/\t/; s/, $/,/'
	echo "};"
}

out="$here/fixtures.h"
{
	echo "/* fixtures.h — GENERATED by make-certs.sh from the test PKI in this"
	echo " * folder; do not edit. PEM certificates, and TLSA association data"
	echo " * computed by openssl: <name>_{cert,spki}_{sha256,sha512}[, _der]. */"
	echo "#ifndef DANE_TEST_FIXTURES_H"
	echo "#define DANE_TEST_FIXTURES_H"
	echo "#include <stdint.h>"
	for n in $ALL; do
		id=$(cident "$n")
		cp "$n.pem" "$here/$n.pem"
		openssl x509 -in "$n.pem" -outform DER -out "$n.der"
		openssl x509 -in "$n.pem" -pubkey -noout | openssl pkey -pubin -outform DER -out "$n.spki"
		echo
		echo "static const char ${id}_pem[] ="
		sed 's/^/\t"/; s/$/\\n"/' "$n.pem"
		echo "\t;" | sed 's/\\t/\t/'
		for sel in cert spki; do
			f=$n.der
			[ $sel = spki ] && f=$n.spki
			openssl dgst -sha256 -binary "$f" >"$f.256"
			openssl dgst -sha512 -binary "$f" >"$f.512"
			carray "${id}_${sel}_sha256" "$f.256"
			carray "${id}_${sel}_sha512" "$f.512"
		done
		case " $(echo $FULL) " in
		*" $n "*)
			carray "${id}_cert_der" "$n.der"
			carray "${id}_spki_der" "$n.spki"
			;;
		esac
	done
	# The one private key the tests need: leaf-mx's, for a real handshake
	# (a throw-away test key of this private PKI, nothing else).
	echo
	echo "static const char leaf_mx_key_pem[] ="
	openssl pkey -in leaf-mx.key | sed 's/^/\t"/; s/$/\\n"/'
	echo "\t;" | sed 's/\\t/\t/'
	echo
	echo "#endif"
} >"$out"
echo "wrote $out and $(echo $ALL | wc -w) PEM files"
