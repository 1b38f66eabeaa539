# deps.mk — third-party libraries for $(TARGET) under $(DEPS)
# (build/deps/$(TARGET)): fetched by toolchain/fetch.sh at the versions.mk
# pins and compiled with our own flags and configs, never upstream's build.
# Exports the order-only target `deps`, DEPS_CPPFLAGS and DEPS_LIBS (the
# link line for the libraries named in $(BOARD_DEPS): mbedtls ldns lwip;
# may hold linker flags), DEPS_LIB_FILES (just the .a files, for make
# prerequisites), CMOCKA_CPPFLAGS and CMOCKA_LIBS (host targets).
# Needs TARGET and the target-*.mk tools.

# Included before the top Makefile names its own first target: keep the
# default goal as it was (empty = the next target defined after us).
DEPS_SAVED_DEFAULT_GOAL := $(.DEFAULT_GOAL)

include toolchain/versions.mk

DEPS ?= build/deps/$(TARGET)
DEPS_CPPFLAGS :=
DEPS_LIBS :=
DEPS_LIB_FILES :=

include toolchain/dep-mbedtls.mk
include toolchain/dep-ldns.mk
include toolchain/dep-cmocka.mk

.PHONY: deps
deps: $(CMOCKA_LIB_FILES)

ifneq ($(filter ldns,$(BOARD_DEPS)),)
DEPS_CPPFLAGS += $(LDNS_CPPFLAGS)
DEPS_LIBS += $(LDNS_LIBS)
DEPS_LIB_FILES += $(LDNS_LIB_FILES)
deps: $(LDNS_LIB_FILES)
endif
ifneq ($(filter mbedtls,$(BOARD_DEPS)),)
DEPS_CPPFLAGS += $(MBEDTLS_CPPFLAGS)
# Our configuration makes mbedTLS call two functions the firmware defines
# (firmware/tls/tls_platform.c). When the firmware comes as an archive
# before the mbedTLS archives on a link line without --start-group (unit
# tests), nothing would pull that member in: -u asks for both up front.
DEPS_LIBS += -Wl,-u,mbedtls_hardware_poll -Wl,-u,mbedtls_ms_time $(MBEDTLS_LIBS)
DEPS_LIB_FILES += $(MBEDTLS_LIB_FILES)
deps: $(MBEDTLS_LIB_FILES)
endif

# lwIP (qemu-virt): written and owned by the board's engineer.
-include toolchain/dep-lwip.mk

.DEFAULT_GOAL := $(DEPS_SAVED_DEFAULT_GOAL)
