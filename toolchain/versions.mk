# Pinned third-party sources: Debian source packages (verified by apt
# against the signed Sources index of the suite below), unpacked under
# build/src/. Both boards build the same versions.
#
# Suites: mbedtls, lwip and ldns come from trixie (deb13), which carries the
# versions we want. cmocka comes from bookworm: trixie's cmocka=1.1.7-3
# files are not all on the mirror we can reach (404 for the .dsc, the
# .debian.tar.xz and the .asc on 2026-11-28), and bookworm's 1.1.5-2.1 is
# exactly the libcmocka-dev the native build links, so native and armhf unit
# tests run on the same cmocka. setup.sh writes deb-src for both suites.
DEB_SRC_SUITES := trixie bookworm
DEB_SRC_SUITE := trixie
MBEDTLS_DEB := mbedtls=3.6.6-0.1~deb13u1
LWIP_DEB := lwip=2.2.1+dfsg1-1+deb13u1
LDNS_DEB := ldns=1.8.4-2
CMOCKA_DEB := cmocka=1.1.5-2.1
MBEDTLS_SRC := build/src/mbedtls-3.6.6
LWIP_SRC := build/src/lwip-2.2.1+dfsg1
LDNS_SRC := build/src/ldns-1.8.4
CMOCKA_SRC := build/src/cmocka-1.1.5
