# Pinned third-party sources: Debian source packages (verified by apt
# against the signed Sources index of the suite below), unpacked under
# build/src/. Both boards build the same versions.
DEB_SRC_SUITE := trixie
MBEDTLS_DEB := mbedtls=3.6.6-0.1~deb13u1
LWIP_DEB := lwip=2.2.1+dfsg1-1+deb13u1
LDNS_DEB := ldns=1.8.4-2
CMOCKA_DEB := cmocka=1.1.7-3
MBEDTLS_SRC := build/src/mbedtls-3.6.6
LWIP_SRC := build/src/lwip-2.2.1+dfsg1
LDNS_SRC := build/src/ldns-1.8.4
CMOCKA_SRC := build/src/cmocka-1.1.7
