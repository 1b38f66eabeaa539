# selftest.mk — build (and with `run`, run) the toolchain's selftests for
# one target against the mbedTLS, ldns and cmocka that deps.mk builds:
#   make -f toolchain/selftest.mk TARGET=native|armhf|arm-none-eabi [run]
# deps_selftest (mbedTLS + ldns known answers), tls_selftest (in-memory
# TLS 1.3/1.2 handshakes), cmocka_selftest (host targets). Bare metal:
# linked with nosys.specs for sizes (map files, size_probe), and again with
# rdimon.specs (ARM semihosting) so qemu-arm's user mode runs them.
# toolchain/selftest.sh runs all three targets.
TARGET ?= native
BOARD_DEPS := mbedtls ldns
include toolchain/target-$(TARGET).mk
DEPS := build/deps/$(TARGET)
include toolchain/deps.mk

ST := build/selftest/$(TARGET)
# The firmware's warning set and C standard: the dependency headers must
# be clean under them.
ST_CFLAGS := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	$(TARGET_CFLAGS) -ffunction-sections -fdata-sections
ST_PROGS := deps_selftest tls_selftest

ifeq ($(TARGET),arm-none-eabi)
ST_SEMI_RUN := qemu-arm -cpu cortex-a15
ST_ALL := $(ST_PROGS:%=$(ST)/%) $(ST_PROGS:%=$(ST)/%-semihosting) $(ST)/size_probe
ST_RUN := $(ST_PROGS:%=$(ST)/%-semihosting)
else
ST_ALL := $(ST_PROGS:%=$(ST)/%) $(ST)/cmocka_selftest $(ST)/tls_interop
# tls_interop needs an OpenSSL server: selftest.sh runs it.
ST_RUN := $(ST_PROGS:%=$(ST)/%) $(ST)/cmocka_selftest
endif

.PHONY: all run
.DEFAULT_GOAL := all
all: $(ST_ALL)

$(ST)/%.o: toolchain/selftest/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(DEPS_CPPFLAGS) $(CMOCKA_CPPFLAGS) $(ST_CFLAGS) -MMD -MP -c $< -o $@
$(ST)/semihosting/%.o: toolchain/selftest/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(DEPS_CPPFLAGS) -DDEPS_SELFTEST_SEMIHOSTING $(ST_CFLAGS) -MMD -MP -c $< -o $@

ifeq ($(TARGET),arm-none-eabi)
$(ST_PROGS:%=$(ST)/%): $(ST)/%: $(ST)/%.o $(ST)/selftest_hooks.o $(DEPS_LIB_FILES) | deps
	$(CC) -o $@ $< $(ST)/selftest_hooks.o $(DEPS_LIBS) $(TARGET_LDFLAGS) --specs=nosys.specs \
		-Wl,-Map,$@.map
$(ST_PROGS:%=$(ST)/%-semihosting): $(ST)/%-semihosting: $(ST)/semihosting/%.o $(ST)/semihosting/selftest_hooks.o $(DEPS_LIB_FILES) | deps
	$(CC) -o $@ $< $(ST)/semihosting/selftest_hooks.o $(DEPS_LIBS) $(TARGET_LDFLAGS) \
		--specs=rdimon.specs
# Every mbedTLS + ldns API the firmware uses: what they cost after gc.
$(ST)/size_probe: $(ST)/size_probe.o $(DEPS_LIB_FILES) | deps
	$(CC) -o $@ $< $(DEPS_LIBS) $(TARGET_LDFLAGS) --specs=nosys.specs -Wl,-Map,$@.map
else
$(ST)/cmocka_selftest: $(ST)/cmocka_selftest.o $(CMOCKA_LIB_FILES) | deps
	$(CC) -o $@ $< $(CMOCKA_LIBS) $(TARGET_LDFLAGS)
$(ST_PROGS:%=$(ST)/%) $(ST)/tls_interop: $(ST)/%: $(ST)/%.o $(ST)/selftest_hooks.o \
		$(DEPS_LIB_FILES) | deps
	$(CC) -o $@ $< $(ST)/selftest_hooks.o $(DEPS_LIBS) $(TARGET_LDFLAGS)
endif

run: $(ST_ALL)
	@set -e; for p in $(ST_RUN); do echo "== $$p"; \
		$(if $(filter arm-none-eabi,$(TARGET)),$(ST_SEMI_RUN),$(RUNNER)) $$p; done

-include $(wildcard $(ST)/*.d $(ST)/semihosting/*.d)
