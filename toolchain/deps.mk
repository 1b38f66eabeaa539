# deps.mk — third-party libraries for $(TARGET) under $(DEPS)
# (build/deps/$(TARGET)): fetched by toolchain/fetch.sh at the versions.mk
# pins and compiled with our own flags and configs, never upstream's build.
# Exports the order-only target `deps`, DEPS_CPPFLAGS and DEPS_LIBS (for
# the libraries named in $(BOARD_DEPS): mbedtls ldns lwip), CMOCKA_CPPFLAGS
# and CMOCKA_LIBS (host targets). Needs TARGET and the target-*.mk tools.

# Included before the top Makefile names its own first target: keep the
# default goal as it was (empty = the next target defined after us).
DEPS_SAVED_DEFAULT_GOAL := $(.DEFAULT_GOAL)

include toolchain/versions.mk

DEPS ?= build/deps/$(TARGET)
DEPS_CPPFLAGS :=
DEPS_LIBS :=

include toolchain/dep-mbedtls.mk
include toolchain/dep-ldns.mk
include toolchain/dep-cmocka.mk

.PHONY: deps
deps: $(CMOCKA_LIB_FILES)

ifneq ($(filter ldns,$(BOARD_DEPS)),)
DEPS_CPPFLAGS += $(LDNS_CPPFLAGS)
DEPS_LIBS += $(LDNS_LIBS)
deps: $(LDNS_LIB_FILES)
endif
ifneq ($(filter mbedtls,$(BOARD_DEPS)),)
DEPS_CPPFLAGS += $(MBEDTLS_CPPFLAGS)
DEPS_LIBS += $(MBEDTLS_LIBS)
deps: $(MBEDTLS_LIB_FILES)
endif

# lwIP (qemu-virt): written and owned by the board's engineer.
-include toolchain/dep-lwip.mk

.DEFAULT_GOAL := $(DEPS_SAVED_DEFAULT_GOAL)
