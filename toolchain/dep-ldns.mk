# dep-ldns.mk — ldns 1.8 (no OpenSSL) from the pinned Debian source,
# compiled directly (no configure) into $(DEPS)/ldns/libldns.a with the
# hand-made toolchain/config/ldns/ldns/config.h; ldns/{common,util,net}.h
# are generated from their .in files into $(DEPS)/ldns/include. Bare metal
# gets the socket-type shims of toolchain/config/ldns/shim/; every target
# compiles ldns with the empty services database of .../netdb/netdb.h.
# Exports LDNS_CPPFLAGS, LDNS_LIBS, LDNS_LIB_FILES. Included by deps.mk.

LDNS_DIR := $(DEPS)/ldns
LDNS_GEN := $(LDNS_DIR)/include
LDNS_VERSION := $(patsubst ldns-%,%,$(notdir $(LDNS_SRC)))
LDNS_V := $(subst ., ,$(LDNS_VERSION))

# Wire format, packets, RRs, names, EDNS, text forms for logs and tests,
# the DNSSEC helpers that need no crypto library. No resolver/net.c: the
# firmware has its own sans-I/O resolver over port.h.
LDNS_C := buffer dname edns error host2wire wire2host packet parse rdata rr rr_functions \
	str2host host2str util rbtree radix dnssec dnssec_zone duration \
	compat/b64_ntop compat/b64_pton
ifeq ($(TARGET),arm-none-eabi)
# Bare metal links with --gc-sections: what host2str.c says about
# resolvers and zones is dropped with the functions nobody calls.
LDNS_C += compat/inet_pton compat/inet_ntop
LDNS_SHIM_CPPFLAGS := -isystem toolchain/config/ldns/shim
else
# Linux targets link without --gc-sections (unit tests, sanitizers): the
# library must be closed under its own references, so the resolver, zone
# and hash files come too. glibc 2.36 (Debian 12) has no strlcpy.
LDNS_C += resolver net zone sha1 sha2 higher keys tsig compat/strlcpy
LDNS_SHIM_CPPFLAGS :=
endif

# -isystem: the firmware builds with -Werror and its own warning set;
# third-party headers are not held to it.
LDNS_CPPFLAGS := -isystem $(LDNS_GEN) -isystem $(LDNS_SRC) $(LDNS_SHIM_CPPFLAGS)
# parse.c's realloc pointer arithmetic trips gcc 12's -Wuse-after-free
# (text parsing only; the firmware reads wire format); clang has no such
# option and would warn about the unknown one, so ask the compiler.
LDNS_WNO_UAF := $(shell $(CC) -Werror -Wuse-after-free -x c -c /dev/null -o /dev/null \
	2>/dev/null && echo -Wno-use-after-free)
LDNS_CFLAGS := -std=gnu99 $(TARGET_CFLAGS) -ffunction-sections -fdata-sections -Wall \
	-Wno-unused-parameter -Wno-unused-function $(LDNS_WNO_UAF) -MMD -MP
LDNS_LIB_FILES := $(LDNS_DIR)/libldns.a
LDNS_LIBS := $(LDNS_LIB_FILES)
LDNS_OBJS := $(LDNS_C:%=$(LDNS_DIR)/obj/%.o)
LDNS_HDRS := $(LDNS_GEN)/ldns/common.h $(LDNS_GEN)/ldns/util.h $(LDNS_GEN)/ldns/net.h

$(LDNS_SRC)/.danegate-fetched: toolchain/versions.mk
	bash toolchain/fetch.sh $(LDNS_DEB) $(LDNS_SRC)
	@touch $@
# Our fixes to the pinned release, each one explained in its header
# (toolchain/patches/ldns/), applied once after the fetch, as for mbedTLS.
LDNS_PATCHES := $(sort $(wildcard toolchain/patches/ldns/*.patch))
$(LDNS_SRC)/.danegate-patched: $(LDNS_SRC)/.danegate-fetched $(LDNS_PATCHES)
	@set -e; for p in $(LDNS_PATCHES); do \
		if patch -d $(LDNS_SRC) -p1 -R --dry-run -s -f <$$p >/dev/null 2>&1; then \
			echo "ldns: $$p already applied"; \
		else echo "ldns: applying $$p"; patch -d $(LDNS_SRC) -p1 -N -s <$$p; fi; \
	done
	@touch $@

$(addprefix $(LDNS_SRC)/,$(LDNS_C:%=%.c) $(LDNS_HDRS:$(LDNS_GEN)/%=%.in)): \
	| $(LDNS_SRC)/.danegate-patched ;

# What ldns's configure would substitute for our configuration (no SSL,
# no DANE verification, no DSA/EdDSA; socklen_t and inttypes.h exist,
# from the shims on bare metal).
LDNS_SED := -e 's/@ldns_build_config_have_ssl@/0/' \
	-e 's/@ldns_build_config_have_inttypes_h@/1/' \
	-e 's/@ldns_build_config_have_attr_format@/1/' \
	-e 's/@ldns_build_config_have_attr_unused@/1/' \
	-e 's/@ldns_build_config_have_socklen_t@/1/' \
	-e 's/@ldns_build_config_use_dane@/0/' \
	-e 's/@ldns_build_config_have_b32_pton@/0/' \
	-e 's/@ldns_build_config_have_b32_ntop@/0/' \
	-e 's/@ldns_build_config_use_dsa@/0/' \
	-e 's/@ldns_build_config_use_ed25519@/0/' \
	-e 's/@ldns_build_config_use_ed448@/0/' \
	-e 's/@include_inttypes_h@/\#include <inttypes.h>/' \
	-e 's/@include_systypes_h@/\#include <sys\/types.h>/' \
	-e 's/@include_unistd_h@/\#include <unistd.h>/' \
	-e 's/@include_sys_socket_h@/\#include <sys\/socket.h>/' \
	-e 's/@PACKAGE_VERSION@/$(LDNS_VERSION)/' \
	-e 's/@LDNS_VERSION_MAJOR@/$(word 1,$(LDNS_V))/' \
	-e 's/@LDNS_VERSION_MINOR@/$(word 2,$(LDNS_V))/' \
	-e 's/@LDNS_VERSION_MICRO@/$(word 3,$(LDNS_V))/'

# A substitution missed (new @name@ in a newer ldns) fails the build here
# rather than as a puzzling compile error later.
$(LDNS_HDRS): $(LDNS_GEN)/ldns/%.h: $(LDNS_SRC)/ldns/%.h.in toolchain/dep-ldns.mk | $(LDNS_SRC)/.danegate-fetched
	@mkdir -p $(@D)
	sed $(LDNS_SED) $< >$@.tmp
	@if grep -n '@[a-zA-Z_]*@' $@.tmp | grep -v '/\*@[a-z]*@\*/'; then \
		echo "dep-ldns.mk: unsubstituted @name@ in $@" >&2; rm -f $@.tmp; exit 1; fi
	@mv $@.tmp $@

$(LDNS_DIR)/obj/%.o: $(LDNS_SRC)/%.c toolchain/config/ldns/ldns/config.h $(LDNS_HDRS) \
		$(LDNS_SRC)/.danegate-patched
	@mkdir -p $(@D)
	$(CC) -I$(LDNS_GEN) -Itoolchain/config/ldns -I$(LDNS_SRC) -Itoolchain/config/ldns/netdb \
		$(LDNS_SHIM_CPPFLAGS) \
		$(LDNS_CFLAGS) -c $< -o $@

$(LDNS_LIB_FILES): $(LDNS_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

-include $(LDNS_OBJS:.o=.d)
